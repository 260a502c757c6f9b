//! Memory per cached token (issue: "RSS per cached token at 100k and 1M entries").
//!
//! `cargo run --release -p jwtgate-benches --bin memory` validates N distinct realistic access
//! tokens (the claims of `access_token_claims`, a distinct `jti` each; HS256 so that minting a
//! million of them takes seconds, the cached entry is the same for any algorithm) into a
//! validator whose result cache holds them all, and reads the process RSS (/proc/self/statm)
//! before and after. Not a test: it prints what it measured.

use jwtgate::{Audience, Config, Validator};
use jwtgate_testkit::{TestKey, access_token_claims, hmac_secret};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("rss pages");
    pages * 4096
}

fn main() {
    let key = TestKey::hmac("HS256");
    for n in [100_000usize, 1_000_000] {
        let v = Validator::new(Config {
            issuer: "https://issuer.test".into(),
            audience: Some(Audience::One("https://api.test".into())),
            shared_secret: Some(hmac_secret()),
            cache_max_entries: n + n / 10,
            cache_max_ttl: 3600.0,
            ..Config::default()
        })
        .expect("config");
        let mut claims = access_token_claims(
            "https://issuer.test",
            "https://api.test",
            1_767_225_600,
            4_102_444_800,
        );
        // Minted in batches and dropped, so the tokens themselves are not counted.
        let before = rss_bytes();
        let mut token_bytes = 0usize;
        for i in 0..n {
            claims["jti"] = serde_json::json!(format!("jti-{i:010}-4f1b2c3d"));
            let token = key.token(&claims);
            token_bytes += token.len();
            v.validate_local(&token).expect("valid");
        }
        let after = rss_bytes();
        let stats = v.stats();
        assert_eq!(stats.cache_entries, n, "every token cached");
        println!(
            "{n:>9} cached tokens (avg {} bytes): RSS +{:.1} MiB = {:.0} bytes per cached token",
            token_bytes / n,
            (after - before) as f64 / (1 << 20) as f64,
            (after - before) as f64 / n as f64
        );
        drop(v);
    }
}
