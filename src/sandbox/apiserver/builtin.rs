//! Behaviour specific to some resources, applied on every write:
//! namespaces start `Active`, secrets fold `stringData` into `data`, and
//! CustomResourceDefinitions are validated, marked Established and (once stored) served.

use k8s_openapi::ByteString;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Map, Value, json};

use super::object::{meta_str, now_rfc3339};
use super::registry::{CRD_GROUP, CRD_PLURAL, GroupResource, ResourceDef};
use super::store::State;

/// Adjusts an object about to be written. An `Err` is a validation message (422 Invalid).
pub fn prepare(def: &ResourceDef, obj: &mut Value, creating: bool) -> Result<(), String> {
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "namespaces") if creating => {
            if obj.pointer("/status/phase").is_none()
                && let Some(map) = obj.as_object_mut()
            {
                map.insert("status".to_owned(), json!({"phase": "Active"}));
            }
            Ok(())
        }
        ("", "secrets") => {
            fold_string_data(obj, creating);
            Ok(())
        }
        (CRD_GROUP, CRD_PLURAL) => prepare_crd(obj),
        _ => Ok(()),
    }
}

/// What a write did, for [`after_commit`].
#[derive(Debug, Clone, Copy)]
pub enum Committed<'a> {
    /// The object was created or changed.
    Stored(&'a Value),
    /// The object was removed.
    Removed(&'a Value),
    /// The object was loaded from a snapshot.
    Restored(&'a Value),
}

/// Side effects of a committed write: storing a CRD serves its resource; removing one stops
/// serving it and drops its objects.
pub fn after_commit(state: &mut State, resource: &GroupResource, committed: Committed<'_>) {
    if resource.group != CRD_GROUP || resource.plural != CRD_PLURAL {
        return;
    }
    match committed {
        Committed::Stored(obj) | Committed::Restored(obj) => {
            if let Ok(crd) = serde_json::from_value::<CustomResourceDefinition>(obj.clone()) {
                state.registry.register(ResourceDef::from_crd(&crd));
            }
        }
        Committed::Removed(obj) => {
            if let Ok(crd) = serde_json::from_value::<CustomResourceDefinition>(obj.clone()) {
                let served = GroupResource::new(&crd.spec.group, &crd.spec.names.plural);
                state.registry.unregister(&served);
                state.remove_all(&served);
            }
        }
    }
}

/// Moves `stringData` into `data` (base64), as the real server does; defaults `type`.
fn fold_string_data(obj: &mut Value, creating: bool) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(string_data)) = map.remove("stringData") {
        let data = map
            .entry("data")
            .or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        if let Some(data) = data.as_object_mut() {
            for (key, value) in string_data {
                let text = value.as_str().unwrap_or_default().as_bytes().to_vec();
                let encoded = serde_json::to_value(ByteString(text)).unwrap_or(Value::Null);
                data.insert(key, encoded);
            }
        }
    }
    let no_type = map
        .get("type")
        .is_none_or(|t| t.as_str().is_some_and(str::is_empty));
    if creating && no_type {
        map.insert("type".to_owned(), json!("Opaque"));
    }
}

fn prepare_crd(obj: &mut Value) -> Result<(), String> {
    let crd: CustomResourceDefinition = serde_json::from_value(obj.clone())
        .map_err(|e| format!("not a CustomResourceDefinition: {e}"))?;
    let spec = &crd.spec;
    let expected = format!("{}.{}", spec.names.plural, spec.group);
    if meta_str(obj, "name") != Some(expected.as_str()) {
        return Err(format!(
            "metadata.name: Invalid value: must be spec.names.plural+\".\"+spec.group ({expected:?})"
        ));
    }
    if !spec.group.contains('.') {
        return Err(
            "spec.group: Invalid value: should be a domain with at least one dot".to_owned(),
        );
    }
    if !matches!(spec.scope.as_str(), "Namespaced" | "Cluster") {
        return Err(
            "spec.scope: Unsupported value: supported values: \"Cluster\", \"Namespaced\""
                .to_owned(),
        );
    }
    let storage: Vec<&str> = spec
        .versions
        .iter()
        .filter(|v| v.storage)
        .map(|v| v.name.as_str())
        .collect();
    if storage.len() != 1 {
        return Err(
            "spec.versions: Invalid value: must have exactly one version marked as storage version"
                .to_owned(),
        );
    }
    let now = now_rfc3339();
    let condition = |type_: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": "True", "reason": reason, "message": message,
               "lastTransitionTime": now})
    };
    let status = json!({
        "acceptedNames": serde_json::to_value(&spec.names).unwrap_or(Value::Null),
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": storage,
    });
    // Keep the existing status (and its transition times) when nothing it reports changed.
    let unchanged = obj.get("status").is_some_and(|old| {
        old.get("acceptedNames") == status.get("acceptedNames")
            && old.get("storedVersions") == status.get("storedVersions")
    });
    if !unchanged && let Some(map) = obj.as_object_mut() {
        map.insert("status".to_owned(), status);
    }
    Ok(())
}

/// Whether a namespace exists (objects of namespaced resources must live in one).
pub fn namespace_exists(state: &State, namespace: &str) -> bool {
    state
        .get(
            &GroupResource::new("", "namespaces"),
            &(String::new(), namespace.to_owned()),
        )
        .is_some()
}

/// A namespace object, for the namespaces a new server starts with.
pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(group: &str, plural: &str) -> ResourceDef {
        ResourceDef::builtins()
            .into_iter()
            .find(|d| d.group == group && d.plural == plural)
            .unwrap_or_else(|| panic!("{plural} is built in"))
    }

    #[test]
    fn secret_string_data_becomes_base64_data() {
        let mut secret =
            json!({"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello"}});
        assert!(prepare(&def("", "secrets"), &mut secret, true).is_ok());
        assert_eq!(secret["data"], json!({"a": "eA==", "b": "aGVsbG8="}));
        assert_eq!(secret["type"], "Opaque");
        assert!(secret.get("stringData").is_none());
    }

    #[test]
    fn crd_gets_established_and_bad_names_are_rejected() {
        let mut crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": true, "storage": true}]}});
        let crd_def = def(CRD_GROUP, CRD_PLURAL);
        assert_eq!(prepare(&crd_def, &mut crd, true), Ok(()));
        assert_eq!(crd["status"]["conditions"][1]["type"], "Established");
        assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));

        crd["metadata"]["name"] = json!("wrong.example.com");
        assert!(prepare(&crd_def, &mut crd, false).is_err());
    }
}
