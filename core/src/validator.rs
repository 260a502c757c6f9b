//! The validator: one policy, one key source, one result cache.
//!
//! Order of checks for a token (cheapest and least trusting first):
//! 1. size, then the result cache (keyed hash; a hit re-checks only `exp`/`nbf`);
//! 2. structure and protected header, `alg` against the allowlist;
//! 3. the key: chosen by `kid` and the allowed algorithm (the key decides, RFC 8725 §3.1);
//! 4. the signature (aws-lc-rs, pre-parsed keys);
//! 5. the payload (strict JSON) and the registered claims;
//! 6. revocation; then the result is cached.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use serde::Serialize;

use crate::cache::revocation::Revocations;
use crate::cache::{ResultCache, TokenHash};
use crate::claims;
use crate::config::{Config, KeySourceSetting, Settings};
use crate::error::{Error, ErrorKind, Result};
use crate::json;
use crate::jwks::{JwksCache, JwksHealth, KeyLookup, Mode, Remote};
use crate::keys::{Algorithm, Family, KeySet, import_jwks};
use crate::runtime;
use crate::stats::{RefreshReason, Stats, StatsSnapshot};
use crate::token::{self, CompactJws};
use crate::validated::{Claims, Source, Validated};

/// Validates bearer tokens for one issuer and policy. Cheap to clone (an `Arc`), `Send` and
/// `Sync`: share one per API.
#[derive(Clone, Debug)]
pub struct Validator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Keys {
    Static(Arc<KeySet>),
    Remote(JwksCache),
    /// HMAC only (`shared_secret`).
    None,
}

struct Inner {
    settings: Settings,
    keys: Keys,
    hmac_keys: Vec<(Algorithm, hmac::Key)>,
    cache: ResultCache,
    revocations: Revocations,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("issuer", &self.settings.issuer)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// The outcome of one pass that may stop for keys.
enum Step {
    Done(Result<Validated>),
    NeedKeys {
        reason: RefreshReason,
        attempts: u64,
    },
}

/// Health of a validator (served by every face's `health()`).
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub issuer: String,
    /// `static`, `remote` or `shared_secret`.
    pub key_source: &'static str,
    pub jwks: Option<JwksHealth>,
    pub cache_entries: usize,
}

