//! Error objects and the panic boundary every entry point goes through.

use std::any::Any;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use jwtgate::ErrorKind;

use crate::result::jwtgate_result;

/// An error: a stable kind (`jwtgate_error_kind`), its numeric code (`jwtgate_error_code`,
/// equal to the `jwtgate_result` the call returned) and a message that never contains the
/// token, key material or secrets. Created by the library, released with
/// `jwtgate_error_free`.
pub struct jwtgate_error {
    result: jwtgate_result,
    http_status: u16,
    message: CString,
}

impl std::fmt::Debug for jwtgate_error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("jwtgate_error")
            .field("kind", &self.result.name())
            .field("message", &self.message)
            .finish()
    }
}

impl jwtgate_error {
    /// An error that exists only in the C face (misuse of the ABI, a caught panic): the
    /// caller's fault or ours, never the client's, hence 500.
    pub(crate) fn new(result: jwtgate_result, message: impl Into<String>) -> jwtgate_error {
        jwtgate_error::with_status(result, 500, message)
    }

    fn with_status(
        result: jwtgate_result,
        http_status: u16,
        message: impl Into<String>,
    ) -> jwtgate_error {
        let mut message: String = message.into();
        // A C string ends at the first NUL: a message quoting user input with a NUL in it
        // would be cut short silently, so the NUL is made visible instead.
        if message.contains('\0') {
            message = message.replace('\0', "\u{FFFD}");
        }
        jwtgate_error {
            result,
            http_status,
            message: CString::new(message).unwrap_or_default(),
        }
    }

    pub(crate) fn null(what: &str) -> jwtgate_error {
        jwtgate_error::new(
            jwtgate_result::JWTGATE_NULL_PARAMETER,
            format!("{what} is NULL"),
        )
    }

    pub(crate) fn result(&self) -> jwtgate_result {
        self.result
    }

    pub(crate) fn kind_cstr(&self) -> &'static CStr {
        self.result.name()
    }

    pub(crate) fn message_cstr(&self) -> &CStr {
        &self.message
    }

    /// The core error this one carries. A C-only result (misuse of the ABI) is the caller's
    /// fault or ours, never the client's: it is answered as `internal`.
    pub(crate) fn to_core(&self) -> jwtgate::Error {
        let kind = self.result.core_kind().unwrap_or(ErrorKind::Internal);
        jwtgate::Error::new(kind, self.message.to_string_lossy())
    }

    fn from_panic(payload: Box<dyn Any + Send>) -> jwtgate_error {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_string());
        jwtgate_error::new(
            jwtgate_result::JWTGATE_INTERNAL,
            format!("panic in jwtgate (please report it): {detail}"),
        )
    }
}

impl From<jwtgate::Error> for jwtgate_error {
    fn from(e: jwtgate::Error) -> jwtgate_error {
        jwtgate_error::with_status(
            jwtgate_result::from_kind(e.kind()),
            e.kind().http_status(),
            e.message(),
        )
    }
}

/// Runs `body` behind a panic boundary (unwinding into C is undefined behaviour) and turns
/// its outcome into a result; on failure the error goes to `*err` when `err` is not NULL.
pub(crate) fn call(
    err: *mut *mut jwtgate_error,
    body: impl FnOnce() -> Result<(), jwtgate_error>,
) -> jwtgate_result {
    let outcome =
        catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(jwtgate_error::from_panic(p)));
    match outcome {
        Ok(()) => jwtgate_result::JWTGATE_OK,
        Err(e) => {
            let result = e.result;
            if !err.is_null() {
                // SAFETY: `err` is not NULL and, by the API contract, points to writable
                // storage for one pointer.
                unsafe { *err = Box::into_raw(Box::new(e)) };
            }
            result
        }
    }
}

/// A panic boundary for functions that cannot report failure (getters, frees): a panic
/// yields `fallback`.
pub(crate) fn call_infallible<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Why a `(ptr, len)` argument was refused.
pub(crate) enum BadText {
    Null,
    TooLong,
    NotUtf8,
}

