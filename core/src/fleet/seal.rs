//! Names and seals: how the fleet keys and authenticates what it keeps in Redis.
//!
//! Whoever can write to Redis must not be able to make an instance accept a token, and
//! whoever can read it must not learn a token. So:
//! - every key that depends on a token is an HMAC of it under a key derived from
//!   `fleet_secret` (never the token, never an unkeyed hash a reader could confirm a guess
//!   against);
//! - every value is sealed: `version | expires_at | payload | tag`, where the tag is
//!   HMAC-SHA256 under a second derived key over the Redis key, the expiry and the payload.
//!   A value moved to another key, given a later expiry or edited fails the check and is
//!   treated as a miss (and counted as `redis_tampered`).
//!
//! The two keys are derived separately (HMAC of the secret with distinct labels) so that a
//! name can never double as a tag.

use aws_lc_rs::{constant_time, hmac};

/// First byte of every sealed value: lets a later format coexist with this one.
const VERSION: u8 = 1;
const TAG_LEN: usize = 32;
/// Hex digits of a token's name: 128 bits.
const NAME_HEX: usize = 32;

pub(crate) struct Keys {
    names: hmac::Key,
    values: hmac::Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// Why a sealed value was not returned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unsealed {
    /// Authentic and still valid: the payload.
    Valid(Vec<u8>),
    /// Authentic but past its expiry (Redis had not dropped it yet).
    Expired,
    /// Not written by an instance holding `fleet_secret` for this key: never used.
    Tampered,
}

impl Keys {
    pub(crate) fn new(secret: &[u8]) -> Keys {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derive =
            |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&root, label).as_ref());
        Keys {
            names: derive(b"jwtgate fleet v1: key names"),
            values: derive(b"jwtgate fleet v1: value tags"),
        }
    }

    /// A keyed name for `parts` (128 bits, hex). Parts are length-prefixed so that no two
    /// different lists give the same input.
    pub(crate) fn name(&self, parts: &[&[u8]]) -> String {
        let mut ctx = hmac::Context::with_key(&self.names);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let tag = ctx.sign();
        let mut out = String::with_capacity(NAME_HEX);
        for byte in &tag.as_ref()[..NAME_HEX / 2] {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    fn tag(&self, key: &str, expires_at: f64, payload: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.values);
        ctx.update(&[VERSION]);
        ctx.update(&(key.len() as u64).to_be_bytes());
        ctx.update(key.as_bytes());
        ctx.update(&expires_at.to_be_bytes());
        ctx.update(payload);
        ctx.sign()
    }

    /// Seals `payload` for `key` until `expires_at` (Unix seconds; infinity: no expiry).
    pub(crate) fn seal(&self, key: &str, expires_at: f64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 + payload.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&expires_at.to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(self.tag(key, expires_at, payload).as_ref());
        out
    }

    /// Checks a value read from `key` (constant-time tag comparison).
    pub(crate) fn open(&self, key: &str, sealed: &[u8], now: f64) -> Unsealed {
        if sealed.len() < 1 + 8 + TAG_LEN || sealed[0] != VERSION {
            return Unsealed::Tampered;
        }
        let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&body[1..9]);
        let expires_at = f64::from_be_bytes(expiry);
        let payload = &body[9..];
        let expected = self.tag(key, expires_at, payload);
        if constant_time::verify_slices_are_equal(expected.as_ref(), tag).is_err()
            || expires_at.is_nan()
        {
            return Unsealed::Tampered;
        }
        if now >= expires_at {
            return Unsealed::Expired;
        }
        Unsealed::Valid(payload.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_sealed_value_opens_only_where_and_when_it_was_sealed() {
        let keys = Keys::new(SECRET);
        let sealed = keys.seal("k1", 100.0, b"payload");
        assert_eq!(
            keys.open("k1", &sealed, 50.0),
            Unsealed::Valid(b"payload".to_vec())
        );
        assert_eq!(keys.open("k1", &sealed, 100.0), Unsealed::Expired);
        // Moved to another key.
        assert_eq!(keys.open("k2", &sealed, 50.0), Unsealed::Tampered);
        // Another secret.
        assert_eq!(
            Keys::new(b"another secret, also 32 bytes long").open("k1", &sealed, 50.0),
            Unsealed::Tampered
        );
        // Every single-byte edit: payload, expiry, tag, version.
        for i in 0..sealed.len() {
            let mut edited = sealed.clone();
            edited[i] ^= 0x01;
            assert_eq!(
                keys.open("k1", &edited, 50.0),
                Unsealed::Tampered,
                "byte {i}"
            );
        }
        // Truncated, empty, garbage.
        assert_eq!(
            keys.open("k1", &sealed[..sealed.len() - 1], 50.0),
            Unsealed::Tampered
        );
        assert_eq!(keys.open("k1", b"", 50.0), Unsealed::Tampered);
        // A later expiry with the old tag.
        let mut extended = sealed.clone();
        extended[1..9].copy_from_slice(&1e12f64.to_be_bytes());
        assert_eq!(keys.open("k1", &extended, 150.0), Unsealed::Tampered);
    }

    #[test]
    fn names_are_keyed_and_unambiguous() {
        let keys = Keys::new(SECRET);
        let a = keys.name(&[b"intro", b"https://issuer", b"token"]);
        assert_eq!(a.len(), NAME_HEX);
        assert_eq!(a, keys.name(&[b"intro", b"https://issuer", b"token"]));
        // Moving bytes between parts changes the name.
        assert_ne!(a, keys.name(&[b"intro", b"https://issuertoken", b""]));
        assert_ne!(
            a,
            Keys::new(b"another secret, also 32 bytes long").name(&[
                b"intro",
                b"https://issuer",
                b"token"
            ])
        );
    }
}
