//! Provider metadata: OpenID Connect Discovery 1.0 §4, then RFC 8414 §3. Fetched once (and
//! again only after a failure), shared by the JWKS cache and the introspection client.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::check_url;
use crate::http::{self, Breaker, Policy};
use crate::json;
use crate::runtime;
use crate::stats::Stats;

const MAX_METADATA_BYTES: usize = 256 * 1024;

/// Why a fetch failed: the message (for logs and `health()`; it names URLs and OS errors, so
/// it never goes to a client), and whether it is a configuration mistake that retrying will
/// not fix (the metadata names another issuer) rather than an outage.
#[derive(Debug, Clone)]
pub(crate) struct FetchError {
    pub message: String,
    pub misconfigured: bool,
}

impl FetchError {
    fn misconfiguration(message: String) -> FetchError {
        FetchError {
            message,
            misconfigured: true,
        }
    }
}

impl From<String> for FetchError {
    fn from(message: String) -> FetchError {
        FetchError {
            message,
            misconfigured: false,
        }
    }
}

impl From<&str> for FetchError {
    fn from(message: &str) -> FetchError {
        message.to_string().into()
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The endpoints we use from the metadata.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub jwks_uri: Option<reqwest::Url>,
    pub introspection_endpoint: Option<reqwest::Url>,
}

#[derive(Debug)]
pub(crate) struct Discovery {
    issuer_url: reqwest::Url,
    issuer: String,
    allow_http: bool,
    policy: Policy,
    pub breaker: Breaker,
    known: Mutex<Option<Arc<Metadata>>>,
    stats: Arc<Stats>,
}

impl Discovery {
    pub(crate) fn new(
        issuer_url: reqwest::Url,
        issuer: String,
        allow_http: bool,
        policy: Policy,
        breaker: Breaker,
        stats: Arc<Stats>,
    ) -> Discovery {
        Discovery {
            issuer_url,
            issuer,
            allow_http,
            policy,
            breaker,
            known: Mutex::new(None),
            stats,
        }
    }

    /// The metadata, fetched on first use. Only call from jwtgate's runtime.
    pub(crate) async fn metadata(&self) -> Result<Arc<Metadata>, FetchError> {
        if let Some(known) = self.known.lock().clone() {
            return Ok(known);
        }
        let metadata = Arc::new(self.fetch().await?);
        *self.known.lock() = Some(metadata.clone());
        Ok(metadata)
    }

    /// Fetches the metadata and checks that it names the configured issuer exactly (OIDC
    /// Discovery §4.3, RFC 8414 §3.3): this stops a provider, or anyone who can answer for its
    /// URL, from passing off another issuer's keys or endpoints.
    async fn fetch(&self) -> Result<Metadata, FetchError> {
        let client = runtime::shared().http.clone();
        let mut last = String::new();
        for url in metadata_urls(&self.issuer_url)? {
            let make = || {
                client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
            };
            let fetched = http::send(
                make,
                &url,
                &self.policy,
                &self.breaker,
                &self.stats,
                MAX_METADATA_BYTES,
            )
            .await?;
            if fetched.status == 404 {
                last = format!("{} answered HTTP 404", http::redacted(&url));
                continue;
            }
            if fetched.status != 200 {
                return Err(
                    format!("{} answered HTTP {}", http::redacted(&url), fetched.status).into(),
                );
            }
            let doc = json::parse_object(&fetched.body)
                .map_err(|e| format!("provider metadata is not valid JSON: {e}"))?;
            match doc.get("issuer").and_then(|v| v.as_str()) {
                Some(i) if i == self.issuer => {}
                found => {
                    // The found value comes from the provider, not from a client: shown (bounded)
                    // so that a trailing slash or localhost-for-127.0.0.1 is seen at once.
                    let found = found.map_or_else(
                        || "none".to_string(),
                        |f| format!("{:?}", crate::token::truncate_to(f, 200)),
                    );
                    return Err(FetchError::misconfiguration(format!(
                        "the provider metadata at {} names a different issuer: expected {:?}, found {found} (OIDC Discovery §4.3: compared exactly; check the trailing slash and the host name)",
                        http::redacted(&url),
                        self.issuer
                    )));
                }
            }
            let endpoint = |name: &str| -> Result<Option<reqwest::Url>, String> {
                match doc.get(name).and_then(|v| v.as_str()) {
                    None => Ok(None),
                    Some(uri) => check_url(name, uri, self.allow_http)
                        .map(Some)
                        .map_err(|e| format!("discovered {}", e.message())),
                }
            };
            return Ok(Metadata {
                jwks_uri: endpoint("jwks_uri")?,
                introspection_endpoint: endpoint("introspection_endpoint")?,
            });
        }
        Err(last.into())
    }
}

/// `{issuer}/.well-known/openid-configuration`, then RFC 8414's
/// `{origin}/.well-known/oauth-authorization-server{path}`.
fn metadata_urls(issuer: &reqwest::Url) -> Result<Vec<reqwest::Url>, String> {
    let base = issuer.as_str().trim_end_matches('/');
    let oidc = format!("{base}/.well-known/openid-configuration");
    let path = issuer.path().trim_end_matches('/');
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    oauth.set_query(None);
    let oidc = reqwest::Url::parse(&oidc).map_err(|e| format!("bad discovery URL: {e}"))?;
    Ok(vec![oidc, oauth])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_follow_both_specs() {
        let urls =
            metadata_urls(&reqwest::Url::parse("https://id.example/tenant1/").unwrap()).unwrap();
        assert_eq!(
            urls[0].as_str(),
            "https://id.example/tenant1/.well-known/openid-configuration"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://id.example/.well-known/oauth-authorization-server/tenant1"
        );
        let urls = metadata_urls(&reqwest::Url::parse("https://id.example").unwrap()).unwrap();
        assert_eq!(
            urls[0].as_str(),
            "https://id.example/.well-known/openid-configuration"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://id.example/.well-known/oauth-authorization-server"
        );
    }
}
