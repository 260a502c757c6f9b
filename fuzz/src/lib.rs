//! What every target shares: the keys and policies under test, and the invariants that must
//! hold whatever the input (not only "no panic"):
//!
//! - nothing is accepted that was not signed by a configured key: an accepted token's
//!   signature is checked again, on its own, against the key its header names;
//! - an accepted token meets the policy: `iss`, `aud`, `exp`, `typ`;
//! - a rejection's message is bounded and never carries a long run of the input.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtgate::{Config, Validated, Validator};
use jwtgate_testkit::{TestKey, hmac_secret, jwks};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://issuer.test";
pub const ISSUER_B: &str = "https://b.issuer.test";
pub const AUDIENCE: &str = "https://api.test";

/// The keys the validators trust: RSA (any RSA alg), P-256, Ed25519, and HS256 from the
/// shared secret.
pub fn keys() -> Vec<TestKey> {
    vec![
        TestKey::rsa("rsa-a", "RS256", "rsa-a"),
        TestKey::ec("ES256", "ec-p256"),
        TestKey::ed25519("ed25519"),
    ]
}

pub fn single_issuer() -> Validator {
    let keys = keys();
    let refs: Vec<&TestKey> = keys.iter().collect();
    Validator::new(Config {
        issuer: ISSUER.into(),
        audience: Some(jwtgate::Audience::One(AUDIENCE.into())),
        jwks: Some(jwks(&refs)),
        shared_secret: Some(hmac_secret()),
        // A zero-entry cache would skip the cache path; a real one is exercised too.
        ..Config::default()
    })
    .expect("the fuzz policy is valid")
}

/// Issuer A trusts the RSA key, issuer B the P-256 key: keys must never cross.
pub fn two_issuers() -> Validator {
    let keys = keys();
    Validator::from_json(
        &json!({ "issuers": [
            { "issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks(&[&keys[0]]) },
            { "issuer": ISSUER_B, "audience": AUDIENCE, "jwks": jwks(&[&keys[1]]) },
        ] })
        .to_string(),
    )
    .expect("the two-issuer policy is valid")
}

fn decode(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(segment).expect("an accepted token is canonical base64url")
}

/// The invariants of an accepted token. `trusted(iss)` lists the keys (and whether the shared
/// secret) the token's issuer may be verified with.
pub fn check_accepted(token: &str, validated: &Validated, trusted: &[&TestKey], hmac: bool) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "an accepted token is a compact JWS");
    let header: Value = serde_json::from_slice(&decode(parts[0])).expect("header JSON");
    let alg = header["alg"].as_str().expect("alg");
    let signing_input = &token[..parts[0].len() + 1 + parts[1].len()];
    let signature = decode(parts[2]);
    let verified = if alg.starts_with("HS") {
        assert!(hmac, "HMAC accepted where no shared secret is trusted");
        let key = aws_lc_hmac(alg);
        key.is_some_and(|k| k(signing_input.as_bytes(), &signature))
    } else {
        trusted.iter().any(|k| {
            jwtgate::testing::verify_with_jwk(
                &k.public_jwk(),
                alg,
                signing_input.as_bytes(),
                &signature,
            )
            .is_ok()
        })
    };
    assert!(verified, "accepted a token no trusted key signed (alg {alg})");
    let claims = validated.claims();
    let iss = claims.get("iss").and_then(Value::as_str).expect("iss");
    assert!(iss == ISSUER || iss == ISSUER_B, "iss {iss:?}");
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == AUDIENCE,
        Some(Value::Array(list)) => list.iter().any(|a| a == AUDIENCE),
        _ => false,
    };
    assert!(aud_ok, "accepted a token for another audience");
    let exp = claims.get("exp").and_then(Value::as_f64).expect("exp is required");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    assert!(exp + 30.0 > now, "accepted an expired token");
}

/// HMAC verification with the shared secret, independent of jwtgate's own HMAC path.
fn aws_lc_hmac(alg: &str) -> Option<impl Fn(&[u8], &[u8]) -> bool> {
    use jwtgate_testkit::TestKey;
    let key = TestKey::hmac(match alg {
        "HS256" => "HS256",
        "HS384" => "HS384",
        "HS512" => "HS512",
        _ => return None,
    });
    Some(move |input: &[u8], sig: &[u8]| key.sign(input) == sig)
}

/// The invariants of a refusal.
pub fn check_refused(input: &str, error: &jwtgate::Error) {
    let message = error.message();
    assert!(message.len() <= 2048, "unbounded message ({} bytes)", message.len());
    // The tokens, keys and secrets an echo would leak are long runs of base64url text; the
    // engine's own message templates never hold 64 such characters in a row (they have
    // spaces), so an input that quotes a template cannot trip this.
    let is_token_char = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    let bytes = input.as_bytes();
    if bytes.len() >= 64 {
        for start in (0..=bytes.len() - 64).step_by(8) {
            let window = &bytes[start..start + 64];
            if window.iter().all(is_token_char) {
                let run = std::str::from_utf8(window).expect("ASCII");
                assert!(!message.contains(run), "the message echoes the input: {message}");
            }
        }
    }
}
