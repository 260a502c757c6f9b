//! Time per validation of a cached token: the Rust core called directly, and the same call
//! through the C ABI functions (from Rust, so no compiler or language differs). The C
//! program in benches/go/overhead does the same from C. A measurement, not a test.
//!
//! cargo run --release -p jwtgate-ffi --example overhead -- tests/vectors/valid.json

// Calls the extern "C" functions, which take raw pointers.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::ptr;
use std::time::Instant;

use jwtgate::Validator;
use jwtgate_ffi::{
    jwtgate_claims_free, jwtgate_result, jwtgate_validate, jwtgate_validator_free,
    jwtgate_validator_new,
};

const CALLS: u32 = 2_000_000;
const ROUNDS: usize = 7;

/// Median and minimum nanoseconds per call over ROUNDS rounds of CALLS calls.
fn measure(f: impl FnMut()) -> (f64, f64) {
    measure_n(CALLS, f)
}

fn measure_n(calls: u32, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..calls / 10 {
        f();
    }
    let mut per_call: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(calls)
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    (per_call[ROUNDS / 2], per_call[0])
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/vectors/valid.json".into());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read the vectors"))
            .expect("vector JSON");
    let case = &doc["cases"][0];
    let config = doc["configs"][case["config"].as_str().expect("config name")].to_string();
    let token = case["token"].as_str().expect("token").to_string();

    let core = Validator::from_json(&config).expect("config");
    core.validate_local(&token).expect("the token is valid");
    let (local_median, local_min) = measure(|| {
        black_box(core.validate_local(black_box(&token)).is_ok());
    });
    let (blocking_median, blocking_min) = measure(|| {
        black_box(core.validate_blocking(black_box(&token)).is_ok());
    });

    // Cold: no result cache, so every call verifies the RS256 signature and the claims.
    let mut cold_config: serde_json::Value = serde_json::from_str(&config).expect("config JSON");
    cold_config["cache_max_entries"] = 0.into();
    let cold = Validator::from_json(&cold_config.to_string()).expect("config");
    let (cold_median, cold_min) = measure_n(20_000, || {
        black_box(cold.validate_local(black_box(&token)).is_ok());
    });

    let mut v = ptr::null_mut();
    // SAFETY: valid pointers and lengths; `v` is freed below.
    let r =
        unsafe { jwtgate_validator_new(config.as_ptr(), config.len(), &mut v, ptr::null_mut()) };
    assert_eq!(r, jwtgate_result::JWTGATE_OK);
    let (ffi_median, ffi_min) = measure(|| {
        let mut claims = ptr::null_mut();
        // SAFETY: `v` is live, the token outlives the call, `claims` is freed at once.
        unsafe {
            let r = jwtgate_validate(v, token.as_ptr(), token.len(), &mut claims, ptr::null_mut());
            black_box(r);
            jwtgate_claims_free(claims);
        }
    });
    // SAFETY: created above, freed once.
    unsafe { jwtgate_validator_free(v) };

    println!("cached RS256 token, {CALLS} calls x {ROUNDS} rounds (median / min ns per call)");
    println!("rust core validate_local      {local_median:8.1} / {local_min:8.1}");
    println!("rust core validate_blocking   {blocking_median:8.1} / {blocking_min:8.1}");
    println!("C ABI jwtgate_validate+free   {ffi_median:8.1} / {ffi_min:8.1}   (called from Rust)");
    println!(
        "rust core, cache off (cold)   {cold_median:8.1} / {cold_min:8.1}   (20000 calls x {ROUNDS})"
    );
    println!(
        "C ABI overhead over validate_local: {:.1} ns (median)",
        ffi_median - local_median
    );
}
