//! Core criterion benchmarks for jwtgate, all in one run so the numbers compare side by side:
//!
//! - `hit/RS256_1kB`: `validate_local` answered from the result cache (~1 KB RS256 token).
//! - `hit_threads/{distinct,same}/{1,2}`: cache hits on one shared `Validator` from 1 and 2
//!   threads. One criterion iteration = one hit on *each* thread, so time per iteration is
//!   the wall time of T parallel hits; throughput = T / time, scaling = 2 * t(1) / t(2).
//!   `distinct`: each thread validates its own token (different `jti`), the realistic case.
//!   `same`: both threads validate the same token (shares one shard lock and one `Arc`).
//! - `cold/<alg>`: `validate_local` with the result cache off (`cache_max_entries: 0`): every
//!   call parses, verifies and checks claims.
//! - `floor/<alg>`: the bare aws-lc-rs verification of the same signing input and signature
//!   with a key parsed once (the lower bound `cold` is compared with).
//! - `blake3_keyed/token_1kB`: the keyed BLAKE3 hash of the token (one of the two cache-key
//!   PRFs the core picks from; HMAC-SHA256 is the other, see `hash_ref`). Its
//!   `Throughput::Bytes` is the token's length: `report.py` reads the size from there.
//! - `hash_ref/hmac_sha256_token_1kB`: HMAC-SHA256 of the same bytes, for comparison.
//! - `breakdown/*`: cheap attribution of the cold path's non-crypto cost, through the public
//!   API only (see `benches/report.py`).
//!
//! - After criterion, *paired* ratios (not criterion benchmarks): cold/floor per algorithm,
//!   PRF/hit, and the 2-thread/1-thread hit scaling, each measured by alternating ~3 ms
//!   batches of the two sides, written to `target/criterion/jwtgate-paired.json`. They resist
//!   the load drift of a shared machine better than a ratio of two separate benchmarks.
//!   `JWTGATE_BENCH_PAIRED=0` skips them.
//!
//! Clock: single-threaded benchmarks use the thread's CPU time by default (see `BenchClock`);
//! `JWTGATE_BENCH_CLOCK=wall` restores wall time. `hit_threads` and the scaling are wall time.
//!
//! Benchmarks, not tests: nothing here asserts on timings. The few `expect`s only check that
//! each benchmark measures the path it claims to (a hit is a hit, a valid token validates).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jwtgate::{Config, Source, Validator};
use jwtgate_testkit::{TestKey, access_token_claims, b64, hmac_secret, jwks};
use serde_json::Value;

const ISSUER: &str = "https://id.example.com";
const AUDIENCE: &str = "https://api.example.com";
/// 2100-01-01: the tokens never expire during a run.
const EXP: u64 = 4_102_444_800;

fn config() -> Config {
    Config {
        issuer: ISSUER.into(),
        audience: Some(jwtgate::Audience::One(AUDIENCE.into())),
        token_type: Some("at+jwt".into()),
        // Entries must outlive the whole run (the default max TTL is 300 s).
        cache_max_ttl: 86_400.0,
        ..Config::default()
    }
}

fn static_validator(key: &TestKey, cache: bool) -> Validator {
    let mut cfg = config();
    cfg.jwks = Some(jwks(&[key]));
    if !cache {
        cfg.cache_max_entries = 0;
    }
    Validator::new(cfg).expect("static-key validator")
}

fn hmac_validator(cache: bool) -> Validator {
    let mut cfg = config();
    cfg.shared_secret = Some(hmac_secret());
    if !cache {
        cfg.cache_max_entries = 0;
    }
    Validator::new(cfg).expect("HMAC validator")
}

fn claims(jti_suffix: &str) -> Value {
    let iat = jwtgate_testkit::unix_now();
    let mut c = access_token_claims(ISSUER, AUDIENCE, iat, EXP);
    if !jti_suffix.is_empty() {
        c["jti"] = Value::String(format!("jti-{iat}-{jti_suffix}"));
    }
    c
}

fn b64_member(jwk: &Value, name: &str) -> Vec<u8> {
    let text = jwk[name].as_str().expect("JWK member is a string");
    URL_SAFE_NO_PAD
        .decode(text)
        .expect("JWK member is base64url")
}

/// `(signing input, decoded signature)` of a compact JWS.
fn split_signed(token: &str) -> (&[u8], Vec<u8>) {
    let (input, sig) = token.rsplit_once('.').expect("compact JWS");
    (
        input.as_bytes(),
        URL_SAFE_NO_PAD.decode(sig).expect("signature is base64url"),
    )
}

