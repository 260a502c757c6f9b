//! The validator: one policy and key source per issuer (one issuer, or several with
//! `issuers`), one result cache, one revocation list.
//!
//! Order of checks for a token (cheapest and least trusting first):
//! 1. size, then the result cache (keyed hash; a hit re-checks only `exp`/`nbf`);
//! 2. structure and protected header, `alg` against the allowlist;
//! 3. with several issuers, the issuer: the payload's `iss`, read before the signature is
//!    checked (the payload was size-checked with the token and is parsed by the strict JSON
//!    reader, duplicates refused); an `iss` that names no configured issuer is
//!    `issuer_mismatch` with no network traffic at all. From here on only that issuer's keys
//!    and policy apply: keys never cross issuers, whatever the token's `kid`;
//! 4. the key: chosen by `kid` and the allowed algorithm (the key decides, RFC 8725 §3.1);
//! 5. the signature (aws-lc-rs, pre-parsed keys);
//! 6. the payload (strict JSON) and the registered claims, `iss` exactly (again);
//! 7. revocation; then the result is cached.
//!
//! Which path a token takes (the same for every face):
//!
//! | token | `auto` (default) | `local` | `introspect` |
//! |---|---|---|---|
//! | compact JWS (3 segments, header `{...}`) | local validation; every failure is final | local | local, then introspection must say active |
//! | other RFC 6750 `b64token` (opaque) | introspection, or `unsupported_token` without `client_id` | `unsupported_token` | introspection |
//! | anything else | `malformed` | `malformed` | `malformed` |
//!
//! A JWT that fails locally is never sent to introspection: that would turn forged tokens into
//! provider load and give an attacker a second, weaker path.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use serde::Serialize;

use crate::cache::revocation::Revocations;
use crate::cache::{ResultCache, TokenHash};
use crate::claims;
use crate::config::{Config, KeySourceSetting, Mode as TokenMode, Settings};
use crate::discovery::Discovery;
use crate::error::{Error, ErrorKind, Result};
use crate::fleet::{Fleet, FleetHealth, Revocation, RevocationKind, RevocationSink};
use crate::http::BreakerHealth;
use crate::introspect::{IntrospectionHealth, Introspector};
use crate::json;
use crate::jwks::{JwksCache, JwksHealth, KeyLookup, Mode, Remote};
use crate::keys::{Algorithm, Family, KeySet, KeyTag, import_jwks};
use crate::latency::{self, Timing};
use crate::runtime;
use crate::stats::{RefreshReason, Stats, StatsSnapshot};
use crate::token::{self, CompactJws};
use crate::validated::{Claims, Source, Validated};

use serde_json::{Map, Value};

/// Validates bearer tokens for one issuer and policy, or for several issuers each with its
/// own. Cheap to clone (an `Arc`), `Send` and `Sync`: share one per API.
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

/// One issuer: its policy (`settings`, which also carry the global options) and where its
/// keys come from.
struct Issuer {
    settings: Settings,
    keys: Keys,
    discovery: Option<Arc<Discovery>>,
    introspector: Option<Arc<Introspector>>,
    hmac_keys: Vec<(Algorithm, hmac::Key)>,
}

struct Inner {
    /// At least one. The global options are the same in every entry's settings.
    issuers: Vec<Issuer>,
    /// Every issuer's allowed algorithms: what the header parse admits before routing.
    algorithms: Vec<Algorithm>,
    /// The issuer opaque tokens go to: the one with introspection configured, if any.
    introspecting: Option<usize>,
    /// Shared with the JWKS caches, which purge the results of keys a refresh withdraws.
    cache: Arc<ResultCache>,
    revocations: Revocations,
    stats: Arc<Stats>,
    /// Fleet mode (Redis): shared introspection answers, key sets and revocations.
    fleet: Option<Arc<Fleet>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<&str> = self
            .issuers
            .iter()
            .map(|i| i.settings.issuer.as_str())
            .collect();
        f.debug_struct("Validator")
            .field("issuers", &issuers)
            .finish_non_exhaustive()
    }
}

/// The outcome of one pass that may stop for keys.
enum Step {
    Done(Result<Validated>),
    /// `issuer`'s keys must be fetched first.
    NeedKeys {
        issuer: usize,
        reason: RefreshReason,
        attempts: u64,
    },
    /// An opaque token (`local` is `None`), or in `introspect` mode a JWT that passed local
    /// validation, must be introspected by `issuer`. `epoch` is the cache epoch seen before
    /// any check.
    NeedIntrospection {
        issuer: usize,
        local: Option<Validated>,
        epoch: u64,
    },
}

/// Health of a validator (served by every face's `health()`). The top-level fields describe
/// the first (for a single-issuer validator: the only) issuer, as before `issuers` existed;
/// `issuers` has every issuer.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub issuer: String,
    /// `static`, `remote` or `shared_secret`.
    pub key_source: &'static str,
    pub jwks: Option<JwksHealth>,
    pub discovery: Option<BreakerHealth>,
    pub introspection: Option<IntrospectionHealth>,
    pub cache_entries: usize,
    pub issuers: Vec<IssuerHealth>,
    /// Fleet mode: the Redis connection, subscription and breaker (`None` without Redis).
    pub fleet: Option<FleetHealth>,
}

