//! Latency histograms: validation time by path (cache hit, local verification,
//! introspection) and provider call time by endpoint (discovery, JWKS, introspection).
//!
//! Fixed buckets, so every instance and every face reports the same series and they can be
//! summed across a fleet (a Prometheus histogram, not a summary). Observations are striped
//! like the counters (`stats::Counter`): a thread adds to its own padded row, readers sum.
//!
//! **The hit path is sampled.** Reading the clock twice costs ~40 ns here, about 4 % of a
//! ~1 µs hit, over the 3 % budget. So one hit in [`HIT_SAMPLE`] (per thread) is timed and
//! counted with weight [`HIT_SAMPLE`]: the hit histogram's count and sum estimate every hit,
//! and its buckets are an unbiased sample of the distribution. Every other validation (local
//! verification, introspection: ≥ 20 µs) and every provider call is timed. A validation that
//! was not sampled and missed the cache is timed from the miss (after the cache-key hash,
//! ~1 µs), see [`mark_miss`].

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;

/// One hit in this many is timed (per thread); its observation counts this many times.
pub const HIT_SAMPLE: u64 = 64;

/// Upper bounds (nanoseconds) of the validation buckets: a hit is ~1 µs, a local RSA/ECDSA
/// verification 20–60 µs, a validation that waited for a fetch or introspection 1 ms–10 s.
pub const VALIDATION_BUCKETS_NS: [u64; 20] = [
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    100_000_000,
    250_000_000,
    1_000_000_000,
    2_500_000_000,
    10_000_000_000,
];

/// Upper bounds (nanoseconds) of the provider buckets: a loopback answer takes ~1 ms, a real
/// provider 10–700 ms, a call with retries up to its deadline (seconds).
pub const PROVIDER_BUCKETS_NS: [u64; 14] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
];

const STRIPES: usize = 8;
/// Enough for the longest bucket list, plus +Inf, sum and count.
const SLOTS: usize = VALIDATION_BUCKETS_NS.len() + 3;

#[repr(align(128))]
#[derive(Debug)]
struct Row([AtomicU64; SLOTS]);

impl Default for Row {
    fn default() -> Self {
        Row(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// A fixed-bucket histogram of durations.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [u64],
    rows: Box<[Row; STRIPES]>,
}

thread_local! {
    static ROW: Cell<usize> = const { Cell::new(usize::MAX) };
    static HIT_TICK: Cell<u32> = const { Cell::new(0) };
    static MISS_AT: Cell<Option<Instant>> = const { Cell::new(None) };
}

fn row() -> usize {
    ROW.with(|r| {
        let mut v = r.get();
        if v == usize::MAX {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            v = (NEXT.fetch_add(1, Ordering::Relaxed) as usize) % STRIPES;
            r.set(v);
        }
        v
    })
}

impl Histogram {
    fn new(bounds: &'static [u64]) -> Histogram {
        Histogram {
            bounds,
            rows: Box::default(),
        }
    }

    /// Records `ns` nanoseconds, `weight` times.
    pub(crate) fn observe(&self, ns: u64, weight: u64) {
        let bucket = self
            .bounds
            .iter()
            .position(|b| ns <= *b)
            .unwrap_or(self.bounds.len());
        let row = &self.rows[row()].0;
        row[bucket].fetch_add(weight, Ordering::Relaxed);
        row[SLOTS - 2].fetch_add(ns.saturating_mul(weight), Ordering::Relaxed);
        row[SLOTS - 1].fetch_add(weight, Ordering::Relaxed);
    }

    fn observe_since(&self, start: Instant, weight: u64) {
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.observe(ns, weight);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let n = self.bounds.len();
        let sum_slot = |i: usize| -> u64 {
            self.rows
                .iter()
                .map(|r| r.0[i].load(Ordering::Relaxed))
                .fold(0u64, u64::wrapping_add)
        };
        let mut cumulative = 0u64;
        let mut buckets = Vec::with_capacity(n + 1);
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += sum_slot(i);
            buckets.push((*bound, cumulative));
        }
        let count = cumulative + sum_slot(n);
        let mut snap = HistogramSnapshot {
            count,
            sum_ns: sum_slot(SLOTS - 2),
            buckets,
            p50_ns: 0,
            p95_ns: 0,
            p99_ns: 0,
        };
        snap.p50_ns = snap.quantile(0.50);
        snap.p95_ns = snap.quantile(0.95);
        snap.p99_ns = snap.quantile(0.99);
        snap
    }
}

/// A histogram as `stats()` reports it. Times are integer nanoseconds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Observations (for the sampled hit path: an estimate of every hit).
    pub count: u64,
    pub sum_ns: u64,
    /// `(upper bound, cumulative count)` per bucket, ascending; `+Inf` is `count`.
    pub buckets: Vec<(u64, u64)>,
    /// Estimated quantiles: linear interpolation inside the bucket that holds the rank, as
    /// Prometheus' `histogram_quantile` does; 0 when there is no observation. A rank past
    /// the last finite bucket reads as that bucket's bound.
    pub p50_ns: u64,
    pub p95_ns: u64,
    pub p99_ns: u64,
}

