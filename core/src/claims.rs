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
    if s.token_type.is_none() && s.access_tokens_only {
        refuse_other_jwt_profiles(payload, typ)?;
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
    check_revocable_ids(payload)?;
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
    check_age(iat, s, now)?;
    for name in &s.required_claims {
        if !payload.contains_key(name) {
            return Err(missing(name));
        }
    }
    Ok(TimeBounds { exp, nbf, iat })
}

/// RFC 7519 §4.1.2 (`sub` is a StringOrURI) and §4.1.7 (`jti` is a case-sensitive string), and
/// RFC 7662 §2.2 for an introspection answer: revocation by subject or by `jti` matches strings,
/// so a number there would make the token impossible to revoke. Found by the differential check
/// (`tests/differential`): the peer accepts both.
fn check_revocable_ids(claims: &Map<String, Value>) -> Result<()> {
    for name in ["sub", "jti"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Err(Error::new(
                ErrorKind::InvalidClaim,
                format!("{name} is not a string (RFC 7519 §4.1)"),
            ));
        }
    }
    Ok(())
}

/// Claims that only tokens other than access tokens carry: ID tokens (`nonce`, `at_hash`,
/// `c_hash`: OpenID Connect Core §2, §3.1.3.6, §3.3.2.11) and security event / logout tokens
/// (`events`: RFC 8417 §2.2, OIDC Back-Channel Logout §2.4).
const NOT_ACCESS_TOKEN_CLAIMS: [&str; 4] = ["nonce", "at_hash", "c_hash", "events"];

/// Keycloak's payload `typ` for tokens that are not access tokens (its access tokens say
/// `Bearer`).
const NOT_ACCESS_TOKEN_PAYLOAD_TYPES: [&str; 5] =
    ["id", "refresh", "offline", "logout", "serialized-id"];

/// RFC 8725 §3.11 and RFC 9068 §4, when no `token_type` is configured (most providers issue
/// access tokens with `typ: JWT`, so `at+jwt` cannot be the default): refuse what is certainly
/// not an access token. An ID token whose `aud` names the API would otherwise pass every
/// other check (its signature, issuer and audience are all genuine).
fn refuse_other_jwt_profiles(payload: &Map<String, Value>, typ: Option<&str>) -> Result<()> {
    let mismatch = |why: &str| {
        Err(Error::new(
            ErrorKind::TokenTypeMismatch,
            format!(
                "not an access token: {why} (RFC 8725 §3.11; set access_tokens_only to false to accept it)"
            ),
        ))
    };
    // `logout+jwt`, `secevent+jwt`, `id_token+jwt`, `dpop+jwt`, ...: an explicitly typed JWT
    // of another profile. `JWT`, `at+jwt` and other media types pass.
    if let Some(t) = typ {
        let t = normalize_media_type(t);
        if t.ends_with("+jwt") && t != "at+jwt" {
            return mismatch("typ names another JWT profile");
        }
    }
    if let Some(name) = NOT_ACCESS_TOKEN_CLAIMS
        .iter()
        .find(|name| payload.contains_key(**name))
    {
        return mismatch(match *name {
            "events" => "it carries events (a logout or security event token)",
            _ => "it carries ID-token claims (nonce, at_hash or c_hash)",
        });
    }
    if let Some(Value::String(t)) = payload.get("typ") {
        if NOT_ACCESS_TOKEN_PAYLOAD_TYPES
            .iter()
            .any(|other| t.eq_ignore_ascii_case(other))
        {
            return mismatch("its payload typ names an ID, refresh or logout token");
        }
    }
    Ok(())
}

/// RFC 7662 §2.2 `token_type` values that name an access token presented as a bearer token
/// (RFC 6750; Hydra says `access_token`, Keycloak and oidc-provider `Bearer`). A refresh token
/// (RFC 6749 §1.5, §10.4) or a sender-constrained token (`DPoP`, RFC 9449 §7.1: we check no
/// proof) is refused.
const ACCESS_TOKEN_TYPES: [&str; 3] = [
    "bearer",
    "access_token",
    "urn:ietf:params:oauth:token-type:access_token",
];

/// Checks an RFC 7662 introspection answer with the JWT rules. §2.2 makes every member but
/// `active` optional, so what "active" proves is decided here:
/// - `token_type`, when present, must name an access token (see [`ACCESS_TOKEN_TYPES`]);
/// - with audience verification on, `aud` must be present and name us: an answer without
///   `aud` does not say the token was issued for this API;
/// - `iss` when present is compared exactly; `exp`/`nbf`/`iat` as on the JWT path;
/// - `max_token_age` needs `iat`, and `required_claims` apply, as on the JWT path.
///
/// The header `token_type` option (`at+jwt`) and `require_exp` are JWT rules and do not apply.
pub(crate) fn check_introspected(
    answer: &Map<String, Value>,
    s: &Settings,
    now: f64,
) -> Result<TimeBounds> {
    match answer.get("token_type") {
        None => {}
        Some(Value::String(t)) if ACCESS_TOKEN_TYPES.iter().any(|a| t.eq_ignore_ascii_case(a)) => {}
        Some(Value::String(_)) => {
            return Err(Error::new(
                ErrorKind::TokenTypeMismatch,
                "the introspected token is not a bearer access token (RFC 7662 §2.2, RFC 6749 §1.5)",
            ));
        }
        Some(_) => {
            return Err(Error::new(
                ErrorKind::InvalidClaim,
                "token_type is not a string",
            ));
        }
    }
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
    if let Some(audiences) = &s.audiences {
        check_audience(answer.get("aud"), audiences)?;
    }
    check_revocable_ids(answer)?;
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
    check_age(iat, s, now)?;
    for name in &s.required_claims {
        if !answer.contains_key(name) {
            return Err(missing(name));
        }
    }
    Ok(TimeBounds { exp, nbf, iat })
}

/// `iat` not in the future, and no older than `max_token_age` (which then requires `iat`).
fn check_age(iat: Option<f64>, s: &Settings, now: f64) -> Result<()> {
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
    Ok(())
}

impl TimeBounds {
    /// The last instant (Unix seconds) a cached result of this token may be served: `exp` and
    /// the end of `max_token_age`, each with the leeway the checks allow. The cache caps it by
    /// `cache_max_ttl` too. A hit re-checks nothing but this bound and `nbf`, so every time
    /// rule must end the entry here.
    pub(crate) fn cache_until(&self, s: &Settings) -> f64 {
        let by_exp = self.exp.map_or(f64::INFINITY, |exp| exp + s.leeway);
        let by_age = match (s.max_token_age, self.iat) {
            (Some(max_age), Some(iat)) => iat + max_age + s.leeway,
            _ => f64::INFINITY,
        };
        by_exp.min(by_age)
    }
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
