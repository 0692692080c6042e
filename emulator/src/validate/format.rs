//! Syntax and range checks of single fields.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::error::{Problems, Reason};
use crate::ids::is_uuid;
use crate::limits;
use crate::wire::common::{parse_duration, seconds};

/// Returns the value, recording `required` when it is absent or empty (then the result is
/// empty, and the recorded problem guarantees it is never used).
pub(crate) fn required_text(problems: &mut Problems, field: &str, value: Option<String>) -> String {
    let text = value.unwrap_or_default();
    if text.is_empty() {
        problems.required(field);
    }
    text
}

/// Resource names: 1 to 63 characters, lowercase letters, digits and `-`, starting with a
/// letter and not ending with `-` (the public endpoint embeds them in a DNS label).
pub(crate) fn check_name(problems: &mut Problems, field: &str, name: &str) {
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= limits::NAME_MAX_LEN
        && bytes[0].is_ascii_lowercase()
        && bytes.last() != Some(&b'-')
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if !valid {
        problems.push(
            field,
            Reason::Format,
            format!(
                "name must be 1 to {} characters, begin with a lowercase letter, contain only \
                 lowercase letters, digits or hyphens, and end with a letter or digit",
                limits::NAME_MAX_LEN
            ),
        );
    }
}

/// Hyphenated UUID syntax.
pub(crate) fn check_uuid(problems: &mut Problems, field: &str, value: &str) {
    if !is_uuid(value) {
        problems.push(field, Reason::Format, format!("{field} must be a UUID"));
    }
}

/// A fully qualified hostname: at least two dot-separated labels of 1 to 63 lowercase letters,
/// digits or `-` (not at either end of a label), at most 253 characters, and a top-level label
/// that is not all digits.
pub(crate) fn check_hostname(problems: &mut Problems, field: &str, hostname: &str) {
    let labels: Vec<&str> = hostname.split('.').collect();
    let label_ok = |label: &&str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 63
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    };
    let valid = hostname.len() <= limits::HOSTNAME_MAX_LEN
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        problems.push(
            field,
            Reason::Format,
            "hostname must be a fully qualified lowercase domain name such as app.example.com",
        );
    }
}

/// Environment variable maps: at most 100 entries; names are 1 to 255 characters without `=`,
/// whitespace or control characters.
pub(crate) fn check_env_map(problems: &mut Problems, field: &str, map: &BTreeMap<String, String>) {
    if map.len() > limits::ENV_VARS_MAX {
        problems.push(
            field,
            Reason::Constraint,
            format!("at most {} variables are allowed", limits::ENV_VARS_MAX),
        );
    }
    for key in map.keys() {
        let valid = !key.is_empty()
            && key.len() <= limits::ENV_KEY_MAX_LEN
            && !key
                .chars()
                .any(|c| c == '=' || c.is_whitespace() || c.is_control());
        if !valid {
            problems.push(
                format!("{field}.{key}"),
                Reason::Format,
                format!(
                    "variable names must be 1 to {} characters without '=', spaces or control characters",
                    limits::ENV_KEY_MAX_LEN
                ),
            );
        }
    }
}

/// Records a `constraint` problem when `value` is outside `range`.
pub(crate) fn check_range<T: PartialOrd + Display>(
    problems: &mut Problems,
    field: &str,
    value: T,
    range: &RangeInclusive<T>,
) {
    if !range.contains(&value) {
        problems.push(
            field,
            Reason::Constraint,
            format!(
                "{field} must be between {} and {}",
                range.start(),
                range.end()
            ),
        );
    }
}

/// Parses a duration string and checks it against a range of whole seconds. Returns the
/// duration in nanoseconds when valid.
pub(crate) fn duration_in(
    problems: &mut Problems,
    field: &str,
    text: &str,
    range_seconds: &RangeInclusive<u64>,
) -> Option<u64> {
    let Some(nanos) = parse_duration(text) else {
        problems.push(
            field,
            Reason::Format,
            format!("{field} must be a duration in seconds such as \"300s\" or \"2.5s\""),
        );
        return None;
    };
    if nanos < seconds(*range_seconds.start()) || nanos > seconds(*range_seconds.end()) {
        problems.push(
            field,
            Reason::Constraint,
            format!(
                "{field} must be between {}s and {}s",
                range_seconds.start(),
                range_seconds.end()
            ),
        );
        return None;
    }
    Some(nanos)
}

/// `http://` or `https://` followed by a host.
pub(crate) fn is_http_url(value: &str) -> bool {
    ["https://", "http://"]
        .iter()
        .filter_map(|scheme| value.strip_prefix(scheme))
        .any(|rest| {
            !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(check: impl FnOnce(&mut Problems)) -> bool {
        let mut problems = Problems::default();
        check(&mut problems);
        problems.finish().is_ok()
    }

    #[test]
    fn names() {
        for good in ["a", "my-ns", "a1", &"a".repeat(63)] {
            assert!(ok(|p| check_name(p, "name", good)), "{good}");
        }
        for bad in ["", "1a", "-a", "a-", "My", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!ok(|p| check_name(p, "name", bad)), "{bad}");
        }
    }

    #[test]
    fn hostnames() {
        for good in ["app.example.com", "a.io", "x-1.y-2.example.org"] {
            assert!(ok(|p| check_hostname(p, "hostname", good)), "{good}");
        }
        for bad in [
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            "A.com",
            "a.123",
            "a_b.com",
            "",
        ] {
            assert!(!ok(|p| check_hostname(p, "hostname", bad)), "{bad}");
        }
    }

    #[test]
    fn env_keys() {
        let good = BTreeMap::from([("A_B".to_owned(), String::new())]);
        assert!(ok(|p| check_env_map(p, "environment_variables", &good)));
        for bad in ["", "A=B", "A B"] {
            let map = BTreeMap::from([(bad.to_owned(), "v".to_owned())]);
            assert!(
                !ok(|p| check_env_map(p, "environment_variables", &map)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn durations() {
        let mut problems = Problems::default();
        assert_eq!(
            duration_in(&mut problems, "timeout", "2.5s", &(1..=900)),
            Some(2_500_000_000)
        );
        assert_eq!(
            duration_in(&mut problems, "timeout", "0.5s", &(1..=900)),
            None
        );
        assert_eq!(
            duration_in(&mut problems, "timeout", "901s", &(1..=900)),
            None
        );
        assert_eq!(
            duration_in(&mut problems, "timeout", "5m", &(1..=900)),
            None
        );
        assert!(problems.finish().is_err());
    }

    #[test]
    fn urls() {
        assert!(is_http_url("https://sqs.mnq.fr-par.scaleway.com"));
        assert!(is_http_url("http://localhost:9324/queue"));
        assert!(!is_http_url("sqs.mnq.fr-par.scaleway.com"));
        assert!(!is_http_url("https://"));
    }
}
