//! Validator behaviour a user notices: size limits, the result cache, revocation, stats,
//! threads and fork().

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::Arc;
use std::time::Duration;

use jwtgate::{Audience, Config, ErrorKind, Source, Validator};
use jwtgate_testkit::{TestKey, access_token_claims, b64, jwks, unix_now};
use serde_json::json;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";

fn keys() -> (TestKey, TestKey) {
    (
        TestKey::rsa("rsa-a", "RS256", "rsa-a"),
        TestKey::ec("ES256", "ec"),
    )
}

fn validator_with(edit: impl FnOnce(&mut Config)) -> Validator {
    let (rsa, ec) = keys();
    let mut cfg = Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks: Some(jwks(&[&rsa, &ec])),
        ..Config::default()
    };
    edit(&mut cfg);
    Validator::new(cfg).unwrap()
}

fn validator() -> Validator {
    validator_with(|_| {})
}

fn claims_for(sub: &str, jti: &str) -> serde_json::Value {
    let now = unix_now();
    let mut c = access_token_claims(ISSUER, AUDIENCE, now - 10, now + 3600);
    c["sub"] = json!(sub);
    c["jti"] = json!(jti);
    c
}

#[test]
fn oversized_inputs_are_refused_before_any_work() {
    let v = validator();
    let mib = "a".repeat(1 << 20);
    assert_eq!(
        v.validate_local(&mib).unwrap_err().kind(),
        ErrorKind::TokenTooLarge
    );
    let dots = ".".repeat(1_000_000);
    assert_eq!(
        v.validate_local(&dots).unwrap_err().kind(),
        ErrorKind::TokenTooLarge
    );
    let big = validator_with(|c| c.max_token_bytes = 1 << 20);
    assert_eq!(
        big.validate_local(&dots).unwrap_err().kind(),
        ErrorKind::UnsupportedToken
    );
    assert_eq!(
        v.validate_local("").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    assert_eq!(
        v.validate_local("\u{0}\u{ffff}").unwrap_err().kind(),
        ErrorKind::Malformed
    );
}

#[test]
fn hits_come_from_the_cache_and_share_one_allocation() {
    let (rsa, _) = keys();
    let v = validator();
    let t = rsa.token(&claims_for("alice", "j1"));
    let first = v.validate_local(&t).unwrap();
    assert_eq!(first.source(), Source::Local);
    let second = v.validate_local(&t).unwrap();
    assert_eq!(second.source(), Source::Cache);
    assert!(Arc::ptr_eq(first.claims(), second.claims()));
    let stats = v.stats();
    assert_eq!(
        (stats.cache_hits, stats.cache_misses, stats.validations_ok),
        (1, 1, 2)
    );
}

#[test]
fn a_cached_token_is_never_served_past_its_exp() {
    let (rsa, _) = keys();
    let v = validator_with(|c| c.leeway = 0.0);
    let mut claims = claims_for("alice", "j1");
    let exp = jwtgate_testkit::unix_now() as f64 + 1.5;
    claims["exp"] = json!(exp);
    let t = rsa.token(&claims);
    v.validate_local(&t).unwrap();
    assert_eq!(v.validate_local(&t).unwrap().source(), Source::Cache);
    while (jwtgate_testkit::unix_now() as f64) < exp + 0.1 {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(v.validate_local(&t).unwrap_err().kind(), ErrorKind::Expired);
}

#[test]
fn failures_are_not_cached() {
    let (rsa, _) = keys();
    let v = validator();
    let mut claims = claims_for("alice", "j1");
    claims["aud"] = json!("https://elsewhere.test");
    let t = rsa.token(&claims);
    for _ in 0..3 {
        assert_eq!(
            v.validate_local(&t).unwrap_err().kind(),
            ErrorKind::AudienceMismatch
        );
    }
    let stats = v.stats();
    assert_eq!(stats.cache_entries, 0);
    assert_eq!(stats.failures_by_kind["audience_mismatch"], 3);
    assert_eq!(stats.validations_failed, 3);
}

#[test]
fn revoking_a_jti_purges_the_cache_at_once() {
    let (rsa, _) = keys();
    let v = validator();
    let t = rsa.token(&claims_for("alice", "jti-1"));
    let other = rsa.token(&claims_for("alice", "jti-2"));
    v.validate_local(&t).unwrap();
    v.validate_local(&other).unwrap();
    assert_eq!(v.revoke_jti("jti-1", None).unwrap(), 1);
    assert_eq!(v.validate_local(&t).unwrap_err().kind(), ErrorKind::Revoked);
    assert_eq!(v.validate_local(&other).unwrap().source(), Source::Cache);
    // A revocation that would end before it starts is refused, never a silent no-op.
    let t3 = rsa.token(&claims_for("bob", "jti-3"));
    assert_eq!(
        v.revoke_jti("jti-3", Some(1.0)).unwrap_err().kind(),
        ErrorKind::Config
    );
    v.validate_local(&t3).unwrap();
}

/// Audit finding 5: revocation must not fail open on times that mean nothing.
#[test]
fn revocation_refuses_meaningless_times_and_ids() {
    let (rsa, _) = keys();
    let v = validator();
    let now = unix_now() as f64;
    for until in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        now - 10.0,
        1e300,
    ] {
        let e = v.revoke_jti("jti-x", Some(until)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "until {until}");
        assert!(e.message().starts_with("until"), "{e}");
    }
    for cutoff in [f64::NAN, f64::INFINITY, -1.0, now + 3600.0] {
        let e = v.revoke_subject("alice", Some(cutoff)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "issued_before {cutoff}");
        assert!(e.message().starts_with("issued_before"), "{e}");
    }
    assert_eq!(
        v.revoke_jti("", None).unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(
        v.revoke_subject("", None).unwrap_err().kind(),
        ErrorKind::Config
    );
    // Nothing above changed anything: alice's token still validates.
    v.validate_local(&rsa.token(&claims_for("alice", "jti-x")))
        .unwrap();
    // A good time works, and the token is refused from then on.
    assert_eq!(v.revoke_jti("jti-x", Some(now + 600.0)).unwrap(), 1);
    assert_eq!(
        v.validate_local(&rsa.token(&claims_for("alice", "jti-x")))
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

#[test]
fn a_re_encoded_ecdsa_signature_is_still_revoked() {
    let (_, ec) = keys();
    let v = validator();
    let t = ec.token(&claims_for("alice", "jti-ec"));
    v.validate_local(&t).unwrap();
    v.revoke_jti("jti-ec", None).unwrap();
    // ECDSA is malleable: (r, n - s) verifies too, and is different bytes (a cache miss).
    let parts: Vec<&str> = t.split('.').collect();
    let sig = base64_decode(parts[2]);
    let n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let s_neg = sub_be(&n, &sig[32..]);
    let twin = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        b64([&sig[..32], &s_neg[..]].concat())
    );
    assert_ne!(twin, t);
    assert_eq!(
        v.validate_local(&twin).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    // Without the revocation the twin would have been accepted: the check is what stops it.
    let fresh = validator();
    fresh.validate_local(&twin).unwrap();
}

#[test]
fn revoking_a_subject_uses_issued_before() {
    let (rsa, _) = keys();
    let v = validator();
    let now = unix_now();
    let mut old = claims_for("mallory", "a");
    old["iat"] = json!(now - 100);
    let mut new = claims_for("mallory", "b");
    new["iat"] = json!(now + 5);
    let (old_t, new_t) = (rsa.token(&old), rsa.token(&new));
    let bystander = rsa.token(&claims_for("alice", "c"));
    v.validate_local(&old_t).unwrap();
    v.validate_local(&bystander).unwrap();
    assert_eq!(v.revoke_subject("mallory", Some(now as f64)).unwrap(), 1);
    assert_eq!(
        v.validate_local(&old_t).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    v.validate_local(&new_t).expect("issued after the cut-off");
    assert_eq!(
        v.validate_local(&bystander).unwrap().source(),
        Source::Cache
    );
}

#[test]
fn revocation_racing_with_validation_never_leaves_a_revoked_entry() {
    let (rsa, _) = keys();
    let v = validator();
    let tokens: Vec<String> = (0..200)
        .map(|i| rsa.token(&claims_for("racer", &format!("r{i}"))))
        .collect();
    let tokens = Arc::new(tokens);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (v, tokens) = (v.clone(), tokens.clone());
            s.spawn(move || {
                for t in tokens.iter() {
                    let _ = v.validate_local(t);
                }
            });
        }
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(5));
            // Within the leeway: the tokens' iat is "now" at their signing.
            v.revoke_subject("racer", Some(unix_now() as f64 + 20.0))
                .unwrap();
        });
    });
    for t in tokens.iter() {
        assert_eq!(v.validate_local(t).unwrap_err().kind(), ErrorKind::Revoked);
    }
}

