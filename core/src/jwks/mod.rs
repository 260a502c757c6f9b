//! The remote key set of one issuer: fetched on demand, cached, refreshed in the background,
//! served stale while the provider is down, and protected against fetch storms.
//!
//! Rules (each has a test in `core/tests/jwks.rs`):
//! - Single flight: however many validations need a fetch at once, one request goes out and
//!   everyone waits for it.
//! - Refresh rule: the cooldown limits only the refreshes that unknown kids cause. The first
//!   unknown `kid` after a fetch that an unknown kid did not cause (the first load, a scheduled
//!   refresh, `refresh_keys()`) refreshes at once, so a provider that starts signing with a new
//!   key right after any of those is never refused. Further unknown kids within
//!   `jwks_refresh_cooldown` of that refresh fail fast with `key_not_found` and are remembered
//!   (negative cache): a flood of forged kids costs at most one fetch per cooldown (plus the
//!   one it starts with) and never makes a request wait. A failed fetch backs everything off
//!   for the cooldown.
//! - Lifetime from `Cache-Control: max-age` clamped to `[jwks_min_ttl, jwks_max_ttl]`, else
//!   `jwks_ttl`. A refresh starts in the background at 80 % of it (no request waits for it).
//! - Past the lifetime the keys are stale: still used for up to `jwks_max_stale` while fetches
//!   fail, then `jwks_unavailable`.
//! - A key that a refresh no longer lists is withdrawn: the results it verified leave the
//!   result cache at once (`on_withdrawn`), not when their entries time out.
//! - Fleet mode (Redis): before asking the provider, an instance looks for a newer key set
//!   that another instance fetched (for an unknown kid: one that differs from its own); one
//!   instance of the fleet asks the provider while the others wait for its result (a lease),
//!   and the set it fetched is published for the others. A set taken from Redis was sealed
//!   with `fleet_secret` and is imported with the same checks as a fetched one.
//! - Nothing runs without traffic: refreshes are started by validations, so there is no timer
//!   thread to survive `fork()`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::config::Settings;
use crate::discovery::{Discovery, FetchError};
use crate::error::{Error, ErrorKind};
use crate::fleet::{Fleet, Lease, Lookup};
use crate::http::{self, Breaker, BreakerHealth, Policy};
use crate::json;
use crate::keys::{Algorithm, KeySet, KeyTag, import_jwks};
use crate::runtime;
use crate::stats::{Counter, RefreshReason, Stats};

/// A JWKS larger than this is refused (real ones are a few KB).
const MAX_JWKS_BYTES: usize = 512 * 1024;
/// Unknown kids remembered at most; beyond that the memory is reset (the cooldown still holds).
const MAX_NEGATIVE_KIDS: usize = 4096;
/// Refresh when this fraction of the lifetime has passed.
const REFRESH_AT: f64 = 0.8;

/// Where the key set is fetched from.
#[derive(Debug, Clone)]
pub(crate) enum Remote {
    Uri(reqwest::Url),
    Discovery(Arc<Discovery>),
}

#[derive(Debug, Clone)]
struct Timing {
    ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    cooldown: Duration,
    max_stale: Duration,
}

/// What the caller of [`JwksCache::lookup`] is able to do about missing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An async caller: may wait for a fetch.
    MayFetch,
    /// The fetch this call waited for has finished: use what is there.
    AfterFetch,
    /// A synchronous, network-free caller: answer `keys_not_loaded` where a fetch is needed.
    NoNetwork,
}

/// What a validation may do next.
pub(crate) enum KeyLookup {
    Ready(Arc<KeySet>),
    /// A fetch is needed first; `attempts` is the fetch count seen, for single-flight.
    Fetch {
        reason: RefreshReason,
        attempts: u64,
    },
    Failed(Error),
}

