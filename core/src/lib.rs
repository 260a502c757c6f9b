//! jwtgate: bearer-token validation for APIs behind an OpenID Connect / OAuth 2 provider.
//!
//! A [`Validator`] checks a token's signature and claims locally with keys it caches per
//! issuer, remembers verified tokens under a secret-keyed hash, and keeps working while the
//! provider is down. Every language face (Python, Node, C, Go) is a thin layer over this
//! crate: one configuration schema ([`Config`]), one error taxonomy ([`ErrorKind`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), jwtgate::Error> {
//! let validator = jwtgate::Validator::from_json(r#"{
//!     "issuer": "https://id.example.com",
//!     "audience": "https://api.example.com",
//!     "token_type": "at+jwt"
//! }"#)?;
//! validator.ready().await?;
//! let validated = validator.validate("eyJ...").await?;
//! println!("sub = {:?}", validated.claims().subject());
//! # Ok(()) }
//! ```

pub mod admin;
mod cache;
mod claims;
pub mod config;
mod discovery;
pub mod edge;
mod error;
pub mod events;
mod fleet;
mod http;
mod introspect;
mod json;
mod jwks;
mod keys;
mod latency;
pub mod metrics;
mod runtime;
mod stats;
#[doc(hidden)]
pub mod testing;
mod token;
mod validated;
mod validator;

pub use config::{Audience, ClientAuth, Config, IssuerConfig, Mode};
pub use error::{Error, ErrorKind, Result};
pub use fleet::{FleetHealth, FleetStats, after_fork};
pub use http::breaker::{BreakerHealth, BreakerState};
pub use introspect::IntrospectionHealth;
pub use jwks::JwksHealth;
pub use keys::Algorithm;
pub use latency::{
    EndpointLatency, HIT_SAMPLE, HistogramSnapshot, LatencySnapshot, PROVIDER_BUCKETS_NS,
    PathLatency, VALIDATION_BUCKETS_NS,
};
pub use stats::StatsSnapshot;
pub use validated::{Claims, Source, Validated};
pub use validator::{Health, IssuerHealth, Validator};

/// The crate version, as every face reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