#[test]
fn many_threads_share_one_validator() {
    let (rsa, ec) = keys();
    let v = validator();
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..32)
            .map(|i| {
                if i % 2 == 0 {
                    rsa.token(&claims_for("u", &format!("t{i}")))
                } else {
                    ec.token(&claims_for("u", &format!("t{i}")))
                }
            })
            .collect(),
    );
    std::thread::scope(|s| {
        for _ in 0..16 {
            let (v, tokens) = (v.clone(), tokens.clone());
            s.spawn(move || {
                for round in 0..50 {
                    for t in tokens.iter() {
                        assert!(v.validate_local(t).is_ok(), "round {round}");
                    }
                }
            });
        }
    });
    let stats = v.stats();
    assert_eq!(stats.validations_ok, 16 * 50 * 32);
    assert!(stats.cache_hits >= 16 * 50 * 32 - 16 * 32);
}

#[test]
fn metrics_text_is_prometheus_exposition() {
    let (rsa, _) = keys();
    let v = validator();
    let t = rsa.token(&claims_for("alice", "m"));
    v.validate_local(&t).unwrap();
    v.validate_local(&t).unwrap();
    let _ = v.validate_local("garbage");
    let text = v.metrics_text();
    assert!(text.contains("# TYPE jwtgate_validations_total counter"));
    assert!(text.contains("jwtgate_validations_total{outcome=\"ok\"} 2"));
    assert!(
        text.contains("jwtgate_validations_total{outcome=\"error\",kind=\"unsupported_token\"} 1")
    );
    assert!(text.contains("jwtgate_cache_hits_total 1"));
    assert!(text.contains("jwtgate_cache_entries 1"));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
    }
}

