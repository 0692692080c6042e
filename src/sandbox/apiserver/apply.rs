//! Server-side apply, simplified.
//!
//! What is kept from the real algorithm: each field manager owns the set of leaf fields it last
//! applied (recorded in `metadata.managedFields` as `FieldsV1`); applying merges the
//! configuration into the object, removes fields the manager applied before but no longer
//! applies (unless another applier also owns them), and reports a conflict when the
//! configuration changes a field another applier owns, unless `force` is set (then ownership
//! moves to the new applier).
//!
//! What is simplified: lists are atomic (no `listType: map` merge keys), only `Apply`
//! operations are tracked (updates and non-apply patches take no ownership), and `null` in the
//! configuration removes a field, as in a merge patch.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

type FieldPath = Vec<String>;
type FieldSet = BTreeSet<FieldPath>;

/// Metadata fields an applier can own.
const OWNABLE_METADATA: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// Which part of the object an apply request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyScope {
    /// The main resource; `status` is ignored when it is a separate subresource.
    Main {
        /// Whether `status` is a separate subresource (and so not applied here).
        status_is_subresource: bool,
    },
    /// The `status` subresource: only `status` is applied.
    Status,
}

/// Parameters of one apply request.
#[derive(Debug, Clone)]
pub struct ApplyRequest<'a> {
    /// `fieldManager` query parameter.
    pub manager: &'a str,
    /// `force` query parameter.
    pub force: bool,
    /// What the request addresses.
    pub scope: ApplyScope,
    /// apiVersion recorded in the managed-fields entry.
    pub api_version: &'a str,
    /// Time recorded in the managed-fields entry.
    pub now: &'a str,
}

/// Why an apply was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApplyError {
    /// Fields owned by other managers would change and `force` was not set.
    #[error("Apply failed with {} conflict(s): {}", .0.len(), .0.join("; "))]
    Conflict(Vec<String>),
}

/// One `managedFields` entry, with its field set decoded when it is an apply entry.
struct Entry {
    raw: Value,
    apply_set: Option<FieldSet>,
}

impl Entry {
    fn is(&self, manager: &str, subresource: &str) -> bool {
        self.raw.get("manager").and_then(Value::as_str) == Some(manager)
            && self
                .raw
                .get("subresource")
                .and_then(Value::as_str)
                .unwrap_or("")
                == subresource
    }
}

/// Applies `config` to `base` (the stored object, or a skeleton with apiVersion, kind, name
/// and namespace when creating). Returns the new object including its `managedFields`.
pub fn apply(base: &Value, config: &Value, req: &ApplyRequest<'_>) -> Result<Value, ApplyError> {
    let owned = owned_part(config, req.scope);
    let new_set = leaves(&owned);
    let subresource = match req.scope {
        ApplyScope::Status => "status",
        ApplyScope::Main { .. } => "",
    };
    let mut entries = read_entries(base);
    let mine = entries.iter().position(|e| e.is(req.manager, subresource));

    let mut candidate = base.clone();
    json_patch::merge(&mut candidate, &owned);

    // Conflicts with (or, when forced, takeover from) other appliers.
    let mut conflicts = Vec::new();
    for (i, entry) in entries.iter_mut().enumerate() {
        if Some(i) == mine {
            continue;
        }
        let manager = entry
            .raw
            .get("manager")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let Some(set) = entry.apply_set.as_mut() else {
            continue;
        };
        let mut lost = Vec::new();
        for theirs in set.iter() {
            for ours in new_set.iter().filter(|ours| overlaps(ours, theirs)) {
                let shorter = if ours.len() <= theirs.len() {
                    ours
                } else {
                    theirs
                };
                if get_path(base, shorter) != get_path(&candidate, shorter) {
                    conflicts.push(format!(
                        "conflict with \"{manager}\": .{}",
                        shorter.join(".")
                    ));
                    lost.push(theirs.clone());
                }
            }
        }
        if req.force && !lost.is_empty() {
            for path in &lost {
                set.remove(path);
            }
            entry.raw = entry_json(entry.raw.clone(), set);
        }
    }
    if !conflicts.is_empty() && !req.force {
        conflicts.dedup();
        return Err(ApplyError::Conflict(conflicts));
    }
    // A manager that lost every field to a forced apply no longer has an entry.
    entries.retain(|e| {
        e.is(req.manager, subresource) || e.apply_set.as_ref().is_none_or(|s| !s.is_empty())
    });
    let mine = entries.iter().position(|e| e.is(req.manager, subresource));

    // Fields this manager applied before but no longer applies, and nobody else owns.
    let previous = mine
        .and_then(|i| entries[i].apply_set.clone())
        .unwrap_or_default();
    let mut result = base.clone();
    for path in previous.difference(&new_set) {
        let owned_elsewhere = entries.iter().enumerate().any(|(i, e)| {
            Some(i) != mine
                && e.apply_set
                    .as_ref()
                    .is_some_and(|s| s.iter().any(|p| overlaps(p, path)))
        });
        if !owned_elsewhere {
            remove_path(&mut result, path);
        }
    }
    json_patch::merge(&mut result, &owned);

    // Record this manager's new field set; keep the old entry (and its time) when unchanged.
    match mine {
        Some(_) if previous == new_set => {}
        Some(i) if new_set.is_empty() => {
            entries.remove(i);
        }
        Some(i) => entries[i].raw = new_entry(req, subresource, &new_set),
        None if new_set.is_empty() => {}
        None => entries.push(Entry {
            raw: new_entry(req, subresource, &new_set),
            apply_set: Some(new_set.clone()),
        }),
    }
    let managed: Vec<Value> = entries.into_iter().map(|e| e.raw).collect();
    if let Some(meta) = result.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("managedFields".to_owned(), Value::Array(managed));
    }
    Ok(result)
}

