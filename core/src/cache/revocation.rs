//! Revocation by `jti` and by subject. Checked on every cache miss (a revoked token can come
//! back as different bytes: ECDSA signatures are malleable, so the hash would differ) and
//! applied to the result cache at once by purging matching entries.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::fleet::{Revocation, RevocationKind};
use crate::validated::Claims;

#[derive(Debug, Default)]
pub(crate) struct Revocations {
    /// jti → Unix seconds after which the entry may be forgotten (`None`: never).
    jtis: RwLock<HashMap<String, Option<f64>>>,
    /// sub → tokens issued at or before this time are revoked.
    subjects: RwLock<HashMap<String, f64>>,
}

impl Revocations {
    pub(crate) fn revoke_jti(&self, jti: &str, until: Option<f64>, now: f64) {
        let mut jtis = self.jtis.write();
        // Forget entries whose tokens have expired anyway, so the table stays small.
        jtis.retain(|_, until| until.is_none_or(|u| u > now));
        // Revoking again never shortens a revocation (`None`, forever, is the longest): the
        // fleet merges entries from many instances, and a weaker copy must not win.
        let entry = jtis.entry(jti.to_owned()).or_insert(until);
        *entry = match (*entry, until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }

    pub(crate) fn revoke_subject(&self, sub: &str, issued_before: f64) {
        let mut subjects = self.subjects.write();
        let entry = subjects.entry(sub.to_owned()).or_insert(issued_before);
        *entry = entry.max(issued_before);
    }

    /// Every entry, for the fleet (written back to Redis when it lacks them).
    pub(crate) fn entries(&self) -> Vec<Revocation> {
        let jtis = self.jtis.read();
        let subjects = self.subjects.read();
        jtis.iter()
            .map(|(id, until)| Revocation {
                kind: RevocationKind::Jti,
                id: id.clone(),
                at: *until,
            })
            .chain(subjects.iter().map(|(id, cutoff)| Revocation {
                kind: RevocationKind::Sub,
                id: id.clone(),
                at: Some(*cutoff),
            }))
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.jtis.read().is_empty() && self.subjects.read().is_empty()
    }

    /// True when the token is revoked. A token of a revoked subject with no `iat` cannot prove
    /// it was issued after the revocation, so it is revoked too.
    pub(crate) fn is_revoked(&self, claims: &Claims, now: f64) -> bool {
        if let Some(jti) = claims.jti() {
            if let Some(until) = self.jtis.read().get(jti) {
                if until.is_none_or(|u| u > now) {
                    return true;
                }
            }
        }
        if let Some(sub) = claims.subject() {
            if let Some(cutoff) = self.subjects.read().get(sub) {
                return claims.issued_at().is_none_or(|iat| iat <= *cutoff);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> Claims {
        let map = v.as_object().cloned().unwrap_or_default();
        Claims::new(&map, v.to_string(), "{}".to_string())
    }

    #[test]
    fn jti_revocations_end_with_their_token_and_never_shorten() {
        let r = Revocations::default();
        let token = claims(json!({"jti": "a", "sub": "s"}));
        r.revoke_jti("a", Some(100.0), 50.0);
        assert!(r.is_revoked(&token, 99.0));
        assert!(!r.is_revoked(&token, 100.0));
        // A shorter copy (from another instance, or a second call) does not shorten it...
        r.revoke_jti("a", Some(60.0), 50.0);
        assert!(r.is_revoked(&token, 99.0));
        // ...and `None` (forever) wins over any end.
        r.revoke_jti("a", None, 50.0);
        r.revoke_jti("a", Some(70.0), 50.0);
        assert!(r.is_revoked(&token, 1e9));
        // Expired entries are forgotten when the table is next written.
        r.revoke_jti("b", Some(10.0), 5.0);
        r.revoke_jti("c", None, 20.0);
        assert!(!r.entries().iter().any(|e| e.id == "b"));
    }

    #[test]
    fn subject_revocations_cover_tokens_issued_before_and_tokens_without_iat() {
        let r = Revocations::default();
        r.revoke_subject("s", 100.0);
        r.revoke_subject("s", 50.0); // an earlier cutoff never un-revokes
        assert!(r.is_revoked(&claims(json!({"sub": "s", "iat": 100})), 0.0));
        assert!(r.is_revoked(&claims(json!({"sub": "s"})), 0.0));
        assert!(!r.is_revoked(&claims(json!({"sub": "s", "iat": 101})), 0.0));
        assert!(!r.is_revoked(&claims(json!({"sub": "t", "iat": 1})), 0.0));
        assert_eq!(r.entries().len(), 1);
    }
}
