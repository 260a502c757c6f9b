//! Validators and validation.

use std::ffi::c_char;
use std::sync::OnceLock;

use jwtgate::{Validated, Validator};

use crate::error::{
    call, call_infallible, jwtgate_error, optional_text_arg, out_ptr, owned_c_string, text_arg,
};
use crate::result::jwtgate_result;

/// A validator: one issuer and policy (or several, with `issuers`), their keys and a result
/// cache. Thread-safe: one validator may be used from many threads at once. Created by
/// `jwtgate_validator_new`, released with `jwtgate_validator_free` (after every call on it has
/// returned).
pub struct jwtgate_validator {
    inner: Validator,
}

impl std::fmt::Debug for jwtgate_validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// The verified claims of one token. Immutable and thread-safe; released with
/// `jwtgate_claims_free`. Strings borrowed from it stay valid until then.
pub struct jwtgate_claims {
    validated: Validated,
    scopes: OnceLock<Box<str>>,
}

impl std::fmt::Debug for jwtgate_claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("jwtgate_claims").finish_non_exhaustive()
    }
}

/// Borrows a validator argument.
///
/// # Safety
/// `v` is NULL or a live validator created by this library.
pub(crate) unsafe fn validator<'a>(
    v: *const jwtgate_validator,
) -> Result<&'a Validator, jwtgate_error> {
    // SAFETY: the caller's contract.
    unsafe { v.as_ref() }
        .map(|v| &v.inner)
        .ok_or_else(|| jwtgate_error::null("validator"))
}

/// Borrows a claims argument.
///
/// # Safety
/// `c` is NULL or live claims created by this library.
unsafe fn claims<'a>(c: *const jwtgate_claims) -> Result<&'a jwtgate_claims, jwtgate_error> {
    // SAFETY: the caller's contract.
    unsafe { c.as_ref() }.ok_or_else(|| jwtgate_error::null("claims"))
}

/// The version of jwtgate, e.g. "0.1.0" (static, NUL-terminated).
#[unsafe(no_mangle)]
pub extern "C" fn jwtgate_version() -> *const c_char {
    static VERSION: OnceLock<std::ffi::CString> = OnceLock::new();
    call_infallible(c"".as_ptr(), || {
        VERSION
            .get_or_init(|| std::ffi::CString::new(jwtgate::VERSION).unwrap_or_default())
            .as_ptr()
    })
}

/// Tells jwtgate that this process is a child just forked (call it from a `pthread_atfork`
/// child handler, or first thing after `fork()`): fleet-mode validators then restart their
/// Redis revocation subscription before serving any result the parent cached. Without it they
/// restart it at their next cache miss. Safe to call more than once; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn jwtgate_after_fork() {
    call_infallible((), jwtgate::after_fork)
}

/// Builds a validator from the canonical JSON configuration (`config_json`, `len` bytes of
/// UTF-8; the same schema and defaults as every jwtgate face). Static keys are imported and
/// checked here; remote keys are fetched on first use or by `jwtgate_validator_ready`.
///
/// On success `*out` receives the validator (release it with `jwtgate_validator_free`).
/// An invalid configuration returns `JWTGATE_CONFIG`, its message naming the field.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validator_new(
    config_json: *const u8,
    len: usize,
    out: *mut *mut jwtgate_validator,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        out_ptr(out, "out")?;
        // SAFETY: readable bytes are the caller's contract.
        let config = unsafe {
            text_arg(
                config_json,
                len,
                "config_json",
                jwtgate_result::JWTGATE_CONFIG,
            )
        }?;
        let inner = Validator::from_json(config)?;
        let handle = Box::into_raw(Box::new(jwtgate_validator { inner }));
        // SAFETY: `out` is not NULL and points to writable storage (API contract).
        unsafe { *out = handle };
        Ok(())
    })
}

