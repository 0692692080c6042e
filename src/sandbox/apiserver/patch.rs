//! The non-apply patch formats: RFC 6902 JSON patch and RFC 7386 merge patch.

use json_patch::PatchOperation;
use serde_json::Value;

/// The patch formats Kubernetes accepts, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchFormat {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`, applied as a merge patch that understands
    /// the patch directives (`$patch`, `$retainKeys`, `$deleteFromPrimitiveList/…`,
    /// `$setElementOrder/…`) but not merge keys: lists are replaced.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply, simplified, see `apply`).
    Apply,
}

impl PatchFormat {
    /// Reads the format from a `Content-Type` header value (parameters are ignored).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media.to_ascii_lowercase().as_str() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Why a JSON patch could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonPatchError {
    /// The body is not a JSON patch document (the real server answers 400).
    #[error("invalid JSON patch: {0}")]
    Malformed(String),
    /// A `test` operation did not hold (the real server answers 422).
    #[error("testing value {0} failed")]
    TestFailed(String),
    /// An operation's path does not exist (the real server answers 422).
    #[error("{0}")]
    DoesNotApply(String),
}

/// Applies an RFC 6902 patch to a copy of `doc`.
///
/// `test` follows the library the real API server uses: a missing member whose parent exists
/// compares equal to `null`. kube's finalizer helper relies on this when it tests
/// `/metadata/finalizers` against `null` before adding the first finalizer.
pub fn apply_json_patch(doc: &Value, body: &[u8]) -> Result<Value, JsonPatchError> {
    let ops: Vec<PatchOperation> =
        serde_json::from_slice(body).map_err(|e| JsonPatchError::Malformed(e.to_string()))?;
    let mut out = doc.clone();
    for op in ops {
        match op {
            PatchOperation::Test(test) => {
                let path = test.path.as_str();
                if !test_holds(&out, path, &test.value) {
                    return Err(JsonPatchError::TestFailed(path.to_owned()));
                }
            }
            other => json_patch::patch_unsafe(&mut out, std::slice::from_ref(&other))
                .map_err(|e| JsonPatchError::DoesNotApply(e.to_string()))?,
        }
    }
    Ok(out)
}

fn test_holds(doc: &Value, path: &str, expected: &Value) -> bool {
    if let Some(actual) = doc.pointer(path) {
        return actual == expected;
    }
    // Missing: equal to null when the parent exists and is an object.
    let Some((parent, _)) = path.rsplit_once('/') else {
        return false;
    };
    expected.is_null() && doc.pointer(parent).is_some_and(Value::is_object)
}

/// Applies an RFC 7386 merge patch to a copy of `doc`.
pub fn apply_merge_patch(doc: &Value, patch: &Value) -> Value {
    let mut out = doc.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// Applies a strategic merge patch to a copy of `doc`, without knowledge of merge keys:
/// maps merge as in a merge patch, lists are replaced, and the directives kubectl may send
/// are honoured (`$patch: replace|delete|merge`, `$retainKeys`,
/// `$deleteFromPrimitiveList/<field>`) or ignored (`$setElementOrder/<field>`).
pub fn apply_strategic_merge_patch(doc: &Value, patch: &Value) -> Value {
    let mut out = doc.clone();
    merge_strategic(&mut out, patch);
    out
}

fn merge_strategic(target: &mut Value, patch: &Value) {
    let Some(patch_map) = patch.as_object() else {
        *target = strip_directives(patch);
        return;
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = strip_directives(patch);
            return;
        }
        Some("delete") => {
            *target = Value::Null;
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Some(map) = target.as_object_mut() else {
        return;
    };
    for (key, value) in patch_map {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(list) = map.get_mut(field).and_then(Value::as_array_mut) {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        match value {
            Value::Null => {
                map.remove(key);
            }
            Value::Object(_) => {
                let child = map.entry(key.clone()).or_insert(Value::Null);
                merge_strategic(child, value);
                if child.is_null() {
                    map.remove(key);
                }
            }
            other => {
                map.insert(key.clone(), strip_directives(other));
            }
        }
    }
    if let Some(keep) = patch_map.get("$retainKeys").and_then(Value::as_array) {
        map.retain(|key, _| keep.iter().any(|k| k.as_str() == Some(key)));
    }
}

/// A copy of a patch value without directive keys (for values that replace).
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !key.starts_with('$'))
                .map(|(key, v)| (key.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|item| item.get("$patch").is_none())
                .map(strip_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finalizer_helper_patch_applies_to_an_object_without_finalizers() {
        let doc = json!({"metadata": {"name": "a"}});
        let body = br#"[{"op":"test","path":"/metadata/finalizers","value":null},
                        {"op":"add","path":"/metadata/finalizers","value":["f"]}]"#;
        let out = apply_json_patch(&doc, body);
        assert_eq!(
            out,
            Ok(json!({"metadata": {"name": "a", "finalizers": ["f"]}}))
        );
    }

    #[test]
    fn failed_test_rejects_the_whole_patch() {
        let doc = json!({"metadata": {"finalizers": ["other"]}});
        let body = br#"[{"op":"test","path":"/metadata/finalizers/0","value":"f"},
                        {"op":"remove","path":"/metadata/finalizers/0"}]"#;
        assert_eq!(
            apply_json_patch(&doc, body),
            Err(JsonPatchError::TestFailed("/metadata/finalizers/0".into()))
        );
        let null_on_present = br#"[{"op":"test","path":"/metadata/finalizers","value":null}]"#;
        assert!(apply_json_patch(&doc, null_on_present).is_err());
        let missing_parent = br#"[{"op":"test","path":"/spec/x","value":null}]"#;
        assert!(apply_json_patch(&doc, missing_parent).is_err());
    }

    #[test]
    fn malformed_and_non_applying_patches_are_distinguished() {
        let doc = json!({});
        assert!(matches!(
            apply_json_patch(&doc, b"{}"),
            Err(JsonPatchError::Malformed(_))
        ));
        let bad_path = br#"[{"op":"remove","path":"/nope"}]"#;
        assert!(matches!(
            apply_json_patch(&doc, bad_path),
            Err(JsonPatchError::DoesNotApply(_))
        ));
    }

    #[test]
    fn merge_patch_removes_nulls_and_replaces_lists() {
        let doc = json!({"a": 1, "b": [1, 2], "c": {"d": 1, "e": 2}});
        let out = apply_merge_patch(&doc, &json!({"a": null, "b": [3], "c": {"e": null}}));
        assert_eq!(out, json!({"b": [3], "c": {"d": 1}}));
    }

    #[test]
    fn strategic_merge_patch_honours_directives() {
        let doc = json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}},
                         "data": {"k": "v", "old": "o"}, "spec": {"keep": 1, "drop": 2}});
        let patch = json!({
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"],
                         "$setElementOrder/finalizers": ["b"], "labels": {"y": null}},
            "data": {"$patch": "replace", "new": "n"},
            "spec": {"$retainKeys": ["keep", "added"], "added": 3},
        });
        assert_eq!(
            apply_strategic_merge_patch(&doc, &patch),
            json!({"metadata": {"finalizers": ["b"], "labels": {"x": "1"}},
                   "data": {"new": "n"}, "spec": {"keep": 1, "added": 3}})
        );
        let delete = json!({"spec": {"$patch": "delete"}});
        assert_eq!(apply_strategic_merge_patch(&doc, &delete).get("spec"), None);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchFormat::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchFormat::Merge)
        );
        assert_eq!(PatchFormat::from_content_type("application/json"), None);
    }
}
