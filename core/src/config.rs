//! The canonical configuration, shared by every face (see `docs/config.md`).
//!
//! [`Config`] is what users write (snake_case JSON names; the Node face maps them to
//! camelCase, nothing else changes). [`Config::validate`] turns it into [`Settings`]:
//! typed, range-checked values. Every problem is an [`ErrorKind::Config`] error whose
//! message starts with the field's name.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::keys::Algorithm;

/// `audience`: one string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The user-facing configuration. Durations are in seconds (fractions allowed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Required. Compared to `iss` as an exact string (RFC 7519 §4.1.1); also the base URL
    /// for discovery when neither `jwks` nor `jwks_uri` is given.
    pub issuer: String,
    /// The audiences this API accepts; `aud` must contain one of them exactly.
    pub audience: Option<Audience>,
    /// Set to `false` to accept tokens for any audience (needs no `audience`). Default `true`.
    pub verify_audience: bool,
    /// A static JWKS document (object or JSON text): no network at all.
    pub jwks: Option<serde_json::Value>,
    /// Where to fetch the JWKS. Without `jwks` and `jwks_uri`, discovery from `issuer` is used.
    pub jwks_uri: Option<String>,
    /// Secret for HS256/384/512 tokens, as UTF-8 bytes (RFC 7518 §3.2: at least as long as
    /// the hash output). HMAC keys are never taken from a JWKS.
    pub shared_secret: Option<String>,
    /// Allowed `alg` values, matched exactly (RFC 8725 §3.1). Default: every asymmetric
    /// algorithm jwtgate implements, plus HS256/384/512 when `shared_secret` is long enough.
    pub algorithms: Option<Vec<String>>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default 30 s, at most 300 s.
    pub leeway: f64,
    /// Required `typ` header, compared as a media type (case-insensitive, `application/`
    /// optional), e.g. `at+jwt` for RFC 9068 access tokens. Default: not checked.
    pub token_type: Option<String>,
    /// Without `token_type`, refuse what is certainly not an access token (RFC 8725 §3.11):
    /// a `typ` of another JWT profile (`logout+jwt`, `secevent+jwt`, `id_token+jwt`, ...),
    /// ID-token or event claims (`nonce`, `at_hash`, `c_hash`, `events`), a Keycloak payload
    /// `typ` of `ID`, `Refresh`, `Offline` or `Logout`. Default `true`.
    pub access_tokens_only: bool,
    /// `exp` must be present (RFC 7519 §4.1.4). Default `true`.
    pub require_exp: bool,
    /// Claims that must be present, besides `iss`, `exp` and `aud` which are checked anyway.
    pub required_claims: Vec<String>,
    /// Reject tokens whose `iat` is older than this. Default: no limit.
    pub max_token_age: Option<f64>,
    /// Longer tokens are refused before any parsing. Default 16384.
    pub max_token_bytes: usize,
    /// Most validated tokens remembered. Default 100000; 0 turns the result cache off.
    pub cache_max_entries: usize,
    /// Longest a validated token is remembered (never past its `exp`). Default 300 s.
    pub cache_max_ttl: f64,
    /// JWKS lifetime when the response has no `Cache-Control: max-age`. Default 600 s.
    pub jwks_ttl: f64,
    /// `max-age` is clamped to `[jwks_min_ttl, jwks_max_ttl]`. Defaults 60 s and 3600 s: a key
    /// the provider withdraws stops validating within an hour, whatever its `max-age` says.
    pub jwks_min_ttl: f64,
    pub jwks_max_ttl: f64,
    /// Limits the refreshes that unknown kids cause: the first unknown `kid` after a fetch that
    /// an unknown kid did not cause refreshes at once; further unknown kids within this long of
    /// that refresh fail fast with `key_not_found`. After a failed fetch, every fetch waits this
    /// long (backoff). Default 30 s.
    pub jwks_refresh_cooldown: f64,
    /// How long past their lifetime cached keys are still used while the JWKS cannot be
    /// fetched. Default 21600 s (6 h).
    pub jwks_max_stale: f64,
    /// Total time for one HTTP fetch (connect, headers, body). Default 5 s.
    pub fetch_timeout: f64,
    /// Allow `http://` URLs for non-loopback hosts. Default `false`: https only, except
    /// loopback addresses (127.0.0.0/8, ::1, localhost) for development and tests.
    pub allow_http: bool,
    /// Which tokens go where: `auto` (JWTs locally, opaque tokens to introspection), `local`
    /// (JWTs only) or `introspect` (every token introspected as well). Default `auto`.
    pub mode: Mode,
    /// RFC 7662 endpoint. Default: the provider metadata's `introspection_endpoint`.
    pub introspection_endpoint: Option<String>,
    /// Client credentials for introspection (RFC 7662 §2.1 requires the caller to
    /// authenticate). Introspection is enabled when `client_id` is set.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `client_secret_basic` (default) or `client_secret_post` (RFC 6749 §2.3.1).
    pub client_auth: ClientAuth,
    /// Longest an active introspection result is remembered (never past its `exp`).
    /// Default 60 s.
    pub introspection_cache_ttl: f64,
    /// Remember `active: false` answers this long, to shield the provider from floods of
    /// garbage tokens. Default 0 (off): a token revoked and re-issued is never refused late.
    pub introspection_negative_ttl: f64,
    /// Introspection calls per second this validator may make (a token bucket holding one
    /// second's worth). Beyond it a new opaque token fails fast with `provider_unavailable`;
    /// cached results keep validating. Default 100; 0 means unlimited.
    pub introspection_rate_limit: f64,
    /// Retries after a connect error, timeout, 5xx or 429. Default 2.
    pub fetch_retries: u32,
    /// First backoff (doubled each retry, full jitter; `Retry-After` wins). Default 0.1 s.
    pub fetch_retry_backoff: f64,
    /// Total time for one fetch including retries. Default 10 s.
    pub fetch_deadline: f64,
    /// Consecutive failed fetches that open an endpoint's circuit. Default 5; 0 disables.
    pub breaker_threshold: u32,
    /// Several issuers in one validator (exclusive with `issuer`): each entry holds one
    /// issuer's policy and key source; the other options here apply to all of them. A JWS is
    /// routed by its `iss` and verified with that issuer's keys only.
    pub issuers: Option<Vec<IssuerConfig>>,
    /// How long an open circuit fails fast before one probe is let through. Default 30 s.
    pub breaker_cooldown: f64,
    /// Fleet mode: `redis://` or `rediss://` (TLS) URL of one Redis, with user and password
    /// if any. Instances that share it share introspection results, key sets and
    /// revocations (docs/fleet.md). Exclusive with `redis_cluster_urls`. Default: none (each
    /// instance alone, nothing to install).
    pub redis_url: Option<String>,
    /// Fleet mode on a Redis Cluster: seed node URLs (`redis://` or `rediss://`).
    pub redis_cluster_urls: Option<Vec<String>>,
    /// Prefix of every Redis key and channel jwtgate uses. Default `jwtgate:`.
    pub redis_prefix: String,
    /// Seconds per Redis command; a slower command counts as a failure and the instance goes
    /// on alone. Default 0.05.
    pub redis_timeout: f64,
    /// Required with Redis: at least 32 bytes, the same on every instance. Keys every Redis
    /// key (an HMAC of the token, never the token) and authenticates every value jwtgate
    /// writes, so that whoever can write to Redis cannot make an instance accept a token.
    pub fleet_secret: Option<String>,
}