/// The part of an applied configuration that is owned: no identity fields, only ownable
/// metadata, and `status` only when the scope says so.
fn owned_part(config: &Value, scope: ApplyScope) -> Value {
    let mut owned = Map::new();
    let Some(map) = config.as_object() else {
        return Value::Object(owned);
    };
    for (key, value) in map {
        let keep = match (key.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("status", ApplyScope::Status) => true,
            (_, ApplyScope::Status) => false,
            (
                "status",
                ApplyScope::Main {
                    status_is_subresource,
                },
            ) => !status_is_subresource,
            _ => true,
        };
        if key == "metadata" && keep {
            let meta: Map<String, Value> = value
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| OWNABLE_METADATA.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if !meta.is_empty() {
                owned.insert(key.clone(), Value::Object(meta));
            }
        } else if keep {
            owned.insert(key.clone(), value.clone());
        }
    }
    Value::Object(owned)
}

/// Paths to the leaves of a value: scalars, lists (atomic) and empty maps.
fn leaves(value: &Value) -> FieldSet {
    fn walk(value: &Value, prefix: &mut FieldPath, out: &mut FieldSet) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    prefix.push(key.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            _ if !prefix.is_empty() => {
                out.insert(prefix.clone());
            }
            _ => {}
        }
    }
    let mut out = FieldSet::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn get_path<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, segment| v.get(segment))
}

fn remove_path(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = value;
    for segment in parents {
        match current.get_mut(segment) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(map) = current.as_object_mut() {
        map.remove(last);
    }
}

/// Encodes a field set as `FieldsV1` (`{"f:spec":{"f:size":{}}}`).
fn encode(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for segment in path {
            let child = node
                .entry(format!("f:{segment}"))
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            let Some(map) = child.as_object_mut() else {
                return Value::Object(root);
            };
            node = map;
        }
    }
    Value::Object(root)
}