/// Borrows a `(ptr, len)` input as bytes.
///
/// # Safety
/// When `ptr` is not NULL it must point to `len` readable bytes that stay unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], BadText> {
    if ptr.is_null() {
        return Err(BadText::Null);
    }
    if len > isize::MAX as usize {
        return Err(BadText::TooLong);
    }
    // SAFETY: not NULL, length within isize::MAX, readability is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows a `(ptr, len)` input as `&str`.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, BadText> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes(ptr, len) }?;
    std::str::from_utf8(bytes).map_err(|_| BadText::NotUtf8)
}

impl BadText {
    /// The usual mapping of a refusal to an error; `not_utf8` decides what bad UTF-8 means
    /// for this argument (a malformed token, an invalid configuration, ...).
    pub(crate) fn error(self, what: &str, len: usize, not_utf8: jwtgate_result) -> jwtgate_error {
        match self {
            BadText::Null => jwtgate_error::null(what),
            BadText::TooLong => jwtgate_error::new(
                jwtgate_result::JWTGATE_INVALID_ARGUMENT,
                format!("{what}: length {len} is larger than any object"),
            ),
            BadText::NotUtf8 => jwtgate_error::new(not_utf8, format!("{what} is not valid UTF-8")),
        }
    }
}

/// [`text`] with the usual mapping of refusals to errors ([`BadText::error`]).
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn text_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
    not_utf8: jwtgate_result,
) -> Result<&'a str, jwtgate_error> {
    // SAFETY: forwarded contract.
    unsafe { text(ptr, len) }.map_err(|e| e.error(what, len, not_utf8))
}

/// An optional `(ptr, len)` text input: a length of 0 means "none", whatever `ptr` is (NULL
/// included); otherwise as [`text_arg`], bad UTF-8 being `JWTGATE_INVALID_ARGUMENT`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<Option<&'a str>, jwtgate_error> {
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { text_arg(ptr, len, what, jwtgate_result::JWTGATE_INVALID_ARGUMENT) }.map(Some)
}

/// Checks that an out-parameter is not NULL.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<(), jwtgate_error> {
    if ptr.is_null() {
        Err(jwtgate_error::null(what))
    } else {
        Ok(())
    }
}

/// Hands an owned string to C (released with `jwtgate_string_free`).
pub(crate) fn owned_c_string(text: String) -> *mut c_char {
    // Stats, metrics and health text never contain NUL; if one ever did, an empty string is
    // safer than a truncated one that parses.
    CString::new(text).unwrap_or_default().into_raw()
}

// ---- the C functions on errors ----

/// The stable snake_case kind of `err` (e.g. "expired"), or "" when `err` is NULL.
/// The string is static: it stays valid after `jwtgate_error_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_kind(err: *const jwtgate_error) -> *const c_char {
    call_infallible(c"".as_ptr(), || {
        // SAFETY: NULL or a live error created by this library (API contract).
        match unsafe { err.as_ref() } {
            Some(e) => e.kind_cstr().as_ptr(),
            None => c"".as_ptr(),
        }
    })
}

/// The stable numeric code of `err` (the `jwtgate_result` the call returned), or 0 when
/// `err` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_code(err: *const jwtgate_error) -> u32 {
    call_infallible(0, || {
        // SAFETY: NULL or a live error created by this library (API contract).
        unsafe { err.as_ref() }.map_or(0, |e| e.result() as u32)
    })
}

/// The HTTP status a resource server should answer for `err` (400, 401, 403, 503 or 500), or
/// 0 when `err` is NULL. The whole answer (challenge, body): `jwtgate_http_answer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_http_status(err: *const jwtgate_error) -> u16 {
    call_infallible(0, || {
        // SAFETY: NULL or a live error created by this library (API contract).
        unsafe { err.as_ref() }.map_or(0, |e| e.http_status)
    })
}

/// The human-readable message of `err`, NUL-terminated UTF-8, borrowed from `err`: valid
/// until `jwtgate_error_free(err)`. "" when `err` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_message(err: *const jwtgate_error) -> *const c_char {
    call_infallible(c"".as_ptr(), || {
        // SAFETY: NULL or a live error created by this library (API contract).
        match unsafe { err.as_ref() } {
            Some(e) => e.message_cstr().as_ptr(),
            None => c"".as_ptr(),
        }
    })
}

