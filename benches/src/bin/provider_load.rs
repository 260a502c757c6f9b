//! Provider load: how many JWKS and introspection requests jwtgate sends for a given traffic
//! pattern (`cargo run --release -p jwtgate-benches --bin provider_load`). A loopback server
//! plays the provider and counts what it receives. Not a test: it prints what it measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jwtgate::{Audience, Config, Validator};
use jwtgate_testkit::server::{Reply, TestServer};
use jwtgate_testkit::{TestKey, access_token_claims, jwks, unix_now};
use serde_json::json;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";

fn config(server: &TestServer, cooldown: f64) -> Config {
    Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(server.url("/jwks")),
        introspection_endpoint: Some(server.url("/introspect")),
        client_id: Some("rs".into()),
        client_secret: Some("secret".into()),
        jwks_refresh_cooldown: cooldown,
        ..Config::default()
    }
}

fn main() {
    let key = TestKey::rsa("rsa-a", "RS256", "key-a");
    let doc = jwks(&[&key]);
    let server = TestServer::start(move |req| match req.path.as_str() {
        "/jwks" => Reply::json(&doc),
        _ => Reply::json(
            &json!({"active": true, "iss": ISSUER, "sub": "svc", "exp": unix_now() + 600}),
        ),
    });
    let now = unix_now();
    let tokens: Vec<String> = (0..100)
        .map(|i| {
            let mut c = access_token_claims(ISSUER, AUDIENCE, now, now + 600);
            c["jti"] = json!(format!("j{i}"));
            key.token(&c)
        })
        .collect();
    println!("| traffic | JWKS requests | introspection requests |\n|---|---:|---:|");

    // 1. Warm cache: 10,000 requests cycling over 100 JWTs and 100 opaque tokens.
    let v = Validator::new(config(&server, 30.0)).expect("config");
    for t in &tokens {
        v.validate_blocking(t).expect("jwt");
    }
    for i in 0..100 {
        v.validate_blocking(&format!("opaque-{i}")).expect("opaque");
    }
    let (j0, i0) = (server.hits("/jwks"), server.hits("/introspect"));
    for i in 0..10_000 {
        if i % 2 == 0 {
            v.validate_local(&tokens[i / 2 % 100]).expect("hit");
        } else {
            v.validate_local(&format!("opaque-{}", i / 2 % 100))
                .expect("hit");
        }
    }
    println!(
        "| 10,000 requests, warm cache (100 JWTs + 100 opaque tokens seen before) | {} | {} |",
        server.hits("/jwks") - j0,
        server.hits("/introspect") - i0
    );

    // 2. Forged-kid flood: 20,000 tokens with random kids over ~3 s, cooldown 1 s.
    let forged: Vec<String> = (0..200)
        .map(|i| {
            TestKey::rsa("rsa-b", "RS256", &format!("forged-{i}")).token(&access_token_claims(
                ISSUER,
                AUDIENCE,
                now,
                now + 600,
            ))
        })
        .collect();
    let v = Validator::new(config(&server, 1.0)).expect("config");
    v.ready_blocking().expect("ready");
    let j0 = server.hits("/jwks");
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(3) {
        for t in forged.iter().take(100) {
            let _ = v.validate_blocking(t);
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "| forged-kid flood: {sent} tokens, 200 distinct kids, {elapsed:.1} s, cooldown 1 s | {} ({:.2} per cooldown) | 0 |",
        server.hits("/jwks") - j0,
        (server.hits("/jwks") - j0) as f64 / elapsed
    );

    // 3. 1,000 concurrent cold validations (no keys loaded yet).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let v = Validator::new(config(&server, 30.0)).expect("config");
    let j0 = server.hits("/jwks");
    let token = Arc::new(tokens[0].clone());
    rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (v, t) = (v.clone(), token.clone());
                tokio::spawn(async move { v.validate(&t).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("valid");
        }
    });
    println!(
        "| 1,000 concurrent cold validations (keys not loaded) | {} | 0 |",
        server.hits("/jwks") - j0
    );

    // 4. 1,000 concurrent introspections of one new opaque token.
    let i0 = server.hits("/introspect");
    rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let v = v.clone();
                tokio::spawn(async move { v.validate("opaque-new").await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("active");
        }
    });
    println!(
        "| 1,000 concurrent validations of one new opaque token | 0 | {} |",
        server.hits("/introspect") - i0
    );
}
