//! `ServerlessFunctionCron`: a schedule that calls a Scaleway function with fixed JSON
//! arguments (Functions v1beta1 crons).

use super::common::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdoptionPolicy, DeletionPolicy, EffectivePolicies, LocalObjectReference, ManagementPolicy,
    conditions_schema,
};

/// Free JSON object: any fields, kept as written.
fn json_object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// A schedule that calls a Scaleway function (Functions v1beta1 cron). Scaleway runs function
/// crons in UTC and sends `args` as the JSON body of each call.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessFunctionCron",
    namespaced,
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.region) == has(oldSelf.spec.region) && (!has(self.spec.region) || self.spec.region == oldSelf.spec.region))").message("spec.region is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    doc = "A schedule calling a Scaleway function, managed by scaleway-serverless-operator.",
    status = "ServerlessFunctionCronStatus",
    shortname = "slfc",
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
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(
        name = "Function",
        type_ = "string",
        json_path = ".spec.functionRef.name"
    ),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id", priority = 1),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.functionRef) != has(self.functionId)").message("set exactly one of functionRef and functionId"))]
#[x_kube(validation = Rule::new("has(self.functionRef) == has(oldSelf.functionRef) && (!has(self.functionRef) || self.functionRef == oldSelf.functionRef)").message("functionRef is immutable"))]
#[x_kube(validation = Rule::new("has(self.functionId) == has(oldSelf.functionId) && (!has(self.functionId) || self.functionId == oldSelf.functionId)").message("functionId is immutable"))]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionCronSpec {
    /// The ServerlessFunction (same Kubernetes namespace) to call. Immutable. Set this or
    /// functionId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_ref: Option<LocalObjectReference>,
    /// ID of an existing Scaleway function not managed by this operator. Immutable. Set this
    /// or functionRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// Region of functionId; ignored with functionRef. Defaults to the operator's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(fr-par|nl-ams|pl-waw)$"))]
    pub region: Option<String>,
    /// Name of the cron at Scaleway: 1 to 63 lowercase letters, digits and `-`, starting
    /// with a letter and not ending with `-`. Defaults to metadata.name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$")
    )]
    pub name: Option<String>,
    /// UNIX cron expression with five fields, in UTC, e.g. "0 3 * * *".
    #[schemars(regex(pattern = r"^\S+( +\S+){4}$"))]
    pub schedule: String,
    /// JSON object sent as the body of each call. Defaults to {}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "json_object_schema")]
    pub args: Option<serde_json::Map<String, serde_json::Value>>,
    /// Delete or Orphan the Scaleway cron when this object is deleted.
    /// Unset: the `serverless.scaleway.com/deletion-policy` annotation of the Kubernetes
    /// Namespace, else the operator's `--default-deletion-policy` (Delete unless changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Manage (default), Observe (read-only) or Paused.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Whether an existing Scaleway cron with the wanted name on the function that was not
    /// created for this object may be taken over: Never (default) or Adopt.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,
}

/// Observed state of a ServerlessFunctionCron.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionCronStatus {
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
    /// Scaleway cron ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Status as Scaleway reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<String>,
    /// Region of the cron's function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Scaleway function ID the cron calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// Set just before the operator asks Scaleway to create the cron, cleared once its ID is
    /// recorded: Scaleway crons carry no tags or description to mark them as this object's,
    /// so a cron with this name found on the function after a crash or a lost answer is
    /// known to be the one this object created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested: Option<String>,
}
