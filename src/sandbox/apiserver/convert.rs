//! Conversion between a resource's served form and its storage form.
//!
//! Only events need it: as on a real server, `events.k8s.io/v1` events and core `v1` events
//! are two views of one storage (kept in the core form), so an event the operator's recorder
//! publishes through `events.k8s.io` is what `kubectl get events` and `kubectl describe` list.

use serde_json::{Map, Value};

use super::registry::ResourceDef;

/// Field names of `events.k8s.io/v1` Event and the core `v1` Event fields they map to.
/// Fields not listed (`metadata`, `eventTime`, `series`, `action`, `reason`, `related`,
/// `reportingInstance`, `type`) have the same name in both.
const EVENT_FIELDS: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn is_events_v1(def: &ResourceDef) -> bool {
    def.group == "events.k8s.io" && def.plural == "events"
}

/// Whether `def` serves objects in their stored form (apart from `apiVersion`).
pub fn serves_as_stored(def: &ResourceDef) -> bool {
    !is_events_v1(def)
}

/// A stored object in the form `def` serves (without setting `apiVersion`).
pub fn to_view(def: &ResourceDef, stored: &Value) -> Value {
    if serves_as_stored(def) {
        return stored.clone();
    }
    rename(stored, |core| {
        EVENT_FIELDS
            .iter()
            .find(|(_, c)| *c == core)
            .map(|(events, _)| *events)
    })
}

/// An object in the form `def` serves, converted to its storage form.
pub fn to_storage(def: &ResourceDef, obj: Value) -> Value {
    if !is_events_v1(def) {
        return obj;
    }
    let mut out = rename(&obj, |events| {
        EVENT_FIELDS
            .iter()
            .find(|(e, _)| *e == events)
            .map(|(_, core)| *core)
    });
    if let Some(map) = out.as_object_mut() {
        map.insert("apiVersion".to_owned(), Value::String("v1".to_owned()));
    }
    out
}

/// A copy of a top-level object with some keys renamed; a key that is itself the target of
/// a rename in the other direction is dropped (it has no place in the new form).
fn rename(obj: &Value, renamed: impl Fn(&str) -> Option<&'static str>) -> Value {
    let Some(map) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        match renamed(key) {
            Some(new) => {
                out.insert(new.to_owned(), value.clone());
            }
            None => {
                out.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(group: &str) -> ResourceDef {
        ResourceDef::builtins()
            .into_iter()
            .find(|d| d.group == group && d.plural == "events")
            .unwrap_or_else(|| panic!("events are built in"))
    }

    #[test]
    fn events_v1_round_trips_through_the_core_form() {
        let event = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "ns"},
            "regarding": {"kind": "ServerlessContainer", "name": "web"},
            "note": "created", "reason": "Created", "type": "Normal",
            "reportingController": "op", "reportingInstance": "op-1", "action": "Create",
            "eventTime": "2026-01-01T00:00:00.000000Z",
        });
        let stored = to_storage(&def("events.k8s.io"), event.clone());
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["involvedObject"]["name"], "web");
        assert_eq!(stored["message"], "created");
        assert_eq!(stored["reportingComponent"], "op");
        assert!(stored.get("note").is_none());
        let mut back = to_view(&def("events.k8s.io"), &stored);
        back["apiVersion"] = json!("events.k8s.io/v1");
        assert_eq!(back, event);
        // The core view is the storage form.
        assert_eq!(to_view(&def(""), &stored), stored);
    }
}
