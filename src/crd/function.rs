//! `ServerlessFunction`: a Scaleway Serverless function (Functions API v1beta1) whose code
//! comes from a ConfigMap, a Secret or a URL holding a zip archive.

use std::collections::BTreeMap;

use super::common::Condition;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdoptionPolicy, DeletionPolicy, EffectivePolicies, LocalObjectReference, ManagementPolicy,
    SecretEnvVar, SecretKeySelector, conditions_schema,
};
use super::container::{Privacy, Sandbox};

/// How the function answers plain HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HttpOption {
    /// Serve both HTTP and HTTPS (Scaleway's default).
    Enabled,
    /// Answer HTTP with a 301 redirect to HTTPS.
    Redirected,
}

/// A key of a ConfigMap in the same Kubernetes namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigMapKeySelector {
    /// Name of the ConfigMap.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key under the ConfigMap's binaryData.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Where the function's zip archive is: set exactly one of configMapKeyRef, secretKeyRef
/// and url. The archive holds the sources and their dependencies (node_modules/ for Node,
/// package/ for Python, vendor/ for Go), as Scaleway expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.configMapKeyRef) ? 1 : 0) + (has(self.secretKeyRef) ? 1 : 0) + (has(self.url) ? 1 : 0) == 1").message("set exactly one of configMapKeyRef, secretKeyRef and url"))]
#[x_kube(validation = Rule::new("!has(self.sha256) || has(self.url)").message("sha256 pins the archive of a url"))]
pub struct FunctionCode {
    /// A ConfigMap key holding the zip under binaryData (`kubectl create configmap NAME
    /// --from-file=code.zip` puts it there; ConfigMaps hold at most 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeySelector>,
    /// A Secret key holding the zip (at most 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
    /// An http(s) URL the operator downloads the zip from (at most 100 MiB). It is
    /// downloaded again when the URL or sha256 changes; to pick up new content behind the
    /// same URL, change sha256 or redeployRequestedAt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: Option<String>,
    /// Expected SHA-256 of the archive at url (lower-case hex). A download that does not
    /// match is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

/// A Scaleway Serverless function, kept in step with this object: settings are PATCHed,
/// and the code is uploaded and deployed again whenever the archive's digest changes.
/// Fields left out are not managed.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessFunction",
    namespaced,
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.name) == has(oldSelf.spec.name) && (!has(self.spec.name) || self.spec.name == oldSelf.spec.name))").message("spec.name is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.region) == has(oldSelf.spec.region) && (!has(self.spec.region) || self.spec.region == oldSelf.spec.region))").message("spec.region is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    doc = "A Scaleway Serverless function, managed by scaleway-serverless-operator.",
    status = "ServerlessFunctionStatus",
    shortname = "slf",
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
    printcolumn(name = "Runtime", type_ = "string", json_path = ".spec.runtime"),
    printcolumn(
        name = "Endpoint",
        type_ = "string",
        json_path = ".status.publicEndpoint"
    ),
    printcolumn(
        name = "Code",
        type_ = "string",
        json_path = ".status.codeSha256",
        description = "SHA-256 of the deployed archive",
        priority = 1
    ),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id", priority = 1),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.namespaceRef) != has(self.namespaceId)").message("set exactly one of namespaceRef and namespaceId"))]
#[x_kube(validation = Rule::new("!has(oldSelf.namespaceRef) || (has(self.namespaceRef) && self.namespaceRef == oldSelf.namespaceRef)").message("namespaceRef is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.namespaceId) || (has(self.namespaceId) && self.namespaceId == oldSelf.namespaceId)").message("namespaceId is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.name) || (has(self.name) && self.name == oldSelf.name)").message("name is immutable"))]
#[x_kube(validation = Rule::new("!has(oldSelf.region) || (has(self.region) && self.region == oldSelf.region)").message("region is immutable"))]
#[x_kube(validation = Rule::new("!has(self.minScale) || !has(self.maxScale) || self.minScale <= self.maxScale").message("minScale must not exceed maxScale"))]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionSpec {
    /// The ServerlessNamespace of type Functions (same Kubernetes namespace) this function
    /// belongs to. Immutable. Set this or namespaceId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_ref: Option<LocalObjectReference>,
    /// ID of an existing Scaleway functions namespace not managed by this operator.
    /// Immutable. Set this or namespaceRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// Region of namespaceId; ignored with namespaceRef. Defaults to the operator's region.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(fr-par|nl-ams|pl-waw)$"))]
    pub region: Option<String>,
    /// Name of the function at Scaleway (unique inside the namespace). Defaults to
    /// metadata.name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$"))]
    pub name: Option<String>,
    /// Runtime, e.g. python313, node22, go124, rust185, php84 (Scaleway's list:
    /// GET /functions/v1beta1/regions/{region}/runtimes).
    #[schemars(regex(pattern = r"^[a-z]+[0-9]*$"))]
    pub runtime: String,
    /// Entry point: path/file.function for Node, Python and PHP (e.g. handler.handle), the
    /// package directory for Go and Rust. Defaults to the runtime's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub handler: Option<String>,
    /// The zip archive to deploy.
    pub code: FunctionCode,
    /// Description shown in the Scaleway console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Environment variables (override the namespace's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Secret environment variables, each read from a key of a Kubernetes Secret in this
    /// Kubernetes namespace. A changed Secret value is sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<Vec<SecretEnvVar>>,
    /// Minimum number of instances (0 scales to zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1000))]
    pub min_scale: Option<u32>,
    /// Maximum number of instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_scale: Option<u32>,
    /// Memory limit as a quantity in whole Mi, e.g. 256Mi or 1Gi (sent as Scaleway's
    /// memory_limit in MB; Scaleway derives the CPU from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// Processing time limit of one request, e.g. 300s or 5m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Public (default at Scaleway) or Private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
    /// Enabled (HTTP and HTTPS) or Redirected (HTTP → HTTPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_option: Option<HttpOption>,
    /// Sandbox: V1 (legacy) or V2 (recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Sandbox>,
    /// Tags on the Scaleway function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Change this value (any string, e.g. a timestamp) to upload and deploy the code once
    /// more, even if its digest did not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeploy_requested_at: Option<String>,
    /// Delete or Orphan the Scaleway function when this object is deleted.
    /// Unset: the `serverless.scaleway.com/deletion-policy` annotation of the Kubernetes
    /// Namespace, else the operator's `--default-deletion-policy` (Delete unless changed).
    /// The value in force is shown in `status.effective`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Manage (default), Observe (read-only) or Paused.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Whether an existing Scaleway function with the wanted name that was not created for
    /// this object may be taken over: Never (default) or Adopt.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,
}

/// Observed state of a ServerlessFunction.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionStatus {
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
    /// Scaleway function ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Status as Scaleway reports it (created, pending, ready, error, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<String>,
    /// Public URL of the function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_endpoint: Option<String>,
    /// Scaleway's error message, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The current build step, as Scaleway reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_message: Option<String>,
    /// Region of the function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Scaleway functions namespace ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// SHA-256 (hex) of the archive last uploaded and deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
    /// Where that archive came from (ConfigMap name/key, Secret name/key or URL without its
    /// query string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_source: Option<String>,
    /// Short digest of the full code URL (query string included) last deployed, so that a
    /// changed query is noticed without being shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_url_digest: Option<String>,
    /// Keyed digest of the secret values last sent (never the values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_digest: Option<String>,
    /// The spec.redeployRequestedAt value last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_redeploy_requested_at: Option<String>,
}