#[derive(Debug, Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    fresh_until: Option<Instant>,
    refresh_at: Option<Instant>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
    /// The last fetch failed: every kind of fetch waits out the cooldown after it (backoff).
    last_failed: bool,
    /// When the last refresh caused by an unknown kid started: only those are rate-limited,
    /// and only while the latest fetch is one of them.
    last_kid_refresh: Option<Instant>,
    /// The latest fetch started was caused by an unknown kid.
    last_was_kid: bool,
    /// The last failure was a configuration mistake, not an outage (see `FetchError`).
    misconfigured: bool,
    attempts: u64,
    /// The pid whose fetch is in flight, set and cleared under this lock with `attempts` and
    /// the keys, so that one read sees a consistent picture (a fetch of a parent process
    /// before fork is not in flight in the child).
    fetching: Option<u32>,
    last_error: Option<String>,
    /// When the set in use was fetched from the provider (by us or, in fleet mode, by another
    /// instance), in Unix seconds, and a digest of its document.
    fetched_unix: Option<f64>,
    digest: Option<[u8; 32]>,
}

/// A key set ready to be stored, from the provider or from the fleet.
struct Fetched {
    keys: KeySet,
    /// Remaining lifetime.
    ttl: Duration,
    /// When the provider served it (Unix seconds).
    fetched_unix: f64,
    digest: [u8; 32],
    /// The provider's document, to publish (fleet mode, provider fetches only).
    body: Option<String>,
    /// Fetched from the provider, not taken from the fleet: only these count as fetches
    /// (`jwks_fetch_ok`, `health().fetches_ok`); sets from Redis count as `redis_jwks_shared`.
    from_provider: bool,
}

/// A key set as the fleet shares it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Shared {
    fetched_at: f64,
    ttl: f64,
    body: String,
}

struct Inflight {
    pid: u32,
    done: watch::Receiver<bool>,
}

/// Told which keys a refresh withdrew (the validator purges their cached results).
pub(crate) type OnWithdrawn = Box<dyn Fn(&[KeyTag]) + Send + Sync>;

struct Inner {
    on_withdrawn: OnWithdrawn,
    remote: Remote,
    issuer: String,
    algorithms: Vec<Algorithm>,
    timing: Timing,
    policy: Policy,
    breaker: Breaker,
    state: RwLock<State>,
    inflight: Mutex<Option<Inflight>>,
    negative: Mutex<HashMap<String, Instant>>,
    stats: Arc<Stats>,
    /// This issuer's fetches (the validator's `stats` sum every issuer's).
    fetches_ok: Counter,
    fetches_failed: Counter,
    /// Fleet mode: the shared key set's Redis key.
    fleet: Option<(Arc<Fleet>, String)>,
}

/// The remote JWKS of one validator.
#[derive(Clone)]
pub(crate) struct JwksCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("remote", &self.inner.remote)
            .finish_non_exhaustive()
    }
}

/// A health view of the key set (served by `health()`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct JwksHealth {
    pub loaded: bool,
    pub keys: usize,
    pub kids: Vec<String>,
    /// Seconds since the last successful fetch.
    pub age_seconds: Option<f64>,
    /// `fresh`, `stale` (past its lifetime, still used), `expired` (past max_stale) or `empty`.
    pub freshness: &'static str,
    pub last_error: Option<String>,
    /// What `last_error` is: `misconfiguration` (retrying will not help: the provider's
    /// metadata names another issuer, say) or `outage`; `None` when the last fetch worked.
    pub problem: Option<&'static str>,
    pub fetches_ok: u64,
    pub fetches_failed: u64,
    pub breaker: BreakerHealth,
}

impl JwksCache {
    pub(crate) fn new(
        remote: Remote,
        settings: &Settings,
        stats: Arc<Stats>,
        on_withdrawn: OnWithdrawn,
        fleet: Option<Arc<Fleet>>,
    ) -> JwksCache {
        JwksCache {
            inner: Arc::new(Inner {
                fleet: fleet.map(|f| {
                    let key = f.jwks_key(&settings.issuer);
                    (f, key)
                }),
                on_withdrawn,
                remote,
                issuer: settings.issuer.clone(),
                policy: settings.http_policy(),
                breaker: settings.breaker("jwks"),
                algorithms: settings.algorithms.clone(),
                timing: Timing {
                    ttl: settings.jwks_ttl,
                    min_ttl: settings.jwks_min_ttl,
                    max_ttl: settings.jwks_max_ttl,
                    cooldown: settings.jwks_refresh_cooldown,
                    max_stale: settings.jwks_max_stale,
                },
                state: RwLock::new(State::default()),
                inflight: Mutex::new(None),
                negative: Mutex::new(HashMap::new()),
                stats,
                fetches_ok: Counter::default(),
                fetches_failed: Counter::default(),
            }),
        }
    }

