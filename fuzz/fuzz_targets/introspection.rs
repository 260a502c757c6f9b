//! Arbitrary bytes as an introspection answer (RFC 7662) judged against a policy with an
//! audience and `max_token_age`: only an answer that names a bearer access token for this
//! audience, young enough, is ever active.
#![no_main]

use std::sync::OnceLock;

use jwtgate::Config;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static CONFIG: OnceLock<Config> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let config = CONFIG.get_or_init(|| Config {
        issuer: jwtgate_fuzz::ISSUER.into(),
        audience: Some(jwtgate::Audience::One(jwtgate_fuzz::AUDIENCE.into())),
        jwks: Some(serde_json::json!({ "keys": [jwtgate_testkit::TestKey::ec("ES256", "k").public_jwk()] })),
        max_token_age: Some(600.0),
        ..Config::default()
    });
    let now = 1_800_000_000.0;
    match jwtgate::testing::judge_introspection(config, 200, data, now) {
        Ok(answer) => {
            assert_eq!(answer.get("active"), Some(&Value::Bool(true)));
            let aud_ok = match answer.get("aud") {
                Some(Value::String(a)) => a == jwtgate_fuzz::AUDIENCE,
                Some(Value::Array(list)) => list.iter().any(|a| a == jwtgate_fuzz::AUDIENCE),
                _ => false,
            };
            assert!(aud_ok, "active without our audience");
            let iat = answer.get("iat").and_then(Value::as_f64).expect("iat with max_token_age");
            assert!(now - iat <= 600.0 + 30.0, "older than max_token_age");
            if let Some(t) = answer.get("token_type") {
                let t = t.as_str().expect("token_type is a string").to_ascii_lowercase();
                assert!(
                    ["bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token"]
                        .contains(&t.as_str()),
                    "token_type {t}"
                );
            }
        }
        Err(e) => {
            if let Ok(text) = std::str::from_utf8(data) {
                jwtgate_fuzz::check_refused(text, &e);
            }
        }
    }
});
