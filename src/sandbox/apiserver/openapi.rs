//! OpenAPI v3 documents: `/openapi/v3` (the index) and `/openapi/v3/api/v1`,
//! `/openapi/v3/apis/{group}/{version}` (one document per group-version).
//!
//! kubectl reads them to decide that the server validates fields itself (the PATCH operation
//! of a kind lists the `fieldValidation` parameter), whether a kind takes strategic merge
//! patches (only built-ins do), and for `kubectl explain`. Custom resources are described by
//! their CRD's `openAPIV3Schema`; the built-ins by the schemas k8s-openapi carries.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use super::registry::{Registry, ResourceDef, VersionDef};

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

/// `/openapi/v3`: where each group-version's document is, with a content hash.
pub fn index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions(registry) {
        let path = gv_path(&group, &version);
        let doc = document(registry, &group, &version);
        let hash = hex::upper(&Sha512::digest(doc.to_string().as_bytes()));
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// `api/v1` or `apis/{group}/{version}`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn group_versions(registry: &Registry) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for def in registry.all() {
        for v in &def.versions {
            let gv = (def.group.clone(), v.name.clone());
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
    }
    out.sort();
    out
}

/// The document of one group-version, or `None` when nothing is served there.
pub fn gv_document(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    registry
        .serves(group, version)
        .then(|| document(registry, group, version))
}

fn document(registry: &Registry, group: &str, version: &str) -> Value {
    let mut paths = BTreeMap::new();
    let mut schemas: Map<String, Value> = meta_schemas().clone();
    for def in registry.all().filter(|d| d.group == group) {
        let Some(v) = def.version(version) else {
            continue;
        };
        let kind_schema = match &v.schema {
            Some(schema) => {
                let name = crd_schema_name(def, version);
                schemas.insert(name.clone(), crd_schema(def, version, schema));
                schemas.insert(format!("{name}List"), list_schema(def, version, &name));
                Some(name)
            }
            None => builtin_schema(def, version, &mut schemas),
        };
        add_paths(&mut paths, def, v, kind_schema.as_deref());
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": super::discovery::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

/// `com.example.v1.Widget` for `Widget` in `example.com/v1`, as the real server names them.
fn crd_schema_name(def: &ResourceDef, version: &str) -> String {
    let reversed: Vec<&str> = def.group.split('.').rev().collect();
    format!("{}.{version}.{}", reversed.join("."), def.kind)
}

fn crd_schema(def: &ResourceDef, version: &str, schema: &Value) -> Value {
    let mut out = schema.clone();
    if let Some(map) = out.as_object_mut() {
        let properties = map
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": API_VERSION_DOC}),
            );
            properties.insert(
                "kind".into(),
                json!({"type": "string", "description": KIND_DOC}),
            );
            properties.insert(
                "metadata".into(),
                json!({"allOf": [schema_ref(&format!("{META}.ObjectMeta"))], "description": METADATA_DOC}),
            );
        }
        map.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([gvk(&def.group, version, &def.kind)]),
        );
    }
    out
}

fn list_schema(def: &ResourceDef, version: &str, item: &str) -> Value {
    json!({
        "description": format!("{} is a list of {}", def.list_kind, def.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DOC},
            "kind": {"type": "string", "description": KIND_DOC},
            "items": {
                "type": "array",
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", def.plural),
                "items": schema_ref(item),
            },
            "metadata": {"allOf": [schema_ref(&format!("{META}.ListMeta"))], "description": "Standard list metadata."},
        },
        "x-kubernetes-group-version-kind": [gvk(&def.group, version, &def.list_kind)],
    })
}

const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The schemas shared by every document (object and list metadata, status, options).
fn meta_schemas() -> &'static Map<String, Value> {
    static SCHEMAS: OnceLock<Map<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
        let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
        generator.subschema_for::<meta::ObjectMeta>();
        generator.subschema_for::<meta::ListMeta>();
        generator.subschema_for::<meta::Status>();
        generator.subschema_for::<meta::DeleteOptions>();
        generator.subschema_for::<meta::Patch>();
        generator.take_definitions(true)
    })
}

