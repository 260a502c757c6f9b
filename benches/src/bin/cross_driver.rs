//! The Rust driver of the cross-language benchmark (benches/cross/README.md has the protocol).
//!
//!     cargo build --release -p jwtgate-benches --bin cross_driver
//!     target/release/cross_driver spec.json     # started by benches/cross/run.py
//!
//! Subjects per algorithm: jwtgate with its result cache (`hit`) and without (`cold`),
//! jsonwebtoken 11 (aws-lc backend, key parsed once, the same claim checks), and the bare
//! aws-lc-rs signature check of the same token (`floor`: what any validator must pay).

use std::io::{BufRead, Write};
use std::time::Instant;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

type Check = Box<dyn Fn(&str) -> Result<String, String>>;
/// `(signing input, signature) -> valid`.
type Verify = Box<dyn Fn(&[u8], &[u8]) -> bool>;

struct Subject {
    id: String,
    alg: String,
    imp: String,
    mode: &'static str,
    role: &'static str,
    call: Check,
}

fn b64(jwk: &Value, member: &str) -> Vec<u8> {
    let text = jwk[member].as_str().unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(text)
        .expect("JWK member is base64url")
}

fn jwtgate_subject(entry: &Value, cached: bool) -> Check {
    let mut config = entry["config"].clone();
    if !cached {
        config["cache_max_entries"] = json!(0);
    }
    let validator = jwtgate::Validator::from_json(&config.to_string()).expect("jwtgate config");
    Box::new(move |token| {
        validator
            .validate_local(token)
            .map(|v| v.claims().subject().unwrap_or_default().to_string())
            .map_err(|e| e.to_string())
    })
}

fn jsonwebtoken_subject(spec: &Value, alg: &str, entry: &Value) -> Check {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let (algorithm, key) = match alg {
        "HS256" => (
            Algorithm::HS256,
            DecodingKey::from_secret(entry["secret"].as_str().unwrap_or_default().as_bytes()),
        ),
        _ => {
            let pem = entry["public_pem"].as_str().unwrap_or_default().as_bytes();
            match alg {
                "RS256" => (
                    Algorithm::RS256,
                    DecodingKey::from_rsa_pem(pem).expect("PEM"),
                ),
                "PS256" => (
                    Algorithm::PS256,
                    DecodingKey::from_rsa_pem(pem).expect("PEM"),
                ),
                "ES256" => (
                    Algorithm::ES256,
                    DecodingKey::from_ec_pem(pem).expect("PEM"),
                ),
                "EdDSA" => (
                    Algorithm::EdDSA,
                    DecodingKey::from_ed_pem(pem).expect("PEM"),
                ),
                other => panic!("unknown algorithm {other}"),
            }
        }
    };
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[spec["issuer"].as_str().unwrap_or_default()]);
    validation.set_audience(&[spec["audience"].as_str().unwrap_or_default()]);
    validation.leeway = spec["leeway"].as_u64().unwrap_or(30);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let token_type = spec["token_type"].as_str().unwrap_or_default().to_string();
    Box::new(move |token| {
        let data = decode::<Value>(token, &key, &validation).map_err(|e| e.to_string())?;
        // jsonwebtoken has no typ policy: compare it as jwtgate does (RFC 8725 §3.11).
        let typ = data.header.typ.as_deref().unwrap_or_default();
        if !typ.eq_ignore_ascii_case(&token_type) {
            return Err(format!("typ {typ:?}"));
        }
        Ok(data.claims["sub"].as_str().unwrap_or_default().to_string())
    })
}

