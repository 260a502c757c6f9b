//! The RFC 7662 introspection client for opaque tokens: authenticated, pooled, single-flight
//! per token, behind the same retries and circuit breaker as every other outbound call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::cache::TokenHash;
use crate::config::{ClientAuth, IntrospectionSettings};
use crate::discovery::Discovery;
use crate::error::{Error, ErrorKind, Result};
use crate::fleet::{Fleet, Lease, Lookup};
use crate::http::{self, Breaker, BreakerHealth, Policy};
use crate::json;
use crate::runtime;
use crate::stats::Stats;

/// Introspection answers larger than this are refused (real ones are well under 4 KiB).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Inactive answers remembered at most (only with `introspection_negative_ttl`).
const MAX_NEGATIVE: usize = 10_000;
/// A 429 without a usable `Retry-After` pauses new introspections this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Longest pause a provider's `Retry-After` can impose (a hostile or buggy value must not
/// stop introspection for a day).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A token bucket holding one second's worth of calls (`introspection_rate_limit`): every
/// distinct garbage opaque token would otherwise be one authenticated call to the provider,
/// so unauthenticated clients could drive its load without bound.
#[derive(Debug)]
struct RateLimit {
    per_second: f64,
    tokens: f64,
    last: Instant,
    /// A provider's 429 `Retry-After`: no new call before this.
    paused_until: Option<Instant>,
}

impl RateLimit {
    fn new(per_second: f64) -> RateLimit {
        RateLimit {
            per_second,
            tokens: per_second.max(1.0),
            last: Instant::now(),
            paused_until: None,
        }
    }

    /// Takes one call's worth, or says why not.
    fn take(&mut self, now: Instant) -> std::result::Result<(), &'static str> {
        if self.paused_until.is_some_and(|t| now < t) {
            return Err("the provider asked us to slow down (HTTP 429, Retry-After)");
        }
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let capacity = self.per_second.max(1.0);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err("introspection_rate_limit reached")
        }
    }
}

type Outcome = Result<Arc<Map<String, Value>>>;

struct Inflight {
    pid: u32,
    done: watch::Receiver<Option<Outcome>>,
}

pub(crate) struct Introspector {
    settings: IntrospectionSettings,
    discovery: Option<Arc<Discovery>>,
    policy: Policy,
    breaker: Breaker,
    inflight: Mutex<HashMap<TokenHash, Inflight>>,
    negative: Mutex<HashMap<TokenHash, f64>>,
    limit: Mutex<RateLimit>,
    stats: Arc<Stats>,
    requests: crate::stats::Counter,
    refused_us: std::sync::atomic::AtomicBool,
    /// Fleet mode: answers shared through Redis, one provider call per fleet.
    fleet: Option<Arc<Fleet>>,
    issuer: String,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("endpoint", &self.settings.endpoint)
            .finish_non_exhaustive()
    }
}

/// Introspection's part of `health()`.
#[derive(Debug, Clone, Serialize)]
pub struct IntrospectionHealth {
    /// `None` until discovered.
    pub endpoint: Option<String>,
    pub breaker: BreakerHealth,
    /// Requests sent to this issuer's endpoint.
    pub requests: u64,
    /// The endpoint refused our own request (HTTP 400/401/403) the last time: the client
    /// credentials (`client_id`, `client_secret`, `client_auth`) are wrong, which retrying
    /// will not fix; or, for Keycloak, the client is not in the tokens' `aud`.
    pub misconfigured: bool,
}

