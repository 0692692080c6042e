//! `ServerlessFunctionTrigger`: a Scaleway Messaging and Queuing source (SQS queue or NATS
//! subject) that calls a Scaleway function (Functions v1beta1 triggers).

use super::common::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdoptionPolicy, DeletionPolicy, EffectivePolicies, LocalObjectReference, ManagementPolicy,
    conditions_schema,
};

/// A queue of Scaleway Messaging and Queuing (SQS protocol).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MnqSqsSource {
    /// Queue name.
    #[schemars(length(min = 1))]
    pub queue: String,
    /// Project where Messaging and Queuing is activated (UUID).
    #[schemars(regex(
        pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ))]
    pub mnq_project_id: String,
    /// Region of that project (Messaging and Queuing runs in fr-par and nl-ams).
    #[schemars(regex(pattern = r"^(fr-par|nl-ams)$"))]
    pub mnq_region: String,
}

/// A subject of a Scaleway Messaging and Queuing NATS account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MnqNatsSource {
    /// Subject to listen on.
    #[schemars(length(min = 1))]
    pub subject: String,
    /// NATS account ID.
    #[schemars(length(min = 1))]
    pub mnq_nats_account_id: String,
    /// Project where Messaging and Queuing is activated (UUID). Defaults to the function's
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ))]
    pub mnq_project_id: Option<String>,
    /// Region of the account (Messaging and Queuing runs in fr-par and nl-ams).
    #[schemars(regex(pattern = r"^(fr-par|nl-ams)$"))]
    pub mnq_region: String,
}

/// A Messaging and Queuing source that calls a Scaleway function: set exactly one of sqs
/// and nats. Scaleway cannot change a trigger's function or source, so both are immutable
/// here; name and description can change.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessFunctionTrigger",
    namespaced,
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.region) == has(oldSelf.spec.region) && (!has(self.spec.region) || self.spec.region == oldSelf.spec.region))").message("spec.region is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    doc = "A Messaging and Queuing source (SQS or NATS) calling a Scaleway function, managed by scaleway-serverless-operator.",
    status = "ServerlessFunctionTriggerStatus",
    shortname = "slftr",
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
    printcolumn(name = "Source", type_ = "string", json_path = ".status.sourceType"),
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
#[x_kube(validation = Rule::new("has(self.sqs) != has(self.nats)").message("set exactly one of sqs and nats"))]
#[x_kube(validation = Rule::new("has(self.sqs) == has(oldSelf.sqs) && (!has(self.sqs) || self.sqs == oldSelf.sqs)").message("sqs is immutable: Scaleway cannot change a trigger's source (create another ServerlessFunctionTrigger)"))]
#[x_kube(validation = Rule::new("has(self.nats) == has(oldSelf.nats) && (!has(self.nats) || self.nats == oldSelf.nats)").message("nats is immutable: Scaleway cannot change a trigger's source (create another ServerlessFunctionTrigger)"))]
#[x_kube(validation = Rule::new("has(self.functionRef) == has(oldSelf.functionRef) && (!has(self.functionRef) || self.functionRef == oldSelf.functionRef)").message("functionRef is immutable"))]
#[x_kube(validation = Rule::new("has(self.functionId) == has(oldSelf.functionId) && (!has(self.functionId) || self.functionId == oldSelf.functionId)").message("functionId is immutable"))]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionTriggerSpec {
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
    /// Name of the trigger at Scaleway: 1 to 63 lowercase letters, digits and `-`, starting
    /// with a letter and not ending with `-`. Defaults to metadata.name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$")
    )]
    pub name: Option<String>,
    /// Description shown in the Scaleway console (the operator appends its owner mark,
    /// `[k8s-owner-uid=…]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub description: Option<String>,
    /// A Messaging and Queuing SQS queue. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<MnqSqsSource>,
    /// A Messaging and Queuing NATS subject. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<MnqNatsSource>,
    /// Delete or Orphan the Scaleway trigger when this object is deleted.
    /// Unset: the `serverless.scaleway.com/deletion-policy` annotation of the Kubernetes
    /// Namespace, else the operator's `--default-deletion-policy` (Delete unless changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Manage (default), Observe (read-only) or Paused.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Whether an existing Scaleway trigger with the wanted name on the function that was
    /// not created for this object may be taken over: Never (default) or Adopt.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,
}

/// Observed state of a ServerlessFunctionTrigger.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionTriggerStatus {
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
    /// Scaleway trigger ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Status as Scaleway reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<String>,
    /// Scaleway's error message, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// scw_sqs or scw_nats, as Scaleway reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Region of the trigger's function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Scaleway function ID the trigger calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// The Messaging and Queuing credential Scaleway created for the trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnq_credential_id: Option<String>,
}