fn floor_subject(alg: &str, entry: &Value) -> Check {
    let verify: Verify = if alg == "HS256" {
        let secret = entry["secret"].as_str().unwrap_or_default().as_bytes();
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        Box::new(move |input, sig| aws_lc_rs::hmac::verify(&key, input, sig).is_ok())
    } else {
        let jwk = &entry["jwk"];
        let key = match alg {
            "RS256" | "PS256" => {
                let params = if alg == "RS256" {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                RsaPublicKeyComponents {
                    n: b64(jwk, "n"),
                    e: b64(jwk, "e"),
                }
                .to_parsed_public_key(params)
                .expect("RSA key")
            }
            "ES256" => {
                let mut point = vec![0x04];
                point.extend(b64(jwk, "x"));
                point.extend(b64(jwk, "y"));
                ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).expect("P-256")
            }
            "EdDSA" => ParsedPublicKey::new(&signature::ED25519, b64(jwk, "x")).expect("Ed25519"),
            other => panic!("unknown algorithm {other}"),
        };
        Box::new(move |input, sig| key.verify_sig(input, sig).is_ok())
    };
    let sub = entry["sub"].as_str().unwrap_or_default().to_string();
    Box::new(move |token| {
        // Only the signature: split and decode it, verify. No claims, no JSON.
        let (input, sig) = token.rsplit_once('.').ok_or("not a JWS")?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|e| e.to_string())?;
        if verify(input.as_bytes(), &sig) {
            Ok(sub.clone())
        } else {
            Err("bad signature".into())
        }
    })
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: cross_driver SPEC.json");
        std::process::exit(2)
    });
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read spec"))
        .expect("spec is JSON");
    let jsonwebtoken_name = "jsonwebtoken 11";
    let mut subjects: Vec<Subject> = Vec::new();
    let algs = spec["algs"].as_object().expect("spec.algs");
    for (alg, entry) in algs {
        let mut add = |imp: &str, mode: &'static str, role: &'static str, call: Check| {
            subjects.push(Subject {
                id: format!("rust/{imp}/{alg}/{mode}"),
                alg: alg.clone(),
                imp: imp.to_string(),
                mode,
                role,
                call,
            })
        };
        add("jwtgate", "hit", "jwtgate", jwtgate_subject(entry, true));
        add("jwtgate", "cold", "jwtgate", jwtgate_subject(entry, false));
        add(
            jsonwebtoken_name,
            "cold",
            "peer",
            jsonwebtoken_subject(&spec, alg, entry),
        );
        add(
            "aws-lc-rs verify",
            "cold",
            "floor",
            floor_subject(alg, entry),
        );
    }

    // Every subject accepts the good token and refuses the damaged one before anything is timed.
    for s in &subjects {
        let entry = &spec["algs"][&s.alg];
        let good = entry["token"].as_str().unwrap_or_default();
        let bad = entry["bad_token"].as_str().unwrap_or_default();
        match (s.call)(good) {
            Ok(sub) if sub == entry["sub"].as_str().unwrap_or_default() => {}
            other => {
                eprintln!("{}: the good token gave {other:?}", s.id);
                std::process::exit(1)
            }
        }
        if (s.call)(bad).is_ok() {
            eprintln!("{}: accepted a token with a damaged signature", s.id);
            std::process::exit(1)
        }
    }

    let ready = json!({
        "lang": "rust",
        "versions": {
            "jwtgate": jwtgate::VERSION,
        },
        "subjects": subjects.iter().map(|s| json!({
            "id": s.id, "impl": s.imp, "alg": s.alg, "mode": s.mode, "role": s.role,
        })).collect::<Vec<_>>(),
    });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{ready}").expect("stdout");
    out.flush().expect("stdout");

    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let cmd: Value = serde_json::from_str(&line).expect("command is JSON");
        if cmd.get("quit").is_some() {
            break;
        }
        let id = cmd["run"].as_str().unwrap_or_default();
        let iters = cmd["iters"].as_u64().unwrap_or(1);
        let Some(s) = subjects.iter().find(|s| s.id == id) else {
            eprintln!("unknown subject {id}");
            std::process::exit(1)
        };
        let token = spec["algs"][&s.alg]["token"].as_str().unwrap_or_default();
        let start = Instant::now();
        for _ in 0..iters {
            if let Err(e) = (s.call)(std::hint::black_box(token)) {
                eprintln!("{id}: failed during the timed loop: {e}");
                std::process::exit(1)
            }
        }
        let ns = start.elapsed().as_nanos();
        writeln!(out, "{}", json!({ "ns": ns as u64 })).expect("stdout");
        out.flush().expect("stdout");
    }
}