    /// Decides, without waiting, whether keys for `kid` are at hand, and what to do if not.
    pub(crate) fn lookup(&self, kid: Option<&str>, mode: Mode) -> KeyLookup {
        let inner = &self.inner;
        let now = Instant::now();
        let (keys, fresh_until, refresh_at, cooling, kid_cooling, attempts, in_flight, last_error) = {
            let st = inner.state.read();
            let within = |t: Option<Instant>| t.is_some_and(|t| now < t + inner.timing.cooldown);
            // Failed fetches back everything off; successful ones hold back only the next
            // unknown-kid refresh, and only when an unknown kid caused them.
            let cooling = st.last_failed && within(st.last_attempt);
            let kid_cooling = cooling || (st.last_was_kid && within(st.last_kid_refresh));
            (
                st.keys.clone(),
                st.fresh_until,
                st.refresh_at,
                cooling,
                kid_cooling,
                st.attempts,
                st.fetching == Some(std::process::id()),
                st.last_error.clone(),
            )
        };
        // A fetch may start when the cooldown is over, or be joined when one is in flight.
        // What the caller does with that depends on its mode. Both facts come from the one
        // read above: a fetch that finishes while we decide must neither look like "no fetch
        // possible" (a spurious `jwks_unavailable`) nor be started again (a second request).
        let fetch_or = |reason: RefreshReason, otherwise: Error| -> KeyLookup {
            let cooling = if reason == RefreshReason::UnknownKid {
                kid_cooling
            } else {
                cooling
            };
            let can_fetch = mode != Mode::AfterFetch && (!cooling || in_flight);
            match (can_fetch, mode) {
                (true, Mode::MayFetch) => KeyLookup::Fetch {
                    reason,
                    // The fetch in flight counts as "started since the caller looked": if it
                    // has finished by the time the caller acts, there is nothing to wait for.
                    attempts: if in_flight {
                        attempts.saturating_sub(1)
                    } else {
                        attempts
                    },
                },
                (true, _) => KeyLookup::Failed(Error::new(
                    ErrorKind::KeysNotLoaded,
                    "keys must be fetched first",
                )),
                (false, _) => KeyLookup::Failed(otherwise),
            }
        };
        let unavailable = |what: &str| {
            let detail = last_error
                .as_deref()
                .unwrap_or("no fetch has completed yet");
            Error::new(ErrorKind::JwksUnavailable, format!("{what}: {detail}"))
        };
        let (Some(keys), Some(fresh_until)) = (keys, fresh_until) else {
            if mode == Mode::NoNetwork && !cooling {
                // Start loading in the background so a later network-free call finds the keys.
                self.start_fetch(RefreshReason::Initial, attempts);
                return KeyLookup::Failed(Error::new(
                    ErrorKind::KeysNotLoaded,
                    "the key set is not loaded yet",
                ));
            }
            return fetch_or(
                RefreshReason::Initial,
                unavailable("the key set could not be loaded"),
            );
        };
        if now >= fresh_until + inner.timing.max_stale {
            return fetch_or(
                RefreshReason::Expired,
                unavailable("cached keys are past jwks_max_stale"),
            );
        }
        let stale = now >= fresh_until;
        if !cooling && (stale || refresh_at.is_some_and(|r| now >= r)) {
            let reason = if stale {
                RefreshReason::Expired
            } else {
                RefreshReason::Scheduled
            };
            self.start_fetch(reason, attempts);
        }
        if let Some(kid) = kid {
            if !keys.contains_kid(kid) {
                let mut negative = inner.negative.lock();
                if negative.get(kid).is_none_or(|until| now >= *until) {
                    let not_found =
                        Error::new(ErrorKind::KeyNotFound, "no key with the token's kid");
                    match fetch_or(RefreshReason::UnknownKid, not_found) {
                        KeyLookup::Failed(e) if e.kind() == ErrorKind::KeyNotFound => {
                            // Inside the cooldown: remember the kid so repeats fail fast.
                            if negative.len() >= MAX_NEGATIVE_KIDS {
                                negative.clear();
                            }
                            negative.insert(kid.to_owned(), now + inner.timing.cooldown);
                        }
                        other => return other,
                    }
                }
                inner.stats.unknown_kid_fast_failures.inc();
                return KeyLookup::Failed(Error::new(
                    ErrorKind::KeyNotFound,
                    "no key with the token's kid (an unknown kid refreshed the key set within the cooldown)",
                ));
            }
        }
        if stale {
            inner.stats.stale_served.inc();
        }
        KeyLookup::Ready(keys)
    }

