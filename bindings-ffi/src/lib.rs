//! The C ABI of jwtgate. The header, `include/jwtgate.h`, is generated from this crate by
//! cbindgen (see `build.rs`) and committed.
//!
//! Conventions (rustls-ffi is the model):
//! - every fallible function returns a [`jwtgate_result`]; out-parameters come last and are
//!   written only on success; the optional `err` out-parameter is written only on failure;
//! - handles ([`jwtgate_validator`], [`jwtgate_claims`], [`jwtgate_error`]) are opaque,
//!   created and released only by this library, and every `_free` accepts NULL;
//! - every entry point runs behind a panic boundary: unwinding into C is undefined
//!   behaviour, so a panic becomes `JWTGATE_INTERNAL`;
//! - strings going in are `(const uint8_t *ptr, size_t len)` and are checked as UTF-8;
//!   strings coming out are either borrowed from a handle (valid until it is freed) or
//!   owned by the caller and released with `jwtgate_string_free`.
//!
//! This crate holds no validation logic: it converts arguments, maps errors and manages
//! ownership. Everything else is the core's.

// A C ABI cannot be written without raw pointers. Every unsafe block is small and says
// which part of the documented contract (in the header) makes it sound.
#![allow(unsafe_code)]
// The exported types carry their C names (jwtgate_validator, ...), as the header shows them.
#![allow(non_camel_case_types)]
// Functions taking pointers are `unsafe extern "C"`: for a Rust caller they are as unsafe as
// for a C one. Their safety contract is the C contract written in each doc comment (and in
// the header's preamble), not a separate `# Safety` section.
#![allow(clippy::missing_safety_doc)]

// Declared in the order the header should read: validators and validation first.
mod error;
mod result;
mod validator;
// Then the HTTP edge, built on them.
mod edge;
// Then operating it: metric families, admin routes, events.
mod operate;

pub use edge::{
    jwtgate_http_answer, jwtgate_http_bearer_token, jwtgate_validate_authorization,
    jwtgate_validate_authorization_local,
};
pub use error::{
    jwtgate_error, jwtgate_error_code, jwtgate_error_free, jwtgate_error_http_status,
    jwtgate_error_kind, jwtgate_error_kinds_json, jwtgate_error_message, jwtgate_error_new,
    jwtgate_result_name, jwtgate_string_free,
};
pub use operate::{
    jwtgate_admin_check_scope, jwtgate_admin_handle, jwtgate_admin_routes_json, jwtgate_event,
    jwtgate_event_callback, jwtgate_events_set_callback, jwtgate_events_wait, jwtgate_events_wake,
    jwtgate_metric_families_json,
};
pub use result::jwtgate_result;
pub use validator::{
    jwtgate_claims, jwtgate_claims_expires_at, jwtgate_claims_free, jwtgate_claims_header_json,
    jwtgate_claims_id, jwtgate_claims_json, jwtgate_claims_require_scopes, jwtgate_claims_scopes,
    jwtgate_claims_source, jwtgate_claims_string, jwtgate_health_json, jwtgate_metrics_text,
    jwtgate_revoke_jti, jwtgate_revoke_subject, jwtgate_stats_json, jwtgate_validate,
    jwtgate_validate_local, jwtgate_validator, jwtgate_validator_clear_cache,
    jwtgate_validator_free, jwtgate_validator_new, jwtgate_validator_ready,
    jwtgate_validator_refresh_keys, jwtgate_version,
};

#[cfg(test)]
mod tests {
    use std::ffi::{CStr, c_char};
    use std::path::PathBuf;
    use std::ptr;

    use super::*;
    use crate::jwtgate_result::*;

