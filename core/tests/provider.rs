//! Against a real OpenID provider (`oidc-provider`, started from `tests/provider/server.mjs` on
//! 127.0.0.1 and stopped by PID): JWT access tokens, opaque tokens through introspection, ID
//! tokens refused, key rotation, provider outage and recovery. `make test` installs the
//! provider's npm packages first (`tests/provider/node_modules`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jwtgate::{Audience, BreakerState, Config, ErrorKind, Source, Validator};
use serde_json::Value;

const JWT_RESOURCE: &str = "https://api.test/jwt";
const OPAQUE_RESOURCE: &str = "https://api.test/opaque";
const API_CLIENT: (&str, &str) = ("api-client", "api-client-secret-0123456789abcdef");
const RS_CLIENT: (&str, &str) = ("rs-client", "rs-client-secret-0123456789abcdef");

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/provider")
}

/// The provider process; killed (by PID) when dropped.
struct Provider {
    child: Child,
    issuer: String,
    port: u16,
    keys_file: PathBuf,
}

impl Provider {
    fn start(port: u16, keys_file: &Path, rotate: bool) -> Provider {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "tests/provider/node_modules is missing: run `make test` (it runs npm ci there first)"
        );
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("server.mjs"))
            .env("PORT", port.to_string())
            .env("KEYS_FILE", keys_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if rotate {
            cmd.env("ROTATE", "1");
        }
        let mut child = cmd.spawn().expect("start node tests/provider/server.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if !line.trim().is_empty() => line,
            _ => {
                let _ = child.kill();
                panic!("the provider did not start (no ready line within 20 s)");
            }
        };
        let ready: Value = serde_json::from_str(line.trim()).expect("ready line is JSON");
        Provider {
            child,
            issuer: ready["issuer"].as_str().expect("issuer").to_string(),
            port: ready["port"].as_u64().expect("port") as u16,
            keys_file: keys_file.to_path_buf(),
        }
    }

    fn stop(mut self) -> (u16, PathBuf) {
        self.kill();
        (self.port, self.keys_file.clone())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn token(&self, resource: &str) -> String {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{}/token", self.issuer))
            .basic_auth(API_CLIENT.0, Some(API_CLIENT.1))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", "read:items"),
            ])
            .send()
            .await
            .expect("token request");
        let status = response.status();
        let body: Value = serde_json::from_slice(&response.bytes().await.expect("token body"))
            .expect("token JSON");
        assert!(status.is_success(), "token endpoint: {status} {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    async fn id_token(&self) -> String {
        let response = reqwest::get(format!("{}/test/id-token?sub=alice", self.issuer))
            .await
            .expect("id token request");
        let body: Value = serde_json::from_slice(&response.bytes().await.expect("id token body"))
            .expect("id token JSON");
        body["id_token"].as_str().expect("id_token").to_string()
    }

    async fn revoke(&self, token: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth(API_CLIENT.0, Some(API_CLIENT.1))
            .form(&[("token", token)])
            .send()
            .await
            .expect("revocation request");
        assert!(
            response.status().is_success(),
            "revocation: {}",
            response.status()
        );
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.kill();
    }
}

fn keys_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jwtgate-provider-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("keys.json");
    let _ = std::fs::remove_file(&file);
    file
}

fn validator(p: &Provider, audience: &str, edit: impl FnOnce(&mut Config)) -> Validator {
    let mut cfg = Config {
        issuer: p.issuer.clone(),
        audience: Some(Audience::One(audience.into())),
        token_type: Some("at+jwt".into()),
        client_id: Some(RS_CLIENT.0.into()),
        client_secret: Some(RS_CLIENT.1.into()),
        jwks_refresh_cooldown: 0.5,
        fetch_timeout: 2.0,
        fetch_deadline: 4.0,
        ..Config::default()
    };
    edit(&mut cfg);
    Validator::new(cfg).expect("config")
}