/// One issuer of a many-issuer configuration (`issuers`). The names and meanings are those of
/// the top-level options; options with a default (`verify_audience`, `access_tokens_only`,
/// `require_exp`, `client_auth`, the introspection TTLs and rate limit) default to the
/// top-level value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerConfig {
    pub issuer: String,
    pub audience: Option<Audience>,
    pub verify_audience: Option<bool>,
    pub token_type: Option<String>,
    pub access_tokens_only: Option<bool>,
    pub require_exp: Option<bool>,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub shared_secret: Option<String>,
    pub algorithms: Option<Vec<String>>,
    pub required_claims: Option<Vec<String>>,
    pub max_token_age: Option<f64>,
    pub introspection_endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_auth: Option<ClientAuth>,
    pub introspection_cache_ttl: Option<f64>,
    pub introspection_negative_ttl: Option<f64>,
    pub introspection_rate_limit: Option<f64>,
}

/// Where tokens are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Auto,
    Local,
    Introspect,
}

/// How the introspection client authenticates (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    /// No client authentication, for endpoints that take none (Hydra's admin port). RFC 7662
    /// §2.1 requires the caller to authenticate: use it only where the endpoint is protected
    /// otherwise (a private network).
    None,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: String::new(),
            audience: None,
            verify_audience: true,
            jwks: None,
            jwks_uri: None,
            shared_secret: None,
            algorithms: None,
            leeway: 30.0,
            token_type: None,
            access_tokens_only: true,
            require_exp: true,
            required_claims: Vec::new(),
            max_token_age: None,
            max_token_bytes: 16 * 1024,
            cache_max_entries: 100_000,
            cache_max_ttl: 300.0,
            jwks_ttl: 600.0,
            jwks_min_ttl: 60.0,
            jwks_max_ttl: 3_600.0,
            jwks_refresh_cooldown: 30.0,
            jwks_max_stale: 21_600.0,
            fetch_timeout: 5.0,
            allow_http: false,
            mode: Mode::Auto,
            introspection_endpoint: None,
            client_id: None,
            client_secret: None,
            client_auth: ClientAuth::ClientSecretBasic,
            introspection_cache_ttl: 60.0,
            introspection_negative_ttl: 0.0,
            introspection_rate_limit: 100.0,
            fetch_retries: 2,
            fetch_retry_backoff: 0.1,
            fetch_deadline: 10.0,
            breaker_threshold: 5,
            breaker_cooldown: 30.0,
            issuers: None,
            redis_url: None,
            redis_cluster_urls: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_string(),
            redis_timeout: 0.05,
            fleet_secret: None,
        }
    }
}

/// Hard cap on `leeway`: more than five minutes of skew hides real clock faults and
/// keeps expired tokens alive.
pub const MAX_LEEWAY_SECS: f64 = 300.0;
/// Upper bound for any duration setting (ten years): keeps arithmetic far from overflow.
const MAX_DURATION_SECS: f64 = 315_360_000.0;
/// Bounds on `max_token_bytes`: below 64 nothing real fits; above 1 MiB is a DoS risk.
const TOKEN_BYTES_RANGE: (usize, usize) = (64, 1 << 20);

