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
    assert_eq!(v.revoke_jti("jti-1", None), 1);
    assert_eq!(v.validate_local(&t).unwrap_err().kind(), ErrorKind::Revoked);
    assert_eq!(v.validate_local(&other).unwrap().source(), Source::Cache);
    // An expired revocation entry no longer applies.
    let t3 = rsa.token(&claims_for("bob", "jti-3"));
    v.revoke_jti("jti-3", Some(1.0));
    v.validate_local(&t3).unwrap();
}

#[test]
fn a_re_encoded_ecdsa_signature_is_still_revoked() {
    let (_, ec) = keys();
    let v = validator();
    let t = ec.token(&claims_for("alice", "jti-ec"));
    v.validate_local(&t).unwrap();
    v.revoke_jti("jti-ec", None);
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
    assert_eq!(v.revoke_subject("mallory", Some(now as f64)), 1);
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
            v.revoke_subject("racer", Some(unix_now() as f64 + 60.0));
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
#[allow(unsafe_code)]
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
    // SAFETY: the child only calls into jwtgate (which builds its own runtime after fork) and
    // leaves with _exit, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // A fetch in the child needs a runtime and an HTTP client that exist in the child.
        let ok = fresh.validate_blocking(&child_token).is_ok()
            && v.validate_blocking(&child_token).is_ok();
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status}"
    );
    v.validate_blocking(&child_token).unwrap();
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
