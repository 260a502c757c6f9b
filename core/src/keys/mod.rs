//! Verification keys: import from JWK (RFC 7517), checked once at load time, and kept parsed
//! and ready to verify.

mod alg;
mod jwk;

pub use alg::Algorithm;
pub(crate) use alg::Family;
pub(crate) use jwk::import_jwks;

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::signature::ParsedPublicKey;

use crate::error::{Error, ErrorKind, Result};

/// Identifies one key by its `kid` and public material (a BLAKE3 digest): the same key in the
/// next JWKS document has the same tag, a withdrawn or replaced one's tag disappears. Cached
/// results remember the tag of the key that verified them (see `cache/mod.rs`).
pub(crate) type KeyTag = u64;

/// One public key, parsed once for every algorithm it may verify.
pub(crate) struct VerifyKey {
    pub kid: Option<String>,
    pub tag: KeyTag,
    /// The allowed algorithms this key may verify, each with its pre-parsed key (aws-lc binds a
    /// parsed RSA key to one padding/digest, so an RSA key without `alg` has up to six).
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<&str> = self.verifiers.iter().map(|(a, _)| a.name()).collect();
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algorithms", &algs)
            .finish()
    }
}

impl VerifyKey {
    pub(crate) fn verifier(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, k)| k)
    }
}

/// An imported key set.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<Arc<VerifyKey>>,
    by_kid: HashMap<String, Vec<usize>>,
}

impl KeySet {
    pub(crate) fn new(keys: Vec<VerifyKey>) -> KeySet {
        let mut by_kid: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = &key.kid {
                by_kid.entry(kid.clone()).or_default().push(i);
            }
        }
        KeySet {
            keys: keys.into_iter().map(Arc::new).collect(),
            by_kid,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn contains_kid(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// The tags of every key in the set.
    pub(crate) fn tags(&self) -> impl Iterator<Item = KeyTag> + '_ {
        self.keys.iter().map(|k| k.tag)
    }

    pub(crate) fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }

    /// Picks the one key that may verify a token with this `kid` and `alg`.
    ///
    /// - With a `kid`: the first key with that kid (document order) that allows `alg`. A kid
    ///   that exists only for other algorithms is an algorithm confusion attempt and fails
    ///   with `algorithm_not_allowed` (RFC 8725 §3.1: the key decides the algorithm).
    /// - Without a `kid`: only when exactly one key allows `alg`; we never try several keys
    ///   in turn (that would multiply the cost of a forged token).
    pub(crate) fn select(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(&ParsedPublicKey, KeyTag)> {
        match kid {
            Some(kid) => {
                let Some(indexes) = self.by_kid.get(kid) else {
                    return Err(Error::new(
                        ErrorKind::KeyNotFound,
                        "no key with the token's kid",
                    ));
                };
                indexes
                    .iter()
                    .find_map(|&i| self.keys[i].verifier(alg).map(|v| (v, self.keys[i].tag)))
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::AlgorithmNotAllowed,
                            format!(
                                "the key with the token's kid does not allow {alg} (RFC 8725 §3.1)"
                            ),
                        )
                    })
            }
            None => {
                let mut found = self
                    .keys
                    .iter()
                    .filter_map(|k| k.verifier(alg).map(|v| (v, k.tag)));
                match (found.next(), found.next()) {
                    (Some(key), None) => Ok(key),
                    (None, _) => Err(Error::new(
                        ErrorKind::KeyNotFound,
                        format!("no key allows {alg}"),
                    )),
                    (Some(_), Some(_)) => Err(Error::new(
                        ErrorKind::KeyNotFound,
                        format!("the token has no kid and several keys allow {alg}"),
                    )),
                }
            }
        }
    }
}
