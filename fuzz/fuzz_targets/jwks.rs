//! Arbitrary bytes as a JWKS document (static `jwks`) and as a single JWK (key import and its
//! checks): a refusal is always a `config` error, never a panic.
#![no_main]

use jwtgate::{Config, ErrorKind, Validator};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = Config {
        issuer: jwtgate_fuzz::ISSUER.into(),
        audience: Some(jwtgate::Audience::One(jwtgate_fuzz::AUDIENCE.into())),
        jwks: Some(serde_json::Value::String(text.to_string())),
        ..Config::default()
    };
    if let Err(e) = Validator::new(config) {
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        jwtgate_fuzz::check_refused(text, &e);
    }
    if let Ok(jwk) = serde_json::from_str::<serde_json::Value>(text) {
        for alg in ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"] {
            // A key that imports must still refuse a signature nobody made.
            let r = jwtgate::testing::verify_with_jwk(&jwk, alg, b"message", &[0u8; 64]);
            assert!(r.is_err(), "a zero signature verified under {alg}");
        }
    }
});