#[test]
fn error_messages_never_contain_the_token() {
    let (rsa, _) = keys();
    let v = validator();
    let mut claims = claims_for("alice", "secret-jti-value");
    claims["exp"] = json!(1);
    let t = rsa.token(&claims);
    let bad_sig = format!("{}x", &t[..t.len() - 1]);
    let padded = format!("{t}=");
    for token in [t.as_str(), bad_sig.as_str(), padded.as_str()] {
        let err = v.validate_local(token).unwrap_err();
        let text = err.to_string();
        for part in token.split('.') {
            assert!(!text.contains(part), "{text}");
        }
        assert!(!text.contains("secret-jti-value"));
    }
}

#[cfg(unix)]
#[test]
fn a_forked_child_gets_a_working_runtime() {
    use jwtgate_testkit::server::{Reply, TestServer};
    let (rsa, ec) = keys();
    let doc = jwks(&[&rsa, &ec]);
    let server = TestServer::start(move |_| Reply::json(&doc));
    let v = Validator::new(Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(server.url("/jwks")),
        jwks_refresh_cooldown: 0.0,
        ..Config::default()
    })
    .unwrap();
    // The parent starts the runtime and loads keys.
    v.validate_blocking(&rsa.token(&claims_for("p", "p")))
        .unwrap();
    let child_token = ec.token(&claims_for("c", "c"));
    let fresh = Validator::new(Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(server.url("/jwks")),
        ..Config::default()
    })
    .unwrap();
    // A fetch in the child needs a runtime and an HTTP client that exist in the child.
    assert!(
        in_forked_child(|| {
            fresh.validate_blocking(&child_token).is_ok()
                && v.validate_blocking(&child_token).is_ok()
        }),
        "the child could not validate"
    );
    v.validate_blocking(&child_token).unwrap();
}

