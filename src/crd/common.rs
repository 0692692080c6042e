//! Types shared by every kind: references, deletion policy, secret references, conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::shared_str::SharedStr;

/// What happens to the Scaleway resource when this object is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the Scaleway resource, and wait until it is gone (the default).
    #[default]
    Delete,
    /// Leave the Scaleway resource in place; only the Kubernetes object goes.
    Orphan,
}

/// How far the operator manages the Scaleway resource of an object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update and delete the Scaleway resource to match the spec (the default).
    #[default]
    Manage,
    /// Read-only: find the Scaleway resource by name (or `status.id`), report its state and
    /// how it differs from the spec, and never write to it. Deleting the object leaves the
    /// Scaleway resource in place.
    Observe,
    /// Stop reconciling: nothing is read or written, status says so (condition
    /// `Paused=True`). A deletion waits until the object is no longer paused.
    Paused,
}

/// What to do when a Scaleway resource with the wanted name exists but was not created for
/// this object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AdoptionPolicy {
    /// Do not touch it: report `AdoptionRequired` and create nothing (the default).
    #[default]
    Never,
    /// Take it over (mark it as this object's) and manage it from then on.
    Adopt,
}

/// Where an effective setting came from, most specific first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PolicySource {
    /// The object's own spec.
    Object,
    /// The parent object this one references (its ServerlessNamespace).
    Parent,
    /// An annotation of the object's Kubernetes Namespace.
    Namespace,
    /// The operator's flags or environment.
    Operator,
}

/// The settings in force for an object after layering object, Kubernetes Namespace and
/// operator defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectivePolicies {
    /// Delete or Orphan.
    pub deletion_policy: DeletionPolicy,
    /// Where `deletionPolicy` came from.
    pub deletion_policy_from: PolicySource,
    /// Name of the credentials Secret in use, or empty for the operator's own credentials.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub credentials_secret: SharedStr,
    /// Where the credentials came from.
    pub credentials_from: PolicySource,
    /// How often the object is compared with Scaleway when nothing happens (e.g. `5m0s`).
    pub resync_period: SharedStr,
}

/// A reference to another object of this operator in the same Kubernetes namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalObjectReference {
    /// Name of the object, in the same Kubernetes namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: SharedStr,
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
    let mut schema =
        generator.subschema_for::<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    schema
}

/// One entry of a status's `conditions`: Kubernetes' `metav1.Condition`, field for field and
/// with its schema ([`conditions_schema`]), but with the type, status, reason and message
/// kept as [`SharedStr`]s, as nearly every object of a kind repeats them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// When the status last changed.
    pub last_transition_time: Time,
    /// Human-readable details.
    #[serde(default)]
    pub message: SharedStr,
    /// The metadata.generation the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A CamelCase reason.
    #[serde(default)]
    pub reason: SharedStr,
    /// True, False or Unknown.
    pub status: SharedStr,
    /// The condition's type (Ready, Synced, ...).
    #[serde(rename = "type")]
    pub type_: SharedStr,
}
