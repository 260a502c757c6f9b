//! Strict JSON for token headers, payloads and JWKS documents.
//!
//! serde_json keeps the last of two members with the same name; two parsers that disagree on
//! which one wins are a classic JWT bypass (RFC 7515 §5.2, RFC 8725 §3.8). We refuse
//! duplicates outright, compared after unescaping (`"alg"` and `"\u0061lg"` are the same
//! name), and cap nesting depth so a hostile document cannot exhaust the stack.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Nesting deeper than this is refused. Real claims (Keycloak's `realm_access.roles`, ...)
/// stay under 8.
pub(crate) const MAX_DEPTH: usize = 32;

/// Parses `bytes` as one JSON object with unique member names at every level.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue { depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("not a JSON object".to_string()),
    }
}

struct StrictValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json already refuses 1e999; keep the guard in case that ever changes.
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue { depth })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One lookup per member: the entry is reserved before its value is read.
            match out.entry(key) {
                serde_json::map::Entry::Occupied(taken) => {
                    // The name is attacker text: bounded, and `{:?}` escapes control characters.
                    return Err(de::Error::custom(format_args!(
                        "duplicate member name {:?}",
                        crate::token::truncate(taken.key())
                    )));
                }
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(map.next_value_seed(StrictValue { depth })?);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

impl StrictValue {
    fn enter<E: de::Error>(&self) -> Result<usize, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format_args!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(self.depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_objects() {
        let m = parse_object(br#"{"a":1,"b":[true,null,"x",{"c":1.5}]}"#).unwrap();
        assert_eq!(m["a"], 1);
    }

    #[test]
    fn refuses_duplicates_even_when_escaped() {
        assert!(
            parse_object(br#"{"alg":"RS256","alg":"none"}"#)
                .unwrap_err()
                .contains("duplicate")
        );
        assert!(
            parse_object(br#"{"alg":"RS256","\u0061lg":"none"}"#)
                .unwrap_err()
                .contains("duplicate")
        );
        assert!(
            parse_object(br#"{"x":{"a":1,"a":2}}"#)
                .unwrap_err()
                .contains("duplicate")
        );
    }

    #[test]
    fn duplicate_names_are_quoted_bounded() {
        // `\\u001b` in the JSON text: an ESC character in the decoded name.
        let name = "\\u001b[31m".to_string() + &"n".repeat(5000);
        let doc = format!(r#"{{"{name}":1,"{name}":2}}"#);
        let message = parse_object(doc.as_bytes()).unwrap_err();
        assert!(message.len() < 200, "{} bytes", message.len());
        assert!(
            !message.contains('\u{1b}'),
            "control characters are escaped"
        );
    }

    #[test]
    fn refuses_non_objects_trailing_data_and_depth() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"{} {}").is_err());
        assert!(parse_object(br#"{"exp":1e999}"#).is_err());
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(
            parse_object(deep.as_bytes())
                .unwrap_err()
                .contains("nesting")
        );
        let ok = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse_object(ok.as_bytes()).is_ok());
    }
}
