//! Strict parsing of a compact JWS (RFC 7515 §7.1). Nothing here trusts the token: sizes are
//! checked before splitting, base64url must be canonical and unpadded, the header must be a
//! JSON object with unique member names, and header parameters we do not implement reject
//! the token instead of being ignored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::json;
use crate::keys::Algorithm;

/// `kid` longer than this is refused: real kids are thumbprints or short names.
pub(crate) const MAX_KID_BYTES: usize = 256;

/// A compact JWS split into its parts, with the protected header parsed and checked.
#[derive(Debug)]
pub(crate) struct CompactJws<'t> {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub header_json: String,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'t [u8],
    /// The decoded payload bytes (JSON is parsed only after the signature verifies).
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Splits `token` into exactly three non-empty segments, or says it is not a compact JWS.
/// Used by [`parse`] and to classify tokens as JWT or opaque.
pub(crate) fn split(token: &str) -> Option<(&str, &str, &str)> {
    let (header, rest) = token.split_once('.')?;
    let (payload, signature) = rest.split_once('.')?;
    // An empty payload is still a JWS attempt (and then malformed: a JWT payload is a JSON
    // object); only a JWS goes the local path, so it must not be mistaken for an opaque token.
    if signature.contains('.') || header.is_empty() {
        return None;
    }
    Some((header, payload, signature))
}

/// Canonical unpadded base64url (RFC 7515 §2): padding, `+`, `/`, whitespace and non-zero
/// trailing bits are all refused, so one token has exactly one encoding.
pub(crate) fn b64(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).ok()
}

/// Parses the structure and the protected header; checks `alg` against the allowlist.
/// `Ok(None)`: not a JWS at all (an opaque token, or garbage). The payload is decoded only
/// after the signature verifies.
pub(crate) fn parse<'t>(
    token: &'t str,
    max_bytes: usize,
    allowed: &[Algorithm],
) -> Result<Option<CompactJws<'t>>> {
    if token.len() > max_bytes {
        return Err(Error::new(
            ErrorKind::TokenTooLarge,
            format!("token is {} bytes, the limit is {max_bytes}", token.len()),
        ));
    }
    // RFC 7515 §7.1 gives no marker for "this is a JWS"; we take three segments whose first
    // decodes to text starting with `{` as a JWS attempt: from there on every fault is final
    // (never sent to introspection). Anything else is not a JWS (see `is_b64token`).
    let Some((header_b64, payload_b64, signature_b64)) = split(token) else {
        return Ok(None);
    };
    // Shape before canonicality: a header that decodes to `{...}` only when trailing bits or
    // padding are tolerated (`eyJhbGciOiJub25lIn1`) is still a JWS attempt, and a malformed
    // one. Classified as opaque, it would turn an unauthenticated request into an
    // authenticated POST to the provider (the rule in `validator.rs`).
    if !looks_like_json_object(header_b64) {
        return Ok(None);
    }
    let header_bytes = b64(header_b64)
        .ok_or_else(|| Error::malformed("header is not canonical base64url (RFC 7515 §2)"))?;
    let header =
        json::parse_object(&header_bytes).map_err(|e| Error::malformed(format!("header: {e}")))?;
    let header_json =
        String::from_utf8(header_bytes).map_err(|_| Error::malformed("header is not UTF-8"))?;
    let alg = header_algorithm(&header, allowed)?;
    check_unsupported_parameters(&header)?;
    let kid = optional_string(&header, "kid")?;
    if kid.as_ref().is_some_and(|k| k.len() > MAX_KID_BYTES) {
        return Err(Error::malformed(format!(
            "kid is longer than {MAX_KID_BYTES} bytes"
        )));
    }
    let typ = optional_string(&header, "typ")?;
    // Decoded now (a bad segment is malformed, not a bad signature) but parsed as JSON only
    // after the signature verifies: nothing unauthenticated reaches the JSON parser but the
    // header.
    let payload =
        b64(payload_b64).ok_or_else(|| Error::malformed("payload is not canonical base64url"))?;
    // An empty signature is what `alg: none` tokens carry; `none` was refused above, so an
    // empty one here is simply malformed.
    let signature = b64(signature_b64)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::malformed("signature is empty or not canonical base64url"))?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    Ok(Some(CompactJws {
        alg,
        kid,
        typ,
        header_json,
        signing_input: &token.as_bytes()[..signing_input_len],
        payload,
        signature,
    }))
}