/// Where verification keys come from.
#[derive(Debug, Clone)]
pub(crate) enum KeySourceSetting {
    /// A static JWKS document (already parsed JSON).
    Static(serde_json::Value),
    /// A JWKS URL given directly.
    Uri(reqwest::Url),
    /// Discovery from the issuer (OpenID Connect Discovery, then RFC 8414).
    Discovery,
    /// No asymmetric keys: HMAC with `shared_secret` only.
    None,
}

/// Validated, typed settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub issuer: String,
    pub audiences: Option<Vec<String>>,
    pub key_source: KeySourceSetting,
    pub shared_secret: Option<Vec<u8>>,
    pub algorithms: Vec<Algorithm>,
    pub leeway: f64,
    pub token_type: Option<String>,
    pub access_tokens_only: bool,
    pub require_exp: bool,
    pub required_claims: Vec<String>,
    pub max_token_age: Option<f64>,
    pub max_token_bytes: usize,
    pub cache_max_entries: usize,
    pub cache_max_ttl: f64,
    pub jwks_ttl: Duration,
    pub jwks_min_ttl: Duration,
    pub jwks_max_ttl: Duration,
    pub jwks_refresh_cooldown: Duration,
    pub jwks_max_stale: Duration,
    pub fetch_timeout: Duration,
    pub allow_http: bool,
    pub mode: Mode,
    /// The issuer as a URL, when discovery is needed (keys or introspection endpoint).
    pub discovery_url: Option<reqwest::Url>,
    pub introspection: Option<IntrospectionSettings>,
    pub fetch_retries: u32,
    pub fetch_retry_backoff: Duration,
    pub fetch_deadline: Duration,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    /// Fleet mode (Redis): `None` when no Redis is configured.
    pub fleet: Option<FleetSettings>,
}

/// Where the fleet's shared state lives and how it is protected.
#[derive(Clone)]
pub(crate) struct FleetSettings {
    pub target: RedisTarget,
    pub prefix: String,
    pub timeout: Duration,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for FleetSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs may carry a password and the secret is one: neither is printed.
        f.debug_struct("FleetSettings")
            .field("target", &self.target.redacted())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One Redis or the seed nodes of a Redis Cluster.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum RedisTarget {
    Single(String),
    Cluster(Vec<String>),
}

impl RedisTarget {
    /// The URLs without user or password, for health and logs.
    pub(crate) fn redacted(&self) -> Vec<String> {
        let urls = match self {
            RedisTarget::Single(u) => std::slice::from_ref(u),
            RedisTarget::Cluster(list) => list.as_slice(),
        };
        urls.iter().map(|u| redact_redis_url(u)).collect()
    }
}

/// `redis://user:password@host:port/db` → `redis://host:port/db`.
pub(crate) fn redact_redis_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "(invalid URL)".to_string(),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct IntrospectionSettings {
    /// `None`: from the provider metadata.
    pub endpoint: Option<reqwest::Url>,
    pub client_id: String,
    pub client_secret: String,
    pub client_auth: ClientAuth,
    pub cache_ttl: f64,
    pub negative_ttl: f64,
    /// Calls per second; 0: unlimited.
    pub rate_limit: f64,
}

impl Settings {
    pub(crate) fn http_policy(&self) -> crate::http::Policy {
        crate::http::Policy {
            timeout: self.fetch_timeout,
            retries: self.fetch_retries,
            backoff: self.fetch_retry_backoff,
            deadline: self.fetch_deadline,
        }
    }