/// Releases a validator. NULL is accepted and ignored. No call on `v` may be running or
/// start afterwards; releasing twice is forbidden. Claims obtained from `v` stay valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validator_free(v: *mut jwtgate_validator) {
    call_infallible((), || {
        if !v.is_null() {
            // SAFETY: created by Box::into_raw in `jwtgate_validator_new`, not freed before.
            drop(unsafe { Box::from_raw(v) });
        }
    })
}

/// Loads the remote key set now and waits for it (bounded by the configured fetch timeouts),
/// so that the first requests do not wait. Static and shared-secret validators are always ready.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validator_ready(
    v: *const jwtgate_validator,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        v.ready_blocking()?;
        Ok(())
    })
}

/// Fetches the key sets now, every issuer's or one issuer's, and waits for them (bounded by
/// `fetch_deadline` per issuer; issuers are refreshed in turn), unless a fetch of that key set
/// started within the last second. For operators: after a key is withdrawn at the provider,
/// this makes it, and every cached result it verified, unusable at once instead of at the next
/// scheduled refresh.
///
/// `issuer` (UTF-8, `issuer_len` bytes) names one configured issuer exactly as in the
/// configuration; `issuer_len` 0 (with `issuer` NULL or not) means every issuer. Results are
/// those of `jwtgate_validator_ready`: `JWTGATE_JWKS_UNAVAILABLE` when a provider cannot be
/// reached, `JWTGATE_CONFIG` for a mistake retrying will not fix (the provider's metadata
/// names another issuer) and for an `issuer` that is not configured; a NULL `issuer` with a
/// non-zero length is `JWTGATE_NULL_PARAMETER` and a name that is not UTF-8
/// `JWTGATE_INVALID_ARGUMENT`, never read as "every issuer". Static and shared-secret
/// issuers have nothing to fetch and succeed at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validator_refresh_keys(
    v: *const jwtgate_validator,
    issuer: *const u8,
    issuer_len: usize,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        // A caller's mistake (a NULL pointer with a length) must not widen a refresh of one
        // issuer into a refresh of all: only a zero length selects every issuer.
        let issuer = if issuer_len == 0 {
            None
        } else {
            // SAFETY: readable bytes are the caller's contract.
            Some(unsafe {
                text_arg(
                    issuer,
                    issuer_len,
                    "issuer",
                    jwtgate_result::JWTGATE_INVALID_ARGUMENT,
                )
            }?)
        };
        v.refresh_keys_blocking(issuer)?;
        Ok(())
    })
}

/// Drops every cached result (validated JWTs and introspection answers): the tokens are
/// validated afresh on their next use. On success `removed`, when not NULL, receives how many
/// results were dropped. A NULL `v` is `JWTGATE_NULL_PARAMETER`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validator_clear_cache(
    v: *const jwtgate_validator,
    removed: *mut usize,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        let n = v.clear_cache();
        if !removed.is_null() {
            // SAFETY: not NULL and writable (API contract).
            unsafe { *removed = n };
        }
        Ok(())
    })
}

/// Hands validated claims to C through `out` (checked not NULL by the caller).
pub(crate) fn claims_out(validated: Validated, out: *mut *mut jwtgate_claims) {
    let handle = Box::into_raw(Box::new(jwtgate_claims {
        validated,
        scopes: OnceLock::new(),
    }));
    // SAFETY: `out` is not NULL and points to writable storage (API contract).
    unsafe { *out = handle };
}

/// A space-separated list of scopes as the core takes it.
pub(crate) fn scope_list(scopes: &str) -> Vec<&str> {
    scopes.split(' ').filter(|s| !s.is_empty()).collect()
}

/// An optional space-separated list of scopes (`len` 0: none, whatever `ptr` is).
///
/// # Safety
/// As `crate::error::text`.
pub(crate) unsafe fn optional_scope_list<'a>(
    ptr: *const u8,
    len: usize,
) -> Result<Vec<&'a str>, jwtgate_error> {
    // SAFETY: forwarded contract.
    let scopes = unsafe { optional_text_arg(ptr, len, "scopes") }?;
    Ok(scope_list(scopes.unwrap_or("")))
}

