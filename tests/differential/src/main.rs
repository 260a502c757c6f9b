//! Differential check (issue #14, "Hardening"): the same generated tokens through jwtgate and a
//! trusted peer, the `jsonwebtoken` crate with strict settings (issuer, audience, `exp`
//! required, `nbf` checked, the key's own algorithm only, keys chosen by `kid` as its users
//! do), both with 30 s of leeway.
//!
//! Every token comes from a named mutation of a valid token. For each mutation we count the
//! verdicts of both sides. jwtgate may be stricter by design; it must never be looser without
//! a reason written down: a token jwtgate accepts and the peer refuses is a failure unless its
//! mutation is listed in [`EXPLAINED_LOOSER`] with the reason (mirrored in fuzz/README.md).
//!
//! `cargo run -p jwtgate-differential` prints the table; exit status 1 on an unexplained
//! looser case (run by `make test`).

#![allow(clippy::unwrap_used)] // a tool over fixed inputs: a panic is the report

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::Jwk};
use jwtgate::{Audience, Config, Validator};
use jwtgate_testkit::{TestKey, hmac_secret, jwks, unix_now};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";
const LEEWAY: u64 = 30;

/// Mutations where jwtgate accepts what the peer refuses, and why that is right.
const EXPLAINED_LOOSER: &[(&str, &str)] = &[
    (
        "kid missing",
        "`kid` is optional (RFC 7515 §4.1.4). Without one, jwtgate uses the one configured key whose \
         algorithm is the header's `alg` (the key decides, RFC 8725 §3.1), and refuses when several \
         could; the token is still verified by a configured key. The peer has no key set: its caller \
         must pick the key, and this harness, like most code written on it, refuses a token without kid.",
    ),
    (
        "kid unknown",
        "HS256 only: HMAC keys come from `shared_secret`, never from a JWKS, so a `kid` names no HMAC \
         key and is ignored for HS* tokens; the signature is still checked with the configured secret. \
         The harness looks the kid up among the public keys and refuses.",
    ),
];

struct Keys {
    rsa: TestKey,
    ec: TestKey,
    ed: TestKey,
    hmac: TestKey,
}