/// Runs `work` in a forked child and says whether it returned true there.
#[cfg(unix)]
#[allow(unsafe_code)]
fn in_forked_child(work: impl FnOnce() -> bool) -> bool {
    // SAFETY: the child only runs `work` (calls into jwtgate, which builds its own runtime
    // after fork) and leaves with _exit, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = work();
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// a - b for big-endian unsigned integers of the same length (a > b).
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = a[i] as i16 - b[i] as i16 - borrow;
        borrow = if d < 0 {
            d += 256;
            1
        } else {
            0
        };
        out[i] = d as u8;
    }
    out
}

/// Audit finding 3: `max_token_age` ends the cache entry too. Before the fix the entry lived
/// until `exp` (capped by `cache_max_ttl`), so a token older than the policy kept validating.
#[test]
fn max_token_age_is_enforced_on_cache_hits() {
    let (rsa, _) = keys();
    let v = validator_with(|c| {
        c.max_token_age = Some(2.0);
        c.leeway = 0.0;
    });
    let now = unix_now();
    let mut claims = claims_for("old-timer", "age-1");
    claims["iat"] = json!(now - 1);
    claims["nbf"] = json!(now - 1);
    let t = rsa.token(&claims);
    v.validate_local(&t).unwrap();
    assert_eq!(v.validate_local(&t).unwrap().source(), Source::Cache);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        v.validate_local(&t).unwrap_err().kind(),
        ErrorKind::TokenTooOld,
        "the cached result must not outlive iat + max_token_age"
    );
}

