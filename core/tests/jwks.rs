//! The JWKS subsystem against a real HTTP server on loopback: caching, single flight, the
//! unknown-kid cooldown, Cache-Control, stale keys during an outage, timeouts, discovery.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jwtgate::{Audience, Config, ErrorKind, Source, Validator};
use jwtgate_testkit::server::{Reply, TestServer};
use jwtgate_testkit::{TestKey, access_token_claims, jwks, unix_now};
use serde_json::json;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";

fn key_a() -> TestKey {
    TestKey::rsa("rsa-a", "RS256", "key-a")
}

fn key_b() -> TestKey {
    TestKey::ec("ES256", "key-b")
}

fn token(key: &TestKey) -> String {
    let now = unix_now();
    key.token(&access_token_claims(ISSUER, AUDIENCE, now, now + 3600))
}

fn jwks_server(keys: &[&TestKey]) -> TestServer {
    let doc = jwks(keys);
    TestServer::start(move |_| Reply::json(&doc))
}

fn config(server: &TestServer) -> Config {
    Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(server.url("/jwks")),
        jwks_refresh_cooldown: 0.5,
        fetch_timeout: 2.0,
        ..Config::default()
    }
}

#[test]
fn keys_are_fetched_once_and_cached() {
    let server = jwks_server(&[&key_a()]);
    let v = Validator::new(config(&server)).unwrap();
    for _ in 0..50 {
        // Different tokens: every call verifies, none refetches.
        v.validate_blocking(&token(&key_a())).unwrap();
    }
    assert_eq!(server.hits("/jwks"), 1);
    let stats = v.stats();
    assert_eq!(stats.jwks_fetches_ok, 1);
    assert_eq!(stats.jwks_refreshes["initial"], 1);
}

#[test]
fn warm_cache_answers_without_any_request() {
    let server = jwks_server(&[&key_a()]);
    let v = Validator::new(config(&server)).unwrap();
    v.ready_blocking().unwrap();
    let t = token(&key_a());
    assert_eq!(v.validate_blocking(&t).unwrap().source(), Source::Local);
    let before = server.total_hits();
    for _ in 0..10_000 {
        assert_eq!(v.validate_local(&t).unwrap().source(), Source::Cache);
    }
    assert_eq!(
        server.total_hits(),
        before,
        "a warm cache makes no provider call"
    );
    assert_eq!(v.stats().cache_hits, 10_000);
}

