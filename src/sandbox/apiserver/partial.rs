//! `meta.k8s.io/v1` `PartialObjectMetadata`: what a client asking for
//! `Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` (or
//! `as=PartialObjectMetadataList` for a list) gets instead of the whole object. kube's
//! metadata watches (`Api<PartialObjectMeta<K>>`) ask for it so that a watch on a kind only
//! for its names and versions neither sends nor parses specs and statuses.

use serde_json::{Map, Value, json};

const API_VERSION: &str = "meta.k8s.io/v1";

/// Whether an `Accept` header asks for metadata only, before plain JSON.
pub fn wanted(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        let media: String = first.chars().filter(|c| !c.is_whitespace()).collect();
        let media = media.to_ascii_lowercase();
        media.contains("as=partialobjectmetadata") && media.contains("g=meta.k8s.io")
    })
}

/// One object as `PartialObjectMetadata`.
pub fn object(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": API_VERSION,
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// One object as `PartialObjectMetadata`, serialized from the object without copying it
/// (the form a watch event carries).
#[derive(serde::Serialize)]
pub struct Borrowed<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: &'a Value,
}

impl<'a> Borrowed<'a> {
    /// The metadata of `obj` (an empty object when it has none).
    pub fn of(obj: &'a Value) -> Self {
        static EMPTY: std::sync::LazyLock<Value> =
            std::sync::LazyLock::new(|| Value::Object(Map::new()));
        Self {
            kind: "PartialObjectMetadata",
            api_version: API_VERSION,
            metadata: obj.get("metadata").unwrap_or(&*EMPTY),
        }
    }
}

/// A list (`{"metadata": .., "items": [..]}`) as `PartialObjectMetadataList`.
pub fn list(list: &Value) -> Value {
    let items: Vec<Value> = list["items"]
        .as_array()
        .map(|items| items.iter().map(object).collect())
        .unwrap_or_default();
    let metadata = list
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": API_VERSION,
        "metadata": metadata,
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_metadata_media_type_first_asks_for_it() {
        assert!(wanted(
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
        ));
        assert!(wanted(
            "application/json; as=PartialObjectMetadataList; g=meta.k8s.io; v=v1, application/json"
        ));
        assert!(!wanted("application/json"));
        assert!(!wanted("application/json;as=Table;g=meta.k8s.io;v=v1"));
        // Plain JSON preferred: the whole object.
        assert!(!wanted(
            "application/json, application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
        ));
    }

    #[test]
    fn objects_and_lists_keep_only_metadata() {
        let obj = json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainer",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7"},
            "spec": {"image": "nginx:1"}, "status": {"id": "x"}
        });
        let partial = object(&obj);
        assert_eq!(partial["kind"], "PartialObjectMetadata");
        assert_eq!(partial["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(partial["metadata"]["resourceVersion"], "7");
        assert!(partial.get("spec").is_none() && partial.get("status").is_none());
        let listed = list(&json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainerList",
            "metadata": {"resourceVersion": "9", "continue": "c"}, "items": [obj]
        }));
        assert_eq!(listed["kind"], "PartialObjectMetadataList");
        assert_eq!(listed["metadata"]["continue"], "c");
        assert_eq!(listed["items"][0]["metadata"]["name"], "web");
        assert!(listed["items"][0].get("spec").is_none());
    }
}
