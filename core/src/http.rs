//! Bounded HTTP GETs of JSON documents: every fetch has a total deadline (connect, headers
//! and body) and a size cap, so a hanging or hostile endpoint costs at most `fetch_timeout`
//! and a bounded amount of memory.

use std::time::Duration;

use reqwest::header;

/// A fetched JSON body with its caching hints.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// `Cache-Control: max-age` (RFC 9111 §5.2.2.1); `no-store`/`no-cache` count as zero.
    pub max_age: Option<Duration>,
}

pub(crate) async fn get(
    client: &reqwest::Client,
    url: &reqwest::Url,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, String> {
    match tokio::time::timeout(timeout, get_inner(client, url, timeout, max_bytes)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "GET {} timed out after {:?}",
            redacted(url),
            timeout
        )),
    }
}

async fn get_inner(
    client: &reqwest::Client,
    url: &reqwest::Url,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, String> {
    let mut response = client
        .get(url.clone())
        .header(header::ACCEPT, "application/json, application/jwk-set+json")
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("GET {} failed: {}", redacted(url), without_url(&e)))?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        return Err(format!(
            "GET {}: body larger than {max_bytes} bytes",
            redacted(url)
        ));
    }
    let max_age = cache_max_age(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        format!(
            "GET {}: reading the body failed: {}",
            redacted(url),
            without_url(&e)
        )
    })? {
        if body.len() + chunk.len() > max_bytes {
            return Err(format!(
                "GET {}: body larger than {max_bytes} bytes",
                redacted(url)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status,
        body,
        max_age,
    })
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

/// URLs in messages lose their query string (it may carry secrets).
pub(crate) fn redacted(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn without_url(e: &reqwest::Error) -> String {
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

    fn headers(v: &str) -> header::HeaderMap {
        let mut h = header::HeaderMap::new();
        h.insert(header::CACHE_CONTROL, v.parse().unwrap());
        h
    }

    #[test]
    fn parses_cache_control() {
        assert_eq!(
            cache_max_age(&headers("public, max-age=120")),
            Some(Duration::from_secs(120))
        );
        assert_eq!(cache_max_age(&headers("no-store")), Some(Duration::ZERO));
        assert_eq!(cache_max_age(&headers("max-age=abc")), None);
        assert_eq!(
            cache_max_age(&headers("max-age=99999999999999999999999")),
            Some(Duration::from_secs(u64::MAX / 2))
        );
        assert_eq!(cache_max_age(&header::HeaderMap::new()), None);
    }
}