/// `(group, plural)` of a built-in resource.
type GroupPlural = (&'static str, &'static str);
/// A schema name and the definitions it needs.
type Generated = (String, Map<String, Value>);

/// Adds the k8s-openapi schema of a built-in kind (and what it refers to) to `schemas`;
/// returns its name, or `None` for a kind the sandbox has no schema for.
fn builtin_schema(
    def: &ResourceDef,
    version: &str,
    schemas: &mut Map<String, Value>,
) -> Option<String> {
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Secret};
    use k8s_openapi::api::events::v1::Event as EventV1;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    fn generate<T: JsonSchema>() -> (String, Map<String, Value>) {
        let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
        generator.subschema_for::<T>();
        (
            T::schema_name().into_owned(),
            generator.take_definitions(true),
        )
    }
    static CACHE: OnceLock<Vec<(GroupPlural, Generated)>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        vec![
            (("", "namespaces"), generate::<Namespace>()),
            (("", "secrets"), generate::<Secret>()),
            (("", "configmaps"), generate::<ConfigMap>()),
            (("", "events"), generate::<Event>()),
            (("events.k8s.io", "events"), generate::<EventV1>()),
            (("coordination.k8s.io", "leases"), generate::<Lease>()),
            (
                ("apiextensions.k8s.io", "customresourcedefinitions"),
                generate::<CustomResourceDefinition>(),
            ),
        ]
    });
    if version != "v1" {
        return None;
    }
    let (name, definitions) = cache
        .iter()
        .find(|((g, p), _)| *g == def.group && *p == def.plural)
        .map(|(_, found)| found)?;
    for (key, value) in definitions {
        schemas.entry(key.clone()).or_insert_with(|| value.clone());
    }
    if let Some(Value::Object(schema)) = schemas.get_mut(name) {
        schema.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([gvk(&def.group, version, &def.kind)]),
        );
    }
    Some(name.clone())
}

fn query(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string"}, "uniqueItems": true})
}

fn write_parameters(patch: bool) -> Vec<Value> {
    let mut params = vec![
        query(
            "dryRun",
            "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
        ),
        query(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn (default) - Strict",
        ),
    ];
    if patch {
        params.push(json!({"name": "force", "in": "query", "description": "Force is going to \"force\" Apply requests.", "schema": {"type": "boolean"}, "uniqueItems": true}));
    }
    params
}

fn list_parameters() -> Vec<Value> {
    [
        "allowWatchBookmarks",
        "continue",
        "fieldSelector",
        "labelSelector",
        "limit",
        "resourceVersion",
        "resourceVersionMatch",
        "sendInitialEvents",
        "timeoutSeconds",
        "watch",
    ]
    .iter()
    .map(|name| query(name, ""))
    .collect()
}

fn path_parameter(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "uniqueItems": true})
}

