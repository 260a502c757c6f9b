//! Writes the shared test vectors, `tests/vectors/*.json`, from the committed test keys.
//! Run with `make vectors`. Every face's test harness reads these files; see
//! `tests/vectors/README.md` for the format.
//!
//! The vectors are clock-independent: valid tokens expire in 2100, expired ones did in 2020,
//! and "future" ones start in 2096, so every expectation holds for any clock between
//! 2026-01-02 and 2096-01-01.

use std::path::{Path, PathBuf};

use jwtgate_testkit::{TestKey, access_token_claims, b64, hmac_secret, jwks, pem, rsa_1024_jwk};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";
const IAT: u64 = 1_767_225_600; // 2026-01-01
const EXP: u64 = 4_102_444_800; // 2100-01-01
const PAST: u64 = 1_600_000_000; // 2020-09-13
const FUTURE: u64 = 4_000_000_000; // 2096-10-02

struct Keys {
    rsa_a: TestKey,
    rsa_b: TestKey,
    es256: TestKey,
    es384: TestKey,
    es512: TestKey,
    ed: TestKey,
}

impl Keys {
    fn load() -> Keys {
        Keys {
            rsa_a: TestKey::rsa("rsa-a", "RS256", "rsa-a"),
            rsa_b: TestKey::rsa("rsa-b", "PS256", "rsa-b-ps256"),
            es256: TestKey::ec("ES256", "ec-p256"),
            es384: TestKey::ec("ES384", "ec-p384"),
            es512: TestKey::ec("ES512", "ec-p521"),
            ed: TestKey::ed25519("ed25519"),
        }
    }

    /// rsa-a is published without `alg` (any RSA algorithm), the others with theirs.
    fn jwks(&self) -> Value {
        let mut doc = jwks(&[
            &self.rsa_a,
            &self.rsa_b,
            &self.es256,
            &self.es384,
            &self.es512,
            &self.ed,
        ]);
        doc["keys"][0].as_object_mut().map(|k| k.remove("alg"));
        doc
    }
}

struct Suite {
    name: &'static str,
    description: &'static str,
    configs: serde_json::Map<String, Value>,
    cases: Vec<Value>,
}

impl Suite {
    fn new(name: &'static str, description: &'static str) -> Suite {
        Suite {
            name,
            description,
            configs: serde_json::Map::new(),
            cases: Vec::new(),
        }
    }

    fn config(&mut self, name: &str, config: Value) {
        self.configs.insert(name.into(), config);
    }

    fn ok(&mut self, name: &str, config: &str, token: String, claims: &Value) {
        self.cases.push(json!({ "name": name, "config": config, "token": token, "expect": { "valid": true, "claims": claims } }));
    }

    fn err(&mut self, name: &str, config: &str, token: String, kind: &str) {
        self.cases.push(json!({ "name": name, "config": config, "token": token, "expect": { "valid": false, "error": kind } }));
    }

    fn document(&self) -> Value {
        json!({
            "suite": self.name,
            "description": self.description,
            "clock": "expectations hold for any clock between 2026-01-02 and 2096-01-01",
            "configs": self.configs,
            "cases": self.cases,
        })
    }

    fn write(&self, dir: &Path) {
        let doc = self.document();
        let path = dir.join(format!("{}.json", self.name));
        let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("wrote {} ({} cases)", path.display(), self.cases.len());
    }
}

fn base_config(keys: &Keys) -> Value {
    json!({ "issuer": ISSUER, "audience": [AUDIENCE, "https://other-api.test"], "jwks": keys.jwks(), "token_type": "at+jwt" })
}

fn claims() -> Value {
    access_token_claims(ISSUER, AUDIENCE, IAT, EXP)
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().map(|c| c.remove(name));
    claims
}

/// Signs a token whose header is `header` (raw JSON) and payload `payload` (raw JSON).
fn raw(key: &TestKey, header: &str, payload: &str) -> String {
    key.raw_token(header, payload)
}

fn header(alg: &str, kid: &str) -> String {
    json!({ "alg": alg, "kid": kid, "typ": "at+jwt" }).to_string()
}

fn signed_as(key: &TestKey, alg: &'static str, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header(alg, &key.kid)), b64(claims.to_string()));
    format!("{input}.{}", b64(key.sign_as(alg, input.as_bytes())))
}

fn valid_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "valid",
        "Tokens every face must accept, one per algorithm and header variant.",
    );
    s.config("default", base_config(k));
    s.config("hmac", json!({ "issuer": ISSUER, "audience": AUDIENCE, "shared_secret": hmac_secret(), "token_type": "at+jwt" }));
    let c = claims();
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        s.ok(
            &format!("{alg} with rsa-a (JWK without alg)"),
            "default",
            signed_as(&k.rsa_a, alg, &c),
            &c,
        );
    }
    s.ok(
        "PS256 with rsa-b (JWK alg PS256)",
        "default",
        k.rsa_b.token(&c),
        &c,
    );
    s.ok("ES256", "default", k.es256.token(&c), &c);
    s.ok("ES384", "default", k.es384.token(&c), &c);
    s.ok("ES512", "default", k.es512.token(&c), &c);
    s.ok("EdDSA", "default", k.ed.token(&c), &c);
    for alg in ["HS256", "HS384", "HS512"] {
        s.ok(alg, "hmac", TestKey::hmac(alg).token(&c), &c);
    }
    let no_kid = json!({ "alg": "ES256", "typ": "at+jwt" }).to_string();
    s.ok(
        "no kid, exactly one key allows ES256",
        "default",
        raw(&k.es256, &no_kid, &c.to_string()),
        &c,
    );
    let typ_full =
        json!({ "alg": "ES256", "kid": "ec-p256", "typ": "application/at+jwt" }).to_string();
    s.ok(
        "typ application/at+jwt (RFC 7515 §4.1.9)",
        "default",
        raw(&k.es256, &typ_full, &c.to_string()),
        &c,
    );
    let typ_upper = json!({ "alg": "ES256", "kid": "ec-p256", "typ": "AT+JWT" }).to_string();
    s.ok(
        "typ compared case-insensitively",
        "default",
        raw(&k.es256, &typ_upper, &c.to_string()),
        &c,
    );
    let aud_list = with(
        c.clone(),
        "aud",
        json!(["https://unrelated.test", AUDIENCE]),
    );
    s.ok(
        "aud array containing our audience",
        "default",
        k.es256.token(&aud_list),
        &aud_list,
    );
    let second_aud = with(c.clone(), "aud", json!("https://other-api.test"));
    s.ok(
        "second configured audience",
        "default",
        k.es256.token(&second_aud),
        &second_aud,
    );
    let float_exp = with(c.clone(), "exp", json!(4_102_444_800.5));
    s.ok(
        "fractional exp (RFC 7519 §2 NumericDate)",
        "default",
        k.es256.token(&float_exp),
        &float_exp,
    );
    let no_nbf = without(without(c.clone(), "nbf"), "iat");
    s.ok(
        "no nbf and no iat",
        "default",
        k.es256.token(&no_nbf),
        &no_nbf,
    );
    let jku = json!({ "alg": "ES256", "kid": "ec-p256", "typ": "at+jwt", "jku": "http://127.0.0.1:9/jwks", "x5u": "http://127.0.0.1:9/cert" }).to_string();
    s.ok(
        "jku/x5u are ignored, never fetched (RFC 8725 §3.10)",
        "default",
        raw(&k.es256, &jku, &c.to_string()),
        &c,
    );
    let unicode = with(c.clone(), "name", json!("Zoë \u{1F600} \"quoted\" \\ back"));
    s.ok(
        "unicode and escapes in claims",
        "default",
        k.es256.token(&unicode),
        &unicode,
    );
    s
}