    pub(crate) fn breaker(&self, endpoint: &'static str) -> crate::http::Breaker {
        crate::http::Breaker::new(endpoint, self.breaker_threshold, self.breaker_cooldown)
    }
}

impl Config {
    /// Parses the canonical JSON form. Unknown fields are errors (a typo must not silently
    /// turn a check off).
    ///
    /// Messages never echo a secret-bearing field's value (serde would quote a numeric
    /// `client_secret` in "invalid type: integer `…`"; CWE-209), and other quoted values are
    /// bounded.
    pub fn from_json(text: &str) -> Result<Config> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            // Syntax errors name a position, never the text around it.
            Error::new(ErrorKind::Config, format!("invalid configuration: {e}"))
        })?;
        if let serde_json::Value::Object(map) = &doc {
            check_secret_types(map, "")?;
            if let Some(serde_json::Value::Array(entries)) = map.get("issuers") {
                for (i, entry) in entries.iter().enumerate() {
                    if let serde_json::Value::Object(entry) = entry {
                        check_secret_types(entry, &format!("issuers[{i}]."))?;
                        // A global option inside an entry: say so by name, not as serde's
                        // "unknown field".
                        if let Some(global) = entry.keys().find(|k| is_global_option(k)) {
                            return Err(Error::config(
                                &format!("issuers[{i}].{global}"),
                                "is a global option: set it at the top level, it applies to every issuer",
                            ));
                        }
                    }
                }
            }
        }
        serde_json::from_value(doc).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "invalid configuration: {}",
                    // Long enough for serde's "expected one of" list of every option name.
                    crate::token::truncate_to(&e.to_string(), 1500)
                ),
            )
        })
    }

    /// Checks every field and returns the typed settings of each issuer: one for a
    /// single-issuer configuration, one per entry of `issuers`.
    pub(crate) fn validate_all(&self) -> Result<Vec<Settings>> {
        let Some(entries) = &self.issuers else {
            return Ok(vec![self.validate()?]);
        };
        if !self.issuer.is_empty() {
            return Err(Error::config(
                "issuers",
                "give either issuer or issuers, not both",
            ));
        }
        if entries.is_empty() || entries.len() > MAX_ISSUERS {
            return Err(Error::config(
                "issuers",
                format!("must list between 1 and {MAX_ISSUERS} issuers"),
            ));
        }
        if let Some(field) = self.per_issuer_field_set() {
            return Err(Error::config(
                field,
                "belongs to one issuer: with issuers, set it in each entry",
            ));
        }
        let mut all: Vec<Settings> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let settings = self.for_issuer(entry).validate().map_err(|e| {
                Error::new(ErrorKind::Config, format!("issuers[{i}].{}", e.message()))
            })?;
            // RFC 7519 §4.1.1: `iss` is compared exactly, so two entries for one issuer would
            // make routing ambiguous.
            if all.iter().any(|s| s.issuer == settings.issuer) {
                return Err(Error::config(
                    &format!("issuers[{i}].issuer"),
                    "names an issuer listed before",
                ));
            }
            all.push(settings);
        }
        if all.iter().filter(|s| s.introspection.is_some()).count() > 1 {
            return Err(Error::config(
                "issuers",
                "introspection (client_id) is configured on more than one issuer: an opaque token names no issuer, so it could not be routed",
            ));
        }
        Ok(all)
    }

    /// The first top-level option that belongs to one issuer and is set.
    fn per_issuer_field_set(&self) -> Option<&'static str> {
        let set = [
            self.audience.is_some(),
            self.token_type.is_some(),
            self.jwks.is_some(),
            self.jwks_uri.is_some(),
            self.shared_secret.is_some(),
            self.algorithms.is_some(),
            !self.required_claims.is_empty(),
            self.max_token_age.is_some(),
            self.introspection_endpoint.is_some(),
            self.client_id.is_some(),
            self.client_secret.is_some(),
        ];
        PER_ISSUER_ONLY
            .iter()
            .zip(set)
            .find(|(_, set)| *set)
            .map(|(name, _)| *name)
    }

    /// The single-issuer configuration of one `issuers` entry: the global options from here,
    /// the issuer's own from the entry (its defaults from here).
    fn for_issuer(&self, e: &IssuerConfig) -> Config {
        Config {
            issuer: e.issuer.clone(),
            audience: e.audience.clone(),
            verify_audience: e.verify_audience.unwrap_or(self.verify_audience),
            token_type: e.token_type.clone(),
            access_tokens_only: e.access_tokens_only.unwrap_or(self.access_tokens_only),
            require_exp: e.require_exp.unwrap_or(self.require_exp),
            jwks: e.jwks.clone(),
            jwks_uri: e.jwks_uri.clone(),
            shared_secret: e.shared_secret.clone(),
            algorithms: e.algorithms.clone(),
            required_claims: e.required_claims.clone().unwrap_or_default(),
            max_token_age: e.max_token_age,
            introspection_endpoint: e.introspection_endpoint.clone(),
            client_id: e.client_id.clone(),
            client_secret: e.client_secret.clone(),
            client_auth: e.client_auth.unwrap_or(self.client_auth),
            introspection_cache_ttl: e
                .introspection_cache_ttl
                .unwrap_or(self.introspection_cache_ttl),
            introspection_negative_ttl: e
                .introspection_negative_ttl
                .unwrap_or(self.introspection_negative_ttl),
            introspection_rate_limit: e
                .introspection_rate_limit
                .unwrap_or(self.introspection_rate_limit),
            issuers: None,
            ..self.clone()
        }
    }

    /// Checks every field of a single-issuer configuration and returns typed settings.
    pub(crate) fn validate(&self) -> Result<Settings> {
        if self.issuer.is_empty() {
            return Err(Error::config("issuer", "is required"));
        }
        let audiences = match (&self.audience, self.verify_audience) {
            (Some(Audience::One(a)), _) => Some(vec![a.clone()]),
            (Some(Audience::Many(list)), _) => Some(list.clone()),
            (None, false) => None,
            (None, true) => {
                return Err(Error::config(
                    "audience",
                    "is required (set verify_audience to false to accept any audience)",
                ));
            }
        };
        if let Some(list) = &audiences {
            if list.is_empty() || list.iter().any(String::is_empty) {
                return Err(Error::config(
                    "audience",
                    "must be a non-empty string or a non-empty list of non-empty strings",
                ));
            }
        }
        let audiences = if self.verify_audience {
            audiences
        } else {
            None
        };

        let leeway = seconds("leeway", self.leeway)?;
        if leeway > MAX_LEEWAY_SECS {
            return Err(Error::config(
                "leeway",
                format!("must be at most {MAX_LEEWAY_SECS} seconds"),
            ));
        }
        let max_token_age = self
            .max_token_age
            .map(|v| seconds("max_token_age", v))
            .transpose()?;
        if !(TOKEN_BYTES_RANGE.0..=TOKEN_BYTES_RANGE.1).contains(&self.max_token_bytes) {
            return Err(Error::config(
                "max_token_bytes",
                format!(
                    "must be between {} and {}",
                    TOKEN_BYTES_RANGE.0, TOKEN_BYTES_RANGE.1
                ),
            ));
        }
        let shared_secret = self.shared_secret.as_ref().map(|s| s.as_bytes().to_vec());
        if let Some(secret) = &shared_secret {
            if secret.len() < 32 {
                return Err(Error::config(
                    "shared_secret",
                    "must be at least 32 bytes (RFC 7518 §3.2)",
                ));
            }
        }
        let key_source = self.key_source_setting()?;
        let algorithms = self.algorithms_setting(
            shared_secret.as_deref(),
            matches!(key_source, KeySourceSetting::None),
        )?;
        let token_type = match &self.token_type {
            Some(t) if t.trim().is_empty() => {
                return Err(Error::config("token_type", "must not be empty"));
            }
            Some(t) => Some(normalize_media_type(t)),
            None => None,
        };
        if self.required_claims.iter().any(String::is_empty) {
            return Err(Error::config(
                "required_claims",
                "must not contain empty names",
            ));
        }
        let jwks_min_ttl = duration("jwks_min_ttl", self.jwks_min_ttl)?;
        let jwks_max_ttl = duration("jwks_max_ttl", self.jwks_max_ttl)?;
        if jwks_min_ttl > jwks_max_ttl {
            return Err(Error::config(
                "jwks_min_ttl",
                "must not exceed jwks_max_ttl",
            ));
        }
        let fetch_timeout = duration("fetch_timeout", self.fetch_timeout)?;
        if fetch_timeout.is_zero() {
            return Err(Error::config("fetch_timeout", "must be positive"));
        }
        let fetch_deadline = duration("fetch_deadline", self.fetch_deadline)?;
        if fetch_deadline.is_zero() {
            return Err(Error::config("fetch_deadline", "must be positive"));
        }
        if self.fetch_retries > 10 {
            return Err(Error::config("fetch_retries", "must be at most 10"));
        }
        let introspection = self.introspection_setting()?;
        let needs_discovery = matches!(key_source, KeySourceSetting::Discovery)
            || introspection.as_ref().is_some_and(|i| i.endpoint.is_none());
        let discovery_url = if needs_discovery {
            Some(check_url("issuer", &self.issuer, self.allow_http)?)
        } else {
            None
        };
        Ok(Settings {
            issuer: self.issuer.clone(),
            audiences,
            key_source,
            shared_secret,
            algorithms,
            leeway,
            token_type,
            access_tokens_only: self.access_tokens_only,
            require_exp: self.require_exp,
            required_claims: self.required_claims.clone(),
            max_token_age,
            max_token_bytes: self.max_token_bytes,
            cache_max_entries: self.cache_max_entries,
            cache_max_ttl: seconds("cache_max_ttl", self.cache_max_ttl)?,
            jwks_ttl: duration("jwks_ttl", self.jwks_ttl)?,
            jwks_min_ttl,
            jwks_max_ttl,
            jwks_refresh_cooldown: duration("jwks_refresh_cooldown", self.jwks_refresh_cooldown)?,
            jwks_max_stale: duration("jwks_max_stale", self.jwks_max_stale)?,
            fetch_timeout,
            allow_http: self.allow_http,
            mode: self.mode,
            discovery_url,
            introspection,
            fetch_retries: self.fetch_retries,
            fetch_retry_backoff: duration("fetch_retry_backoff", self.fetch_retry_backoff)?,
            fetch_deadline,
            breaker_threshold: self.breaker_threshold,
            breaker_cooldown: duration("breaker_cooldown", self.breaker_cooldown)?,
            fleet: self.fleet_setting()?,
        })
    }

    /// The Redis options: all of them or none (a half-configured fleet must not silently run
    /// alone, and a `fleet_secret` with no Redis would be a setting that does nothing).
    fn fleet_setting(&self) -> Result<Option<FleetSettings>> {
        let target = match (&self.redis_url, &self.redis_cluster_urls) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "redis_url",
                    "give either redis_url or redis_cluster_urls, not both",
                ));
            }
            (Some(url), None) => RedisTarget::Single(check_redis_url("redis_url", url)?),
            (None, Some(urls)) => {
                if urls.is_empty() || urls.len() > MAX_REDIS_SEEDS {
                    return Err(Error::config(
                        "redis_cluster_urls",
                        format!("must list between 1 and {MAX_REDIS_SEEDS} seed nodes"),
                    ));
                }
                let mut checked = Vec::with_capacity(urls.len());
                for (i, url) in urls.iter().enumerate() {
                    checked.push(check_redis_url(&format!("redis_cluster_urls[{i}]"), url)?);
                }
                RedisTarget::Cluster(checked)
            }
            (None, None) => {
                if self.fleet_secret.is_some() {
                    return Err(Error::config(
                        "fleet_secret",
                        "is only used with redis_url or redis_cluster_urls",
                    ));
                }
                return Ok(None);
            }
        };
        let secret = match &self.fleet_secret {
            None => {
                return Err(Error::config(
                    "fleet_secret",
                    "is required with Redis: it keys and authenticates everything jwtgate writes there",
                ));
            }
            Some(s) if s.len() < 32 => {
                return Err(Error::config("fleet_secret", "must be at least 32 bytes"));
            }
            Some(s) => s.as_bytes().to_vec(),
        };
        if self.redis_prefix.is_empty()
            || self.redis_prefix.len() > 64
            || !self.redis_prefix.bytes().all(|b| b.is_ascii_graphic())
            || self.redis_prefix.contains(['{', '}'])
        {
            return Err(Error::config(
                "redis_prefix",
                "must be 1 to 64 printable ASCII characters, without spaces or braces",
            ));
        }
        let timeout = duration("redis_timeout", self.redis_timeout)?;
        if timeout.is_zero() || timeout > Duration::from_secs(10) {
            return Err(Error::config(
                "redis_timeout",
                "must be more than 0 and at most 10 seconds",
            ));
        }
        Ok(Some(FleetSettings {
            target,
            prefix: self.redis_prefix.clone(),
            timeout,
            secret,
        }))
    }

    fn introspection_setting(&self) -> Result<Option<IntrospectionSettings>> {
        let Some(client_id) = &self.client_id else {
            if self.mode == Mode::Introspect {
                return Err(Error::config(
                    "mode",
                    "introspect needs client_id and client_secret",
                ));
            }
            if self.introspection_endpoint.is_some() || self.client_secret.is_some() {
                return Err(Error::config(
                    "client_id",
                    "is required to use introspection (RFC 7662 §2.1)",
                ));
            }
            return Ok(None);
        };
        if self.mode == Mode::Local {
            return Err(Error::config(
                "mode",
                "local never introspects: remove client_id or use mode auto",
            ));
        }
        if client_id.is_empty() {
            return Err(Error::config("client_id", "must not be empty"));
        }
        let client_secret = match (&self.client_secret, self.client_auth) {
            (None, ClientAuth::None) => String::new(),
            (Some(_), ClientAuth::None) => {
                return Err(Error::config(
                    "client_secret",
                    "is never sent with client_auth none: remove it",
                ));
            }
            (Some(s), _) if !s.is_empty() => s.clone(),
            _ => return Err(Error::config("client_secret", "is required with client_id")),
        };
        let endpoint = self
            .introspection_endpoint
            .as_deref()
            .map(|e| check_url("introspection_endpoint", e, self.allow_http))
            .transpose()?;
        Ok(Some(IntrospectionSettings {
            endpoint,
            client_id: client_id.clone(),
            client_secret,
            client_auth: self.client_auth,
            cache_ttl: seconds("introspection_cache_ttl", self.introspection_cache_ttl)?,
            negative_ttl: seconds(
                "introspection_negative_ttl",
                self.introspection_negative_ttl,
            )?,
            rate_limit: rate("introspection_rate_limit", self.introspection_rate_limit)?,
        }))
    }

    fn algorithms_setting(&self, secret: Option<&[u8]>, hmac_only: bool) -> Result<Vec<Algorithm>> {
        let algorithms: Vec<Algorithm> = match &self.algorithms {
            None => Algorithm::ALL
                .iter()
                .copied()
                .filter(|a| match a.hmac_min_key_len() {
                    None => !hmac_only,
                    Some(min) => secret.is_some_and(|s| s.len() >= min),
                })
                .collect(),
            Some(names) => {
                let mut out = Vec::new();
                for name in names {
                    // RFC 8725 §3.1 / §2.1: `none` can never be allowed.
                    let alg = Algorithm::from_name(name).ok_or_else(|| {
                        Error::config("algorithms", format!("unsupported algorithm {name:?}"))
                    })?;
                    if let Some(min) = alg.hmac_min_key_len() {
                        match secret {
                            None => {
                                return Err(Error::config(
                                    "algorithms",
                                    format!(
                                        "{name} needs shared_secret (HMAC keys are never taken from a JWKS)"
                                    ),
                                ));
                            }
                            Some(s) if s.len() < min => {
                                return Err(Error::config(
                                    "algorithms",
                                    format!(
                                        "{name} needs a shared_secret of at least {min} bytes (RFC 7518 §3.2)"
                                    ),
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                    if !out.contains(&alg) {
                        out.push(alg);
                    }
                }
                out
            }
        };
        if algorithms.is_empty() {
            return Err(Error::config(
                "algorithms",
                "must allow at least one algorithm",
            ));
        }
        Ok(algorithms)
    }

    fn key_source_setting(&self) -> Result<KeySourceSetting> {
        match (&self.jwks, &self.jwks_uri) {
            (Some(_), Some(_)) => Err(Error::config(
                "jwks",
                "give either jwks or jwks_uri, not both",
            )),
            (Some(doc), None) => {
                let doc = match doc {
                    serde_json::Value::String(text) => serde_json::from_str(text)
                        .map_err(|e| Error::config("jwks", format!("is not valid JSON: {e}")))?,
                    other => other.clone(),
                };
                Ok(KeySourceSetting::Static(doc))
            }
            (None, Some(uri)) => Ok(KeySourceSetting::Uri(check_url(
                "jwks_uri",
                uri,
                self.allow_http,
            )?)),
            (None, None) if self.shared_secret.is_some() => Ok(KeySourceSetting::None),
            (None, None) => {
                check_url("issuer", &self.issuer, self.allow_http)?;
                Ok(KeySourceSetting::Discovery)
            }
        }
    }
}

/// The top-level options that belong to one issuer: with `issuers` they are set per entry.
const PER_ISSUER_ONLY: [&str; 11] = [
    "audience",
    "token_type",
    "jwks",
    "jwks_uri",
    "shared_secret",
    "algorithms",
    "required_claims",
    "max_token_age",
    "introspection_endpoint",
    "client_id",
    "client_secret",
];

/// Fields whose values are never shown in a message (a Redis URL may hold a password).
const SECRET_FIELDS: [&str; 4] = [
    "client_secret",
    "shared_secret",
    "fleet_secret",
    "redis_url",
];

/// The default `redis_prefix`.
pub const DEFAULT_REDIS_PREFIX: &str = "jwtgate:";
/// More seed nodes than this is a configuration generator gone wrong.
const MAX_REDIS_SEEDS: usize = 64;

/// A Redis URL: `redis://` or `rediss://` (TLS), with a host. Messages never quote it (it
/// may carry a password).
fn check_redis_url(field: &str, text: &str) -> Result<String> {
    let url = url::Url::parse(text).map_err(|e| {
        Error::config(
            field,
            format!("is not a valid URL ({e}); the value is not shown"),
        )
    })?;
    if !matches!(url.scheme(), "redis" | "rediss") {
        return Err(Error::config(field, "must be a redis:// or rediss:// URL"));
    }
    if url.host().is_none() {
        return Err(Error::config(field, "URL has no host"));
    }
    Ok(text.to_string())
}

/// More issuers than this in one validator is a configuration generator gone wrong.
const MAX_ISSUERS: usize = 64;

/// A top-level option that is not one of an issuer's own (see [`IssuerConfig`]). Both lists
/// come from the structs themselves, so they cannot drift from the schema.
fn is_global_option(name: &str) -> bool {
    let fields = |value: serde_json::Result<serde_json::Value>| {
        value
            .ok()
            .and_then(|v| v.as_object().map(|m| m.contains_key(name)))
            .unwrap_or(false)
    };
    !fields(serde_json::to_value(IssuerConfig::default()))
        && fields(serde_json::to_value(Config::default()))
}

/// A secret-bearing field that is not a string is refused without showing its value.
fn check_secret_types(
    map: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
) -> Result<()> {
    for field in SECRET_FIELDS {
        match map.get(field) {
            None | Some(serde_json::Value::Null | serde_json::Value::String(_)) => {}
            Some(_) => {
                return Err(Error::config(
                    &format!("{prefix}{field}"),
                    "must be a string (the value given is not shown: it is a secret)",
                ));
            }
        }
    }
    Ok(())
}

/// A rate in calls per second: finite, non-negative (0 means unlimited), at most a million.
fn rate(field: &str, value: f64) -> Result<f64> {
    if !value.is_finite() || !(0.0..=1e6).contains(&value) {
        return Err(Error::config(
            field,
            "must be a number of calls per second between 0 (unlimited) and 1000000",
        ));
    }
    Ok(value)
}

/// A non-negative, finite number of seconds within [`MAX_DURATION_SECS`].
fn seconds(field: &str, value: f64) -> Result<f64> {
    if !value.is_finite() || !(0.0..=MAX_DURATION_SECS).contains(&value) {
        return Err(Error::config(
            field,
            "must be a number of seconds between 0 and ten years",
        ));
    }
    Ok(value)
}

fn duration(field: &str, value: f64) -> Result<Duration> {
    Ok(Duration::from_secs_f64(seconds(field, value)?))
}

/// URLs we fetch from must be https, except loopback hosts (development and tests) or when
/// `allow_http` is set: keys fetched over plain http can be swapped by anyone on the path.
pub(crate) fn check_url(field: &str, text: &str, allow_http: bool) -> Result<reqwest::Url> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| Error::config(field, format!("is not a valid URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(Error::config(
                field,
                "must use https (http is allowed for loopback hosts, or with allow_http)",
            ));
        }
        other => {
            return Err(Error::config(
                field,
                format!("unsupported URL scheme {other:?}"),
            ));
        }
    }
    if url.host().is_none() {
        return Err(Error::config(field, "URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(field, "URL must not carry credentials"));
    }
    Ok(url)
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// RFC 7515 §4.1.9: `typ` is a media type; "application/" may be omitted and the comparison
/// is case-insensitive (RFC 2045).
pub(crate) fn normalize_media_type(value: &str) -> String {
    let lower = value.trim().to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) if !rest.contains('/') => rest.to_string(),
        _ => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        Config {
            issuer: "https://issuer.example".into(),
            audience: Some(Audience::One("api".into())),
            ..Config::default()
        }
    }

    #[test]
    fn defaults_validate_to_discovery() {
        let s = base().validate().unwrap();
        assert!(matches!(s.key_source, KeySourceSetting::Discovery));
        assert!(!s.algorithms.iter().any(|a| a.hmac_min_key_len().is_some()));
        assert_eq!(s.leeway, 30.0);
    }

    fn config_error(c: Config) -> String {
        let e = c.validate().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        e.message().to_string()
    }

    #[test]
    fn invalid_fields_are_named() {
        assert!(
            config_error(Config {
                issuer: String::new(),
                ..base()
            })
            .starts_with("issuer")
        );
        assert!(
            config_error(Config {
                audience: None,
                ..base()
            })
            .starts_with("audience")
        );
        assert!(
            config_error(Config {
                leeway: 301.0,
                ..base()
            })
            .starts_with("leeway")
        );
        assert!(
            config_error(Config {
                leeway: f64::NAN,
                ..base()
            })
            .starts_with("leeway")
        );
        assert!(
            config_error(Config {
                leeway: -1.0,
                ..base()
            })
            .starts_with("leeway")
        );
        assert!(
            config_error(Config {
                algorithms: Some(vec!["none".into()]),
                ..base()
            })
            .starts_with("algorithms")
        );
        assert!(
            config_error(Config {
                algorithms: Some(vec!["rs256".into()]),
                ..base()
            })
            .starts_with("algorithms")
        );
        assert!(
            config_error(Config {
                algorithms: Some(vec!["HS256".into()]),
                ..base()
            })
            .contains("shared_secret")
        );
        assert!(
            config_error(Config {
                algorithms: Some(vec![]),
                ..base()
            })
            .starts_with("algorithms")
        );
        assert!(
            config_error(Config {
                shared_secret: Some("short".into()),
                ..base()
            })
            .starts_with("shared_secret")
        );
        assert!(
            config_error(Config {
                max_token_bytes: 1,
                ..base()
            })
            .starts_with("max_token_bytes")
        );
        assert!(
            config_error(Config {
                issuer: "http://issuer.example".into(),
                ..base()
            })
            .starts_with("issuer")
        );
        assert!(
            config_error(Config {
                jwks_uri: Some("ftp://x/jwks".into()),
                ..base()
            })
            .starts_with("jwks_uri")
        );
        assert!(
            config_error(Config {
                jwks_min_ttl: 10.0,
                jwks_max_ttl: 5.0,
                ..base()
            })
            .starts_with("jwks_min_ttl")
        );
        assert!(
            config_error(Config {
                fetch_timeout: 0.0,
                ..base()
            })
            .starts_with("fetch_timeout")
        );
        assert!(
            config_error(Config {
                token_type: Some(" ".into()),
                ..base()
            })
            .starts_with("token_type")
        );
    }

    #[test]
    fn secrets_are_never_echoed() {
        for field in SECRET_FIELDS {
            let e = Config::from_json(&format!(
                r#"{{"issuer":"https://i.example","{field}":987654321987}}"#
            ))
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().starts_with(field), "{}", e.message());
            assert!(!e.message().contains("987654321987"), "{}", e.message());
        }
        let long = "x".repeat(5000);
        let e = Config::from_json(&format!(
            r#"{{"issuer":"https://i.example","mode":"{long}"}}"#
        ))
        .unwrap_err();
        assert!(e.message().len() < 1600, "{} bytes", e.message().len());
    }

    #[test]
    fn rates_are_checked() {
        assert!(
            config_error(Config {
                client_id: Some("c".into()),
                client_secret: Some("s".into()),
                introspection_rate_limit: f64::NAN,
                ..base()
            })
            .starts_with("introspection_rate_limit")
        );
    }

    #[test]
    fn unknown_json_fields_are_refused() {
        let e = Config::from_json(r#"{"issuer":"x","audiance":"typo"}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("audiance"));
    }

    #[test]
    fn loopback_http_is_allowed_other_http_is_not() {
        assert!(check_url("f", "http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(check_url("f", "http://[::1]:8080/jwks", false).is_ok());
        assert!(check_url("f", "http://localhost/jwks", false).is_ok());
        assert!(check_url("f", "http://10.0.0.1/jwks", false).is_err());
        assert!(check_url("f", "http://10.0.0.1/jwks", true).is_ok());
        assert!(check_url("f", "https://u:p@x.example/jwks", false).is_err());
    }

    #[test]
    fn hmac_defaults_follow_the_secret_length() {
        let secret = "x".repeat(48);
        let s = Config {
            shared_secret: Some(secret),
            ..base()
        }
        .validate()
        .unwrap();
        assert!(s.algorithms.contains(&Algorithm::HS256));
        assert!(s.algorithms.contains(&Algorithm::HS384));
        assert!(!s.algorithms.contains(&Algorithm::HS512));
        assert!(
            !s.algorithms.contains(&Algorithm::RS256),
            "no key source for RSA"
        );
        assert!(matches!(s.key_source, KeySourceSetting::None));
    }

    #[test]
    fn media_types_compare_loosely() {
        assert_eq!(normalize_media_type("application/AT+JWT"), "at+jwt");
        assert_eq!(normalize_media_type("at+jwt"), "at+jwt");
        assert_eq!(normalize_media_type("JWT"), "jwt");
    }
}