impl HistogramSnapshot {
    /// The `q` quantile (0..=1) estimated from the buckets.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = q * self.count as f64;
        let mut lower_bound = 0u64;
        let mut lower_count = 0u64;
        for (bound, cumulative) in &self.buckets {
            if (*cumulative as f64) >= rank && *cumulative > lower_count {
                let inside = (*cumulative - lower_count) as f64;
                let fraction = (rank - lower_count as f64) / inside;
                return lower_bound
                    + ((*bound - lower_bound) as f64 * fraction.clamp(0.0, 1.0)) as u64;
            }
            lower_bound = *bound;
            lower_count = *cumulative;
        }
        lower_bound
    }
}

/// Which path answered a validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    Hit,
    Local,
    Introspection,
}

/// The validator's histograms.
#[derive(Debug)]
pub(crate) struct Latency {
    hit: Histogram,
    local: Histogram,
    introspection: Histogram,
    discovery_calls: Histogram,
    jwks_calls: Histogram,
    introspection_calls: Histogram,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            hit: Histogram::new(&VALIDATION_BUCKETS_NS),
            local: Histogram::new(&VALIDATION_BUCKETS_NS),
            introspection: Histogram::new(&VALIDATION_BUCKETS_NS),
            discovery_calls: Histogram::new(&PROVIDER_BUCKETS_NS),
            jwks_calls: Histogram::new(&PROVIDER_BUCKETS_NS),
            introspection_calls: Histogram::new(&PROVIDER_BUCKETS_NS),
        }
    }
}

/// The start of a validation: `Some` for the one call in [`HIT_SAMPLE`] that is timed from
/// its start (whatever path it takes); `None` otherwise (a miss is then timed from
/// [`mark_miss`]).
#[inline]
pub(crate) fn start() -> Option<Instant> {
    let n = HIT_TICK.with(|t| {
        let n = t.get().wrapping_add(1);
        t.set(n);
        n
    });
    if n.is_multiple_of(HIT_SAMPLE as u32) {
        Some(Instant::now())
    } else {
        None
    }
}

/// Called by the validator when a validation goes past the result cache (on the calling
/// thread, synchronously): the start of the miss, for a call [`start`] did not sample.
#[inline]
pub(crate) fn mark_miss() {
    MISS_AT.with(|m| m.set(Some(Instant::now())));
}

/// Takes (and clears) what [`mark_miss`] left on this thread: the entry point calls it right
/// after its synchronous first pass, so nothing stale is left for a later call.
#[inline]
pub(crate) fn take_miss() -> Option<Instant> {
    MISS_AT.with(Cell::take)
}

/// A validation's timing: from its sampled start, else from its cache miss.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub sampled: Option<Instant>,
    pub miss: Option<Instant>,
}

impl Timing {
    /// The timing of a call sampled (or not) at its start, with the miss mark its first pass
    /// left on this thread.
    #[inline]
    pub(crate) fn taken(sampled: Option<Instant>) -> Timing {
        Timing {
            sampled,
            miss: take_miss(),
        }
    }

    /// [`Timing::taken`] after a first pass that answered `result`: a cache hit left no miss
    /// mark, so the hit path skips reading it.
    #[inline]
    pub(crate) fn after(
        sampled: Option<Instant>,
        result: &crate::Result<crate::Validated>,
    ) -> Timing {
        match result {
            Ok(v) if v.source() == crate::Source::Cache => Timing {
                sampled,
                miss: None,
            },
            _ => Timing::taken(sampled),
        }
    }
}

