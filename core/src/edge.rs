//! The HTTP edge: how a resource server reads a bearer token and answers a refusal
//! (RFC 6750). Every face's framework glue (FastAPI, Express, Go net/http, the C helper)
//! calls these, so one request gets one answer in every language: the same status, the same
//! `WWW-Authenticate` challenge, the same JSON body. `tests/vectors/http.json` holds the faces
//! to it.

use std::fmt::Write as _;

use crate::error::{Error, ErrorKind, Result};
use crate::token::is_b64token;

/// Longest `error_description` (and realm or scope value) put in a challenge or a body. The
/// engine's messages are far shorter; the bound keeps a hostile value from growing headers.
pub const MAX_DESCRIPTION: usize = 200;

/// The bearer token of a request, from its `Authorization` header value (`None`: no header).
///
/// RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`, the scheme compared
/// case-insensitively (RFC 9110 §11.1) and the value trimmed of surrounding whitespace as
/// HTTP parsers do (RFC 9110 §5.5).
/// - no header, an empty one, or another scheme (`Basic ...`): `missing_token` (RFC 6750 §3.1:
///   "no authentication information", answered with a bare challenge);
/// - `Bearer` with nothing after it, more than one value, or characters outside `b64token`:
///   `invalid_request` (400);
/// - otherwise the token, which validation then judges.
pub fn bearer_token(header: Option<&str>) -> Result<&str> {
    let value = header.unwrap_or("").trim_matches([' ', '\t']);
    let (scheme, credentials) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::new(
            ErrorKind::MissingToken,
            "the request carries no bearer token",
        ));
    }
    let token = credentials.trim_start_matches([' ', '\t']);
    if token.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "the Bearer credentials are empty",
        ));
    }
    if !is_b64token(token) {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "the Bearer credentials are not one RFC 6750 b64token",
        ));
    }
    Ok(token)
}

/// The answer to a refused request: what every HTTP integration sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `WWW-Authenticate` value (400, 401 and 403 only; RFC 6750 §3).
    pub challenge: Option<String>,
    /// `{"error": ..., "error_description": ..., "kind": ...}` as JSON text.
    pub body: String,
}

/// Builds the answer to `error`.
///
/// - `realm`: the `realm` parameter, when the application sets one;
/// - `scopes`: the scopes the route requires, sent in the `scope` parameter of a 403
///   (RFC 6750 §3).
///
/// The description is the error's message for token faults (it never contains the token and
/// quotes at most 32 bytes of attacker text) and the kind's fixed
/// [`ErrorKind::client_description`] otherwise (CWE-209: the message of an unreachable
/// provider names its URL and the OS error; it is for the log, not for the client). A request
/// without credentials gets a bare challenge, with no error code and no description
/// (RFC 6750 §3.1).
pub fn answer(error: &Error, realm: Option<&str>, scopes: &[&str]) -> Answer {
    let kind = error.kind();
    let status = kind.http_status();
    let code = kind.oauth_error();
    let description =
        code.map(|_| bounded(kind.client_description().unwrap_or_else(|| error.message())));
    let scope =
        (kind == ErrorKind::InsufficientScope && !scopes.is_empty()).then(|| scopes.join(" "));
    let challenge = matches!(status, 400 | 401 | 403).then(|| {
        let mut params: Vec<String> = Vec::new();
        if let Some(realm) = realm {
            params.push(format!("realm=\"{}\"", quoted(realm)));
        }
        if let Some(code) = code {
            params.push(format!("error=\"{code}\""));
        }
        if let Some(d) = &description {
            params.push(format!("error_description=\"{}\"", quoted(d)));
        }
        if let Some(scope) = &scope {
            params.push(format!("scope=\"{}\"", quoted(scope)));
        }
        if params.is_empty() {
            "Bearer".to_string()
        } else {
            format!("Bearer {}", params.join(", "))
        }
    });
    let mut body = String::with_capacity(128);
    body.push_str("{\"error\":");
    push_json_string(&mut body, code.unwrap_or("unauthorized"));
    if let Some(d) = &description {
        body.push_str(",\"error_description\":");
        push_json_string(&mut body, d);
    }
    body.push_str(",\"kind\":");
    push_json_string(&mut body, kind.as_str());
    body.push('}');
    Answer {
        status,
        challenge,
        body,
    }
}

/// `text` cut to [`MAX_DESCRIPTION`] bytes on a character boundary.
fn bounded(text: &str) -> String {
    crate::token::truncate_to(text, MAX_DESCRIPTION)
}

