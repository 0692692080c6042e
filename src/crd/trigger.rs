//! `ServerlessTrigger`: a cron, SQS or NATS source that calls a Serverless container.

use std::collections::BTreeMap;

use super::common::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdoptionPolicy, DeletionPolicy, EffectivePolicies, LocalObjectReference, ManagementPolicy,
    SecretKeySelector, conditions_schema,
};

/// HTTP method used to call the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

/// Where the trigger sends its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// Path of the container to call, e.g. /jobs/nightly.
    #[schemars(regex(pattern = r"^/"))]
    pub http_path: String,
    /// Method to call it with.
    pub http_method: HttpMethod,
}

/// A schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronSource {
    /// UNIX cron expression with five fields, e.g. "0 3 * * *".
    #[schemars(regex(pattern = r"^\S+( +\S+){4}$"))]
    pub schedule: String,
    /// Time zone from the tz database, e.g. Europe/Paris. Defaults to UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Body sent to the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Extra headers sent to the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
}

/// An SQS queue (Scaleway Queues or any SQS-compatible service).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SqsSource {
    /// Region of the queue, e.g. fr-par.
    pub region: String,
    /// SQS endpoint, e.g. https://sqs.mnq.fr-par.scaleway.com.
    pub endpoint: String,
    /// Queue URL.
    pub queue_url: String,
    /// Access key ID.
    pub access_key_id: String,
    /// Key of a Secret (same Kubernetes namespace) holding the secret access key.
    pub secret_access_key_ref: SecretKeySelector,
}

/// A NATS subject (Scaleway NATS or any NATS server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsSource {
    /// NATS server URLs, e.g. nats://nats.mnq.fr-par.scaleway.com:4222.
    #[schemars(length(min = 1))]
    pub server_urls: Vec<String>,
    /// Subject to listen on.
    #[schemars(length(min = 1))]
    pub subject: String,
    /// Key of a Secret (same Kubernetes namespace) holding the NATS credentials file.
    pub credentials_ref: SecretKeySelector,
}

/// A trigger that calls a Scaleway Serverless container: set exactly one of cron, sqs and
/// nats; the kind of source cannot change.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessTrigger",
    namespaced,
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.region) == has(oldSelf.spec.region) && (!has(self.spec.region) || self.spec.region == oldSelf.spec.region))").message("spec.region is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    doc = "A trigger (cron, SQS or NATS) calling a Scaleway Serverless container, managed by scaleway-serverless-operator.",
    status = "ServerlessTriggerStatus",
    shortname = "slt",
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
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id", priority = 1),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.containerRef) != has(self.containerId)").message("set exactly one of containerRef and containerId"))]
#[x_kube(validation = Rule::new("(has(self.cron) ? 1 : 0) + (has(self.sqs) ? 1 : 0) + (has(self.nats) ? 1 : 0) == 1").message("set exactly one of cron, sqs and nats"))]
#[x_kube(validation = Rule::new("has(self.cron) == has(oldSelf.cron) && has(self.sqs) == has(oldSelf.sqs) && has(self.nats) == has(oldSelf.nats)").message("the kind of source (cron, sqs, nats) is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.containerRef) || (has(self.containerRef) && self.containerRef == oldSelf.containerRef)").message("containerRef is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.containerId) || (has(self.containerId) && self.containerId == oldSelf.containerId)").message("containerId is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.region) || (has(self.region) && self.region == oldSelf.region)").message("region is immutable"))]
#[serde(rename_all = "camelCase")]
pub struct ServerlessTriggerSpec {
    /// The ServerlessContainer (same Kubernetes namespace) to call. Immutable. Set this or
    /// containerId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_ref: Option<LocalObjectReference>,
    /// ID of an existing Scaleway container not managed by this operator. Immutable. Set
    /// this or containerRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Region of containerId; ignored with containerRef. Defaults to the operator's region.
    /// Immutable.
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
    /// Description shown in the Scaleway console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags on the Scaleway trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Where events go. Defaults to POST /.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// A schedule source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<CronSource>,
    /// An SQS source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<SqsSource>,
    /// A NATS source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsSource>,
    /// Delete or Orphan the Scaleway trigger when this object is deleted.
    /// Unset: the `serverless.scaleway.com/deletion-policy` annotation of the Kubernetes
    /// Namespace, else the operator's `--default-deletion-policy` (Delete unless changed).
    /// The value in force is shown in `status.effective`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Manage (default), Observe (read-only) or Paused.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Whether an existing Scaleway trigger with the wanted name that was not created for
    /// this object may be taken over: Never (default) or Adopt.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,
}

/// Observed state of a ServerlessTrigger.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessTriggerStatus {
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
    /// cron, sqs or nats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Region of the trigger's container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Scaleway container ID the trigger calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Keyed digest of the secret values last sent (never the values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_digest: Option<String>,
}
