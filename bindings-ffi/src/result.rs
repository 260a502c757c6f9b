//! `jwtgate_result`: what every fallible C function returns.
//!
//! The values are the core's stable error codes (`jwtgate::ErrorKind::code`), so a C caller
//! can switch on the result without touching the error object, and the number it logs is
//! the number every other face reports. Two values exist only in the C face (misuse of the
//! ABI itself); they sit below the core's first range (1000), which the core never
//! allocates. The enum is written out literally because cbindgen does not expand macros;
//! `every_core_kind_has_a_result_with_its_code_and_name` keeps it in step with the
//! core.

use std::ffi::CStr;

use jwtgate::ErrorKind;

/// The outcome of a call: `JWTGATE_OK` (0) or the stable code of what went wrong.
///
/// The codes are grouped in ranges, as in the core: 1000-1399 the token or the request's
/// credentials are bad (HTTP 401, RFC 6750 `invalid_token`; 1005 `invalid_request` is 400);
/// 1400-1499 the token is good but lacks what the request needs (403); 2000-2999 the
/// provider or its keys cannot be reached (503, retry later); 3000-3999 the configuration is
/// invalid; 9000 a bug in jwtgate. Codes never change meaning; new ones may be added. The
/// core's whole table (kind, class, status, ...): `jwtgate_error_kinds_json`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jwtgate_result {
    /// Success.
    JWTGATE_OK = 0,
    /// A required pointer argument was NULL (C face only).
    JWTGATE_NULL_PARAMETER = 1,
    /// An argument is unusable: a length larger than any object, or text that is not
    /// UTF-8 where no better kind applies (C face only).
    JWTGATE_INVALID_ARGUMENT = 2,
    /// Not a well-formed compact JWS (also: a token that is not UTF-8).
    JWTGATE_MALFORMED = 1000,
    /// Longer than `max_token_bytes`.
    JWTGATE_TOKEN_TOO_LARGE = 1001,
    /// Not a JWT, and nothing is configured to check other tokens.
    JWTGATE_UNSUPPORTED_TOKEN = 1002,
    /// A header parameter jwtgate refuses (`crit`, `b64`).
    JWTGATE_UNSUPPORTED_HEADER = 1003,
    /// The request carries no bearer token (`jwtgate_http_bearer_token`,
    /// `jwtgate_validate_authorization`; never for a token given directly): HTTP 401 with a
    /// bare challenge (RFC 6750 §3.1).
    JWTGATE_MISSING_TOKEN = 1004,
    /// The `Authorization` header names the Bearer scheme but its credentials are not one
    /// RFC 6750 §2.1 `b64token`: HTTP 400 `invalid_request`.
    JWTGATE_INVALID_REQUEST = 1005,
    /// `alg` is `none`, not allowed, or not the algorithm of the key.
    JWTGATE_ALGORITHM_NOT_ALLOWED = 1100,
    /// No key matches the token's `kid` and algorithm.
    JWTGATE_KEY_NOT_FOUND = 1101,
    /// The signature does not verify.
    JWTGATE_SIGNATURE_INVALID = 1102,
    /// `exp` has passed.
    JWTGATE_EXPIRED = 1200,
    /// `nbf` is in the future.
    JWTGATE_NOT_YET_VALID = 1201,
    /// `iat` is in the future.
    JWTGATE_ISSUED_IN_FUTURE = 1202,
    /// `iat` is older than `max_token_age`.
    JWTGATE_TOKEN_TOO_OLD = 1203,
    /// `iss` is not the configured issuer.
    JWTGATE_ISSUER_MISMATCH = 1204,
    /// `aud` names none of the configured audiences.
    JWTGATE_AUDIENCE_MISMATCH = 1205,
    /// A required claim is absent.
    JWTGATE_MISSING_CLAIM = 1206,
    /// A registered claim has the wrong type or an impossible value.
    JWTGATE_INVALID_CLAIM = 1207,
    /// The `typ` header is not the configured `token_type`.
    JWTGATE_TOKEN_TYPE_MISMATCH = 1208,
    /// Revoked by `jti` or by subject.
    JWTGATE_REVOKED = 1300,
    /// The introspection endpoint answered `active: false`.
    JWTGATE_INACTIVE = 1301,
    /// The token is valid but lacks a required scope (HTTP 403).
    JWTGATE_INSUFFICIENT_SCOPE = 1400,
    /// The key set could not be fetched and no usable cached copy exists (HTTP 503).
    JWTGATE_JWKS_UNAVAILABLE = 2000,
    /// The provider cannot be reached (HTTP 503).
    JWTGATE_PROVIDER_UNAVAILABLE = 2001,
    /// `jwtgate_validate_local` needed keys that are not loaded yet: call `jwtgate_validate`.
    JWTGATE_KEYS_NOT_LOADED = 2002,
    /// Invalid configuration; the message names the field.
    JWTGATE_CONFIG = 3000,
    /// A bug in jwtgate (including a caught panic). Please report it.
    JWTGATE_INTERNAL = 9000,
}

use jwtgate_result::*;