/// Unix time in seconds, with sub-second precision.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Validator {
    /// Builds a validator. Static keys are imported (and checked) here; remote keys are
    /// fetched on first use or by [`Validator::ready`].
    pub fn new(config: Config) -> Result<Validator> {
        let settings = config.validate()?;
        let stats = Arc::new(Stats::default());
        let keys = match &settings.key_source {
            KeySourceSetting::Static(doc) => {
                Keys::Static(Arc::new(static_keys(doc, &settings.algorithms)?))
            }
            KeySourceSetting::Uri(url) => Keys::Remote(JwksCache::new(
                Remote::Uri(url.clone()),
                &settings,
                stats.clone(),
            )),
            KeySourceSetting::Discovery(url) => Keys::Remote(JwksCache::new(
                Remote::Discovery(url.clone()),
                &settings,
                stats.clone(),
            )),
            KeySourceSetting::None => Keys::None,
        };
        let hmac_keys = match &settings.shared_secret {
            Some(secret) => settings
                .algorithms
                .iter()
                .filter_map(|a| a.hmac_algorithm().map(|h| (*a, hmac::Key::new(h, secret))))
                .collect(),
            None => Vec::new(),
        };
        Ok(Validator {
            inner: Arc::new(Inner {
                cache: ResultCache::new(settings.cache_max_entries, settings.cache_max_ttl),
                settings,
                keys,
                hmac_keys,
                revocations: Revocations::default(),
                stats,
            }),
        })
    }

    /// Builds a validator from the canonical JSON configuration.
    pub fn from_json(config: &str) -> Result<Validator> {
        Validator::new(Config::from_json(config)?)
    }

    /// Validates without any network I/O and without awaiting: answers from the cache or
    /// with keys already loaded. Where a fetch is needed it fails with `keys_not_loaded`
    /// (and starts loading in the background when no keys are loaded at all).
    pub fn validate_local(&self, token: &str) -> Result<Validated> {
        let result = match self.inner.first_pass(token, Mode::NoNetwork) {
            Step::Done(result) => result,
            Step::NeedKeys { .. } => Err(Error::new(
                ErrorKind::Internal,
                "network-free pass asked for a fetch",
            )),
        };
        self.inner.record(&result);
        result
    }

    /// Validates a token, fetching keys when needed. The network work runs on jwtgate's own
    /// runtime: this future can be awaited from any executor.
    pub async fn validate(&self, token: &str) -> Result<Validated> {
        let result = match self.inner.first_pass(token, Mode::MayFetch) {
            Step::Done(result) => result,
            Step::NeedKeys { reason, attempts } => {
                self.inner.after_fetch(token, reason, attempts).await
            }
        };
        self.inner.record(&result);
        result
    }

    /// Validates a token, blocking the calling thread while keys are fetched (bounded by
    /// `fetch_timeout`). For C, Go and synchronous Python; never call it on an async
    /// executor thread.
    pub fn validate_blocking(&self, token: &str) -> Result<Validated> {
        let result = match self.inner.first_pass(token, Mode::MayFetch) {
            Step::Done(result) => result,
            Step::NeedKeys { reason, attempts } => {
                let inner = self.inner.clone();
                let token = token.to_owned();
                runtime::block_on(async move { inner.after_fetch(&token, reason, attempts).await })
            }
        };
        self.inner.record(&result);
        result
    }

    /// Loads the remote key set now (for start-up). Static and HMAC-only validators are
    /// always ready.
    pub async fn ready(&self) -> Result<()> {
        let Keys::Remote(jwks) = &self.inner.keys else {
            return Ok(());
        };
        match jwks.lookup(None, Mode::MayFetch) {
            KeyLookup::Fetch { reason, attempts } => jwks.fetch(reason, attempts).await,
            KeyLookup::Ready(_) => return Ok(()),
            KeyLookup::Failed(_) => {}
        }
        match jwks.lookup(None, Mode::AfterFetch) {
            KeyLookup::Ready(_) => Ok(()),
            KeyLookup::Failed(e) if e.kind() == ErrorKind::KeyNotFound => Ok(()),
            KeyLookup::Failed(e) => Err(e),
            KeyLookup::Fetch { .. } => Err(Error::new(
                ErrorKind::Internal,
                "fetch requested after fetch",
            )),
        }
    }

    /// [`Validator::ready`] for synchronous callers.
    pub fn ready_blocking(&self) -> Result<()> {
        let this = self.clone();
        runtime::block_on(async move { this.ready().await })
    }

    /// Revokes a token by `jti` until `until` (Unix seconds; `None`: for the life of the
    /// validator). Cached results for it are dropped at once.
    pub fn revoke_jti(&self, jti: &str, until: Option<f64>) -> usize {
        let inner = &self.inner;
        inner.revocations.revoke_jti(jti, until, now());
        let removed = inner.cache.purge(|v| v.claims().jti() == Some(jti));
        tracing::info!(target: "jwtgate::audit", event = "revoke_jti", removed, "token revoked by jti");
        removed
    }

    /// Revokes every token of `sub` issued at or before `issued_before` (Unix seconds;
    /// `None`: now). Cached results for them are dropped at once.
    pub fn revoke_subject(&self, sub: &str, issued_before: Option<f64>) -> usize {
        let inner = &self.inner;
        let now = now();
        inner
            .revocations
            .revoke_subject(sub, issued_before.unwrap_or(now));
        let removed = inner
            .cache
            .purge(|v| inner.revocations.is_revoked(v.claims(), now));
        tracing::info!(target: "jwtgate::audit", event = "revoke_subject", removed, "tokens revoked by subject");
        removed
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot(self.inner.cache.len())
    }

    /// The counters in Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.stats().to_prometheus()
    }

    pub fn health(&self) -> Health {
        let (key_source, jwks) = match &self.inner.keys {
            Keys::Static(_) => ("static", None),
            Keys::Remote(j) => ("remote", Some(j.health())),
            Keys::None => ("shared_secret", None),
        };
        Health {
            issuer: self.inner.settings.issuer.clone(),
            key_source,
            jwks,
            cache_entries: self.inner.cache.len(),
        }
    }
}

impl Inner {
    /// Cache, then a full local check; stops when keys must be fetched first.
    fn first_pass(&self, token: &str, mode: Mode) -> Step {
        // Size first: hashing a megabyte to look it up would itself be the attack.
        if token.len() > self.settings.max_token_bytes {
            return Step::Done(Err(Error::new(
                ErrorKind::TokenTooLarge,
                format!(
                    "token is {} bytes, the limit is {}",
                    token.len(),
                    self.settings.max_token_bytes
                ),
            )));
        }
        let now = now();
        let hash = if self.cache.enabled() {
            let h = self.cache.hash(token);
            if let Some(hit) = self.cache.get(h, now) {
                self.stats.cache_hits.inc();
                return Step::Done(Ok(hit));
            }
            self.stats.cache_misses.inc();
            Some(h)
        } else {
            None
        };
        self.check(token, hash, mode, now)
    }

    /// The second pass, after the fetch the first one asked for.
    async fn after_fetch(
        &self,
        token: &str,
        reason: RefreshReason,
        attempts: u64,
    ) -> Result<Validated> {
        if let Keys::Remote(jwks) = &self.keys {
            jwks.fetch(reason, attempts).await;
        }
        let hash = self.cache.enabled().then(|| self.cache.hash(token));
        match self.check(token, hash, Mode::AfterFetch, now()) {
            Step::Done(result) => result,
            Step::NeedKeys { .. } => Err(Error::new(
                ErrorKind::Internal,
                "fetch requested after fetch",
            )),
        }
    }