/// Decodes `FieldsV1`. Keys other than `f:` ones (list keys from a real server) make their
/// parent an atomic leaf.
fn decode(fields: &Value) -> FieldSet {
    fn walk(value: &Value, prefix: &mut FieldPath, out: &mut FieldSet) {
        let mut any_child = false;
        if let Some(map) = value.as_object() {
            for (key, child) in map {
                if let Some(name) = key.strip_prefix("f:") {
                    any_child = true;
                    prefix.push(name.to_owned());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
        }
        if !any_child && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
    }
    let mut out = FieldSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

fn read_entries(obj: &Value) -> Vec<Entry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|raw| {
                    let is_apply = raw.get("operation").and_then(Value::as_str) == Some("Apply");
                    Entry {
                        apply_set: is_apply
                            .then(|| decode(raw.get("fieldsV1").unwrap_or(&Value::Null))),
                        raw: raw.clone(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn entry_json(mut raw: Value, set: &FieldSet) -> Value {
    if let Some(map) = raw.as_object_mut() {
        map.insert("fieldsV1".to_owned(), encode(set));
    }
    raw
}

fn new_entry(req: &ApplyRequest<'_>, subresource: &str, set: &FieldSet) -> Value {
    let mut entry = json!({
        "manager": req.manager,
        "operation": "Apply",
        "apiVersion": req.api_version,
        "time": req.now,
        "fieldsType": "FieldsV1",
        "fieldsV1": encode(set),
    });
    if !subresource.is_empty() {
        entry["subresource"] = json!(subresource);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(manager: &'a str, force: bool, scope: ApplyScope) -> ApplyRequest<'a> {
        ApplyRequest {
            manager,
            force,
            scope,
            api_version: "example.com/v1",
            now: "2026-01-01T00:00:00Z",
        }
    }

    const MAIN: ApplyScope = ApplyScope::Main {
        status_is_subresource: true,
    };

    fn base() -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "w"}})
    }

    #[test]
    fn fields_no_longer_applied_are_removed() {
        let first = apply(
            &base(),
            &json!({"spec": {"a": 1, "b": 2}}),
            &req("m", false, MAIN),
        );
        let first = first.unwrap_or_default();
        assert_eq!(
            first.pointer("/metadata/managedFields/0/fieldsV1"),
            Some(&json!({"f:spec": {"f:a": {}, "f:b": {}}}))
        );
        let second = apply(&first, &json!({"spec": {"a": 3}}), &req("m", false, MAIN));
        assert_eq!(second.map(|s| s["spec"].clone()), Ok(json!({"a": 3})));
    }

    #[test]
    fn other_managers_keep_their_fields_and_conflicts_need_force() {
        let one = apply(
            &base(),
            &json!({"spec": {"a": 1}}),
            &req("one", false, MAIN),
        )
        .unwrap_or_default();
        let two =
            apply(&one, &json!({"spec": {"b": 2}}), &req("two", false, MAIN)).unwrap_or_default();
        assert_eq!(two["spec"], json!({"a": 1, "b": 2}));

        let clash = apply(&two, &json!({"spec": {"a": 5}}), &req("two", false, MAIN));
        assert!(matches!(clash, Err(ApplyError::Conflict(ref c)) if c.len() == 1));
        // Same value: shared ownership, no conflict.
        assert!(
            apply(
                &two,
                &json!({"spec": {"a": 1, "b": 2}}),
                &req("two", false, MAIN)
            )
            .is_ok()
        );

        let forced = apply(
            &two,
            &json!({"spec": {"a": 5, "b": 2}}),
            &req("two", true, MAIN),
        )
        .unwrap_or_default();
        assert_eq!(forced["spec"], json!({"a": 5, "b": 2}));
        // "one" lost .spec.a, so it no longer owns anything and dropping "a" from "two" removes it.
        let dropped = apply(
            &forced,
            &json!({"spec": {"b": 2}}),
            &req("two", false, MAIN),
        )
        .unwrap_or_default();
        assert_eq!(dropped["spec"], json!({"b": 2}));
    }

    #[test]
    fn status_scope_applies_only_status_and_main_scope_ignores_it() {
        let config = json!({"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "w", "labels": {"x": "y"}},
                            "spec": {"a": 1}, "status": {"ready": true}});
        let status =
            apply(&base(), &config, &req("m", false, ApplyScope::Status)).unwrap_or_default();
        assert_eq!(status.get("spec"), None);
        assert_eq!(status["status"], json!({"ready": true}));
        assert_eq!(
            status["metadata"]["managedFields"][0]["subresource"],
            "status"
        );

        let main = apply(&base(), &config, &req("m", false, MAIN)).unwrap_or_default();
        assert_eq!(main.get("status"), None);
        assert_eq!(main["metadata"]["labels"], json!({"x": "y"}));
    }

    #[test]
    fn reapplying_the_same_config_keeps_the_entry_time() {
        let config = json!({"spec": {"a": 1}});
        let first = apply(&base(), &config, &req("m", false, MAIN)).unwrap_or_default();
        let mut later = req("m", false, MAIN);
        later.now = "2030-01-01T00:00:00Z";
        let again = apply(&first, &config, &later).unwrap_or_default();
        assert_eq!(first, again);
    }

    #[test]
    fn fields_v1_round_trips() {
        let set: FieldSet = [
            vec!["spec".to_owned(), "a".to_owned()],
            vec!["metadata".to_owned(), "labels".to_owned(), "x/y".to_owned()],
        ]
        .into_iter()
        .collect();
        assert_eq!(decode(&encode(&set)), set);
        let real = json!({"f:spec": {"f:ports": {"k:{\"port\":80}": {".": {}}}}});
        assert_eq!(
            decode(&real),
            [vec!["spec".to_owned(), "ports".to_owned()]]
                .into_iter()
                .collect()
        );
    }
}
