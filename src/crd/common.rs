//! Types shared by every kind: references, deletion policy, secret references, conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens to the Scaleway resource when this object is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the Scaleway resource, and wait until it is gone (the default).
    #[default]
    Delete,
    /// Leave the Scaleway resource in place; only the Kubernetes object goes.
    Orphan,
}

/// A reference to another object of this operator in the same Kubernetes namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalObjectReference {
    /// Name of the object, in the same Kubernetes namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A key of a Kubernetes Secret in the same Kubernetes namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeySelector {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A secret environment variable whose value comes from a Kubernetes Secret. The value is
/// sent to Scaleway and never stored in this object or its status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretEnvVar {
    /// Name of the environment variable.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Where the value is.
    pub secret_key_ref: SecretKeySelector,
}

/// The schema of a `conditions` list: a map keyed by `type`, as Kubernetes API conventions
/// and server-side apply expect.
pub fn conditions_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<Vec<Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    schema
}
