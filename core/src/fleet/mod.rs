//! Fleet mode: instances that share one Redis (or Redis Cluster) share introspection
//! results, key sets and revocations (`docs/fleet.md`).
//!
//! Redis is a second cache layer behind the in-process one, never a dependency:
//! - every command is bounded by `redis_timeout`, behind a circuit breaker; a failure, a
//!   timeout or an open circuit is a miss, and the instance goes on with its own cache and
//!   its own provider calls. No request fails because of Redis.
//! - every key that depends on a token is an HMAC of it, every value is sealed (`seal.rs`):
//!   what fails the check is a miss, counted as `redis_tampered`, and never used.
//! - distributed single flight: the first instance to need a provider call takes a short
//!   lease (`SET NX PX`); the others poll for its result for a bounded time, then call the
//!   provider themselves rather than fail.
//! - revocations: written to a hash and published on a channel; every instance subscribes,
//!   applies what it receives at once, and on every (re)subscription reloads the whole hash
//!   and writes back what it knows and Redis lacks (a revocation made while Redis was down,
//!   or one deleted from Redis by someone without the secret: removals are never trusted).
//!
//! JWT validation results stay in the in-process cache only: a local signature check costs
//! less than a Redis round trip (measured in `benches/fleet/RESULTS.md`).

mod conn;
pub(crate) mod seal;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::config::FleetSettings;
use crate::http::{Breaker, BreakerHealth};
use crate::runtime;
use crate::stats::Counter;
use seal::{Keys, Unsealed};

/// A Redis breaker that opened stays open this long before one probe (Redis is local
/// infrastructure that restarts in seconds; the subscription's reconnect closes it sooner).
const BREAKER_COOLDOWN: Duration = Duration::from_secs(2);
/// How often a waiter looks for the result of another instance's provider call.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// The subscription's reconnect delay grows to this.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);
/// Revocations waiting for Redis (made while it was down) kept at most; older ones are still
/// in force locally and reach Redis at the next reload's write-back.
const MAX_PENDING: usize = 10_000;
/// How often a subscribed instance re-reads the revocation list and writes back what it
/// lacks.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// Longest `jti`/`sub` accepted from Redis (as from `revoke()`).
const MAX_ID_BYTES: usize = 1024;

/// Forks announced by the host (`jwtgate::after_fork`): a forked child's validators restart
/// their subscription on their next call, a cache hit included. Without the announcement they
/// restart it on their next cache miss (the pid check), which a child that only ever serves
/// results its parent cached would never reach.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Tells jwtgate that this process is a child just forked (Python's face calls it from
/// `os.register_at_fork`; C hosts that fork may call `jwtgate_after_fork`). Cheap and safe to
/// call more than once.
pub fn after_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// A revocation as the fleet carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Revocation {
    /// `jti` or `sub`.
    pub kind: RevocationKind,
    pub id: String,
    /// `jti`: revoked until (Unix seconds; `None`: forever). `sub`: tokens issued at or
    /// before this time are revoked.
    pub at: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RevocationKind {
    Jti,
    Sub,
}

impl Revocation {
    fn field(&self) -> String {
        match self.kind {
            RevocationKind::Jti => format!("jti:{}", self.id),
            RevocationKind::Sub => format!("sub:{}", self.id),
        }
    }

    /// A revocation read from Redis is checked like one given to `revoke()`.
    fn is_well_formed(&self) -> bool {
        !self.id.is_empty()
            && self.id.len() <= MAX_ID_BYTES
            && match self.kind {
                RevocationKind::Jti => self.at.is_none_or(f64::is_finite),
                RevocationKind::Sub => self.at.is_some_and(|t| t.is_finite() && t >= 0.0),
            }
    }

    /// Still in force at `now` (a `jti` entry ends with its token).
    fn in_force(&self, now: f64) -> bool {
        self.kind == RevocationKind::Sub || self.at.is_none_or(|until| until > now)
    }
}

/// What the fleet applies revocations to: the validator.
pub(crate) trait RevocationSink: Send + Sync {
    /// Applies one revocation locally (and purges cached results); returns how many.
    fn apply(&self, revocation: &Revocation) -> usize;
    /// Every revocation known locally.
    fn known(&self) -> Vec<Revocation>;
}

/// A message on the revocation channel.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    /// The instance that sent it (it has applied it already).
    origin: u64,
    revocation: Revocation,
}

