//! The HTTP edge (`jwtgate::edge`) for C servers: the bearer token of an `Authorization`
//! header, a whole header validated in one call, and the answer to a refusal (status,
//! `WWW-Authenticate` challenge, JSON body). The rules (RFC 6750) and the texts are the
//! core's, the same in every face; this module only converts arguments.

use std::borrow::Cow;
use std::ffi::c_char;

use jwtgate::{Validated, Validator, edge};

use crate::error::{bytes, call, jwtgate_error, optional_text_arg, out_ptr, owned_c_string};
use crate::result::jwtgate_result;
use crate::validator::{
    claims_out, jwtgate_claims, jwtgate_validator, optional_scope_list, validator,
};

/// An `Authorization` header value as the core reads it; `None` (NULL with length 0): the
/// request has no such header.
///
/// The bytes are the client's, so bytes that are not UTF-8 are no fault of the caller: they
/// are read lossily, and a replacement character is outside the `b64token` grammar
/// (`invalid_request` after `Bearer`, a missing token after another scheme). A value that
/// yields a token is ASCII up to the token's end, so offsets into it are offsets into the
/// caller's bytes.
///
/// # Safety
/// As `crate::error::text`.
unsafe fn header_arg<'a>(
    ptr: *const u8,
    len: usize,
) -> Result<Option<Cow<'a, str>>, jwtgate_error> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let b = unsafe { bytes(ptr, len) }
        .map_err(|e| e.error("header", len, jwtgate_result::JWTGATE_INVALID_ARGUMENT))?;
    // from_utf8 first: from_utf8_lossy checks byte by byte, ~30 times slower on a 1 KiB
    // header (measured: 0.03 against 0.9 µs), and this runs on every request.
    Ok(Some(match std::str::from_utf8(b) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(b),
    }))
}

/// Finds the bearer token in an `Authorization` header value (`header`, `header_len` bytes;
/// NULL with length 0 when the request has no such header), without copying: on success the
/// token is the `*token_len` bytes at `header + *offset`.
///
/// RFC 6750 §2.1: the scheme is compared case-insensitively and surrounding blanks are
/// ignored. No header, an empty one or another scheme (`Basic ...`) is
/// `JWTGATE_MISSING_TOKEN` (answer 401 with a bare challenge); `Bearer` with nothing after it,
/// several values or characters outside `b64token` (bytes that are not UTF-8 included) is
/// `JWTGATE_INVALID_REQUEST` (answer 400). `jwtgate_http_answer` builds either answer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_http_bearer_token(
    header: *const u8,
    header_len: usize,
    offset: *mut usize,
    token_len: *mut usize,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        out_ptr(offset, "offset")?;
        out_ptr(token_len, "token_len")?;
        // SAFETY: readable bytes are the caller's contract.
        let value = unsafe { header_arg(header, header_len) }?;
        let token = edge::bearer_token(value.as_deref())?;
        // The token is a subslice of `value`, which holds the caller's bytes (see header_arg).
        let start = value
            .as_deref()
            .map_or(0, |v| token.as_ptr() as usize - v.as_ptr() as usize);
        // SAFETY: both not NULL and writable (API contract).
        unsafe {
            *offset = start;
            *token_len = token.len();
        }
        Ok(())
    })
}

/// Shared body of the two functions that validate a header.
#[allow(clippy::too_many_arguments)]
fn authorize(
    v: *const jwtgate_validator,
    header: *const u8,
    header_len: usize,
    scopes: *const u8,
    scopes_len: usize,
    out: *mut *mut jwtgate_claims,
    err: *mut *mut jwtgate_error,
    how: fn(&Validator, &str) -> jwtgate::Result<Validated>,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        out_ptr(out, "out")?;
        // SAFETY: readable bytes are the caller's contract.
        let required = unsafe { optional_scope_list(scopes, scopes_len) }?;
        // SAFETY: as above.
        let value = unsafe { header_arg(header, header_len) }?;
        let validated = how(v, edge::bearer_token(value.as_deref())?)?;
        validated.claims().require_scopes(&required)?;
        claims_out(validated, out);
        Ok(())
    })
}

/// A request's `Authorization` header value checked in one call: the bearer token found as
/// `jwtgate_http_bearer_token` finds it, validated as `jwtgate_validate` validates it, then the
/// `scopes` the route requires (space-separated UTF-8, `scopes_len` bytes; length 0 for none,
/// `scopes` then may be NULL) checked as `jwtgate_claims_require_scopes` checks them.
///
/// On success `*out` receives the claims (release with `jwtgate_claims_free`). On failure the
/// result is the first problem found (`JWTGATE_MISSING_TOKEN`, `JWTGATE_INVALID_REQUEST`, a
/// token fault, `JWTGATE_INSUFFICIENT_SCOPE`, ...): pass the error to `jwtgate_http_answer`
/// for the response. Blocks while keys are fetched, as `jwtgate_validate` does.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validate_authorization(
    v: *const jwtgate_validator,
    header: *const u8,
    header_len: usize,
    scopes: *const u8,
    scopes_len: usize,
    out: *mut *mut jwtgate_claims,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    authorize(
        v,
        header,
        header_len,
        scopes,
        scopes_len,
        out,
        err,
        Validator::validate_blocking,
    )
}

