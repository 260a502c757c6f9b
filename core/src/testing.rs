//! Test hooks: thin entry points into the verification path the [`Validator`] uses, for
//! external test vectors (Wycheproof) whose payloads are not JWT claim sets. Not a public
//! API. Key import, parsing, key selection and verification are the validator's own
//! functions; only the configuration defaults (allowlist, `shared_secret` length) and the
//! answer for a non-JWS token without introspection are restated here, and the claims step
//! is skipped.
//!
//! [`Validator`]: crate::Validator

use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Family};
use crate::token;
use crate::validator::{hmac_keys, static_keys, verify_hmac, verify_with};

/// Verifies `signature` over `message` with one JWK, as a validator whose static `jwks` holds
/// only that key and whose `algorithms` is just `[alg]` would: the key goes through the JWKS
/// import (a key jwtgate refuses is a `config` error), is selected by its `kid` (if any) and
/// `alg`, and verifies with its pre-parsed aws-lc key.
pub fn verify_with_jwk(jwk: &Value, alg: &str, message: &[u8], signature: &[u8]) -> Result<()> {
    // As `Config::validate` answers for an `algorithms` entry it does not know.
    let alg = Algorithm::from_name(alg).ok_or_else(|| {
        Error::config(
            "algorithms",
            format!("unsupported algorithm {:?}", token::truncate(alg)),
        )
    })?;
    let keys = static_keys(&serde_json::json!({ "keys": [jwk] }), &[alg])?;
    let kid = jwk.get("kid").and_then(Value::as_str);
    keys.select(kid, alg)?
        .0
        .verify_sig(message, signature)
        .map_err(|_| Error::new(ErrorKind::SignatureInvalid, "signature does not verify"))
}

/// Verifies a compact JWS as a validator with the default `algorithms` would, given a static
/// `jwks` (`Value::Null`: none) and/or a `shared_secret`, and no introspection: size limit,
/// strict parsing, `alg` allowlist, key selection, signature, and the strict base64url
/// decoding of the payload. Only the claims step (payload as a JSON object, `exp`, `iss`, ...)
/// is left out.
///
/// `shared_secret` is taken as bytes (the configuration takes UTF-8 text); its rules are the
/// configuration's: at least 32 bytes, and HS384/HS512 only with a secret at least as long as
/// their hash output (RFC 7518 §3.2).
pub fn verify_compact_jws(jwks: &Value, shared_secret: Option<&[u8]>, jws: &str) -> Result<()> {
    let has_jwks = !jwks.is_null();
    if let Some(secret) = shared_secret {
        if secret.len() < 32 {
            return Err(Error::config(
                "shared_secret",
                "must be at least 32 bytes (RFC 7518 §3.2)",
            ));
        }
    }
    if !has_jwks && shared_secret.is_none() {
        return Err(Error::config(
            "jwks",
            "the hook needs a jwks or a shared_secret",
        ));
    }
    // The default allowlist of `Config::validate`: every asymmetric algorithm when there is a
    // key source, HS* when the secret is long enough.
    let algorithms: Vec<Algorithm> = Algorithm::ALL
        .iter()
        .copied()
        .filter(|a| match a.hmac_min_key_len() {
            None => has_jwks,
            Some(min) => shared_secret.is_some_and(|s| s.len() >= min),
        })
        .collect();
    let keys = if has_jwks {
        Some(static_keys(jwks, &algorithms)?)
    } else {
        None
    };
    let hmac = shared_secret.map_or_else(Vec::new, |s| hmac_keys(s, &algorithms));

    let max_token_bytes = Config::default().max_token_bytes;
    let Some(parsed) = token::parse(jws, max_token_bytes, &algorithms)? else {
        // Not a JWS at all: what the validator answers for it without introspection.
        return Err(if token::is_b64token(jws) {
            Error::new(
                ErrorKind::UnsupportedToken,
                "not a JWT, and no introspection is configured (client_id)",
            )
        } else {
            Error::malformed("neither a compact JWS nor an RFC 6750 bearer token")
        });
    };
    match (parsed.alg.family(), &keys) {
        (Family::Hmac, _) => verify_hmac(&hmac, &parsed)?,
        (_, Some(keys)) => {
            verify_with(keys, &parsed)?;
        }
        (_, None) => {
            return Err(Error::new(
                ErrorKind::KeyNotFound,
                "no public keys are configured",
            ));
        }
    }
    // The payload was decoded by `token::parse`; the JSON and claims checks that follow in
    // `Validator::accept` are skipped.
    Ok(())
}

/// An RFC 7662 introspection answer (HTTP `status` and `body`) judged as the validator judges
/// it: only a JSON `true` is active, then the answer's claims are checked against the policy
/// of `config` (its first issuer) at time `now`. `Ok` carries the answer's members. For
/// fuzzing the answer parser and the "what active proves" rules without a server.
pub fn judge_introspection(
    config: &Config,
    status: u16,
    body: &[u8],
    now: f64,
) -> Result<serde_json::Map<String, Value>> {
    let settings = config.validate_all()?;
    let answer = crate::introspect::judge(status, body)?;
    crate::claims::check_introspected(&answer, &settings[0], now)?;
    Ok((*answer).clone())
}
