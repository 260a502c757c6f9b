//! The admin routes every HTTP face mounts under a prefix of the application's choice
//! (FastAPI `admin_router`, Express `adminRouter`, Go `AdminHandler`): the route table, the
//! request rules and the answers, written once here. A face only registers [`ROUTES`], puts
//! its bearer-token check (the same engine, the HTTP edge's answers, the admin scope) in front
//! of every route but `dashboard`, and sends the [`Reply`].
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `stats` | `stats()` as JSON |
//! | GET | `health` | `health()` plus `status`: 200 `healthy`, 503 `keys_unavailable` |
//! | GET | `metrics` | the Prometheus text |
//! | POST | `jwks/refresh` | body empty or `{"issuer": "..."}`; 200, 400 (unknown issuer), 503 |
//! | POST | `cache/clear` | `{"removed": n}` |
//! | POST | `revoke` | `{"jti": "...", "until"?: secs}` or `{"sub": "...", "issued_before"?: secs}`; 400 on anything else |
//! | GET | `dashboard` | the dashboard page (no data in it; served without a token, see below) |
//!
//! The dashboard page is the one route served without a bearer token: a browser cannot put
//! one on a navigation, and the page holds no data. Its script asks the operator for a token
//! (kept in the page's memory only, never in a URL or storage) and sends it in the
//! `Authorization` header of every poll of `stats` and `health`, which are protected as the
//! other routes are. Its Content-Security-Policy allows its own inline script and style (by
//! hash) and requests to its own origin only.

use std::sync::OnceLock;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::validator::Validator;

/// Every admin route: `(method, path under the prefix)`.
pub const ROUTES: [(&str, &str); 7] = [
    ("GET", "stats"),
    ("GET", "health"),
    ("GET", "metrics"),
    ("POST", "jwks/refresh"),
    ("POST", "cache/clear"),
    ("POST", "revoke"),
    ("GET", "dashboard"),
];

/// Largest request body an admin route reads (a revocation is well under 2 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The dashboard page: self-contained, no request leaves the host.
pub const DASHBOARD_HTML: &str = include_str!("dashboard.html");

/// An admin route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Stats,
    Health,
    Metrics,
    JwksRefresh,
    CacheClear,
    Revoke,
    Dashboard,
}

impl Route {
    /// The route of `method` and `path` (relative to the prefix, with or without a leading
    /// `/`); `None` when there is none.
    pub fn parse(method: &str, path: &str) -> Option<Route> {
        let path = path.trim_start_matches('/');
        let index = ROUTES
            .iter()
            .position(|(m, p)| *m == method && *p == path)?;
        Some(
            [
                Route::Stats,
                Route::Health,
                Route::Metrics,
                Route::JwksRefresh,
                Route::CacheClear,
                Route::Revoke,
                Route::Dashboard,
            ][index],
        )
    }

    /// Whether the route needs the admin token (every route but the page itself).
    pub fn needs_token(self) -> bool {
        self != Route::Dashboard
    }
}

/// What a face sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    /// Headers besides `Content-Type` (`Cache-Control` always; the page's security headers).
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

const JSON: &str = "application/json";

fn json(status: u16, body: String) -> Reply {
    Reply {
        status,
        content_type: JSON,
        headers: vec![("Cache-Control", "no-store".to_string())],
        body,
    }
}

/// A typed refusal of the request: `{"error": "invalid_request", "error_description": ...,
/// "kind": ...}`, with the kind of the core's error (`invalid_request` for a body that is not
/// what the route takes, `config` for a value the engine refuses, naming the field).
fn bad_request(kind: ErrorKind, message: &str) -> Reply {
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": crate::token::truncate_to(message, crate::edge::MAX_DESCRIPTION),
        "kind": kind.as_str(),
    });
    json(400, body.to_string())
}

fn from_error(e: &Error) -> Reply {
    match e.kind() {
        ErrorKind::Config | ErrorKind::InvalidRequest => bad_request(e.kind(), e.message()),
        // CWE-209: an unreachable provider's message (URL, OS error) is for the log only.
        _ => {
            let answer = crate::edge::answer(e, None, &[]);
            tracing::warn!(target: "jwtgate::audit", event = "admin_failed", kind = e.kind().as_str(), "admin operation failed: {}", e.message());
            json(answer.status, answer.body)
        }
    }
}

/// The admin scope a face is given: one non-empty RFC 6749 §3.3 scope token. There is no
/// default and no value that turns the check off: the routes are never open by default.
pub fn check_scope(scope: &str) -> crate::Result<()> {
    if scope.is_empty() {
        return Err(Error::config(
            "scope",
            "the admin routes need a scope (e.g. \"jwtgate:admin\"); there is no default",
        ));
    }
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    if !scope
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    {
        return Err(Error::config(
            "scope",
            "must be one scope token (printable ASCII without space, '\"' or '\\')",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    jti: Option<String>,
    sub: Option<String>,
    until: Option<f64>,
    issued_before: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    issuer: Option<String>,
}

/// Reads a JSON object body: at most [`MAX_BODY_BYTES`], UTF-8, the strict parser's rules
/// (no duplicate member, bounded depth), then the route's shape (unknown members refused).
fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8], empty: Option<T>) -> Result<T, Reply> {
    let refuse = |m: &str| bad_request(ErrorKind::InvalidRequest, m);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return empty.ok_or_else(|| refuse("the body must be a JSON object"));
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(refuse("the body is too large"));
    }
    let object = crate::json::parse_object(bytes).map_err(|e| refuse(&format!("the body: {e}")))?;
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| refuse(&format!("the body: {e}")))
}