/// Shared body of the two validate functions.
fn validate_with(
    v: *const jwtgate_validator,
    token: *const u8,
    len: usize,
    out: *mut *mut jwtgate_claims,
    err: *mut *mut jwtgate_error,
    how: fn(&Validator, &str) -> jwtgate::Result<Validated>,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        out_ptr(out, "out")?;
        // A token that is not UTF-8 cannot be a compact JWS: it is malformed (HTTP 401),
        // just as the core would call any other undecodable token.
        // SAFETY: readable bytes are the caller's contract.
        let token = unsafe { text_arg(token, len, "token", jwtgate_result::JWTGATE_MALFORMED) }?;
        claims_out(how(v, token)?, out);
        Ok(())
    })
}

/// Validates a bearer token (`len` bytes, without the "Bearer " prefix). Blocks the calling
/// thread while keys are fetched, bounded by the configured fetch timeouts; a cached token
/// is answered without blocking. Safe to call from many threads on one validator.
///
/// On success `*out` receives the claims (release with `jwtgate_claims_free`). On failure
/// the result is the error's code: 1000-1399 the token is bad (answer 401), 2000-2999 the
/// keys cannot be fetched (answer 503).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validate(
    v: *const jwtgate_validator,
    token: *const u8,
    len: usize,
    out: *mut *mut jwtgate_claims,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    validate_with(v, token, len, out, err, Validator::validate_blocking)
}

/// As `jwtgate_validate`, but never does network I/O and never blocks: where keys would
/// have to be fetched first it fails with `JWTGATE_KEYS_NOT_LOADED` (and starts loading
/// them in the background). For event loops: call `jwtgate_validate` on a worker thread
/// when this returns `JWTGATE_KEYS_NOT_LOADED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validate_local(
    v: *const jwtgate_validator,
    token: *const u8,
    len: usize,
    out: *mut *mut jwtgate_claims,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    validate_with(v, token, len, out, err, Validator::validate_local)
}

/// Writes a borrowed string to `(ptr, len)` out-parameters.
fn borrowed_out(text: &str, ptr: *mut *const u8, len: *mut usize) -> Result<(), jwtgate_error> {
    out_ptr(ptr, "ptr")?;
    out_ptr(len, "len")?;
    // SAFETY: both not NULL and writable (API contract).
    unsafe {
        *ptr = text.as_ptr();
        *len = text.len();
    }
    Ok(())
}

/// The token's payload as JSON text (UTF-8, exactly as the token carried it; not
/// NUL-terminated): `*ptr`/`*len` borrow from `c` and stay valid until
/// `jwtgate_claims_free(c)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_json(
    c: *const jwtgate_claims,
    ptr: *mut *const u8,
    len: *mut usize,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `c`.
        let c = unsafe { claims(c) }?;
        borrowed_out(c.validated.claims().json(), ptr, len)
    })
}

/// The token's protected header as JSON text, borrowed as in `jwtgate_claims_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_header_json(
    c: *const jwtgate_claims,
    ptr: *mut *const u8,
    len: *mut usize,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `c`.
        let c = unsafe { claims(c) }?;
        borrowed_out(c.validated.claims().header_json(), ptr, len)
    })
}

/// The granted scopes, separated by single spaces (from `scope`, RFC 9068 §2.2.3, and
/// `scp`), borrowed as in `jwtgate_claims_json`; empty when none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_scopes(
    c: *const jwtgate_claims,
    ptr: *mut *const u8,
    len: *mut usize,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `c`.
        let c = unsafe { claims(c) }?;
        let joined = c
            .scopes
            .get_or_init(|| c.validated.claims().scopes().join(" ").into_boxed_str());
        borrowed_out(joined, ptr, len)
    })
}

