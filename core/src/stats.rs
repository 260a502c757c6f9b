//! Counters, readable as a snapshot (`stats()`) or as Prometheus text (`metrics_text()`).
//!
//! The hit path bumps two counters per call. One shared atomic would bounce its cache line
//! between cores on every hit, so each counter is striped: a thread adds to its own padded
//! slot and readers sum the slots.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

use crate::error::ErrorKind;

const STRIPES: usize = 16;

#[repr(align(128))]
#[derive(Debug, Default)]
struct Slot(AtomicU64);

#[derive(Debug, Default)]
pub(crate) struct Counter {
    slots: [Slot; STRIPES],
}

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

fn stripe() -> usize {
    STRIPE.with(|s| {
        let mut v = s.get();
        if v == usize::MAX {
            v = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
            s.set(v);
        }
        v
    })
}

impl Counter {
    #[inline]
    pub(crate) fn inc(&self) {
        self.slots[stripe()].0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.slots.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

/// Why the key set was fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshReason {
    /// No keys yet (first use or `ready()`).
    Initial,
    /// A token named a kid we do not have.
    UnknownKid,
    /// The keys reached the refresh point of their lifetime.
    Scheduled,
    /// The keys are past their lifetime (stale or unusable).
    Expired,
    /// `refresh_keys()`.
    Manual,
}

impl RefreshReason {
    const ALL: [RefreshReason; 5] = [
        RefreshReason::Initial,
        RefreshReason::UnknownKid,
        RefreshReason::Scheduled,
        RefreshReason::Expired,
        RefreshReason::Manual,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefreshReason::Initial => "initial",
            RefreshReason::UnknownKid => "unknown_kid",
            RefreshReason::Scheduled => "scheduled",
            RefreshReason::Expired => "expired",
            RefreshReason::Manual => "manual",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Stats {
    pub validations_ok: Counter,
    failures: Vec<Counter>,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub sync_deferred: Counter,
    pub jwks_fetch_ok: Counter,
    pub jwks_fetch_failed: Counter,
    pub jwks_keys_rejected: Counter,
    pub stale_served: Counter,
    pub unknown_kid_fast_failures: Counter,
    pub introspection_requests: Counter,
    pub introspection_active: Counter,
    pub introspection_inactive: Counter,
    pub introspection_errors: Counter,
    pub introspection_cache_hits: Counter,
    pub introspection_throttled: Counter,
    pub http_retries: Counter,
    refreshes: [Counter; 5],
    pub latency: crate::latency::Latency,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            validations_ok: Counter::default(),
            failures: ErrorKind::ALL.iter().map(|_| Counter::default()).collect(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            sync_deferred: Counter::default(),
            jwks_fetch_ok: Counter::default(),
            jwks_fetch_failed: Counter::default(),
            jwks_keys_rejected: Counter::default(),
            stale_served: Counter::default(),
            unknown_kid_fast_failures: Counter::default(),
            introspection_requests: Counter::default(),
            introspection_active: Counter::default(),
            introspection_inactive: Counter::default(),
            introspection_errors: Counter::default(),
            introspection_cache_hits: Counter::default(),
            introspection_throttled: Counter::default(),
            http_retries: Counter::default(),
            refreshes: Default::default(),
            latency: Default::default(),
        }
    }
}

impl Stats {
    pub(crate) fn failure(&self, kind: ErrorKind) {
        self.failures[kind.index()].inc();
    }

    pub(crate) fn refresh(&self, reason: RefreshReason) {
        self.refreshes[reason as usize].inc();
    }

    pub(crate) fn snapshot(&self, cache_entries: usize, breaker_transitions: u64) -> StatsSnapshot {
        let failures: Vec<(String, u64)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.as_str().to_string(), self.failures[k.index()].get()))
            .filter(|(_, n)| *n > 0)
            .collect();
        StatsSnapshot {
            validations_ok: self.validations_ok.get(),
            validations_failed: failures.iter().map(|(_, n)| n).sum(),
            failures_by_kind: failures.into_iter().collect(),
            cache_hits: self.cache_hits.get(),
            cache_misses: self.cache_misses.get(),
            cache_entries,
            sync_deferred: self.sync_deferred.get(),
            jwks_fetches_ok: self.jwks_fetch_ok.get(),
            jwks_fetches_failed: self.jwks_fetch_failed.get(),
            jwks_keys_rejected: self.jwks_keys_rejected.get(),
            jwks_refreshes: RefreshReason::ALL
                .iter()
                .map(|r| (r.as_str().to_string(), self.refreshes[*r as usize].get()))
                .collect(),
            stale_served: self.stale_served.get(),
            unknown_kid_fast_failures: self.unknown_kid_fast_failures.get(),
            introspection_requests: self.introspection_requests.get(),
            introspection_active: self.introspection_active.get(),
            introspection_inactive: self.introspection_inactive.get(),
            introspection_errors: self.introspection_errors.get(),
            introspection_cache_hits: self.introspection_cache_hits.get(),
            introspection_throttled: self.introspection_throttled.get(),
            http_retries: self.http_retries.get(),
            breaker_transitions,
            fleet: crate::fleet::FleetStats::default(),
            latency: self.latency.snapshot(),
        }
    }
}

