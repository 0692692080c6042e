//! Helpers over objects stored as JSON: metadata access, server-set fields, normal form.

use serde_json::{Map, Value};

/// Metadata fields that hold lists or maps the real server omits when empty.
const OMIT_WHEN_EMPTY: [&str; 5] = [
    "finalizers",
    "labels",
    "annotations",
    "ownerReferences",
    "managedFields",
];

/// A random UUID (version 4) in its usual text form.
pub fn new_uid() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The current time as Kubernetes writes `metav1.Time` (RFC 3339, whole seconds, UTC).
pub fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Five random characters, as the real server appends to `metadata.generateName`.
pub fn generate_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

/// Checks a name against the DNS-subdomain rule most resources use.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of \
             lower case alphanumeric characters, '-' or '.', and must start and end with an \
             alphanumeric character"
        ))
    }
}

/// `metadata` of an object, if it has one.
pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `metadata` of an object, created if missing or not an object.
/// Returns `None` only if `obj` itself is not a JSON object.
pub fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    let entry = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

/// A string field of `metadata`, treating "" as absent.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `metadata.finalizers` as strings.
pub fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    meta_str(obj, "deletionTimestamp").is_some()
}

/// Sets a metadata field (no-op if `obj` is not an object).
pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    if let Some(m) = meta_mut(obj) {
        m.insert(field.to_owned(), value);
    }
}

/// Copies a metadata field from `from` to `to`, removing it from `to` when `from` lacks it.
pub fn copy_meta(from: &Value, to: &mut Value, field: &str) {
    let value = meta(from).and_then(|m| m.get(field)).cloned();
    if let Some(m) = meta_mut(to) {
        match value {
            Some(v) => m.insert(field.to_owned(), v),
            None => m.remove(field),
        };
    }
}

/// Brings an object to the form the real server returns: null metadata fields and empty
/// label, annotation, finalizer, owner-reference and managed-field collections are dropped.
pub fn normalize(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.retain(|key, value| {
            let empty = match value {
                Value::Null => true,
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            !(empty && (value.is_null() || OMIT_WHEN_EMPTY.contains(&key.as_str())))
        });
    }
}

/// The part of an object whose change bumps `metadata.generation`: everything except
/// `metadata`, and except `status` when status is a separate subresource.
pub fn spec_view(obj: &Value, status_is_subresource: bool) -> Value {
    let mut view = obj.clone();
    if let Some(map) = view.as_object_mut() {
        map.remove("metadata");
        map.remove("apiVersion");
        map.remove("kind");
        if status_is_subresource {
            map.remove("status");
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uid_has_the_v4_shape() {
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.as_bytes()[14], b'4');
        assert!(matches!(uid.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(uid, new_uid());
    }

    #[test]
    fn timestamp_is_rfc3339_seconds() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z'));
        assert!(now.parse::<k8s_openapi::jiff::Timestamp>().is_ok());
    }

    #[test]
    fn names_follow_dns_subdomain_rules() {
        assert!(validate_name("a.b-c1").is_ok());
        for bad in ["", "A", "-a", "a-", "a_b"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalize_drops_empty_collections_only() {
        let mut obj = json!({"metadata": {"name": "a", "finalizers": [], "labels": {}, "uid": null,
            "annotations": {"x": "y"}}, "spec": {"list": []}});
        normalize(&mut obj);
        assert_eq!(
            obj,
            json!({"metadata": {"name": "a", "annotations": {"x": "y"}}, "spec": {"list": []}})
        );
    }

    #[test]
    fn spec_view_ignores_metadata_and_optionally_status() {
        let a = json!({"metadata": {"name": "a"}, "spec": 1, "status": 1});
        let b = json!({"metadata": {"name": "b"}, "spec": 1, "status": 2});
        assert_eq!(spec_view(&a, true), spec_view(&b, true));
        assert_ne!(spec_view(&a, false), spec_view(&b, false));
    }
}