    /// Fetches (or joins the fetch in flight) and waits for it to finish. Never needs the
    /// caller's runtime: the fetch runs on jwtgate's own and we only wait on a channel.
    pub(crate) async fn fetch(&self, reason: RefreshReason, attempts: u64) {
        if let Some(mut done) = self.start_fetch(reason, attempts) {
            // An error means the fetch task is gone (runtime shut down): nothing to wait for.
            let _ = done.wait_for(|finished| *finished).await;
        }
    }

    /// Starts a fetch unless one is in flight (then joins it) or one started since the caller
    /// looked (`attempts` changed: then there is nothing to wait for).
    fn start_fetch(&self, reason: RefreshReason, attempts: u64) -> Option<watch::Receiver<bool>> {
        let inner = &self.inner;
        let pid = std::process::id();
        let mut inflight = inner.inflight.lock();
        if let Some(f) = inflight.as_ref() {
            if f.pid == pid {
                return Some(f.done.clone());
            }
        }
        {
            let mut st = inner.state.write();
            if st.attempts != attempts {
                return None;
            }
            st.attempts += 1;
            let now = Instant::now();
            st.last_attempt = Some(now);
            st.last_was_kid = reason == RefreshReason::UnknownKid;
            if st.last_was_kid {
                st.last_kid_refresh = Some(now);
            }
            st.fetching = Some(pid);
        }
        let (tx, rx) = watch::channel(false);
        *inflight = Some(Inflight {
            pid,
            done: rx.clone(),
        });
        drop(inflight);
        inner.stats.refresh(reason);
        tracing::debug!(target: "jwtgate::jwks", issuer = %inner.issuer, reason = reason.as_str(), "fetching JWKS");
        let task_inner = inner.clone();
        runtime::shared().runtime.spawn(async move {
            let result = task_inner.fetch_shared(reason).await;
            task_inner.store(result);
            *task_inner.inflight.lock() = None;
            let _ = tx.send(true);
        });
        Some(rx)
    }

    /// `refresh_keys()`: fetches now, unless a fetch started in the last second (then joins
    /// it, or takes its result), and waits for it. Not limited by the cooldown: an operator
    /// asked.
    pub(crate) async fn refresh_now(&self) {
        let attempts = {
            let st = self.inner.state.read();
            let recent = st
                .last_attempt
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1));
            if recent && st.fetching != Some(std::process::id()) {
                return;
            }
            st.attempts
        };
        self.fetch(RefreshReason::Manual, attempts).await;
    }

    /// The last fetch failed: its message.
    pub(crate) fn last_fetch_failure(&self) -> Option<String> {
        let st = self.inner.state.read();
        if st.last_failed {
            st.last_error.clone()
        } else {
            None
        }
    }

    /// The last fetch failed because of a configuration mistake (not an outage): its message.
    pub(crate) fn misconfiguration(&self) -> Option<String> {
        let st = self.inner.state.read();
        if st.misconfigured {
            st.last_error.clone()
        } else {
            None
        }
    }

    pub(crate) fn breaker_transitions(&self) -> u64 {
        self.inner.breaker.transitions.get()
    }

    pub(crate) fn health(&self) -> JwksHealth {
        let st = self.inner.state.read();
        let now = Instant::now();
        let freshness = match (st.keys.as_ref(), st.fresh_until) {
            (Some(_), Some(until)) if now < until => "fresh",
            (Some(_), Some(until)) if now < until + self.inner.timing.max_stale => "stale",
            (Some(_), _) => "expired",
            (None, _) => "empty",
        };
        JwksHealth {
            loaded: st.keys.is_some(),
            keys: st.keys.as_ref().map_or(0, |k| k.len()),
            kids: st
                .keys
                .as_ref()
                .map(|k| k.kids().map(str::to_owned).collect())
                .unwrap_or_default(),
            age_seconds: st.fetched_at.map(|t| now.duration_since(t).as_secs_f64()),
            freshness,
            last_error: st.last_error.clone(),
            problem: st.last_error.as_ref().map(|_| {
                if st.misconfigured {
                    "misconfiguration"
                } else {
                    "outage"
                }
            }),
            fetches_ok: self.inner.fetches_ok.get(),
            fetches_failed: self.inner.fetches_failed.get(),
            breaker: self.inner.breaker.health(),
        }
    }
}