/// RFC 6750 §3 / RFC 9110 §5.6.4: a quoted-string parameter of the Bearer challenge may hold
/// `%x20-21 / %x23-5B / %x5D-7E` only; anything else (`"`, `\`, control characters,
/// non-ASCII) becomes `?`, one per character, so nothing can end the string early or split
/// the header.
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '?',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(header: Option<&str>) -> ErrorKind {
        bearer_token(header).unwrap_err().kind()
    }

    #[test]
    fn reads_the_bearer_token() {
        assert_eq!(
            bearer_token(Some("Bearer abc.def-_~+/==")),
            Ok("abc.def-_~+/==")
        );
        assert_eq!(bearer_token(Some("bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("BEARER  abc ")), Ok("abc"));
        assert_eq!(bearer_token(Some("\tBearer\tabc")), Ok("abc"));
        assert_eq!(kind(None), ErrorKind::MissingToken);
        assert_eq!(kind(Some("")), ErrorKind::MissingToken);
        assert_eq!(kind(Some("Basic dXNlcjpwYXNz")), ErrorKind::MissingToken);
        assert_eq!(kind(Some("Bearerabc")), ErrorKind::MissingToken);
        assert_eq!(kind(Some("Bearer")), ErrorKind::InvalidRequest);
        assert_eq!(kind(Some("Bearer ")), ErrorKind::InvalidRequest);
        assert_eq!(kind(Some("Bearer abc$")), ErrorKind::InvalidRequest);
        assert_eq!(kind(Some("Bearer a b")), ErrorKind::InvalidRequest);
        assert_eq!(kind(Some("Bearer a=b")), ErrorKind::InvalidRequest);
        assert_eq!(kind(Some("Bearer \u{e9}")), ErrorKind::InvalidRequest);
    }

    #[test]
    fn answers_follow_rfc_6750() {
        let missing = answer(&Error::new(ErrorKind::MissingToken, "x"), None, &[]);
        assert_eq!(missing.status, 401);
        assert_eq!(missing.challenge.as_deref(), Some("Bearer"));
        assert_eq!(
            missing.body,
            r#"{"error":"unauthorized","kind":"missing_token"}"#
        );

        let expired = answer(
            &Error::new(ErrorKind::Expired, "token has expired"),
            Some("api"),
            &[],
        );
        assert_eq!(expired.status, 401);
        assert_eq!(
            expired.challenge.as_deref(),
            Some(
                r#"Bearer realm="api", error="invalid_token", error_description="token has expired""#
            )
        );

        let scope = answer(
            &Error::new(ErrorKind::InsufficientScope, "missing scope: write"),
            None,
            &["read", "write"],
        );
        assert_eq!(scope.status, 403);
        assert!(
            scope
                .challenge
                .as_deref()
                .unwrap()
                .ends_with(r#"scope="read write""#)
        );

        let down = answer(
            &Error::new(
                ErrorKind::JwksUnavailable,
                "http://10.0.0.1/jwks: connection failed (os error 111)",
            ),
            None,
            &[],
        );
        assert_eq!(down.status, 503);
        assert_eq!(down.challenge, None);
        assert!(!down.body.contains("10.0.0.1"), "{}", down.body);
        assert!(down.body.contains("temporarily_unavailable"));

        let bad = answer(
            &Error::new(
                ErrorKind::InvalidRequest,
                "the Bearer credentials are empty",
            ),
            None,
            &[],
        );
        assert_eq!(bad.status, 400);
        assert!(
            bad.challenge
                .unwrap()
                .contains(r#"error="invalid_request""#)
        );
    }

    #[test]
    fn quoted_values_cannot_break_the_header() {
        let hostile = format!("a\"b\\c\r\nd\u{e9}{}", "x".repeat(500));
        let a = answer(
            &Error::new(ErrorKind::Malformed, hostile.clone()),
            Some("r\"e\nalm"),
            &[],
        );
        let challenge = a.challenge.unwrap();
        assert!(!challenge.contains('\r') && !challenge.contains('\n'));
        assert!(challenge.starts_with(
            r#"Bearer realm="r?e?alm", error="invalid_token", error_description="a?b?c??d?"#
        ));
        assert!(
            challenge.len() < MAX_DESCRIPTION + 100,
            "{}",
            challenge.len()
        );
        let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert!(body["error_description"].as_str().unwrap().len() <= MAX_DESCRIPTION + 3);
    }
}