impl Introspector {
    pub(crate) fn new(
        settings: IntrospectionSettings,
        discovery: Option<Arc<Discovery>>,
        policy: Policy,
        breaker: Breaker,
        stats: Arc<Stats>,
        fleet: Option<Arc<Fleet>>,
        issuer: String,
    ) -> Introspector {
        Introspector {
            fleet,
            issuer,
            limit: Mutex::new(RateLimit::new(settings.rate_limit)),
            settings,
            discovery,
            policy,
            breaker,
            inflight: Mutex::new(HashMap::new()),
            negative: Mutex::new(HashMap::new()),
            stats,
            requests: crate::stats::Counter::default(),
            refused_us: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn cache_ttl(&self) -> f64 {
        self.settings.cache_ttl
    }

    /// A remembered `active: false` (only with `introspection_negative_ttl`).
    pub(crate) fn known_inactive(&self, hash: TokenHash, now: f64) -> bool {
        self.settings.negative_ttl > 0.0
            && self
                .negative
                .lock()
                .get(&hash)
                .is_some_and(|until| now < *until)
    }

    /// Introspects `token`, sharing one request among identical concurrent calls. The request
    /// runs on jwtgate's runtime; the caller only waits on a channel.
    pub(crate) async fn introspect(self: &Arc<Self>, token: &str, hash: TokenHash) -> Outcome {
        let pid = std::process::id();
        let mut done = {
            let mut inflight = self.inflight.lock();
            match inflight.get(&hash).filter(|f| f.pid == pid) {
                Some(f) => f.done.clone(),
                None => {
                    // Only a new request spends the budget: callers that join one do not.
                    if let Err(why) = self.limit.lock().take(Instant::now()) {
                        self.stats.introspection_throttled.inc();
                        return Err(Error::new(
                            ErrorKind::ProviderUnavailable,
                            format!("introspection: {why}"),
                        ));
                    }
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(
                        hash,
                        Inflight {
                            pid,
                            done: rx.clone(),
                        },
                    );
                    let this = self.clone();
                    let token = token.to_owned();
                    runtime::shared().runtime.spawn(async move {
                        let outcome = this.resolve(&token).await;
                        this.inflight.lock().remove(&hash);
                        let _ = tx.send(Some(outcome));
                    });
                    rx
                }
            }
        };
        match done.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::Internal,
                    "introspection finished without an answer",
                ))
            }),
            Err(_) => Err(Error::new(
                ErrorKind::ProviderUnavailable,
                "the introspection task was dropped",
            )),
        }
    }

    pub(crate) fn remember_inactive(&self, hash: TokenHash, now: f64) {
        if self.settings.negative_ttl <= 0.0 {
            return;
        }
        let mut negative = self.negative.lock();
        if negative.len() >= MAX_NEGATIVE {
            negative.retain(|_, until| *until > now);
            if negative.len() >= MAX_NEGATIVE {
                negative.clear();
            }
        }
        negative.insert(hash, now + self.settings.negative_ttl);
    }

    /// The answer for `token`: from the fleet when another instance has it (or is asking for
    /// it right now), else from the provider, then shared with the fleet. Without Redis, the
    /// provider's answer.
    async fn resolve(&self, token: &str) -> Outcome {
        let Some(fleet) = &self.fleet else {
            return self.request(token).await;
        };
        let key = fleet.introspection_key(&self.issuer, token);
        if let Lookup::Hit(answer) = fleet.get(&key).await {
            if let Some(outcome) = shared_answer(&answer) {
                return outcome;
            }
        }
        let lease = fleet
            .lease(&key, Fleet::lease_time(self.policy.deadline), shared_answer)
            .await;
        let lease = match lease {
            Lease::Answered(outcome) => return outcome,
            other => other,
        };
        if matches!(lease, Lease::Taken) {
            // Another instance is asking the provider: wait for its answer (bounded), then
            // ask ourselves rather than fail.
            let answer = fleet
                .wait_for(&key, Fleet::lease_time(self.policy.deadline), |a| {
                    shared_answer(&a).is_some()
                })
                .await;
            if let Some(outcome) = answer.as_deref().and_then(shared_answer) {
                return outcome;
            }
        }
        let outcome = self.request(token).await;
        // Stored before the caller gets the answer: one Redis round trip (bounded by
        // redis_timeout) next to a provider call, so that an instance asking a moment later
        // finds it (one provider call per fleet, also for requests in sequence).
        self.share(fleet, &key, &outcome).await;
        if matches!(lease, Lease::Acquired) {
            fleet.release(&key).await;
        }
        outcome
    }

    /// Publishes a provider's answer for the fleet with the L1 cache's lifetime rules: an
    /// active answer for `introspection_cache_ttl` (never past its `exp`), an inactive one for
    /// `introspection_negative_ttl` (only when set); errors are not shared.
    async fn share(&self, fleet: &Fleet, key: &str, outcome: &Outcome) {
        let now = crate::validator::now();
        match outcome {
            Ok(answer) if self.settings.cache_ttl > 0.0 => {
                let exp = answer
                    .get("exp")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::INFINITY);
                let until = (now + self.settings.cache_ttl).min(exp);
                if let Ok(body) = serde_json::to_vec(&**answer) {
                    fleet.put(key, &body, until).await;
                }
            }
            Err(e) if e.kind() == ErrorKind::Inactive && self.settings.negative_ttl > 0.0 => {
                fleet
                    .put(
                        key,
                        br#"{"active":false}"#,
                        now + self.settings.negative_ttl,
                    )
                    .await;
            }
            _ => {}
        }
    }

    async fn request(&self, token: &str) -> Outcome {
        let unavailable = |e: String| {
            Error::new(
                ErrorKind::ProviderUnavailable,
                format!("introspection: {e}"),
            )
        };
        let endpoint = match (&self.settings.endpoint, &self.discovery) {
            (Some(url), _) => url.clone(),
            (None, Some(discovery)) => discovery
                .metadata()
                .await
                .map_err(|e| unavailable(e.message))?
                .introspection_endpoint
                .clone()
                .ok_or_else(|| {
                    unavailable("the provider metadata has no introspection_endpoint".into())
                })?,
            (None, None) => {
                return Err(Error::new(ErrorKind::Internal, "no introspection endpoint"));
            }
        };
        let client = runtime::shared().http.clone();
        let s = &self.settings;
        let make = || {
            let request = client
                .post(endpoint.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            let mut form: Vec<(&str, &str)> =
                vec![("token", token), ("token_type_hint", "access_token")];
            match s.client_auth {
                // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
                ClientAuth::ClientSecretBasic => {
                    let (id, secret) = (form_encode(&s.client_id), form_encode(&s.client_secret));
                    request.basic_auth(id, Some(secret)).form(&form)
                }
                ClientAuth::ClientSecretPost => {
                    form.push(("client_id", &s.client_id));
                    form.push(("client_secret", &s.client_secret));
                    request.form(&form)
                }
                // The endpoint takes no client authentication (Hydra's admin port).
                ClientAuth::None => request.form(&form),
            }
        };
        self.stats.introspection_requests.inc();
        self.requests.inc();
        let fetched = http::send(
            make,
            &endpoint,
            &self.policy,
            &self.breaker,
            &self.stats,
            MAX_RESPONSE_BYTES,
        )
        .await
        .map_err(|e| {
            self.stats.introspection_errors.inc();
            unavailable(e)
        })?;
        if fetched.status == 429 {
            // RFC 6585 §4: honour Retry-After (bounded) for every new token, then go on.
            let pause = fetched
                .retry_after
                .unwrap_or(DEFAULT_RETRY_AFTER)
                .min(MAX_RETRY_AFTER);
            self.limit.lock().paused_until = Some(Instant::now() + pause);
            self.stats.introspection_errors.inc();
            return Err(unavailable(format!(
                "the provider is rate limiting us (HTTP 429); pausing new introspections for {}s",
                pause.as_secs_f64()
            )));
        }
        self.refused_us.store(
            matches!(fetched.status, 400 | 401 | 403),
            std::sync::atomic::Ordering::Relaxed,
        );
        let result = judge(fetched.status, &fetched.body);
        match &result {
            Ok(_) => self.stats.introspection_active.inc(),
            Err(e) if e.kind() == ErrorKind::Inactive => self.stats.introspection_inactive.inc(),
            Err(_) => self.stats.introspection_errors.inc(),
        }
        result
    }

    pub(crate) fn health(&self) -> IntrospectionHealth {
        let endpoint = self.settings.endpoint.as_ref().map(http::redacted);
        IntrospectionHealth {
            endpoint,
            breaker: self.breaker.health(),
            requests: self.requests.get(),
            misconfigured: self.refused_us.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The endpoint's circuit is open: fail fast without a request.
    pub(crate) fn circuit_open(&self) -> bool {
        self.breaker.is_open()
    }

    pub(crate) fn breaker_transitions(&self) -> u64 {
        self.breaker.transitions.get()
    }
}

/// RFC 7662 §2.2: only the JSON boolean `true` means active. Anything else the provider says
/// is either "inactive" or a provider fault (503), never an accept.
pub(crate) fn judge(status: u16, body: &[u8]) -> Outcome {
    let provider = |m: String| {
        Error::new(
            ErrorKind::ProviderUnavailable,
            format!("introspection: {m}"),
        )
    };
    match status {
        200 => {}
        400 | 401 | 403 => {
            return Err(provider(format!(
                "the endpoint refused our request (HTTP {status}); check client_id/client_secret"
            )));
        }
        other => return Err(provider(format!("unexpected HTTP {other}"))),
    }
    let doc = json::parse_object(body)
        .map_err(|e| provider(format!("response is not valid JSON: {e}")))?;
    match doc.get("active") {
        Some(Value::Bool(true)) => Ok(Arc::new(doc)),
        Some(Value::Bool(false)) => Err(Error::new(
            ErrorKind::Inactive,
            "the provider says the token is not active (RFC 7662 §2.2)",
        )),
        _ => Err(provider(
            "response has no boolean \"active\" member (RFC 7662 §2.2)".into(),
        )),
    }
}

/// An answer another instance shared, judged exactly as the provider's own would be (the
/// validator then applies this issuer's policy to it). `None`: not a usable answer.
fn shared_answer(answer: &[u8]) -> Option<Outcome> {
    match judge(200, answer) {
        Err(e) if e.kind() != ErrorKind::Inactive => None,
        outcome => Some(outcome),
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_boolean_true_is_active() {
        assert!(judge(200, br#"{"active":true,"sub":"a"}"#).is_ok());
        assert_eq!(
            judge(200, br#"{"active":false}"#).unwrap_err().kind(),
            ErrorKind::Inactive
        );
        for body in [
            &br#"{"active":"true"}"#[..],
            br#"{"active":1}"#,
            br#"{}"#,
            b"not json",
            br#"{"active":true,"active":false}"#,
        ] {
            assert_eq!(
                judge(200, body).unwrap_err().kind(),
                ErrorKind::ProviderUnavailable,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            judge(401, b"{}").unwrap_err().kind(),
            ErrorKind::ProviderUnavailable
        );
    }

    #[test]
    fn credentials_are_form_encoded() {
        assert_eq!(form_encode("a b:c/d"), "a+b%3Ac%2Fd");
    }
}
