//! The shared vectors (`tests/vectors/*.json`) through the Rust core: every face runs the
//! same files through its own API and must reach the same outcome.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::PathBuf;

use jwtgate::{Config, Validator, edge};
use serde_json::Value;

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/vectors exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        // http.json holds HTTP answers, not token cases: `http_answers_follow_the_vectors`.
        .filter(|p| p.file_name().is_some_and(|n| n != "http.json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_vector_reaches_its_expected_outcome() {
    let files = vector_files();
    assert!(files.len() >= 7, "vectors missing: run `make vectors`");
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        for case in doc["cases"].as_array().expect("cases") {
            count += 1;
            let name = format!(
                "{}: {}",
                file.file_name().unwrap().to_string_lossy(),
                case["name"].as_str().unwrap()
            );
            let config = &doc["configs"][case["config"].as_str().expect("config name")];
            let token = case["token"].as_str().expect("token");
            let expect = &case["expect"];
            let outcome = serde_json::from_value::<Config>(config.clone())
                .map_err(|e| jwtgate::Error::new(jwtgate::ErrorKind::Config, e.to_string()))
                .and_then(Validator::new)
                .and_then(|v| v.validate_blocking(token));
            match (outcome, expect["valid"].as_bool().expect("valid")) {
                (Ok(v), true) => {
                    if Value::Object(v.claims().as_map().clone()) != expect["claims"] {
                        failures.push(format!("{name}: claims differ"));
                    }
                }
                (Err(e), false) => {
                    if e.kind().as_str() != expect["error"].as_str().unwrap() {
                        failures.push(format!(
                            "{name}: expected {}, got {} ({})",
                            expect["error"],
                            e.kind(),
                            e.message()
                        ));
                    }
                }
                (Ok(_), false) => {
                    failures.push(format!("{name}: accepted, expected {}", expect["error"]))
                }
                (Err(e), true) => failures.push(format!("{name}: rejected with {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `tests/vectors/http.json` through the core's HTTP edge: what every face's HTTP integration
/// must answer for a header value and a route's required scopes.
#[test]
fn http_answers_follow_the_vectors() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/http.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10, "http.json is missing cases");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let config: Config =
            serde_json::from_value(doc["configs"][case["config"].as_str().unwrap()].clone())
                .unwrap();
        let v = Validator::new(config).unwrap();
        let scopes: Vec<&str> = case["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let realm = case["realm"].as_str();
        let outcome = edge::bearer_token(case["authorization"].as_str())
            .and_then(|token| v.validate_blocking(token))
            .and_then(|validated| {
                validated.claims().require_scopes(&scopes)?;
                Ok(validated)
            });
        let expect = &case["expect"];
        match outcome {
            Ok(validated) => {
                assert_eq!(expect["status"], 200, "{name}: accepted");
                assert_eq!(
                    validated.claims().subject(),
                    expect["sub"].as_str(),
                    "{name}"
                );
            }
            Err(e) => {
                let answer = edge::answer(&e, realm, &scopes);
                assert_eq!(u64::from(answer.status), expect["status"], "{name}: {e}");
                assert_eq!(
                    answer.challenge.as_deref(),
                    expect["challenge"].as_str(),
                    "{name}"
                );
                let body: Value = serde_json::from_str(&answer.body).unwrap();
                assert_eq!(body, expect["body"], "{name}");
            }
        }
    }
}
