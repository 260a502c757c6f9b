//! Test-only helpers shared by the core tests, the vector generator, the benches and the demo:
//! the committed test keys (`tests/keys/`), token minting — including deliberately malformed
//! tokens, since the header and payload are given as raw JSON text — and JWKS documents.
//! Never use any of this outside tests: the keys are public.

pub mod redis;
pub mod server;

use std::path::PathBuf;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

pub fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../keys")
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Hmac(Vec<u8>),
}

/// A committed test key with the algorithm and kid it signs with.
#[allow(missing_debug_implementations)]
pub struct TestKey {
    pub alg: &'static str,
    pub kid: String,
    signer: Signer,
}

fn pem_der(name: &str) -> Vec<u8> {
    let path = keys_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

impl TestKey {
    /// RSA key `rsa-a` or `rsa-b`, signing with RS256/384/512 or PS256/384/512.
    pub fn rsa(file: &str, alg: &'static str, kid: &str) -> TestKey {
        let pair = RsaKeyPair::from_pkcs8(&pem_der(&format!("{file}.pem"))).expect("RSA PKCS#8");
        TestKey {
            alg,
            kid: kid.into(),
            signer: Signer::Rsa(pair),
        }
    }

    /// EC key for ES256 (P-256), ES384 (P-384) or ES512 (P-521).
    pub fn ec(alg: &'static str, kid: &str) -> TestKey {
        let (file, signing) = match alg {
            "ES256" => ("ec-p256.pem", &signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            "ES384" => ("ec-p384.pem", &signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            "ES512" => ("ec-p521.pem", &signature::ECDSA_P521_SHA512_FIXED_SIGNING),
            other => panic!("not an ECDSA alg: {other}"),
        };
        let pair = EcdsaKeyPair::from_pkcs8(signing, &pem_der(file)).expect("EC PKCS#8");
        TestKey {
            alg,
            kid: kid.into(),
            signer: Signer::Ec(pair),
        }
    }

    pub fn ed25519(kid: &str) -> TestKey {
        let pair = Ed25519KeyPair::from_pkcs8(&pem_der("ed25519.pem")).expect("Ed25519 PKCS#8");
        TestKey {
            alg: "EdDSA",
            kid: kid.into(),
            signer: Signer::Ed(pair),
        }
    }

    /// HMAC with the committed `hmac.secret` (its UTF-8 text is the key, as `shared_secret`).
    pub fn hmac(alg: &'static str) -> TestKey {
        TestKey {
            alg,
            kid: String::new(),
            signer: Signer::Hmac(hmac_secret().into_bytes()),
        }
    }

    /// HMAC with any secret bytes (for key-confusion attacks).
    pub fn hmac_with(alg: &'static str, secret: Vec<u8>) -> TestKey {
        TestKey {
            alg,
            kid: String::new(),
            signer: Signer::Hmac(secret),
        }
    }

    /// Signs `input` with this key's algorithm.
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        self.sign_as(self.alg, input)
    }

    /// Signs with another algorithm of the same key (an RSA key can sign RS* and PS*).
    pub fn sign_as(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    other => panic!("RSA cannot sign {other}"),
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, input, &mut sig).expect("RSA sign");
                sig
            }
            Signer::Ec(pair) => pair
                .sign(&rng, input)
                .expect("ECDSA sign")
                .as_ref()
                .to_vec(),
            Signer::Ed(pair) => pair.sign(input).as_ref().to_vec(),
            Signer::Hmac(secret) => {
                let alg = match alg {
                    "HS256" => aws_lc_rs::hmac::HMAC_SHA256,
                    "HS384" => aws_lc_rs::hmac::HMAC_SHA384,
                    "HS512" => aws_lc_rs::hmac::HMAC_SHA512,
                    other => panic!("HMAC cannot sign {other}"),
                };
                aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(alg, secret), input)
                    .as_ref()
                    .to_vec()
            }
        }
    }

    /// The usual header: `{"alg","kid","typ"}` (no kid for HMAC keys).
    pub fn header(&self, typ: Option<&str>) -> Value {
        let mut h = json!({ "alg": self.alg });
        if !self.kid.is_empty() {
            h["kid"] = json!(self.kid);
        }
        if let Some(t) = typ {
            h["typ"] = json!(t);
        }
        h
    }

    /// A signed token with an `at+jwt` header and these claims.
    pub fn token(&self, claims: &Value) -> String {
        self.token_with_header(&self.header(Some("at+jwt")), claims)
    }

    pub fn token_with_header(&self, header: &Value, claims: &Value) -> String {
        self.raw_token(&header.to_string(), &claims.to_string())
    }

    /// Signs raw JSON text: lets tests write duplicate members, odd numbers and the like.
    pub fn raw_token(&self, header_json: &str, payload_json: &str) -> String {
        let input = format!("{}.{}", b64(header_json), b64(payload_json));
        let sig = self.sign(input.as_bytes());
        format!("{input}.{}", b64(sig))
    }

    /// The public JWK, with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &self.signer {
            Signer::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Signer::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = match self.alg {
                    "ES256" => "P-256",
                    "ES384" => "P-384",
                    _ => "P-521",
                };
                json!({ "kty": "EC", "crv": crv, "x": b64(&point[1..1 + len]), "y": b64(&point[1 + len..]) })
            }
            Signer::Ed(pair) => {
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()) })
            }
            Signer::Hmac(_) => panic!("HMAC keys have no public JWK"),
        };
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!(self.alg);
        jwk["use"] = json!("sig");
        jwk
    }

    /// The public key as SubjectPublicKeyInfo DER (RSA: also PKCS#1), for key-confusion attacks.
    pub fn public_spki_der(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::AsDer;
        match &self.signer {
            Signer::Rsa(pair) => pair.public_key().as_der().expect("SPKI").as_ref().to_vec(),
            Signer::Ec(pair) => pair.public_key().as_der().expect("SPKI").as_ref().to_vec(),
            Signer::Ed(pair) => pair.public_key().as_der().expect("SPKI").as_ref().to_vec(),
            Signer::Hmac(_) => panic!("no public key"),
        }
    }

    /// RSA only: the PKCS#1 RSAPublicKey DER.
    pub fn public_pkcs1_der(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Rsa(pair) => pair.public_key().as_ref().to_vec(),
            _ => panic!("PKCS#1 is RSA only"),
        }
    }
}

