//! JWK import (RFC 7517, RFC 7518 §6, RFC 8037 §2). Every check happens here, once, when a key
//! set is loaded; verification then only looks keys up.

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use serde_json::{Map, Value};

use super::VerifyKey;
use super::alg::{Algorithm, Curve, Family};
use crate::token::{MAX_KID_BYTES, b64};

/// RSA moduli below this are refused (RFC 7518 §3.3 and §3.5 require 2048 bits).
const MIN_RSA_BITS: usize = 2048;
/// Larger moduli make every verification slow (a cheap DoS) and aws-lc refuses them anyway.
const MAX_RSA_BITS: usize = 8192;
/// More keys than this in one document is not a real provider.
const MAX_KEYS: usize = 100;

/// A key that was refused, with why. Keys that are simply not for us (encryption keys,
/// algorithms we do not allow) are skipped silently instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRejection {
    pub index: usize,
    pub kid: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for KeyRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kid {
            Some(kid) => write!(
                f,
                "key {} (kid {:?}): {}",
                self.index,
                crate::token::truncate(kid),
                self.reason
            ),
            None => write!(f, "key {}: {}", self.index, self.reason),
        }
    }
}

/// Imports every usable key of a JWKS document. Fails only when the document itself is not a
/// JWKS; bad keys come back as rejections so that one broken key does not take down the rest.
pub(crate) fn import_jwks(
    doc: &Map<String, Value>,
    allowed: &[Algorithm],
) -> Result<(Vec<VerifyKey>, Vec<KeyRejection>), String> {
    let Some(Value::Array(keys)) = doc.get("keys") else {
        return Err("not a JWKS: no \"keys\" array (RFC 7517 §5)".to_string());
    };
    if keys.len() > MAX_KEYS {
        return Err(format!("more than {MAX_KEYS} keys"));
    }
    let mut imported = Vec::new();
    let mut rejected = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let kid = key.get("kid").and_then(Value::as_str).map(str::to_owned);
        match import_key(key, allowed) {
            Ok(Some(k)) => imported.push(k),
            Ok(None) => {}
            Err(reason) => rejected.push(KeyRejection { index, kid, reason }),
        }
    }
    Ok((imported, rejected))
}

/// `Ok(None)`: a valid key that is not for verifying our tokens.
fn import_key(key: &Value, allowed: &[Algorithm]) -> Result<Option<VerifyKey>, String> {
    let Value::Object(jwk) = key else {
        return Err("not a JSON object".into());
    };
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= MAX_KID_BYTES => Some(k.clone()),
        Some(Value::String(_)) => return Err(format!("kid longer than {MAX_KID_BYTES} bytes")),
        Some(_) => return Err("kid is not a string".into()),
    };
    // A published private key is a provider bug; using it would still "work", which is
    // exactly why it must not (RFC 7517 §9.2 / RFC 7518 §6.3.2, §6.2.2, §6.4).
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        if jwk.contains_key(private) {
            return Err(format!(
                "contains private or secret key material ({private:?})"
            ));
        }
    }
    let kty = string_member(jwk, "kty")?.ok_or("no kty")?;
    // RFC 7517 §4.2: `use` other than "sig" means the key is not for signatures.
    match string_member(jwk, "use")? {
        None | Some("sig") => {}
        Some(_) => return Ok(None),
    }
    // RFC 7517 §4.3: with `key_ops`, the key may only be used for the listed operations.
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array().ok_or("key_ops is not an array")?;
        if ops.iter().any(|o| !o.is_string()) {
            return Err("key_ops has a non-string entry".into());
        }
        if !ops.iter().any(|o| o == "verify") {
            return Ok(None);
        }
    }
    let declared_alg = match string_member(jwk, "alg")? {
        None => None,
        Some(name) => match Algorithm::from_name(name) {
            Some(alg) => Some(alg),
            // An algorithm we do not implement (RSA-OAEP, ES256K, ...): not our key.
            None => return Ok(None),
        },
    };
    let family = match kty {
        "RSA" => Family::Rsa,
        "EC" => {
            let crv = string_member(jwk, "crv")?.ok_or("EC key without crv")?;
            match Curve::from_name(crv) {
                Some(c) => Family::Ec(c),
                None => return Ok(None),
            }
        }
        "OKP" => match string_member(jwk, "crv")?.ok_or("OKP key without crv")? {
            "Ed25519" => Family::Okp,
            _ => return Ok(None),
        },
        // RFC 8725 §3.1 / CVE-2016-10555: HMAC keys from a key set let anyone who can read the
        // set (or swap it) mint tokens. Symmetric keys come from `shared_secret` only.
        "oct" => {
            return Err(
                "symmetric (oct) keys are never taken from a JWKS; use shared_secret".into(),
            );
        }
        _ => return Ok(None),
    };
    if let Some(alg) = declared_alg {
        if alg.family() != family {
            return Err(format!("alg {alg} does not fit kty {kty} / its curve"));
        }
    }
    let candidates: Vec<Algorithm> = allowed
        .iter()
        .copied()
        .filter(|a| a.family() == family && declared_alg.is_none_or(|d| d == *a))
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let verifiers = match family {
        Family::Rsa => rsa_verifiers(jwk, &candidates)?,
        Family::Ec(curve) => {
            let point = ec_point(jwk, curve)?;
            parsed_for(&candidates, &point)?
        }
        Family::Okp => {
            let x = b64_member(jwk, "x")?;
            check_ed25519_point(&x)?;
            parsed_for(&candidates, &x)?
        }
        Family::Hmac => unreachable!("oct keys are refused above"),
    };
    let tag = key_tag(jwk);
    Ok(Some(VerifyKey {
        kid,
        tag,
        verifiers,
    }))
}

