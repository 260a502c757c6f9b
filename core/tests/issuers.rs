//! Many issuers in one validator (`issuers`, issue #9): routing by `iss`, keys that never
//! cross issuers, no traffic for an unconfigured issuer, one issuer's outage leaving the
//! others alone, the configuration rules, `refresh_keys` / `clear_cache`, the per-issuer
//! health and metrics, and misconfiguration told apart from an outage.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jwtgate::{Audience, Config, ErrorKind, IssuerConfig, Source, Validator};
use jwtgate_testkit::server::{Reply, TestServer};
use jwtgate_testkit::{TestKey, access_token_claims, jwks, unix_now};
use serde_json::{Value, json};

const A: &str = "https://a.issuer.test";
const B: &str = "https://b.issuer.test";
const AUDIENCE: &str = "https://api.test";

fn key_a() -> TestKey {
    TestKey::rsa("rsa-a", "RS256", "a-1")
}

fn key_b() -> TestKey {
    TestKey::ec("ES256", "b-1")
}

fn claims(iss: &str, jti: &str) -> Value {
    let now = unix_now();
    let mut c = access_token_claims(iss, AUDIENCE, now - 5, now + 3600);
    c["jti"] = json!(jti);
    c
}

fn entry(issuer: &str, jwks_uri: String) -> IssuerConfig {
    IssuerConfig {
        issuer: issuer.into(),
        audience: Some(Audience::One(AUDIENCE.into())),
        jwks_uri: Some(jwks_uri),
        ..IssuerConfig::default()
    }
}

fn two_issuers(a: &TestServer, b: &TestServer) -> Validator {
    Validator::new(Config {
        issuers: Some(vec![entry(A, a.url("/jwks")), entry(B, b.url("/jwks"))]),
        fetch_retries: 0,
        fetch_timeout: 1.0,
        ..Config::default()
    })
    .unwrap()
}

#[test]
fn tokens_of_each_issuer_validate_with_that_issuers_keys_only() {
    let (ka, kb) = (key_a(), key_b());
    let (doc_a, doc_b) = (jwks(&[&ka]), jwks(&[&kb]));
    let sa = TestServer::start(move |_| Reply::json(&doc_a));
    let sb = TestServer::start(move |_| Reply::json(&doc_b));
    let v = two_issuers(&sa, &sb);
    let ta = ka.token(&claims(A, "a"));
    let tb = kb.token(&claims(B, "b"));
    assert_eq!(
        v.validate_blocking(&ta).unwrap().claims().get("iss"),
        Some(&json!(A))
    );
    assert_eq!(
        v.validate_blocking(&tb).unwrap().claims().get("iss"),
        Some(&json!(B))
    );
    assert_eq!((sa.hits("/jwks"), sb.hits("/jwks")), (1, 1));

    // A token claiming issuer A, signed with B's key under B's kid: A's keys have no such
    // kid, and B's keys are never tried for it.
    let confused = kb.token(&claims(A, "confused"));
    let e = v.validate_blocking(&confused).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::KeyNotFound | ErrorKind::AlgorithmNotAllowed
        ),
        "{e}"
    );
    // The same with A's kid: the signature does not verify with A's key.
    let forged = TestKey::ec("ES256", "a-1").token(&claims(A, "forged"));
    assert!(v.validate_blocking(&forged).is_err());
    let rsa_forged = TestKey::rsa("rsa-b", "RS256", "a-1").token(&claims(A, "forged2"));
    assert_eq!(
        v.validate_blocking(&rsa_forged).unwrap_err().kind(),
        ErrorKind::SignatureInvalid
    );
}