fn provider_calls(v: &Validator) -> u64 {
    let s = v.stats();
    s.jwks_fetches_ok + s.jwks_fetches_failed + s.introspection_requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_access_tokens_validate_locally_and_a_warm_cache_calls_nobody() {
    let p = Provider::start(0, &keys_file("jwt"), false);
    let v = validator(&p, JWT_RESOURCE, |_| {});
    let token = p.token(JWT_RESOURCE).await;
    let first = v.validate(&token).await.expect("JWT access token");
    assert_eq!(first.source(), Source::Local);
    assert_eq!(
        first.claims().get("client_id").and_then(Value::as_str),
        Some(API_CLIENT.0)
    );
    assert_eq!(
        v.stats().introspection_requests,
        0,
        "JWTs are never introspected"
    );
    let calls = provider_calls(&v);
    for _ in 0..10_000 {
        assert_eq!(v.validate_local(&token).unwrap().source(), Source::Cache);
    }
    // A second JWT from the same keys is verified locally too.
    let second = p.token(JWT_RESOURCE).await;
    v.validate(&second).await.unwrap();
    assert_eq!(
        provider_calls(&v),
        calls,
        "a warm cache makes no provider call of any kind"
    );
    eprintln!("provider calls for 10,002 validations: {calls} (discovery excluded)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_tokens_are_introspected_cached_and_refused_after_revocation() {
    let p = Provider::start(0, &keys_file("opaque"), false);
    let v = validator(&p, OPAQUE_RESOURCE, |c| c.introspection_cache_ttl = 1.0);
    let token = p.token(OPAQUE_RESOURCE).await;
    assert!(!token.contains('.'), "expected an opaque token");
    let miss_started = Instant::now();
    let first = v.validate(&token).await.expect("opaque token");
    let miss = miss_started.elapsed();
    assert_eq!(first.source(), Source::Introspection);
    assert_eq!(
        first.claims().get("client_id").and_then(Value::as_str),
        Some(API_CLIENT.0)
    );
    let hit_started = Instant::now();
    assert_eq!(v.validate_local(&token).unwrap().source(), Source::Cache);
    let hit = hit_started.elapsed();
    eprintln!("introspection miss {miss:?}, hit {hit:?}");
    assert_eq!(v.stats().introspection_requests, 1);
    // Revoked at the provider: refused once the cached answer ends.
    p.revoke(&token).await;
    assert_eq!(
        v.validate(&token).await.unwrap().source(),
        Source::Cache,
        "still cached"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        v.validate(&token).await.unwrap_err().kind(),
        ErrorKind::Inactive
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_is_not_an_access_token() {
    let p = Provider::start(0, &keys_file("idt"), false);
    let v = validator(&p, JWT_RESOURCE, |_| {});
    let id_token = p.id_token().await;
    let err = v.validate(&id_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenTypeMismatch, "{err}");
    assert_eq!(v.stats().introspection_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_is_picked_up_through_the_unknown_kid_refresh() {
    let keys = keys_file("rotation");
    let p = Provider::start(0, &keys, false);
    // Issue #9: the default cooldown (30 s), and the rotation well inside it.
    let v = validator(&p, JWT_RESOURCE, |c| c.jwks_refresh_cooldown = 30.0);
    let old = p.token(JWT_RESOURCE).await;
    v.validate(&old).await.unwrap();
    assert_eq!(v.stats().jwks_fetches_ok, 1);
    let (port, keys) = p.stop();
    // Restart on the same issuer with a new signing key first; the old one stays published.
    let p = Provider::start(port, &keys, true);
    let new = p.token(JWT_RESOURCE).await;
    assert_ne!(kid(&new), kid(&old));
    v.validate(&new)
        .await
        .expect("new kid validates after one refresh");
    let stats = v.stats();
    assert_eq!(stats.jwks_fetches_ok, 2);
    assert_eq!(stats.jwks_refreshes["unknown_kid"], 1);
    // A forged-kid flood from several threads right after: no request waits for a fetch and
    // the whole flood costs no fetch at all (the rotation's refresh started the cooldown).
    let forger = jwtgate_testkit::TestKey::rsa("rsa-b", "RS256", "x");
    let claims: Value = serde_json::from_str(
        &String::from_utf8(
            base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                new.split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let forged: Vec<String> = (0..200)
        .map(|i| {
            forger.token_with_header(
                &serde_json::json!({"alg": "RS256", "kid": format!("forged-{i}"), "typ": "at+jwt"}),
                &claims,
            )
        })
        .collect();
    let forged = std::sync::Arc::new(forged);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (v, forged) = (v.clone(), forged.clone());
            std::thread::spawn(move || {
                for i in 0..1000 {
                    let e = v.validate_blocking(&forged[(i * 7 + t) % 200]).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::KeyNotFound);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        v.stats().jwks_fetches_ok,
        2,
        "4,000 forged kids cost no fetch"
    );
    assert!(v.stats().unknown_kid_fast_failures >= 4000);
    // The old token still validates, and a fresh validator accepts it with the new JWKS.
    v.validate(&old).await.unwrap();
    let fresh = validator(&p, JWT_RESOURCE, |_| {});
    fresh.validate(&old).await.unwrap();
    eprintln!(
        "JWKS fetches across the rotation: {}",
        stats.jwks_fetches_ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_goes_down_jwts_keep_working_opaque_tokens_fail_fast_then_recover() {
    let p = Provider::start(0, &keys_file("outage"), false);
    let v = validator(&p, JWT_RESOURCE, |c| {
        c.audience = Some(Audience::Many(vec![
            JWT_RESOURCE.into(),
            OPAQUE_RESOURCE.into(),
        ]));
        c.fetch_retries = 0;
        c.fetch_timeout = 0.5;
        c.breaker_threshold = 2;
        c.breaker_cooldown = 1.0;
    });
    let cached_jwt = p.token(JWT_RESOURCE).await;
    let unseen_jwt = p.token(JWT_RESOURCE).await;
    let opaque = [
        p.token(OPAQUE_RESOURCE).await,
        p.token(OPAQUE_RESOURCE).await,
        p.token(OPAQUE_RESOURCE).await,
    ];
    v.validate(&cached_jwt).await.unwrap();
    let (port, keys) = p.stop();

    assert_eq!(
        v.validate(&cached_jwt).await.unwrap().source(),
        Source::Cache
    );
    assert_eq!(
        v.validate(&unseen_jwt).await.unwrap().source(),
        Source::Local,
        "cached keys verify new JWTs"
    );
    for t in &opaque[..2] {
        assert_eq!(
            v.validate(t).await.unwrap_err().kind(),
            ErrorKind::ProviderUnavailable
        );
    }
    let health = v.health();
    assert_eq!(
        health.introspection.as_ref().unwrap().breaker.state,
        BreakerState::Open
    );
    let started = Instant::now();
    let err = v.validate(&opaque[2]).await.unwrap_err();
    let fail_fast = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
    assert!(err.message().contains("circuit open"), "{err}");
    eprintln!("fail-fast with the provider down and the circuit open: {fail_fast:?}");
    let calls_during_outage = v.stats().introspection_requests;

    // The provider returns (its in-memory store is empty: old opaque tokens are gone).
    let p = Provider::start(port, &keys, false);
    tokio::time::sleep(Duration::from_millis(1100)).await; // breaker cooldown
    let fresh_opaque = p.token(OPAQUE_RESOURCE).await;
    assert_eq!(
        v.validate(&fresh_opaque).await.unwrap().source(),
        Source::Introspection
    );
    assert_eq!(
        v.health().introspection.unwrap().breaker.state,
        BreakerState::Closed
    );
    v.validate(&p.token(JWT_RESOURCE).await).await.unwrap();
    eprintln!("introspection requests during the outage: {calls_during_outage}");
}

fn kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap_or_default().to_string()
}