fn algorithm_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "algorithms",
        "alg attacks: none, confusion, key binding (RFC 8725 §2.1, §3.1).",
    );
    s.config("default", base_config(k));
    let mut hmac_and_jwks = base_config(k);
    hmac_and_jwks["shared_secret"] = json!(hmac_secret());
    s.config("hmac_and_jwks", hmac_and_jwks);
    let c = claims().to_string();
    for none in ["none", "None", "nOnE", "NONE"] {
        let h = json!({ "alg": none, "typ": "at+jwt" }).to_string();
        let t = format!("{}.{}.", b64(&h), b64(&c));
        s.err(
            &format!("alg {none} with empty signature"),
            "default",
            t.clone(),
            "algorithm_not_allowed",
        );
        let t2 = format!("{t}{}", b64("sig"));
        s.err(
            &format!("alg {none} with a signature"),
            "default",
            t2,
            "algorithm_not_allowed",
        );
    }
    let missing = json!({ "kid": "rsa-a", "typ": "at+jwt" }).to_string();
    s.err(
        "alg missing",
        "default",
        raw(&k.rsa_a, &missing, &c),
        "malformed",
    );
    let empty = json!({ "alg": "", "kid": "rsa-a" }).to_string();
    s.err(
        "alg empty string",
        "default",
        raw(&k.rsa_a, &empty, &c),
        "algorithm_not_allowed",
    );
    let array = json!({ "alg": ["RS256"], "kid": "rsa-a" }).to_string();
    s.err(
        "alg as array",
        "default",
        raw(&k.rsa_a, &array, &c),
        "malformed",
    );
    let lower = json!({ "alg": "rs256", "kid": "rsa-a" }).to_string();
    s.err(
        "alg in the wrong case",
        "default",
        raw(&k.rsa_a, &lower, &c),
        "algorithm_not_allowed",
    );
    let unknown = json!({ "alg": "ES256K", "kid": "ec-p256" }).to_string();
    s.err(
        "alg not implemented",
        "default",
        raw(&k.es256, &unknown, &c),
        "algorithm_not_allowed",
    );

    // HS256 signed with the public key as the HMAC secret (CVE-2016-10555, CVE-2016-5431).
    let spki = k.rsa_a.public_spki_der();
    let pkcs1 = k.rsa_a.public_pkcs1_der();
    let ec_spki = k.es256.public_spki_der();
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        (
            "RSA SPKI PEM with newline",
            pem("PUBLIC KEY", &spki).into_bytes(),
        ),
        (
            "RSA SPKI PEM without final newline",
            pem("PUBLIC KEY", &spki).trim_end().as_bytes().to_vec(),
        ),
        ("RSA PKCS#1 PEM", pem("RSA PUBLIC KEY", &pkcs1).into_bytes()),
        ("RSA SPKI DER", spki.clone()),
        ("RSA PKCS#1 DER", pkcs1.clone()),
        (
            "RSA JWK text",
            k.rsa_a.public_jwk().to_string().into_bytes(),
        ),
        ("EC SPKI PEM", pem("PUBLIC KEY", &ec_spki).into_bytes()),
        ("EC JWK text", k.es256.public_jwk().to_string().into_bytes()),
    ];
    for (what, secret) in secrets {
        let forger = TestKey::hmac_with("HS256", secret);
        let h = json!({ "alg": "HS256", "kid": "rsa-a", "typ": "at+jwt" }).to_string();
        let t = raw(&forger, &h, &c);
        s.err(
            &format!("HS256 keyed with the {what}, no shared secret"),
            "default",
            t.clone(),
            "algorithm_not_allowed",
        );
        s.err(
            &format!("HS256 keyed with the {what}, shared secret configured"),
            "hmac_and_jwks",
            t,
            "signature_invalid",
        );
    }
    // The key decides the algorithm: a kid bound to one algorithm refuses the others.
    let rs_with_ps_key = signed_as(&k.rsa_b, "RS256", &claims());
    s.err(
        "RS256 with a key published as PS256",
        "default",
        rs_with_ps_key,
        "algorithm_not_allowed",
    );
    let es_with_rsa_kid = raw(&k.es256, &header("ES256", "rsa-a"), &c);
    s.err(
        "ES256 naming an RSA key",
        "default",
        es_with_rsa_kid,
        "algorithm_not_allowed",
    );
    let es384_on_p256 = raw(&k.es384, &header("ES384", "ec-p256"), &c);
    s.err(
        "ES384 naming the P-256 key",
        "default",
        es384_on_p256,
        "algorithm_not_allowed",
    );
    let ps_no_kid = {
        let h = json!({ "alg": "PS256", "typ": "at+jwt" }).to_string();
        let input = format!("{}.{}", b64(&h), b64(&c));
        format!(
            "{input}.{}",
            b64(k.rsa_a.sign_as("PS256", input.as_bytes()))
        )
    };
    s.err(
        "no kid and two keys allow PS256 (no key is tried in turn)",
        "default",
        ps_no_kid,
        "key_not_found",
    );
    s
}

