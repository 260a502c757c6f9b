//! Structure-aware: the fuzzer's bytes edit a valid token's header and payload JSON, which is
//! then re-signed with a trusted key, so the claim checks are reached and not only the parser.
//! Whatever the edit, an accepted token must meet the policy.
#![no_main]

use std::sync::OnceLock;

use jwtgate::Validator;
use jwtgate_testkit::{TestKey, access_token_claims};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

static STATE: OnceLock<(Validator, Vec<TestKey>)> = OnceLock::new();

/// Values the edits draw from: the ones claim checks care about.
fn value(selector: u8, byte: u8) -> Value {
    match selector % 12 {
        0 => Value::Null,
        1 => json!(byte),
        2 => json!(-(i64::from(byte))),
        3 => json!(4_102_444_800u64 + u64::from(byte)),
        4 => json!(1_600_000_000u64),
        5 => json!(f64::from(byte) * 1e300),
        6 => json!(jwtgate_fuzz::ISSUER),
        7 => json!(jwtgate_fuzz::AUDIENCE),
        8 => json!([jwtgate_fuzz::AUDIENCE, "x"]),
        9 => json!("none"),
        10 => json!({ "nested": [byte] }),
        _ => json!(String::from_utf8_lossy(&[byte; 3]).into_owned()),
    }
}

const NAMES: [&str; 14] = [
    "iss", "aud", "exp", "nbf", "iat", "sub", "jti", "typ", "nonce", "scope", "alg", "kid",
    "crit", "b64",
];

fuzz_target!(|data: &[u8]| {
    let (validator, keys) =
        STATE.get_or_init(|| (jwtgate_fuzz::single_issuer(), jwtgate_fuzz::keys()));
    let key = &keys[data.first().copied().unwrap_or(0) as usize % keys.len()];
    let now = 1_767_225_600; // 2026-01-01: exp below is far ahead of it
    let mut payload = access_token_claims(jwtgate_fuzz::ISSUER, jwtgate_fuzz::AUDIENCE, now, 4_102_444_800);
    let mut header = key.header(Some("at+jwt"));
    for edit in data.get(1..).unwrap_or(&[]).chunks(4) {
        let [which, name, selector, byte] = [edit[0], *edit.get(1).unwrap_or(&0), *edit.get(2).unwrap_or(&0), *edit.get(3).unwrap_or(&0)];
        let name = NAMES[name as usize % NAMES.len()];
        let target = if which % 2 == 0 { &mut payload } else { &mut header };
        if let Some(map) = target.as_object_mut() {
            if selector % 13 == 12 {
                map.remove(name);
            } else {
                map.insert(name.to_string(), value(selector, byte));
            }
        }
    }
    let token = key.token_with_header(&header, &payload);
    match validator.validate_local(&token) {
        Ok(v) => {
            let trusted: Vec<&TestKey> = keys.iter().collect();
            jwtgate_fuzz::check_accepted(&token, &v, &trusted, true);
        }
        Err(e) => jwtgate_fuzz::check_refused(&token, &e),
    }
});
