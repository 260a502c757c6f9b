//! `make demo`: starts a JWKS server on 127.0.0.1 (a free port), mints tokens with the committed
//! test keys, validates good and bad ones through jwtgate, and prints what happened: which
//! tokens were accepted or refused and why, where each answer came from, latencies, cache and
//! provider statistics. Everything it starts stops when it exits.

use std::time::{Duration, Instant};

use jwtgate::{Audience, Config, Validator};
use jwtgate_testkit::server::{Reply, TestServer};
use jwtgate_testkit::{TestKey, access_token_claims, jwks, unix_now};
use serde_json::json;

const AUDIENCE: &str = "https://api.demo";

fn main() {
    let signing = TestKey::rsa("rsa-a", "RS256", "demo-rsa");
    let ec = TestKey::ec("ES256", "demo-ec");
    let rotated = TestKey::ed25519("demo-ed-rotated");
    let attacker = TestKey::rsa("rsa-b", "RS256", "demo-rsa");

    // The "provider": serves the JWKS, later rotates to add a new key.
    let doc = jwks(&[&signing, &ec]);
    let server =
        TestServer::start(move |_| Reply::json(&doc).header("Cache-Control", "max-age=300"));
    let issuer = server.url("");
    println!("jwtgate {} demo\n", jwtgate::VERSION);
    println!("JWKS server  {}", server.url("/jwks"));

    let validator = Validator::new(Config {
        issuer: issuer.clone(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(server.url("/jwks")),
        token_type: Some("at+jwt".into()),
        jwks_refresh_cooldown: 1.0,
        ..Config::default()
    })
    .expect("valid configuration");
    let started = Instant::now();
    validator.ready_blocking().expect("JWKS loads");
    println!("keys loaded  in {:.1} ms\n", ms(started.elapsed()));

    let now = unix_now();
    let claims = access_token_claims(&issuer, AUDIENCE, now, now + 600);
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 60);
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("https://payments.demo");
    let id_token_header = json!({"alg": "RS256", "kid": "demo-rsa"});
    let none = format!(
        "{}.{}.",
        jwtgate_testkit::b64(r#"{"alg":"none"}"#),
        jwtgate_testkit::b64(claims.to_string())
    );
    let revoked = {
        let mut c = claims.clone();
        c["jti"] = json!("revoked-jti");
        signing.token(&c)
    };

    let cases: Vec<(&str, String)> = vec![
        ("RS256 access token", signing.token(&claims)),
        ("ES256 access token", ec.token(&claims)),
        ("expired token", signing.token(&expired)),
        ("token for another API", signing.token(&wrong_aud)),
        (
            "ID token used as access token",
            signing.token_with_header(&id_token_header, &claims),
        ),
        ("alg=none token", none),
        ("forged signature", attacker.token(&claims)),
        ("revoked token", revoked.clone()),
        ("not a JWT", "opaque-3f9a1c".to_string()),
    ];
    validator
        .revoke_jti("revoked-jti", None)
        .expect("a jti and no end time are a valid revocation");

    println!("{:<32} {:<10} {:>10}  detail", "token", "result", "latency");
    println!("{}", "-".repeat(96));
    for (name, token) in &cases {
        report(&validator, name, token);
    }
    println!("\nThe same good token again (answered from the result cache):");
    let good = &cases[0].1;
    report(&validator, cases[0].0, good);
    let n = 100_000;
    let started = Instant::now();
    for _ in 0..n {
        validator.validate_local(good).expect("cached");
    }
    let profile = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    println!(
        "{n} cache hits in {:.1} ms: {:.2} µs per validation ({profile})",
        ms(started.elapsed()),
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    println!("\nKey rotation: the provider adds an Ed25519 key; a token signed with it arrives.");
    let rotated_doc = jwks(&[&signing, &ec, &rotated]);
    server.set_handler(move |_| Reply::json(&rotated_doc));
    std::thread::sleep(Duration::from_millis(1100)); // past the refresh cooldown
    report(
        &validator,
        "token with the new kid",
        &rotated.token(&claims),
    );

    println!("\nProvider outage: the JWKS endpoint answers 503; cached keys keep working.");
    server.set_handler(|_| Reply::status(503));
    report(
        &validator,
        "RS256 access token (new)",
        &signing.token(&access_token_claims(&issuer, AUDIENCE, now, now + 300)),
    );

    let stats = validator.stats();
    let health = validator.health();
    println!("\nStats");
    println!(
        "  validations ok {} / failed {}",
        stats.validations_ok, stats.validations_failed
    );
    println!("  failures by kind {:?}", stats.failures_by_kind);
    let lookups = stats.cache_hits + stats.cache_misses;
    println!(
        "  result cache: {} hits, {} misses ({:.1} % hit rate), {} entries",
        stats.cache_hits,
        stats.cache_misses,
        100.0 * stats.cache_hits as f64 / lookups.max(1) as f64,
        stats.cache_entries
    );
    println!(
        "  JWKS fetches ok {} / failed {}, by reason {:?}",
        stats.jwks_fetches_ok, stats.jwks_fetches_failed, stats.jwks_refreshes
    );
    println!(
        "  provider requests seen by the server: {}",
        server.total_hits()
    );
    if let Some(j) = health.jwks {
        println!(
            "  JWKS health: {} keys {:?}, {}",
            j.keys, j.kids, j.freshness
        );
    }
    println!("\nPrometheus excerpt:");
    for line in validator
        .metrics_text()
        .lines()
        .filter(|l| l.starts_with("jwtgate_validations_total"))
        .take(6)
    {
        println!("  {line}");
    }
}

fn report(validator: &Validator, name: &str, token: &str) {
    let started = Instant::now();
    let result = validator.validate_blocking(token);
    let elapsed = started.elapsed();
    match result {
        Ok(v) => println!(
            "{:<32} {:<10} {:>8.1}µs  sub={} from {}",
            name,
            "accepted",
            elapsed.as_secs_f64() * 1e6,
            v.claims().subject().unwrap_or("-"),
            v.source().as_str()
        ),
        Err(e) => println!(
            "{:<32} {:<10} {:>8.1}µs  {} (HTTP {}): {}",
            name,
            "refused",
            elapsed.as_secs_f64() * 1e6,
            e.kind(),
            e.kind().http_status(),
            e.message()
        ),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
