//! One error type for every face. Each [`ErrorKind`] has a stable snake_case name and a
//! stable numeric code; codes are allocated in ranges and never reused, so a code that a
//! user's alerting matches on keeps its meaning across releases.
//!
//! | range | family | HTTP status a face should answer |
//! |-------|--------|----------------------------------|
//! | 1000–1399 | the token is bad (RFC 6750 `invalid_token`) | 401 |
//! | 1400–1499 | the token is good but the request's policy refuses it | 403 |
//! | 2000–2999 | the provider or its keys cannot be reached | 503 |
//! | 3000–3999 | the validator's configuration is invalid | 500 |
//! | 9000–9999 | a bug in jwtgate | 500 |
//!
//! Messages never contain the token, key material or secrets: they are safe to log and to
//! return to a client.

use std::fmt;

macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $name:literal), )*) => {
        /// The stable classification of an [`Error`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorKind {
            /// Every kind, in code order (for metrics and for the faces' error tables).
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The stable snake_case name, e.g. `"expired"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorKind::$variant => $name,)* }
            }

            /// The stable numeric code.
            pub const fn code(self) -> u32 {
                match self { $(ErrorKind::$variant => $code,)* }
            }

            /// Looks a kind up by its stable name.
            pub fn from_name(name: &str) -> Option<ErrorKind> {
                match name { $($name => Some(ErrorKind::$variant),)* _ => None }
            }

            /// Position in [`ErrorKind::ALL`], used to index per-kind counters.
            pub(crate) const fn index(self) -> usize {
                self as usize
            }
        }
    };
}

error_kinds! {
    /// Not a well-formed compact JWS: structure, base64url, JSON, duplicate members, depth.
    Malformed = (1000, "malformed"),
    /// Longer than `max_token_bytes`.
    TokenTooLarge = (1001, "token_too_large"),
    /// Not a JWT, and no introspection endpoint is configured to check it.
    UnsupportedToken = (1002, "unsupported_token"),
    /// A header parameter we refuse: `crit` (RFC 7515 §4.1.11), `b64` (RFC 7797).
    UnsupportedHeader = (1003, "unsupported_header"),
    /// The request carries no bearer token at all (raised by the faces' HTTP integrations;
    /// RFC 6750 §3.1: answer with a bare `Bearer` challenge, no error code).
    MissingToken = (1004, "missing_token"),
    /// The `Authorization` header names the Bearer scheme but its credentials are not an
    /// RFC 6750 §2.1 `b64token` (raised by [`crate::edge::bearer_token`]; RFC 6750 §3.1:
    /// 400 `invalid_request`).
    InvalidRequest = (1005, "invalid_request"),
    /// `alg` is `none`, not on the allowlist, or not the algorithm of the key (RFC 8725 §3.1).
    AlgorithmNotAllowed = (1100, "algorithm_not_allowed"),
    /// No key in the key set matches the token's `kid` and algorithm.
    KeyNotFound = (1101, "key_not_found"),
    /// The signature does not verify.
    SignatureInvalid = (1102, "signature_invalid"),
    /// `exp` has passed (RFC 7519 §4.1.4).
    Expired = (1200, "expired"),
    /// `nbf` is in the future (RFC 7519 §4.1.5).
    NotYetValid = (1201, "not_yet_valid"),
    /// `iat` is in the future.
    IssuedInFuture = (1202, "issued_in_future"),
    /// `iat` is older than `max_token_age`.
    TokenTooOld = (1203, "token_too_old"),
    /// `iss` is not the configured issuer.
    IssuerMismatch = (1204, "issuer_mismatch"),
    /// `aud` names none of the configured audiences.
    AudienceMismatch = (1205, "audience_mismatch"),
    /// A required claim is absent.
    MissingClaim = (1206, "missing_claim"),
    /// A registered claim has the wrong JSON type or an impossible value.
    InvalidClaim = (1207, "invalid_claim"),
    /// The `typ` header is not the configured `token_type` (RFC 8725 §3.11, RFC 9068 §4).
    TokenTypeMismatch = (1208, "token_type_mismatch"),
    /// Revoked by `jti` or by subject.
    Revoked = (1300, "revoked"),
    /// The introspection endpoint answered `active: false` (RFC 7662 §2.2).
    Inactive = (1301, "inactive"),
    /// The token is valid but lacks a scope the request requires (RFC 6750 §3.1).
    InsufficientScope = (1400, "insufficient_scope"),
    /// The key set could not be fetched and no usable cached copy exists.
    JwksUnavailable = (2000, "jwks_unavailable"),
    /// The provider (introspection, discovery) cannot be reached or its circuit is open.
    ProviderUnavailable = (2001, "provider_unavailable"),
    /// A synchronous, network-free call needed keys that are not loaded yet.
    KeysNotLoaded = (2002, "keys_not_loaded"),
    /// Invalid configuration; the message names the field.
    Config = (3000, "config"),
    /// A bug in jwtgate. Please report it.
    Internal = (9000, "internal"),
}

impl ErrorKind {
    /// What an HTTP integration tells the client in place of the message, for kinds whose
    /// message is for operators only: an unreachable provider's message names its URL, the OS
    /// error or a credentials hint, which must not reach an unauthenticated client (CWE-209);
    /// the message goes to the log instead. `None`: the message is about the token and safe
    /// to return (it never contains the token, and quoted input is bounded).
    pub const fn client_description(self) -> Option<&'static str> {
        match self.code() {
            2000..=2999 => Some("the authorization server is unavailable; retry later"),
            3000..=9999 => Some("the token could not be checked"),
            _ => None,
        }
    }

    /// The HTTP status a resource server should answer with.
    pub const fn http_status(self) -> u16 {
        match self.code() {
            1005 => 400,
            1000..=1399 => 401,
            1400..=1499 => 403,
            2000..=2999 => 503,
            _ => 500,
        }
    }

    /// The OAuth error code of an answer (RFC 6750 §3.1, RFC 6749 §4.1.2.1); `None` for a
    /// request without credentials, which gets a bare challenge.
    pub const fn oauth_error(self) -> Option<&'static str> {
        match self.code() {
            1004 => None,
            1005 => Some("invalid_request"),
            1000..=1399 => Some("invalid_token"),
            1400..=1499 => Some("insufficient_scope"),
            2000..=2999 => Some("temporarily_unavailable"),
            _ => Some("server_error"),
        }
    }

    /// The error class every face raises for this kind, one name per class of the faces'
    /// hierarchies (Python `MalformedTokenError`, Node `MalformedTokenError`, Go's
    /// `ErrMalformed` group, ...): the faces build their tables from this, so a kind cannot
    /// land in different families in different languages.
    ///
    /// | class | kinds | base class |
    /// |---|---|---|
    /// | `malformed` | malformed, token_too_large, unsupported_token, unsupported_header, invalid_request | `invalid_token` |
    /// | `invalid_token` | missing_token | — |
    /// | `signature` | algorithm_not_allowed, key_not_found, signature_invalid | `invalid_token` |
    /// | `expired` | expired | `invalid_token` |
    /// | `invalid_claims` | not_yet_valid … token_type_mismatch | `invalid_token` |
    /// | `revoked` | revoked, inactive | `invalid_token` |
    /// | `insufficient_scope` | insufficient_scope | — |
    /// | `provider_unavailable` | jwks_unavailable, provider_unavailable | — |
    /// | `keys_not_loaded` | keys_not_loaded | `provider_unavailable` |
    /// | `config` | config | — |
    /// | `internal` | internal | — |
    pub const fn class(self) -> &'static str {
        match self {
            ErrorKind::Malformed
            | ErrorKind::TokenTooLarge
            | ErrorKind::UnsupportedToken
            | ErrorKind::UnsupportedHeader
            | ErrorKind::InvalidRequest => "malformed",
            ErrorKind::MissingToken => "invalid_token",
            ErrorKind::AlgorithmNotAllowed
            | ErrorKind::KeyNotFound
            | ErrorKind::SignatureInvalid => "signature",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid
            | ErrorKind::IssuedInFuture
            | ErrorKind::TokenTooOld
            | ErrorKind::IssuerMismatch
            | ErrorKind::AudienceMismatch
            | ErrorKind::MissingClaim
            | ErrorKind::InvalidClaim
            | ErrorKind::TokenTypeMismatch => "invalid_claims",
            ErrorKind::Revoked | ErrorKind::Inactive => "revoked",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::JwksUnavailable | ErrorKind::ProviderUnavailable => "provider_unavailable",
            ErrorKind::KeysNotLoaded => "keys_not_loaded",
            ErrorKind::Config => "config",
            ErrorKind::Internal => "internal",
        }
    }

    /// True for faults of the token itself (RFC 6750 `invalid_token`).
    pub const fn is_token_fault(self) -> bool {
        matches!(self.code(), 1000..=1399)
    }

    /// True when the provider or its keys could not be reached: retrying later may succeed.
    pub const fn is_unavailable(self) -> bool {
        matches!(self.code(), 2000..=2999)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A jwtgate error: a stable [`ErrorKind`] and a human-readable message that never contains
/// the token or key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> u32 {
        self.kind.code()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Malformed, message)
    }

    pub(crate) fn config(field: &str, problem: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Config, format!("{field}: {problem}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_unique_and_round_trip() {
        let mut codes = std::collections::HashSet::new();
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert!(codes.insert(kind.code()), "duplicate code {}", kind.code());
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(*kind));
        }
        assert_eq!(ErrorKind::from_name("nope"), None);
    }

    #[test]
    fn statuses_follow_the_ranges() {
        assert_eq!(ErrorKind::Expired.http_status(), 401);
        assert_eq!(ErrorKind::InsufficientScope.http_status(), 403);
        assert_eq!(ErrorKind::JwksUnavailable.http_status(), 503);
        assert_eq!(ErrorKind::Config.http_status(), 500);
        assert!(ErrorKind::Revoked.is_token_fault());
        assert!(!ErrorKind::InsufficientScope.is_token_fault());
    }
}