impl Inner {
    /// The key set to store: without Redis, the provider's. In fleet mode, a newer set another
    /// instance published if it helps; else the provider's (one instance of the fleet asks, the
    /// others wait for its result), published for the others. `refresh_keys()` always asks
    /// the provider: the operator wants the provider's current set.
    async fn fetch_shared(&self, reason: RefreshReason) -> Result<Fetched, FetchError> {
        let Some((fleet, key)) = &self.fleet else {
            return self.fetch_keys().await;
        };
        if reason != RefreshReason::Manual {
            if let Lookup::Hit(payload) = fleet.get(key).await {
                if let Some(fetched) = self.adopt(&payload, reason) {
                    fleet.note_jwks_shared();
                    return Ok(fetched);
                }
            }
        }
        let hold = Fleet::lease_time(self.policy.deadline);
        let lease = fleet
            .lease(key, hold, |payload| {
                // A manual refresh asks the provider whatever the fleet holds.
                (reason != RefreshReason::Manual)
                    .then(|| self.adopt(payload, reason))
                    .flatten()
            })
            .await;
        let lease = match lease {
            Lease::Answered(fetched) => {
                fleet.note_jwks_shared();
                return Ok(fetched);
            }
            other => other,
        };
        if matches!(lease, Lease::Taken) && reason != RefreshReason::Manual {
            let mut adopted = None;
            fleet
                .wait_for(key, hold, |payload| {
                    adopted = self.adopt(&payload, reason);
                    adopted.is_some()
                })
                .await;
            if let Some(fetched) = adopted {
                fleet.note_jwks_shared();
                return Ok(fetched);
            }
        }
        let result = self.fetch_keys().await;
        if let Ok(Fetched {
            body: Some(body),
            fetched_unix,
            ttl,
            ..
        }) = &result
        {
            let shared = Shared {
                fetched_at: *fetched_unix,
                ttl: ttl.as_secs_f64(),
                body: body.clone(),
            };
            if let Ok(payload) = serde_json::to_vec(&shared) {
                fleet
                    .put(key, &payload, shared.fetched_at + shared.ttl)
                    .await;
            }
        }
        if matches!(lease, Lease::Acquired) {
            fleet.release(key).await;
        }
        result
    }

    /// A set another instance published, if it is newer than ours, not yet due for refresh,
    /// and (for an unknown kid) not the set we already have. Imported with the usual checks.
    fn adopt(&self, payload: &[u8], reason: RefreshReason) -> Option<Fetched> {
        let shared: Shared = serde_json::from_slice(payload).ok()?;
        let now = crate::validator::now();
        if !(shared.fetched_at.is_finite() && shared.ttl.is_finite() && shared.ttl > 0.0) {
            return None;
        }
        let remaining = shared.fetched_at + shared.ttl - now;
        if now >= shared.fetched_at + shared.ttl * REFRESH_AT || remaining <= 0.0 {
            return None;
        }
        let digest = *blake3::hash(shared.body.as_bytes()).as_bytes();
        {
            let st = self.state.read();
            if st
                .fetched_unix
                .is_some_and(|ours| shared.fetched_at <= ours)
            {
                return None;
            }
            if reason == RefreshReason::UnknownKid && st.digest == Some(digest) {
                return None;
            }
        }
        let doc = json::parse_object(shared.body.as_bytes()).ok()?;
        let (keys, _) = import_jwks(&doc, &self.algorithms).ok()?;
        if keys.is_empty() {
            return None;
        }
        tracing::debug!(target: "jwtgate::jwks", issuer = %self.issuer, "key set taken from the fleet");
        Some(Fetched {
            keys: KeySet::new(keys),
            ttl: Duration::from_secs_f64(remaining.min(self.timing.max_ttl.as_secs_f64())),
            fetched_unix: shared.fetched_at,
            digest,
            body: None,
            from_provider: false,
        })
    }