/// As `jwtgate_validate_authorization`, but never does network I/O, as
/// `jwtgate_validate_local`: `JWTGATE_KEYS_NOT_LOADED` where keys would have to be fetched.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_validate_authorization_local(
    v: *const jwtgate_validator,
    header: *const u8,
    header_len: usize,
    scopes: *const u8,
    scopes_len: usize,
    out: *mut *mut jwtgate_claims,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    authorize(
        v,
        header,
        header_len,
        scopes,
        scopes_len,
        out,
        err,
        Validator::validate_local,
    )
}

/// The HTTP answer to a refused request, the same in every jwtgate face: `error` is what a
/// call returned; `realm` (UTF-8, `realm_len` bytes; length 0 for none) is sent in the
/// challenge; `scopes` (space-separated, as for `jwtgate_validate_authorization`; length 0
/// for none) are the route's required scopes, sent with a 403 (RFC 6750 §3).
///
/// On success `*status` receives the status (400, 401, 403, 503 or 500), `*challenge` the
/// `WWW-Authenticate` value (400, 401 and 403 only; NULL otherwise) and `*body` the JSON body
/// (`{"error": ..., "error_description": ..., "kind": ...}`, to send as `application/json`);
/// both strings are owned by the caller: release them with `jwtgate_string_free`.
///
/// The description is the error's message for token faults (it never contains the token and
/// quotes at most a few bytes of the client's input) and a fixed text otherwise: the message of
/// an unreachable provider names its URL and the OS error, for the log only (CWE-209). Quoted
/// values are escaped and bounded (RFC 9110 §5.6.4). A request without credentials gets a
/// bare challenge (RFC 6750 §3.1). An error of the C face itself (`JWTGATE_NULL_PARAMETER`,
/// `JWTGATE_INVALID_ARGUMENT`) is answered as `internal` (500). A `realm` or `scopes` that is
/// not UTF-8 is `JWTGATE_INVALID_ARGUMENT`.
#[allow(clippy::too_many_arguments)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_http_answer(
    error: *const jwtgate_error,
    realm: *const u8,
    realm_len: usize,
    scopes: *const u8,
    scopes_len: usize,
    status: *mut u16,
    challenge: *mut *mut c_char,
    body: *mut *mut c_char,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: NULL or a live error created by this library (API contract).
        let error = unsafe { error.as_ref() }.ok_or_else(|| jwtgate_error::null("error"))?;
        out_ptr(status, "status")?;
        out_ptr(challenge, "challenge")?;
        out_ptr(body, "body")?;
        // SAFETY: readable bytes are the caller's contract.
        let realm = unsafe { optional_text_arg(realm, realm_len, "realm") }?;
        // SAFETY: as above.
        let required = unsafe { optional_scope_list(scopes, scopes_len) }?;
        let answer = edge::answer(&error.to_core(), realm, &required);
        // SAFETY: the three are not NULL and writable (API contract).
        unsafe {
            *status = answer.status;
            *challenge = answer
                .challenge
                .map_or(std::ptr::null_mut(), owned_c_string);
            *body = owned_c_string(answer.body);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;
    use std::ptr;

    use super::*;
    use crate::error::{jwtgate_error_code, jwtgate_string_free};
    use crate::error::{jwtgate_error_free, jwtgate_error_kind, jwtgate_error_new};
    use crate::jwtgate_result::*;

    fn token_of(header: &[u8]) -> Result<&[u8], (jwtgate_result, String)> {
        let (mut offset, mut len) = (usize::MAX, usize::MAX);
        let mut e = ptr::null_mut();
        // SAFETY: live locals; `e` is read and freed only on failure.
        unsafe {
            let r = jwtgate_http_bearer_token(
                header.as_ptr(),
                header.len(),
                &mut offset,
                &mut len,
                &mut e,
            );
            if r != JWTGATE_OK {
                assert_eq!(
                    (offset, len),
                    (usize::MAX, usize::MAX),
                    "outs written on failure"
                );
                let kind = CStr::from_ptr(jwtgate_error_kind(e))
                    .to_str()
                    .unwrap()
                    .to_string();
                jwtgate_error_free(e);
                return Err((r, kind));
            }
        }
        assert!(e.is_null(), "err written on success");
        Ok(&header[offset..offset + len])
    }

    #[test]
    fn the_token_is_found_in_the_callers_bytes() {
        assert_eq!(
            token_of(b" bEaReR \t abc.def-_~+/== \t"),
            Ok(&b"abc.def-_~+/=="[..])
        );
        assert_eq!(
            token_of(b"Basic dXNlcjpwYXNz").unwrap_err().0,
            JWTGATE_MISSING_TOKEN
        );
        assert_eq!(token_of(b"").unwrap_err().0, JWTGATE_MISSING_TOKEN);
        assert_eq!(
            token_of(b"Bearer a b").unwrap_err().0,
            JWTGATE_INVALID_REQUEST
        );
        // Client bytes that are not UTF-8 are the client's fault, never a 500.
        assert_eq!(
            token_of(b"Bearer ab\xff").unwrap_err(),
            (JWTGATE_INVALID_REQUEST, "invalid_request".into())
        );
        assert_eq!(
            token_of(b"B\xffsic ab").unwrap_err().0,
            JWTGATE_MISSING_TOKEN
        );
        // SAFETY: NULL with length 0 is "no header"; NULL with a length is refused.
        unsafe {
            let (mut o, mut n) = (0, 0);
            let r = jwtgate_http_bearer_token(ptr::null(), 0, &mut o, &mut n, ptr::null_mut());
            assert_eq!(r, JWTGATE_MISSING_TOKEN);
            let r = jwtgate_http_bearer_token(ptr::null(), 3, &mut o, &mut n, ptr::null_mut());
            assert_eq!(r, JWTGATE_NULL_PARAMETER);
        }
    }

    fn cstring(p: *mut c_char) -> Option<String> {
        // SAFETY: NULL or a string this library returned; freed here.
        unsafe {
            let s = (!p.is_null()).then(|| CStr::from_ptr(p).to_str().unwrap().to_string());
            jwtgate_string_free(p);
            s
        }
    }

    #[test]
    fn answers_are_the_cores() {
        // SAFETY: every pointer passed is NULL, a live handle or a live local.
        unsafe {
            let mut e = ptr::null_mut();
            let message = "missing scope: admin";
            let r = jwtgate_error_new(1400, message.as_ptr(), message.len(), &mut e);
            assert_eq!(r, JWTGATE_OK);
            assert_eq!(jwtgate_error_code(e), 1400);
            let (mut status, mut challenge, mut body) = (0u16, ptr::null_mut(), ptr::null_mut());
            let scopes = "read  admin";
            let r = jwtgate_http_answer(
                e,
                c"api".as_ptr().cast(),
                3,
                scopes.as_ptr(),
                scopes.len(),
                &mut status,
                &mut challenge,
                &mut body,
                ptr::null_mut(),
            );
            assert_eq!(r, JWTGATE_OK);
            let want = edge::answer(
                &jwtgate::Error::new(jwtgate::ErrorKind::InsufficientScope, message),
                Some("api"),
                &["read", "admin"],
            );
            assert_eq!(status, want.status);
            assert_eq!(cstring(challenge), want.challenge);
            assert_eq!(cstring(body), Some(want.body));

            // Misuse: nothing written, the problem named.
            let (mut status, mut challenge, mut body) = (7u16, ptr::null_mut(), ptr::null_mut());
            let bad = [0xffu8];
            let r = jwtgate_http_answer(
                e,
                bad.as_ptr(),
                1,
                ptr::null(),
                0,
                &mut status,
                &mut challenge,
                &mut body,
                ptr::null_mut(),
            );
            assert_eq!(r, JWTGATE_INVALID_ARGUMENT);
            let r = jwtgate_http_answer(
                ptr::null(),
                ptr::null(),
                0,
                ptr::null(),
                0,
                &mut status,
                &mut challenge,
                &mut body,
                ptr::null_mut(),
            );
            assert_eq!(r, JWTGATE_NULL_PARAMETER);
            assert!(status == 7 && challenge.is_null() && body.is_null());
            jwtgate_error_free(e);

            // An error of the C face itself is answered as internal, without its message.
            let mut e = ptr::null_mut();
            let r = jwtgate_error_new(2, ptr::null(), 0, &mut e);
            assert_eq!(r, JWTGATE_INVALID_ARGUMENT);
            assert!(e.is_null());
            let r = crate::validator::jwtgate_validate(
                ptr::null(),
                c"x".as_ptr().cast(),
                1,
                &mut ptr::null_mut(),
                &mut e,
            );
            assert_eq!(r, JWTGATE_NULL_PARAMETER);
            let r = jwtgate_http_answer(
                e,
                ptr::null(),
                0,
                ptr::null(),
                0,
                &mut status,
                &mut challenge,
                &mut body,
                ptr::null_mut(),
            );
            assert_eq!((r, status), (JWTGATE_OK, 500));
            assert!(challenge.is_null());
            let body = cstring(body).unwrap();
            assert!(
                body.contains(r#""kind":"internal""#) && !body.contains("NULL"),
                "{body}"
            );
            jwtgate_error_free(e);
        }
    }
}