fn add_paths(
    paths: &mut BTreeMap<String, Value>,
    def: &ResourceDef,
    version: &VersionDef,
    kind_schema: Option<&str>,
) {
    let v = &version.name;
    let base = format!("/{}", gv_path(&def.group, v));
    let kind = gvk(&def.group, v, &def.kind);
    let body_ref = kind_schema.map_or_else(|| json!({"type": "object"}), schema_ref);
    let list_ref = kind_schema.map_or_else(
        || json!({"type": "object"}),
        |n| schema_ref(&format!("{n}List")),
    );
    let ok = |schema: &Value| {
        json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
               "401": {"description": "Unauthorized"}})
    };
    let operation =
        |action: &str, id: &str, params: Vec<Value>, body: Option<Value>, response: &Value| {
            let mut op = json!({
                "description": format!("{action} {}", def.kind),
                "operationId": format!("{id}{}", def.kind),
                "parameters": params,
                "responses": ok(response),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": kind,
            });
            if let Some(body) = body {
                op["requestBody"] = body;
            }
            op
        };
    let json_body =
        json!({"content": {"application/json": {"schema": body_ref}}, "required": true});
    let mut patch_types = Map::new();
    for media in [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
    ] {
        patch_types.insert(
            media.into(),
            json!({"schema": schema_ref(&format!("{META}.Patch"))}),
        );
    }
    if kind_schema.is_some() && version.schema.is_none() {
        // Built-in kinds take strategic merge patches; custom resources do not.
        patch_types.insert(
            "application/strategic-merge-patch+json".into(),
            json!({"schema": schema_ref(&format!("{META}.Patch"))}),
        );
    }
    let patch_body = json!({"content": patch_types, "required": true});

    let (collection, scope_params) = if def.namespaced {
        (
            format!("{base}/namespaces/{{namespace}}/{}", def.plural),
            vec![path_parameter("namespace")],
        )
    } else {
        (format!("{base}/{}", def.plural), Vec::new())
    };
    let mut item_params = vec![path_parameter("name")];
    item_params.extend(scope_params.iter().cloned());

    let mut collection_item = json!({
        "get": operation("list", "list", list_parameters(), None, &list_ref),
        "post": operation("post", "create", write_parameters(false), Some(json_body.clone()), &body_ref),
        "delete": operation("deletecollection", "deleteCollection", list_parameters(), None, &schema_ref(&format!("{META}.Status"))),
    });
    collection_item["parameters"] = json!(scope_params);
    let mut object_item = json!({
        "get": operation("get", "read", Vec::new(), None, &body_ref),
        "put": operation("put", "replace", write_parameters(false), Some(json_body.clone()), &body_ref),
        "patch": operation("patch", "patch", write_parameters(true), Some(patch_body.clone()), &body_ref),
        "delete": operation("delete", "delete", write_parameters(false), None, &body_ref),
    });
    object_item["parameters"] = json!(item_params);
    if version.status_subresource {
        let mut status_item = json!({
            "get": operation("get", "readStatus", Vec::new(), None, &body_ref),
            "put": operation("put", "replaceStatus", write_parameters(false), Some(json_body), &body_ref),
            "patch": operation("patch", "patchStatus", write_parameters(true), Some(patch_body), &body_ref),
        });
        status_item["parameters"] = json!(item_params);
        paths.insert(format!("{collection}/{{name}}/status"), status_item);
    }
    paths.insert(format!("{collection}/{{name}}"), object_item);
    paths.insert(collection, collection_item);
    if def.namespaced {
        paths.insert(
            format!("{base}/{}", def.plural),
            json!({"get": operation("list", "listForAllNamespaces", list_parameters(), None, &list_ref)}),
        );
    }
}

/// Upper-case hex, as the real server spells OpenAPI hashes.
mod hex {
    pub fn upper(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    fn registry() -> Registry {
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object",
                        "properties": {"spec": {"type": "object", "description": "the spec"}}}}}]}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut registry = Registry::with_builtins();
        registry.register(ResourceDef::from_crd(&crd));
        registry
    }

    #[test]
    fn index_lists_every_group_version_with_a_hash() {
        let index = index(&registry());
        let url = index["paths"]["apis/example.com/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default();
        assert!(
            url.starts_with("/openapi/v3/apis/example.com/v1?hash="),
            "{url}"
        );
        assert!(index["paths"]["api/v1"].is_object());
    }

    #[test]
    fn custom_resource_patch_takes_field_validation_but_not_strategic_merge() {
        let doc = gv_document(&registry(), "example.com", "v1").unwrap_or_default();
        let patch =
            &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Widget");
        let params: Vec<&str> = patch["parameters"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert!(params.contains(&"fieldValidation"));
        assert!(
            patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_null()
        );
        let schema = &doc["components"]["schemas"]["com.example.v1.Widget"];
        assert_eq!(
            schema["x-kubernetes-group-version-kind"][0]["kind"],
            "Widget"
        );
        assert_eq!(schema["properties"]["spec"]["description"], "the spec");
        assert!(
            doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
                .is_object()
        );
        assert!(gv_document(&registry(), "nope.io", "v1").is_none());
    }

    #[test]
    fn builtins_carry_their_schema_and_strategic_merge() {
        let doc = gv_document(&registry(), "", "v1").unwrap_or_default();
        let secret = &doc["components"]["schemas"]["io.k8s.api.core.v1.Secret"];
        assert_eq!(
            secret["x-kubernetes-group-version-kind"][0]["kind"],
            "Secret"
        );
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/secrets/{name}"]["patch"];
        assert!(
            patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object()
        );
    }
}