/// RFC 8032 §5.1.3 decoding, strictly: `x` must be the canonical encoding of a curve point
/// (y < p, and no "negative zero" x), and the point must not have small order. With a
/// small-order key, and the identity above all, a "signature" `R = identity, S = 0` verifies
/// for any message without a private key ("Taming the many EdDSAs", Chalkias et al. 2020);
/// aws-lc's verify does not refuse such keys, so import does, as the EC path refuses
/// off-curve points.
fn check_ed25519_point(x: &[u8]) -> Result<(), String> {
    let bytes: [u8; 32] = x
        .try_into()
        .map_err(|_| "Ed25519 x must be 32 bytes (RFC 8037 §2)".to_string())?;
    let compressed = curve25519_dalek::edwards::CompressedEdwardsY(bytes);
    let point = compressed
        .decompress()
        .ok_or("Ed25519 x is not a point on the curve (RFC 8032 §5.1.3)")?;
    // dalek reduces y mod p while decoding; re-encoding tells a non-canonical input apart.
    if point.compress() != compressed {
        return Err("Ed25519 x is not canonically encoded (RFC 8032 §5.1.3)".into());
    }
    if point.is_small_order() {
        return Err("Ed25519 x is a small-order point: any signature would verify".into());
    }
    Ok(())
}

/// The key's identity for the result cache: its `kid` and public members, digested.
fn key_tag(jwk: &Map<String, Value>) -> super::KeyTag {
    let mut hasher = blake3::Hasher::new();
    for name in ["kid", "kty", "crv", "n", "e", "x", "y", "alg"] {
        let value = jwk.get(name).and_then(Value::as_str).unwrap_or("");
        // Length-prefixed, so that no two member lists digest alike.
        hasher.update(&(value.len() as u64).to_le_bytes());
        hasher.update(value.as_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

fn rsa_verifiers(
    jwk: &Map<String, Value>,
    candidates: &[Algorithm],
) -> Result<Vec<(Algorithm, ParsedPublicKey)>, String> {
    let n = b64_member(jwk, "n")?;
    let e = b64_member(jwk, "e")?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    if n.is_empty() {
        return Err("RSA modulus is zero".into());
    }
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "RSA modulus is {bits} bits; at least {MIN_RSA_BITS} are required (RFC 7518 §3.3)"
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "RSA modulus is {bits} bits; at most {MAX_RSA_BITS} are accepted"
        ));
    }
    // A sane public exponent is odd, at least 3 and fits in 32 bits (65537 in practice);
    // e = 1 would make every "signature" trivially forgeable.
    if e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 || (e.len() == 1 && e[0] < 3) {
        return Err("RSA exponent must be odd, at least 3 and below 2^32".into());
    }
    if n[n.len() - 1] & 1 == 0 {
        return Err("RSA modulus is even".into());
    }
    if has_roca_fingerprint(n) {
        return Err(
            "RSA modulus has the ROCA fingerprint (CVE-2017-15361): the key is factorable".into(),
        );
    }
    let components = RsaPublicKeyComponents { n, e };
    candidates
        .iter()
        .map(|&alg| {
            let params = alg.rsa_parameters().ok_or("not an RSA algorithm")?;
            let key = components
                .to_parsed_public_key(params)
                .map_err(|e| format!("invalid RSA key: {e}"))?;
            Ok((alg, key))
        })
        .collect()
}