/// Every result with its stable name, as a static NUL-terminated string.
const NAMES: &[(jwtgate_result, &CStr)] = &[
    (JWTGATE_OK, c"ok"),
    (JWTGATE_NULL_PARAMETER, c"null_parameter"),
    (JWTGATE_INVALID_ARGUMENT, c"invalid_argument"),
    (JWTGATE_MALFORMED, c"malformed"),
    (JWTGATE_TOKEN_TOO_LARGE, c"token_too_large"),
    (JWTGATE_UNSUPPORTED_TOKEN, c"unsupported_token"),
    (JWTGATE_UNSUPPORTED_HEADER, c"unsupported_header"),
    (JWTGATE_MISSING_TOKEN, c"missing_token"),
    (JWTGATE_INVALID_REQUEST, c"invalid_request"),
    (JWTGATE_ALGORITHM_NOT_ALLOWED, c"algorithm_not_allowed"),
    (JWTGATE_KEY_NOT_FOUND, c"key_not_found"),
    (JWTGATE_SIGNATURE_INVALID, c"signature_invalid"),
    (JWTGATE_EXPIRED, c"expired"),
    (JWTGATE_NOT_YET_VALID, c"not_yet_valid"),
    (JWTGATE_ISSUED_IN_FUTURE, c"issued_in_future"),
    (JWTGATE_TOKEN_TOO_OLD, c"token_too_old"),
    (JWTGATE_ISSUER_MISMATCH, c"issuer_mismatch"),
    (JWTGATE_AUDIENCE_MISMATCH, c"audience_mismatch"),
    (JWTGATE_MISSING_CLAIM, c"missing_claim"),
    (JWTGATE_INVALID_CLAIM, c"invalid_claim"),
    (JWTGATE_TOKEN_TYPE_MISMATCH, c"token_type_mismatch"),
    (JWTGATE_REVOKED, c"revoked"),
    (JWTGATE_INACTIVE, c"inactive"),
    (JWTGATE_INSUFFICIENT_SCOPE, c"insufficient_scope"),
    (JWTGATE_JWKS_UNAVAILABLE, c"jwks_unavailable"),
    (JWTGATE_PROVIDER_UNAVAILABLE, c"provider_unavailable"),
    (JWTGATE_KEYS_NOT_LOADED, c"keys_not_loaded"),
    (JWTGATE_CONFIG, c"config"),
    (JWTGATE_INTERNAL, c"internal"),
];

impl jwtgate_result {
    /// The result for a core error kind. A kind added to the core after this table was
    /// written maps to `JWTGATE_INTERNAL` (the unit test below fails first).
    pub(crate) fn from_kind(kind: ErrorKind) -> jwtgate_result {
        let code = kind.code();
        NAMES
            .iter()
            .find(|(r, _)| *r as u32 == code)
            .map_or(JWTGATE_INTERNAL, |(r, _)| *r)
    }

    /// The core kind of this result; `None` for `JWTGATE_OK` and the C-only results.
    pub(crate) fn core_kind(self) -> Option<ErrorKind> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.code() == self as u32)
    }

    pub(crate) fn from_code(code: u32) -> Option<jwtgate_result> {
        NAMES
            .iter()
            .find(|(r, _)| *r as u32 == code)
            .map(|(r, _)| *r)
    }

    /// The stable snake_case name (static).
    pub(crate) fn name(self) -> &'static CStr {
        NAMES
            .iter()
            .find(|(r, _)| *r == self)
            .map_or(c"internal", |(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_has_a_result_with_its_code_and_name() {
        for kind in ErrorKind::ALL {
            let r = jwtgate_result::from_kind(*kind);
            assert_eq!(
                r as u32,
                kind.code(),
                "{kind}: no jwtgate_result with its code"
            );
            assert_eq!(r.name().to_str().ok(), Some(kind.as_str()), "{kind}: name");
        }
    }

    #[test]
    fn ffi_only_results_stay_below_the_core_ranges() {
        let core: Vec<u32> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        for (r, name) in NAMES {
            let code = *r as u32;
            if !core.contains(&code) {
                assert!(code < 1000, "{name:?} ({code}) collides with a core range");
            }
            assert_eq!(jwtgate_result::from_code(code), Some(*r));
        }
        assert_eq!(
            NAMES.len(),
            core.len() + 3,
            "ok + two misuse results + one per kind"
        );
    }

    /// `jwtgate_error_kinds_json` is the core's table, and every kind in it is a result here.
    #[test]
    fn the_published_table_is_the_cores() {
        let mut out = std::ptr::null_mut();
        // SAFETY: a live local; the string is released below.
        let json = unsafe {
            assert_eq!(crate::jwtgate_error_kinds_json(&mut out), JWTGATE_OK);
            let json = CStr::from_ptr(out).to_str().unwrap().to_string();
            crate::jwtgate_string_free(out);
            json
        };
        let table: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(table.len(), ErrorKind::ALL.len());
        for (row, kind) in table.iter().zip(ErrorKind::ALL) {
            assert_eq!(row["kind"], kind.as_str());
            assert_eq!(row["code"], kind.code());
            assert_eq!(row["status"], kind.http_status());
            assert_eq!(row["class"], kind.class());
            assert_eq!(row["oauth_error"].as_str(), kind.oauth_error());
            assert_eq!(
                row["client_description"].as_str(),
                kind.client_description()
            );
            let r = jwtgate_result::from_code(kind.code()).expect("a result per kind");
            assert_eq!(r.core_kind(), Some(*kind));
        }
        let invalid_request = &table[ErrorKind::ALL
            .iter()
            .position(|k| k.as_str() == "invalid_request")
            .unwrap()];
        assert_eq!(invalid_request["code"], 1005);
        assert_eq!(invalid_request["status"], 400);
    }
}