#[test]
fn an_unconfigured_issuer_causes_no_request_anywhere() {
    let (ka, kb) = (key_a(), key_b());
    let (doc_a, doc_b) = (jwks(&[&ka]), jwks(&[&kb]));
    let sa = TestServer::start(move |_| Reply::json(&doc_a));
    let sb = TestServer::start(move |_| Reply::json(&doc_b));
    let canary = TestServer::start(|_| Reply::status(404));
    let v = two_issuers(&sa, &sb);
    // An issuer that is the canary's URL (discovery would go there), a kid of each issuer,
    // and a jku pointing at the canary: none of it may cause a request.
    let evil = canary.url("");
    for (i, header) in [
        json!({"alg": "RS256", "kid": "a-1", "typ": "at+jwt"}),
        json!({"alg": "ES256", "kid": "b-1", "typ": "at+jwt"}),
        json!({"alg": "RS256", "kid": "new", "jku": canary.url("/jwks"), "typ": "at+jwt"}),
    ]
    .iter()
    .enumerate()
    {
        let token = ka.token_with_header(header, &claims(&evil, &format!("evil-{i}")));
        assert_eq!(
            v.validate_blocking(&token).unwrap_err().kind(),
            ErrorKind::IssuerMismatch
        );
    }
    let no_iss = {
        let mut c = claims(A, "no-iss");
        c.as_object_mut().unwrap().remove("iss");
        ka.token(&c)
    };
    assert_eq!(
        v.validate_blocking(&no_iss).unwrap_err().kind(),
        ErrorKind::MissingClaim
    );
    assert_eq!(canary.total_hits(), 0);
    assert_eq!((sa.total_hits(), sb.total_hits()), (0, 0));
}

#[test]
fn one_issuers_outage_leaves_the_others_alone() {
    let (ka, kb) = (key_a(), key_b());
    let (doc_a, doc_b) = (jwks(&[&ka]), jwks(&[&kb]));
    let a_down = Arc::new(AtomicBool::new(true));
    let a2 = a_down.clone();
    let sa = TestServer::start(move |_| {
        if a2.load(Ordering::SeqCst) {
            Reply::status(503)
        } else {
            Reply::json(&doc_a)
        }
    });
    let sb = TestServer::start(move |_| Reply::json(&doc_b));
    let v = two_issuers(&sa, &sb);
    let ta = ka.token(&claims(A, "a"));
    assert_eq!(
        v.validate_blocking(&ta).unwrap_err().kind(),
        ErrorKind::JwksUnavailable
    );
    for i in 0..20 {
        v.validate_blocking(&kb.token(&claims(B, &format!("b-{i}"))))
            .unwrap();
    }
    assert_eq!(sb.hits("/jwks"), 1);
    let health = v.health();
    assert_eq!(health.issuers.len(), 2);
    assert_eq!(health.issuers[0].issuer, A);
    let a_jwks = health.issuers[0].jwks.as_ref().unwrap();
    assert!(!a_jwks.loaded);
    assert_eq!(a_jwks.problem, Some("outage"));
    assert!(health.issuers[1].jwks.as_ref().unwrap().loaded);
    // ready() names the issuer that is not ready.
    let e = v.ready_blocking().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::JwksUnavailable);
    // Recovery is per issuer too.
    a_down.store(false, Ordering::SeqCst);
    // refresh_keys fetches unless a fetch started in the last second (ready() just did).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    v.refresh_keys_blocking(Some(A)).unwrap();
    v.validate_blocking(&ta).unwrap();
    let metrics = v.metrics_text();
    for needle in [
        &format!("jwtgate_issuer_jwks_keys{{issuer=\"{A}\"}} 1"),
        &format!("jwtgate_issuer_jwks_keys{{issuer=\"{B}\"}} 1"),
        &format!("jwtgate_issuer_jwks_fetches_total{{issuer=\"{A}\",result=\"ok\"}} 1"),
        &format!("jwtgate_issuer_jwks_fetches_total{{issuer=\"{B}\",result=\"ok\"}} 1"),
        &format!("jwtgate_issuer_breaker_open{{issuer=\"{B}\",endpoint=\"jwks\"}} 0"),
    ] {
        assert!(metrics.contains(needle.as_str()), "{needle} in\n{metrics}");
    }
}

