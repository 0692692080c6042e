//! `ServerlessNamespace`: a Scaleway Serverless Containers or Functions namespace.

use std::collections::BTreeMap;

use super::common::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdoptionPolicy, DeletionPolicy, EffectivePolicies, LocalObjectReference, ManagementPolicy,
    SecretEnvVar, conditions_schema,
};

/// Which Scaleway Serverless product a namespace is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NamespaceType {
    /// A Serverless Containers namespace (Containers API v1).
    #[default]
    Containers,
    /// A Serverless Functions namespace (Functions API v1beta1).
    Functions,
}

/// A Scaleway Serverless namespace (Containers by default, or Functions), kept in step with
/// this object. Containers and functions name it in `namespaceRef`.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessNamespace",
    namespaced,
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.name) == has(oldSelf.spec.name) && (!has(self.spec.name) || self.spec.name == oldSelf.spec.name))").message("spec.name is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.region) == has(oldSelf.spec.region) && (!has(self.spec.region) || self.spec.region == oldSelf.spec.region))").message("spec.region is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.projectId) == has(oldSelf.spec.projectId) && (!has(self.spec.projectId) || self.spec.projectId == oldSelf.spec.projectId))").message("spec.projectId is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    doc = "A Scaleway Serverless Containers namespace, managed by scaleway-serverless-operator.",
    status = "ServerlessNamespaceStatus",
    shortname = "sns",
    category = "serverless",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.remoteStatus",
        description = "Status reported by Scaleway"
    ),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Region", type_ = "string", json_path = ".status.region"),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id", priority = 1),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("!has(oldSelf.region) || (has(self.region) && self.region == oldSelf.region)").message("region is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.projectId) || (has(self.projectId) && self.projectId == oldSelf.projectId)").message("projectId is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.name) || (has(self.name) && self.name == oldSelf.name)").message("name is immutable"))]
#[x_kube(validation = Rule::new("(has(self.type) ? self.type : 'Containers') == (has(oldSelf.type) ? oldSelf.type : 'Containers')").message("type is immutable"))]
#[serde(rename_all = "camelCase")]
pub struct ServerlessNamespaceSpec {
    /// Containers (default) for ServerlessContainers, or Functions for ServerlessFunctions.
    /// Scaleway keeps the two in separate APIs; a namespace holds one kind only. Immutable.
    #[serde(default, rename = "type")]
    pub type_: NamespaceType,
    /// Name of the namespace at Scaleway (unique inside the project). Defaults to
    /// metadata.name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$"))]
    pub name: Option<String>,
    /// Scaleway region: fr-par, nl-ams or pl-waw. Defaults to the operator's region.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(fr-par|nl-ams|pl-waw)$"))]
    pub region: Option<String>,
    /// Scaleway project ID. Defaults to the project of the credentials in use. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Description shown in the Scaleway console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Environment variables mounted in every container of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Secret environment variables mounted in every container, each read from a key of a
    /// Kubernetes Secret in this Kubernetes namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<Vec<SecretEnvVar>>,
    /// Tags on the Scaleway namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A Secret in this Kubernetes namespace holding the Scaleway credentials to use for this
    /// namespace and its containers and triggers: key SCW_SECRET_KEY (required), and
    /// optionally SCW_ACCESS_KEY and SCW_DEFAULT_PROJECT_ID. Defaults to the operator's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<LocalObjectReference>,
    /// Delete or Orphan the Scaleway namespace when this object is deleted.
    /// Deleting a Scaleway namespace deletes everything in it.
    /// Unset: the `serverless.scaleway.com/deletion-policy` annotation of the Kubernetes
    /// Namespace, else the operator's `--default-deletion-policy` (Delete unless changed).
    /// The value in force is shown in `status.effective`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Manage (default), Observe (read-only) or Paused.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Whether an existing Scaleway namespace with the wanted name that was not created for
    /// this object may be taken over: Never (default) or Adopt.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,
}

/// Observed state of a ServerlessNamespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessNamespaceStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling and Stalled conditions (kstatus conventions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The deletion policy, credentials and resync period in force, and where each came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<EffectivePolicies>,
    /// Scaleway namespace ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Status as Scaleway reports it (creating, ready, error, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<String>,
    /// Scaleway's error message, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Region of the Scaleway namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project of the Scaleway namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Keyed digest of the secret values last sent (never the values), to know when to
    /// send them again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_digest: Option<String>,
}
