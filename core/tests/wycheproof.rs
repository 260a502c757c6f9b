//! The Wycheproof vectors in `tests/wycheproof/` (vendored; see its README.md) through jwtgate's
//! own key import and verification, via the `jwtgate::testing` hooks: the signature files
//! through `verify_with_jwk`, the JWS/JWK files through `verify_compact_jws`.
//!
//! For every case: `valid` must verify, `invalid` must be rejected, `acceptable` may go either
//! way (counted). Where jwtgate's deliberate policy refuses a `valid` case, the case is listed
//! in [`POLICY`] with the error kind it must fail with; a `valid` case rejected for any other
//! reason, an `invalid` case accepted, or a listed case that behaves differently, fails.
//! Each test prints a summary line for its file (to stderr, past the test output capture);
//! `WYCHEPROOF_VERBOSE=1` also prints every case's outcome.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose as Engine};
use jwtgate::ErrorKind;
use jwtgate::testing::{verify_compact_jws, verify_with_jwk};
use serde_json::{Map, Value, json};

/// Vendored in the repository (`tests/wycheproof/`, Apache-2.0, its LICENSE and README beside
/// the files) so that a clone anywhere runs these tests.
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wycheproof");

const JWS_FILE: &str = "json_web_signature_test.json";
const JWK_FILE: &str = "json_web_key_test.json";

/// README quirks that are skipped, never run: (file, tcId, the case it duplicates, why).
/// The duplication is checked, so the skip goes away if the data is ever fixed.
const SKIP: &[(&str, u64, u64, &str)] = &[
    (
        JWS_FILE,
        367,
        357,
        "data defect (README): `invalidBase64Padding` carries byte for byte the jws of the \
         valid tc 357, so one of the two expectations is wrong",
    ),
    (
        JWS_FILE,
        370,
        357,
        "data defect (README): `invalidBase64PaddingInPayload` carries byte for byte the jws \
         of the valid tc 357, so one of the two expectations is wrong",
    ),
];

/// `valid` cases that jwtgate refuses on purpose: (file, tcId, expected error kind, policy).
const POLICY: &[(&str, u64, ErrorKind, &str)] = &[
    // RFC 7520 Figure 20 (a PS384 token) checked against a key that Wycheproof labelled
    // `"alg": "PS256"`: the key's alg decides (RFC 7517 §4.4, RFC 8725 §3.1).
    (
        JWS_FILE,
        346,
        ErrorKind::AlgorithmNotAllowed,
        KEY_ALG_DECIDES,
    ),
    (
        JWS_FILE,
        350,
        ErrorKind::AlgorithmNotAllowed,
        KEY_ALG_DECIDES,
    ),
    // RFC 7520 Figure 27 (ES512) against a key labelled `"alg": "ES521"`, which is not a JWS
    // algorithm (RFC 7518 §3.1 has ES512): a key for an algorithm jwtgate does not implement
    // is not a verification key, so the static key set has no usable key.
    (JWS_FILE, 347, ErrorKind::Config, UNKNOWN_KEY_ALG),
    (JWS_FILE, 351, ErrorKind::Config, UNKNOWN_KEY_ALG),
    // README quirk: marked valid, but a `?` sits inside the base64url of the header (372) or
    // the payload (373). Canonical base64url only (RFC 7515 §2); rejecting is the safe answer.
    (JWS_FILE, 372, ErrorKind::Malformed, NOT_BASE64URL),
    (JWS_FILE, 373, ErrorKind::Malformed, NOT_BASE64URL),
    // Two oct keys in one JWKS: HMAC keys are never taken from a key set (RFC 8725 §3.1,
    // CVE-2016-10555), and jwtgate has exactly one `shared_secret`, so this set cannot be
    // configured at all; given as a JWKS it is refused.
    (JWK_FILE, 2, ErrorKind::Config, OCT_IN_JWKS),
];

const KEY_ALG_DECIDES: &str = "token alg differs from the key's declared alg";
const UNKNOWN_KEY_ALG: &str = "key declares alg ES521, not a JWS algorithm";
const NOT_BASE64URL: &str = "`?` inside a base64url segment";
const OCT_IN_JWKS: &str = "oct keys in a JWKS (HMAC keys come from shared_secret only)";

