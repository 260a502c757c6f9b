//! What a successful validation returns. The claims sit behind one `Arc`, so a cache hit hands
//! out the same allocation every time instead of rebuilding anything.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

/// The verified claims of a token, with the JSON text they were decoded from (faces that
/// hand JSON across a language border reuse it as-is).
///
/// Memory: a cached token keeps only its JSON text and the few claims the engine itself reads
/// (`sub`, `jti`, `iat`, the scopes). The parsed JSON object is built on first use of
/// [`Claims::as_map`] / [`Claims::get`] and then kept. Measured with 1M cached ~700-byte tokens
/// (`benches/src/bin/memory.rs`): keeping the parsed object for every entry cost ~3.7 KB per
/// token, most of it the map's small allocations.
#[derive(Debug)]
pub struct Claims {
    id: u64,
    payload_json: Box<str>,
    header_json: Box<str>,
    sub: Option<Box<str>>,
    jti: Option<Box<str>>,
    iat: Option<f64>,
    scopes: Box<[Box<str>]>,
    payload: OnceLock<Map<String, Value>>,
}

impl Claims {
    /// `payload` is the parsed form of `payload_json` (already strictly parsed by the caller);
    /// it is used to extract the engine's fields, then dropped.
    pub(crate) fn new(
        payload: &Map<String, Value>,
        payload_json: String,
        header_json: String,
    ) -> Claims {
        // Ids start at 1 and are never reused (u64 does not wrap in practice).
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let text = |name: &str| payload.get(name).and_then(Value::as_str).map(Box::from);
        Claims {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            payload_json: payload_json.into_boxed_str(),
            header_json: header_json.into_boxed_str(),
            sub: text("sub"),
            jti: text("jti"),
            iat: crate::claims::numeric_date(payload, "iat").ok().flatten(),
            scopes: granted_scopes(payload).into_iter().map(Box::from).collect(),
            payload: OnceLock::new(),
        }
    }

    /// A process-unique number for this set of claims. A result-cache hit hands out the same
    /// `Claims` (so the same id); a fresh validation gets a new one. Faces key their converted
    /// copy by it (the Node face keeps a frozen JS object per id): converting on every hit
    /// costs more than the hit itself (measured in bindings-node/README.md).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The claims as a JSON object (parsed from [`Claims::json`] on first use, then kept).
    pub fn as_map(&self) -> &Map<String, Value> {
        self.payload.get_or_init(|| {
            // The text passed the strict parser when the token was validated: this cannot fail.
            crate::json::parse_object(self.payload_json.as_bytes()).unwrap_or_default()
        })
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().get(name)
    }

    /// The payload exactly as the token carried it (valid JSON, unique member names).
    pub fn json(&self) -> &str {
        &self.payload_json
    }

    /// The protected header as JSON text (empty object for introspected tokens).
    pub fn header_json(&self) -> &str {
        &self.header_json
    }

    /// A string claim the engine keeps outside the parsed object (`sub`, `jti`): read without
    /// building it. `None` for any other name, and when the claim is absent or not a string.
    /// The faces read these first: materializing the object for a `sub` read would cost a
    /// second parse per fresh token and ~3.7 KB per cached one (see above).
    pub fn kept_str(&self, name: &str) -> Option<&str> {
        match name {
            "sub" => self.subject(),
            "jti" => self.jti(),
            _ => None,
        }
    }

    /// A string claim: [`Claims::kept_str`], else from the parsed object ([`Claims::get`]).
    /// `None` when the claim is absent or not a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.kept_str(name)
            .or_else(|| self.get(name).and_then(Value::as_str))
    }

    pub fn subject(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// `iat` as Unix seconds, when present and a valid NumericDate.
    pub fn issued_at(&self) -> Option<f64> {
        self.iat
    }

    /// Granted scopes: `scope` as a space-separated string (RFC 8693 §4.2, RFC 9068 §2.2.3) or
    /// `scp` as an array of strings or one string (Azure AD, Okta).
    pub fn scopes(&self) -> Vec<&str> {
        self.scopes.iter().map(AsRef::as_ref).collect()
    }

    /// RFC 6750 §3.1 `insufficient_scope` unless every scope in `required` was granted.
    pub fn require_scopes<S: AsRef<str>>(&self, required: &[S]) -> Result<()> {
        let granted = self.scopes();
        let missing: Vec<&str> = required
            .iter()
            .map(AsRef::as_ref)
            .filter(|r| !granted.contains(r))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InsufficientScope,
                format!("missing scope: {}", missing.join(" ")),
            ))
        }
    }
}

fn granted_scopes(payload: &Map<String, Value>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    if let Some(Value::String(s)) = payload.get("scope") {
        out.extend(s.split(' ').filter(|p| !p.is_empty()));
    }
    match payload.get("scp") {
        Some(Value::Array(list)) => out.extend(list.iter().filter_map(Value::as_str)),
        Some(Value::String(s)) => out.extend(s.split(' ').filter(|p| !p.is_empty())),
        _ => {}
    }
    out
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The result cache: no signature was checked for this call.
    Cache,
    /// Signature and claims were checked locally just now.
    Local,
    /// The provider's introspection endpoint answered just now (RFC 7662).
    Introspection,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Local => "local",
            Source::Introspection => "introspection",
        }
    }
}

/// A successfully validated token.
#[derive(Debug, Clone)]
pub struct Validated {
    pub(crate) claims: Arc<Claims>,
    pub(crate) source: Source,
    pub(crate) expires_at: Option<f64>,
    /// Confirmed by introspection (counted separately on cache hits).
    pub(crate) introspected: bool,
}

impl Validated {
    pub fn claims(&self) -> &Arc<Claims> {
        &self.claims
    }

    pub fn source(&self) -> Source {
        self.source
    }

    /// `exp` as Unix seconds, when the token has one.
    pub fn expires_at(&self) -> Option<f64> {
        self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claims_gets_its_own_id() {
        let a = Claims::new(&Map::new(), "{}".into(), "{}".into());
        let b = Claims::new(&Map::new(), "{}".into(), "{}".into());
        assert!(a.id() > 0);
        assert_ne!(a.id(), b.id());
    }

    fn claims_of(json: &str) -> Claims {
        let map = crate::json::parse_object(json.as_bytes()).unwrap();
        Claims::new(&map, json.into(), "{}".into())
    }

    #[test]
    fn sub_and_jti_are_read_without_building_the_object() {
        let c = claims_of(r#"{"sub":"alice","jti":"j-1","iss":"https://id","n":1}"#);
        assert_eq!(c.kept_str("sub"), Some("alice"));
        assert_eq!(c.get_str("jti"), Some("j-1"));
        assert_eq!(c.kept_str("iss"), None, "only what the engine keeps");
        assert!(c.payload.get().is_none(), "no parse for sub/jti");
        assert_eq!(c.get_str("iss"), Some("https://id"));
        assert!(c.payload.get().is_some(), "other names parse once");
    }

    #[test]
    fn a_claim_that_is_not_a_string_has_no_string() {
        let c = claims_of(r#"{"sub":42,"n":1}"#);
        assert_eq!(c.kept_str("sub"), None);
        assert_eq!(c.get_str("sub"), None);
        assert_eq!(c.get_str("n"), None);
        assert_eq!(c.get_str("absent"), None);
        assert_eq!(c.get("sub"), Some(&Value::from(42)));
    }
}