/// A point-in-time copy of the counters. Serialises to the JSON every face returns.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub validations_ok: u64,
    pub validations_failed: u64,
    /// Failures by error kind (kinds never seen are left out).
    pub failures_by_kind: std::collections::BTreeMap<String, u64>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_entries: usize,
    /// Synchronous calls that needed the network and were told `keys_not_loaded`.
    pub sync_deferred: u64,
    pub jwks_fetches_ok: u64,
    pub jwks_fetches_failed: u64,
    /// Keys refused at import (weak RSA, off-curve points, private members, ...).
    pub jwks_keys_rejected: u64,
    /// Fetches started, by reason.
    pub jwks_refreshes: std::collections::BTreeMap<String, u64>,
    /// Validations that used keys past their lifetime because the JWKS could not be fetched.
    pub stale_served: u64,
    /// Unknown kids refused without a fetch because of the cooldown.
    pub unknown_kid_fast_failures: u64,
    /// Introspection requests sent (one per token however many callers shared it).
    pub introspection_requests: u64,
    pub introspection_active: u64,
    pub introspection_inactive: u64,
    /// Introspections that failed: provider unreachable, circuit open, bad answers.
    pub introspection_errors: u64,
    /// Opaque tokens answered from the result cache or the negative cache.
    pub introspection_cache_hits: u64,
    /// New opaque tokens refused without a request: beyond `introspection_rate_limit`, or
    /// while the provider's `Retry-After` (HTTP 429) runs.
    pub introspection_throttled: u64,
    /// HTTP retries (JWKS, discovery and introspection).
    pub http_retries: u64,
    /// Circuit-breaker state changes, all endpoints (Redis included).
    pub breaker_transitions: u64,
    /// Fleet mode's counters (`redis_*`; zero without Redis), flat in the JSON.
    #[serde(flatten)]
    pub fleet: crate::fleet::FleetStats,
    /// Latency histograms with p50/p95/p99 (`latency.rs`).
    pub latency: crate::latency::LatencySnapshot,
}

impl StatsSnapshot {
    /// Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(
                out,
                "# HELP jwtgate_{name} {help}\n# TYPE jwtgate_{name} counter"
            );
            for (labels, value) in samples {
                let _ = writeln!(out, "jwtgate_{name}{labels} {value}");
            }
        };
        let mut validations = vec![("{outcome=\"ok\"}".to_string(), self.validations_ok)];
        validations.extend(
            self.failures_by_kind
                .iter()
                .map(|(k, n)| (format!("{{outcome=\"error\",kind=\"{k}\"}}"), *n)),
        );
        counter(
            "validations_total",
            "Validations by outcome and error kind.",
            &validations,
        );
        counter(
            "cache_hits_total",
            "Validations answered from the result cache.",
            &[(String::new(), self.cache_hits)],
        );
        counter(
            "cache_misses_total",
            "Validations that missed the result cache.",
            &[(String::new(), self.cache_misses)],
        );
        counter(
            "jwks_fetches_total",
            "JWKS fetches by result.",
            &[
                ("{result=\"ok\"}".to_string(), self.jwks_fetches_ok),
                ("{result=\"error\"}".to_string(), self.jwks_fetches_failed),
            ],
        );
        let refreshes: Vec<(String, u64)> = self
            .jwks_refreshes
            .iter()
            .map(|(r, n)| (format!("{{reason=\"{r}\"}}"), *n))
            .collect();
        counter(
            "jwks_refreshes_total",
            "JWKS fetches started, by reason.",
            &refreshes,
        );
        counter(
            "jwks_keys_rejected_total",
            "Keys refused at import.",
            &[(String::new(), self.jwks_keys_rejected)],
        );
        counter(
            "jwks_stale_served_total",
            "Validations that used stale keys.",
            &[(String::new(), self.stale_served)],
        );
        counter(
            "unknown_kid_fast_failures_total",
            "Unknown kids refused during the refresh cooldown.",
            &[(String::new(), self.unknown_kid_fast_failures)],
        );
        counter(
            "introspection_requests_total",
            "Introspection requests by answer.",
            &[
                ("{result=\"active\"}".to_string(), self.introspection_active),
                (
                    "{result=\"inactive\"}".to_string(),
                    self.introspection_inactive,
                ),
                ("{result=\"error\"}".to_string(), self.introspection_errors),
            ],
        );
        counter(
            "introspection_cache_hits_total",
            "Opaque tokens answered from cache.",
            &[(String::new(), self.introspection_cache_hits)],
        );
        counter(
            "introspection_throttled_total",
            "New opaque tokens refused by the rate limit or the provider's Retry-After.",
            &[(String::new(), self.introspection_throttled)],
        );
        counter(
            "http_retries_total",
            "HTTP retries.",
            &[(String::new(), self.http_retries)],
        );
        counter(
            "breaker_transitions_total",
            "Circuit-breaker state changes.",
            &[(String::new(), self.breaker_transitions)],
        );
        counter(
            "sync_deferred_total",
            "Synchronous calls told keys_not_loaded.",
            &[(String::new(), self.sync_deferred)],
        );
        let _ = writeln!(
            out,
            "# HELP jwtgate_cache_entries Tokens in the result cache.\n# TYPE jwtgate_cache_entries gauge\njwtgate_cache_entries {}",
            self.cache_entries
        );
        self.latency.write_prometheus(&mut out);
        out
    }
}

