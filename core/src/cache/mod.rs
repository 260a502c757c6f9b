//! The result cache: validated tokens remembered under a secret-keyed hash of their bytes.
//!
//! - The key is a PRF of the token under a random per-validator key (`prf.rs`: keyed BLAKE3,
//!   or HMAC-SHA256 where the CPU has SHA extensions): the raw token is never stored, and
//!   nobody can aim collisions at an entry. We keep 128 bits: a collision needs ~2^64 entries.
//! - An entry lives until `min(exp + leeway, iat + max_token_age + leeway, now + cache_max_ttl)`
//!   (`claims::TimeBounds::cache_until`); failures are never stored.
//! - An entry is bound to the key that verified it: when a JWKS refresh withdraws that key, its
//!   entries are purged ([`ResultCache::purge_keys`]). A compromised key is exactly the one a
//!   provider withdraws; it must stop validating at the refresh, not `cache_max_ttl` later.
//! - 64 shards, each behind its own `RwLock`: a hit takes one shared lock on one shard, so
//!   there is no global lock on the hit path.
//! - Bounded: a full shard first drops expired entries, then evicts oldest-first (FIFO).
//!   Tokens are short-lived and mostly seen in bursts after issue, so the oldest entry is
//!   the one least likely to be asked for again; FIFO needs no bookkeeping on a hit.

mod prf;
pub(crate) mod revocation;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::keys::KeyTag;
use crate::validated::{Source, Validated};

const SHARDS: usize = 64;

/// The cache key: 128 bits of the token's keyed PRF (`prf.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenHash(u128);

/// The key is already a keyed PRF output: hashing it again would only cost time.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(buf);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type Map = HashMap<TokenHash, Entry, BuildHasherDefault<IdentityHasher>>;

#[derive(Debug)]
struct Entry {
    validated: Validated,
    /// Unix seconds after which the entry is dead: min(exp + leeway, stored + max_ttl).
    valid_until: f64,
    /// `nbf - leeway`, re-checked on every hit.
    not_before: Option<f64>,
    /// The remote key that verified the token (`None`: static keys, HMAC, introspection).
    key: Option<KeyTag>,
}

#[derive(Debug, Default)]
struct Shard {
    map: Map,
    order: VecDeque<TokenHash>,
    last_sweep: f64,
}

#[repr(align(128))]
#[derive(Debug, Default)]
struct PaddedShard(RwLock<Shard>);

pub(crate) struct ResultCache {
    prf: prf::TokenPrf,
    shards: Box<[PaddedShard]>,
    shard_capacity: usize,
    max_ttl: f64,
    /// Bumped by every revocation; an insert computed before a revocation is dropped.
    epoch: AtomicU64,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("prf", &self.prf)
            .field("shard_capacity", &self.shard_capacity)
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl ResultCache {
    /// `max_entries == 0` turns the cache off.
    pub(crate) fn new(max_entries: usize, max_ttl: f64) -> ResultCache {
        ResultCache {
            // A fresh secret per validator: entries cannot be predicted or shared across processes.
            prf: prf::TokenPrf::new(),
            shards: (0..SHARDS).map(|_| PaddedShard::default()).collect(),
            shard_capacity: max_entries.div_ceil(SHARDS),
            max_ttl,
            epoch: AtomicU64::new(0),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.shard_capacity > 0 && self.max_ttl > 0.0
    }

    pub(crate) fn hash(&self, token: &str) -> TokenHash {
        TokenHash(self.prf.hash128(token.as_bytes()))
    }

    fn shard(&self, h: TokenHash) -> &RwLock<Shard> {
        // The hash is uniform; the top bits pick the shard, the low bits feed the map.
        &self.shards[(h.0 >> 122) as usize % SHARDS].0
    }

    /// The hit path: one shared lock, one lookup, two comparisons.
    pub(crate) fn get(&self, h: TokenHash, now: f64) -> Option<Validated> {
        let shard = self.shard(h).read();
        let entry = shard.map.get(&h)?;
        if now >= entry.valid_until || entry.not_before.is_some_and(|nb| now < nb) {
            return None;
        }
        let mut v = entry.validated.clone();
        v.source = Source::Cache;
        Some(v)
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Stores a result computed when the epoch was `epoch`. `valid_until` is already capped by
    /// `exp`; here it is capped by `max_ttl` too.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &self,
        h: TokenHash,
        validated: Validated,
        valid_until: f64,
        not_before: Option<f64>,
        key: Option<KeyTag>,
        now: f64,
        epoch: u64,
    ) {
        if !self.enabled() {
            return;
        }
        let valid_until = valid_until.min(now + self.max_ttl);
        if valid_until <= now {
            return;
        }
        let mut shard = self.shard(h).write();
        // Checked under the shard lock: a revocation bumps the epoch before it purges the
        // shards, so either we see the new epoch here or the purge sees our entry.
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if shard.map.len() >= self.shard_capacity {
            shard.make_room(self.shard_capacity, now);
        }
        let entry = Entry {
            validated,
            valid_until,
            not_before,
            key,
        };
        if shard.map.insert(h, entry).is_none() {
            shard.order.push_back(h);
        }
    }

    /// Removes every entry whose claims match, after bumping the epoch (see `insert`).
    pub(crate) fn purge(&self, mut revoked: impl FnMut(&Validated) -> bool) -> usize {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.0.write();
            let before = shard.map.len();
            shard.map.retain(|_, e| !revoked(&e.validated));
            removed += before - shard.map.len();
        }
        removed
    }

    /// Removes every entry verified by one of `withdrawn` (after bumping the epoch, so that a
    /// validation that used the old key set and finishes later cannot store its result).
    pub(crate) fn purge_keys(&self, withdrawn: &[KeyTag]) -> usize {
        if withdrawn.is_empty() {
            return 0;
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.0.write();
            let before = shard.map.len();
            shard
                .map
                .retain(|_, e| e.key.is_none_or(|k| !withdrawn.contains(&k)));
            removed += before - shard.map.len();
        }
        removed
    }

    /// Removes every entry (after bumping the epoch, so that no validation in flight can
    /// store a result computed before the clear).
    pub(crate) fn clear(&self) -> usize {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.0.write();
            removed += shard.map.len();
            shard.map.clear();
            shard.order.clear();
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.read().map.len()).sum()
    }
}