/// An introspection answer kept for the fleet.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Vec<u8>),
    Miss,
    /// Redis could not be asked (down, slow, circuit open).
    Unavailable,
}

/// The result of asking for the lease on a provider call.
#[derive(Debug)]
pub(crate) enum Lease<T> {
    /// Ours: call the provider, publish, release.
    Acquired,
    /// Another instance is calling: wait for its result.
    Taken,
    /// Redis could not be asked: call the provider.
    Unavailable,
    /// The answer arrived between our miss and our lease (another instance stored it and
    /// released its lease in between) and the caller's `accept` took it: here it is, and our
    /// lease is released again. A value the caller does not take (e.g. the key set we already
    /// have, met while looking for a rotated one) leaves the lease ours: `Acquired`.
    Answered(T),
}

/// The fleet's counters (`stats()`).
#[derive(Debug, Default)]
struct Counters {
    l2_hits: Counter,
    l2_misses: Counter,
    errors: Counter,
    tampered: Counter,
    lease_waits: Counter,
    revocations_published: Counter,
    revocations_received: Counter,
    jwks_shared: Counter,
}

/// The fleet's part of `stats()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FleetStats {
    /// Introspection answers and key sets found in Redis.
    pub redis_l2_hits: u64,
    /// Looked up in Redis and not there.
    pub redis_l2_misses: u64,
    /// Commands that failed or took longer than `redis_timeout`, and commands skipped while
    /// the Redis circuit was open.
    pub redis_errors: u64,
    /// Values that failed the `fleet_secret` check: never used.
    pub redis_tampered: u64,
    /// Times this instance waited for another's provider call (distributed single flight).
    pub redis_lease_waits: u64,
    pub redis_revocations_published: u64,
    pub redis_revocations_received: u64,
    /// Key sets taken from Redis instead of the provider.
    pub redis_jwks_shared: u64,
}

/// The fleet's part of `health()`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetHealth {
    /// `single` or `cluster`.
    pub mode: &'static str,
    /// The Redis URLs, without user or password.
    pub nodes: Vec<String>,
    /// The last command (or subscription) reached Redis.
    pub connected: bool,
    /// The revocation channel is subscribed: revocations from other instances arrive.
    pub subscribed: bool,
    /// Revocations made here that Redis has not taken yet (retried until it does).
    pub pending_revocations: usize,
    pub breaker: BreakerHealth,
    pub last_error: Option<String>,
}

pub(crate) struct Fleet {
    /// This process's connection (re-fetched from the pool after fork: a parent's
    /// connection is driven by tasks that do not exist in the child).
    connection: Mutex<Arc<conn::Connection>>,
    target: crate::config::RedisTarget,
    keys: Keys,
    prefix: String,
    timeout: Duration,
    breaker: Breaker,
    counters: Counters,
    /// This instance on the channel (random).
    origin: u64,
    connected: AtomicBool,
    subscribed: AtomicBool,
    /// The pid whose subscription runs (0: none): a forked child starts its own.
    subscriber_pid: AtomicU32,
    pending: Mutex<Vec<Revocation>>,
    last_error: Mutex<Option<String>>,
    /// Bumped at each successful (re)subscription, for tests and health.
    subscriptions: AtomicU64,
    /// `FORKS` when the subscription was last (re)started.
    seen_forks: AtomicU64,
    /// Subscription attempts that failed (Redis unreachable), for `wait_subscribed`.
    failed_attempts: AtomicU64,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("nodes", &self.target.redacted())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    pub(crate) fn new(settings: &FleetSettings, breaker_threshold: u32) -> crate::Result<Fleet> {
        let connection =
            conn::shared(&settings.target).map_err(|e| crate::Error::config("redis_url", e))?;
        let mut origin = [0u8; 8];
        aws_lc_rs::rand::fill(&mut origin)
            .map_err(|_| crate::Error::new(crate::ErrorKind::Internal, "no randomness"))?;
        Ok(Fleet {
            connection: Mutex::new(connection),
            target: settings.target.clone(),
            keys: Keys::new(&settings.secret),
            prefix: settings.prefix.clone(),
            timeout: settings.timeout,
            breaker: Breaker::new("redis", breaker_threshold, BREAKER_COOLDOWN),
            counters: Counters::default(),
            origin: u64::from_le_bytes(origin),
            connected: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            subscriber_pid: AtomicU32::new(0),
            pending: Mutex::new(Vec::new()),
            last_error: Mutex::new(None),
            subscriptions: AtomicU64::new(0),
            seen_forks: AtomicU64::new(FORKS.load(Ordering::Relaxed)),
            failed_attempts: AtomicU64::new(0),
        })
    }

