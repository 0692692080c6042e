//! Shapes and encodings shared by several resources: durations, timestamps, service info and
//! list responses.

use jiff::{Timestamp, Unit};
use serde::Serialize;
use serde::ser::SerializeMap;

/// Nanoseconds per second.
const NANOS: u64 = 1_000_000_000;

/// Parses a protobuf-JSON duration such as `"300s"` or `"2.5s"` (up to 9 fractional digits)
/// into nanoseconds. Returns `None` for anything else (negative values included).
pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let number = text.strip_suffix('s')?;
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if number.ends_with('.') {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let nanos: u64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().ok()?
    };
    seconds.checked_mul(NANOS)?.checked_add(nanos)
}

/// Formats nanoseconds as a protobuf-JSON duration: `"300s"`, `"2.5s"`, `"0.001s"`.
pub(crate) fn format_duration(nanos: u64) -> String {
    let seconds = nanos / NANOS;
    let fraction = nanos % NANOS;
    if fraction == 0 {
        format!("{seconds}s")
    } else {
        let digits = format!("{fraction:09}");
        format!("{seconds}.{}s", digits.trim_end_matches('0'))
    }
}

/// Whole seconds to nanoseconds.
pub(crate) const fn seconds(value: u64) -> u64 {
    value * NANOS
}

/// RFC 3339 in UTC with a `Z` suffix and microsecond precision, like the spec's examples.
pub(crate) fn timestamp(ts: Timestamp) -> String {
    ts.round(Unit::Microsecond).unwrap_or(ts).to_string()
}

/// `scaleway.std.ServiceInfo`.
#[derive(Debug, Serialize)]
pub(crate) struct ServiceInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub version: &'static str,
    pub documentation_url: Option<&'static str>,
    pub built_at: Option<String>,
    pub git_commit: &'static str,
}

/// A list response: `{ "<plural>": [...], "total_count": N }`, items in schema field order.
#[derive(Debug)]
pub(crate) struct ListBody<T> {
    /// `namespaces`, `containers`, `domains` or `triggers`.
    pub plural: &'static str,
    /// The requested page.
    pub items: Vec<T>,
    /// Number of matching resources across all pages.
    pub total_count: usize,
}

impl<T: Serialize> Serialize for ListBody<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(self.plural, &self.items)?;
        map.serialize_entry("total_count", &self.total_count)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        assert_eq!(parse_duration("300s"), Some(seconds(300)));
        assert_eq!(parse_duration("2.5s"), Some(2_500_000_000));
        assert_eq!(parse_duration("0.000000001s"), Some(1));
        assert_eq!(parse_duration("1.000000000s"), Some(seconds(1)));
        assert_eq!(format_duration(seconds(300)), "300s");
        assert_eq!(format_duration(2_500_000_000), "2.5s");
        assert_eq!(format_duration(1_000_000), "0.001s");
        for bad in [
            "",
            "s",
            "300",
            "-1s",
            "1.s",
            ".5s",
            "1.0000000001s",
            "1m",
            "1e3s",
            " 1s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_are_utc_z() {
        let ts: Timestamp = "2022-03-22T12:34:56.123456789Z".parse().unwrap();
        assert_eq!(timestamp(ts), "2022-03-22T12:34:56.123457Z");
    }

    #[test]
    fn list_body_shape() {
        let body = ListBody {
            plural: "namespaces",
            items: Vec::<u8>::new(),
            total_count: 0,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"namespaces":[],"total_count":0}"#
        );
    }
}
