//! Cold-path profile target: `valgrind --tool=callgrind target/release/profile_cold` counts
//! instructions (repeatable on a busy machine, unlike wall time) for N cold RS256 validations.

use jwtgate::{Audience, Config, Validator};
use jwtgate_testkit::{TestKey, access_token_claims, jwks};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let alg = std::env::args().nth(2).unwrap_or_else(|| "RS256".into());
    let key = match alg.as_str() {
        "ES256" => TestKey::ec("ES256", "k"),
        _ => TestKey::rsa("rsa-a", "RS256", "k"),
    };
    let v = Validator::new(Config {
        issuer: "https://issuer.test".into(),
        audience: Some(Audience::One("https://api.test".into())),
        jwks: Some(jwks(&[&key])),
        cache_max_entries: 0,
        ..Config::default()
    })
    .expect("config");
    let token = key.token(&access_token_claims(
        "https://issuer.test",
        "https://api.test",
        1_767_225_600,
        4_102_444_800,
    ));
    for _ in 0..n {
        v.validate_local(&token).expect("valid");
    }
}
