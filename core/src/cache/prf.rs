//! The keyed hash that names a token in the result cache: a PRF under a random per-validator
//! key, so the raw token is never stored and nobody can aim collisions at an entry.
//!
//! Which PRF is fastest depends on the CPU, and the hit path is mostly this hash (about half of
//! a 1 KB hit). Keyed BLAKE3 needs no special instructions (1.0 µs per KB against 3.4 µs for
//! plain SHA-256 on a CPU without SHA extensions, NOTES.md); where the CPU has SHA extensions
//! (x86 SHA-NI, Armv8 SHA2), aws-lc's HMAC-SHA256 is faster (measured here on an EPYC with
//! SHA-NI: 0.8 µs against 1.2 µs for keyed BLAKE3 on the same 1 KB token,
//! `benches/CORE.md`). Both are keyed PRFs with 256-bit keys; we keep 128 bits of output.

use aws_lc_rs::hmac;

// One per validator, so its size does not matter; boxing the HMAC key would add a pointer
// chase to every cache lookup.
#[allow(clippy::large_enum_variant)]
pub(crate) enum TokenPrf {
    Blake3([u8; 32]),
    HmacSha256(hmac::Key),
}

impl std::fmt::Debug for TokenPrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl TokenPrf {
    /// A fresh random key, with the faster PRF for this CPU.
    pub(crate) fn new() -> TokenPrf {
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).expect("the system RNG failed");
        if cpu_has_sha_extensions() {
            TokenPrf::HmacSha256(hmac::Key::new(hmac::HMAC_SHA256, &key))
        } else {
            TokenPrf::Blake3(key)
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            TokenPrf::Blake3(_) => "keyed-blake3",
            TokenPrf::HmacSha256(_) => "hmac-sha256",
        }
    }

    /// The first 128 bits of the PRF of `bytes`.
    #[inline]
    pub(crate) fn hash128(&self, bytes: &[u8]) -> u128 {
        let mut first = [0u8; 16];
        match self {
            TokenPrf::Blake3(key) => {
                first.copy_from_slice(&blake3::keyed_hash(key, bytes).as_bytes()[..16])
            }
            TokenPrf::HmacSha256(key) => {
                first.copy_from_slice(&hmac::sign(key, bytes).as_ref()[..16])
            }
        }
        u128::from_le_bytes(first)
    }
}

fn cpu_has_sha_extensions() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("sha2")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_prfs_are_keyed_and_deterministic() {
        let key = [7u8; 32];
        for prf in [
            TokenPrf::Blake3(key),
            TokenPrf::HmacSha256(hmac::Key::new(hmac::HMAC_SHA256, &key)),
        ] {
            assert_eq!(
                prf.hash128(b"token"),
                prf.hash128(b"token"),
                "{}",
                prf.name()
            );
            assert_ne!(
                prf.hash128(b"token"),
                prf.hash128(b"token2"),
                "{}",
                prf.name()
            );
        }
        // Two validators never share keys.
        assert_ne!(
            TokenPrf::new().hash128(b"token"),
            TokenPrf::new().hash128(b"token")
        );
    }
}