/// The signature files and the JWS algorithm each one exercises.
const SIGNATURE_FILES: &[(&str, &str)] = &[
    ("rsa_signature_2048_sha256_test.json", "RS256"),
    ("rsa_signature_3072_sha256_test.json", "RS256"),
    ("rsa_signature_4096_sha256_test.json", "RS256"),
    ("rsa_signature_2048_sha384_test.json", "RS384"),
    ("rsa_signature_2048_sha512_test.json", "RS512"),
    ("rsa_pss_2048_sha256_mgf1_32_test.json", "PS256"),
    ("rsa_pss_2048_sha384_mgf1_48_test.json", "PS384"),
    ("rsa_pss_4096_sha512_mgf1_64_test.json", "PS512"),
    ("ecdsa_secp256r1_sha256_p1363_test.json", "ES256"),
    ("ecdsa_secp384r1_sha384_p1363_test.json", "ES384"),
    ("ecdsa_secp521r1_sha512_p1363_test.json", "ES512"),
    ("ed25519_test.json", "EdDSA"),
];

// ---------------------------------------------------------------------------------------------
// Loading and bookkeeping

fn load(file: &str) -> Value {
    let dir = PathBuf::from(DIR);
    assert!(
        dir.is_dir(),
        "the Wycheproof vectors are missing: expected the directory {} (tests/wycheproof in \
         the repository). These tests must not be skipped.",
        dir.display()
    );
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"))
}

fn groups(doc: &Value) -> &[Value] {
    doc["testGroups"].as_array().expect("testGroups")
}

fn tests(group: &Value) -> &[Value] {
    group["tests"].as_array().expect("tests")
}

fn tc_id(case: &Value) -> u64 {
    case["tcId"].as_u64().expect("tcId")
}

#[derive(Default)]
struct Tally {
    file: &'static str,
    run: usize,
    valid_ok: usize,
    invalid_rejected: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    policy_refused: usize,
    skipped: usize,
    /// Error kinds of the rejected `invalid` cases.
    rejected_kinds: BTreeMap<&'static str, usize>,
    seen_policy: HashSet<u64>,
    failures: Vec<String>,
}

impl Tally {
    fn new(file: &'static str) -> Tally {
        Tally {
            file,
            ..Tally::default()
        }
    }

    fn fail(&mut self, tc: u64, what: impl std::fmt::Display) {
        self.failures.push(format!("{} tc {tc}: {what}", self.file));
    }

