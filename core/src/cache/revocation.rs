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
