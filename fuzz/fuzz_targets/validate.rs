//! Arbitrary bytes as a bearer token against a fixed static JWKS, shared secret and policy.
#![no_main]

use std::sync::OnceLock;

use jwtgate::Validator;
use libfuzzer_sys::fuzz_target;

static VALIDATOR: OnceLock<(Validator, Vec<jwtgate_testkit::TestKey>)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (validator, keys) =
        VALIDATOR.get_or_init(|| (jwtgate_fuzz::single_issuer(), jwtgate_fuzz::keys()));
    let trusted: Vec<&jwtgate_testkit::TestKey> = keys.iter().collect();
    // Twice: the second answer may come from the result cache and must agree.
    let first = validator.validate_local(token);
    let second = validator.validate_local(token);
    match (&first, &second) {
        (Ok(v), Ok(_)) => jwtgate_fuzz::check_accepted(token, v, &trusted, true),
        (Err(e), Err(e2)) => {
            assert_eq!(e.kind(), e2.kind(), "the same token, two answers");
            jwtgate_fuzz::check_refused(token, e);
        }
        _ => panic!("the same token was accepted once and refused once"),
    }
});