    /// Records one case's outcome against its expected result.
    fn judge(&mut self, case: &Value, outcome: jwtgate::Result<()>) {
        let tc = tc_id(case);
        let result = case["result"].as_str().expect("result");
        let comment = case["comment"].as_str().unwrap_or("");
        self.run += 1;
        if std::env::var_os("WYCHEPROOF_VERBOSE").is_some() {
            let shown = match &outcome {
                Ok(()) => "accepted".to_string(),
                Err(e) => format!("rejected: {e}"),
            };
            let line = format!("  {} tc {tc} [{result}] {comment}: {shown}\n", self.file);
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        if let Some(&(_, _, kind, reason)) = POLICY
            .iter()
            .find(|(f, id, _, _)| *f == self.file && *id == tc)
        {
            self.seen_policy.insert(tc);
            match (result, outcome) {
                ("valid", Err(e)) if e.kind() == kind => self.policy_refused += 1,
                ("valid", Err(e)) => self.fail(
                    tc,
                    format!("listed as refused by policy ({reason}) with {kind}, got {e}"),
                ),
                ("valid", Ok(())) => self.fail(
                    tc,
                    format!(
                        "listed as refused by policy ({reason}) but it verified: update POLICY"
                    ),
                ),
                (other, _) => self.fail(
                    tc,
                    format!(
                        "listed as a policy refusal of a valid case, but the data says {other}"
                    ),
                ),
            }
            return;
        }
        match (result, outcome) {
            ("valid", Ok(())) => self.valid_ok += 1,
            ("valid", Err(e)) => self.fail(tc, format!("valid case ({comment}) rejected: {e}")),
            ("invalid", Err(e)) => {
                self.invalid_rejected += 1;
                *self.rejected_kinds.entry(e.kind().as_str()).or_default() += 1;
            }
            ("invalid", Ok(())) => self.fail(
                tc,
                format!(
                    "INVALID case ({comment}, flags {}) was ACCEPTED",
                    case["flags"]
                ),
            ),
            ("acceptable", Ok(())) => self.acceptable_accepted += 1,
            ("acceptable", Err(_)) => self.acceptable_rejected += 1,
            (other, _) => self.fail(tc, format!("unknown result {other:?}")),
        }
    }

    /// Prints the summary and fails on any failure or on a stale POLICY entry.
    fn finish(mut self, expected_total: Option<u64>) {
        for &(f, tc, _, _) in POLICY {
            if f == self.file && !self.seen_policy.contains(&tc) {
                self.fail(tc, "listed in POLICY but not in the file");
            }
        }
        if let Some(total) = expected_total {
            if (self.run + self.skipped) as u64 != total {
                let (run, skipped) = (self.run, self.skipped);
                self.fail(
                    0,
                    format!("numberOfTests is {total}, but {run} ran and {skipped} were skipped"),
                );
            }
        }
        let kinds: Vec<String> = self
            .rejected_kinds
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        let line = format!(
            "wycheproof {:<40} run {:>3} | valid ok {:>3} | invalid rejected {:>3} | acceptable {} \
             (accepted {}, rejected {}) | policy-refused {} | skipped {} | failures {}\n    \
             invalid rejected as: {}\n",
            self.file,
            self.run,
            self.valid_ok,
            self.invalid_rejected,
            self.acceptable_accepted + self.acceptable_rejected,
            self.acceptable_accepted,
            self.acceptable_rejected,
            self.policy_refused,
            self.skipped,
            self.failures.len(),
            kinds.join(", "),
        );
        // Straight to stderr: the summary shows even when the test passes and output is
        // captured (`print!` would be swallowed).
        let _ = std::io::stderr().write_all(line.as_bytes());
        assert!(
            self.failures.is_empty(),
            "{} failure(s) in {}:\n{}",
            self.failures.len(),
            self.file,
            self.failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers (for the test data only: jwtgate's own decoding is what is under test)

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Lenient base64url for key material in the data (padding and trailing bits allowed).
fn b64url_lenient(text: &str) -> Vec<u8> {
    const LENIENT: Engine = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT
        .decode(text)
        .unwrap_or_else(|e| panic!("bad base64url in the data {text:?}: {e}"))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

// ---------------------------------------------------------------------------------------------
// Signature files: one key per group, raw message and signature per case

/// Checks that the group's parameters are exactly those of the JWS algorithm.
fn check_group_parameters(group: &Value, alg: &str) -> Result<(), String> {
    let sha = match &alg[2..] {
        "256" => "SHA-256",
        "384" => "SHA-384",
        "512" => "SHA-512",
        _ => "",
    };
    let ty = group["type"].as_str().unwrap_or("");
    let ok = match &alg[..2] {
        "RS" => ty == "RsassaPkcs1Verify" && group["sha"] == sha,
        // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
        "PS" => {
            ty == "RsassaPssVerify"
                && group["sha"] == sha
                && group["mgf"] == "MGF1"
                && group["mgfSha"] == sha
                && group["sLen"].as_u64() == Some(sha[4..].parse::<u64>().unwrap_or(0) / 8)
        }
        "ES" => {
            let curve = match sha {
                "SHA-256" => "secp256r1",
                "SHA-384" => "secp384r1",
                _ => "secp521r1",
            };
            ty == "EcdsaP1363Verify" && group["sha"] == sha && group["publicKey"]["curve"] == curve
        }
        "Ed" => ty == "EddsaVerify" && group["publicKey"]["curve"] == "edwards25519",
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "group parameters do not match {alg}: type {ty}, sha {}",
            group["sha"]
        ))
    }
}

/// The public JWK built from the group's raw `publicKey` fields.
fn jwk_from_public_key(group: &Value, alg: &str) -> Result<Value, String> {
    let pk = &group["publicKey"];
    let field = |name: &str| {
        pk[name]
            .as_str()
            .map(hex)
            .ok_or_else(|| format!("publicKey has no {name}"))
    };
    match &alg[..2] {
        "RS" | "PS" => {
            let n = field("modulus")?;
            let e = field("publicExponent")?;
            Ok(json!({
                "kty": "RSA",
                "n": b64url(strip_leading_zeros(&n)),
                "e": b64url(strip_leading_zeros(&e)),
            }))
        }
        "ES" => {
            let (crv, len) = match alg {
                "ES256" => ("P-256", 32),
                "ES384" => ("P-384", 48),
                _ => ("P-521", 66),
            };
            // wx/wy are big-endian integers, sometimes with a sign byte or without leading
            // zeros; a JWK coordinate has exactly the curve's length (RFC 7518 §6.2.1.2).
            let coordinate = |name: &str| -> Result<String, String> {
                let raw = field(name)?;
                let v = strip_leading_zeros(&raw);
                if v.len() > len {
                    return Err(format!("{name} is longer than {len} bytes"));
                }
                let mut out = vec![0u8; len - v.len()];
                out.extend_from_slice(v);
                Ok(b64url(&out))
            };
            Ok(json!({ "kty": "EC", "crv": crv, "x": coordinate("wx")?, "y": coordinate("wy")? }))
        }
        _ => Ok(json!({ "kty": "OKP", "crv": "Ed25519", "x": b64url(&field("pk")?) })),
    }
}

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The group's JWK (`publicKeyJwk`, else a public `keyJwk`), else one built from `publicKey`.
/// When the data has a JWK, the built one must carry the same key, which checks the builder
/// used for the groups without one.
fn group_jwk(group: &Value, alg: &str) -> Result<(Value, &'static str), String> {
    let built = jwk_from_public_key(group, alg)?;
    let given = match (&group["publicKeyJwk"], &group["keyJwk"]) {
        (Value::Object(j), _) => Some((j, "publicKeyJwk")),
        (_, Value::Object(j)) if !PRIVATE_MEMBERS.iter().any(|m| j.contains_key(*m)) => {
            Some((j, "keyJwk"))
        }
        _ => None,
    };
    let Some((given, source)) = given else {
        return Ok((built, "built from publicKey"));
    };
    for (name, value) in built.as_object().expect("object") {
        if given.get(name) != Some(value) {
            return Err(format!(
                "{source} and publicKey disagree on {name}: {:?} vs {value}",
                given.get(name)
            ));
        }
    }
    Ok((Value::Object(given.clone()), source))
}

fn run_signature_file(file: &'static str) {
    let alg = SIGNATURE_FILES
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, a)| *a)
        .expect("listed file");
    let doc = load(file);
    let mut tally = Tally::new(file);
    let mut built = 0;
    for (index, group) in groups(&doc).iter().enumerate() {
        let key = check_group_parameters(group, alg).and_then(|()| group_jwk(group, alg));
        let jwk = match key {
            Ok((jwk, source)) => {
                if source == "built from publicKey" {
                    built += 1;
                }
                jwk
            }
            Err(e) => {
                tally.fail(0, format!("group {index}: {e}"));
                continue;
            }
        };
        for case in tests(group) {
            let msg = hex(case["msg"].as_str().expect("msg"));
            let sig = hex(case["sig"].as_str().expect("sig"));
            tally.judge(case, verify_with_jwk(&jwk, alg, &msg, &sig));
        }
    }
    if built > 0 {
        let _ = std::io::stderr().write_all(
            format!(
                "wycheproof {file}: {built} group(s) without a JWK, key built from publicKey\n"
            )
            .as_bytes(),
        );
    }
    tally.finish(doc["numberOfTests"].as_u64());
}

// ---------------------------------------------------------------------------------------------
// JWS / JWK files: whole compact tokens against a group's keys

/// `{"keys": [...]}` for a JWKS, or a single JWK wrapped into one.
fn as_jwks(value: &Value) -> Value {
    if value.get("keys").is_some() {
        value.clone()
    } else {
        json!({ "keys": [value] })
    }
}

/// The one oct key of a set, if the set is exactly one HMAC signing key: that is what a
/// jwtgate user configures as `shared_secret`. An oct key labelled for another algorithm
/// (A256GCM, A256KW, ...) or another use is not an HMAC key and is not translated.
fn single_hmac_key(set: &Value) -> Option<&Map<String, Value>> {
    let [Value::Object(key)] = set["keys"].as_array()?.as_slice() else {
        return None;
    };
    let hmac_alg = match key.get("alg") {
        None => true,
        Some(a) => ["HS256", "HS384", "HS512"].contains(&a.as_str()?),
    };
    let for_signing = key.get("use").is_none_or(|u| u == "sig")
        && key.get("key_ops").is_none_or(|ops| {
            ops.as_array()
                .is_some_and(|o| o.iter().any(|x| x == "verify"))
        });
    (key.get("kty")? == "oct" && hmac_alg && for_signing).then_some(key)
}

/// What the group's keys become for jwtgate:
/// - `public` (a JWK or a JWKS): the static JWKS;
/// - otherwise `private`: a single HMAC key becomes the `shared_secret` (its `k` decoded);
///   anything else is given as the JWKS exactly as it is, which jwtgate must refuse (oct
///   keys and private key material never come from a JWKS).
fn jose_keys(group: &Value) -> (Value, Option<Vec<u8>>) {
    if let Some(public) = group.get("public") {
        return (as_jwks(public), None);
    }
    let private = as_jwks(group.get("private").expect("public or private keys"));
    match single_hmac_key(&private) {
        Some(key) => {
            let k = key["k"].as_str().expect("oct key has k");
            (Value::Null, Some(b64url_lenient(k)))
        }
        None => (private, None),
    }
}

fn run_jose_file(file: &'static str) {
    let doc = load(file);
    let mut tally = Tally::new(file);
    let by_id: HashMap<u64, &str> = groups(&doc)
        .iter()
        .flat_map(tests)
        .map(|c| (tc_id(c), c["jws"].as_str().expect("jws is a string")))
        .collect();
    for group in groups(&doc) {
        let (jwks, secret) = jose_keys(group);
        for case in tests(group) {
            let tc = tc_id(case);
            if let Some(&(_, _, same_as, why)) =
                SKIP.iter().find(|(f, id, _, _)| *f == file && *id == tc)
            {
                if by_id.get(&tc) != by_id.get(&same_as) {
                    tally.fail(
                        tc,
                        format!(
                            "skipped as a duplicate of tc {same_as}, but its jws differs now: \
                             remove the skip ({why})"
                        ),
                    );
                }
                tally.skipped += 1;
                continue;
            }
            let jws = case["jws"].as_str().expect("jws");
            tally.judge(case, verify_compact_jws(&jwks, secret.as_deref(), jws));
        }
    }
    tally.finish(doc["numberOfTests"].as_u64());
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn every_vector_file_is_covered() {
    let dir = PathBuf::from(DIR);
    assert!(
        dir.is_dir(),
        "the Wycheproof vectors are missing: expected the directory {} (tests/wycheproof in \
         the repository). These tests must not be skipped.",
        dir.display()
    );
    let known: HashSet<&str> = SIGNATURE_FILES
        .iter()
        .map(|(f, _)| *f)
        .chain([JWS_FILE, JWK_FILE])
        .collect();
    let mut present = HashSet::new();
    for entry in std::fs::read_dir(&dir).expect("read the Wycheproof directory") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".json") {
            assert!(
                known.contains(name.as_str()),
                "{name} is not run by any test"
            );
            present.insert(name);
        }
    }
    for file in &known {
        assert!(
            present.contains(*file),
            "{file} is missing from {}",
            dir.display()
        );
    }
    for (file, tc, _, _) in SKIP {
        assert!(!POLICY.iter().any(|(f, id, _, _)| f == file && id == tc));
    }
}

macro_rules! signature_file_tests {
    ($($name:ident => $file:literal,)*) => {$(
        #[test]
        fn $name() {
            run_signature_file($file);
        }
    )*};
}

signature_file_tests! {
    rs256_2048 => "rsa_signature_2048_sha256_test.json",
    rs256_3072 => "rsa_signature_3072_sha256_test.json",
    rs256_4096 => "rsa_signature_4096_sha256_test.json",
    rs384_2048 => "rsa_signature_2048_sha384_test.json",
    rs512_2048 => "rsa_signature_2048_sha512_test.json",
    ps256_2048 => "rsa_pss_2048_sha256_mgf1_32_test.json",
    ps384_2048 => "rsa_pss_2048_sha384_mgf1_48_test.json",
    ps512_4096 => "rsa_pss_4096_sha512_mgf1_64_test.json",
    es256 => "ecdsa_secp256r1_sha256_p1363_test.json",
    es384 => "ecdsa_secp384r1_sha384_p1363_test.json",
    es512 => "ecdsa_secp521r1_sha512_p1363_test.json",
    eddsa_ed25519 => "ed25519_test.json",
}

#[test]
fn json_web_signature() {
    run_jose_file(JWS_FILE);
}

#[test]
fn json_web_key() {
    run_jose_file(JWK_FILE);
}
