//! Arbitrary bytes as a token against a two-issuer validator: the `iss` pre-read is a parser
//! of unauthenticated input, and keys must never cross issuers.
#![no_main]

use std::sync::OnceLock;

use jwtgate::Validator;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static VALIDATOR: OnceLock<(Validator, Vec<jwtgate_testkit::TestKey>)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (validator, keys) =
        VALIDATOR.get_or_init(|| (jwtgate_fuzz::two_issuers(), jwtgate_fuzz::keys()));
    match validator.validate_local(token) {
        Ok(v) => {
            // Only the key of the issuer the token names may have verified it.
            let iss = v.claims().get("iss").and_then(Value::as_str).unwrap_or("");
            let trusted = if iss == jwtgate_fuzz::ISSUER { &keys[0] } else { &keys[1] };
            jwtgate_fuzz::check_accepted(token, &v, &[trusted], false);
        }
        Err(e) => jwtgate_fuzz::check_refused(token, &e),
    }
});