/// One issuer's part of [`Health`].
#[derive(Debug, Clone, Serialize)]
pub struct IssuerHealth {
    pub issuer: String,
    /// `static`, `remote` or `shared_secret`.
    pub key_source: &'static str,
    pub jwks: Option<JwksHealth>,
    pub discovery: Option<BreakerHealth>,
    pub introspection: Option<IntrospectionHealth>,
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
        let all = config.validate_all()?;
        let stats = Arc::new(Stats::default());
        let global = &all[0];
        let cache = Arc::new(ResultCache::new(
            global.cache_max_entries,
            global.cache_max_ttl,
        ));
        let mut algorithms: Vec<Algorithm> = Vec::new();
        for alg in all.iter().flat_map(|s| s.algorithms.iter()) {
            if !algorithms.contains(alg) {
                algorithms.push(*alg);
            }
        }
        let introspecting = all.iter().position(|s| s.introspection.is_some());
        let fleet = match &global.fleet {
            Some(settings) => Some(Arc::new(Fleet::new(settings, global.breaker_threshold)?)),
            None => None,
        };
        let issuers = all
            .into_iter()
            .map(|settings| Issuer::new(settings, &cache, &stats, fleet.clone()))
            .collect::<Result<Vec<Issuer>>>()?;
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers,
                algorithms,
                introspecting,
                cache,
                revocations: Revocations::default(),
                stats,
                fleet,
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
        let sampled = latency::start();
        let result = match self.inner.first_pass(token, Mode::NoNetwork) {
            Step::Done(result) => result,
            _ => Err(Error::new(
                ErrorKind::Internal,
                "network-free pass asked for the network",
            )),
        };
        let timing = Timing::after(sampled, &result);
        self.inner.record(&result);
        self.inner.stats.latency.result(&result, false, timing);
        result
    }

    /// Answers from the result cache only: no parsing, no signature check, no I/O. `None`
    /// means "not cached" and counts nothing: call [`Validator::validate_local`] or
    /// [`Validator::validate`] next (they count the miss). For faces where leaving the calling
    /// thread costs more than a hit: Python takes this path with the GIL held and releases the
    /// GIL only for the work past the cache.
    pub fn validate_cached(&self, token: &str) -> Option<Validated> {
        let inner = &self.inner;
        if !inner.cache.enabled() || token.len() > inner.global().max_token_bytes {
            return None;
        }
        inner.after_announced_fork();
        let sampled = latency::start();
        let result = Ok(inner.cached(inner.cache.hash(token), now())?);
        inner.record(&result);
        let timing = Timing {
            sampled,
            miss: None,
        };
        inner.stats.latency.result(&result, false, timing);
        result.ok()
    }

    /// Validates a token, fetching keys when needed. The network work runs on jwtgate's own
    /// runtime: this future can be awaited from any executor.
    pub async fn validate(&self, token: &str) -> Result<Validated> {
        let sampled = latency::start();
        let step = self.inner.first_pass(token, Mode::MayFetch);
        let timing = Timing::taken(sampled);
        let introspected = matches!(step, Step::NeedIntrospection { .. });
        let result = match step {
            Step::Done(result) => result,
            step => self.inner.finish(token, step).await,
        };
        self.inner.record(&result);
        self.inner
            .stats
            .latency
            .result(&result, introspected, timing);
        result
    }

    /// Validates a token, blocking the calling thread while keys are fetched (bounded by
    /// `fetch_timeout`). For C, Go and synchronous Python; never call it on an async
    /// executor thread.
    pub fn validate_blocking(&self, token: &str) -> Result<Validated> {
        let sampled = latency::start();
        let step = self.inner.first_pass(token, Mode::MayFetch);
        let timing = Timing::taken(sampled);
        let introspected = matches!(step, Step::NeedIntrospection { .. });
        let result = match step {
            Step::Done(result) => result,
            step => {
                let inner = self.inner.clone();
                let token = token.to_owned();
                runtime::block_on(async move { inner.finish(&token, step).await })
            }
        };
        self.inner.record(&result);
        self.inner
            .stats
            .latency
            .result(&result, introspected, timing);
        result
    }

    /// Validates a token and hands the result to `done`, never blocking the calling thread:
    /// `done` runs on this thread when no network is needed (a cache hit, loaded keys), else
    /// on jwtgate's runtime when the fetch or introspection finishes. For hosts with their own
    /// event loop (Node: `done` settles a Promise through a thread-safe function), so a slow
    /// provider parks no thread of theirs. `done` must not block.
    pub fn validate_with(
        &self,
        token: &str,
        done: impl FnOnce(Result<Validated>) + Send + 'static,
    ) {
        let sampled = latency::start();
        let step = self.inner.first_pass(token, Mode::MayFetch);
        let timing = Timing::taken(sampled);
        match step {
            Step::Done(result) => {
                self.inner.record(&result);
                self.inner.stats.latency.result(&result, false, timing);
                done(result);
            }
            step => {
                let inner = self.inner.clone();
                let token = token.to_owned();
                let introspected = matches!(step, Step::NeedIntrospection { .. });
                runtime::shared().runtime.spawn(async move {
                    let result = inner.finish(&token, step).await;
                    inner.record(&result);
                    inner.stats.latency.result(&result, introspected, timing);
                    done(result);
                });
            }
        }
    }

    /// [`Validator::ready`] that hands its result to `done` on jwtgate's runtime (see
    /// [`Validator::validate_with`]).
    pub fn ready_with(&self, done: impl FnOnce(Result<()>) + Send + 'static) {
        let this = self.clone();
        runtime::shared().runtime.spawn(async move {
            done(this.ready().await);
        });
    }

    /// Loads the remote key sets now (for start-up): every issuer's. Static and HMAC-only
    /// issuers are always ready. A provider that cannot be reached is `jwks_unavailable`; a
    /// configuration mistake that retrying will not fix (the provider's metadata names another
    /// issuer) is `config`, with the expected and the found value.
    ///
    /// In fleet mode it also starts the revocation subscription and waits for it up to
    /// `fetch_timeout`; Redis being down is never an error here (`health().fleet` says).
    pub async fn ready(&self) -> Result<()> {
        let all: Vec<usize> = (0..self.inner.issuers.len()).collect();
        if let Some(fleet) = &self.inner.fleet {
            let failed = fleet.failed_attempts();
            self.inner.subscribe();
            let bound = self.inner.global().fetch_timeout;
            let fleet = fleet.clone();
            // On jwtgate's runtime: `ready()` may be awaited from any executor.
            let waited = runtime::shared()
                .runtime
                .spawn(async move { fleet.wait_subscribed(bound, failed).await });
            let _ = waited.await;
        }
        self.inner.load_keys(&all, false).await
    }

    /// Fetches the key sets now, every issuer's or (with `issuer`) one issuer's, unless a
    /// fetch of that set started in the last second; returns or fails like
    /// [`Validator::ready`]. For operators: after a key is withdrawn at the provider, this
    /// makes it (and the results it verified) unusable at once instead of at the next
    /// scheduled refresh. An `issuer` that is not configured is a `config` error.
    pub async fn refresh_keys(&self, issuer: Option<&str>) -> Result<()> {
        let selected: Vec<usize> = match issuer {
            None => (0..self.inner.issuers.len()).collect(),
            Some(name) => {
                let found: Vec<usize> = self
                    .inner
                    .issuers
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.settings.issuer == name)
                    .map(|(index, _)| index)
                    .collect();
                if found.is_empty() {
                    return Err(Error::config(
                        "issuer",
                        format!("{:?} is not a configured issuer", token::truncate(name)),
                    ));
                }
                found
            }
        };
        self.inner.load_keys(&selected, true).await
    }

    /// [`Validator::refresh_keys`] for synchronous callers.
    pub fn refresh_keys_blocking(&self, issuer: Option<&str>) -> Result<()> {
        let this = self.clone();
        let issuer = issuer.map(str::to_owned);
        runtime::block_on(async move { this.refresh_keys(issuer.as_deref()).await })
    }

    /// [`Validator::refresh_keys`] that hands its result to `done` (see
    /// [`Validator::validate_with`]).
    pub fn refresh_keys_with(
        &self,
        issuer: Option<&str>,
        done: impl FnOnce(Result<()>) + Send + 'static,
    ) {
        let this = self.clone();
        let issuer = issuer.map(str::to_owned);
        runtime::shared().runtime.spawn(async move {
            done(this.refresh_keys(issuer.as_deref()).await);
        });
    }

    /// Drops every cached result (validated JWTs and introspection answers); returns how many.
    /// Tokens are validated afresh on their next use.
    pub fn clear_cache(&self) -> usize {
        let removed = self.inner.cache.clear();
        tracing::info!(target: "jwtgate::audit", event = "cache_cleared", removed, "result cache cleared");
        removed
    }

    /// [`Validator::ready`] for synchronous callers.
    pub fn ready_blocking(&self) -> Result<()> {
        let this = self.clone();
        runtime::block_on(async move { this.ready().await })
    }

    /// Revokes a token by `jti` until `until` (Unix seconds, usually the token's `exp`;
    /// `None`: for the life of the validator). Cached results for it are dropped at once.
    /// Returns how many cached results were dropped.
    ///
    /// A revocation must never fail open: an empty `jti`, or an `until` that is not finite
    /// or already past (the entry would end before it starts), is a `config` error rather
    /// than a success that changes nothing.
    pub fn revoke_jti(&self, jti: &str, until: Option<f64>) -> Result<usize> {
        let inner = &self.inner;
        let now = now();
        check_revocation_id("jti", jti)?;
        if let Some(until) = until {
            if !until.is_finite() || until > claims::MAX_NUMERIC_DATE {
                return Err(Error::config(
                    "until",
                    "must be a finite Unix time in seconds",
                ));
            }
            if until <= now {
                return Err(Error::config(
                    "until",
                    "is in the past: the revocation would end before it starts",
                ));
            }
        }
        let revocation = Revocation {
            kind: RevocationKind::Jti,
            id: jti.to_owned(),
            at: until,
        };
        let removed = inner.apply(&revocation);
        inner.share(revocation);
        tracing::info!(target: "jwtgate::audit", event = "revoke_jti", removed, "token revoked by jti");
        Ok(removed)
    }

    /// Revokes every token of `sub` issued at or before `issued_before` (Unix seconds;
    /// `None`: now). Tokens without `iat` cannot prove they came later and are revoked too.
    /// Cached results for them are dropped at once; returns how many.
    ///
    /// An empty `sub` or an `issued_before` that is not a finite, non-negative Unix time is a
    /// `config` error. A time in the future is refused as well: it would also revoke tokens
    /// not issued yet, which is a ban, not a revocation.
    pub fn revoke_subject(&self, sub: &str, issued_before: Option<f64>) -> Result<usize> {
        let inner = &self.inner;
        let now = now();
        check_revocation_id("sub", sub)?;
        let cutoff = match issued_before {
            None => now,
            Some(t) if !t.is_finite() || t < 0.0 => {
                return Err(Error::config(
                    "issued_before",
                    "must be a finite, non-negative Unix time in seconds",
                ));
            }
            Some(t) if t > now + inner.global().leeway => {
                return Err(Error::config(
                    "issued_before",
                    "is in the future: only tokens already issued can be revoked",
                ));
            }
            Some(t) => t,
        };
        let revocation = Revocation {
            kind: RevocationKind::Sub,
            id: sub.to_owned(),
            at: Some(cutoff),
        };
        let removed = inner.apply(&revocation);
        inner.share(revocation);
        tracing::info!(target: "jwtgate::audit", event = "revoke_subject", removed, "tokens revoked by subject");
        Ok(removed)
    }

    pub fn stats(&self) -> StatsSnapshot {
        let inner = &self.inner;
        let transitions = inner
            .issuers
            .iter()
            .map(Issuer::breaker_transitions)
            .sum::<u64>()
            + inner.fleet.as_ref().map_or(0, |f| f.breaker_transitions());
        let mut snapshot = inner.stats.snapshot(inner.cache.len(), transitions);
        if let Some(fleet) = &inner.fleet {
            snapshot.fleet = fleet.stats();
        }
        snapshot
    }

    /// The counters in Prometheus text format, with a per-issuer breakdown (label `issuer`).
    pub fn metrics_text(&self) -> String {
        let mut text = self.stats().to_prometheus();
        let issuers: Vec<IssuerHealth> = self.inner.issuers.iter().map(Issuer::health).collect();
        crate::stats::write_issuer_metrics(&mut text, &issuers);
        if let Some(fleet) = &self.inner.fleet {
            crate::fleet::write_metrics(&mut text, &fleet.stats(), Some(&fleet.health()));
        }
        text
    }

    /// The families of [`Validator::metrics_text`] as data, for the faces' metrics-client
    /// collectors (`metrics.rs`).
    pub fn metric_families(&self) -> Vec<crate::metrics::MetricFamily> {
        crate::metrics::families(&self.metrics_text())
    }

    pub fn health(&self) -> Health {
        let issuers: Vec<IssuerHealth> = self.inner.issuers.iter().map(Issuer::health).collect();
        let first = issuers[0].clone();
        Health {
            issuer: first.issuer,
            key_source: first.key_source,
            jwks: first.jwks,
            discovery: first.discovery,
            introspection: first.introspection,
            cache_entries: self.inner.cache.len(),
            issuers,
            fleet: self.inner.fleet.as_ref().map(|f| f.health()),
        }
    }
}