fn header_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "headers",
        "Header attacks: embedded keys, kid injection, crit, b64, duplicates.",
    );
    s.config("default", base_config(k));
    let c = claims().to_string();
    // The attacker signs with their own key (rsa-b, which the JWKS binds to PS256 only) and
    // embeds it: an embedded key must never be trusted (CVE-2018-0114).
    let attacker = TestKey::rsa("rsa-b", "RS256", "rsa-a");
    let jwk =
        json!({ "alg": "RS256", "kid": "rsa-a", "typ": "at+jwt", "jwk": k.rsa_b.public_jwk() })
            .to_string();
    s.err(
        "embedded jwk of the signer",
        "default",
        raw(&attacker, &jwk, &c),
        "signature_invalid",
    );
    let x5c = json!({ "alg": "RS256", "kid": "rsa-a", "typ": "at+jwt", "x5c": [b64(k.rsa_b.public_spki_der())] }).to_string();
    s.err(
        "embedded x5c of the signer",
        "default",
        raw(&attacker, &x5c, &c),
        "signature_invalid",
    );
    let jku = json!({ "alg": "RS256", "kid": "rsa-a", "typ": "at+jwt", "jku": "http://127.0.0.1:9/attacker-jwks" }).to_string();
    s.err(
        "jku pointing at the attacker's keys",
        "default",
        raw(&attacker, &jku, &c),
        "signature_invalid",
    );
    for (what, kid) in [
        ("path traversal", "../../../../../../dev/null"),
        ("SQL injection", "x' UNION SELECT 'secret' --"),
        ("command injection", "$(curl 127.0.0.1)"),
        ("unknown", "no-such-key"),
    ] {
        s.err(
            &format!("kid {what}"),
            "default",
            raw(&k.rsa_a, &header("RS256", kid), &c),
            "key_not_found",
        );
    }
    let num_kid = json!({ "alg": "RS256", "kid": 1, "typ": "at+jwt" }).to_string();
    s.err(
        "kid not a string",
        "default",
        raw(&k.rsa_a, &num_kid, &c),
        "malformed",
    );
    let long_kid = header("RS256", &"k".repeat(300));
    s.err(
        "kid longer than 256 bytes",
        "default",
        raw(&k.rsa_a, &long_kid, &c),
        "malformed",
    );
    let huge_kid = header("RS256", &"k".repeat(64 * 1024));
    s.err(
        "kid of 64 KiB",
        "default",
        raw(&k.rsa_a, &huge_kid, &c),
        "token_too_large",
    );
    for (what, crit) in [
        ("unknown extension", json!(["urn:example:ext"])),
        ("empty", json!([])),
        ("standard name", json!(["exp"])),
        ("not an array", json!("kid")),
    ] {
        let h = json!({ "alg": "RS256", "kid": "rsa-a", "typ": "at+jwt", "crit": crit, "urn:example:ext": true }).to_string();
        s.err(
            &format!("crit {what} (RFC 7515 §4.1.11)"),
            "default",
            raw(&k.rsa_a, &h, &c),
            "unsupported_header",
        );
    }
    let b64false =
        json!({ "alg": "RS256", "kid": "rsa-a", "typ": "at+jwt", "b64": false, "crit": ["b64"] })
            .to_string();
    s.err(
        "b64 false (RFC 7797)",
        "default",
        raw(&k.rsa_a, &b64false, &c),
        "unsupported_header",
    );
    let b64alone =
        json!({ "alg": "RS256", "kid": "rsa-a", "typ": "at+jwt", "b64": false }).to_string();
    s.err(
        "b64 false without crit",
        "default",
        raw(&k.rsa_a, &b64alone, &c),
        "unsupported_header",
    );
    let dup_alg = r#"{"alg":"RS256","kid":"rsa-a","typ":"at+jwt","alg":"none"}"#;
    s.err(
        "duplicate alg",
        "default",
        raw(&k.rsa_a, dup_alg, &c),
        "malformed",
    );
    let dup_esc = r#"{"alg":"RS256","kid":"rsa-a","typ":"at+jwt","\u0061lg":"HS256"}"#;
    s.err(
        "duplicate alg spelled with an escape",
        "default",
        raw(&k.rsa_a, dup_esc, &c),
        "malformed",
    );
    let dup_kid = r#"{"alg":"RS256","kid":"rsa-a","kid":"ec-p256","typ":"at+jwt"}"#;
    s.err(
        "duplicate kid",
        "default",
        raw(&k.rsa_a, dup_kid, &c),
        "malformed",
    );
    let typ_num = json!({ "alg": "RS256", "kid": "rsa-a", "typ": 1 }).to_string();
    s.err(
        "typ not a string",
        "default",
        raw(&k.rsa_a, &typ_num, &c),
        "malformed",
    );
    s.err(
        "header is an array",
        "default",
        raw(&k.rsa_a, r#"["RS256"]"#, &c),
        "unsupported_token",
    );
    s
}

fn structure_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "structure",
        "Compact serialization and base64url strictness, sizes, depth.",
    );
    s.config("default", base_config(k));
    let mut big = base_config(k);
    big["max_token_bytes"] = json!(131072);
    s.config("large_tokens", big);
    let good = k.es256.token(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    s.err("empty string", "default", String::new(), "malformed");
    s.err(
        "two segments",
        "default",
        format!("{}.{}", parts[0], parts[1]),
        "unsupported_token",
    );
    s.err(
        "four segments",
        "default",
        format!("{good}.{}", parts[2]),
        "unsupported_token",
    );
    s.err(
        "a thousand dots",
        "default",
        ".".repeat(1000),
        "unsupported_token",
    );
    s.err(
        "JWE-like five segments",
        "default",
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], parts[1], parts[1], parts[2]
        ),
        "unsupported_token",
    );
    s.err(
        "empty signature",
        "default",
        format!("{}.{}.", parts[0], parts[1]),
        "malformed",
    );
    // Still a JWS attempt (never taken for an opaque token); a JWT payload is an object.
    s.err(
        "empty payload, signed",
        "default",
        k.es256.raw_token(&header("ES256", "ec-p256"), ""),
        "malformed",
    );
    s.err(
        "padding in the header",
        "default",
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        "malformed",
    );
    s.err(
        "standard base64 alphabet",
        "default",
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1].replace('-', "+").replace('_', "/") + "+/",
            parts[2]
        ),
        "malformed",
    );
    s.err(
        "whitespace inside",
        "default",
        format!("{}. {}.{}", parts[0], parts[1], parts[2]),
        "malformed",
    );
    s.err(
        "Bearer prefix left on",
        "default",
        format!("Bearer {good}"),
        "malformed",
    );
    // Non-canonical trailing bits: the same bytes, a second spelling.
    let h = header("ES256", "ec-p256");
    let mut eh = b64(&h);
    if !eh.len().is_multiple_of(4) {
        let last = eh.pop().unwrap_or('A');
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let pos = alphabet.find(last).unwrap_or(0);
        eh.push(alphabet.as_bytes()[(pos | 1).min(63)] as char);
        s.err(
            "non-canonical trailing bits",
            "default",
            format!("{eh}.{}.{}", parts[1], parts[2]),
            // A JWS by its shape, so a malformed one: never an opaque token for introspection.
            "malformed",
        );
    }
    s.err(
        "token over max_token_bytes",
        "default",
        format!("{good}{}", "A".repeat(17000)),
        "token_too_large",
    );
    let deep = format!(
        "{{\"iss\":\"{ISSUER}\",\"x\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    s.err(
        "5000-deep nesting in a signed payload",
        "default",
        raw(&k.es256, &header("ES256", "ec-p256"), &deep),
        "malformed",
    );
    let deeper = format!(
        "{{\"iss\":\"{ISSUER}\",\"x\":{}{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    s.err(
        "10^4-deep nesting in a signed payload",
        "large_tokens",
        raw(&k.es256, &header("ES256", "ec-p256"), &deeper),
        "malformed",
    );
    let c = claims().to_string();
    let dup_sub = c.replacen('{', "{\"sub\":\"admin\",", 1);
    s.err(
        "duplicate sub in a signed payload",
        "default",
        raw(&k.es256, &header("ES256", "ec-p256"), &dup_sub),
        "malformed",
    );
    let dup_esc = c.replacen('{', "{\"s\\u0075b\":\"admin\",", 1);
    s.err(
        "duplicate sub spelled with an escape",
        "default",
        raw(&k.es256, &header("ES256", "ec-p256"), &dup_esc),
        "malformed",
    );
    s.err(
        "payload is an array",
        "default",
        raw(&k.es256, &header("ES256", "ec-p256"), "[1]"),
        "malformed",
    );
    s.err(
        "payload is not JSON",
        "default",
        raw(&k.es256, &header("ES256", "ec-p256"), "not json"),
        "malformed",
    );
    s.err(
        "payload with trailing garbage",
        "default",
        raw(&k.es256, &header("ES256", "ec-p256"), &format!("{c}x")),
        "malformed",
    );
    s
}

