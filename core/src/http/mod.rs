//! Outbound HTTP for JWKS, discovery and introspection, with one set of resilience rules:
//!
//! - every attempt has a total timeout (connect, headers and body: `fetch_timeout`) and a body
//!   size cap, so a hanging or hostile endpoint costs bounded time and memory;
//! - connect errors, timeouts, 5xx and 429 are retried (`fetch_retries` times) with exponential
//!   backoff and full jitter, honouring `Retry-After`, never past `fetch_deadline`; a 429 that
//!   outlasts the retries goes back to the caller (which honours its `Retry-After`) and counts
//!   neither for nor against the breaker;
//! - each endpoint has a circuit breaker: after `breaker_threshold` consecutive failures it
//!   opens and calls fail fast for `breaker_cooldown`, then one probe decides.
//!
//! These calls only ever run on jwtgate's own runtime (spawned tasks), never on a caller's.

pub(crate) mod breaker;

use std::time::{Duration, Instant};

use reqwest::header;

pub(crate) use breaker::{Breaker, BreakerHealth};

use crate::stats::Stats;

/// How hard to try one request.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    pub deadline: Duration,
}

/// A response we read whole (within the size cap).
#[derive(Debug)]
pub(crate) struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// RFC 9110 §10.2.3 `Retry-After` (delay-seconds), e.g. on a 429.
    pub retry_after: Option<Duration>,
    /// `Cache-Control: max-age` (RFC 9111 §5.2.2.1); `no-store`/`no-cache` count as zero.
    pub max_age: Option<Duration>,
}

/// One attempt's outcome, before the retry decision.
enum Attempt {
    Answered(Fetched, Option<Duration>),
    Failed(String),
}

/// Sends the request `make` builds, with retries, backoff and the endpoint's breaker.
/// Returns the response for any status that is not worth retrying (the caller judges it),
/// or why the endpoint could not be used.
///
/// HTTP 429 (RFC 6585 §4) is retried after its `Retry-After` when that fits the deadline;
/// when it does not, the 429 is returned to the caller with its `Retry-After`. The provider
/// is up and asks us to slow down: opening the breaker would fail every token for everyone.
pub(crate) async fn send(
    make: impl Fn() -> reqwest::RequestBuilder,
    url: &reqwest::Url,
    policy: &Policy,
    breaker: &Breaker,
    stats: &Stats,
    max_bytes: usize,
) -> Result<Fetched, String> {
    breaker
        .allow()
        .map_err(|open| format!("{}: {open}", redacted(url)))?;
    // Calls the breaker let through, timed with all their attempts (dropped on every return).
    let _timer = crate::latency::CallTimer::new(&stats.latency, breaker.name());
    let deadline = Instant::now() + policy.deadline;
    let mut last_error = String::new();
    let mut throttled: Option<Fetched> = None;
    for attempt in 0..=policy.retries {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        let timeout = policy.timeout.min(remaining);
        let retry_after = match once(make(), url, timeout, max_bytes).await {
            Attempt::Answered(fetched, retry_after) => {
                if fetched.status < 500 && fetched.status != 429 {
                    breaker.success();
                    return Ok(fetched);
                }
                last_error = format!("{} answered HTTP {}", redacted(url), fetched.status);
                throttled = (fetched.status == 429).then_some(fetched);
                retry_after
            }
            Attempt::Failed(e) => {
                last_error = e;
                throttled = None;
                None
            }
        };
        if attempt == policy.retries {
            break;
        }
        // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): spreads the
        // retries of many instances instead of synchronising them on the provider.
        let delay = retry_after
            .unwrap_or_else(|| jitter(policy.backoff.saturating_mul(1 << attempt.min(16))));
        if Instant::now() + delay >= deadline {
            break;
        }
        stats.http_retries.inc();
        tokio::time::sleep(delay).await;
    }
    if let Some(fetched) = throttled {
        breaker.neutral();
        return Ok(fetched);
    }
    breaker.note_error(&last_error);
    breaker.failure();
    Err(last_error)
}

async fn once(
    request: reqwest::RequestBuilder,
    url: &reqwest::Url,
    timeout: Duration,
    max_bytes: usize,
) -> Attempt {
    match tokio::time::timeout(timeout, read(request.timeout(timeout), url, max_bytes)).await {
        Ok(result) => result,
        Err(_) => Attempt::Failed(format!("{} timed out after {:?}", redacted(url), timeout)),
    }
}

async fn read(request: reqwest::RequestBuilder, url: &reqwest::Url, max_bytes: usize) -> Attempt {
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(format!("{}: {}", redacted(url), describe(&e))),
    };
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        return Attempt::Failed(format!(
            "{}: body larger than {max_bytes} bytes",
            redacted(url)
        ));
    }
    let max_age = cache_max_age(response.headers());
    let retry_after = retry_after(response.headers());
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max_bytes {
                    return Attempt::Failed(format!(
                        "{}: body larger than {max_bytes} bytes",
                        redacted(url)
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Attempt::Failed(format!(
                    "{}: reading the body failed: {}",
                    redacted(url),
                    describe(&e)
                ));
            }
        }
    }
    Attempt::Answered(
        Fetched {
            status,
            body,
            max_age,
            retry_after,
        },
        retry_after,
    )
}

/// A uniformly random duration in `[0, cap]`.
fn jitter(cap: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return cap / 2;
    }
    cap.mul_f64((u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64)
}

/// RFC 9110 §10.2.3: delay-seconds (an HTTP-date is ignored: we then use our own backoff).
fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    value
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(86_400)))
}

fn cache_max_age(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            // RFC 9111 §1.2.2: delta-seconds; a value too large to represent means "a long time".
            let v = v.trim_matches('"');
            if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                max_age = Some(Duration::from_secs(v.parse().unwrap_or(u64::MAX / 2)));
            }
        }
    }
    max_age
}

/// URLs in messages lose their query string and fragment (they may carry secrets).
pub(crate) fn redacted(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "bad body"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({detail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, v: &str) -> header::HeaderMap {
        let mut h = header::HeaderMap::new();
        h.insert(name, v.parse().unwrap());
        h
    }

    #[test]
    fn parses_cache_control() {
        let cc = |v| cache_max_age(&headers(header::CACHE_CONTROL, v));
        assert_eq!(cc("public, max-age=120"), Some(Duration::from_secs(120)));
        assert_eq!(cc("no-store"), Some(Duration::ZERO));
        assert_eq!(cc("max-age=abc"), None);
        assert_eq!(
            cc("max-age=99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX / 2))
        );
        assert_eq!(cache_max_age(&header::HeaderMap::new()), None);
    }

    #[test]
    fn parses_retry_after_seconds_only() {
        assert_eq!(
            retry_after(&headers(header::RETRY_AFTER, "2")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(
                header::RETRY_AFTER,
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )),
            None
        );
    }

    #[test]
    fn jitter_stays_within_the_cap() {
        for _ in 0..1000 {
            assert!(jitter(Duration::from_millis(100)) <= Duration::from_millis(100));
        }
    }
}