    async fn fetch_keys(&self) -> Result<Fetched, FetchError> {
        let url = match &self.remote {
            Remote::Uri(url) => url.clone(),
            Remote::Discovery(discovery) => discovery
                .metadata()
                .await?
                .jwks_uri
                .clone()
                .ok_or("the provider metadata has no jwks_uri")?,
        };
        let client = runtime::shared().http.clone();
        let make = || {
            client.get(url.clone()).header(
                reqwest::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
        };
        let fetched = http::send(
            make,
            &url,
            &self.policy,
            &self.breaker,
            &self.stats,
            MAX_JWKS_BYTES,
        )
        .await?;
        if fetched.status != 200 {
            return Err(
                format!("{} answered HTTP {}", http::redacted(&url), fetched.status).into(),
            );
        }
        let doc = json::parse_object(&fetched.body)
            .map_err(|e| format!("the JWKS is not valid JSON: {e}"))?;
        let (keys, rejected) = import_jwks(&doc, &self.algorithms)?;
        for rejection in &rejected {
            self.stats.jwks_keys_rejected.inc();
            tracing::warn!(target: "jwtgate::jwks", issuer = %self.issuer, "JWKS key refused: {rejection}");
        }
        if keys.is_empty() {
            return Err("the JWKS has no key usable with the allowed algorithms".into());
        }
        let ttl = fetched.max_age.map_or(self.timing.ttl, |age| {
            age.clamp(self.timing.min_ttl, self.timing.max_ttl)
        });
        let digest = *blake3::hash(&fetched.body).as_bytes();
        Ok(Fetched {
            keys: KeySet::new(keys),
            ttl,
            fetched_unix: crate::validator::now(),
            digest,
            // Kept in fleet mode only, for `fetch_shared` to publish (it parsed as JSON, so it
            // is UTF-8).
            body: self
                .fleet
                .is_some()
                .then(|| String::from_utf8(fetched.body).ok())
                .flatten(),
            from_provider: true,
        })
    }

    fn store(&self, result: Result<Fetched, FetchError>) {
        let now = Instant::now();
        match result {
            Ok(Fetched {
                keys,
                ttl,
                fetched_unix,
                digest,
                from_provider,
                ..
            }) => {
                if from_provider {
                    self.stats.jwks_fetch_ok.inc();
                    self.fetches_ok.inc();
                }
                let mut st = self.state.write();
                let withdrawn: Vec<KeyTag> = st.keys.as_ref().map_or_else(Vec::new, |old| {
                    old.tags()
                        .filter(|tag| !keys.tags().any(|t| t == *tag))
                        .collect()
                });
                st.fetching = None;
                st.keys = Some(Arc::new(keys));
                // Age counts from the provider's answer, also for a set from the fleet.
                let age = (crate::validator::now() - fetched_unix).max(0.0);
                st.fetched_at = Some(now.checked_sub(Duration::from_secs_f64(age)).unwrap_or(now));
                st.fetched_unix = Some(fetched_unix);
                st.digest = Some(digest);
                st.fresh_until = Some(now + ttl);
                st.refresh_at = Some(now + ttl.mul_f64(REFRESH_AT));
                st.last_error = None;
                st.last_failed = false;
                st.misconfigured = false;
                drop(st);
                // New keys may hold kids we refused a moment ago.
                self.negative.lock().clear();
                if !withdrawn.is_empty() {
                    (self.on_withdrawn)(&withdrawn);
                    tracing::info!(target: "jwtgate::jwks", issuer = %self.issuer, withdrawn = withdrawn.len(), "keys withdrawn from the JWKS: their cached results are dropped");
                }
            }
            Err(e) => {
                // The event first: whoever sees the count may expect the event to be queued.
                tracing::warn!(target: "jwtgate::jwks", issuer = %self.issuer, misconfigured = e.misconfigured, "JWKS fetch failed: {}", e.message);
                self.stats.jwks_fetch_failed.inc();
                self.fetches_failed.inc();
                let mut st = self.state.write();
                st.fetching = None;
                st.last_error = Some(e.message);
                st.last_failed = true;
                st.misconfigured = e.misconfigured;
            }
        }
    }
}