/// A string claim of the payload (`name`: `name_len` bytes of UTF-8, e.g. "sub"), borrowed as
/// in `jwtgate_claims_json`. `*ptr` is NULL and `*len` 0 when the claim is absent or is not a
/// JSON string (read `jwtgate_claims_json` for other types); an empty string has a non-NULL
/// `*ptr`. `sub` and `jti` are read from what the engine keeps; any other name parses the
/// payload once and keeps the parsed object with the claims (a few KB for a cached token).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_string(
    c: *const jwtgate_claims,
    name: *const u8,
    name_len: usize,
    ptr: *mut *const u8,
    len: *mut usize,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `c`.
        let c = unsafe { claims(c) }?;
        // SAFETY: readable bytes are the caller's contract.
        let name = unsafe {
            text_arg(
                name,
                name_len,
                "name",
                jwtgate_result::JWTGATE_INVALID_ARGUMENT,
            )
        }?;
        match c.validated.claims().get_str(name) {
            Some(value) => borrowed_out(value, ptr, len),
            None => {
                out_ptr(ptr, "ptr")?;
                out_ptr(len, "len")?;
                // SAFETY: both not NULL and writable (API contract).
                unsafe {
                    *ptr = std::ptr::null();
                    *len = 0;
                }
                Ok(())
            }
        }
    })
}

/// `JWTGATE_OK` when every scope in `scopes` (space-separated UTF-8, `len` bytes) was
/// granted, else `JWTGATE_INSUFFICIENT_SCOPE` (RFC 6750 §3.1, HTTP 403) naming the missing
/// ones.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_require_scopes(
    c: *const jwtgate_claims,
    scopes: *const u8,
    len: usize,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `c`.
        let c = unsafe { claims(c) }?;
        // SAFETY: readable bytes are the caller's contract.
        let scopes = unsafe {
            text_arg(
                scopes,
                len,
                "scopes",
                jwtgate_result::JWTGATE_INVALID_ARGUMENT,
            )
        }?;
        c.validated.claims().require_scopes(&scope_list(scopes))?;
        Ok(())
    })
}

/// `exp` as Unix seconds, or a negative value when the token has no `exp` (or `c` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_expires_at(c: *const jwtgate_claims) -> f64 {
    call_infallible(-1.0, || {
        // SAFETY: API contract on `c`.
        match unsafe { c.as_ref() } {
            Some(c) => c.validated.expires_at().unwrap_or(-1.0),
            None => -1.0,
        }
    })
}

/// A process-unique number for this set of claims, never 0 for live claims (0 when `c` is
/// NULL). A result-cache hit returns the same claims, hence the same id, as the validation
/// that filled the cache: a face that converts claims into its own objects can keep the
/// converted copy by id instead of converting on every hit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_id(c: *const jwtgate_claims) -> u64 {
    call_infallible(0, || {
        // SAFETY: API contract on `c`.
        unsafe { c.as_ref() }.map_or(0, |c| c.validated.claims().id())
    })
}

/// Where the answer came from, as a static string: "cache" (the result cache: no signature
/// was checked for this call), "local" (signature and claims checked just now),
/// "introspection" (the provider answered just now); "" when `c` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_source(c: *const jwtgate_claims) -> *const c_char {
    call_infallible(c"".as_ptr(), || {
        // SAFETY: API contract on `c`.
        let name = unsafe { c.as_ref() }.map_or("", |c| c.validated.source().as_str());
        let name: &'static std::ffi::CStr = match name {
            "cache" => c"cache",
            "local" => c"local",
            "introspection" => c"introspection",
            _ => c"",
        };
        name.as_ptr()
    })
}

/// Releases claims. NULL is accepted and ignored; releasing twice is forbidden.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_claims_free(c: *mut jwtgate_claims) {
    call_infallible((), || {
        if !c.is_null() {
            // SAFETY: created by Box::into_raw in `validate_with`, not freed before.
            drop(unsafe { Box::from_raw(c) });
        }
    })
}

/// Writes an owned string to a `char **` out-parameter.
fn owned_out(text: String, out: *mut *mut c_char) -> Result<(), jwtgate_error> {
    out_ptr(out, "out")?;
    // SAFETY: not NULL and writable (API contract).
    unsafe { *out = owned_c_string(text) };
    Ok(())
}