fn signature_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "signatures",
        "Signature checks: tampering, ECDSA encodings and ranges.",
    );
    s.config("default", base_config(k));
    let c = claims();
    let good = k.rsa_a.token(&c);
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = with(c.clone(), "sub", json!("admin"));
    s.err(
        "payload changed after signing",
        "default",
        format!("{}.{}.{}", parts[0], b64(tampered.to_string()), parts[2]),
        "signature_invalid",
    );
    let sig = jwtgate_testkit_decode(parts[2]);
    s.err(
        "RSA signature truncated",
        "default",
        format!("{}.{}.{}", parts[0], parts[1], b64(&sig[..sig.len() - 1])),
        "signature_invalid",
    );
    let mut flipped = sig.clone();
    flipped[10] ^= 1;
    s.err(
        "RSA signature with one bit flipped",
        "default",
        format!("{}.{}.{}", parts[0], parts[1], b64(&flipped)),
        "signature_invalid",
    );
    let es = k.es256.token(&c);
    let ep: Vec<&str> = es.split('.').collect();
    s.err(
        "ECDSA all-zero signature",
        "default",
        format!("{}.{}.{}", ep[0], ep[1], b64([0u8; 64])),
        "signature_invalid",
    );
    // n of P-256: r = n is out of range and must be refused (not reduced mod n).
    let n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let r_eq_n = [n.clone(), n.clone()].concat();
    s.err(
        "ECDSA r = s = n",
        "default",
        format!("{}.{}.{}", ep[0], ep[1], b64(&r_eq_n)),
        "signature_invalid",
    );
    let esig = jwtgate_testkit_decode(ep[2]);
    let mut r_plus_n = esig.clone();
    r_plus_n[..32].copy_from_slice(&n);
    s.err(
        "ECDSA r replaced by n",
        "default",
        format!("{}.{}.{}", ep[0], ep[1], b64(&r_plus_n)),
        "signature_invalid",
    );
    let der = der_signature(&esig[..32], &esig[32..]);
    s.err(
        "ECDSA signature in DER instead of r||s (RFC 7518 §3.4)",
        "default",
        format!("{}.{}.{}", ep[0], ep[1], b64(&der)),
        "signature_invalid",
    );
    s.err(
        "ECDSA signature one byte short",
        "default",
        format!("{}.{}.{}", ep[0], ep[1], b64(&esig[..63])),
        "signature_invalid",
    );
    let ed = k.ed.token(&c);
    let dp: Vec<&str> = ed.split('.').collect();
    s.err(
        "Ed25519 all-zero signature",
        "default",
        format!("{}.{}.{}", dp[0], dp[1], b64([0u8; 64])),
        "signature_invalid",
    );
    s.err(
        "signature from another key with the same kid",
        "default",
        TestKey::rsa("rsa-b", "RS256", "rsa-a").token(&c),
        "signature_invalid",
    );
    s
}