#[test]
fn network_free_path_defers_until_keys_are_loaded() {
    let server = jwks_server(&[&key_a()]);
    let v = Validator::new(config(&server)).unwrap();
    let t = token(&key_a());
    assert_eq!(
        v.validate_local(&t).unwrap_err().kind(),
        ErrorKind::KeysNotLoaded
    );
    // The deferral started a background load; it lands shortly.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match v.validate_local(&t) {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::KeysNotLoaded && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(server.hits("/jwks"), 1);
    assert!(v.stats().sync_deferred >= 1);
    // An unknown kid right after the first load may be a rotation: the network-free path
    // defers (the async path would fetch at once; no cooldown follows a load it did not cause).
    assert_eq!(
        v.validate_local(&token(&key_b())).unwrap_err().kind(),
        ErrorKind::KeysNotLoaded
    );
    // Once an unknown kid has refreshed the set, more unknown kids inside the cooldown are
    // refused outright.
    assert_eq!(
        v.validate_blocking(&token(&key_b())).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
    assert_eq!(server.hits("/jwks"), 2);
    assert_eq!(
        v.validate_local(&token(&key_b())).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_new_kid_validations_cause_one_fetch() {
    let (a, b) = (key_a(), key_b());
    let server = jwks_server(&[&a]);
    let mut cfg = config(&server);
    cfg.jwks_refresh_cooldown = 0.0;
    let v = Validator::new(cfg).unwrap();
    v.ready().await.unwrap();
    assert_eq!(server.hits("/jwks"), 1);
    // Rotation: the provider now publishes key-b too, and it is slow to answer.
    let doc = jwks(&[&a, &b]);
    server.set_handler(move |_| Reply::json(&doc).delayed(Duration::from_millis(200)));
    let t = Arc::new(token(&b));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (v, t) = (v.clone(), t.clone());
            tokio::spawn(async move { v.validate(&t).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        server.hits("/jwks"),
        2,
        "exactly one fetch for 1,000 concurrent validations"
    );
    assert_eq!(v.stats().jwks_refreshes["unknown_kid"], 1);
    // Old tokens still validate after the rotation.
    v.validate(&token(&a)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_cold_validations_cause_one_fetch() {
    let a = key_a();
    let doc = jwks(&[&a]);
    let server = TestServer::start(move |_| Reply::json(&doc).delayed(Duration::from_millis(100)));
    let v = Validator::new(config(&server)).unwrap();
    let t = Arc::new(token(&a));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (v, t) = (v.clone(), t.clone());
            tokio::spawn(async move { v.validate(&t).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.hits("/jwks"), 1);
}

#[test]
fn forged_kids_during_the_cooldown_fail_fast_without_fetching() {
    let a = key_a();
    let server = jwks_server(&[&a]);
    let mut cfg = config(&server);
    cfg.jwks_refresh_cooldown = 1.0;
    // Minted first: signing is slow in debug builds and must not eat into the cooldown.
    let forged: Vec<String> = (0..50)
        .map(|i| token(&TestKey::rsa("rsa-b", "RS256", &format!("forged-{i}"))))
        .collect();
    let v = Validator::new(cfg).unwrap();
    v.ready_blocking().unwrap();
    // The first unknown kid after the load refreshes at once (it may be a rotation); the rest
    // fall inside the cooldown that refresh started: no fetch, so nobody waits on one.
    for i in 0..1000 {
        let err = v.validate_blocking(&forged[i % 50]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyNotFound);
    }
    assert_eq!(
        server.hits("/jwks"),
        2,
        "one refresh, then none during the cooldown"
    );
    assert!(v.stats().unknown_kid_fast_failures >= 999);
    // After the cooldown one forged kid triggers exactly one fetch, then the cooldown again.
    std::thread::sleep(Duration::from_millis(1100));
    for _ in 0..100 {
        assert_eq!(
            v.validate_blocking(&forged[0]).unwrap_err().kind(),
            ErrorKind::KeyNotFound
        );
    }
    assert_eq!(server.hits("/jwks"), 3, "at most one fetch per cooldown");
}

/// Issue #9: a key the provider starts signing with right after any fetch that an unknown
/// kid did not cause (the first load, a scheduled refresh, `refresh_keys()`) is accepted at
/// once, with exactly one more fetch, under the default 30 s cooldown.
#[test]
fn a_rotated_key_is_accepted_right_after_any_fetch() {
    let (a, b) = (key_a(), key_b());
    let server = jwks_server(&[&a]);
    let mut cfg = config(&server);
    cfg.jwks_refresh_cooldown = 30.0;
    let v = Validator::new(cfg).unwrap();
    v.ready_blocking().unwrap();
    let doc = jwks(&[&a, &b]);
    server.set_handler(move |_| Reply::json(&doc));
    v.validate_blocking(&token(&b)).unwrap();
    assert_eq!(server.hits("/jwks"), 2, "exactly one more fetch");
    // Another unknown kid inside the cooldown of that refresh is refused without a fetch:
    // the flood protection.
    let c = TestKey::rsa("rsa-b", "RS256", "rsa-c");
    let doc = jwks(&[&a, &b, &c]);
    server.set_handler(move |_| Reply::json(&doc));
    assert_eq!(
        v.validate_blocking(&token(&c)).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
    assert_eq!(server.hits("/jwks"), 2);
    // After a fetch no unknown kid caused (here a forced refresh; a scheduled one is the
    // same), the first unknown kid refreshes at once again: a rotation right after it works.
    std::thread::sleep(Duration::from_millis(1100));
    let d = TestKey::rsa("rsa-a", "RS256", "rsa-d");
    v.refresh_keys_blocking(None).unwrap();
    assert_eq!(server.hits("/jwks"), 3);
    v.validate_blocking(&token(&c)).unwrap();
    let doc = jwks(&[&a, &b, &c, &d]);
    server.set_handler(move |_| Reply::json(&doc));
    v.validate_blocking(&token(&d)).unwrap();
    assert_eq!(
        server.hits("/jwks"),
        4,
        "one fetch for d: c came with the forced refresh"
    );
}

#[test]
fn cache_control_max_age_is_clamped() {
    let a = key_a();
    let doc = jwks(&[&a]);
    // max-age=1 but jwks_min_ttl=30: the keys stay fresh, no refresh after 1.5 s.
    let server =
        TestServer::start(move |_| Reply::json(&doc).header("Cache-Control", "public, max-age=1"));
    let mut cfg = config(&server);
    cfg.jwks_min_ttl = 30.0;
    cfg.jwks_refresh_cooldown = 0.0;
    let v = Validator::new(cfg).unwrap();
    v.ready_blocking().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    v.validate_blocking(&token(&a)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.hits("/jwks"), 1);
    assert_eq!(v.health().jwks.unwrap().freshness, "fresh");

    // max-age=3600 but jwks_max_ttl=0.5: refreshed in the background after 0.4 s (80 %).
    let doc = jwks(&[&a]);
    let server =
        TestServer::start(move |_| Reply::json(&doc).header("Cache-Control", "max-age=3600"));
    let mut cfg = config(&server);
    cfg.jwks_min_ttl = 0.1;
    cfg.jwks_max_ttl = 0.5;
    cfg.jwks_refresh_cooldown = 0.0;
    let v = Validator::new(cfg).unwrap();
    v.ready_blocking().unwrap();
    std::thread::sleep(Duration::from_millis(450));
    // This validation does not wait: it uses the current keys and starts a refresh.
    v.validate_blocking(&token(&a)).unwrap();
    wait_for(|| server.hits("/jwks") == 2);
    assert_eq!(v.stats().jwks_refreshes["scheduled"], 1);
}

#[test]
fn stale_keys_are_served_while_the_provider_is_down_up_to_max_stale() {
    let a = key_a();
    let doc = jwks(&[&a]);
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = down.clone();
    let server = TestServer::start(move |_| {
        if d.load(Ordering::SeqCst) {
            Reply::status(503)
        } else {
            Reply::json(&doc)
        }
    });
    let mut cfg = config(&server);
    cfg.jwks_ttl = 0.3;
    cfg.jwks_min_ttl = 0.1;
    cfg.jwks_max_stale = 1.5;
    cfg.jwks_refresh_cooldown = 0.2;
    cfg.cache_max_entries = 0; // every call needs the keys
    cfg.fetch_retries = 0; // one request per fetch, to count them
    cfg.breaker_threshold = 3;
    cfg.breaker_cooldown = 0.3;
    let v = Validator::new(cfg).unwrap();
    v.ready_blocking().unwrap();
    down.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(400));
    let t = token(&a);
    for _ in 0..5 {
        v.validate_blocking(&t).expect("stale keys are still used");
        std::thread::sleep(Duration::from_millis(100));
    }
    let health = v.health().jwks.unwrap();
    assert_eq!(health.freshness, "stale");
    assert!(health.last_error.unwrap().contains("503"));
    assert!(v.stats().stale_served >= 5);
    let fetches = server.hits("/jwks");
    assert!(
        (2..=6).contains(&fetches),
        "retries are spaced by the cooldown, got {fetches}"
    );
    // Past max_stale: refused, with the reason.
    std::thread::sleep(Duration::from_millis(1500));
    let err = v.validate_blocking(&t).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
    // The provider comes back: everything recovers once the breaker lets a probe through.
    down.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(400));
    v.validate_blocking(&t).unwrap();
    assert_eq!(v.health().jwks.unwrap().freshness, "fresh");
}

#[test]
fn a_hanging_provider_costs_at_most_the_fetch_timeout() {
    let server =
        TestServer::start(|_| Reply::json(&json!({"keys": []})).delayed(Duration::from_secs(30)));
    let mut cfg = config(&server);
    cfg.fetch_timeout = 0.3;
    cfg.fetch_deadline = 1.0; // retries included
    cfg.jwks_refresh_cooldown = 5.0;
    let v = Validator::new(cfg).unwrap();
    let started = Instant::now();
    let err = v.validate_blocking(&token(&key_a())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
    assert!(err.message().contains("timed out"), "{}", err.message());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Inside the cooldown the next call fails at once instead of waiting again.
    let started = Instant::now();
    assert_eq!(
        v.validate_blocking(&token(&key_a())).unwrap_err().kind(),
        ErrorKind::JwksUnavailable
    );
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[test]
fn bad_provider_answers_are_errors_not_crashes() {
    let a = key_a();
    let cases: Vec<(&str, Reply)> = vec![
        ("HTTP 500", Reply::status(500)),
        (
            "invalid JSON",
            Reply {
                status: 200,
                body: b"{not json".to_vec(),
                ..Reply::default()
            },
        ),
        ("not a JWKS", Reply::json(&json!({"kty": "RSA"}))),
        (
            "no usable key",
            Reply::json(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})),
        ),
        (
            "duplicate members",
            Reply {
                status: 200,
                body: br#"{"keys":[],"keys":[]}"#.to_vec(),
                ..Reply::default()
            },
        ),
        (
            "redirect",
            Reply::status(302).header("Location", "http://127.0.0.1:9/jwks"),
        ),
        (
            "huge body",
            Reply {
                status: 200,
                body: vec![b' '; 600 * 1024],
                ..Reply::default()
            },
        ),
        (
            "slow body",
            Reply {
                status: 200,
                body: b"{\"keys\":[]}".to_vec(),
                trickle: Some(Duration::from_millis(300)),
                ..Reply::default()
            },
        ),
    ];
    for (what, reply) in cases {
        let server = TestServer::start(move |_| reply.clone());
        let mut cfg = config(&server);
        cfg.fetch_timeout = 1.0;
        cfg.fetch_deadline = 2.0; // retries included
        let v = Validator::new(cfg).unwrap();
        let started = Instant::now();
        let err = v.validate_blocking(&token(&a)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::JwksUnavailable, "{what}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{what}: {:?}",
            started.elapsed()
        );
        assert!(!err.message().is_empty());
    }
}

#[test]
fn weak_keys_in_a_remote_jwks_are_refused_and_the_good_ones_kept() {
    let a = key_a();
    let mut doc = jwks(&[&a]);
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .push(jwtgate_testkit::rsa_1024_jwk());
    let mut private = key_b().public_jwk();
    private["d"] = json!("AAAA");
    doc["keys"].as_array_mut().unwrap().push(private);
    let server = TestServer::start(move |_| Reply::json(&doc));
    let v = Validator::new(config(&server)).unwrap();
    v.validate_blocking(&token(&a)).unwrap();
    assert_eq!(v.stats().jwks_keys_rejected, 2);
    let weak = TestKey::rsa("rsa-b", "RS256", "rsa-1024");
    assert_eq!(
        v.validate_blocking(&token(&weak)).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
}

#[test]
fn jku_and_x5u_are_never_fetched() {
    let canary = TestServer::start(|_| Reply::json(&json!({"keys": []})));
    let a = key_a();
    let server = jwks_server(&[&a]);
    let v = Validator::new(config(&server)).unwrap();
    let attacker = TestKey::rsa("rsa-b", "RS256", "attacker");
    let now = unix_now();
    let claims = access_token_claims(ISSUER, AUDIENCE, now, now + 60);
    for (member, path) in [("jku", "/jwks"), ("x5u", "/cert.pem")] {
        for kid in ["key-a", "attacker"] {
            let header =
                json!({"alg": "RS256", "kid": kid, "typ": "at+jwt", member: canary.url(path)});
            let err = v
                .validate_blocking(&attacker.token_with_header(&header, &claims))
                .unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::SignatureInvalid | ErrorKind::KeyNotFound
                ),
                "{err}"
            );
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(canary.total_hits(), 0, "the canary must see no request");
}

#[test]
fn discovery_finds_the_jwks_and_checks_the_issuer() {
    let a = key_a();
    let doc = jwks(&[&a]);
    let issuer_cell: Arc<std::sync::Mutex<String>> = Arc::default();
    let lie = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (i2, l2) = (issuer_cell.clone(), lie.clone());
    let server = TestServer::start(move |req| {
        let issuer = i2.lock().unwrap().clone();
        match req.path.as_str() {
            "/tenant/.well-known/openid-configuration" => {
                let named = if l2.load(Ordering::SeqCst) {
                    "https://evil.test".to_string()
                } else {
                    issuer.clone()
                };
                Reply::json(&json!({"issuer": named, "jwks_uri": format!("{issuer}/keys")}))
            }
            "/tenant/keys" => Reply::json(&doc),
            _ => Reply::status(404),
        }
    });
    let issuer = server.url("/tenant");
    *issuer_cell.lock().unwrap() = issuer.clone();
    let cfg = |iss: &str| Config {
        issuer: iss.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        ..Config::default()
    };
    let now = unix_now();
    let t = a.token(&access_token_claims(&issuer, AUDIENCE, now, now + 60));
    let v = Validator::new(cfg(&issuer)).unwrap();
    v.validate_blocking(&t).unwrap();
    assert_eq!(server.hits("/tenant/.well-known/openid-configuration"), 1);
    assert_eq!(server.hits("/tenant/keys"), 1);

    lie.store(true, Ordering::SeqCst);
    let v = Validator::new(cfg(&issuer)).unwrap();
    let err = v.validate_blocking(&t).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
    assert!(
        err.message().contains("different issuer"),
        "{}",
        err.message()
    );
}

#[test]
fn rfc8414_metadata_is_the_fallback() {
    let a = key_a();
    let doc = jwks(&[&a]);
    let base: Arc<std::sync::Mutex<String>> = Arc::default();
    let b2 = base.clone();
    let server = TestServer::start(move |req| {
        let base = b2.lock().unwrap().clone();
        match req.path.as_str() {
            "/.well-known/oauth-authorization-server/as" => Reply::json(
                &json!({"issuer": format!("{base}/as"), "jwks_uri": format!("{base}/as/jwks")}),
            ),
            "/as/jwks" => Reply::json(&doc),
            _ => Reply::status(404),
        }
    });
    *base.lock().unwrap() = server.url("");
    let issuer = server.url("/as");
    let v = Validator::new(Config {
        issuer: issuer.clone(),
        audience: Some(Audience::One(AUDIENCE.into())),
        ..Config::default()
    })
    .unwrap();
    let now = unix_now();
    v.validate_blocking(&a.token(&access_token_claims(&issuer, AUDIENCE, now, now + 60)))
        .unwrap();
    assert_eq!(server.hits("/as/.well-known/openid-configuration"), 1);
    assert_eq!(server.hits("/.well-known/oauth-authorization-server/as"), 1);
}

#[test]
fn blocking_validation_works_from_inside_another_runtime() {
    let server = jwks_server(&[&key_a()]);
    let v = Validator::new(config(&server)).unwrap();
    let t = token(&key_a());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { v.validate_blocking(&t).unwrap() });
}

fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not reached in 5 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Issue #9: the same right after a scheduled refresh (80 % of the lifetime): the refresh
/// it started opens no cooldown, so a key rotated just after it is accepted at once.
#[test]
fn a_rotated_key_is_accepted_right_after_a_scheduled_refresh() {
    let (a, b) = (key_a(), key_b());
    let server = jwks_server(&[&a]);
    let mut cfg = config(&server);
    cfg.jwks_refresh_cooldown = 30.0;
    cfg.jwks_ttl = 1.0;
    cfg.jwks_min_ttl = 0.0;
    let v = Validator::new(cfg).unwrap();
    v.ready_blocking().unwrap();
    let t = token(&a);
    v.validate_blocking(&t).unwrap();
    // Past 80 % of the lifetime a validation starts the scheduled refresh in the background.
    std::thread::sleep(Duration::from_millis(900));
    // A token not in the result cache, so that the key set is looked at.
    let now = unix_now();
    let mut claims = access_token_claims(ISSUER, AUDIENCE, now, now + 3600);
    claims["jti"] = serde_json::json!("not-cached");
    let _ = v.validate_local(&a.token(&claims));
    wait_for(|| server.hits("/jwks") == 2);
    assert_eq!(v.stats().jwks_refreshes["scheduled"], 1);
    let doc = jwks(&[&a, &b]);
    server.set_handler(move |_| Reply::json(&doc));
    v.validate_blocking(&token(&b)).unwrap();
    assert_eq!(server.hits("/jwks"), 3, "exactly one more fetch");
}

/// `refresh_keys()` asked for fresh keys: a failed fetch is reported even while the cached
/// keys keep serving tokens (an operator who withdrew a key during an outage must know).
#[test]
fn a_forced_refresh_that_fails_is_an_error_while_cached_keys_serve() {
    let a = key_a();
    let doc = jwks(&[&a]);
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = down.clone();
    let server = TestServer::start(move |_| {
        if d2.load(Ordering::SeqCst) {
            Reply::status(503)
        } else {
            Reply::json(&doc)
        }
    });
    let mut cfg = config(&server);
    cfg.fetch_retries = 0;
    let v = Validator::new(cfg).unwrap();
    v.ready_blocking().unwrap();
    down.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100));
    let e = v.refresh_keys_blocking(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::JwksUnavailable, "{e}");
    assert!(e.message().contains("could not be refreshed"), "{e}");
    v.validate_blocking(&token(&a))
        .expect("the cached keys still serve");
}