/// The bare aws-lc-rs verifier for this key and algorithm, built once from its public JWK.
fn raw_verifier(key: &TestKey) -> ParsedPublicKey {
    let jwk = key.public_jwk();
    match key.alg {
        "RS256" | "PS256" => {
            let n = b64_member(&jwk, "n");
            let e = b64_member(&jwk, "e");
            let params = if key.alg == "RS256" {
                &signature::RSA_PKCS1_2048_8192_SHA256
            } else {
                &signature::RSA_PSS_2048_8192_SHA256
            };
            RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(params)
                .expect("RSA public key")
        }
        "ES256" => {
            let mut point = vec![0x04];
            point.extend(b64_member(&jwk, "x"));
            point.extend(b64_member(&jwk, "y"));
            ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).expect("P-256 key")
        }
        "EdDSA" => {
            ParsedPublicKey::new(&signature::ED25519, b64_member(&jwk, "x")).expect("Ed25519 key")
        }
        other => panic!("no raw verifier for {other}"),
    }
}

fn load_line() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "n/a".into())
}

/// Runs `iters` hits on each of `tokens.len()` threads at once; returns the wall time from the
/// first thread's start to the last thread's end (each thread timestamps itself, so a main
/// thread descheduled on a busy 2-core machine does not skew the measurement).
fn parallel_hits(validator: &Validator, tokens: &[String], iters: u64) -> Duration {
    let barrier = Barrier::new(tokens.len());
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = tokens
            .iter()
            .map(|token| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        let _ = black_box(validator.validate_local(black_box(token)));
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread panicked"))
            .collect()
    });
    let start = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("at least one thread");
    let end = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("at least one thread");
    end - start
}