/// Answers a route, blocking for `jwks/refresh` (bounded by the fetch timeouts). For faces
/// that serve requests on threads (Python's thread pool, Go's goroutines, C).
pub fn handle_blocking(v: &Validator, route: Route, request_body: &[u8]) -> Reply {
    match prepare(v, route, request_body) {
        Prepared::Done(reply) => reply,
        Prepared::Refresh(issuer) => refresh_reply(v.refresh_keys_blocking(issuer.as_deref())),
    }
}

/// Answers a route and hands the reply to `done`: at once, or from jwtgate's runtime when the
/// key sets were fetched (`jwks/refresh`). For hosts with an event loop (Node).
pub fn handle_with(
    v: &Validator,
    route: Route,
    request_body: &[u8],
    done: impl FnOnce(Reply) + Send + 'static,
) {
    match prepare(v, route, request_body) {
        Prepared::Done(reply) => done(reply),
        Prepared::Refresh(issuer) => {
            v.refresh_keys_with(issuer.as_deref(), move |r| done(refresh_reply(r)));
        }
    }
}

enum Prepared {
    Done(Reply),
    Refresh(Option<String>),
}

fn prepare(v: &Validator, route: Route, request_body: &[u8]) -> Prepared {
    let reply = match route {
        Route::Stats => json(200, to_json(&v.stats())),
        Route::Health => health(v),
        Route::Metrics => Reply {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            headers: vec![("Cache-Control", "no-store".to_string())],
            body: v.metrics_text(),
        },
        Route::JwksRefresh => match body::<RefreshBody>(request_body, Some(RefreshBody::default()))
        {
            Ok(b) => {
                tracing::info!(target: "jwtgate::audit", event = "admin_jwks_refresh", "key sets refreshed by an operator");
                return Prepared::Refresh(b.issuer);
            }
            Err(reply) => reply,
        },
        Route::CacheClear => {
            let removed = v.clear_cache();
            json(200, serde_json::json!({ "removed": removed }).to_string())
        }
        Route::Revoke => revoke(v, request_body),
        Route::Dashboard => Reply {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: dashboard_headers(),
            body: DASHBOARD_HTML.to_string(),
        },
    };
    Prepared::Done(reply)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

/// Healthy unless an issuer with remote keys has none it may use (never fetched, or past
/// `jwks_max_stale`): then validations of its tokens fail with `jwks_unavailable`.
fn health(v: &Validator) -> Reply {
    let health = v.health();
    let unavailable = health.issuers.iter().any(|i| {
        i.jwks
            .as_ref()
            .is_some_and(|j| !matches!(j.freshness, "fresh" | "stale"))
    });
    let mut doc = serde_json::to_value(&health).unwrap_or_default();
    let status = if unavailable {
        "keys_unavailable"
    } else {
        "healthy"
    };
    if let serde_json::Value::Object(map) = &mut doc {
        map.insert("status".to_string(), status.into());
    }
    json(if unavailable { 503 } else { 200 }, doc.to_string())
}

fn refresh_reply(result: crate::Result<()>) -> Reply {
    match result {
        Ok(()) => json(200, r#"{"refreshed":true}"#.to_string()),
        Err(e) => from_error(&e),
    }
}

fn revoke(v: &Validator, request_body: &[u8]) -> Reply {
    let b = match body::<RevokeBody>(request_body, None) {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let refuse = |m: &str| bad_request(ErrorKind::InvalidRequest, m);
    let result = match (b.jti, b.sub) {
        (Some(_), Some(_)) => return refuse("give either jti or sub, not both"),
        (None, None) => return refuse("the body needs jti or sub"),
        (Some(jti), None) => {
            if b.issued_before.is_some() {
                return refuse("issued_before applies to sub");
            }
            v.revoke_jti(&jti, b.until).map(|n| ("jti", n))
        }
        (None, Some(sub)) => {
            if b.until.is_some() {
                return refuse("until applies to jti");
            }
            v.revoke_subject(&sub, b.issued_before).map(|n| ("sub", n))
        }
    };
    match result {
        Ok((by, removed)) => json(
            200,
            serde_json::json!({ "revoked": by, "removed": removed }).to_string(),
        ),
        Err(e) => from_error(&e),
    }
}

/// The page's security headers: its inline script and style allowed by hash, requests to its
/// own origin only, no framing, no referrer.
fn dashboard_headers() -> Vec<(&'static str, String)> {
    static CSP: OnceLock<String> = OnceLock::new();
    let csp = CSP.get_or_init(|| {
        let hash = |open: &str, close: &str| {
            let start = DASHBOARD_HTML.find(open).map_or(0, |i| i + open.len());
            let end = DASHBOARD_HTML[start..]
                .find(close)
                .map_or(start, |i| start + i);
            let digest = aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                &DASHBOARD_HTML.as_bytes()[start..end],
            );
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
            )
        };
        format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src data:; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            hash("<script>", "</script>"),
            hash("<style>", "</style>")
        )
    });
    vec![
        ("Cache-Control", "no-store".to_string()),
        ("Content-Security-Policy", csp.clone()),
        ("X-Frame-Options", "DENY".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
        ("X-Content-Type-Options", "nosniff".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> Validator {
        Validator::from_json(
            r#"{"issuer": "https://issuer.test", "audience": "api", "shared_secret": "0123456789abcdef0123456789abcdef", "algorithms": ["HS256"]}"#,
        )
        .expect("validator")
    }

    fn kind(reply: &Reply) -> String {
        let doc: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
        doc["kind"].as_str().unwrap_or("").to_string()
    }

    #[test]
    fn routes_parse_by_method_and_path() {
        assert_eq!(Route::parse("GET", "/stats"), Some(Route::Stats));
        assert_eq!(
            Route::parse("POST", "jwks/refresh"),
            Some(Route::JwksRefresh)
        );
        assert_eq!(Route::parse("POST", "stats"), None);
        assert_eq!(Route::parse("GET", "nope"), None);
        assert!(!Route::Dashboard.needs_token());
        assert!(Route::CacheClear.needs_token());
    }

    #[test]
    fn the_scope_has_no_default() {
        assert!(check_scope("").is_err());
        assert!(check_scope("a b").is_err());
        assert!(check_scope("jwtgate:admin").is_ok());
    }

    #[test]
    fn revoke_takes_exactly_one_id_and_typed_errors() {
        let v = validator();
        let ok = handle_blocking(&v, Route::Revoke, br#"{"jti": "abc"}"#);
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert!(ok.body.contains(r#""revoked":"jti""#));
        let sub = handle_blocking(&v, Route::Revoke, br#"{"sub": "alice"}"#);
        assert_eq!(sub.status, 200, "{}", sub.body);
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"jti\": 5}",
            b"{\"jti\": \"a\", \"sub\": \"b\"}",
            b"{\"jti\": \"a\", \"jti\": \"b\"}",
            b"{\"jti\": \"a\", \"extra\": 1}",
            b"{\"jti\": \"a\", \"issued_before\": 1}",
            b"{}",
            b"\xff\xfe",
        ] {
            let r = handle_blocking(&v, Route::Revoke, bad);
            assert_eq!(
                r.status,
                400,
                "{:?}: {}",
                String::from_utf8_lossy(bad),
                r.body
            );
            assert_eq!(kind(&r), "invalid_request");
        }
        let past = handle_blocking(&v, Route::Revoke, br#"{"jti": "a", "until": 1}"#);
        assert_eq!(past.status, 400);
        assert_eq!(kind(&past), "config");
        let empty = handle_blocking(&v, Route::Revoke, br#"{"jti": ""}"#);
        assert_eq!((empty.status, kind(&empty).as_str()), (400, "config"));
    }

    #[test]
    fn routes_answer() {
        let v = validator();
        let stats = handle_blocking(&v, Route::Stats, b"");
        assert_eq!(stats.status, 200);
        assert!(stats.body.contains("\"latency\""));
        let health = handle_blocking(&v, Route::Health, b"");
        assert_eq!(health.status, 200, "shared-secret keys are always there");
        assert!(health.body.contains(r#""status":"healthy""#));
        let metrics = handle_blocking(&v, Route::Metrics, b"");
        assert!(
            metrics
                .body
                .contains("jwtgate_validation_duration_seconds_bucket")
        );
        let clear = handle_blocking(&v, Route::CacheClear, b"");
        assert_eq!(clear.body, r#"{"removed":0}"#);
        let refresh = handle_blocking(&v, Route::JwksRefresh, b"");
        assert_eq!(refresh.status, 200, "{}", refresh.body);
        let unknown = handle_blocking(&v, Route::JwksRefresh, br#"{"issuer": "https://other"}"#);
        assert_eq!((unknown.status, kind(&unknown).as_str()), (400, "config"));
        let page = handle_blocking(&v, Route::Dashboard, b"");
        assert!(page.body.starts_with("<!doctype html>"));
        let csp = &page
            .headers
            .iter()
            .find(|h| h.0 == "Content-Security-Policy")
            .expect("CSP")
            .1;
        assert!(csp.contains("script-src 'sha256-") && csp.contains("connect-src 'self'"));
    }

    #[test]
    fn health_is_503_while_remote_keys_are_unavailable() {
        let v = Validator::from_json(
            r#"{"issuer": "http://127.0.0.1:9", "audience": "api", "jwks_uri": "http://127.0.0.1:9/jwks", "allow_http": true}"#,
        )
        .expect("validator");
        let health = handle_blocking(&v, Route::Health, b"");
        assert_eq!(health.status, 503);
        assert!(health.body.contains(r#""status":"keys_unavailable""#));
    }
}
