//! `ServerlessDomain`: a custom hostname routed to a Serverless container or function.

use super::common::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdoptionPolicy, DeletionPolicy, EffectivePolicies, LocalObjectReference, ManagementPolicy,
    conditions_schema,
};

/// A custom hostname (e.g. api.example.com) that routes to a Scaleway Serverless container.
/// Before applying it, create a DNS CNAME record from the hostname to the container's
/// endpoint (`status.cnameTarget` once the container is ready); Scaleway checks it and
/// issues the certificate.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessDomain",
    namespaced,
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.region) == has(oldSelf.spec.region) && (!has(self.spec.region) || self.spec.region == oldSelf.spec.region))").message("spec.region is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    doc = "A custom hostname on a Scaleway Serverless container or function, managed by scaleway-serverless-operator.",
    status = "ServerlessDomainStatus",
    shortname = "sld",
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
    printcolumn(name = "Hostname", type_ = "string", json_path = ".spec.hostname"),
    printcolumn(
        name = "CNAME-Target",
        type_ = "string",
        json_path = ".status.cnameTarget",
        description = "Where the hostname's DNS CNAME record must point",
        priority = 1
    ),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id", priority = 1),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("(has(self.containerRef) ? 1 : 0) + (has(self.containerId) ? 1 : 0) + (has(self.functionRef) ? 1 : 0) + (has(self.functionId) ? 1 : 0) == 1").message("set exactly one of containerRef, containerId, functionRef and functionId"))]
#[x_kube(validation = Rule::new("!has(oldSelf.functionRef) || (has(self.functionRef) && self.functionRef == oldSelf.functionRef)").message("functionRef is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.functionId) || (has(self.functionId) && self.functionId == oldSelf.functionId)").message("functionId is immutable"))]
#[x_kube(validation = Rule::new("!has(self.tags) || !(has(self.functionRef) || has(self.functionId))").message("tags: Scaleway function domains have no tags"))]
#[x_kube(validation = Rule::new("!has(oldSelf.containerRef) || (has(self.containerRef) && self.containerRef == oldSelf.containerRef)").message("containerRef is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.containerId) || (has(self.containerId) && self.containerId == oldSelf.containerId)").message("containerId is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.region) || (has(self.region) && self.region == oldSelf.region)").message("region is immutable"))]
#[x_kube(validation = Rule::new("self.hostname == oldSelf.hostname").message("hostname is immutable"))]
#[serde(rename_all = "camelCase")]
pub struct ServerlessDomainSpec {
    /// The ServerlessContainer (same Kubernetes namespace) the hostname routes to.
    /// Immutable. Set this or containerId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_ref: Option<LocalObjectReference>,
    /// ID of an existing Scaleway container not managed by this operator. Immutable. Set
    /// this or containerRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// The ServerlessFunction (same Kubernetes namespace) the hostname routes to. Immutable.
    /// Set this, functionId, containerRef or containerId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_ref: Option<LocalObjectReference>,
    /// ID of an existing Scaleway function not managed by this operator. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// Region of containerId or functionId; ignored with a reference. Defaults to the
    /// operator's region. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(fr-par|nl-ams|pl-waw)$"))]
    pub region: Option<String>,
    /// The fully qualified hostname, lower case, without a trailing dot (e.g.
    /// api.example.com). Immutable.
    #[schemars(
        length(min = 4, max = 253),
        regex(
            pattern = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
        )
    )]
    pub hostname: String,
    /// Tags on the Scaleway domain (container domains only: function domains have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Delete or Orphan the Scaleway domain when this object is deleted.
    /// Unset: the `serverless.scaleway.com/deletion-policy` annotation of the Kubernetes
    /// Namespace, else the operator's `--default-deletion-policy` (Delete unless changed).
    /// The value in force is shown in `status.effective`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Manage (default), Observe (read-only) or Paused.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Whether an existing Scaleway domain with this hostname on the container or function
    /// that was not created for this object may be taken over: Never (default) or Adopt.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,
}

/// Observed state of a ServerlessDomain.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessDomainStatus {
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
    /// Scaleway domain ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Status as Scaleway reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<String>,
    /// Scaleway's error message, when it reports one (e.g. the CNAME record is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The public URL, https://<hostname>.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The container's or function's own endpoint host: the DNS CNAME record of the
    /// hostname must point there (known when it is referenced with containerRef or
    /// functionRef).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname_target: Option<String>,
    /// Region of the container or function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Scaleway container ID the hostname routes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Scaleway function ID the hostname routes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// Function domains only (they carry no tags to mark them): set just before the
    /// operator asks Scaleway to create the domain, cleared once its ID is recorded, so a
    /// domain with this hostname found on the function after a crash is known to be ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested: Option<String>,
}