    /// The connection of this process (the pool's, re-fetched when the pid changed).
    fn connection(&self) -> Arc<conn::Connection> {
        let mut current = self.connection.lock();
        if !current.is_current() {
            if let Ok(fresh) = conn::shared(&self.target) {
                *current = fresh;
            }
        }
        current.clone()
    }

    // ---- names -------------------------------------------------------------------------

    /// The key of `issuer`'s introspection answer for `token`. The `{...}` hash tag keeps the
    /// answer and its lease in one Redis Cluster slot.
    pub(crate) fn introspection_key(&self, issuer: &str, token: &str) -> String {
        let name = self
            .keys
            .name(&[b"introspection", issuer.as_bytes(), token.as_bytes()]);
        format!("{}introspection:{{{name}}}", self.prefix)
    }

    /// The key of `issuer`'s shared key set.
    pub(crate) fn jwks_key(&self, issuer: &str) -> String {
        let name = self.keys.name(&[b"jwks", issuer.as_bytes()]);
        format!("{}jwks:{{{name}}}", self.prefix)
    }

    fn revocations_key(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    fn channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    // ---- commands ----------------------------------------------------------------------

    /// Runs one command, bounded by `redis_timeout` and behind the breaker. `None`: failed
    /// or skipped (counted), the caller goes on alone.
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Option<T> {
        if self.breaker.allow().is_err() {
            self.counters.errors.inc();
            return None;
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, async {
            let mut handle = self
                .connection()
                .handle(self.timeout)
                .await
                .ok_or_else(|| "not connected".to_string())?;
            handle.query::<T>(cmd).await.map_err(|e| describe(&e))
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within redis_timeout ({} ms)",
                started.elapsed().as_millis()
            ))
        });
        match outcome {
            Ok(value) => {
                self.breaker.success();
                self.connected.store(true, Ordering::Relaxed);
                Some(value)
            }
            Err(e) => {
                self.failed(format!("redis: {e}"));
                None
            }
        }
    }

    fn failed(&self, error: String) {
        self.counters.errors.inc();
        self.breaker.failure();
        self.breaker.note_error(&error);
        self.connected.store(false, Ordering::Relaxed);
        tracing::debug!(target: "jwtgate::fleet", "{error}");
        *self.last_error.lock() = Some(error);
    }

    /// Reads and checks a sealed value.
    pub(crate) async fn get(&self, key: &str) -> Lookup {
        let Some(value) = self
            .run::<Option<Vec<u8>>>(redis::cmd("GET").arg(key))
            .await
        else {
            return Lookup::Unavailable;
        };
        self.open(key, value)
    }

    fn open(&self, key: &str, value: Option<Vec<u8>>) -> Lookup {
        let Some(value) = value else {
            self.counters.l2_misses.inc();
            return Lookup::Miss;
        };
        match self.keys.open(key, &value, crate::validator::now()) {
            Unsealed::Valid(payload) => {
                self.counters.l2_hits.inc();
                Lookup::Hit(payload)
            }
            Unsealed::Expired => {
                self.counters.l2_misses.inc();
                Lookup::Miss
            }
            Unsealed::Tampered => {
                self.tampered(key);
                Lookup::Miss
            }
        }
    }

    fn tampered(&self, key: &str) {
        self.counters.tampered.inc();
        // The key is ours (prefix + HMAC): safe to log. The value is not logged.
        tracing::warn!(target: "jwtgate::audit", event = "redis_tampered", key, "a value in Redis failed the fleet_secret check and was ignored");
    }

    /// Seals and stores `payload` under `key` until `expires_at` (Unix seconds).
    pub(crate) async fn put(&self, key: &str, payload: &[u8], expires_at: f64) {
        let ttl_ms = ((expires_at - crate::validator::now()) * 1000.0).floor();
        if ttl_ms.is_nan() || ttl_ms < 1.0 {
            return;
        }
        let sealed = self.keys.seal(key, expires_at, payload);
        let _ = self
            .run::<()>(
                redis::cmd("SET")
                    .arg(key)
                    .arg(sealed)
                    .arg("PX")
                    .arg(ttl_ms as u64),
            )
            .await;
    }

    /// Asks for the lease on the provider call for `key`, for `hold` at most. `accept` turns
    /// a value found by the second look into the caller's answer, or refuses it.
    pub(crate) async fn lease<T>(
        &self,
        key: &str,
        hold: Duration,
        accept: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Lease<T> {
        let acquired = self
            .run::<Option<String>>(
                redis::cmd("SET")
                    .arg(format!("{key}:lease"))
                    .arg(self.origin)
                    .arg("NX")
                    .arg("PX")
                    .arg(hold.as_millis().max(1) as u64),
            )
            .await;
        match acquired {
            Some(Some(_)) => {}
            Some(None) => return Lease::Taken,
            None => return Lease::Unavailable,
        }
        // A second look: the instance that held the lease may have stored its answer and
        // released the lease between our miss and our SET NX (seen in the fleet benchmark as
        // 7 extra provider calls in 300 tokens met by four instances at once).
        let value = self
            .run::<Option<Vec<u8>>>(redis::cmd("GET").arg(key))
            .await
            .flatten();
        if let Some(value) = value {
            match self.keys.open(key, &value, crate::validator::now()) {
                Unsealed::Valid(payload) => {
                    // Released only for an answer the caller takes: releasing the lease over
                    // a value it refuses sent the caller to the provider without a lease, and
                    // the fleet benchmark saw 1.8 key-set fetches per rotation instead of 1.
                    if let Some(answer) = accept(&payload) {
                        self.counters.l2_hits.inc();
                        self.release(key).await;
                        return Lease::Answered(answer);
                    }
                }
                Unsealed::Tampered => self.tampered(key),
                Unsealed::Expired => {}
            }
        }
        Lease::Acquired
    }

    pub(crate) async fn release(&self, key: &str) {
        let _ = self
            .run::<i64>(redis::cmd("DEL").arg(format!("{key}:lease")))
            .await;
    }

    /// Waits, up to `bound`, for another instance's result under `key`: returns the first
    /// value `accept` takes; `None` when the lease ends without one (that instance failed)
    /// or the time is up: call the provider yourself.
    pub(crate) async fn wait_for(
        &self,
        key: &str,
        bound: Duration,
        mut accept: impl FnMut(Vec<u8>) -> bool,
    ) -> Option<Vec<u8>> {
        self.counters.lease_waits.inc();
        let deadline = Instant::now() + bound;
        let lease = format!("{key}:lease");
        while Instant::now() < deadline {
            tokio::time::sleep(POLL_EVERY).await;
            let mut pipe = redis::pipe();
            pipe.cmd("GET").arg(key).cmd("EXISTS").arg(&lease);
            let (value, leased) = self.run_pipe::<(Option<Vec<u8>>, i64)>(&pipe).await?;
            if let Lookup::Hit(payload) = self.open(key, value) {
                if accept(payload.clone()) {
                    return Some(payload);
                }
            }
            if leased == 0 {
                return None;
            }
        }
        None
    }

    async fn run_pipe<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Option<T> {
        if self.breaker.allow().is_err() {
            self.counters.errors.inc();
            return None;
        }
        let outcome = tokio::time::timeout(self.timeout, async {
            let handle = self.connection().handle(self.timeout).await;
            match handle {
                Some(conn::Handle::Single(mut c)) => pipe
                    .query_async::<T>(&mut c)
                    .await
                    .map_err(|e| describe(&e)),
                Some(conn::Handle::Cluster(mut c)) => pipe
                    .query_async::<T>(&mut c)
                    .await
                    .map_err(|e| describe(&e)),
                None => Err("not connected".to_string()),
            }
        })
        .await
        .unwrap_or_else(|_| Err("no answer within redis_timeout".to_string()));
        match outcome {
            Ok(v) => {
                self.breaker.success();
                self.connected.store(true, Ordering::Relaxed);
                Some(v)
            }
            Err(e) => {
                self.failed(format!("redis: {e}"));
                None
            }
        }
    }

    pub(crate) fn note_jwks_shared(&self) {
        self.counters.jwks_shared.inc();
    }

    /// The lease a provider call holds at most: the fetch's own deadline.
    pub(crate) fn lease_time(deadline: Duration) -> Duration {
        deadline.max(Duration::from_millis(100))
    }

    // ---- revocations -------------------------------------------------------------------

    /// Sends a revocation made here to the fleet (in the background: `revoke()` never waits
    /// for Redis). If Redis cannot take it now, it is kept and sent when Redis is back.
    pub(crate) fn publish(self: &Arc<Self>, revocation: Revocation) {
        let this = self.clone();
        runtime::shared().runtime.spawn(async move {
            if !this.send(&revocation).await {
                this.keep_pending(revocation);
            }
        });
    }

    fn keep_pending(&self, revocation: Revocation) {
        let mut pending = self.pending.lock();
        if pending.len() < MAX_PENDING {
            pending.push(revocation);
        }
    }

    /// Writes one revocation to the hash, then publishes it: in that order, so that an
    /// instance subscribing in between finds it when it reloads. It is published even when
    /// the hash cannot take it (in a cluster, the hash's master may be down): the instances
    /// listening hear it now, and the write is retried. True when both worked.
    async fn send(&self, revocation: &Revocation) -> bool {
        let Ok(payload) = serde_json::to_vec(revocation) else {
            return false;
        };
        let hash = self.revocations_key();
        let field = revocation.field();
        let sealed = self
            .keys
            .seal(&format!("{hash}\n{field}"), f64::INFINITY, &payload);
        let stored = self
            .run::<i64>(redis::cmd("HSET").arg(&hash).arg(&field).arg(sealed))
            .await
            .is_some();
        let message = Message {
            origin: self.origin,
            revocation: revocation.clone(),
        };
        let Ok(message) = serde_json::to_vec(&message) else {
            return false;
        };
        let channel = self.channel();
        let sealed = self.keys.seal(&channel, f64::INFINITY, &message);
        let published = self
            .run::<i64>(redis::cmd("PUBLISH").arg(&channel).arg(sealed))
            .await
            .is_some();
        if published {
            self.counters.revocations_published.inc();
        }
        stored && published
    }

    pub(crate) fn failed_attempts(&self) -> u64 {
        self.failed_attempts.load(Ordering::Relaxed)
    }

    /// A fork was announced since the subscription started: two relaxed loads, for the hit
    /// path.
    #[inline]
    pub(crate) fn fork_announced(&self) -> bool {
        FORKS.load(Ordering::Relaxed) != self.seen_forks.load(Ordering::Relaxed)
    }

    /// Starts this process's subscription for `sink` unless it runs already (a forked child
    /// starts its own). Called on cache misses, `ready()` and `revoke()`, never on a hit.
    pub(crate) fn ensure_subscribed(self: &Arc<Self>, sink: Weak<dyn RevocationSink>) {
        self.seen_forks
            .store(FORKS.load(Ordering::Relaxed), Ordering::Relaxed);
        let pid = std::process::id();
        let previous = self.subscriber_pid.swap(pid, Ordering::AcqRel);
        if previous == pid {
            return;
        }
        self.subscribed.store(false, Ordering::Relaxed);
        let this = self.clone();
        runtime::shared()
            .runtime
            .spawn(async move { this.subscription(sink, pid).await });
    }

    /// The subscription loop: (re)subscribes, reloads and writes back the revocation list,
    /// applies what arrives, flushes revocations made while Redis was down. Ends when the
    /// validator is dropped.
    async fn subscription(self: Arc<Self>, sink: Weak<dyn RevocationSink>, pid: u32) {
        use futures_util::StreamExt;
        let urls = self.connection().subscription_urls();
        let channel = self.channel();
        let mut delay = Duration::from_millis(50);
        let mut node = 0usize;
        loop {
            if sink.strong_count() == 0 || self.subscriber_pid.load(Ordering::Acquire) != pid {
                return;
            }
            let url = &urls[node % urls.len()];
            node += 1;
            let subscribed = async {
                let client = redis::Client::open(url.as_str()).ok()?;
                let mut pubsub =
                    tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub())
                        .await
                        .ok()?
                        .ok()?;
                tokio::time::timeout(Duration::from_secs(2), pubsub.subscribe(&channel))
                    .await
                    .ok()?
                    .ok()?;
                Some(pubsub)
            }
            .await;
            let Some(pubsub) = subscribed else {
                self.subscribed.store(false, Ordering::Relaxed);
                self.failed_attempts.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY);
                continue;
            };
            delay = Duration::from_millis(50);
            // Subscribed first, then reloaded: nothing published in between is lost.
            self.breaker.success();
            if !self.reload(&sink).await {
                self.failed_attempts.fetch_add(1, Ordering::Relaxed);
                // The hash could not be read: try again from the start.
                tokio::time::sleep(delay).await;
                continue;
            }
            self.subscribed.store(true, Ordering::Relaxed);
            self.connected.store(true, Ordering::Relaxed);
            self.subscriptions.fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "jwtgate::fleet", "subscribed to the fleet's revocations");
            let mut messages = pubsub.into_on_message();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut last_reload = Instant::now();
            loop {
                tokio::select! {
                    message = messages.next() => {
                        let Some(message) = message else { break };
                        let Some(sink) = sink.upgrade() else { return };
                        self.received(&channel, message.get_payload_bytes(), &*sink);
                    }
                    _ = tick.tick() => {
                        if sink.strong_count() == 0
                            || self.subscriber_pid.load(Ordering::Acquire) != pid
                        {
                            return;
                        }
                        self.flush_pending().await;
                        // Reconcile now and then: a revocation deleted from Redis (by someone
                        // without the secret) is written back, so instances that start later
                        // still see it.
                        if last_reload.elapsed() >= RECONCILE_EVERY && self.reload(&sink).await {
                            last_reload = Instant::now();
                        }
                    }
                }
            }
            self.subscribed.store(false, Ordering::Relaxed);
            tracing::warn!(target: "jwtgate::fleet", "the fleet's revocation channel dropped: resubscribing");
        }
    }

    fn received(&self, channel: &str, payload: &[u8], sink: &dyn RevocationSink) {
        let payload = match self.keys.open(channel, payload, crate::validator::now()) {
            Unsealed::Valid(p) => p,
            _ => {
                self.tampered(channel);
                return;
            }
        };
        let Ok(message) = serde_json::from_slice::<Message>(&payload) else {
            self.tampered(channel);
            return;
        };
        if message.origin == self.origin || !message.revocation.is_well_formed() {
            return;
        }
        self.counters.revocations_received.inc();
        let removed = sink.apply(&message.revocation);
        tracing::info!(target: "jwtgate::audit", event = "revocation_received", removed, "a revocation from another instance applied");
    }

    /// Reads the whole revocation list, applies it, drops expired entries from Redis and
    /// writes back every revocation known here that Redis lacks. False: Redis unreadable.
    async fn reload(&self, sink: &Weak<dyn RevocationSink>) -> bool {
        let hash = self.revocations_key();
        let Some(entries) = self
            .run::<Vec<(String, Vec<u8>)>>(redis::cmd("HGETALL").arg(&hash))
            .await
        else {
            return false;
        };
        let Some(sink) = sink.upgrade() else {
            return true;
        };
        let now = crate::validator::now();
        // Applying purges the result cache: only what is new here is applied.
        let known: std::collections::HashMap<String, Revocation> =
            sink.known().into_iter().map(|r| (r.field(), r)).collect();
        let mut in_redis = std::collections::HashMap::new();
        let mut expired = Vec::new();
        for (field, value) in entries {
            let revocation = match self.keys.open(&format!("{hash}\n{field}"), &value, now) {
                Unsealed::Valid(p) => serde_json::from_slice::<Revocation>(&p)
                    .ok()
                    .filter(|r| r.is_well_formed() && r.field() == field),
                _ => None,
            };
            let Some(revocation) = revocation else {
                self.tampered(&hash);
                continue;
            };
            if !revocation.in_force(now) {
                expired.push(field);
                continue;
            }
            if known.get(&field) != Some(&revocation) {
                sink.apply(&revocation);
            }
            in_redis.insert(field, revocation);
        }
        if !expired.is_empty() {
            let _ = self
                .run::<i64>(redis::cmd("HDEL").arg(&hash).arg(expired))
                .await;
        }
        // Write back what Redis lacks or holds weaker (merged here: the later end wins): made
        // while it was down, or deleted or shortened by someone without the secret (a removal
        // is never trusted).
        let missing: Vec<Revocation> = sink
            .known()
            .into_iter()
            .filter(|r| r.in_force(now) && in_redis.get(&r.field()) != Some(r))
            .collect();
        drop(sink);
        // Everything pending is known here, so it is in `missing` unless Redis has it already.
        self.pending.lock().clear();
        for revocation in missing {
            if !self.send(&revocation).await {
                self.keep_pending(revocation);
            }
        }
        true
    }

    async fn flush_pending(&self) {
        let pending = std::mem::take(&mut *self.pending.lock());
        for (i, revocation) in pending.iter().enumerate() {
            if !self.send(revocation).await {
                let mut still = self.pending.lock();
                still.extend(pending[i..].iter().cloned());
                return;
            }
        }
    }

    // ---- observability -----------------------------------------------------------------

    pub(crate) fn stats(&self) -> FleetStats {
        let c = &self.counters;
        FleetStats {
            redis_l2_hits: c.l2_hits.get(),
            redis_l2_misses: c.l2_misses.get(),
            redis_errors: c.errors.get(),
            redis_tampered: c.tampered.get(),
            redis_lease_waits: c.lease_waits.get(),
            redis_revocations_published: c.revocations_published.get(),
            redis_revocations_received: c.revocations_received.get(),
            redis_jwks_shared: c.jwks_shared.get(),
        }
    }

    pub(crate) fn health(&self) -> FleetHealth {
        FleetHealth {
            mode: match self.target {
                crate::config::RedisTarget::Single(_) => "single",
                crate::config::RedisTarget::Cluster(_) => "cluster",
            },
            nodes: self.target.redacted(),
            connected: self.connected.load(Ordering::Relaxed),
            subscribed: self.subscribed.load(Ordering::Relaxed),
            pending_revocations: self.pending.lock().len(),
            breaker: self.breaker.health(),
            last_error: self.last_error.lock().clone(),
        }
    }

    pub(crate) fn breaker_transitions(&self) -> u64 {
        self.breaker.transitions.get()
    }

    /// Waits (bounded) until the subscription is up, or an attempt failed (Redis unreachable:
    /// start-up is not held up by it): for `ready()`, so that an instance that reports ready
    /// also hears the fleet's revocations. Never an error.
    /// `failed` is [`Fleet::failed_attempts`] read before the subscription was started.
    pub(crate) async fn wait_subscribed(&self, bound: Duration, failed: u64) {
        let deadline = Instant::now() + bound;
        while !self.subscribed.load(Ordering::Relaxed)
            && self.failed_attempts.load(Ordering::Relaxed) == failed
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A Redis error for health and logs: the crate's message (a category and the server's
/// answer, e.g. `Moved: 3714 127.0.0.1:7002`; never a URL's password), bounded.
fn describe(e: &redis::RedisError) -> String {
    crate::token::truncate_to(&e.to_string(), 200)
}

/// The fleet's stats as Prometheus text (appended to `metrics_text()`).
pub(crate) fn write_metrics(out: &mut String, stats: &FleetStats, health: Option<&FleetHealth>) {
    use std::fmt::Write as _;
    let counters: [(&str, &str, u64); 8] = [
        (
            "redis_l2_hits_total",
            "Introspection answers and key sets found in Redis.",
            stats.redis_l2_hits,
        ),
        (
            "redis_l2_misses_total",
            "Redis lookups that found nothing usable.",
            stats.redis_l2_misses,
        ),
        (
            "redis_errors_total",
            "Redis commands that failed, timed out or were skipped (circuit open).",
            stats.redis_errors,
        ),
        (
            "redis_tampered_total",
            "Values in Redis that failed the fleet_secret check (ignored).",
            stats.redis_tampered,
        ),
        (
            "redis_lease_waits_total",
            "Waits for another instance's provider call.",
            stats.redis_lease_waits,
        ),
        (
            "redis_revocations_published_total",
            "Revocations sent to the fleet.",
            stats.redis_revocations_published,
        ),
        (
            "redis_revocations_received_total",
            "Revocations received from the fleet.",
            stats.redis_revocations_received,
        ),
        (
            "redis_jwks_shared_total",
            "Key sets taken from Redis instead of the provider.",
            stats.redis_jwks_shared,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP jwtgate_{name} {help}\n# TYPE jwtgate_{name} counter\njwtgate_{name} {value}"
        );
    }
    if let Some(h) = health {
        let _ = writeln!(
            out,
            "# HELP jwtgate_redis_up 1 when the last Redis command and the revocation subscription worked.\n# TYPE jwtgate_redis_up gauge\njwtgate_redis_up {}",
            u8::from(h.connected && h.subscribed)
        );
    }
}
