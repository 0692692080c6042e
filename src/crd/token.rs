//! `ServerlessFunctionToken`: a Functions v1beta1 token (deprecated upstream in favour of IAM
//! API keys) whose value is written to a Kubernetes Secret.

use super::common::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    DeletionPolicy, EffectivePolicies, LocalObjectReference, ManagementPolicy, conditions_schema,
};

/// Where the token value goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenSecretTarget {
    /// Name of the Secret (same Kubernetes namespace). The operator creates it and owns it;
    /// an existing Secret that it did not create is never overwritten.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub name: String,
    /// Key of the value in the Secret. Defaults to `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]{1,253}$"))]
    pub key: Option<String>,
}

/// A token that grants access to a private function, or to every function of a functions
/// namespace, written to a Kubernetes Secret (Scaleway shows a token's value only once, when
/// it is created).
///
/// DEPRECATED upstream: Scaleway deprecates function tokens in favour of IAM API keys. This
/// kind exists for workloads that still call private functions with a token.
///
/// A token cannot be changed at Scaleway: changing description or expiresAt, or setting a new
/// rotationRequestedAt, creates a new token, writes it to the Secret, then revokes the old
/// one.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessFunctionToken",
    namespaced,
    doc = "A Scaleway Functions token written to a Secret (deprecated upstream in favour of IAM), managed by scaleway-serverless-operator.",
    status = "ServerlessFunctionTokenStatus",
    shortname = "slft",
    category = "serverless",
    deprecated = "serverless.scaleway.com/v1alpha1 ServerlessFunctionToken: Scaleway deprecates function tokens in favour of IAM API keys",
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
    printcolumn(name = "Secret", type_ = "string", json_path = ".spec.secret.name"),
    printcolumn(name = "Expires", type_ = "string", json_path = ".spec.expiresAt"),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id", priority = 1),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.functionRef) != has(self.namespaceRef)").message("set exactly one of functionRef and namespaceRef"))]
#[x_kube(validation = Rule::new("has(self.functionRef) == has(oldSelf.functionRef) && (!has(self.functionRef) || self.functionRef == oldSelf.functionRef)").message("functionRef is immutable"))]
#[x_kube(validation = Rule::new("has(self.namespaceRef) == has(oldSelf.namespaceRef) && (!has(self.namespaceRef) || self.namespaceRef == oldSelf.namespaceRef)").message("namespaceRef is immutable"))]
#[x_kube(validation = Rule::new("!has(self.managementPolicy) || self.managementPolicy != 'Observe'").message("managementPolicy Observe is not supported for tokens: their value cannot be read"))]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionTokenSpec {
    /// The ServerlessFunction (same Kubernetes namespace) the token grants access to.
    /// Immutable. Set this or namespaceRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_ref: Option<LocalObjectReference>,
    /// The ServerlessNamespace of type Functions (same Kubernetes namespace) whose functions
    /// the token grants access to. Immutable. Set this or functionRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_ref: Option<LocalObjectReference>,
    /// The Secret the token value is written to.
    pub secret: TokenSecretTarget,
    /// Description shown in the Scaleway console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub description: Option<String>,
    /// When the token stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z); never when unset.
    /// The object turns Ready=False with reason Expired afterwards: set a later date to get
    /// a new token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
    ))]
    pub expires_at: Option<String>,
    /// Change this value (any string, e.g. a timestamp) to rotate the token: a new one is
    /// written to the Secret, then the old one is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_requested_at: Option<String>,
    /// Delete (revoke the token and delete the Secret) or Orphan (leave both) when this
    /// object is deleted. Unset: the `serverless.scaleway.com/deletion-policy` annotation of
    /// the Kubernetes Namespace, else the operator's `--default-deletion-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Manage (default) or Paused. (Observe is refused: a token's value cannot be read.)
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

/// Observed state of a ServerlessFunctionToken. The token value is never in status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessFunctionTokenStatus {
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
    /// Scaleway token ID (the one whose value is in the Secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Status as Scaleway reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<String>,
    /// Region of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Scaleway function ID the token is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// Scaleway functions namespace ID the token is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// The Secret and key holding the value of token `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The description, expiry and rotation request token `id` was created for: a change
    /// in the spec means a new token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_for: Option<String>,
}