/// A generated token and the mutation that made it.
struct Case {
    mutation: String,
    token: String,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header` and `payload` (raw JSON text) with `key`, as `alg` when given.
fn signed(key: &TestKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(sig))
}

fn header_for(key: &TestKey) -> Value {
    if key.kid.is_empty() {
        json!({"alg": key.alg, "typ": "JWT"})
    } else {
        json!({"alg": key.alg, "typ": "JWT", "kid": key.kid})
    }
}

fn claims(now: u64) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "nbf": now, "exp": now + 600, "jti": "j-1"})
}

/// Every mutation, over every key.
fn cases(keys: &Keys) -> Vec<Case> {
    let now = unix_now();
    let mut out = Vec::new();
    let all = [&keys.rsa, &keys.ec, &keys.ed, &keys.hmac];
    for key in all {
        let name = |m: &str| format!("{}/{m}", key.alg);
        let h = header_for(key);
        let c = claims(now);
        let mut push = |m: &str, token: String| {
            out.push(Case {
                mutation: name(m),
                token,
            })
        };
        push("valid", signed(key, &h.to_string(), &c.to_string()));

        // Claim values.
        let claim_edits: Vec<(&str, &str, Value)> = vec![
            ("iss wrong", "iss", json!("https://evil.test")),
            ("iss missing", "iss", Value::Null),
            ("iss number", "iss", json!(1)),
            ("iss trailing slash", "iss", json!(format!("{ISSUER}/"))),
            ("aud wrong", "aud", json!("https://other.test")),
            ("aud missing", "aud", Value::Null),
            ("aud array with ours", "aud", json!(["x", AUDIENCE])),
            ("aud array without ours", "aud", json!(["x", "y"])),
            ("aud empty array", "aud", json!([])),
            ("aud number", "aud", json!(7)),
            ("aud array with a number", "aud", json!([AUDIENCE, 7])),
            ("exp missing", "exp", Value::Null),
            ("exp past beyond leeway", "exp", json!(now - 120)),
            ("exp past within leeway", "exp", json!(now - 10)),
            ("exp string", "exp", json!(format!("{}", now + 600))),
            ("exp float", "exp", json!(now as f64 + 600.5)),
            ("exp huge", "exp", json!(1e300)),
            ("exp negative", "exp", json!(-1)),
            ("exp bool", "exp", json!(true)),
            ("nbf future beyond leeway", "nbf", json!(now + 120)),
            ("nbf future within leeway", "nbf", json!(now + 10)),
            ("nbf string", "nbf", json!("0")),
            ("iat future beyond leeway", "iat", json!(now + 3600)),
            ("iat string", "iat", json!("now")),
            ("iat missing", "iat", Value::Null),
            ("sub number", "sub", json!(42)),
            ("jti number", "jti", json!(42)),
            ("nonce present (ID token)", "nonce", json!("n-1")),
            ("at_hash present (ID token)", "at_hash", json!("h")),
        ];
        for (m, claim, value) in claim_edits {
            let mut c = claims(now);
            if value.is_null() {
                c.as_object_mut().unwrap().remove(claim);
            } else {
                c[claim] = value;
            }
            push(m, signed(key, &h.to_string(), &c.to_string()));
        }

        // Header values.
        let header_edits: Vec<(&str, Value)> = vec![
            ("typ at+jwt", json!({"typ": "at+jwt"})),
            ("typ id_token+jwt", json!({"typ": "id_token+jwt"})),
            ("typ logout+jwt", json!({"typ": "logout+jwt"})),
            ("typ absent", json!({"typ": null})),
            ("typ number", json!({"typ": 1})),
            ("kid unknown", json!({"kid": "no-such-kid"})),
            ("kid number", json!({"kid": 5})),
            ("crit unknown", json!({"crit": ["exp"], "exp": 1})),
            ("b64 false", json!({"b64": false, "crit": ["b64"]})),
            ("jku set", json!({"jku": "https://evil.test/jwks"})),
            ("x5u set", json!({"x5u": "https://evil.test/x5u"})),
            ("cty JWT", json!({"cty": "JWT"})),
            ("extra member", json!({"foo": "bar"})),
            ("alg lowercase", json!({"alg": key.alg.to_lowercase()})),
            ("alg none", json!({"alg": "none"})),
        ];
        for (m, edit) in header_edits {
            let mut hh = h.clone();
            for (k, v) in edit.as_object().unwrap() {
                if v.is_null() {
                    hh.as_object_mut().unwrap().remove(k);
                } else {
                    hh[k] = v.clone();
                }
            }
            push(m, signed(key, &hh.to_string(), &claims(now).to_string()));
        }
        if !key.kid.is_empty() {
            let mut hh = h.clone();
            hh.as_object_mut().unwrap().remove("kid");
            push("kid missing", signed(key, &hh.to_string(), &c.to_string()));
        }

        // JSON text.
        let payload = c.to_string();
        let dup_payload = format!(
            "{},\"aud\":\"https://other.test\"}}",
            &payload[..payload.len() - 1]
        );
        push(
            "payload duplicate aud (last wins elsewhere)",
            signed(key, &h.to_string(), &dup_payload),
        );
        let hs = h.to_string();
        let dup_header = format!("{},\"alg\":\"none\"}}", &hs[..hs.len() - 1]);
        push(
            "header duplicate alg",
            signed(key, &dup_header, &c.to_string()),
        );
        push(
            "payload with BOM",
            signed(key, &hs, &format!("\u{feff}{payload}")),
        );
        push(
            "payload trailing garbage",
            signed(key, &hs, &format!("{payload} x")),
        );
        push(
            "payload nested 100 deep",
            signed(
                key,
                &hs,
                &format!(
                    "{},\"deep\":{}{}}}",
                    &payload[..payload.len() - 1],
                    "[".repeat(100),
                    "]".repeat(100)
                ),
            ),
        );
        push("payload array", signed(key, &hs, "[1,2,3]"));

        // Encoding of the compact form.
        let good = signed(key, &hs, &payload);
        let parts: Vec<&str> = good.split('.').collect();
        push("padding on signature", format!("{good}=="));
        push(
            "standard base64 alphabet in signature",
            format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                parts[2].replace('-', "+").replace('_', "/")
            ),
        );
        push("trailing dot", format!("{good}."));
        push("four segments", format!("{good}.e30"));
        push(
            "whitespace inside",
            format!("{}. {}.{}", parts[0], parts[1], parts[2]),
        );
        let mut flipped = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        push(
            "signature bit flipped",
            format!("{}.{}.{}", parts[0], parts[1], b64(&flipped)),
        );
        push("signature empty", format!("{}.{}.", parts[0], parts[1]));
        // The last base64url character with non-zero unused bits (non-canonical encoding).
        let sig = parts[2];
        let tail = sig.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(tail).unwrap();
        let bits_unused = match sig.len() % 4 {
            2 => 4,
            3 => 2,
            _ => 0,
        };
        if bits_unused > 0 {
            let noncanonical = alphabet.as_bytes()[index | 1] as char;
            if noncanonical != tail {
                push(
                    "signature non-canonical base64url",
                    format!(
                        "{}.{}.{}{}",
                        parts[0],
                        parts[1],
                        &sig[..sig.len() - 1],
                        noncanonical
                    ),
                );
            }
        }
    }

    // Cross-key attacks.
    let now_claims = claims(now).to_string();
    // HS256 keyed with the RSA public key's JWK text (classic key confusion).
    let rsa_jwk_text = keys.rsa.public_jwk().to_string();
    let confused = TestKey::hmac_with("HS256", rsa_jwk_text.into_bytes());
    out.push(Case {
        mutation: "HS256 keyed with the RSA JWK, kid of the RSA key".into(),
        token: signed(
            &confused,
            &json!({"alg": "HS256", "kid": keys.rsa.kid}).to_string(),
            &now_claims,
        ),
    });
    // A token signed by the EC key under the RSA key's kid.
    out.push(Case {
        mutation: "ES256 signature, kid of the RSA key".into(),
        token: signed(
            &keys.ec,
            &json!({"alg": "ES256", "kid": keys.rsa.kid}).to_string(),
            &now_claims,
        ),
    });
    // PS256 by the RSA key whose JWK says RS256.
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "PS256", "kid": keys.rsa.kid}).to_string()),
        b64(&now_claims)
    );
    let sig = keys.rsa.sign_as("PS256", input.as_bytes());
    out.push(Case {
        mutation: "PS256 by the RSA key whose JWK says RS256".into(),
        token: format!("{input}.{}", b64(sig)),
    });
    out
}

/// The peer's verdict: jsonwebtoken with strict settings, the key chosen by `kid` (HMAC when
/// the header names an HS algorithm and no kid), the key's own algorithm only.
fn peer(
    token: &str,
    keys: &Keys,
    peer_keys: &[(String, DecodingKey, Algorithm)],
) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
    let (key, alg) = match header.kid.as_deref() {
        Some(kid) => peer_keys
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, key, alg)| (key.clone(), *alg))
            .ok_or_else(|| "unknown kid".to_string())?,
        None if matches!(header.alg, Algorithm::HS256) => (
            DecodingKey::from_secret(hmac_secret().as_bytes()).map_err(|e| e.to_string())?,
            Algorithm::HS256,
        ),
        None => return Err("no kid".into()),
    };
    let _ = keys;
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY;
    v.validate_nbf = true;
    v.set_audience(&[AUDIENCE]);
    v.set_issuer(&[ISSUER]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn main() {
    let keys = Keys {
        rsa: TestKey::rsa("rsa-a", "RS256", "rsa-a"),
        ec: TestKey::ec("ES256", "ec-p256"),
        ed: TestKey::ed25519("ed25519"),
        hmac: TestKey::hmac("HS256"),
    };
    let validator = Validator::new(Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks: Some(jwks(&[&keys.rsa, &keys.ec, &keys.ed])),
        shared_secret: Some(hmac_secret()),
        leeway: LEEWAY as f64,
        cache_max_entries: 0,
        ..Config::default()
    })
    .unwrap();
    let peer_keys: Vec<(String, DecodingKey, Algorithm)> = [&keys.rsa, &keys.ec, &keys.ed]
        .iter()
        .map(|k| {
            let jwk: Jwk = serde_json::from_value(k.public_jwk()).unwrap();
            let alg = match k.alg {
                "RS256" => Algorithm::RS256,
                "ES256" => Algorithm::ES256,
                _ => Algorithm::EdDSA,
            };
            (k.kid.clone(), DecodingKey::from_jwk(&jwk).unwrap(), alg)
        })
        .collect();

    let explained: HashSet<&str> = EXPLAINED_LOOSER.iter().map(|(m, _)| *m).collect();
    // mutation (without the key prefix) -> (jwtgate verdict, peer verdict) -> count
    let mut table: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut looser = Vec::new();
    // Mutations (besides `valid`) that both sides accept, for the record.
    let mut both_accept: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for case in cases(&keys) {
        total += 1;
        let ours = validator.validate_local(&case.token);
        let theirs = peer(&case.token, &keys, &peer_keys);
        let ours_text = match &ours {
            Ok(_) => "accept".to_string(),
            Err(e) => format!("refuse ({})", e.kind().as_str()),
        };
        let theirs_text = match &theirs {
            Ok(()) => "accept".to_string(),
            Err(e) => format!("refuse ({e})"),
        };
        let generic = case
            .mutation
            .split_once('/')
            .map_or(case.mutation.as_str(), |(_, m)| m);
        if ours.is_ok() != theirs.is_ok() {
            *table
                .entry((generic.to_string(), ours_text.clone(), theirs_text.clone()))
                .or_default() += 1;
        }
        if ours.is_ok() && theirs.is_ok() && generic != "valid" {
            *both_accept.entry(generic.to_string()).or_default() += 1;
        }
        if ours.is_ok() && theirs.is_err() && !explained.contains(generic) {
            looser.push(format!(
                "{}: jwtgate accepts, peer: {theirs_text}",
                case.mutation
            ));
        }
    }
    println!("differential: {total} tokens through jwtgate and jsonwebtoken 12");
    println!("| mutation | jwtgate | jsonwebtoken | tokens |\n|---|---|---|---:|");
    for ((m, ours, theirs), n) in &table {
        println!("| {m} | {ours} | {theirs} | {n} |");
    }
    println!("\nAccepted by both (besides valid tokens): {both_accept:?}");
    for (m, why) in EXPLAINED_LOOSER {
        println!("explained, jwtgate accepts: {m}: {why}");
    }
    if looser.is_empty() {
        println!(
            "differential: jwtgate is never looser than the peer (every disagreement: jwtgate stricter)"
        );
    } else {
        println!("differential: jwtgate LOOSER than the peer, unexplained:");
        for l in &looser {
            println!("  {l}");
        }
        std::process::exit(1);
    }
}
