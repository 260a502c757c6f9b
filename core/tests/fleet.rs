//! Fleet mode against real Redis (`redis-server` on free loopback ports): several validators
//! (instances) share one Redis and a counting provider. Each instance is a `Validator` of its
//! own (own result cache, own origin on the channel), as separate processes would be; the
//! cross-language, cross-process tests are in `tests/fleet/`.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::time::{Duration, Instant};

use jwtgate::{Audience, Config, ErrorKind, Source, Validator};
use jwtgate_testkit::redis::{RedisCluster, RedisServer};
use jwtgate_testkit::server::{Reply, TestServer};
use jwtgate_testkit::{TestKey, access_token_claims, jwks, unix_now};
use serde_json::json;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";
const SECRET: &str = "fleet-secret-for-tests-0123456789abcdef";

fn active_for(token: &str) -> Reply {
    let now = unix_now();
    Reply::json(&json!({
        "active": true, "iss": ISSUER, "aud": AUDIENCE, "sub": format!("sub-of-{}", &token[..8]),
        "token_type": "Bearer", "exp": now + 600, "iat": now, "jti": format!("jti-{}", token.chars().rev().collect::<String>()),
    }))
}

/// An introspection endpoint that answers "active" for any token (slowly when asked).
fn provider(delay: Duration) -> TestServer {
    TestServer::start(move |req| {
        let token = url::form_urlencoded::parse(&req.body)
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        active_for(&token).delayed(delay)
    })
}

fn key() -> TestKey {
    TestKey::rsa("rsa-a", "RS256", "key-a")
}

fn base(provider: &TestServer) -> Config {
    Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks: Some(jwks(&[&key()])),
        introspection_endpoint: Some(provider.url("/introspect")),
        client_id: Some("api".into()),
        client_secret: Some("secret".into()),
        fetch_timeout: 2.0,
        fetch_deadline: 3.0,
        fleet_secret: Some(SECRET.into()),
        redis_timeout: 0.5,
        ..Config::default()
    }
}

fn on(redis: &RedisServer, config: Config) -> Validator {
    let v = Validator::new(Config {
        redis_url: Some(redis.url()),
        ..config
    })
    .unwrap();
    v.ready_blocking().unwrap();
    v
}

fn jwt(jti: &str, sub: &str) -> String {
    let now = unix_now();
    let mut claims = access_token_claims(ISSUER, AUDIENCE, now, now + 3600);
    claims["jti"] = json!(jti);
    claims["sub"] = json!(sub);
    key().token(&claims)
}