/// Releases an error. NULL is accepted and ignored; releasing twice is forbidden.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_free(err: *mut jwtgate_error) {
    call_infallible((), || {
        if !err.is_null() {
            // SAFETY: created by Box::into_raw in `call`, not freed before (API contract).
            drop(unsafe { Box::from_raw(err) });
        }
    })
}

/// The stable snake_case name of a result code ("ok", "expired", ...), static; "" for a
/// value that is not a jwtgate_result.
#[unsafe(no_mangle)]
pub extern "C" fn jwtgate_result_name(result: u32) -> *const c_char {
    call_infallible(c"".as_ptr(), || {
        jwtgate_result::from_code(result).map_or(c"".as_ptr(), |r| r.name().as_ptr())
    })
}

/// Creates an error of the core kind whose code is `code`, with `message` (UTF-8, `len`
/// bytes; `len` 0 for none): for a server that refuses a request for a reason of its own (its
/// deadline for a key fetch passed: `JWTGATE_KEYS_NOT_LOADED`) and answers it with
/// `jwtgate_http_answer`. On success `*out` receives the error (release it with
/// `jwtgate_error_free`). A code that is not a core kind (`JWTGATE_OK`, the C-only results,
/// an unallocated number) or a message that is not UTF-8 is `JWTGATE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_new(
    code: u32,
    message: *const u8,
    len: usize,
    out: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        out_ptr(out, "out")?;
        let kind = jwtgate_result::from_code(code)
            .and_then(jwtgate_result::core_kind)
            .ok_or_else(|| {
                jwtgate_error::new(
                    jwtgate_result::JWTGATE_INVALID_ARGUMENT,
                    format!("{code} is not the code of an error kind"),
                )
            })?;
        // SAFETY: readable bytes are the caller's contract.
        let message = unsafe { optional_text_arg(message, len, "message") }?.unwrap_or("");
        let error = jwtgate_error::from(jwtgate::Error::new(kind, message));
        // SAFETY: `out` is not NULL and points to writable storage (API contract).
        unsafe { *out = Box::into_raw(Box::new(error)) };
        Ok(())
    })
}

/// The core's error table, the one every face builds its error types from, as a JSON array
/// in code order: one object per kind with `kind`, `code`, `status` (the HTTP status),
/// `class` (the error class every face raises: "malformed", "signature", ...),
/// `oauth_error` (RFC 6750 §3.1 code, null for `missing_token`), `client_description`
/// (what a client is told in place of the message, null when the message is safe to send),
/// `token_fault` (RFC 6750 `invalid_token` family) and `unavailable` (retrying later may
/// succeed). The C-only results (`JWTGATE_NULL_PARAMETER`, `JWTGATE_INVALID_ARGUMENT`) are
/// not kinds and are not listed. `*out` is NUL-terminated UTF-8 owned by the caller: release
/// it with `jwtgate_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_kinds_json(out: *mut *mut c_char) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        out_ptr(out, "out")?;
        let table: Vec<serde_json::Value> = ErrorKind::ALL
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kind": k.as_str(),
                    "code": k.code(),
                    "status": k.http_status(),
                    "class": k.class(),
                    "oauth_error": k.oauth_error(),
                    "client_description": k.client_description(),
                    "token_fault": k.is_token_fault(),
                    "unavailable": k.is_unavailable(),
                })
            })
            .collect();
        let json = serde_json::Value::Array(table).to_string();
        // SAFETY: `out` is not NULL and points to writable storage (API contract).
        unsafe { *out = owned_c_string(json) };
        Ok(())
    })
}

/// Releases a string this library returned as `char *` (stats, metrics, health, HTTP
/// answers, the error table). NULL is accepted and ignored. Never pass such a string to
/// free(3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_string_free(s: *mut c_char) {
    call_infallible((), || {
        if !s.is_null() {
            // SAFETY: created by CString::into_raw in `owned_c_string`, not freed before.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