/// The validator's counters as a JSON object (the same document every face returns).
/// `*out` is NUL-terminated UTF-8 owned by the caller: release it with
/// `jwtgate_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_stats_json(
    v: *const jwtgate_validator,
    out: *mut *mut c_char,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        let json = serde_json::to_string(&v.stats())
            .map_err(|e| jwtgate_error::new(jwtgate_result::JWTGATE_INTERNAL, e.to_string()))?;
        owned_out(json, out)
    })
}

/// The counters in Prometheus text format; ownership as in `jwtgate_stats_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_metrics_text(
    v: *const jwtgate_validator,
    out: *mut *mut c_char,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        owned_out(v.metrics_text(), out)
    })
}

/// The validator's health (key source, key set freshness, cache size) as a JSON object;
/// ownership as in `jwtgate_stats_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_health_json(
    v: *const jwtgate_validator,
    out: *mut *mut c_char,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        let json = serde_json::to_string(&v.health())
            .map_err(|e| jwtgate_error::new(jwtgate_result::JWTGATE_INTERNAL, e.to_string()))?;
        owned_out(json, out)
    })
}

/// The C face's "no time given" sentinel is exactly 0 (as is -0.0, which compares equal);
/// every other value goes to the core, which refuses NaN, infinities and times that make no
/// sense for the call with a `config` error. Mapping them to "none" here, as this function
/// once did for NaN, infinities and negative values, turned `until = NAN` into a revocation
/// for the life of the validator and `issued_before = -1` into "now": a caller's mistake
/// must be reported, never reinterpreted (audit finding 5: revocation never fails open).
fn optional_time(t: f64) -> Option<f64> {
    (t != 0.0).then_some(t)
}

/// Revokes the token whose `jti` is `jti` (UTF-8, `len` bytes) until `until`: Unix seconds
/// in the future (usually the token's `exp`), or exactly 0 for the life of the validator.
/// Cached results for it are dropped at once.
///
/// An empty `jti`, or an `until` that is NaN, infinite or not in the future, is
/// `JWTGATE_CONFIG` (the message, in `*err` when `err` is not NULL, names the argument) and
/// revokes nothing: revocation never fails open. On success `removed`, when not NULL,
/// receives how many cached results were dropped; on failure it is not written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_revoke_jti(
    v: *const jwtgate_validator,
    jti: *const u8,
    len: usize,
    until: f64,
    removed: *mut usize,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        // SAFETY: readable bytes are the caller's contract.
        let jti = unsafe { text_arg(jti, len, "jti", jwtgate_result::JWTGATE_INVALID_ARGUMENT) }?;
        let n = v.revoke_jti(jti, optional_time(until))?;
        if !removed.is_null() {
            // SAFETY: not NULL and writable (API contract).
            unsafe { *removed = n };
        }
        Ok(())
    })
}

/// Revokes every token of subject `sub` (UTF-8, `len` bytes) issued at or before
/// `issued_before`: Unix seconds, or exactly 0 for now. Tokens without `iat` are revoked
/// too. Cached results for them are dropped at once.
///
/// An empty `sub`, or an `issued_before` that is NaN, infinite, negative or in the future
/// (beyond the leeway: that would ban tokens not issued yet), is `JWTGATE_CONFIG` (the
/// message, in `*err` when `err` is not NULL, names the argument) and revokes nothing. On
/// success `removed`, when not NULL, receives how many cached results were dropped; on
/// failure it is not written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_revoke_subject(
    v: *const jwtgate_validator,
    sub: *const u8,
    len: usize,
    issued_before: f64,
    removed: *mut usize,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        // SAFETY: readable bytes are the caller's contract.
        let sub = unsafe { text_arg(sub, len, "sub", jwtgate_result::JWTGATE_INVALID_ARGUMENT) }?;
        let n = v.revoke_subject(sub, optional_time(issued_before))?;
        if !removed.is_null() {
            // SAFETY: not NULL and writable (API contract).
            unsafe { *removed = n };
        }
        Ok(())
    })
}