/// PEM text of a DER body.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub fn hmac_secret() -> String {
    std::fs::read_to_string(keys_dir().join("hmac.secret"))
        .expect("hmac.secret")
        .trim()
        .to_string()
}

/// `{"keys": [...]}` of these keys' public JWKs.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() })
}

/// The committed 1024-bit RSA public JWK (its private half was discarded).
pub fn rsa_1024_jwk() -> Value {
    let text =
        std::fs::read_to_string(keys_dir().join("rsa-1024.public.jwk.json")).expect("rsa-1024 jwk");
    serde_json::from_str(&text).expect("rsa-1024 jwk json")
}

/// A realistic RFC 9068 access token payload: ~15 claims, about 1 KB once signed with RS256.
pub fn access_token_claims(issuer: &str, audience: &str, iat: u64, exp: u64) -> Value {
    json!({
        "iss": issuer,
        "sub": "user-7f3c9a52-1d4e-4b8a-9c2f-0e6d5b4a3c21",
        "aud": audience,
        "exp": exp,
        "iat": iat,
        "nbf": iat,
        "jti": format!("jti-{iat}-{exp}-4f1b2c3d"),
        "client_id": "web-frontend-7d2f",
        "scope": "openid profile email read:items write:items",
        "auth_time": iat,
        "acr": "urn:mace:incommon:iap:silver",
        "amr": ["pwd", "otp"],
        "sid": "session-4c7e0d9b-2a1f-4e3c-8b5d-6f9a0c1e2d3b",
        "email": "ada.lovelace@example.com",
        "roles": ["reader", "editor"],
    })
}