/// True when `segment`, decoded leniently (trailing bits and padding tolerated), is text that
/// starts with `{`: the shape of a JWS header, canonical or not.
fn looks_like_json_object(segment: &str) -> bool {
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    // Only the first bytes matter: decode a short prefix (4 characters → 3 bytes each).
    let prefix_len = segment.len().min(64) / 4 * 4;
    let prefix = if prefix_len == 0 {
        segment
    } else {
        // `None` when the cut is inside a multi-byte character: not base64url at all.
        let Some(prefix) = segment.get(..prefix_len) else {
            return false;
        };
        prefix
    };
    LENIENT
        .decode(prefix)
        .is_ok_and(|bytes| bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// RFC 6750 §2.1 `b64token`: what a bearer token may look like at all. A string that is not a
/// JWS and not even this is malformed, and is never sent to introspection.
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    // A table lookup per byte: this runs on every request (the HTTP edge checks the header
    // before the cache), and a 1 KB token is walked whole.
    !body.is_empty() && body.bytes().all(|b| B64TOKEN[usize::from(b)])
}

/// RFC 6750 §2.1 `b64token` characters (before the trailing `=`).
static B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// RFC 8725 §3.1: the token's `alg` only selects among algorithms we already allow; `none`
/// (in any letter case) never is (RFC 8725 §2.1, CVE-2015-9235).
fn header_algorithm(header: &Map<String, Value>, allowed: &[Algorithm]) -> Result<Algorithm> {
    let name = match header.get("alg") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(Error::malformed("alg is not a string")),
        None => return Err(Error::malformed("header has no alg (RFC 7515 §4.1.1)")),
    };
    if name.eq_ignore_ascii_case("none") {
        return Err(Error::new(
            ErrorKind::AlgorithmNotAllowed,
            "alg none is never accepted (RFC 8725 §2.1)",
        ));
    }
    match Algorithm::from_name(name) {
        Some(alg) if allowed.contains(&alg) => Ok(alg),
        _ => Err(Error::new(
            ErrorKind::AlgorithmNotAllowed,
            format!("alg {:?} is not allowed", truncate(name)),
        )),
    }
}

/// RFC 7515 §4.1.11: a recipient must reject a token whose `crit` lists an extension it does
/// not implement; we implement none, and an empty or malformed `crit` is invalid too.
/// RFC 7797 `b64` changes what the signature covers: we do not implement it.
/// `jku`, `x5u`, `jwk` and `x5c` are deliberately ignored: keys come from configuration only
/// (RFC 8725 §3.10; CVE-2018-0114 trusted an embedded `jwk`).
fn check_unsupported_parameters(header: &Map<String, Value>) -> Result<()> {
    if header.contains_key("crit") {
        return Err(Error::new(
            ErrorKind::UnsupportedHeader,
            "crit lists extensions this validator does not implement (RFC 7515 §4.1.11)",
        ));
    }
    if header.contains_key("b64") {
        return Err(Error::new(
            ErrorKind::UnsupportedHeader,
            "b64 (RFC 7797 unencoded payload) is not supported",
        ));
    }
    Ok(())
}

fn optional_string(header: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::malformed(format!("{name} is not a string"))),
    }
}

/// Keeps attacker-chosen strings short in error messages.
pub(crate) fn truncate(s: &str) -> String {
    truncate_to(s, 32)
}