fn benches(c: &mut Criterion<BenchClock>) {
    eprintln!("loadavg at start: {}", load_line());
    eprintln!("clock: {}", clock_name());

    // ---- 1. hit path, ~1 KB RS256 access token ------------------------------------------
    let rsa = TestKey::rsa("rsa-a", "RS256", "rsa-a");
    let token = rsa.token(&claims(""));
    eprintln!("RS256 access token: {} bytes", token.len());
    let cached = static_validator(&rsa, true);
    let first = cached.validate_local(&token).expect("token validates");
    assert_eq!(first.source(), Source::Local);
    assert_eq!(
        cached.validate_local(&token).expect("hit").source(),
        Source::Cache,
        "the hit benchmark must measure cache hits"
    );
    {
        let mut g = c.benchmark_group("hit");
        g.throughput(Throughput::Elements(1));
        g.bench_function("RS256_1kB", |b| {
            b.iter(|| cached.validate_local(black_box(&token)))
        });
        g.finish();
    }

    // ---- 2. hit path from 1 vs 2 threads on one shared Validator -------------------------
    let shared = static_validator(&rsa, true);
    let distinct: Vec<String> = (0..2)
        .map(|i| rsa.token(&claims(&format!("thread-{i}"))))
        .collect();
    for t in distinct.iter().chain([&token]) {
        shared.validate_local(t).expect("token validates");
        assert_eq!(
            shared.validate_local(t).expect("hit").source(),
            Source::Cache
        );
    }
    {
        let mut g = c.benchmark_group("hit_threads");
        // 1 and 2 threads of one case run back to back: the background load of a shared
        // machine changes over minutes, and the ratio of the pair is what matters.
        for case in ["distinct", "same"] {
            for threads in [1usize, 2] {
                g.throughput(Throughput::Elements(threads as u64));
                let tokens: Vec<String> = if case == "distinct" {
                    distinct[..threads].to_vec()
                } else {
                    vec![token.clone(); threads]
                };
                g.bench_function(format!("{case}/{threads}"), |b| {
                    b.iter_custom(|iters| parallel_hits(&shared, &tokens, iters))
                });
            }
        }
        g.finish();
    }
    let stats = shared.stats();
    eprintln!(
        "hit_threads validator: cache_hits={} cache_misses={} failed={}",
        stats.cache_hits, stats.cache_misses, stats.validations_failed
    );

    // ---- 3 + 4. cold verify per algorithm, and the raw aws-lc-rs floor ------------------
    let keys = [
        rsa,
        TestKey::rsa("rsa-a", "PS256", "rsa-a"),
        TestKey::ec("ES256", "ec-a"),
        TestKey::ed25519("ed-a"),
    ];
    let hs = TestKey::hmac("HS256");
    let mut cases: Vec<(&'static str, Validator, String)> = keys
        .iter()
        .map(|k| (k.alg, static_validator(k, false), k.token(&claims(""))))
        .collect();
    cases.push(("HS256", hmac_validator(false), hs.token(&claims(""))));
    for (alg, v, t) in &cases {
        let r = v.validate_local(t).expect("token validates");
        assert_eq!(r.source(), Source::Local, "{alg}: cache must be off");
        eprintln!("{alg} token: {} bytes", t.len());
    }
    // The floor of each case: the bare aws-lc-rs check of the same signing input and signature.
    let floors: Vec<Box<dyn Fn() -> bool>> = cases
        .iter()
        .enumerate()
        .map(|(i, (_, _, t))| {
            let (input, sig) = split_signed(t);
            let input = input.to_vec();
            let f: Box<dyn Fn() -> bool> = match keys.get(i) {
                Some(key) => {
                    let verifier = raw_verifier(key);
                    Box::new(move || {
                        verifier
                            .verify_sig(black_box(&input), black_box(&sig))
                            .is_ok()
                    })
                }
                None => {
                    let key = aws_lc_rs::hmac::Key::new(
                        aws_lc_rs::hmac::HMAC_SHA256,
                        hmac_secret().as_bytes(),
                    );
                    Box::new(move || {
                        aws_lc_rs::hmac::verify(&key, black_box(&input), black_box(&sig)).is_ok()
                    })
                }
            };
            assert!(f(), "floor verifies");
            f
        })
        .collect();
    // Each algorithm's cold and floor benchmarks run back to back (the group is reopened per
    // algorithm): on a shared machine the load drifts over minutes, and the ratio of the pair
    // is what matters.
    for ((alg, v, t), floor) in cases.iter().zip(&floors) {
        let mut g = c.benchmark_group("cold");
        g.bench_function(*alg, |b| b.iter(|| v.validate_local(black_box(t))));
        g.finish();
        let mut g = c.benchmark_group("floor");
        g.bench_function(*alg, |b| b.iter(floor));
        g.finish();
    }

    // ---- 5. keyed BLAKE3 of the ~1 KB token (a result-cache key PRF) -----------------------
    {
        let key = [0x5a_u8; 32];
        let mut g = c.benchmark_group("blake3_keyed");
        g.throughput(Throughput::Bytes(token.len() as u64));
        g.bench_function("token_1kB", |b| {
            b.iter(|| blake3::keyed_hash(black_box(&key), black_box(token.as_bytes())))
        });
        g.finish();
        // The other cache-key PRF over the same bytes: aws-lc's HMAC-SHA256, which the core
        // uses where the CPU has SHA extensions.
        let hkey = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
        let mut g = c.benchmark_group("hash_ref");
        g.throughput(Throughput::Bytes(token.len() as u64));
        g.bench_function("hmac_sha256_token_1kB", |b| {
            b.iter(|| aws_lc_rs::hmac::sign(&hkey, black_box(token.as_bytes())))
        });
        g.finish();
    }

    // ---- breakdown: where the cold path's non-crypto time goes (public API only) ---------
    {
        let (_, cold_rs, t) = &cases[0];
        // Same token with one signature character changed (still canonical base64url): full
        // parse + key selection + a failing RSA verify + the error path; no payload work.
        let sig_at = t.rfind('.').expect("compact JWS") + 10;
        let mut bad = t.clone().into_bytes();
        bad[sig_at] = if bad[sig_at] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).expect("ASCII");
        assert!(cold_rs.validate_local(&bad).is_err());
        // Header claims RS384, which the RS256-only key refuses: parse (header JSON and the
        // signature's base64) + key selection + the error path; no crypto at all.
        let (_, rest) = t.split_once('.').expect("compact JWS");
        let header = r#"{"alg":"RS384","kid":"rsa-a","typ":"at+jwt"}"#;
        let wrong_alg = format!("{}.{rest}", b64(header));
        assert!(cold_rs.validate_local(&wrong_alg).is_err());
        // A model of the decode work in plain crates: base64url of all three segments and
        // serde_json of header and payload (the core uses a stricter, duplicate-refusing
        // visitor on top of serde_json, so this is a lower bound).
        let parts: Vec<&str> = t.split('.').collect();

        let mut g = c.benchmark_group("breakdown");
        g.bench_function("RS256_bad_signature", |b| {
            b.iter(|| cold_rs.validate_local(black_box(&bad)))
        });
        g.bench_function("RS256_key_refuses_alg", |b| {
            b.iter(|| cold_rs.validate_local(black_box(&wrong_alg)))
        });
        g.bench_function("model_b64_serde_json", |b| {
            b.iter(|| {
                let h = URL_SAFE_NO_PAD.decode(black_box(parts[0])).expect("b64");
                let p = URL_SAFE_NO_PAD.decode(black_box(parts[1])).expect("b64");
                let s = URL_SAFE_NO_PAD.decode(black_box(parts[2])).expect("b64");
                let hv: serde_json::Map<String, Value> = serde_json::from_slice(&h).expect("json");
                let pv: serde_json::Map<String, Value> = serde_json::from_slice(&p).expect("json");
                (hv, pv, s)
            })
        });
        g.finish();
    }

    // ---- paired ratios (outside criterion's statistics, same run) -------------------------
    if paired_enabled() {
        let mut cold_floor = serde_json::Map::new();
        for ((alg, v, t), floor) in cases.iter().zip(&floors) {
            let cold = || v.validate_local(black_box(t)).is_ok();
            let r = paired_ratio(&cold, &**floor);
            eprintln!("paired cold/floor {alg}: {r}");
            cold_floor.insert((*alg).into(), r);
        }
        let mut scaling = serde_json::Map::new();
        let same = vec![token.clone(); 2];
        for (case, tokens) in [("distinct", &distinct), ("same", &same)] {
            let r = paired_scaling(&shared, tokens);
            eprintln!("paired hit scaling {case}: {r}");
            scaling.insert(case.into(), r);
        }
        // Each candidate cache-key PRF of the token against a whole cache hit (the core picks
        // HMAC-SHA256 on CPUs with SHA extensions, keyed BLAKE3 otherwise).
        let hash_key = [0x5a_u8; 32];
        let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &hash_key);
        let blake = || {
            black_box(blake3::keyed_hash(&hash_key, black_box(token.as_bytes())));
            true
        };
        let hmac = || {
            black_box(aws_lc_rs::hmac::sign(
                &hmac_key,
                black_box(token.as_bytes()),
            ));
            true
        };
        let hit = || cached.validate_local(black_box(&token)).is_ok();
        let blake_share = paired_ratio(&blake, &hit);
        eprintln!("paired blake3/hit: {blake_share}");
        let hmac_share = paired_ratio(&hmac, &hit);
        eprintln!("paired hmac-sha256/hit: {hmac_share}");
        let doc = serde_json::json!({
            "clock": clock_name(),
            "blake3_over_hit": blake_share,
            "hmac_sha256_over_hit": hmac_share,
            "scaling_clock": "wall",
            "cold_over_floor": cold_floor,
            "hit_scaling_2_over_1": scaling,
        });
        let path = criterion_dir().join("jwtgate-paired.json");
        match std::fs::create_dir_all(criterion_dir())
            .and_then(|()| std::fs::write(&path, format!("{doc:#}\n")))
        {
            Ok(()) => eprintln!("paired ratios written to {}", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }
    eprintln!("loadavg at end: {}", load_line());
}

// ---- paired measurement ------------------------------------------------------------------
//
// Criterion measures each benchmark for a few seconds, one after the other; on a 2-core
// machine shared with builds, the background load changes between the two halves of a ratio.
// Here the two sides alternate in short batches (a few ms each, order swapped every round)
// and each round yields one ratio: load that drifts slower than a round cancels out. The
// median and quartiles of the per-round ratios are reported.

const PAIRED_ROUNDS: usize = 101;
/// Wall time aimed at for one batch of one side.
const PAIRED_BATCH: Duration = Duration::from_millis(3);

/// Off in criterion's `--list`/`--test`/`--profile-time` modes, under `cargo test`, and with
/// `JWTGATE_BENCH_PAIRED=0`.
fn paired_enabled() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--list" || a == "--test" || a == "--profile-time")
        && std::env::var("JWTGATE_BENCH_PAIRED").map_or(true, |v| v != "0")
}

