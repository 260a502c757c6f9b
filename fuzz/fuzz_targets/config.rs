//! Arbitrary bytes as a configuration document: either a validator or a `config` error whose
//! message is bounded and never echoes a secret.
#![no_main]

use jwtgate::{ErrorKind, Validator};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Validator::from_json(text) {
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.message().len() <= 2048, "unbounded: {} bytes", e.message().len());
    }
});