impl Latency {
    /// Records a finished validation by the path its result shows: a cached result is a hit,
    /// an introspected one (or a failure after `introspected` was asked for) introspection,
    /// anything else local.
    #[inline]
    pub(crate) fn result(
        &self,
        result: &crate::Result<crate::Validated>,
        introspected: bool,
        timing: Timing,
    ) {
        if timing.sampled.is_none() && timing.miss.is_none() {
            return; // the unsampled hit: nothing to do (the hot path)
        }
        let path = match result {
            Ok(v) => match v.source() {
                crate::Source::Cache => Path::Hit,
                crate::Source::Local => Path::Local,
                crate::Source::Introspection => Path::Introspection,
            },
            Err(_) if introspected => Path::Introspection,
            Err(_) => Path::Local,
        };
        self.validation(path, timing);
    }

    /// Records a finished validation: a hit only when sampled (with weight [`HIT_SAMPLE`]),
    /// any other path always (weight 1). A call refused before the cache (token too large)
    /// and not sampled is not timed.
    pub(crate) fn validation(&self, path: Path, timing: Timing) {
        match path {
            Path::Hit => {
                if let Some(start) = timing.sampled {
                    self.hit.observe_since(start, HIT_SAMPLE);
                }
            }
            Path::Local | Path::Introspection => {
                if let Some(start) = timing.sampled.or(timing.miss) {
                    let h = if path == Path::Local {
                        &self.local
                    } else {
                        &self.introspection
                    };
                    h.observe_since(start, 1);
                }
            }
        }
    }

    /// Records a provider call (all its attempts) to `endpoint` (a breaker's name).
    pub(crate) fn provider_call(&self, endpoint: &str, start: Instant) {
        let h = match endpoint {
            "discovery" => &self.discovery_calls,
            "jwks" => &self.jwks_calls,
            "introspection" => &self.introspection_calls,
            _ => return,
        };
        h.observe_since(start, 1);
    }

    pub(crate) fn snapshot(&self) -> LatencySnapshot {
        LatencySnapshot {
            validation: PathLatency {
                hit: self.hit.snapshot(),
                local: self.local.snapshot(),
                introspection: self.introspection.snapshot(),
            },
            provider: EndpointLatency {
                discovery: self.discovery_calls.snapshot(),
                jwks: self.jwks_calls.snapshot(),
                introspection: self.introspection_calls.snapshot(),
            },
        }
    }
}

/// Records the provider call started at creation when dropped (every return path of a call).
#[derive(Debug)]
pub(crate) struct CallTimer<'a> {
    latency: &'a Latency,
    endpoint: &'static str,
    start: Instant,
}

impl<'a> CallTimer<'a> {
    pub(crate) fn new(latency: &'a Latency, endpoint: &'static str) -> Self {
        CallTimer {
            latency,
            endpoint,
            start: Instant::now(),
        }
    }
}

impl Drop for CallTimer<'_> {
    fn drop(&mut self) {
        self.latency.provider_call(self.endpoint, self.start);
    }
}

/// Validation time by path.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PathLatency {
    /// Result-cache hits (sampled: see the module documentation).
    pub hit: HistogramSnapshot,
    /// Local signature and claim checks (including a key fetch the call waited for).
    pub local: HistogramSnapshot,
    /// Validations that asked the provider's introspection endpoint.
    pub introspection: HistogramSnapshot,
}

/// Provider call time by endpoint (each call with all its retries).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EndpointLatency {
    pub discovery: HistogramSnapshot,
    pub jwks: HistogramSnapshot,
    pub introspection: HistogramSnapshot,
}

/// Every histogram, as `stats()["latency"]`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LatencySnapshot {
    pub validation: PathLatency,
    pub provider: EndpointLatency,
}

