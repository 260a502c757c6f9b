//! The core's HTTP edge (`jwtgate::edge`) for `jwtgate.fastapi`: reading the bearer token of
//! an `Authorization` value and answering a refusal. The FastAPI glue keeps only what is
//! Starlette's (HTTPException, the ASGI scope, `request.state`); every rule about the header
//! and the answer is the core's, the same in every face.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyString};

use crate::errors::to_pyerr;

/// An `Authorization` value as text: ASGI's `bytes` (borrowed, no copy) or a `str`. Decoding
/// is lossy on purpose: RFC 6750's `b64token` is ASCII, so a byte outside ASCII makes the
/// value `invalid_request` (or not Bearer at all) whatever it decodes to, and the answer never
/// quotes the value.
pub(crate) fn header_text<'a>(
    value: Option<&'a Bound<'_, PyAny>>,
) -> PyResult<Option<Cow<'a, str>>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Ok(bytes) = value.cast::<PyBytes>() {
        let bytes = bytes.as_bytes();
        // `from_utf8` first: `from_utf8_lossy` walks byte by byte, 3x slower on a valid value.
        return Ok(Some(match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        }));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Some(Cow::Owned(text.to_string_lossy().into_owned())));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "authorization must be bytes, str or None, not {}",
        value.get_type().name()?
    )))
}

/// The token of a bearer `Authorization` value (RFC 6750 §2.1); `None` when the request
/// carries no bearer credentials (no value, or another scheme: RFC 6750 §3.1). A value that
/// names the Bearer scheme but is not one `b64token` raises `MalformedTokenError`
/// (`invalid_request`, 400).
#[pyfunction]
pub(crate) fn bearer_token(
    py: Python<'_>,
    authorization: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<String>> {
    let header = header_text(authorization)?;
    token_of(py, header.as_deref()).map(|token| token.map(str::to_owned))
}

/// [`jwtgate::edge::bearer_token`] with "no bearer credentials" as `None` rather than an
/// error: optional authentication takes it as an answer, and it costs no exception.
pub(crate) fn token_of<'a>(py: Python<'_>, header: Option<&'a str>) -> PyResult<Option<&'a str>> {
    match jwtgate::edge::bearer_token(header) {
        Ok(token) => Ok(Some(token)),
        Err(e) if e.kind() == jwtgate::ErrorKind::MissingToken => Ok(None),
        Err(e) => Err(to_pyerr(py, e)),
    }
}

/// The answer to a refusal of kind `kind` (an error's `.kind`; `"missing_token"` for a
/// request without credentials): `(status, WWW-Authenticate value or None, JSON body)`, from
/// [`jwtgate::edge::answer`]. `scopes` are the route's required scopes (a 403's `scope`).
#[pyfunction]
pub(crate) fn edge_answer(
    kind: &str,
    message: &str,
    realm: Option<&str>,
    scopes: Vec<PyBackedStr>,
) -> (u16, Option<String>, String) {
    // Only a hand-made JwtGateError can carry a kind the core does not know.
    let kind = jwtgate::ErrorKind::from_name(kind).unwrap_or(jwtgate::ErrorKind::Internal);
    let scopes: Vec<&str> = scopes.iter().map(|s| &**s).collect();
    let answer = jwtgate::edge::answer(&jwtgate::Error::new(kind, message), realm, &scopes);
    (answer.status, answer.challenge, answer.body)
}