impl Issuer {
    /// One issuer's keys, discovery and introspection client, from its settings.
    fn new(
        settings: Settings,
        cache: &Arc<ResultCache>,
        stats: &Arc<Stats>,
        fleet: Option<Arc<Fleet>>,
    ) -> Result<Issuer> {
        let on_withdrawn = || -> crate::jwks::OnWithdrawn {
            let cache = cache.clone();
            Box::new(move |tags: &[KeyTag]| {
                let removed = cache.purge_keys(tags);
                tracing::info!(target: "jwtgate::audit", event = "keys_withdrawn", keys = tags.len(), removed, "cached results of withdrawn keys dropped");
            })
        };
        let discovery = settings.discovery_url.clone().map(|url| {
            Arc::new(Discovery::new(
                url,
                settings.issuer.clone(),
                settings.allow_http,
                settings.http_policy(),
                settings.breaker("discovery"),
                stats.clone(),
            ))
        });
        let keys =
            match &settings.key_source {
                KeySourceSetting::Static(doc) => {
                    Keys::Static(Arc::new(static_keys(doc, &settings.algorithms)?))
                }
                KeySourceSetting::Uri(url) => Keys::Remote(JwksCache::new(
                    Remote::Uri(url.clone()),
                    &settings,
                    stats.clone(),
                    on_withdrawn(),
                    fleet.clone(),
                )),
                KeySourceSetting::Discovery => Keys::Remote(JwksCache::new(
                    Remote::Discovery(discovery.clone().ok_or_else(|| {
                        Error::new(ErrorKind::Internal, "discovery without a URL")
                    })?),
                    &settings,
                    stats.clone(),
                    on_withdrawn(),
                    fleet.clone(),
                )),
                KeySourceSetting::None => Keys::None,
            };
        let hmac_keys = match &settings.shared_secret {
            Some(secret) => hmac_keys(secret, &settings.algorithms),
            None => Vec::new(),
        };
        let introspector = settings.introspection.clone().map(|i| {
            Arc::new(Introspector::new(
                i,
                discovery.clone(),
                settings.http_policy(),
                settings.breaker("introspection"),
                stats.clone(),
                fleet.clone(),
                settings.issuer.clone(),
            ))
        });
        Ok(Issuer {
            settings,
            keys,
            discovery,
            introspector,
            hmac_keys,
        })
    }