/// Seconds for a `le` label or a `_sum`: exact decimal, no float noise (`0.0000005`).
fn seconds(ns: u64) -> String {
    let whole = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    if frac == 0 {
        return format!("{whole}");
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl LatencySnapshot {
    /// The two histogram families in Prometheus text format.
    pub(crate) fn write_prometheus(&self, out: &mut String) {
        let v = &self.validation;
        write_family(
            out,
            "validation_duration_seconds",
            "Validation time by path (cache hits sampled 1 in 64, weighted).",
            "path",
            &[
                ("hit", &v.hit),
                ("local", &v.local),
                ("introspection", &v.introspection),
            ],
        );
        let p = &self.provider;
        write_family(
            out,
            "provider_request_duration_seconds",
            "Provider call time by endpoint, retries included.",
            "endpoint",
            &[
                ("discovery", &p.discovery),
                ("jwks", &p.jwks),
                ("introspection", &p.introspection),
            ],
        );
    }
}

fn write_family(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    series: &[(&str, &HistogramSnapshot)],
) {
    let _ = writeln!(
        out,
        "# HELP jwtgate_{name} {help}\n# TYPE jwtgate_{name} histogram"
    );
    for (value, h) in series {
        for (bound, cumulative) in &h.buckets {
            let _ = writeln!(
                out,
                "jwtgate_{name}_bucket{{{label}=\"{value}\",le=\"{}\"}} {cumulative}",
                seconds(*bound)
            );
        }
        let _ = writeln!(
            out,
            "jwtgate_{name}_bucket{{{label}=\"{value}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "jwtgate_{name}_sum{{{label}=\"{value}\"}} {}",
            seconds(h.sum_ns)
        );
        let _ = writeln!(
            out,
            "jwtgate_{name}_count{{{label}=\"{value}\"}} {}",
            h.count
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket() {
        let h = Histogram::new(&VALIDATION_BUCKETS_NS);
        h.observe(400, 1);
        h.observe(1_000, 1);
        h.observe(30_000, 2);
        h.observe(u64::MAX / 4, 1);
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert_eq!(s.buckets[0], (500, 1));
        assert_eq!(s.buckets[1], (1_000, 2));
        assert_eq!(s.buckets[5], (25_000, 2));
        assert_eq!(s.buckets[6], (50_000, 4));
        assert_eq!(
            s.buckets.last().map(|b| b.1),
            Some(4),
            "+Inf holds the rest"
        );
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let h = Histogram::new(&VALIDATION_BUCKETS_NS);
        for _ in 0..100 {
            h.observe(800, 1); // (500, 1000]
        }
        let s = h.snapshot();
        assert_eq!(s.p50_ns, 750);
        assert_eq!(s.p99_ns, 995);
        assert_eq!(Histogram::new(&PROVIDER_BUCKETS_NS).snapshot().p50_ns, 0);
    }

    #[test]
    fn sampled_hits_are_weighted_and_misses_always_count() {
        let l = Latency::default();
        let mut timed = 0;
        for _ in 0..HIT_SAMPLE * 10 {
            let sampled = start();
            timed += u64::from(sampled.is_some());
            l.validation(
                Path::Hit,
                Timing {
                    sampled,
                    miss: None,
                },
            );
        }
        assert_eq!(timed, 10);
        let miss = Timing {
            sampled: None,
            miss: Some(Instant::now()),
        };
        l.validation(Path::Local, miss);
        l.validation(Path::Introspection, miss);
        let s = l.snapshot();
        assert_eq!(s.validation.hit.count, HIT_SAMPLE * 10);
        assert_eq!(s.validation.local.count, 1);
        assert_eq!(s.validation.introspection.count, 1);
    }

    #[test]
    fn prometheus_text_has_cumulative_buckets_in_seconds() {
        let l = Latency::default();
        l.jwks_calls.observe(3_000_000, 1);
        let mut text = String::new();
        l.snapshot().write_prometheus(&mut text);
        assert!(text.contains("# TYPE jwtgate_provider_request_duration_seconds histogram"));
        assert!(text.contains(
            "jwtgate_provider_request_duration_seconds_bucket{endpoint=\"jwks\",le=\"0.0025\"} 0"
        ));
        assert!(text.contains(
            "jwtgate_provider_request_duration_seconds_bucket{endpoint=\"jwks\",le=\"0.005\"} 1"
        ));
        assert!(
            text.contains("jwtgate_provider_request_duration_seconds_sum{endpoint=\"jwks\"} 0.003")
        );
        assert!(text.contains(
            "jwtgate_validation_duration_seconds_bucket{path=\"hit\",le=\"0.0000005\"} 0"
        ));
        assert_eq!(seconds(30_000_000_000), "30");
    }
}
