//! Registered-claim checks (RFC 7519 §4.1, RFC 9068 §4, RFC 8725 §3.8–3.11). They run after the
//! signature verifies, on a payload parsed by the strict JSON reader.

use serde_json::{Map, Value};

use crate::config::{Settings, normalize_media_type};
use crate::error::{Error, ErrorKind, Result};

/// Latest NumericDate accepted: 9999-12-31T23:59:59Z. Anything later (i64::MAX, 1e300) is not
/// a date a real issuer writes; refusing it keeps time arithmetic far from overflow.
pub(crate) const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// The time claims of a token that passed, needed to bound how long it may be cached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TimeBounds {
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
}

/// Checks the header's `typ` and every registered claim against the policy at time `now`.
pub(crate) fn check(
    payload: &Map<String, Value>,
    typ: Option<&str>,
    s: &Settings,
    now: f64,
) -> Result<TimeBounds> {
    // RFC 8725 §3.11 / RFC 9068 §4: explicit typing keeps an ID token (or any other JWT the
    // same issuer signs) from being accepted as an access token.
    if let Some(expected) = &s.token_type {
        match typ {
            Some(t) if normalize_media_type(t) == *expected => {}
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::TokenTypeMismatch,
                    format!("typ is not {expected}"),
                ));
            }
            None => {
                return Err(Error::new(
                    ErrorKind::TokenTypeMismatch,
                    format!("typ is missing; {expected} is required"),
                ));
            }
        }
    }
    // RFC 7519 §4.1.1 / RFC 8725 §3.8: the issuer is compared exactly, no normalisation.
    match payload.get("iss") {
        Some(Value::String(iss)) if *iss == s.issuer => {}
        Some(Value::String(_)) => {
            return Err(Error::new(
                ErrorKind::IssuerMismatch,
                "iss is not the configured issuer",
            ));
        }
        Some(_) => return Err(Error::new(ErrorKind::InvalidClaim, "iss is not a string")),
        None => return Err(missing("iss")),
    }
    if let Some(audiences) = &s.audiences {
        check_audience(payload.get("aud"), audiences)?;
    }
    let exp = numeric_date(payload, "exp")?;
    let nbf = numeric_date(payload, "nbf")?;
    let iat = numeric_date(payload, "iat")?;
    match exp {
        // RFC 7519 §4.1.4: the token must not be accepted on or after exp.
        Some(exp) if now >= exp + s.leeway => {
            return Err(Error::new(ErrorKind::Expired, "token has expired"));
        }
        Some(_) => {}
        None if s.require_exp => return Err(missing("exp")),
        None => {}
    }
    // RFC 7519 §4.1.5: not before nbf.
    if let Some(nbf) = nbf {
        if now + s.leeway < nbf {
            return Err(Error::new(
                ErrorKind::NotYetValid,
                "token is not valid yet (nbf)",
            ));
        }
    }
    if let Some(iat) = iat {
        if iat > now + s.leeway {
            return Err(Error::new(
                ErrorKind::IssuedInFuture,
                "iat is in the future",
            ));
        }
    }
    if let Some(max_age) = s.max_token_age {
        let iat = iat.ok_or_else(|| missing("iat"))?;
        if now - iat > max_age + s.leeway {
            return Err(Error::new(
                ErrorKind::TokenTooOld,
                "token is older than max_token_age",
            ));
        }
    }
    for name in &s.required_claims {
        if !payload.contains_key(name) {
            return Err(missing(name));
        }
    }
    Ok(TimeBounds { exp, nbf, iat })
}

/// Checks an RFC 7662 introspection answer with the JWT rules, for the members it has
/// (§2.2: `exp`, `iss`, `aud`, ... are all optional there). `token_type` and `require_exp`
/// are JWT rules and do not apply; `required_claims` does.
pub(crate) fn check_introspected(
    answer: &Map<String, Value>,
    s: &Settings,
    now: f64,
) -> Result<TimeBounds> {
    match answer.get("iss") {
        None => {}
        Some(Value::String(iss)) if *iss == s.issuer => {}
        Some(Value::String(_)) => {
            return Err(Error::new(
                ErrorKind::IssuerMismatch,
                "iss is not the configured issuer",
            ));
        }
        Some(_) => return Err(Error::new(ErrorKind::InvalidClaim, "iss is not a string")),
    }
    if let (Some(audiences), Some(aud)) = (&s.audiences, answer.get("aud")) {
        check_audience(Some(aud), audiences)?;
    }
    let exp = numeric_date(answer, "exp")?;
    let nbf = numeric_date(answer, "nbf")?;
    let iat = numeric_date(answer, "iat")?;
    if exp.is_some_and(|exp| now >= exp + s.leeway) {
        return Err(Error::new(ErrorKind::Expired, "token has expired"));
    }
    if nbf.is_some_and(|nbf| now + s.leeway < nbf) {
        return Err(Error::new(
            ErrorKind::NotYetValid,
            "token is not valid yet (nbf)",
        ));
    }
    for name in &s.required_claims {
        if !answer.contains_key(name) {
            return Err(missing(name));
        }
    }
    Ok(TimeBounds { exp, nbf, iat })
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of strings; it matches when one of its
/// values equals one of ours exactly (no prefix or case folding: RFC 8725 §3.9).
fn check_audience(aud: Option<&Value>, audiences: &[String]) -> Result<()> {
    let matches = |v: &str| audiences.iter().any(|a| a == v);
    match aud {
        None => Err(missing("aud")),
        Some(Value::String(a)) if matches(a) => Ok(()),
        Some(Value::String(_)) => Err(Error::new(
            ErrorKind::AudienceMismatch,
            "aud does not name this API",
        )),
        Some(Value::Array(list)) => {
            if list.iter().any(|v| !v.is_string()) {
                return Err(Error::new(
                    ErrorKind::InvalidClaim,
                    "aud has a non-string entry",
                ));
            }
            if list.iter().filter_map(Value::as_str).any(matches) {
                Ok(())
            } else {
                Err(Error::new(
                    ErrorKind::AudienceMismatch,
                    "aud does not name this API",
                ))
            }
        }
        Some(_) => Err(Error::new(
            ErrorKind::InvalidClaim,
            "aud is neither a string nor an array of strings",
        )),
    }
}

/// RFC 7519 §2: a NumericDate is a JSON number of seconds (fractions allowed). Strings, null,
/// negative or absurdly large values are refused.
pub(crate) fn numeric_date(payload: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && (0.0..=MAX_NUMERIC_DATE).contains(&v) => Ok(Some(v)),
            _ => Err(Error::new(
                ErrorKind::InvalidClaim,
                format!("{name} is not a plausible NumericDate"),
            )),
        },
        Some(_) => Err(Error::new(
            ErrorKind::InvalidClaim,
            format!("{name} is not a NumericDate (RFC 7519 §2)"),
        )),
    }
}

fn missing(name: &str) -> Error {
    Error::new(
        ErrorKind::MissingClaim,
        format!(
            "required claim {:?} is missing",
            crate::token::truncate(name)
        ),
    )
}