/// `s` cut to at most `max` bytes (on a character boundary), with `…` when cut.
pub(crate) fn truncate_to(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str) -> String {
        format!("{}.{}.{}", enc(header), enc("{}"), enc("sig"))
    }

    fn kind(t: &str) -> ErrorKind {
        parse(t, 16384, &[Algorithm::RS256]).unwrap_err().kind()
    }

    #[test]
    fn parses_a_good_header() {
        let t = token(r#"{"alg":"RS256","kid":"k1","typ":"at+jwt"}"#);
        let p = parse(&t, 16384, &[Algorithm::RS256]).unwrap().unwrap();
        assert_eq!(p.alg, Algorithm::RS256);
        assert_eq!(p.kid.as_deref(), Some("k1"));
        assert_eq!(p.signature, b"sig");
    }

    fn not_jws(t: &str) -> bool {
        matches!(parse(t, 16384, &[Algorithm::RS256]), Ok(None))
    }

    #[test]
    fn structure_is_strict() {
        assert!(not_jws("a.b"));
        assert!(not_jws("a.b.c.d"));
        assert!(not_jws(&".".repeat(1000)));
        assert!(not_jws(&format!(
            "{}.{}.{}",
            enc("[1]"),
            enc("{}"),
            enc("sig")
        )));
        assert!(not_jws("opaque-token-value"));
        assert_eq!(kind(&"a".repeat(20000)), ErrorKind::TokenTooLarge);
        let padded = format!(
            "{}=.{}.{}",
            enc(r#"{"alg":"RS256"}"#),
            enc("{}"),
            enc("sig")
        );
        // Padding or trailing bits make a header non-canonical, not opaque: still a JWS
        // attempt, and malformed (never sent to introspection).
        assert_eq!(kind(&padded), ErrorKind::Malformed);
        let trailing_bits = format!("eyJhbGciOiJub25lIn1.{}.{}", enc("{}"), enc("sig"));
        assert_eq!(kind(&trailing_bits), ErrorKind::Malformed);
        assert!(not_jws(&format!(
            "{}.{}.{}",
            enc("xyz"),
            enc("{}"),
            enc("sig")
        )));
        let bad_payload = format!("{}.{}.{}", enc(r#"{"alg":"RS256"}"#), "a b", enc("sig"));
        assert_eq!(kind(&bad_payload), ErrorKind::Malformed);
        let no_sig = format!("{}.{}.", enc(r#"{"alg":"RS256"}"#), enc("{}"));
        assert_eq!(kind(&no_sig), ErrorKind::Malformed);
    }

    #[test]
    fn b64token_syntax() {
        assert!(is_b64token("abc.DEF-_~+/=="));
        assert!(!is_b64token(""));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a=b"));
        assert!(!is_b64token("Bearer abc"));
        assert!(!is_b64token("ab\u{e9}"));
    }

    #[test]
    fn alg_rules() {
        for h in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"None"}"#,
            r#"{"alg":"nOnE"}"#,
            r#"{"alg":""}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"rs256"}"#,
        ] {
            assert_eq!(kind(&token(h)), ErrorKind::AlgorithmNotAllowed, "{h}");
        }
        for h in [
            r#"{"typ":"JWT"}"#,
            r#"{"alg":["RS256"]}"#,
            r#"{"alg":null}"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
        ] {
            assert_eq!(kind(&token(h)), ErrorKind::Malformed, "{h}");
        }
    }

    #[test]
    fn unsupported_parameters() {
        assert_eq!(
            kind(&token(r#"{"alg":"RS256","crit":["exp"]}"#)),
            ErrorKind::UnsupportedHeader
        );
        assert_eq!(
            kind(&token(r#"{"alg":"RS256","crit":[]}"#)),
            ErrorKind::UnsupportedHeader
        );
        assert_eq!(
            kind(&token(r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#)),
            ErrorKind::UnsupportedHeader
        );
        assert_eq!(
            kind(&token(r#"{"alg":"RS256","kid":5}"#)),
            ErrorKind::Malformed
        );
        let long_kid = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(300));
        assert_eq!(kind(&token(&long_kid)), ErrorKind::Malformed);
    }
}