impl Shard {
    fn make_room(&mut self, capacity: usize, now: f64) {
        // Sweep expired entries at most once a second per shard: O(n), so not on every insert.
        if now - self.last_sweep >= 1.0 {
            self.last_sweep = now;
            self.map.retain(|_, e| now < e.valid_until);
            let map = &self.map;
            self.order.retain(|h| map.contains_key(h));
        }
        while self.map.len() >= capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.map.remove(&oldest);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::validated::Claims;

    fn validated(sub: &str) -> Validated {
        let mut m = serde_json::Map::new();
        m.insert("sub".into(), sub.into());
        let m_json = serde_json::Value::Object(m.clone()).to_string();
        Validated {
            claims: Arc::new(Claims::new(&m, m_json, String::new())),
            source: Source::Local,
            expires_at: None,
            introspected: false,
        }
    }

    #[test]
    fn hit_until_valid_until_then_miss() {
        let c = ResultCache::new(100, 300.0);
        let h = c.hash("token");
        assert_ne!(h, c.hash("token2"));
        c.insert(h, validated("a"), 110.0, None, None, 100.0, c.epoch());
        assert_eq!(c.get(h, 109.9).unwrap().source(), Source::Cache);
        assert!(c.get(h, 110.0).is_none());
    }

    #[test]
    fn max_ttl_caps_lifetime_and_nbf_is_rechecked() {
        let c = ResultCache::new(100, 5.0);
        let h = c.hash("t");
        c.insert(
            h,
            validated("a"),
            1000.0,
            Some(101.0),
            None,
            100.0,
            c.epoch(),
        );
        assert!(c.get(h, 100.5).is_none(), "before nbf");
        assert!(c.get(h, 102.0).is_some());
        assert!(c.get(h, 105.0).is_none(), "past max_ttl");
    }

    #[test]
    fn bounded_with_fifo_eviction() {
        let c = ResultCache::new(SHARDS * 2, 300.0);
        for i in 0..10_000 {
            c.insert(
                c.hash(&format!("t{i}")),
                validated("a"),
                1000.0,
                None,
                None,
                100.0,
                c.epoch(),
            );
        }
        assert!(c.len() <= SHARDS * 2);
        assert!(c.get(c.hash("t9999"), 100.0).is_some(), "newest survives");
        assert!(c.get(c.hash("t0"), 100.0).is_none(), "oldest evicted");
    }

    #[test]
    fn stale_epoch_insert_is_dropped_and_purge_removes() {
        let c = ResultCache::new(100, 300.0);
        let epoch = c.epoch();
        let h = c.hash("x");
        c.insert(h, validated("bob"), 1000.0, None, None, 100.0, epoch);
        assert_eq!(c.purge(|v| v.claims().subject() == Some("bob")), 1);
        c.insert(h, validated("bob"), 1000.0, None, None, 100.0, epoch);
        assert!(
            c.get(h, 100.0).is_none(),
            "insert from before the revocation must not land"
        );
    }

    #[test]
    fn withdrawn_keys_take_their_entries_with_them() {
        let c = ResultCache::new(100, 300.0);
        let epoch = c.epoch();
        let (old, kept) = (c.hash("by-old-key"), c.hash("by-kept-key"));
        c.insert(old, validated("a"), 1000.0, None, Some(1), 100.0, epoch);
        c.insert(kept, validated("b"), 1000.0, None, Some(2), 100.0, epoch);
        assert_eq!(c.purge_keys(&[1]), 1);
        assert!(c.get(old, 100.0).is_none());
        assert!(c.get(kept, 100.0).is_some());
        // A validation that verified with the old key before the purge cannot land after it.
        c.insert(old, validated("a"), 1000.0, None, Some(1), 100.0, epoch);
        assert!(c.get(old, 100.0).is_none());
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let c = ResultCache::new(0, 300.0);
        let h = c.hash("x");
        c.insert(h, validated("a"), 1000.0, None, None, 100.0, c.epoch());
        assert!(c.get(h, 100.0).is_none());
    }
}