#[test]
fn opaque_tokens_go_to_the_one_issuer_with_introspection() {
    let kb = key_b();
    let doc_b = jwks(&[&kb]);
    let introspection = TestServer::start(|_| {
        let now = unix_now();
        Reply::json(
            &json!({"active": true, "iss": B, "aud": AUDIENCE, "sub": "svc", "exp": now + 60, "iat": now}),
        )
    });
    let sb = TestServer::start(move |_| Reply::json(&doc_b));
    let v = Validator::new(Config {
        issuers: Some(vec![
            IssuerConfig {
                issuer: A.into(),
                audience: Some(Audience::One(AUDIENCE.into())),
                jwks: Some(jwks(&[&key_a()])),
                ..IssuerConfig::default()
            },
            IssuerConfig {
                client_id: Some("api".into()),
                client_secret: Some("secret".into()),
                introspection_endpoint: Some(introspection.url("/introspect")),
                ..entry(B, sb.url("/jwks"))
            },
        ]),
        ..Config::default()
    })
    .unwrap();
    let answer = v.validate_blocking("opaque-token-1").unwrap();
    assert_eq!(answer.source(), Source::Introspection);
    assert_eq!(answer.claims().subject(), Some("svc"));
    assert_eq!(introspection.hits("/introspect"), 1);
    let health = v.health();
    assert!(health.issuers[0].introspection.is_none());
    assert_eq!(
        health.issuers[1].introspection.as_ref().unwrap().requests,
        1
    );
    // clear_cache drops the cached answer: the next use asks again.
    assert!(v.clear_cache() >= 1);
    v.validate_blocking("opaque-token-1").unwrap();
    assert_eq!(introspection.hits("/introspect"), 2);
}