/// The per-issuer breakdown of the Prometheus text (label `issuer`), from each issuer's
/// health: key-set size, age and freshness, fetches, introspection requests, breaker states.
pub(crate) fn write_issuer_metrics(out: &mut String, issuers: &[crate::validator::IssuerHealth]) {
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "# HELP jwtgate_{name} {help}\n# TYPE jwtgate_{name} {kind}"
        );
        for (labels, value) in samples {
            let _ = writeln!(out, "jwtgate_{name}{{{labels}}} {value}");
        }
    };
    let label = |issuer: &str| format!("issuer=\"{}\"", escape_label(issuer));
    let remote: Vec<(&str, &crate::jwks::JwksHealth)> = issuers
        .iter()
        .filter_map(|i| i.jwks.as_ref().map(|j| (i.issuer.as_str(), j)))
        .collect();
    family(
        "issuer_jwks_keys",
        "gauge",
        "Keys in the issuer's cached key set.",
        remote
            .iter()
            .map(|(i, j)| (label(i), j.keys.to_string()))
            .collect(),
    );
    family(
        "issuer_jwks_age_seconds",
        "gauge",
        "Seconds since the issuer's key set was fetched.",
        remote
            .iter()
            .filter_map(|(i, j)| j.age_seconds.map(|a| (label(i), format!("{a:.3}"))))
            .collect(),
    );
    family(
        "issuer_jwks_fresh",
        "gauge",
        "1 while the issuer's key set is within its lifetime.",
        remote
            .iter()
            .map(|(i, j)| (label(i), u8::from(j.freshness == "fresh").to_string()))
            .collect(),
    );
    family(
        "issuer_jwks_fetches_total",
        "counter",
        "JWKS fetches of the issuer, by result.",
        remote
            .iter()
            .flat_map(|(i, j)| {
                [
                    (
                        format!("{},result=\"ok\"", label(i)),
                        j.fetches_ok.to_string(),
                    ),
                    (
                        format!("{},result=\"error\"", label(i)),
                        j.fetches_failed.to_string(),
                    ),
                ]
            })
            .collect(),
    );
    family(
        "issuer_introspection_requests_total",
        "counter",
        "Introspection requests sent to the issuer's provider.",
        issuers
            .iter()
            .filter_map(|i| {
                i.introspection
                    .as_ref()
                    .map(|h| (label(&i.issuer), h.requests.to_string()))
            })
            .collect(),
    );
    let mut breakers = Vec::new();
    for i in issuers {
        let states = [
            i.jwks.as_ref().map(|j| &j.breaker),
            i.discovery.as_ref(),
            i.introspection.as_ref().map(|h| &h.breaker),
        ];
        for b in states.into_iter().flatten() {
            breakers.push((
                format!("{},endpoint=\"{}\"", label(&i.issuer), b.endpoint),
                u8::from(b.state != crate::http::breaker::BreakerState::Closed).to_string(),
            ));
        }
    }
    family(
        "issuer_breaker_open",
        "gauge",
        "1 while the endpoint's circuit is open or half-open.",
        breakers,
    );
}

/// Prometheus text format: a label value escapes `\`, `"` and newlines.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