/// The uncompressed SEC1 point `04 || x || y`; coordinates must have the curve's exact length
/// (RFC 7518 §6.2.1.2). aws-lc then checks that the point is on the curve, which stops
/// invalid-curve attacks.
fn ec_point(jwk: &Map<String, Value>, curve: Curve) -> Result<Vec<u8>, String> {
    let x = b64_member(jwk, "x")?;
    let y = b64_member(jwk, "y")?;
    let len = curve.coordinate_len();
    if x.len() != len || y.len() != len {
        return Err(format!("EC coordinates must be {len} bytes each"));
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}

fn parsed_for(
    candidates: &[Algorithm],
    bytes: &[u8],
) -> Result<Vec<(Algorithm, ParsedPublicKey)>, String> {
    candidates
        .iter()
        .map(|&alg| {
            let verification = alg.verification().ok_or("not a public-key algorithm")?;
            let key = ParsedPublicKey::new(verification, bytes)
                .map_err(|e| format!("invalid public key: {e}"))?;
            Ok((alg, key))
        })
        .collect()
}

fn string_member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} is not a string")),
    }
}

fn b64_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = string_member(jwk, name)?.ok_or_else(|| format!("no {name}"))?;
    b64(text).ok_or_else(|| format!("{name} is not canonical base64url"))
}

/// CVE-2017-15361 (ROCA): moduli from the vulnerable Infineon library have the form
/// `k·M + (65537^a mod M)`, so `n mod p` lies in the subgroup generated by 65537 for each of
/// these small primes (Nemec et al., CCS 2017, the fingerprint of their detection tool). A
/// random modulus passes all 38 tests with negligible probability.
const ROCA_PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

fn has_roca_fingerprint(n: &[u8]) -> bool {
    ROCA_PRIMES.iter().all(|&p| {
        let residue = n
            .iter()
            .fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % p);
        let generator = 65537 % p;
        let mut power = 1u32;
        loop {
            if power == residue {
                return true;
            }
            power = power * generator % p;
            if power == 1 {
                return false;
            }
        }
    })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};

    use super::*;

    fn okp(x: &[u8]) -> Value {
        serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": URL_SAFE_NO_PAD.encode(x) })
    }

    fn import(x: &[u8]) -> Result<Option<VerifyKey>, String> {
        import_key(&okp(x), &[Algorithm::EdDSA])
    }

    /// The attack the check stops: with the identity as public key, `R = identity, S = 0`
    /// verifies any message in aws-lc, so the key must never get that far.
    #[test]
    fn identity_key_forges_in_aws_lc_and_is_refused_at_import() {
        let identity = EIGHT_TORSION[0].compress().to_bytes();
        let mut forged = [0u8; 64];
        forged[..32].copy_from_slice(&identity);
        let raw = UnparsedPublicKey::new(&ED25519, identity);
        assert!(
            raw.verify(b"any message", &forged).is_ok(),
            "aws-lc accepts the forgery: the import check is what stops it"
        );
        let e = import(&identity).unwrap_err();
        assert!(e.contains("small-order"), "{e}");
    }

    #[test]
    fn every_small_order_point_is_refused() {
        for (i, p) in EIGHT_TORSION.iter().enumerate() {
            let e = import(&p.compress().to_bytes()).unwrap_err();
            assert!(e.contains("small-order"), "torsion point {i}: {e}");
        }
    }

    #[test]
    fn non_canonical_and_off_curve_encodings_are_refused() {
        // y = p (≡ 0) and y = p + 1 (≡ 1, the identity): values ≥ p are never canonical.
        let mut y_is_p = [0xffu8; 32];
        y_is_p[0] = 0xed;
        y_is_p[31] = 0x7f;
        let mut y_is_p_plus_1 = y_is_p;
        y_is_p_plus_1[0] = 0xee;
        for x in [y_is_p, y_is_p_plus_1] {
            assert!(import(&x).is_err(), "{x:02x?}");
        }
        // The identity with the sign bit set ("negative zero" x).
        let mut negative_zero = EIGHT_TORSION[0].compress().to_bytes();
        negative_zero[31] |= 0x80;
        assert!(import(&negative_zero).is_err());
        // About half of all y values have no x on the curve: find one.
        let off_curve = (2u8..100)
            .map(|y| {
                let mut b = [0u8; 32];
                b[0] = y;
                b
            })
            .find(|b| {
                curve25519_dalek::edwards::CompressedEdwardsY(*b)
                    .decompress()
                    .is_none()
            })
            .expect("an off-curve y below 100");
        assert!(import(&off_curve).unwrap_err().contains("not a point"));
    }

    #[test]
    fn a_real_key_still_imports() {
        let x = ED25519_BASEPOINT_POINT.compress().to_bytes();
        assert!(import(&x).unwrap().is_some());
        // A mixed-order point (a real key plus a torsion component) is not small-order itself;
        // the strict check refuses only what lets a signature verify without a private key.
        let mixed = (ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
            .compress()
            .to_bytes();
        assert!(import(&mixed).unwrap().is_some());
    }
}