    fn check(&self, token: &str, hash: Option<TokenHash>, mode: Mode, now: f64) -> Step {
        // Read before any check so that a revocation racing with us wins (see ResultCache).
        let epoch = self.cache.epoch();
        let jws = match token::parse(
            token,
            self.settings.max_token_bytes,
            &self.settings.algorithms,
        ) {
            Ok(jws) => jws,
            Err(e) => return Step::Done(Err(e)),
        };
        let verified = match jws.alg.family() {
            Family::Hmac => self.verify_hmac(&jws),
            _ => match &self.keys {
                Keys::Static(keys) => verify_with(keys, &jws),
                Keys::Remote(jwks) => match jwks.lookup(jws.kid.as_deref(), mode) {
                    KeyLookup::Ready(keys) => verify_with(&keys, &jws),
                    KeyLookup::Fetch { reason, attempts } => {
                        return Step::NeedKeys { reason, attempts };
                    }
                    KeyLookup::Failed(e) => Err(e),
                },
                Keys::None => Err(Error::new(
                    ErrorKind::KeyNotFound,
                    "no public keys are configured",
                )),
            },
        };
        Step::Done(verified.and_then(|()| self.accept(jws, hash, epoch, now)))
    }

    /// HMAC keys only ever come from `shared_secret` (RFC 8725 §3.1: an attacker who can pick
    /// HS256 must not get a public key used as the secret, CVE-2016-10555).
    fn verify_hmac(&self, jws: &CompactJws<'_>) -> Result<()> {
        let key = self
            .hmac_keys
            .iter()
            .find(|(a, _)| *a == jws.alg)
            .map(|(_, k)| k)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::AlgorithmNotAllowed,
                    format!("{} needs shared_secret", jws.alg),
                )
            })?;
        // Constant-time comparison.
        hmac::verify(key, jws.signing_input, &jws.signature)
            .map_err(|_| Error::new(ErrorKind::SignatureInvalid, "signature does not verify"))
    }

    /// Signature verified: decode and check the claims, check revocation, cache the result.
    fn accept(
        &self,
        jws: CompactJws<'_>,
        hash: Option<TokenHash>,
        epoch: u64,
        now: f64,
    ) -> Result<Validated> {
        let payload_bytes = token::b64(jws.payload_b64)
            .ok_or_else(|| Error::malformed("payload is not canonical base64url"))?;
        let payload = json::parse_object(&payload_bytes)
            .map_err(|e| Error::malformed(format!("payload: {e}")))?;
        let payload_json = String::from_utf8(payload_bytes)
            .map_err(|_| Error::malformed("payload is not UTF-8"))?;
        let bounds = claims::check(&payload, jws.typ.as_deref(), &self.settings, now)?;
        let claims = Arc::new(Claims::new(payload, payload_json, jws.header_json));
        if !self.revocations.is_empty() && self.revocations.is_revoked(&claims, now) {
            return Err(Error::new(ErrorKind::Revoked, "token has been revoked"));
        }
        let validated = Validated {
            claims,
            source: Source::Local,
            expires_at: bounds.exp,
        };
        if let Some(h) = hash {
            let leeway = self.settings.leeway;
            let valid_until = bounds.exp.map_or(f64::INFINITY, |exp| exp + leeway);
            let not_before = bounds.nbf.map(|nbf| nbf - leeway);
            self.cache
                .insert(h, validated.clone(), valid_until, not_before, now, epoch);
        }
        Ok(validated)
    }

    fn record(&self, result: &Result<Validated>) {
        match result {
            Ok(_) => self.stats.validations_ok.inc(),
            // A deferral is not an outcome: the caller retries on the async path.
            Err(e) if e.kind() == ErrorKind::KeysNotLoaded => self.stats.sync_deferred.inc(),
            Err(e) => {
                self.stats.failure(e.kind());
                tracing::debug!(target: "jwtgate::audit", event = "rejected", kind = e.kind().as_str(), "token rejected: {}", e.message());
            }
        }
    }
}

fn verify_with(keys: &KeySet, jws: &CompactJws<'_>) -> Result<()> {
    let key = keys.select(jws.kid.as_deref(), jws.alg)?;
    key.verify_sig(jws.signing_input, &jws.signature)
        .map_err(|_| Error::new(ErrorKind::SignatureInvalid, "signature does not verify"))
}

/// A static JWKS is the user's own configuration: any key we would refuse is a config error
/// (silently dropping it would fail later, far from the cause).
fn static_keys(doc: &serde_json::Value, algorithms: &[Algorithm]) -> Result<KeySet> {
    let serde_json::Value::Object(doc) = doc else {
        return Err(Error::config(
            "jwks",
            "must be a JSON object with a \"keys\" array",
        ));
    };
    let (keys, rejected) = import_jwks(doc, algorithms).map_err(|e| Error::config("jwks", e))?;
    if let Some(first) = rejected.first() {
        return Err(Error::config("jwks", first));
    }
    if keys.is_empty() {
        return Err(Error::config(
            "jwks",
            "no key is usable with the allowed algorithms",
        ));
    }
    Ok(KeySet::new(keys))
}