/// One batch of `n` calls, timed with the benches' clock (thread CPU time by default).
fn time_batch(f: &dyn Fn() -> bool, n: u64) -> Duration {
    let clock = BenchClock::from_env();
    let start = clock.start();
    for _ in 0..n {
        black_box(f());
    }
    clock.end(start)
}

/// Calls of `f` that take about `PAIRED_BATCH`.
fn batch_size(f: &dyn Fn() -> bool) -> u64 {
    let mut n = 1u64;
    loop {
        let t = time_batch(f, n);
        if t >= PAIRED_BATCH / 8 || n >= 1 << 24 {
            let per_call = t.as_secs_f64() / n as f64;
            return ((PAIRED_BATCH.as_secs_f64() / per_call) as u64).max(1);
        }
        n *= 2;
    }
}

fn summary(mut ratios: Vec<f64>, extra: Value) -> Value {
    ratios.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let mut v = serde_json::json!({
        "median": at(0.5),
        "q1": at(0.25),
        "q3": at(0.75),
        "p90": at(0.9),
        "rounds": ratios.len(),
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}

/// Median over rounds of `time(a) / time(b)` for equal batches.
fn paired_ratio(a: &dyn Fn() -> bool, b: &dyn Fn() -> bool) -> Value {
    let (na, nb) = (batch_size(a), batch_size(b));
    let ratios: Vec<f64> = (0..PAIRED_ROUNDS)
        .map(|round| {
            let (ta, tb) = if round % 2 == 0 {
                let ta = time_batch(a, na);
                (ta, time_batch(b, nb))
            } else {
                let tb = time_batch(b, nb);
                (time_batch(a, na), tb)
            };
            (ta.as_secs_f64() / na as f64) / (tb.as_secs_f64() / nb as f64)
        })
        .collect();
    summary(ratios, serde_json::json!({ "batch_a": na, "batch_b": nb }))
}

/// Median over rounds of the hit throughput on 2 threads over 1 thread (`2 * t1 / t2` for the
/// same number of hits per thread).
fn paired_scaling(validator: &Validator, tokens: &[String]) -> Value {
    let one = &tokens[..1];
    let probe = parallel_hits(validator, one, 10_000);
    let per_hit = probe.as_secs_f64() / 10_000.0;
    let n = ((PAIRED_BATCH.as_secs_f64() / per_hit) as u64).max(1);
    let ratios: Vec<f64> = (0..PAIRED_ROUNDS)
        .map(|round| {
            let (t1, t2) = if round % 2 == 0 {
                let t1 = parallel_hits(validator, one, n);
                (t1, parallel_hits(validator, tokens, n))
            } else {
                let t2 = parallel_hits(validator, tokens, n);
                (parallel_hits(validator, one, n), t2)
            };
            2.0 * t1.as_secs_f64() / t2.as_secs_f64()
        })
        .collect();
    summary(
        ratios,
        serde_json::json!({ "hits_per_thread_per_batch": n }),
    )
}

/// Where criterion writes its results (same rule as criterion: `CRITERION_HOME`, else
/// `CARGO_TARGET_DIR/criterion`, else the workspace's `target/criterion`).
fn criterion_dir() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion")
}

// ---- the clock ---------------------------------------------------------------------------
//
// The machine this runs on has 2 cores shared with other people's builds and tests. Wall time
// then counts the moments our thread sat descheduled, and a ratio of two benchmarks measured
// seconds apart mostly measures how the load changed. So single-threaded benchmarks are timed
// by default with the benchmarking thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`, ns
// resolution): the same as wall time on an idle machine, minus the preemption on a busy one
// (cache and SMT interference from neighbours still count). `JWTGATE_BENCH_CLOCK=wall` gives
// criterion's usual wall clock. The multi-threaded hit benchmark is always wall time.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockKind {
    ThreadCpu,
    Wall,
}

#[derive(Debug)]
struct BenchClock(ClockKind);

static WALL: WallTime = WallTime;

impl BenchClock {
    fn from_env() -> BenchClock {
        let wall = std::env::var("JWTGATE_BENCH_CLOCK").is_ok_and(|v| v == "wall");
        if wall || !cfg!(unix) {
            BenchClock(ClockKind::Wall)
        } else {
            BenchClock(ClockKind::ThreadCpu)
        }
    }

    fn now(&self) -> Duration {
        match self.0 {
            #[cfg(unix)]
            ClockKind::ThreadCpu => {
                use rustix::time::{ClockId, clock_gettime};
                let t = clock_gettime(ClockId::ThreadCPUTime);
                Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
            }
            _ => {
                static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
                EPOCH.get_or_init(Instant::now).elapsed()
            }
        }
    }
}

impl Measurement for BenchClock {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.now()
    }
    fn end(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn clock_name() -> &'static str {
    match BenchClock::from_env().0 {
        ClockKind::ThreadCpu => "thread-cpu",
        ClockKind::Wall => "wall",
    }
}

criterion_group! {
    name = core;
    config = Criterion::default().with_measurement(BenchClock::from_env());
    targets = benches
}
criterion_main!(core);