/// Polls `cond` every millisecond for up to `bound`; returns how long it took.
fn within(bound: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < bound {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

fn raw(redis: &RedisServer) -> redis::Connection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn keys_like(redis: &RedisServer, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query(&mut raw(redis))
        .unwrap()
}

#[test]
fn an_opaque_token_is_introspected_once_for_the_fleet() {
    let redis = RedisServer::start();
    let server = provider(Duration::ZERO);
    let a = on(&redis, base(&server));
    let b = on(&redis, base(&server));
    let token = "opaque-token-shared-0001";
    assert_eq!(
        a.validate_blocking(token).unwrap().source(),
        Source::Introspection
    );
    let from_b = b.validate_blocking(token).unwrap();
    assert_eq!(from_b.source(), Source::Introspection);
    assert_eq!(from_b.claims().subject(), Some("sub-of-opaque-t"));
    assert_eq!(
        server.hits("/introspect"),
        1,
        "one provider call for the fleet"
    );
    assert_eq!(b.stats().fleet.redis_l2_hits, 1);
    assert_eq!(b.stats().introspection_requests, 0);
    // The key is an HMAC of the token: the token appears nowhere in Redis.
    let keys = keys_like(&redis, "*");
    assert!(keys.iter().all(|k| !k.contains(token)), "{keys:?}");
    let dump: Vec<u8> = redis::cmd("GET")
        .arg(keys.iter().find(|k| k.contains("introspection")).unwrap())
        .query(&mut raw(&redis))
        .unwrap();
    assert!(!String::from_utf8_lossy(&dump).contains(token));
}

#[test]
fn instances_that_meet_a_new_token_at_once_make_one_provider_call() {
    let redis = RedisServer::start();
    let server = provider(Duration::from_millis(300));
    let instances: Vec<Validator> = (0..4).map(|_| on(&redis, base(&server))).collect();
    let token = "opaque-token-concurrent-0002";
    let threads: Vec<_> = instances
        .iter()
        .map(|v| {
            let v = v.clone();
            std::thread::spawn(move || v.validate_blocking(token).map(|r| r.source()))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), Source::Introspection);
    }
    assert_eq!(server.hits("/introspect"), 1, "distributed single flight");
    let waits: u64 = instances
        .iter()
        .map(|v| v.stats().fleet.redis_lease_waits)
        .sum();
    assert_eq!(waits, 3, "three instances waited for the fourth");
}

#[test]
fn a_revocation_reaches_every_instance_in_milliseconds() {
    let redis = RedisServer::start();
    let server = provider(Duration::ZERO);
    let a = on(&redis, base(&server));
    let b = on(&redis, base(&server));
    let c = on(&redis, base(&server));
    let token = jwt("jti-revoked-1", "alice");
    for v in [&a, &b, &c] {
        v.validate_blocking(&token).unwrap();
        // Cached: the next answer is a hit, which the revocation must purge.
        assert_eq!(v.validate_local(&token).unwrap().source(), Source::Cache);
    }
    a.revoke_jti("jti-revoked-1", None).unwrap();
    for v in [&b, &c] {
        let took = within(Duration::from_secs(2), || {
            v.validate_local(&token).err().map(|e| e.kind()) == Some(ErrorKind::Revoked)
        });
        assert!(took.is_some(), "the revocation did not arrive");
    }
    assert_eq!(b.stats().fleet.redis_revocations_received, 1);
    // By subject.
    let bobs = jwt("jti-bob-1", "bob");
    c.validate_blocking(&bobs).unwrap();
    b.revoke_subject("bob", None).unwrap();
    assert!(within(Duration::from_secs(2), || c.validate_local(&bobs).is_err()).is_some());
    // An instance that starts later loads the list.
    let late = on(&redis, base(&server));
    assert_eq!(
        late.validate_blocking(&token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    assert_eq!(
        late.validate_blocking(&bobs).unwrap_err().kind(),
        ErrorKind::Revoked
    );
}

#[test]
fn a_tampered_introspection_answer_is_never_trusted() {
    let redis = RedisServer::start();
    let server = provider(Duration::ZERO);
    let a = on(&redis, base(&server));
    let token = "opaque-token-tampered-0003";
    a.validate_blocking(token).unwrap();
    let key = keys_like(&redis, "jwtgate:introspection:*").pop().unwrap();
    let mut conn = raw(&redis);
    let value: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
    // Whoever can write to Redis rewrites the subject (same length, tag unchanged).
    let (from, to) = (&b"sub-of-opaque-t"[..], &b"sub-of-admin-xx"[..]);
    let at = value.windows(from.len()).position(|w| w == from).unwrap();
    let mut forged = value.clone();
    forged[at..at + to.len()].copy_from_slice(to);
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(&forged)
        .query(&mut conn)
        .unwrap();

    let b = on(&redis, base(&server));
    let answer = b.validate_blocking(token).unwrap();
    assert_eq!(
        answer.claims().subject(),
        Some("sub-of-opaque-t"),
        "the provider's, not the forgery"
    );
    assert_eq!(server.hits("/introspect"), 2, "the forgery was a miss");
    // Counted at each read (the lookup, then the second look after taking the lease).
    assert!(b.stats().fleet.redis_tampered >= 1);

    // A value written under another secret is a forgery too.
    let other = Validator::new(Config {
        redis_url: Some(redis.url()),
        fleet_secret: Some("another-fleet-secret-0123456789abcdef".into()),
        ..base(&server)
    })
    .unwrap();
    other.validate_blocking(token).unwrap();
    assert_eq!(
        other.stats().fleet.redis_l2_hits,
        0,
        "names differ under another secret"
    );
}

#[test]
fn a_forged_key_set_is_never_used() {
    let redis = RedisServer::start();
    let good = key();
    let evil = TestKey::rsa("rsa-b", "RS256", "key-evil");
    let doc = jwks(&[&good]);
    let jwks_server = TestServer::start(move |_| Reply::json(&doc));
    let remote = |server: &TestServer| Config {
        jwks: None,
        jwks_uri: Some(jwks_server.url("/jwks")),
        ..base(server)
    };
    let server = provider(Duration::ZERO);
    let a = on(&redis, remote(&server));
    assert_eq!(jwks_server.hits("/jwks"), 1);
    let b = on(&redis, remote(&server));
    assert_eq!(
        jwks_server.hits("/jwks"),
        1,
        "the second instance took the set from Redis"
    );
    assert_eq!(b.stats().fleet.redis_jwks_shared, 1);
    assert_eq!(a.stats().jwks_fetches_ok, 1);
    assert_eq!(
        b.stats().jwks_fetches_ok,
        0,
        "a set taken from Redis is not a provider fetch"
    );
    drop((a, b));

    // Replace the shared set by one holding the attacker's key (the seal cannot be redone).
    let key = keys_like(&redis, "jwtgate:jwks:*").pop().unwrap();
    let mut conn = raw(&redis);
    let value: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
    let text = String::from_utf8_lossy(&value).into_owned();
    let good_jwk = serde_json::to_string(&good.public_jwk()).unwrap();
    let evil_jwk = serde_json::to_string(&evil.public_jwk()).unwrap();
    let escaped = |s: &str| {
        serde_json::to_string(s)
            .unwrap()
            .trim_matches('"')
            .to_string()
    };
    let forged = text.replace(&escaped(&good_jwk), &escaped(&evil_jwk));
    assert_ne!(forged, text, "the test must actually forge the set");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(forged.as_bytes())
        .query(&mut conn)
        .unwrap();

    let c = on(&redis, remote(&server));
    assert!(c.stats().fleet.redis_tampered >= 1);
    assert_eq!(
        jwks_server.hits("/jwks"),
        2,
        "the forgery was a miss: fetched from the provider"
    );
    let now = unix_now();
    let forged_token = evil.token(&access_token_claims(ISSUER, AUDIENCE, now, now + 600));
    assert!(c.validate_blocking(&forged_token).is_err());
    assert!(c.validate_blocking(&jwt("j", "s")).is_ok());
}

#[test]
fn a_rotation_is_fetched_once_for_the_fleet() {
    let redis = RedisServer::start();
    let old = key();
    let new = TestKey::ec("ES256", "key-new");
    let jwks_server = {
        let doc = jwks(&[&old]);
        TestServer::start(move |_| Reply::json(&doc))
    };
    let server = provider(Duration::ZERO);
    let config = Config {
        jwks: None,
        jwks_uri: Some(jwks_server.url("/jwks")),
        ..base(&server)
    };
    let a = on(&redis, config.clone());
    let b = on(&redis, config);
    assert_eq!(jwks_server.hits("/jwks"), 1);
    let rotated = jwks(&[&old, &new]);
    jwks_server.set_handler(move |_| Reply::json(&rotated));
    let now = unix_now();
    let token = new.token(&access_token_claims(ISSUER, AUDIENCE, now, now + 600));
    a.validate_blocking(&token).unwrap();
    assert_eq!(
        jwks_server.hits("/jwks"),
        2,
        "the unknown kid fetched the rotated set"
    );
    b.validate_blocking(&token).unwrap();
    assert_eq!(
        jwks_server.hits("/jwks"),
        2,
        "the second instance took it from Redis"
    );
}

/// Four instances meet a rotated kid at the same moment while the provider is slow: one of
/// them fetches, the others wait for its set. (The second look after the lease once released
/// the lease over the old set it found there, and its instance fetched with no lease: 1.8
/// fetches per rotation in benches/fleet.)
#[test]
fn a_rotation_met_by_many_instances_at_once_is_fetched_once() {
    let redis = RedisServer::start();
    let old = key();
    let jwks_server = {
        let doc = jwks(&[&old]);
        TestServer::start(move |_| Reply::json(&doc))
    };
    let server = provider(Duration::ZERO);
    let config = Config {
        jwks: None,
        jwks_uri: Some(jwks_server.url("/jwks")),
        // A rotation per round: no unknown-kid cooldown between them.
        jwks_refresh_cooldown: 0.0,
        ..base(&server)
    };
    let instances: Vec<Validator> = (0..4).map(|_| on(&redis, config.clone())).collect();
    assert_eq!(jwks_server.hits("/jwks"), 1);
    for round in 0..5 {
        let new = TestKey::ec("ES256", &format!("key-new-{round}"));
        let rotated = jwks(&[&old, &new]);
        jwks_server.set_handler(move |_| Reply::json(&rotated).delayed(Duration::from_millis(150)));
        let now = unix_now();
        let token = new.token(&access_token_claims(ISSUER, AUDIENCE, now, now + 600));
        let before = jwks_server.hits("/jwks");
        let barrier = std::sync::Barrier::new(instances.len());
        std::thread::scope(|scope| {
            for v in &instances {
                let (barrier, token) = (&barrier, &token);
                scope.spawn(move || {
                    barrier.wait();
                    v.validate_blocking(token).unwrap();
                });
            }
        });
        assert_eq!(
            jwks_server.hits("/jwks") - before,
            1,
            "round {round}: one provider fetch for the fleet"
        );
        let fetched: u64 = instances.iter().map(|v| v.stats().jwks_fetches_ok).sum();
        assert_eq!(fetched, 2 + round, "only provider fetches count as fetches");
    }
}

#[test]
fn redis_down_fails_no_request_and_revocations_catch_up() {
    let mut redis = RedisServer::start();
    let server = provider(Duration::ZERO);
    let a = on(&redis, base(&server));
    let b = on(&redis, base(&server));
    let token = jwt("jti-during-outage", "carol");
    b.validate_blocking(&token).unwrap();

    redis.kill();
    // JWTs and opaque tokens keep validating, each instance alone, without long waits.
    for i in 0..20 {
        let started = Instant::now();
        assert!(a.validate_blocking(&jwt(&format!("j{i}"), "dave")).is_ok());
        assert!(
            a.validate_blocking(&format!("opaque-token-outage-{i:04}"))
                .is_ok()
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(a.stats().fleet.redis_errors > 0);
    assert!(!a.health().fleet.unwrap().connected);
    // A revocation while Redis is down applies here at once and waits for Redis.
    a.revoke_jti("jti-during-outage", None).unwrap();
    assert_eq!(
        a.validate_blocking(&token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    assert!(b.validate_local(&token).is_ok(), "b cannot know yet");

    redis.restart(); // empty: nothing was persisted
    let took = within(Duration::from_secs(10), || {
        b.validate_local(&token).err().map(|e| e.kind()) == Some(ErrorKind::Revoked)
    });
    assert!(
        took.is_some(),
        "the revocation made during the outage reached b"
    );
    let health = a.health().fleet.unwrap();
    assert!(health.subscribed);
    assert_eq!(health.pending_revocations, 0);
}

#[test]
fn a_deleted_revocation_is_written_back_and_a_forged_one_ignored() {
    let redis = RedisServer::start();
    let server = provider(Duration::ZERO);
    let a = on(&redis, base(&server));
    a.revoke_jti("jti-deleted", None).unwrap();
    let mut conn = raw(&redis);
    let field_exists = |conn: &mut redis::Connection| -> bool {
        redis::cmd("HEXISTS")
            .arg("jwtgate:revocations")
            .arg("jti:jti-deleted")
            .query(conn)
            .unwrap()
    };
    assert!(within(Duration::from_secs(2), || field_exists(&mut conn)).is_some());
    // Someone without the secret deletes it, and forges an entry of their own.
    let _: i64 = redis::cmd("HDEL")
        .arg("jwtgate:revocations")
        .arg("jti:jti-deleted")
        .query(&mut conn)
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("jwtgate:revocations")
        .arg("sub:victim")
        .arg(&b"\x01not sealed by the fleet at all, 32+ bytes of garbage"[..])
        .query(&mut conn)
        .unwrap();
    assert!(
        within(Duration::from_secs(8), || field_exists(&mut conn)).is_some(),
        "the live instance wrote the revocation back"
    );
    let late = on(&redis, base(&server));
    assert_eq!(
        late.validate_blocking(&jwt("jti-deleted", "eve"))
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    assert!(
        late.validate_blocking(&jwt("other", "victim")).is_ok(),
        "the forged entry is ignored"
    );
    assert!(late.stats().fleet.redis_tampered >= 1);
}

#[test]
fn a_cluster_spreads_the_keys_and_survives_the_loss_of_a_master() {
    let mut cluster = RedisCluster::start(3);
    let server = provider(Duration::ZERO);
    let config = || Config {
        redis_cluster_urls: Some(cluster.urls()),
        ..base(&server)
    };
    let a = Validator::new(config()).unwrap();
    let b = Validator::new(config()).unwrap();
    a.ready_blocking().unwrap();
    b.ready_blocking().unwrap();
    for i in 0..30 {
        a.validate_blocking(&format!("opaque-token-cluster-{i:04}"))
            .unwrap();
    }
    for i in 0..30 {
        b.validate_blocking(&format!("opaque-token-cluster-{i:04}"))
            .unwrap();
    }
    assert_eq!(
        server.hits("/introspect"),
        30,
        "b found all thirty in the cluster"
    );
    let counts = cluster.key_counts();
    assert!(
        counts.iter().filter(|n| **n > 0).count() >= 2,
        "keys spread: {counts:?}"
    );

    // An operator moves slots (and their keys) between masters: the client follows the
    // redirections, and a new instance still finds every answer.
    cluster.move_slots(0, 1, 3000);
    let moved = cluster.key_counts();
    assert!(moved[0] < counts[0], "keys moved: {counts:?} -> {moved:?}");
    let c = Validator::new(config()).unwrap();
    c.ready_blocking().unwrap();
    for i in 0..30 {
        c.validate_blocking(&format!("opaque-token-cluster-{i:04}"))
            .unwrap();
    }
    assert_eq!(
        server.hits("/introspect"),
        30,
        "every answer found after the slot move"
    );
    assert_eq!(c.stats().fleet.redis_l2_hits, 30);

    // One master dies (no replica: its slots are gone). The fleet keeps answering.
    cluster.nodes[0].kill();
    for i in 0..30 {
        assert!(
            a.validate_blocking(&format!("opaque-token-after-loss-{i:04}"))
                .is_ok()
        );
    }
    let token = jwt("jti-cluster", "frank");
    b.validate_blocking(&token).unwrap();
    a.revoke_jti("jti-cluster", None).unwrap();
    assert!(
        within(Duration::from_secs(10), || b
            .validate_local(&token)
            .is_err())
        .is_some(),
        "the revocation reached b through the surviving nodes"
    );
}

#[test]
fn a_cluster_failover_is_survived() {
    let mut cluster = RedisCluster::start_with_replicas(3, 1);
    let server = provider(Duration::ZERO);
    let urls = cluster.urls();
    let config = || Config {
        redis_cluster_urls: Some(urls.clone()),
        ..base(&server)
    };
    let a = Validator::new(config()).unwrap();
    a.ready_blocking().unwrap();
    for i in 0..30 {
        a.validate_blocking(&format!("opaque-token-failover-{i:04}"))
            .unwrap();
    }
    assert_eq!(server.hits("/introspect"), 30);
    // Give the replicas a moment to copy the writes, then kill a master.
    std::thread::sleep(Duration::from_millis(300));
    let victim = cluster.a_master();
    cluster.nodes[victim].kill();
    // Requests during the failover are answered (from the provider when Redis cannot).
    for i in 0..10 {
        a.validate_blocking(&format!("opaque-token-during-failover-{i:04}"))
            .unwrap();
    }
    // The victim's replica is promoted once the others agree the master failed (node timeout
    // 2 s, then an election).
    let deadline = Instant::now() + Duration::from_secs(30);
    while (0..6)
        .filter(|&i| i != victim && cluster.is_master(i))
        .count()
        < 3
    {
        assert!(Instant::now() < deadline, "no replica was promoted");
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.wait_ok(|i| i != victim);
    // After the replica took over, a new instance finds every answer, including those whose
    // master died: the client followed the new topology.
    let b = Validator::new(config()).unwrap();
    b.ready_blocking().unwrap();
    let hits_before = server.hits("/introspect");
    let mut found = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0..30 {
        loop {
            b.validate_blocking(&format!("opaque-token-failover-{i:04}"))
                .unwrap();
            if b.stats().fleet.redis_l2_hits > found {
                found += 1;
                break;
            }
            // A lookup during the topology refresh may miss: the token is in L1 now, so
            // clear it and ask again until the deadline.
            b.clear_cache();
            std::thread::sleep(Duration::from_millis(100));
            if Instant::now() > deadline {
                break;
            }
        }
    }
    assert_eq!(
        found,
        30,
        "every answer survived the failover: {:?} {:?}",
        b.stats().fleet,
        b.health().fleet
    );
    // Lookups met during the topology refresh were misses, answered by the provider: the
    // instance went on alone rather than fail.
    assert!(server.hits("/introspect") >= hits_before);
}

/// `rediss://` to a Redis whose certificate a private CA signed: trusted through the system
/// store (here `SSL_CERT_FILE`, set for a child run of this test: the variable must be set
/// before the process makes its first TLS connection, and the test harness's own process
/// cannot change its environment safely).
#[test]
fn a_fleet_over_tls_with_a_private_ca() {
    const CHILD: &str = "JWTGATE_FLEET_TLS_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let ca = jwtgate_testkit::keys_dir().join("redis-tls/ca.crt");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_fleet_over_tls_with_a_private_ca",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("SSL_CERT_FILE", ca)
            .status()
            .unwrap();
        assert!(status.success(), "the TLS run failed");
        return;
    }
    let redis = RedisServer::start_tls();
    assert!(redis.url().starts_with("rediss://"));
    let server = provider(Duration::ZERO);
    let a = on(&redis, base(&server));
    let b = on(&redis, base(&server));
    let token = "opaque-token-over-tls-000001";
    a.validate_blocking(token).unwrap();
    b.validate_blocking(token).unwrap();
    assert_eq!(server.hits("/introspect"), 1, "shared over TLS");
    let jwt = jwt("jti-tls", "tls-user");
    b.validate_blocking(&jwt).unwrap();
    a.revoke_jti("jti-tls", None).unwrap();
    assert!(
        within(Duration::from_secs(2), || b.validate_local(&jwt).is_err()).is_some(),
        "the revocation crossed over TLS"
    );
    let health = b.health().fleet.unwrap();
    assert!(health.connected && health.subscribed, "{health:?}");
}

#[test]
fn fleet_options_are_checked() {
    let server = provider(Duration::ZERO);
    let err = |c: Config| Validator::new(c).unwrap_err();
    let e = err(Config {
        redis_url: Some("redis://127.0.0.1:1".into()),
        fleet_secret: None,
        ..base(&server)
    });
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().starts_with("fleet_secret"), "{}", e.message());
    let e = err(Config {
        redis_url: Some("redis://127.0.0.1:1".into()),
        fleet_secret: Some("short".into()),
        ..base(&server)
    });
    assert!(e.message().starts_with("fleet_secret"));
    let e = err(Config {
        fleet_secret: Some(SECRET.into()),
        ..base(&server)
    });
    assert!(e.message().contains("only used with"), "{}", e.message());
    let e = err(Config {
        redis_url: Some("http://user:hunter2@127.0.0.1:1".into()),
        ..base(&server)
    });
    assert!(e.message().starts_with("redis_url") && !e.message().contains("hunter2"));
    let e = err(Config {
        redis_url: Some("redis://127.0.0.1:1".into()),
        redis_cluster_urls: Some(vec!["redis://127.0.0.1:2".into()]),
        ..base(&server)
    });
    assert!(e.message().contains("not both"));
    let e = err(Config {
        redis_url: Some("redis://127.0.0.1:1".into()),
        redis_timeout: 0.0,
        ..base(&server)
    });
    assert!(e.message().starts_with("redis_timeout"));
    let e = err(Config {
        redis_url: Some("redis://127.0.0.1:1".into()),
        redis_prefix: "has space".into(),
        ..base(&server)
    });
    assert!(e.message().starts_with("redis_prefix"));
    // A password in the URL never reaches health().
    let v = Validator::new(Config {
        redis_url: Some("redis://:hunter2@127.0.0.1:1".into()),
        ..base(&server)
    })
    .unwrap();
    let health = serde_json::to_string(&v.health()).unwrap();
    assert!(
        !health.contains("hunter2") && health.contains("127.0.0.1:1"),
        "{health}"
    );
    // The fleet's metrics reach every collector (they read the parsed families).
    let families = v.metric_families();
    for name in ["jwtgate_redis_tampered_total", "jwtgate_redis_up"] {
        assert!(families.iter().any(|f| f.name == name), "{name} missing");
    }
    assert!(!v.metrics_text().contains("hunter2"));
}