/// Audit finding 8: without `token_type`, what is certainly not an access token is refused by
/// default (RFC 8725 §3.11); a plain `typ: JWT` access token still passes.
#[test]
fn the_default_policy_refuses_id_and_logout_tokens() {
    let (rsa, _) = keys();
    let v = validator();
    let base = claims_for("alice", "typ-1");
    let header = |typ: Option<&str>| {
        let mut h = json!({ "alg": "RS256", "kid": "rsa-a" });
        if let Some(t) = typ {
            h["typ"] = json!(t);
        }
        h
    };
    let with = |name: &str, value: serde_json::Value| {
        let mut c = base.clone();
        c[name] = value;
        c
    };
    let refused = [
        (
            "typ logout+jwt",
            rsa.token_with_header(&header(Some("logout+jwt")), &base),
        ),
        (
            "typ secevent+jwt",
            rsa.token_with_header(&header(Some("application/secevent+jwt")), &base),
        ),
        (
            "typ id_token+jwt",
            rsa.token_with_header(&header(Some("id_token+jwt")), &base),
        ),
        (
            "ID token: nonce",
            rsa.token_with_header(&header(None), &with("nonce", json!("n-0S6_WzA2Mj"))),
        ),
        (
            "ID token: at_hash",
            rsa.token_with_header(
                &header(Some("JWT")),
                &with("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
            ),
        ),
        (
            "ID token: c_hash",
            rsa.token_with_header(
                &header(None),
                &with("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
            ),
        ),
        (
            "logout token: events",
            rsa.token_with_header(
                &header(None),
                &with(
                    "events",
                    json!({"http://schemas.openid.net/event/backchannel-logout": {}}),
                ),
            ),
        ),
        (
            "Keycloak ID token",
            rsa.token_with_header(&header(Some("JWT")), &with("typ", json!("ID"))),
        ),
        (
            "Keycloak refresh token",
            rsa.token_with_header(&header(Some("JWT")), &with("typ", json!("Refresh"))),
        ),
    ];
    for (what, token) in &refused {
        assert_eq!(
            v.validate_local(token).unwrap_err().kind(),
            ErrorKind::TokenTypeMismatch,
            "{what}"
        );
    }
    for (what, token) in [
        (
            "typ JWT",
            rsa.token_with_header(&header(Some("JWT")), &base),
        ),
        ("no typ", rsa.token_with_header(&header(None), &base)),
        ("typ at+jwt", rsa.token(&base)),
        (
            "Keycloak access token",
            rsa.token_with_header(&header(Some("JWT")), &with("typ", json!("Bearer"))),
        ),
    ] {
        v.validate_local(&token)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    // The option turns the rule off (for APIs that do accept ID tokens on purpose).
    let lenient = validator_with(|c| c.access_tokens_only = false);
    for (what, token) in &refused {
        lenient
            .validate_local(token)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

/// Audit finding 2: a key withdrawn from the JWKS stops validating at the refresh that drops
/// it; before the fix its cached results were served for up to `cache_max_ttl`.
#[test]
fn a_withdrawn_key_takes_its_cached_results_with_it() {
    use jwtgate_testkit::server::{Reply, TestServer};
    let (rsa, ec) = keys();
    let both = jwks(&[&rsa, &ec]);
    let only_ec = jwks(&[&ec]);
    let withdrawn = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w2 = withdrawn.clone();
    let server = TestServer::start(move |_| {
        if w2.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::json(&only_ec)
        } else {
            Reply::json(&both)
        }
    });
    let v = Validator::new(Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(server.url("/jwks")),
        jwks_refresh_cooldown: 0.0,
        ..Config::default()
    })
    .unwrap();
    let by_rsa = rsa.token(&claims_for("alice", "w-1"));
    let by_ec = ec.token(&claims_for("bob", "w-2"));
    v.validate_blocking(&by_rsa).unwrap();
    v.validate_blocking(&by_ec).unwrap();
    assert_eq!(v.validate_local(&by_rsa).unwrap().source(), Source::Cache);
    // The provider withdraws the RSA key; an unknown kid makes the validator refresh.
    withdrawn.store(true, std::sync::atomic::Ordering::SeqCst);
    let unknown = TestKey::rsa("rsa-b", "RS256", "new-kid").token(&claims_for("eve", "w-3"));
    let _ = v.validate_blocking(&unknown);
    assert_eq!(server.hits("/jwks"), 2);
    assert_eq!(
        v.validate_blocking(&by_rsa).unwrap_err().kind(),
        ErrorKind::KeyNotFound,
        "a result verified by a withdrawn key must not be served from the cache"
    );
    assert_eq!(
        v.validate_local(&by_ec).unwrap().source(),
        Source::Cache,
        "results of keys still published stay cached"
    );
}

/// Audit finding 12: a child forked while a half-open probe is in flight must send its own
/// probe, not refuse every fetch forever (gunicorn `--preload`).
#[cfg(unix)]
#[test]
fn a_child_forked_during_a_breaker_probe_can_fetch() {
    use jwtgate_testkit::server::{Reply, TestServer};
    let (rsa, ec) = keys();
    let doc = jwks(&[&rsa, &ec]);
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = calls.clone();
    let server = TestServer::start(move |_| {
        match c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            // Opens the breaker (threshold 1).
            0 => Reply::status(500),
            // The half-open probe: slow, so the fork happens while it is in flight.
            1 => Reply::status(500).delayed(Duration::from_millis(1500)),
            _ => Reply::json(&doc),
        }
    });
    let v = Validator::new(Config {
        issuer: ISSUER.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(server.url("/jwks")),
        jwks_refresh_cooldown: 0.0,
        fetch_retries: 0,
        breaker_threshold: 1,
        breaker_cooldown: 0.1,
        ..Config::default()
    })
    .unwrap();
    let token = rsa.token(&claims_for("p", "p"));
    assert_eq!(
        v.validate_blocking(&token).unwrap_err().kind(),
        ErrorKind::JwksUnavailable
    );
    std::thread::sleep(Duration::from_millis(150));
    let prober = {
        let (v, token) = (v.clone(), token.clone());
        std::thread::spawn(move || v.validate_blocking(&token))
    };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "probe in flight"
    );
    assert!(
        in_forked_child(|| v.validate_blocking(&token).is_ok()),
        "the child could not fetch keys"
    );
    let _ = prober.join();
}