    fn health(&self) -> IssuerHealth {
        let (key_source, jwks) = match &self.keys {
            Keys::Static(_) => ("static", None),
            Keys::Remote(j) => ("remote", Some(j.health())),
            Keys::None => ("shared_secret", None),
        };
        IssuerHealth {
            issuer: self.settings.issuer.clone(),
            key_source,
            jwks,
            discovery: self.discovery.as_ref().map(|d| d.breaker.health()),
            introspection: self.introspector.as_ref().map(|i| i.health()),
        }
    }

    fn breaker_transitions(&self) -> u64 {
        self.discovery
            .as_ref()
            .map_or(0, |d| d.breaker.transitions.get())
            + self
                .introspector
                .as_ref()
                .map_or(0, |i| i.breaker_transitions())
            + match &self.keys {
                Keys::Remote(j) => j.breaker_transitions(),
                _ => 0,
            }
    }

    /// Loads (`force`: refreshes) the remote key set and says whether keys are at hand, as
    /// `ready()` does. Static and HMAC-only issuers are always ready.
    async fn load_keys(&self, force: bool) -> Result<()> {
        let Keys::Remote(jwks) = &self.keys else {
            return Ok(());
        };
        if force {
            jwks.refresh_now().await;
            // Forced: a failed fetch is a failure even while cached keys still serve; the
            // operator asked for fresh keys and did not get them.
            if let Some(failure) = jwks.last_fetch_failure() {
                let kind = if jwks.misconfiguration().is_some() {
                    ErrorKind::Config
                } else {
                    ErrorKind::JwksUnavailable
                };
                return Err(Error::new(
                    kind,
                    format!(
                        "issuer {:?}: the key set could not be refreshed: {failure}",
                        self.settings.issuer
                    ),
                ));
            }
        } else {
            match jwks.lookup(None, Mode::MayFetch) {
                KeyLookup::Fetch { reason, attempts } => jwks.fetch(reason, attempts).await,
                KeyLookup::Ready(_) => return Ok(()),
                KeyLookup::Failed(_) => {}
            }
        }
        if let Some(problem) = jwks.misconfiguration() {
            // A mistake in the configuration (or the provider's), not an outage: retrying
            // will not help, so it is not reported as one.
            return Err(Error::new(
                ErrorKind::Config,
                format!("issuer {:?}: {problem}", self.settings.issuer),
            ));
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
}

impl Inner {
    /// Applies a revocation (made here or received from the fleet) and drops the cached
    /// results it covers; returns how many.
    fn apply(&self, r: &Revocation) -> usize {
        let now = now();
        match r.kind {
            RevocationKind::Jti => {
                if r.at.is_some_and(|until| until <= now) {
                    return 0;
                }
                self.revocations.revoke_jti(&r.id, r.at, now);
                self.cache
                    .purge(|v| v.claims().jti() == Some(r.id.as_str()))
            }
            RevocationKind::Sub => {
                let Some(cutoff) = r.at else { return 0 };
                self.revocations.revoke_subject(&r.id, cutoff);
                self.cache
                    .purge(|v| self.revocations.is_revoked(v.claims(), now))
            }
        }
    }

    /// Fleet mode: sends a revocation made here to every other instance.
    fn share(self: &Arc<Self>, revocation: Revocation) {
        if let Some(fleet) = &self.fleet {
            self.subscribe();
            fleet.publish(revocation);
        }
    }

    /// Fleet mode, in a child whose host announced the fork (`jwtgate::after_fork`): restarts
    /// the subscription before a cached result is served (the reload purges what the parent
    /// cached and the fleet has revoked since).
    #[inline]
    fn after_announced_fork(self: &Arc<Self>) {
        if let Some(fleet) = &self.fleet {
            if fleet.fork_announced() {
                self.subscribe();
            }
        }
    }

    /// Fleet mode: makes sure this process hears the fleet's revocations (a cheap check once
    /// running; never called on a cache hit).
    fn subscribe(self: &Arc<Self>) {
        if let Some(fleet) = &self.fleet {
            let sink: std::sync::Weak<dyn RevocationSink> = Arc::downgrade(self) as _;
            fleet.ensure_subscribed(sink);
        }
    }
}

impl RevocationSink for Inner {
    fn apply(&self, revocation: &Revocation) -> usize {
        Inner::apply(self, revocation)
    }

    fn known(&self) -> Vec<Revocation> {
        self.revocations.entries()
    }
}

impl Inner {
    /// Loads (`force`: refreshes) the key sets of these issuers, all at once on jwtgate's
    /// runtime, so one slow provider does not hold up the others; the first error (in issuer
    /// order) is returned once every load has finished.
    async fn load_keys(self: &Arc<Self>, issuers: &[usize], force: bool) -> Result<()> {
        if let [only] = issuers {
            return self.issuers[*only].load_keys(force).await;
        }
        let tasks: Vec<_> = issuers
            .iter()
            .map(|&index| {
                let inner = self.clone();
                runtime::shared()
                    .runtime
                    .spawn(async move { inner.issuers[index].load_keys(force).await })
            })
            .collect();
        let mut first_error = None;
        for task in tasks {
            let result = task.await.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Internal,
                    "a key-set load was dropped",
                ))
            });
            if let (Err(e), None) = (result, &first_error) {
                first_error = Some(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The global options (the same in every issuer's settings).
    fn global(&self) -> &Settings {
        &self.issuers[0].settings
    }

    /// A result-cache lookup, counted as a hit when it is one.
    fn cached(&self, h: TokenHash, now: f64) -> Option<Validated> {
        let hit = self.cache.get(h, now)?;
        self.stats.cache_hits.inc();
        if hit.introspected {
            self.stats.introspection_cache_hits.inc();
        }
        Some(hit)
    }

    /// Cache, then a full local check; stops when keys must be fetched first.
    fn first_pass(self: &Arc<Self>, token: &str, mode: Mode) -> Step {
        // Size first: hashing a megabyte to look it up would itself be the attack.
        let max_bytes = self.global().max_token_bytes;
        if token.len() > max_bytes {
            return Step::Done(Err(Error::new(
                ErrorKind::TokenTooLarge,
                format!("token is {} bytes, the limit is {max_bytes}", token.len()),
            )));
        }
        let now = now();
        self.after_announced_fork();
        let hash = if self.cache.enabled() {
            let h = self.cache.hash(token);
            if let Some(hit) = self.cached(h, now) {
                return Step::Done(Ok(hit));
            }
            self.stats.cache_misses.inc();
            Some(h)
        } else {
            None
        };
        if self.fleet.is_some() {
            self.subscribe();
        }
        latency::mark_miss();
        self.check(token, hash, mode, now)
    }

    /// Everything after a first pass that needs the network: the JWKS fetch it asked for
    /// (then a second, fetch-free pass), and introspection. Runs on any executor.
    async fn finish(&self, token: &str, step: Step) -> Result<Validated> {
        let step = match step {
            Step::NeedKeys {
                issuer,
                reason,
                attempts,
            } => {
                if let Keys::Remote(jwks) = &self.issuers[issuer].keys {
                    jwks.fetch(reason, attempts).await;
                }
                let hash = self.cache.enabled().then(|| self.cache.hash(token));
                self.check(token, hash, Mode::AfterFetch, now())
            }
            other => other,
        };
        match step {
            Step::Done(result) => result,
            Step::NeedKeys { .. } => Err(Error::new(
                ErrorKind::Internal,
                "fetch requested after fetch",
            )),
            Step::NeedIntrospection {
                issuer,
                local,
                epoch,
            } => self.introspect(issuer, token, local, epoch).await,
        }
    }

    /// RFC 7662: asks `issuer`'s provider, checks the answer with the JWT rules, caches an
    /// active answer for `min(introspection_cache_ttl, exp - now)`.
    async fn introspect(
        &self,
        issuer: usize,
        token: &str,
        local: Option<Validated>,
        epoch: u64,
    ) -> Result<Validated> {
        let settings = &self.issuers[issuer].settings;
        let introspector = self.issuers[issuer]
            .introspector
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Internal, "introspection without a client"))?;
        let hash = self.cache.hash(token);
        let answer = match introspector.introspect(token, hash).await {
            Ok(answer) => answer,
            Err(e) => {
                if e.kind() == ErrorKind::Inactive {
                    introspector.remember_inactive(hash, now());
                }
                return Err(e);
            }
        };
        let now = now();
        let bounds = claims::check_introspected(&answer, settings, now)?;
        let validated = match local {
            // A JWT keeps its own verified claims; introspection only confirmed it is active.
            Some(v) => Validated {
                source: Source::Introspection,
                introspected: true,
                ..v
            },
            None => {
                let json = serde_json::to_string(&*answer)
                    .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
                Validated {
                    claims: Arc::new(Claims::new(&answer, json, "{}".to_string())),
                    source: Source::Introspection,
                    expires_at: bounds.exp,
                    introspected: true,
                }
            }
        };
        if !self.revocations.is_empty() && self.revocations.is_revoked(validated.claims(), now) {
            return Err(Error::new(ErrorKind::Revoked, "token has been revoked"));
        }
        let ttl = introspector.cache_ttl();
        if self.cache.enabled() && ttl > 0.0 {
            // The provider's exp is authoritative here: no leeway is added to it. The end of
            // max_token_age bounds the entry too (a hit re-checks nothing else).
            let valid_until = (now + ttl)
                .min(bounds.exp.unwrap_or(f64::INFINITY))
                .min(bounds.cache_until(settings));
            self.cache
                .insert(hash, validated.clone(), valid_until, None, None, now, epoch);
        }
        Ok(validated)
    }

    /// Not a JWS: an opaque token goes to introspection (at the one issuer that has it
    /// configured); anything that is not even an RFC 6750 bearer token is malformed.
    fn opaque(
        &self,
        token: &str,
        hash: Option<TokenHash>,
        mode: Mode,
        now: f64,
        epoch: u64,
    ) -> Step {
        if !token::is_b64token(token) {
            return Step::Done(Err(Error::malformed(
                "neither a compact JWS nor an RFC 6750 bearer token",
            )));
        }
        let Some((issuer, introspector)) = self.introspecting.and_then(|i| {
            self.issuers[i]
                .introspector
                .as_ref()
                .map(|introspector| (i, introspector))
        }) else {
            return Step::Done(Err(Error::new(
                ErrorKind::UnsupportedToken,
                "not a JWT, and no introspection is configured (client_id)",
            )));
        };
        let hash = hash.unwrap_or_else(|| self.cache.hash(token));
        if introspector.known_inactive(hash, now) {
            self.stats.introspection_cache_hits.inc();
            return Step::Done(Err(Error::new(
                ErrorKind::Inactive,
                "the provider said the token is not active",
            )));
        }
        if introspector.circuit_open() {
            // Fail fast on the caller's thread: no task, no request (the breaker's purpose).
            return Step::Done(Err(Error::new(
                ErrorKind::ProviderUnavailable,
                "introspection: circuit open after repeated failures",
            )));
        }
        if mode == Mode::NoNetwork {
            return Step::Done(Err(Error::new(
                ErrorKind::KeysNotLoaded,
                "an opaque token needs introspection",
            )));
        }
        Step::NeedIntrospection {
            issuer,
            local: None,
            epoch,
        }
    }

    /// With several issuers: the issuer a JWS names in its payload's `iss`, read before the
    /// signature is checked so that only that issuer's keys are tried (keys never cross
    /// issuers). The payload was bounded with the token (`max_token_bytes`) and is parsed by
    /// the strict reader (duplicate members refused, depth capped). An `iss` that names no
    /// configured issuer is refused here, before any key lookup: an unconfigured issuer is
    /// never fetched, discovered or contacted.
    fn route(&self, jws: &CompactJws<'_>) -> Result<(usize, Map<String, Value>)> {
        let payload = json::parse_object(&jws.payload)
            .map_err(|e| Error::malformed(format!("payload: {e}")))?;
        let index = match payload.get("iss") {
            Some(Value::String(iss)) => self
                .issuers
                .iter()
                .position(|i| i.settings.issuer == *iss)
                .ok_or_else(|| {
                    Error::new(ErrorKind::IssuerMismatch, "iss names no configured issuer")
                })?,
            Some(_) => return Err(Error::new(ErrorKind::InvalidClaim, "iss is not a string")),
            None => {
                return Err(Error::new(
                    ErrorKind::MissingClaim,
                    "required claim \"iss\" is missing",
                ));
            }
        };
        Ok((index, payload))
    }

    fn check(&self, token: &str, hash: Option<TokenHash>, mode: Mode, now: f64) -> Step {
        // Read before any check so that a revocation racing with us wins (see ResultCache).
        let epoch = self.cache.epoch();
        let jws = match token::parse(token, self.global().max_token_bytes, &self.algorithms) {
            Ok(Some(jws)) => jws,
            Ok(None) => return self.opaque(token, hash, mode, now, epoch),
            Err(e) => return Step::Done(Err(e)),
        };
        // One issuer: today's order, the payload parsed only after the signature verifies.
        let (index, payload) = if self.issuers.len() == 1 {
            (0, None)
        } else {
            match self.route(&jws) {
                Ok((index, payload)) => (index, Some(payload)),
                Err(e) => return Step::Done(Err(e)),
            }
        };
        let issuer = &self.issuers[index];
        // RFC 8725 §3.1: the allowlist is the routed issuer's, not the union parsed against.
        if !issuer.settings.algorithms.contains(&jws.alg) {
            return Step::Done(Err(Error::new(
                ErrorKind::AlgorithmNotAllowed,
                format!("alg {} is not allowed for this issuer", jws.alg),
            )));
        }
        let verified = match jws.alg.family() {
            Family::Hmac => verify_hmac(&issuer.hmac_keys, &jws).map(|()| None),
            _ => match &issuer.keys {
                // Static keys never change: nothing to bind a cached result to.
                Keys::Static(keys) => verify_with(keys, &jws).map(|_| None),
                Keys::Remote(jwks) => match jwks.lookup(jws.kid.as_deref(), mode) {
                    KeyLookup::Ready(keys) => verify_with(&keys, &jws).map(Some),
                    KeyLookup::Fetch { reason, attempts } => {
                        return Step::NeedKeys {
                            issuer: index,
                            reason,
                            attempts,
                        };
                    }
                    KeyLookup::Failed(e) => Err(e),
                },
                Keys::None => Err(Error::new(
                    ErrorKind::KeyNotFound,
                    "no public keys are configured",
                )),
            },
        };
        let introspect_too = issuer.settings.mode == TokenMode::Introspect;
        let cache_hash = if introspect_too { None } else { hash };
        match verified
            .and_then(|key| self.accept(issuer, jws, payload, cache_hash, key, epoch, now))
        {
            Ok(_) if introspect_too && mode == Mode::NoNetwork => Step::Done(Err(Error::new(
                ErrorKind::KeysNotLoaded,
                "mode introspect: the token must be introspected",
            ))),
            Ok(local) if introspect_too => Step::NeedIntrospection {
                issuer: index,
                local: Some(local),
                epoch,
            },
            other => Step::Done(other),
        }
    }

    /// Signature verified: decode and check the claims (`payload` when routing parsed it
    /// already), check revocation, cache the result.
    #[allow(clippy::too_many_arguments)]
    fn accept(
        &self,
        issuer: &Issuer,
        jws: CompactJws<'_>,
        payload: Option<Map<String, Value>>,
        hash: Option<TokenHash>,
        key: Option<KeyTag>,
        epoch: u64,
        now: f64,
    ) -> Result<Validated> {
        let settings = &issuer.settings;
        let payload_bytes = jws.payload;
        let payload = match payload {
            Some(p) => p,
            None => json::parse_object(&payload_bytes)
                .map_err(|e| Error::malformed(format!("payload: {e}")))?,
        };
        let payload_json = String::from_utf8(payload_bytes)
            .map_err(|_| Error::malformed("payload is not UTF-8"))?;
        let bounds = claims::check(&payload, jws.typ.as_deref(), settings, now)?;
        let claims = Arc::new(Claims::new(&payload, payload_json, jws.header_json));
        if !self.revocations.is_empty() && self.revocations.is_revoked(&claims, now) {
            return Err(Error::new(ErrorKind::Revoked, "token has been revoked"));
        }
        let validated = Validated {
            claims,
            source: Source::Local,
            expires_at: bounds.exp,
            introspected: false,
        };
        if let Some(h) = hash {
            let valid_until = bounds.cache_until(settings);
            let not_before = bounds.nbf.map(|nbf| nbf - settings.leeway);
            self.cache.insert(
                h,
                validated.clone(),
                valid_until,
                not_before,
                key,
                now,
                epoch,
            );
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

/// Longest `jti` or `sub` a revocation takes (real ones are UUIDs or short names).
const MAX_REVOCATION_ID_BYTES: usize = 1024;

fn check_revocation_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::config(field, "must not be empty"));
    }
    if value.len() > MAX_REVOCATION_ID_BYTES {
        return Err(Error::config(
            field,
            format!("must be at most {MAX_REVOCATION_ID_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// One HMAC key per allowed HS* algorithm, all from `shared_secret`.
pub(crate) fn hmac_keys(secret: &[u8], algorithms: &[Algorithm]) -> Vec<(Algorithm, hmac::Key)> {
    algorithms
        .iter()
        .filter_map(|a| a.hmac_algorithm().map(|h| (*a, hmac::Key::new(h, secret))))
        .collect()
}

pub(crate) fn verify_hmac(
    hmac_keys: &[(Algorithm, hmac::Key)],
    jws: &CompactJws<'_>,
) -> Result<()> {
    let key = hmac_keys
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

/// Verifies with the key the token's `kid` and `alg` select; returns that key's tag.
pub(crate) fn verify_with(keys: &KeySet, jws: &CompactJws<'_>) -> Result<KeyTag> {
    let (key, tag) = keys.select(jws.kid.as_deref(), jws.alg)?;
    key.verify_sig(jws.signing_input, &jws.signature)
        .map_err(|_| Error::new(ErrorKind::SignatureInvalid, "signature does not verify"))?;
    Ok(tag)
}

/// A static JWKS is the user's own configuration: any key we would refuse is a config error
/// (silently dropping it would fail later, far from the cause).
pub(crate) fn static_keys(doc: &serde_json::Value, algorithms: &[Algorithm]) -> Result<KeySet> {
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
