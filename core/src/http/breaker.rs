//! A circuit breaker per endpoint (closed → open → half-open with one probe → closed).
//!
//! While the provider is down, every request that needs it would otherwise wait for a timeout
//! and add load to a provider trying to recover. Open, the breaker refuses at once (a mutex and
//! a clock read: well under 100 µs) and the caller answers `provider_unavailable`, or keeps
//! using cached keys for JWTs.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;

use crate::stats::Counter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    open_until: Option<Instant>,
    /// The pid of the process whose half-open probe is in flight. A probe belongs to the
    /// process that sent it: a child forked while it was in flight (gunicorn `--preload`)
    /// has no task that will ever report back, so there it is not in flight, and the child
    /// sends its own probe instead of refusing every request forever.
    probe_in_flight: Option<u32>,
    last_error: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    name: &'static str,
    threshold: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
    pub transitions: Counter,
}

/// A breaker's view for `health()`.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerHealth {
    pub endpoint: &'static str,
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
}

impl Breaker {
    /// The endpoint's name (`discovery`, `jwks`, `introspection`).
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// `threshold == 0` disables the breaker.
    pub(crate) fn new(name: &'static str, threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            name,
            threshold,
            cooldown,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                open_until: None,
                probe_in_flight: None,
                last_error: None,
            }),
            transitions: Counter::default(),
        }
    }

    /// May a request go out now? In half-open state only one probe may.
    pub(crate) fn allow(&self) -> Result<(), &'static str> {
        if self.threshold == 0 {
            return Ok(());
        }
        let pid = std::process::id();
        let mut inner = self.inner.lock();
        match inner.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open => {
                if inner.open_until.is_some_and(|t| Instant::now() >= t) {
                    self.transition(&mut inner, BreakerState::HalfOpen);
                    inner.probe_in_flight = Some(pid);
                    Ok(())
                } else {
                    Err("circuit open after repeated failures")
                }
            }
            BreakerState::HalfOpen if inner.probe_in_flight == Some(pid) => {
                Err("circuit half-open, a probe is in flight")
            }
            BreakerState::HalfOpen => {
                inner.probe_in_flight = Some(pid);
                Ok(())
            }
        }
    }

    /// True while the circuit is open and its cooldown has not passed: callers can fail fast
    /// without even starting a request (no thread hop, no task).
    pub(crate) fn is_open(&self) -> bool {
        if self.threshold == 0 {
            return false;
        }
        let inner = self.inner.lock();
        inner.state == BreakerState::Open && inner.open_until.is_some_and(|t| Instant::now() < t)
    }

    pub(crate) fn success(&self) {
        let mut inner = self.inner.lock();
        inner.consecutive_failures = 0;
        inner.probe_in_flight = None;
        if inner.state != BreakerState::Closed {
            self.transition(&mut inner, BreakerState::Closed);
        }
    }

    pub(crate) fn failure(&self) {
        if self.threshold == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        inner.probe_in_flight = None;
        let reopen = inner.state == BreakerState::HalfOpen;
        if reopen
            || (inner.state == BreakerState::Closed && inner.consecutive_failures >= self.threshold)
        {
            inner.open_until = Some(Instant::now() + self.cooldown);
            self.transition(&mut inner, BreakerState::Open);
        }
    }

    /// An answer that says nothing about the endpoint's health (HTTP 429: the provider is
    /// up and asks us to slow down). Counts as neither success nor failure, so one client's
    /// throttling does not open the circuit for every token; a half-open probe is released.
    pub(crate) fn neutral(&self) {
        self.inner.lock().probe_in_flight = None;
    }

    pub(crate) fn note_error(&self, error: &str) {
        self.inner.lock().last_error = Some(error.to_owned());
    }

    pub(crate) fn health(&self) -> BreakerHealth {
        let inner = self.inner.lock();
        BreakerHealth {
            endpoint: self.name,
            state: inner.state,
            consecutive_failures: inner.consecutive_failures,
            last_error: inner.last_error.clone(),
        }
    }

    fn transition(&self, inner: &mut Inner, to: BreakerState) {
        let from = inner.state;
        inner.state = to;
        self.transitions.inc();
        match to {
            BreakerState::Open => {
                tracing::warn!(target: "jwtgate::audit", event = "breaker_open", endpoint = self.name, ?from, "circuit opened")
            }
            _ => {
                tracing::info!(target: "jwtgate::audit", event = "breaker_transition", endpoint = self.name, ?from, ?to, "circuit state changed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_probes_once_and_closes() {
        let b = Breaker::new("test", 3, Duration::from_millis(50));
        for _ in 0..2 {
            b.allow().unwrap();
            b.failure();
        }
        assert_eq!(b.health().state, BreakerState::Closed);
        b.allow().unwrap();
        b.failure();
        assert_eq!(b.health().state, BreakerState::Open);
        assert!(b.allow().is_err());
        std::thread::sleep(Duration::from_millis(60));
        b.allow().unwrap();
        assert_eq!(b.health().state, BreakerState::HalfOpen);
        assert!(b.allow().is_err(), "one probe at a time");
        b.success();
        assert_eq!(b.health().state, BreakerState::Closed);
        assert_eq!(b.transitions.get(), 3);
    }

    #[test]
    fn a_failed_probe_reopens() {
        let b = Breaker::new("test", 1, Duration::from_millis(20));
        b.allow().unwrap();
        b.failure();
        std::thread::sleep(Duration::from_millis(30));
        b.allow().unwrap();
        b.failure();
        assert_eq!(b.health().state, BreakerState::Open);
        assert!(b.allow().is_err());
    }

    #[test]
    fn a_probe_of_another_process_is_not_in_flight_here() {
        let b = Breaker::new("test", 1, Duration::from_millis(10));
        b.allow().unwrap();
        b.failure();
        std::thread::sleep(Duration::from_millis(20));
        b.allow().unwrap();
        assert!(b.allow().is_err(), "our own probe is in flight");
        // What a child forked during the probe sees: the probe's pid is not its own.
        b.inner.lock().probe_in_flight = Some(std::process::id().wrapping_add(1));
        assert!(b.allow().is_ok(), "the child sends its own probe");
        b.success();
        assert_eq!(b.health().state, BreakerState::Closed);
    }

    #[test]
    fn a_neutral_answer_releases_the_probe_and_counts_nothing() {
        let b = Breaker::new("test", 1, Duration::from_millis(10));
        b.allow().unwrap();
        b.failure();
        std::thread::sleep(Duration::from_millis(20));
        b.allow().unwrap();
        b.neutral();
        assert_eq!(b.health().state, BreakerState::HalfOpen);
        assert!(b.allow().is_ok(), "a new probe may go");
    }

    #[test]
    fn threshold_zero_disables() {
        let b = Breaker::new("test", 0, Duration::from_secs(1));
        for _ in 0..10 {
            b.failure();
        }
        assert!(b.allow().is_ok());
    }
}
