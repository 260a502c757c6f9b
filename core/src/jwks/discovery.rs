//! Finding the JWKS from the issuer: OpenID Connect Discovery 1.0 §4, then RFC 8414 §3.

use std::time::Duration;

use crate::config::check_url;
use crate::http;
use crate::json;

const MAX_METADATA_BYTES: usize = 256 * 1024;

/// Fetches the provider metadata and returns its `jwks_uri`, after checking that the metadata
/// names the configured issuer exactly (OIDC Discovery §4.3, RFC 8414 §3.3: this stops a
/// provider, or anyone who can answer for its URL, from passing off another issuer's keys).
pub(crate) async fn jwks_uri(
    client: &reqwest::Client,
    issuer_url: &reqwest::Url,
    issuer: &str,
    allow_http: bool,
    timeout: Duration,
) -> Result<reqwest::Url, String> {
    let mut last = String::new();
    for url in metadata_urls(issuer_url)? {
        let fetched = http::get(client, &url, timeout, MAX_METADATA_BYTES).await?;
        if fetched.status == 404 {
            last = format!("GET {} answered HTTP 404", http::redacted(&url));
            continue;
        }
        if fetched.status != 200 {
            return Err(format!(
                "GET {} answered HTTP {}",
                http::redacted(&url),
                fetched.status
            ));
        }
        let doc = json::parse_object(&fetched.body)
            .map_err(|e| format!("provider metadata is not valid JSON: {e}"))?;
        match doc.get("issuer").and_then(|v| v.as_str()) {
            Some(i) if i == issuer => {}
            _ => {
                return Err(
                    "provider metadata names a different issuer (OIDC Discovery §4.3)".into(),
                );
            }
        }
        let uri = doc
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or("provider metadata has no jwks_uri")?;
        return check_url("jwks_uri", uri, allow_http)
            .map_err(|e| format!("discovered {}", e.message()));
    }
    Err(last)
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
