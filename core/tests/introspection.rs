//! Introspection (RFC 7662) and the resilience rules against a fault server on loopback:
//! caching, single flight, auth methods, the active rules, retries, Retry-After, timeouts and
//! the circuit breaker. The real-provider tests are in `provider.rs`.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jwtgate::{Audience, BreakerState, ClientAuth, Config, ErrorKind, Mode, Source, Validator};
use jwtgate_testkit::server::{Reply, Request, TestServer};
use jwtgate_testkit::{TestKey, access_token_claims, jwks, unix_now};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";
const OPAQUE: &str = "opaque-token-7c1f0e2d9b8a";

fn active(extra: Value) -> Reply {
    let now = unix_now();
    let mut body = json!({
        "active": true, "iss": ISSUER, "aud": AUDIENCE, "sub": "svc-7", "client_id": "api-client",
        "scope": "read:items", "token_type": "Bearer", "exp": now + 600, "iat": now,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    Reply::json(&body)
}

fn config(server: &TestServer) -> Config {
    let key = TestKey::rsa("rsa-a", "RS256", "rsa-a");
    Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks: Some(jwks(&[&key])),
        introspection_endpoint: Some(server.url("/introspect")),
        client_id: Some("rs client".into()),
        client_secret: Some("s3cr:et/+".into()),
        fetch_timeout: 1.0,
        fetch_deadline: 3.0,
        fetch_retry_backoff: 0.01,
        ..Config::default()
    }
}

fn form(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn opaque_tokens_are_introspected_then_served_from_cache() {
    let seen: Arc<std::sync::Mutex<Vec<Request>>> = Arc::default();
    let s2 = seen.clone();
    let server = TestServer::start(move |req| {
        s2.lock().unwrap().push(req.clone());
        active(json!({}))
    });
    let v = Validator::new(config(&server)).unwrap();
    let first = v.validate_blocking(OPAQUE).unwrap();
    assert_eq!(first.source(), Source::Introspection);
    assert_eq!(first.claims().subject(), Some("svc-7"));
    assert_eq!(first.claims().scopes(), vec!["read:items"]);
    assert_eq!(first.claims().get("client_id"), Some(&json!("api-client")));
    let again = v.validate_local(OPAQUE).unwrap();
    assert_eq!(again.source(), Source::Cache);
    assert_eq!(server.hits("/introspect"), 1);
    let stats = v.stats();
    assert_eq!(
        (
            stats.introspection_requests,
            stats.introspection_active,
            stats.introspection_cache_hits
        ),
        (1, 1, 1)
    );

    let req = seen.lock().unwrap()[0].clone();
    assert_eq!(req.method, "POST");
    let f = form(&req);
    assert!(f.contains(&("token".into(), OPAQUE.into())));
    assert!(f.contains(&("token_type_hint".into(), "access_token".into())));
    assert!(
        !f.iter().any(|(k, _)| k == "client_secret"),
        "basic auth keeps the secret out of the body"
    );
    // RFC 6749 §2.3.1: both parts form-urlencoded, then Basic.
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode("rs+client:s3cr%3Aet%2F%2B");
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Basic {expected}").as_str())
    );
}

#[test]
fn client_secret_post_sends_credentials_in_the_form() {
    let seen: Arc<std::sync::Mutex<Vec<Request>>> = Arc::default();
    let s2 = seen.clone();
    let server = TestServer::start(move |req| {
        s2.lock().unwrap().push(req.clone());
        active(json!({}))
    });
    let v = Validator::new(Config {
        client_auth: ClientAuth::ClientSecretPost,
        ..config(&server)
    })
    .unwrap();
    v.validate_blocking(OPAQUE).unwrap();
    let req = seen.lock().unwrap()[0].clone();
    let f = form(&req);
    assert!(f.contains(&("client_id".into(), "rs client".into())));
    assert!(f.contains(&("client_secret".into(), "s3cr:et/+".into())));
    assert_eq!(header(&req, "authorization"), None);
}

#[test]
fn only_a_boolean_true_is_active() {
    let cases: Vec<(&str, Reply, ErrorKind)> = vec![
        (
            "inactive",
            Reply::json(&json!({"active": false})),
            ErrorKind::Inactive,
        ),
        (
            "active as a string",
            Reply::json(&json!({"active": "true", "sub": "x"})),
            ErrorKind::ProviderUnavailable,
        ),
        (
            "active as 1",
            Reply::json(&json!({"active": 1})),
            ErrorKind::ProviderUnavailable,
        ),
        (
            "no active",
            Reply::json(&json!({"sub": "x"})),
            ErrorKind::ProviderUnavailable,
        ),
        (
            "invalid JSON",
            Reply {
                status: 200,
                body: b"{\"active\":tru".to_vec(),
                ..Reply::default()
            },
            ErrorKind::ProviderUnavailable,
        ),
        (
            "duplicate active",
            Reply {
                status: 200,
                body: br#"{"active":false,"active":true}"#.to_vec(),
                ..Reply::default()
            },
            ErrorKind::ProviderUnavailable,
        ),
        (
            "401: bad client credentials",
            Reply::status(401),
            ErrorKind::ProviderUnavailable,
        ),
        (
            "expired",
            active(json!({"exp": 1_600_000_000})),
            ErrorKind::Expired,
        ),
        (
            "other issuer",
            active(json!({"iss": "https://evil.test"})),
            ErrorKind::IssuerMismatch,
        ),
        (
            "other audience",
            active(json!({"aud": ["https://payments.test"]})),
            ErrorKind::AudienceMismatch,
        ),
        (
            "exp as a string",
            active(json!({"exp": "soon"})),
            ErrorKind::InvalidClaim,
        ),
        // Audit finding 1: what "active" proves (RFC 7662 §2.2, RFC 6749 §1.5 / §10.4).
        (
            "a refresh token",
            active(json!({"token_type": "refresh_token"})),
            ErrorKind::TokenTypeMismatch,
        ),
        (
            "a DPoP-bound token presented as bearer",
            active(json!({"token_type": "DPoP"})),
            ErrorKind::TokenTypeMismatch,
        ),
        (
            "no aud while an audience is configured",
            Reply::json(
                &json!({"active": true, "iss": ISSUER, "sub": "x", "exp": unix_now() + 600}),
            ),
            ErrorKind::MissingClaim,
        ),
        (
            "no aud, active only",
            Reply::json(&json!({"active": true})),
            ErrorKind::MissingClaim,
        ),
    ];
    for (what, reply, kind) in cases {
        let server = TestServer::start(move |_| reply.clone());
        let v = Validator::new(config(&server)).unwrap();
        let err = v.validate_blocking(OPAQUE).unwrap_err();
        assert_eq!(err.kind(), kind, "{what}: {err}");
        // Failures are not cached: the provider is asked again.
        let _ = v.validate_blocking(OPAQUE);
        assert_eq!(server.hits("/introspect"), 2, "{what}");
    }
}

#[test]
fn inactive_answers_are_remembered_only_when_configured() {
    let server = TestServer::start(|_| Reply::json(&json!({"active": false})));
    let v = Validator::new(Config {
        introspection_negative_ttl: 30.0,
        ..config(&server)
    })
    .unwrap();
    for _ in 0..100 {
        assert_eq!(
            v.validate_blocking(OPAQUE).unwrap_err().kind(),
            ErrorKind::Inactive
        );
    }
    assert_eq!(server.hits("/introspect"), 1);
}

#[test]
fn the_cache_never_outlives_exp_or_the_ttl() {
    let server = TestServer::start(|_| active(json!({"exp": unix_now() as f64 + 1.0})));
    let v = Validator::new(config(&server)).unwrap();
    v.validate_blocking(OPAQUE).unwrap();
    assert_eq!(v.validate_local(OPAQUE).unwrap().source(), Source::Cache);
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(
        v.validate_local(OPAQUE).unwrap_err().kind(),
        ErrorKind::KeysNotLoaded,
        "expired entry: needs the provider again"
    );
    v.validate_blocking(OPAQUE).unwrap();
    assert_eq!(server.hits("/introspect"), 2);

    let server = TestServer::start(|_| active(json!({})));
    let v = Validator::new(Config {
        introspection_cache_ttl: 0.5,
        ..config(&server)
    })
    .unwrap();
    v.validate_blocking(OPAQUE).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    v.validate_blocking(OPAQUE).unwrap();
    assert_eq!(server.hits("/introspect"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_concurrent_introspections_share_one_request() {
    let server = TestServer::start(|_| active(json!({})).delayed(Duration::from_millis(200)));
    let v = Validator::new(config(&server)).unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let v = v.clone();
            tokio::spawn(async move { v.validate(OPAQUE).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.hits("/introspect"), 1);
}

#[test]
fn a_failed_jwt_is_never_sent_to_introspection() {
    let server = TestServer::start(|_| active(json!({})));
    let v = Validator::new(config(&server)).unwrap();
    let forger = TestKey::rsa("rsa-b", "RS256", "rsa-a");
    let now = unix_now();
    let forged = forger.token(&access_token_claims(ISSUER, AUDIENCE, now, now + 60));
    assert_eq!(
        v.validate_blocking(&forged).unwrap_err().kind(),
        ErrorKind::SignatureInvalid
    );
    let broken = format!("{}.eyJ.sig", jwtgate_testkit::b64(r#"{"alg":"none"}"#));
    assert_eq!(
        v.validate_blocking(&broken).unwrap_err().kind(),
        ErrorKind::AlgorithmNotAllowed
    );
    assert_eq!(
        v.validate_blocking("not a token").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    assert_eq!(server.total_hits(), 0);
    // A good JWT is validated locally, also with zero introspection calls.
    let good = TestKey::rsa("rsa-a", "RS256", "rsa-a").token(&access_token_claims(
        ISSUER,
        AUDIENCE,
        now,
        now + 60,
    ));
    assert_eq!(v.validate_blocking(&good).unwrap().source(), Source::Local);
    assert_eq!(server.total_hits(), 0);
}

#[test]
fn modes_decide_where_tokens_go() {
    let server = TestServer::start(|_| active(json!({})));
    let key = TestKey::rsa("rsa-a", "RS256", "rsa-a");
    let now = unix_now();
    let jwt = key.token(&access_token_claims(ISSUER, AUDIENCE, now, now + 600));

    let local = Validator::new(Config {
        mode: Mode::Local,
        client_id: None,
        client_secret: None,
        introspection_endpoint: None,
        ..config(&server)
    })
    .unwrap();
    assert_eq!(
        local.validate_blocking(OPAQUE).unwrap_err().kind(),
        ErrorKind::UnsupportedToken
    );

    let strict = Validator::new(Config {
        mode: Mode::Introspect,
        ..config(&server)
    })
    .unwrap();
    assert_eq!(
        strict.validate_local(&jwt).unwrap_err().kind(),
        ErrorKind::KeysNotLoaded
    );
    let v = strict.validate_blocking(&jwt).unwrap();
    assert_eq!(v.source(), Source::Introspection);
    assert_eq!(
        v.claims().get("jti"),
        access_token_claims(ISSUER, AUDIENCE, now, now + 600).get("jti"),
        "the JWT's own claims"
    );
    assert_eq!(server.hits("/introspect"), 1);
    assert_eq!(strict.validate_local(&jwt).unwrap().source(), Source::Cache);

    let err = Validator::new(Config {
        mode: Mode::Local,
        ..config(&server)
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Validator::new(Config {
        client_secret: None,
        ..config(&server)
    })
    .unwrap_err();
    assert!(err.message().starts_with("client_secret"), "{err}");
}

#[test]
fn server_errors_are_retried_with_backoff_then_fail() {
    let server = TestServer::start(|_| Reply::status(503));
    let v = Validator::new(Config {
        fetch_retries: 2,
        ..config(&server)
    })
    .unwrap();
    let err = v.validate_blocking(OPAQUE).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
    assert!(err.message().contains("503"), "{err}");
    assert_eq!(server.hits("/introspect"), 3, "one request and two retries");
    assert_eq!(v.stats().http_retries, 2);
}

#[test]
fn retry_after_is_honoured() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let server = TestServer::start(move |_| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::status(429).header("Retry-After", "1")
        } else {
            active(json!({}))
        }
    });
    let v = Validator::new(config(&server)).unwrap();
    let started = Instant::now();
    v.validate_blocking(OPAQUE).unwrap();
    let waited = started.elapsed();
    assert_eq!(server.hits("/introspect"), 2);
    assert!(
        waited >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured ({waited:?})"
    );
    // A Retry-After beyond the deadline is not waited for.
    let server = TestServer::start(|_| Reply::status(429).header("Retry-After", "3600"));
    let v = Validator::new(Config {
        breaker_threshold: 1,
        ..config(&server)
    })
    .unwrap();
    assert_eq!(
        v.validate_blocking(OPAQUE).unwrap_err().kind(),
        ErrorKind::ProviderUnavailable
    );
    assert_eq!(server.hits("/introspect"), 1);
    // Audit finding 10: it is honoured for every new token (no request before it ends), and
    // it does not open the breaker (threshold 1 here): the provider is up.
    for i in 0..20 {
        assert_eq!(
            v.validate_blocking(&format!("{OPAQUE}-{i}"))
                .unwrap_err()
                .kind(),
            ErrorKind::ProviderUnavailable
        );
    }
    assert_eq!(server.hits("/introspect"), 1);
    assert_eq!(v.stats().introspection_throttled, 20);
    let health = v.health();
    let breaker = &health.introspection.as_ref().unwrap().breaker;
    assert_eq!(breaker.state, BreakerState::Closed);
}

/// Audit finding 10: distinct garbage opaque tokens cost at most `introspection_rate_limit`
/// provider calls per second; cached tokens keep validating meanwhile.
#[test]
fn new_opaque_tokens_are_rate_limited_cached_ones_are_not() {
    let server = TestServer::start(|_| active(json!({})));
    let v = Validator::new(Config {
        introspection_rate_limit: 5.0,
        ..config(&server)
    })
    .unwrap();
    v.validate_blocking(OPAQUE).unwrap();
    let started = Instant::now();
    let mut refused = 0;
    for i in 0..100 {
        match v.validate_blocking(&format!("garbage-{i}")) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
                refused += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let calls = server.hits("/introspect");
    // One call for OPAQUE, then the bucket: 5 at once plus 5 per second.
    let allowed = 1 + 5 + (elapsed * 5.0).ceil() as usize;
    assert!(calls <= allowed, "{calls} calls in {elapsed:.2}s");
    assert!(refused >= 100 - allowed, "{refused} refused");
    assert_eq!(v.stats().introspection_throttled, refused as u64);
    // The cached token never needed the budget.
    assert_eq!(v.validate_blocking(OPAQUE).unwrap().source(), Source::Cache);
    // 0 means unlimited.
    let server = TestServer::start(|_| active(json!({})));
    let v = Validator::new(Config {
        introspection_rate_limit: 0.0,
        ..config(&server)
    })
    .unwrap();
    for i in 0..300 {
        v.validate_blocking(&format!("token-{i}")).unwrap();
    }
    assert_eq!(server.hits("/introspect"), 300);
}

/// Audit finding 1: `max_token_age` and `required_claims` apply to introspected tokens as on
/// the JWT path, and `max_token_age` ends the cache entry.
#[test]
fn introspected_tokens_follow_the_age_and_claim_policy() {
    let now = unix_now();
    let old = now - 11 * 86_400;
    let server = TestServer::start(move |_| active(json!({"iat": old})));
    let v = Validator::new(Config {
        max_token_age: Some(60.0),
        ..config(&server)
    })
    .unwrap();
    assert_eq!(
        v.validate_blocking(OPAQUE).unwrap_err().kind(),
        ErrorKind::TokenTooOld
    );
    let server = TestServer::start(|_| active(json!({})));
    let v = Validator::new(Config {
        required_claims: vec!["tenant".into()],
        ..config(&server)
    })
    .unwrap();
    assert_eq!(
        v.validate_blocking(OPAQUE).unwrap_err().kind(),
        ErrorKind::MissingClaim
    );
    // Accepted young, then refused from the cache once older than the policy.
    let iat = unix_now() - 1;
    let server = TestServer::start(move |_| active(json!({"iat": iat})));
    let v = Validator::new(Config {
        max_token_age: Some(2.0),
        leeway: 0.0,
        ..config(&server)
    })
    .unwrap();
    v.validate_blocking(OPAQUE).unwrap();
    assert_eq!(v.validate_local(OPAQUE).unwrap().source(), Source::Cache);
    std::thread::sleep(Duration::from_millis(2100));
    assert_ne!(
        v.validate_local(OPAQUE).map(|v| v.source()).ok(),
        Some(Source::Cache),
        "the cached answer must not outlive iat + max_token_age"
    );
}

/// Audit finding 9: a JWS whose header is non-canonical base64url (trailing bits set) is a
/// malformed JWS, never an opaque token sent to the provider.
#[test]
fn a_non_canonical_jws_is_never_introspected() {
    let server = TestServer::start(|_| active(json!({})));
    let v = Validator::new(config(&server)).unwrap();
    let payload = jwtgate_testkit::b64(r#"{"sub":"x"}"#);
    for header in [
        "eyJhbGciOiJub25lIn1",
        "eyJhbGciOiJub25lIn0=",
        "eyJhbGciOiJSUzI1NiJ9",
    ] {
        let token = format!("{header}.{payload}.c2ln");
        let e = v.validate_blocking(&token).unwrap_err();
        assert_ne!(e.kind(), ErrorKind::Inactive, "{header}");
        assert!(e.kind().is_token_fault(), "{header}: {e}");
    }
    assert_eq!(
        server.total_hits(),
        0,
        "no request for a JWS, canonical or not"
    );
}

#[test]
fn hangs_slow_bodies_and_huge_bodies_stay_within_the_deadline() {
    let cases: Vec<(&str, Reply)> = vec![
        ("hang", active(json!({})).delayed(Duration::from_secs(30))),
        (
            "slow body",
            Reply {
                status: 200,
                body: br#"{"active":true}"#.to_vec(),
                trickle: Some(Duration::from_millis(200)),
                ..Reply::default()
            },
        ),
        (
            "huge body",
            Reply {
                status: 200,
                body: vec![b' '; 200 * 1024],
                ..Reply::default()
            },
        ),
    ];
    for (what, reply) in cases {
        let server = TestServer::start(move |_| reply.clone());
        let v = Validator::new(Config {
            fetch_timeout: 0.3,
            fetch_deadline: 1.0,
            ..config(&server)
        })
        .unwrap();
        let started = Instant::now();
        let err = v.validate_blocking(OPAQUE).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProviderUnavailable, "{what}: {err}");
        // Bounded by fetch_deadline (1 s) plus scheduling slack.
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "{what}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn the_breaker_opens_fails_fast_and_recovers() {
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let d2 = down.clone();
    let server = TestServer::start(move |_| {
        if d2.load(Ordering::SeqCst) {
            Reply::status(500)
        } else {
            active(json!({}))
        }
    });
    let v = Validator::new(Config {
        fetch_retries: 0,
        breaker_threshold: 3,
        breaker_cooldown: 0.5,
        ..config(&server)
    })
    .unwrap();
    for i in 0..3 {
        let t = format!("{OPAQUE}-{i}");
        assert_eq!(
            v.validate_blocking(&t).unwrap_err().kind(),
            ErrorKind::ProviderUnavailable
        );
    }
    assert_eq!(server.hits("/introspect"), 3);
    assert_eq!(
        v.health().introspection.unwrap().breaker.state,
        BreakerState::Open
    );
    // Open: fail fast, no request reaches the provider.
    let mut times = Vec::new();
    for i in 0..1000 {
        let t = format!("{OPAQUE}-open-{i}");
        let started = Instant::now();
        let err = v.validate_blocking(&t).unwrap_err();
        times.push(started.elapsed());
        assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
        assert!(err.message().contains("circuit open"), "{err}");
    }
    assert_eq!(server.hits("/introspect"), 3);
    times.sort();
    // Reported, not asserted (timings are for benchmarks): see the closing note.
    eprintln!(
        "fail-fast with the breaker open: median {:?}, p99 {:?}",
        times[500], times[990]
    );
    // JWTs keep validating locally while the breaker is open.
    let key = TestKey::rsa("rsa-a", "RS256", "rsa-a");
    let now = unix_now();
    v.validate_blocking(&key.token(&access_token_claims(ISSUER, AUDIENCE, now, now + 60)))
        .unwrap();
    // The provider comes back: after the cooldown one probe closes the circuit.
    down.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(600));
    v.validate_blocking(OPAQUE).unwrap();
    assert_eq!(
        v.health().introspection.unwrap().breaker.state,
        BreakerState::Closed
    );
    assert_eq!(
        v.stats().breaker_transitions,
        3,
        "closed→open→half-open→closed"
    );
}

#[test]
fn opaque_tokens_defer_on_the_network_free_path() {
    let server = TestServer::start(|_| active(json!({})));
    let v = Validator::new(config(&server)).unwrap();
    assert_eq!(
        v.validate_local(OPAQUE).unwrap_err().kind(),
        ErrorKind::KeysNotLoaded
    );
    assert_eq!(
        server.total_hits(),
        0,
        "the sync path never calls the provider"
    );
}

#[test]
fn discovery_provides_the_introspection_endpoint() {
    let base: Arc<std::sync::Mutex<String>> = Arc::default();
    let b2 = base.clone();
    let server = TestServer::start(move |req| {
        let base = b2.lock().unwrap().clone();
        match req.path.as_str() {
            "/.well-known/openid-configuration" => Reply::json(&json!({
                "issuer": base, "jwks_uri": format!("{base}/jwks"), "introspection_endpoint": format!("{base}/introspect"),
            })),
            "/introspect" => {
                Reply::json(&json!({"active": true, "iss": base, "aud": AUDIENCE, "sub": "s"}))
            }
            _ => Reply::status(404),
        }
    });
    let issuer = server.url("");
    *base.lock().unwrap() = issuer.clone();
    let v = Validator::new(Config {
        issuer,
        audience: Some(Audience::One(AUDIENCE.into())),
        client_id: Some("rs".into()),
        client_secret: Some("secret".into()),
        ..Config::default()
    })
    .unwrap();
    assert_eq!(
        v.validate_blocking(OPAQUE).unwrap().claims().subject(),
        Some("s")
    );
    assert_eq!(server.hits("/.well-known/openid-configuration"), 1);
}

#[test]
fn revocation_applies_to_introspected_tokens() {
    let server = TestServer::start(|_| active(json!({"jti": "opaque-jti-1"})));
    let v = Validator::new(config(&server)).unwrap();
    v.validate_blocking(OPAQUE).unwrap();
    assert_eq!(v.revoke_jti("opaque-jti-1", None).unwrap(), 1);
    assert_eq!(
        v.validate_blocking(OPAQUE).unwrap_err().kind(),
        ErrorKind::Revoked
    );
}