fn claims_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "claims",
        "Registered claims (RFC 7519 §4.1), typing (RFC 9068 §4), policy options.",
    );
    s.config("default", base_config(k));
    let mut required = base_config(k);
    required["required_claims"] = json!(["sub", "scope"]);
    s.config("required_claims", required);
    let mut max_age = base_config(k);
    max_age["max_token_age"] = json!(3600);
    s.config("max_token_age", max_age);
    let mut no_leeway = base_config(k);
    no_leeway["leeway"] = json!(0);
    no_leeway["verify_audience"] = json!(false);
    no_leeway.as_object_mut().map(|c| c.remove("audience"));
    s.config("any_audience", no_leeway);
    let mut no_exp = base_config(k);
    no_exp["require_exp"] = json!(false);
    s.config("exp_optional", no_exp);
    let key = &k.es256;
    let c = claims();
    let t = |v: &Value| key.token(v);
    s.err(
        "expired",
        "default",
        t(&with(c.clone(), "exp", json!(PAST))),
        "expired",
    );
    s.err(
        "expired, fractional exp",
        "default",
        t(&with(c.clone(), "exp", json!(1_600_000_000.5))),
        "expired",
    );
    s.err(
        "nbf in the future",
        "default",
        t(&with(c.clone(), "nbf", json!(FUTURE))),
        "not_yet_valid",
    );
    s.err(
        "iat in the future",
        "default",
        t(&with(c.clone(), "iat", json!(FUTURE))),
        "issued_in_future",
    );
    for (what, v) in [
        ("a string", json!("4102444800")),
        ("null", Value::Null),
        ("negative", json!(-1)),
        ("i64::MAX", json!(i64::MAX)),
        ("1e300", json!(1e300)),
        ("an object", json!({ "t": 1 })),
        ("true", json!(true)),
    ] {
        s.err(
            &format!("exp as {what}"),
            "default",
            t(&with(c.clone(), "exp", v)),
            "invalid_claim",
        );
    }
    let raw_exp = claims()
        .to_string()
        .replace(&format!("\"exp\":{EXP}"), "\"exp\":1e999");
    s.err(
        "exp as 1e999",
        "default",
        key.raw_token(&header("ES256", "ec-p256"), &raw_exp),
        "malformed",
    );
    s.err(
        "nbf as a string",
        "default",
        t(&with(c.clone(), "nbf", json!("0"))),
        "invalid_claim",
    );
    s.err(
        "exp missing",
        "default",
        t(&without(c.clone(), "exp")),
        "missing_claim",
    );
    let no_exp = without(c.clone(), "exp");
    s.ok(
        "exp missing, require_exp false",
        "exp_optional",
        t(&no_exp),
        &no_exp,
    );
    s.err(
        "iss missing",
        "default",
        t(&without(c.clone(), "iss")),
        "missing_claim",
    );
    s.err(
        "iss different",
        "default",
        t(&with(c.clone(), "iss", json!("https://evil.test"))),
        "issuer_mismatch",
    );
    s.err(
        "iss with a trailing slash",
        "default",
        t(&with(c.clone(), "iss", json!(format!("{ISSUER}/")))),
        "issuer_mismatch",
    );
    s.err(
        "iss in another case",
        "default",
        t(&with(c.clone(), "iss", json!(ISSUER.to_uppercase()))),
        "issuer_mismatch",
    );
    s.err(
        "iss as an array",
        "default",
        t(&with(c.clone(), "iss", json!([ISSUER]))),
        "invalid_claim",
    );
    s.err(
        "aud missing",
        "default",
        t(&without(c.clone(), "aud")),
        "missing_claim",
    );
    s.err(
        "aud empty array",
        "default",
        t(&with(c.clone(), "aud", json!([]))),
        "audience_mismatch",
    );
    s.err(
        "aud [1]",
        "default",
        t(&with(c.clone(), "aud", json!([1]))),
        "invalid_claim",
    );
    s.err(
        "aud an object",
        "default",
        t(&with(c.clone(), "aud", json!({ "aud": AUDIENCE }))),
        "invalid_claim",
    );
    s.err(
        "aud a prefix of ours",
        "default",
        t(&with(c.clone(), "aud", json!("https://api"))),
        "audience_mismatch",
    );
    s.err(
        "aud ours plus a suffix",
        "default",
        t(&with(c.clone(), "aud", json!(format!("{AUDIENCE}.evil")))),
        "audience_mismatch",
    );
    s.err(
        "aud another API",
        "default",
        t(&with(c.clone(), "aud", json!("https://payments.test"))),
        "audience_mismatch",
    );
    let any_aud = with(c.clone(), "aud", json!("https://payments.test"));
    s.ok(
        "any audience when verify_audience is false",
        "any_audience",
        t(&any_aud),
        &any_aud,
    );
    let id_header = json!({ "alg": "ES256", "kid": "ec-p256" });
    s.err(
        "ID token (no typ) where at+jwt is required",
        "default",
        key.token_with_header(&id_header, &c),
        "token_type_mismatch",
    );
    let jwt_header = json!({ "alg": "ES256", "kid": "ec-p256", "typ": "JWT" });
    s.err(
        "typ JWT where at+jwt is required",
        "default",
        key.token_with_header(&jwt_header, &c),
        "token_type_mismatch",
    );
    s.err(
        "required claim scope missing",
        "required_claims",
        t(&without(c.clone(), "scope")),
        "missing_claim",
    );
    s.err(
        "older than max_token_age",
        "max_token_age",
        t(&c),
        "token_too_old",
    );
    s.err(
        "max_token_age without iat",
        "max_token_age",
        t(&without(c.clone(), "iat")),
        "missing_claim",
    );
    // Found by the differential check (tests/differential): a number as `sub` or `jti` would
    // make the token impossible to revoke by subject or jti (RFC 7519 §4.1.2, §4.1.7).
    s.err(
        "sub is a number",
        "default",
        t(&with(c.clone(), "sub", json!(42))),
        "invalid_claim",
    );
    s.err(
        "jti is a number",
        "default",
        t(&with(c.clone(), "jti", json!(42))),
        "invalid_claim",
    );
    s
}

