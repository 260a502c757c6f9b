//! The metric families of [`crate::Validator::metrics_text`] as data, for the collectors of
//! each ecosystem's own metrics client (Python `prometheus_client`, Node `prom-client`, Go
//! `client_golang`). They read this list instead of `stats()`, so the names, labels, types and
//! histogram buckets are the Prometheus text's in every face, and a metric added to the text is
//! in every collector with no face change.

use serde::Serialize;

/// One family (`# HELP` / `# TYPE` and its samples).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricFamily {
    /// The family name (`jwtgate_validations_total`, `jwtgate_validation_duration_seconds`).
    pub name: String,
    pub help: String,
    /// `counter`, `gauge` or `histogram`.
    #[serde(rename = "type")]
    pub kind: String,
    pub samples: Vec<Sample>,
}

/// One sample. For a histogram, `name` is the family name plus `_bucket`, `_sum` or `_count`
/// and a bucket's `le` label is in `labels` (`+Inf` last).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Parses the text format (0.0.4) as jwtgate writes it: `# HELP`, `# TYPE`, then samples.
/// Lines that do not parse are skipped (the text is ours; a skip is a bug the tests catch).
pub fn families(text: &str) -> Vec<MetricFamily> {
    let mut out: Vec<MetricFamily> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push(MetricFamily {
                name: name.to_string(),
                help: unescape(help, false),
                kind: "untyped".to_string(),
                samples: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let (Some((name, kind)), Some(f)) = (rest.split_once(' '), out.last_mut()) {
                if f.name == name {
                    f.kind = kind.to_string();
                }
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let Some(sample) = parse_sample(line) else {
                continue;
            };
            if let Some(f) = out.last_mut() {
                f.samples.push(sample);
            }
        }
    }
    out
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match head.split_once('{') {
        None => (head, Vec::new()),
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// `a="x",b="y\"z"` → pairs, values unescaped.
fn parse_labels(mut text: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    while !text.is_empty() {
        let (name, rest) = text.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => return None,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end?;
        labels.push((name.to_string(), value));
        text = rest[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}

fn unescape(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('"') if quotes => out.push('"'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_gauges_and_histograms() {
        let text = "# HELP jwtgate_validations_total Validations.\n# TYPE jwtgate_validations_total counter\n\
            jwtgate_validations_total{outcome=\"ok\"} 3\n\
            jwtgate_validations_total{outcome=\"error\",kind=\"expired\"} 1\n\
            # HELP jwtgate_cache_entries Tokens.\n# TYPE jwtgate_cache_entries gauge\njwtgate_cache_entries 2\n\
            # HELP jwtgate_x_seconds X.\n# TYPE jwtgate_x_seconds histogram\n\
            jwtgate_x_seconds_bucket{path=\"hit\",le=\"0.0000005\"} 1\n\
            jwtgate_x_seconds_bucket{path=\"hit\",le=\"+Inf\"} 2\n\
            jwtgate_x_seconds_sum{path=\"hit\"} 0.25\njwtgate_x_seconds_count{path=\"hit\"} 2\n\
            jwtgate_issuer_jwks_keys{issuer=\"a\\\"b\\\\c\"} 4\n";
        let f = families(text);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].kind, "counter");
        assert_eq!(f[0].samples[1].labels[1], ("kind".into(), "expired".into()));
        assert_eq!(f[1].samples[0].value, 2.0);
        assert_eq!(f[2].kind, "histogram");
        assert_eq!(f[2].samples[0].labels[1], ("le".into(), "0.0000005".into()));
        assert_eq!(f[2].samples.len(), 5);
        assert_eq!(f[2].samples[4].labels[0].1, "a\"b\\c");
    }
}