    fn manifest_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// `include/jwtgate.h` must be what cbindgen generates from the current source (the
    /// fresh copy is in OUT_DIR). `JWTGATE_BLESS_HEADER=1` rewrites the committed copy.
    #[test]
    fn committed_header_is_current() {
        let fresh = include_str!(concat!(env!("OUT_DIR"), "/jwtgate.h"));
        let committed_path = manifest_dir().join("include/jwtgate.h");
        if std::env::var_os("JWTGATE_BLESS_HEADER").is_some() {
            std::fs::write(&committed_path, fresh).expect("write include/jwtgate.h");
            return;
        }
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        if committed != fresh {
            let line = committed
                .lines()
                .zip(fresh.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
            panic!(
                "bindings-ffi/include/jwtgate.h is stale (first difference at line {}); \
                 run `make -C bindings-ffi header`. Fresh copy: {}/jwtgate.h",
                line + 1,
                env!("OUT_DIR")
            );
        }
    }

    fn default_config_and_token() -> (String, String) {
        let text = std::fs::read_to_string(manifest_dir().join("../tests/vectors/valid.json"))
            .expect("tests/vectors/valid.json");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("vector JSON");
        let case = &doc["cases"][0];
        let config = doc["configs"][case["config"].as_str().expect("config name")].to_string();
        (config, case["token"].as_str().expect("token").to_string())
    }

    fn new_validator(config: &str) -> *mut jwtgate_validator {
        // SAFETY: every pointer passed is NULL, a live handle or a live local.
        unsafe {
            let mut v = ptr::null_mut();
            let r = jwtgate_validator_new(config.as_ptr(), config.len(), &mut v, ptr::null_mut());
            assert_eq!(r, JWTGATE_OK);
            assert!(!v.is_null());
            v
        }
    }

    fn cstr(p: *const c_char) -> String {
        // SAFETY: the library returns NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    #[test]
    fn a_valid_token_yields_its_payload_and_a_cache_hit_the_same() {
        // SAFETY: every pointer passed is NULL, a live handle or a live local.
        unsafe {
            let (config, token) = default_config_and_token();
            let v = new_validator(&config);
            for _ in 0..2 {
                let mut c = ptr::null_mut();
                let r = jwtgate_validate(v, token.as_ptr(), token.len(), &mut c, ptr::null_mut());
                assert_eq!(r, JWTGATE_OK);
                let (mut p, mut n) = (ptr::null(), 0usize);
                assert_eq!(jwtgate_claims_json(c, &mut p, &mut n), JWTGATE_OK);
                // Borrowed from `c`, which is alive.
                let json = std::slice::from_raw_parts(p, n);
                let value: serde_json::Value = serde_json::from_slice(json).expect("claims JSON");
                assert_eq!(value["iss"], "https://issuer.test");
                jwtgate_claims_free(c);
            }
            let mut stats = ptr::null_mut();
            assert_eq!(jwtgate_stats_json(v, &mut stats), JWTGATE_OK);
            let doc: serde_json::Value = serde_json::from_str(&cstr(stats)).expect("stats JSON");
            assert_eq!(doc["cache_hits"], 1);
            jwtgate_string_free(stats);
            jwtgate_validator_free(v);
        }
    }

    #[test]
    fn errors_carry_the_core_kind_code_and_message() {
        // SAFETY: every pointer passed is NULL, a live handle or a live local.
        unsafe {
            let (config, _) = default_config_and_token();
            let v = new_validator(&config);
            let token = "e30.e30.e30"; // header {}: a JWS attempt without alg
            let mut c = ptr::null_mut();
            let mut e = ptr::null_mut();
            let r = jwtgate_validate(v, token.as_ptr(), token.len(), &mut c, &mut e);
            assert_eq!(r, JWTGATE_MALFORMED);
            assert!(c.is_null(), "out is written only on success");
            assert_eq!(cstr(jwtgate_error_kind(e)), "malformed");
            assert_eq!(jwtgate_error_code(e), 1000);
            assert_eq!(jwtgate_error_http_status(e), 401);
            assert!(!cstr(jwtgate_error_message(e)).is_empty());
            jwtgate_error_free(e);
            jwtgate_validator_free(v);
        }
    }

    #[test]
    fn null_and_bad_utf8_are_results_not_crashes() {
        // SAFETY: every pointer passed is NULL, a live handle or a live local.
        unsafe {
            let mut e = ptr::null_mut();
            let r = jwtgate_validator_new(ptr::null(), 0, ptr::null_mut(), &mut e);
            assert_eq!(r, JWTGATE_NULL_PARAMETER);
            assert_eq!(cstr(jwtgate_error_kind(e)), "null_parameter");
            jwtgate_error_free(e);

            let bad = [0xffu8, 0xfe];
            let mut v = ptr::null_mut();
            let r = jwtgate_validator_new(bad.as_ptr(), bad.len(), &mut v, ptr::null_mut());
            assert_eq!(r, JWTGATE_CONFIG);
            assert!(v.is_null());

            let mut c = ptr::null_mut();
            let r = jwtgate_validate(ptr::null(), bad.as_ptr(), 2, &mut c, ptr::null_mut());
            assert_eq!(r, JWTGATE_NULL_PARAMETER);
            assert_eq!(cstr(jwtgate_error_kind(ptr::null())), "");
            assert_eq!(cstr(jwtgate_result_name(1200)), "expired");
            assert_eq!(cstr(jwtgate_result_name(77)), "");
            jwtgate_error_free(ptr::null_mut());
            jwtgate_claims_free(ptr::null_mut());
            jwtgate_validator_free(ptr::null_mut());
            jwtgate_string_free(ptr::null_mut());
        }
    }

    #[test]
    fn version_is_the_core_version() {
        assert_eq!(cstr(jwtgate_version()), jwtgate::VERSION);
    }
}