fn keys_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "keys",
        "Key import rules: every case is a configuration whose static JWKS must be refused at construction.",
    );
    let c = claims();
    let token = k.es256.token(&c);
    let bad =
        |jwk: Value| json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": { "keys": [jwk] } });
    let mut rsa = k.rsa_a.public_jwk();
    let mut ec = k.es256.public_jwk();
    let cases: Vec<(&str, Value)> = vec![
        ("RSA 1024-bit modulus (RFC 7518 §3.3)", rsa_1024_jwk()),
        ("RSA exponent 1", {
            rsa["e"] = json!(b64([1u8]));
            rsa.clone()
        }),
        ("RSA even exponent", {
            rsa["e"] = json!(b64([1u8, 0, 0]));
            rsa.clone()
        }),
        ("RSA private key published", {
            let mut r = k.rsa_a.public_jwk();
            r["d"] = json!(b64([7u8; 256]));
            r
        }),
        ("EC point not on the curve (invalid-curve attack)", {
            let mut y = jwtgate_testkit_decode(ec["y"].as_str().unwrap_or(""));
            y[31] ^= 1;
            ec["y"] = json!(b64(y));
            ec.clone()
        }),
        ("EC crv P-384 with alg ES256", {
            let mut e = k.es256.public_jwk();
            e["crv"] = json!("P-384");
            e
        }),
        ("EC coordinate too short", {
            let mut e = k.es256.public_jwk();
            e["x"] = json!(b64([1u8; 31]));
            e
        }),
        ("EC private key published", {
            let mut e = k.es256.public_jwk();
            e["d"] = json!(b64([1u8; 32]));
            e
        }),
        (
            "oct key in a JWKS (CVE-2016-10555)",
            json!({ "kty": "oct", "kid": "h", "k": b64(hmac_secret()) }),
        ),
        ("alg RS256 on an EC key", {
            let mut e = k.es256.public_jwk();
            e["alg"] = json!("RS256");
            e
        }),
        (
            "Ed25519 key of 31 bytes",
            json!({ "kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64([9u8; 31]) }),
        ),
        ("kid not a string", {
            let mut e = k.es256.public_jwk();
            e["kid"] = json!(7);
            e
        }),
        ("only an encryption key (use enc)", {
            let mut e = k.es256.public_jwk();
            e["use"] = json!("enc");
            e
        }),
        ("key_ops without verify", {
            let mut e = k.es256.public_jwk();
            e["key_ops"] = json!(["sign"]);
            e
        }),
    ];
    for (i, (what, jwk)) in cases.into_iter().enumerate() {
        let name = format!("bad_key_{i}");
        s.config(&name, bad(jwk));
        s.err(what, &name, token.clone(), "config");
    }
    s.config(
        "not_a_jwks",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": { "kty": "RSA" } }),
    );
    s.err(
        "JWKS without a keys array",
        "not_a_jwks",
        token.clone(),
        "config",
    );
    s.config(
        "short_secret",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "shared_secret": "too-short" }),
    );
    s.err(
        "HMAC secret shorter than 32 bytes (RFC 7518 §3.2)",
        "short_secret",
        token.clone(),
        "config",
    );
    s.config(
        "alg_none_allowed",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": k.jwks(), "algorithms": ["none"] }),
    );
    s.err(
        "algorithms listing none",
        "alg_none_allowed",
        token.clone(),
        "config",
    );
    s.config("hs_with_jwks_only", json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": k.jwks(), "algorithms": ["HS256"] }));
    s.err(
        "HS256 allowed without a shared secret",
        "hs_with_jwks_only",
        token.clone(),
        "config",
    );
    s.config("no_audience", json!({ "issuer": ISSUER, "jwks": k.jwks() }));
    s.err(
        "no audience and verify_audience not disabled",
        "no_audience",
        token.clone(),
        "config",
    );
    s.config(
        "leeway_too_large",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": k.jwks(), "leeway": 301 }),
    );
    s.err(
        "leeway over 300 s",
        "leeway_too_large",
        token.clone(),
        "config",
    );
    s.config(
        "unknown_option",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": k.jwks(), "audiance": "typo" }),
    );
    s.err(
        "unknown option name (a typo must not turn a check off)",
        "unknown_option",
        token.clone(),
        "config",
    );
    s.config("http_jwks_uri", json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": "http://keys.example.com/jwks" }));
    s.err(
        "plain-http jwks_uri for a non-loopback host",
        "http_jwks_uri",
        token.clone(),
        "config",
    );
    // A good key next to skipped ones still loads.
    let mut mixed = k.jwks();
    if let Some(list) = mixed["keys"].as_array_mut() {
        list.push(
            json!({ "kty": "RSA", "use": "enc", "kid": "enc-key", "n": "AQAB", "e": "AQAB" }),
        );
        list.push(json!({ "kty": "EC", "crv": "secp256k1", "kid": "k1", "x": "AA", "y": "AA" }));
    }
    s.config(
        "mixed",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": mixed, "token_type": "at+jwt" }),
    );
    s.ok(
        "keys for other uses are skipped, not fatal",
        "mixed",
        token,
        &c,
    );
    s
}

/// Regressions for the security audit (issue #8): each case is one finding's token or key.
fn audit_suite(k: &Keys) -> Suite {
    let mut s = Suite::new(
        "audit",
        "Security-audit regressions: ID and logout tokens under the default policy (RFC 8725 §3.11), a non-canonical JWS never sent to introspection, small-order Ed25519 keys (RFC 8032 §5.1.3), bounded duplicate-member names.",
    );
    let c = claims();
    // Finding 8: no token_type configured, as most deployments run.
    s.config(
        "no_token_type",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": k.jwks() }),
    );
    s.config(
        "no_token_type_lenient",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": k.jwks(), "access_tokens_only": false }),
    );
    let typed = |typ: Option<&str>, claims: &Value| {
        let mut h = json!({ "alg": "RS256", "kid": "rsa-a" });
        if let Some(t) = typ {
            h["typ"] = json!(t);
        }
        k.rsa_a.token_with_header(&h, claims)
    };
    s.ok(
        "plain typ JWT access token",
        "no_token_type",
        typed(Some("JWT"), &c),
        &c,
    );
    s.ok(
        "access token without typ",
        "no_token_type",
        typed(None, &c),
        &c,
    );
    let keycloak_access = with(c.clone(), "typ", json!("Bearer"));
    s.ok(
        "Keycloak access token (payload typ Bearer)",
        "no_token_type",
        typed(Some("JWT"), &keycloak_access),
        &keycloak_access,
    );
    let id_token = with(c.clone(), "nonce", json!("n-0S6_WzA2Mj"));
    let refused: Vec<(&str, String, Value)> = vec![
        ("ID token (nonce)", typed(None, &id_token), id_token.clone()),
        (
            "ID token (at_hash)",
            typed(
                Some("JWT"),
                &with(c.clone(), "at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
            ),
            with(c.clone(), "at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
        ),
        (
            "ID token (c_hash)",
            typed(
                None,
                &with(c.clone(), "c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
            ),
            with(c.clone(), "c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
        ),
        (
            "logout token (events)",
            typed(
                Some("logout+jwt"),
                &with(
                    c.clone(),
                    "events",
                    json!({ "http://schemas.openid.net/event/backchannel-logout": {} }),
                ),
            ),
            with(
                c.clone(),
                "events",
                json!({ "http://schemas.openid.net/event/backchannel-logout": {} }),
            ),
        ),
        ("typ logout+jwt", typed(Some("logout+jwt"), &c), c.clone()),
        (
            "typ application/secevent+jwt",
            typed(Some("application/secevent+jwt"), &c),
            c.clone(),
        ),
        (
            "typ id_token+jwt",
            typed(Some("id_token+jwt"), &c),
            c.clone(),
        ),
        (
            "Keycloak ID token (payload typ ID)",
            typed(Some("JWT"), &with(c.clone(), "typ", json!("ID"))),
            with(c.clone(), "typ", json!("ID")),
        ),
        (
            "Keycloak refresh token (payload typ Refresh)",
            typed(Some("JWT"), &with(c.clone(), "typ", json!("Refresh"))),
            with(c.clone(), "typ", json!("Refresh")),
        ),
    ];
    for (what, token, claims) in refused {
        s.err(what, "no_token_type", token.clone(), "token_type_mismatch");
        s.ok(
            &format!("{what}, accepted with access_tokens_only false"),
            "no_token_type_lenient",
            token,
            &claims,
        );
    }
    // Finding 9: with introspection configured (at a port where nothing listens), a JWS with a
    // non-canonical header is malformed, not an opaque token for the provider.
    s.config(
        "introspecting",
        json!({ "issuer": ISSUER, "audience": AUDIENCE, "jwks": k.jwks(),
                "client_id": "api", "client_secret": "secret",
                "introspection_endpoint": "http://127.0.0.1:9/introspect",
                "fetch_retries": 0, "fetch_timeout": 0.5, "fetch_deadline": 0.5 }),
    );
    let payload = b64(c.to_string());
    for (what, header) in [
        ("alg none header with trailing bits", "eyJhbGciOiJub25lIn1"),
        ("alg none header with padding", "eyJhbGciOiJub25lIn0="),
    ] {
        s.err(
            what,
            "introspecting",
            format!("{header}.{payload}.c2ln"),
            "malformed",
        );
    }
    // Finding 4: small-order and non-canonical Ed25519 public keys are refused at import; with
    // any of them, R = identity, S = 0 would verify every message.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order_two = [0xffu8; 32]; // y = p - 1: the point (0, -1)
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    let order_four = [0u8; 32]; // y = 0: (±sqrt(-1), 0)
    let mut order_four_neg = order_four;
    order_four_neg[31] = 0x80;
    let mut y_is_p = [0xffu8; 32]; // y = p: a non-canonical 0
    y_is_p[0] = 0xed;
    y_is_p[31] = 0x7f;
    let forged_input = format!(
        "{}.{}",
        b64(json!({ "alg": "EdDSA", "kid": "ed-small", "typ": "at+jwt" }).to_string()),
        b64(c.to_string())
    );
    let mut forged_sig = [0u8; 64];
    forged_sig[0] = 1; // R = the identity's encoding, S = 0
    let forged = format!("{forged_input}.{}", b64(forged_sig));
    for (i, (what, x)) in [
        ("Ed25519 identity point as the key", identity),
        ("Ed25519 point of order 2", order_two),
        ("Ed25519 point of order 4", order_four),
        ("Ed25519 point of order 4, sign bit set", order_four_neg),
        ("Ed25519 y = p (non-canonical)", y_is_p),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("small_order_{i}");
        s.config(
            &name,
            json!({ "issuer": ISSUER, "audience": AUDIENCE, "token_type": "at+jwt",
                    "jwks": { "keys": [{ "kty": "OKP", "crv": "Ed25519", "kid": "ed-small", "x": b64(x) }] } }),
        );
        s.err(what, &name, forged.clone(), "config");
    }
    // Finding 7: a duplicate member with a 5,000-character name is malformed (and its message,
    // checked by each face's own suite, quotes at most 32 bytes of it).
    let long = "n".repeat(5000);
    s.err(
        "duplicate header member with a 5,000-character name",
        "default",
        k.rsa_a.raw_token(
            &format!(r#"{{"alg":"RS256","kid":"rsa-a","typ":"at+jwt","{long}":1,"{long}":2}}"#),
            &c.to_string(),
        ),
        "malformed",
    );
    s.config("default", base_config(k));
    s
}

/// Many issuers in one validator (issue #9): routing by `iss`, keys that never cross issuers,
/// per-issuer allowlists, and the configuration rules.
fn issuers_suite(k: &Keys) -> Suite {
    const A: &str = "https://a.issuer.test";
    const B: &str = "https://b.issuer.test";
    let mut s = Suite::new(
        "issuers",
        "Several issuers in one validator (issuers): a JWS is routed by its iss and verified with that issuer's keys only; an iss that names no configured issuer is refused without any key lookup.",
    );
    let entry = |issuer: &str, keys: &[&jwtgate_testkit::TestKey], alg: &str| json!({ "issuer": issuer, "audience": AUDIENCE, "jwks": jwks(keys), "algorithms": [alg], "token_type": "at+jwt" });
    s.config(
        "two_issuers",
        json!({ "issuers": [entry(A, &[&k.rsa_a], "RS256"), entry(B, &[&k.es256], "ES256")] }),
    );
    let claims_of = |iss: &str| with(claims(), "iss", json!(iss));
    let (ca, cb) = (claims_of(A), claims_of(B));
    s.ok("issuer A's token", "two_issuers", k.rsa_a.token(&ca), &ca);
    s.ok("issuer B's token", "two_issuers", k.es256.token(&cb), &cb);
    s.err(
        "claims issuer A, signed with B's key and kid",
        "two_issuers",
        k.es256.token(&ca),
        "algorithm_not_allowed",
    );
    s.err(
        "claims issuer B, signed with A's key and kid",
        "two_issuers",
        k.rsa_a.token(&cb),
        "algorithm_not_allowed",
    );
    s.err(
        "claims issuer A, B's key under A's kid",
        "two_issuers",
        {
            let input = format!(
                "{}.{}",
                b64(header("RS256", &k.rsa_a.kid)),
                b64(ca.to_string())
            );
            format!(
                "{input}.{}",
                b64(k.rsa_b.sign_as("RS256", input.as_bytes()))
            )
        },
        "signature_invalid",
    );
    s.err(
        "an issuer that is not configured",
        "two_issuers",
        k.rsa_a.token(&claims_of("https://evil.test")),
        "issuer_mismatch",
    );
    s.err(
        "no iss",
        "two_issuers",
        k.rsa_a.token(&without(claims(), "iss")),
        "missing_claim",
    );
    s.err(
        "iss not a string",
        "two_issuers",
        k.rsa_a
            .token(&with(claims(), "iss", json!(["https://a.issuer.test"]))),
        "invalid_claim",
    );
    let bad_configs = [
        (
            "issuer and issuers together",
            json!({ "issuer": A, "issuers": [entry(B, &[&k.es256], "ES256")] }),
        ),
        (
            "a per-issuer option at the top level",
            json!({ "audience": AUDIENCE, "issuers": [entry(A, &[&k.rsa_a], "RS256")] }),
        ),
        (
            "the same issuer twice",
            json!({ "issuers": [entry(A, &[&k.rsa_a], "RS256"), entry(A, &[&k.es256], "ES256")] }),
        ),
        ("no issuers", json!({ "issuers": [] })),
        ("introspection on two issuers", {
            let introspecting = |e: Value| {
                let e = with(e, "client_id", json!("api"));
                let e = with(e, "client_secret", json!("secret"));
                with(
                    e,
                    "introspection_endpoint",
                    json!("http://127.0.0.1:9/introspect"),
                )
            };
            json!({ "issuers": [
                    introspecting(entry(A, &[&k.rsa_a], "RS256")),
                    introspecting(entry(B, &[&k.es256], "ES256")),
                ] })
        }),
    ];
    for (i, (what, config)) in bad_configs.into_iter().enumerate() {
        let name = format!("bad_issuers_{i}");
        s.config(&name, config);
        s.err(what, &name, k.rsa_a.token(&ca), "config");
    }
    s
}

/// The HTTP edge (RFC 6750): an `Authorization` header value and the route's required scopes
/// → the status, the `WWW-Authenticate` challenge and the JSON body every HTTP integration must
/// answer. Written out by hand here (not computed by the engine under test).
fn http_document(k: &Keys) -> Value {
    let c = claims();
    let good = k.rsa_a.token(&c);
    let expired = k.rsa_a.token(&with(c.clone(), "exp", json!(PAST)));
    let configs = json!({
        "default": base_config(k),
        "provider_down": { "issuer": ISSUER, "audience": AUDIENCE, "token_type": "at+jwt",
            "jwks_uri": "http://127.0.0.1:9/internal/jwks", "fetch_retries": 0,
            "fetch_timeout": 0.5, "fetch_deadline": 0.5 },
    });
    let refused = |status: u16, challenge: Option<&str>, body: Value| json!({ "status": status, "challenge": challenge, "body": body });
    let invalid_token = |description: &str, kind: &str| {
        refused(
            401,
            Some(&format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{description}\""
            )),
            json!({ "error": "invalid_token", "error_description": description, "kind": kind }),
        )
    };
    let bad_request = |description: &str| {
        refused(
            400,
            Some(&format!(
                "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"{description}\""
            )),
            json!({ "error": "invalid_request", "error_description": description, "kind": "invalid_request" }),
        )
    };
    let missing = refused(
        401,
        Some("Bearer realm=\"api\""),
        json!({ "error": "unauthorized", "kind": "missing_token" }),
    );
    let ok = json!({ "status": 200, "sub": c["sub"] });
    let cases = vec![
        (
            "a good token",
            "default",
            Some(format!("Bearer {good}")),
            vec![],
            ok.clone(),
        ),
        (
            "the scheme is case-insensitive",
            "default",
            Some(format!("bEaReR {good}")),
            vec![],
            ok.clone(),
        ),
        (
            "several spaces after the scheme",
            "default",
            Some(format!("Bearer   {good}")),
            vec![],
            ok.clone(),
        ),
        (
            "a granted scope",
            "default",
            Some(format!("Bearer {good}")),
            vec!["read:items"],
            ok.clone(),
        ),
        (
            "no Authorization header",
            "default",
            None,
            vec![],
            missing.clone(),
        ),
        (
            "an empty Authorization header",
            "default",
            Some(String::new()),
            vec![],
            missing.clone(),
        ),
        (
            "another scheme",
            "default",
            Some("Basic dXNlcjpwYXNz".into()),
            vec![],
            missing.clone(),
        ),
        (
            "Bearer without a token",
            "default",
            Some("Bearer".into()),
            vec![],
            bad_request("the Bearer credentials are empty"),
        ),
        (
            "a character outside b64token",
            "default",
            Some("Bearer abc$".into()),
            vec![],
            bad_request("the Bearer credentials are not one RFC 6750 b64token"),
        ),
        (
            "two values",
            "default",
            Some(format!("Bearer {good} {good}")),
            vec![],
            bad_request("the Bearer credentials are not one RFC 6750 b64token"),
        ),
        (
            "an expired token",
            "default",
            Some(format!("Bearer {expired}")),
            vec![],
            invalid_token("token has expired", "expired"),
        ),
        (
            "an opaque token without introspection",
            "default",
            Some("Bearer opaque-7c1f0e2d".into()),
            vec![],
            invalid_token(
                "not a JWT, and no introspection is configured (client_id)",
                "unsupported_token",
            ),
        ),
        (
            "a missing scope",
            "default",
            Some(format!("Bearer {good}")),
            vec!["read:items", "admin"],
            refused(
                403,
                Some(
                    "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"missing scope: admin\", scope=\"read:items admin\"",
                ),
                json!({ "error": "insufficient_scope", "error_description": "missing scope: admin", "kind": "insufficient_scope" }),
            ),
        ),
        (
            "the provider is down: nothing about it reaches the client",
            "provider_down",
            Some(format!("Bearer {good}")),
            vec![],
            refused(
                503,
                None,
                json!({ "error": "temporarily_unavailable", "error_description": "the authorization server is unavailable; retry later", "kind": "jwks_unavailable" }),
            ),
        ),
    ];
    let cases: Vec<Value> = cases
        .into_iter()
        .map(|(name, config, authorization, scopes, expect)| {
            json!({ "name": name, "config": config, "authorization": authorization,
                    "realm": "api", "scopes": scopes, "expect": expect })
        })
        .collect();
    json!({
        "suite": "http",
        "description": "The HTTP edge (RFC 6750 §2.1, §3): Authorization header value, realm and the route's required scopes -> status, WWW-Authenticate challenge (null: none) and JSON body; status 200 means the request goes through with that sub. Read by every face's HTTP integration tests (FastAPI, Express, Go net/http, the C helper); token suites skip this file (its cases have no token).",
        "clock": "expectations hold for any clock between 2026-01-02 and 2096-01-01",
        "configs": configs,
        "cases": cases,
    })
}

fn jwtgate_testkit_decode(part: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect()
}

/// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (the encoding JWS forbids).
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let mut body = if v.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            vec![]
        };
        body.extend(v);
        let mut out = vec![0x02, body.len() as u8];
        out.extend(body);
        out
    }
    let mut body = int(r);
    body.extend(int(s));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// The committed file with tokens left out: ECDSA and RSA-PSS signatures are randomised, so
/// only the cases, configurations and expectations can be compared with a fresh generation.
/// The HTTP document without the `authorization` values (they hold signed tokens).
fn without_http_tokens(mut doc: Value) -> Value {
    if let Some(cases) = doc["cases"].as_array_mut() {
        for case in cases {
            case.as_object_mut().map(|c| c.remove("authorization"));
        }
    }
    doc
}

fn without_tokens(mut doc: Value) -> Value {
    if let Some(cases) = doc["cases"].as_array_mut() {
        for case in cases {
            case.as_object_mut().map(|c| c.remove("token"));
        }
    }
    doc
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    std::fs::create_dir_all(&dir).expect("create tests/vectors");
    let check = std::env::args().any(|a| a == "--check");
    let keys = Keys::load();
    let suites = [
        valid_suite(&keys),
        algorithm_suite(&keys),
        header_suite(&keys),
        structure_suite(&keys),
        signature_suite(&keys),
        claims_suite(&keys),
        keys_suite(&keys),
        audit_suite(&keys),
        issuers_suite(&keys),
    ];
    let count = suites.len();
    let mut stale = Vec::new();
    for suite in suites {
        if check {
            let path = dir.join(format!("{}.json", suite.name));
            let committed: Value = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            if without_tokens(committed) != without_tokens(suite.document()) {
                stale.push(path.display().to_string());
            }
        } else {
            suite.write(&dir);
        }
    }
    let http = http_document(&keys);
    let http_path = dir.join("http.json");
    if check {
        let committed: Value = std::fs::read_to_string(&http_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if without_http_tokens(committed) != without_http_tokens(http.clone()) {
            stale.push(http_path.display().to_string());
        }
    } else {
        let text = serde_json::to_string_pretty(&http).expect("json") + "\n";
        std::fs::write(&http_path, text).unwrap_or_else(|e| panic!("{}: {e}", http_path.display()));
        println!("wrote {}", http_path.display());
    }
    if !stale.is_empty() {
        eprintln!(
            "stale test vectors (run `make vectors` and commit): {}",
            stale.join(", ")
        );
        std::process::exit(1);
    }
    if check {
        println!("tests/vectors: {count} suites match the generator");
    }
}