#[test]
fn configuration_rules() {
    let base = || Config {
        issuers: Some(vec![
            IssuerConfig {
                issuer: A.into(),
                audience: Some(Audience::One(AUDIENCE.into())),
                jwks: Some(jwks(&[&key_a()])),
                ..IssuerConfig::default()
            },
            IssuerConfig {
                issuer: B.into(),
                audience: Some(Audience::One(AUDIENCE.into())),
                jwks: Some(jwks(&[&key_b()])),
                ..IssuerConfig::default()
            },
        ]),
        ..Config::default()
    };
    let error = |c: Config| {
        let e = Validator::new(c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        e.message().to_string()
    };
    Validator::new(base()).unwrap();
    assert!(
        error(Config {
            issuer: A.into(),
            ..base()
        })
        .starts_with("issuers")
    );
    assert!(
        error(Config {
            audience: Some(Audience::One(AUDIENCE.into())),
            ..base()
        })
        .starts_with("audience")
    );
    assert!(
        error(Config {
            issuers: Some(vec![]),
            ..base()
        })
        .starts_with("issuers")
    );
    let mut duplicate = base();
    if let Some(list) = duplicate.issuers.as_mut() {
        list[1].issuer = A.into();
    }
    assert!(error(duplicate).starts_with("issuers[1].issuer"));
    let mut no_audience = base();
    if let Some(list) = no_audience.issuers.as_mut() {
        list[1].audience = None;
    }
    assert!(error(no_audience).starts_with("issuers[1].audience"));
    let mut two_introspecting = base();
    if let Some(list) = two_introspecting.issuers.as_mut() {
        for e in list.iter_mut() {
            e.client_id = Some("api".into());
            e.client_secret = Some("secret".into());
            e.introspection_endpoint = Some("https://id.example/introspect".into());
        }
    }
    assert!(error(two_introspecting).contains("more than one issuer"));
    // From JSON, with an unknown per-issuer option refused and a secret never echoed.
    let e = Validator::from_json(&format!(
        r#"{{"issuers":[{{"issuer":"{A}","audiance":"x"}}]}}"#
    ))
    .unwrap_err();
    assert!(e.message().contains("audiance"), "{e}");
    let e = Validator::from_json(&format!(
        r#"{{"issuers":[{{"issuer":"{A}","audience":"x","client_id":"c","client_secret":424242424242}}]}}"#
    ))
    .unwrap_err();
    assert!(e.message().starts_with("issuers[0].client_secret"), "{e}");
    assert!(!e.message().contains("424242"), "{e}");
    // refresh_keys of an issuer that is not configured.
    let v = Validator::new(base()).unwrap();
    assert_eq!(
        v.refresh_keys_blocking(Some("https://nobody.test"))
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    v.refresh_keys_blocking(None).unwrap();
}

#[test]
fn one_issuers_algorithms_do_not_widen_anothers() {
    let (ka, kb) = (key_a(), key_b());
    let v = Validator::new(Config {
        issuers: Some(vec![
            IssuerConfig {
                issuer: A.into(),
                audience: Some(Audience::One(AUDIENCE.into())),
                jwks: Some(jwks(&[&ka])),
                algorithms: Some(vec!["RS256".into()]),
                ..IssuerConfig::default()
            },
            IssuerConfig {
                issuer: B.into(),
                audience: Some(Audience::One(AUDIENCE.into())),
                jwks: Some(jwks(&[&kb])),
                algorithms: Some(vec!["ES256".into()]),
                ..IssuerConfig::default()
            },
        ]),
        ..Config::default()
    })
    .unwrap();
    v.validate_blocking(&ka.token(&claims(A, "ok"))).unwrap();
    // An ES256 token for A: ES256 is allowed for B only.
    assert_eq!(
        v.validate_blocking(&TestKey::ec("ES256", "a-1").token(&claims(A, "es")))
            .unwrap_err()
            .kind(),
        ErrorKind::AlgorithmNotAllowed
    );
}

/// A trailing slash too many in `issuer`: the provider's metadata names another issuer.
/// `ready()` says so as a configuration mistake, naming the expected and the found value; the
/// health says `misconfiguration`, not `outage`.
#[test]
fn a_discovery_issuer_mismatch_is_a_misconfiguration() {
    let base: Arc<std::sync::Mutex<String>> = Arc::default();
    let b2 = base.clone();
    let server = TestServer::start(move |req| {
        let base = b2.lock().unwrap().clone();
        match req.path.as_str() {
            "/.well-known/openid-configuration" => Reply::json(&json!({
                "issuer": base, "jwks_uri": format!("{base}/jwks"),
            })),
            _ => Reply::status(404),
        }
    });
    let issuer = server.url("");
    *base.lock().unwrap() = issuer.trim_end_matches('/').to_string();
    let configured = format!("{}/", issuer.trim_end_matches('/'));
    let v = Validator::new(Config {
        issuer: configured.clone(),
        audience: Some(Audience::One(AUDIENCE.into())),
        fetch_retries: 0,
        ..Config::default()
    })
    .unwrap();
    let e = v.ready_blocking().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(
        e.message().contains(&format!("expected {configured:?}")),
        "{e}"
    );
    assert!(
        e.message()
            .contains(&format!("found {:?}", issuer.trim_end_matches('/'))),
        "{e}"
    );
    let health = v.health();
    assert_eq!(
        health.jwks.as_ref().unwrap().problem,
        Some("misconfiguration")
    );
    // A client still gets a 503-class answer, never a config error for its token.
    let t = key_a().token(&claims(&configured, "x"));
    assert_eq!(
        v.validate_blocking(&t).unwrap_err().kind(),
        ErrorKind::JwksUnavailable
    );
}

#[test]
fn a_global_option_inside_an_entry_is_named() {
    let e = Validator::from_json(&format!(
        r#"{{"issuers":[{{"issuer":"{A}","audience":"x","leeway":5}}]}}"#
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message()
            .starts_with("issuers[0].leeway: is a global option"),
        "{e}"
    );
}
