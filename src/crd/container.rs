//! `ServerlessContainer`: a Scaleway Serverless container.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdoptionPolicy, Condition, DeletionPolicy, EffectivePolicies, LocalObjectReference,
    ManagementPolicy, SecretEnvVar, conditions_schema,
};
use super::{BoxedString, SharedStr};

/// Who may invoke the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Privacy {
    /// Anyone with the URL.
    Public,
    /// Only callers with an IAM or legacy JWT token.
    Private,
}

/// Protocol the container speaks on its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Protocol {
    /// HTTP/1.1.
    #[serde(rename = "HTTP1")]
    Http1,
    /// HTTP/2 without TLS (gRPC).
    #[serde(rename = "H2C")]
    H2c,
}

/// Execution environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Sandbox {
    /// Legacy sandbox with full syscall support.
    V1,
    /// Recommended sandbox with faster cold starts.
    V2,
}

/// Autoscaling rule: set at most one threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.concurrentRequestsThreshold) ? 1 : 0) + (has(self.cpuUsageThreshold) ? 1 : 0) + (has(self.memoryUsageThreshold) ? 1 : 0) <= 1").message("set at most one scaling threshold"))]
pub struct Scaling {
    /// Add an instance above this many concurrent requests per instance (1 to 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub concurrent_requests_threshold: Option<u32>,
    /// Add an instance above this CPU usage, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub cpu_usage_threshold: Option<u32>,
    /// Add an instance above this memory usage, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub memory_usage_threshold: Option<u32>,
}

/// HTTP check: succeeds on a 2XX or 3XX answer within the timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpGetProbe {
    /// Path to request, e.g. /healthz.
    #[schemars(regex(pattern = r"^/"))]
    pub path: String,
}

/// TCP check: succeeds when the port accepts a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct TcpProbe {}

/// A liveness or startup probe: set exactly one of tcp and http.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.tcp) != has(self.http)").message("set exactly one of tcp and http"))]
pub struct Probe {
    /// Consecutive failures before the instance is marked unhealthy (1 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub failure_threshold: Option<u32>,
    /// Time between two checks, e.g. 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Time limit of one check, e.g. 1s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// TCP check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    /// HTTP check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpGetProbe>,
}

/// A Scaleway Serverless container, kept in step with this object. Fields left out are
/// not managed: Scaleway's default (or the value set elsewhere) stays.
// Each printcolumn(...) repeats the same keys by design, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "serverless.scaleway.com",
    version = "v1alpha1",
    kind = "ServerlessContainer",
    namespaced,
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.name) == has(oldSelf.spec.name) && (!has(self.spec.name) || self.spec.name == oldSelf.spec.name))").message("spec.name is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.id) || (has(self.spec.region) == has(oldSelf.spec.region) && (!has(self.spec.region) || self.spec.region == oldSelf.spec.region))").message("spec.region is immutable: it cannot be set, changed or removed once the Scaleway resource exists"),
    doc = "A Scaleway Serverless container, managed by scaleway-serverless-operator.",
    status = "ServerlessContainerStatus",
    shortname = "slc",
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
    printcolumn(
        name = "Endpoint",
        type_ = "string",
        json_path = ".status.publicEndpoint"
    ),
    printcolumn(
        name = "Image",
        type_ = "string",
        json_path = ".spec.image",
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
pub struct ServerlessContainerSpec {
    /// The ServerlessNamespace (same Kubernetes namespace) this container belongs to.
    /// Immutable. Set this or namespaceId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_ref: Option<LocalObjectReference>,
    /// ID of an existing Scaleway namespace not managed by this operator. Immutable. Set
    /// this or namespaceRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<SharedStr>,
    /// Region of namespaceId (fr-par, nl-ams, pl-waw); ignored with namespaceRef, whose
    /// region is used. Defaults to the operator's region. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(fr-par|nl-ams|pl-waw)$"))]
    pub region: Option<SharedStr>,
    /// Name of the container at Scaleway (unique inside the namespace). Defaults to
    /// metadata.name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$"))]
    pub name: Option<BoxedString>,
    /// Image to run, e.g. rg.fr-par.scw.cloud/my-namespace/app:1.2.
    #[schemars(length(min = 1))]
    pub image: SharedStr,
    /// Description shown in the Scaleway console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<BoxedString>,
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
    /// Memory limit as a quantity, e.g. 512Mi or 1Gi (sent in bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// CPU limit as a quantity, e.g. 1000m or 0.5 (sent in milli-vCPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Quantity>,
    /// Local storage limit as a quantity, e.g. 1Gi (sent in bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_storage: Option<Quantity>,
    /// Processing time limit of one request, e.g. 300s or 5m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<BoxedString>,
    /// Public (default at Scaleway) or Private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
    /// HTTP1 or H2C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Port the container listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// Redirect HTTP requests to HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_only: Option<bool>,
    /// Sandbox: V1 (legacy) or V2 (recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Sandbox>,
    /// Autoscaling rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<Scaling>,
    /// Liveness probe; runs periodically after the startup probe succeeds.
    // Boxed, like the remote side's: most containers set no probe, and the spec is kept in
    // memory for every object of the kind (the reflector store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Box<Probe>>,
    /// Startup probe; runs while an instance starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Box<Probe>>,
    /// Tags on the Scaleway container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// ID of a Scaleway Private Network to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_network_id: Option<SharedStr>,
    /// Overrides the image ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Overrides the image arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Change this value (any string, e.g. a timestamp) to redeploy the container once, as
    /// `kubectl rollout restart` does for a Deployment: it pulls a mutable tag again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeploy_requested_at: Option<BoxedString>,
    /// Delete or Orphan the Scaleway container when this object is deleted.
    /// Unset: the `serverless.scaleway.com/deletion-policy` annotation of the Kubernetes
    /// Namespace, else the operator's `--default-deletion-policy` (Delete unless changed).
    /// The value in force is shown in `status.effective`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// ConfigMaps or Secrets to keep up to date with the container's endpoint, ID and
    /// region, for other workloads to mount or read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    pub exports: Option<Vec<Export>>,
    /// Manage (default), Observe (read-only) or Paused.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Whether an existing Scaleway container with the wanted name that was not created for
    /// this object may be taken over: Never (default) or Adopt.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,
}

/// Where a container's outputs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ExportKind {
    /// A ConfigMap (for non-secret outputs such as the endpoint).
    ConfigMap,
    /// A Secret.
    Secret,
}

/// A ConfigMap or Secret, in this Kubernetes namespace, that the operator keeps up to date
/// with the container's outputs: keys `id`, `region`, `namespaceId`, `endpoint` (host name)
/// and `url` (`https://` + endpoint), each once known. The target is owned by this object
/// (deleted with it) and written with server-side apply: other keys of an existing target
/// are left alone, and keys another manager owns are reported as a conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Export {
    /// ConfigMap or Secret.
    pub kind: ExportKind,
    /// Its name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Observed state of a ServerlessContainer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessContainerStatus {
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
    /// Scaleway container ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Box<str>>,
    /// Status as Scaleway reports it (creating, updating, ready, error, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<SharedStr>,
    /// Default public URL of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_endpoint: Option<Box<str>>,
    /// Scaleway's error message, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<BoxedString>,
    /// Region of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<SharedStr>,
    /// Scaleway namespace ID the container is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<SharedStr>,
    /// Keyed digest of the secret values last sent (never the values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_digest: Option<BoxedString>,
    /// The spec.redeployRequestedAt value last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_redeploy_requested_at: Option<BoxedString>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reflector store keeps every container as an `Arc` of this struct: 16 bytes of
    /// counts plus the struct. One byte over 880 puts each in jemalloc's 1,024-byte class
    /// (1.25 MB more at 10,000 containers; README, Performance).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_stored_container_fits_in_896_bytes() {
        let size = std::mem::size_of::<ServerlessContainer>();
        assert!(16 + size <= 896, "{size} bytes");
    }

    /// A stored object keeps its conditions in a vector: two of them fill 128 bytes
    /// (`metav1.Condition` is 128 bytes by itself).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_condition_is_64_bytes() {
        assert_eq!(std::mem::size_of::<Condition>(), 64);
    }

    #[test]
    fn two_decoded_containers_share_what_their_statuses_repeat_and_read_back_the_same() {
        let json = serde_json::json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainer",
            "metadata": {"name": "a", "namespace": "default"},
            "spec": {"namespaceRef": {"name": "ns"}, "image": "app:1", "region": "fr-par",
                     "description": "shop front",
                     "managementPolicy": "Manage", "adoptionPolicy": "Never"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "UpToDate",
                                "message": "Scaleway reports the container ready",
                                "lastTransitionTime": "2026-11-24T15:15:13Z",
                                "observedGeneration": 1}],
                "effective": {"deletionPolicy": "Delete", "deletionPolicyFrom": "Operator",
                              "credentialsFrom": "Operator", "resyncPeriod": "30s"},
                "id": "5a4743e1-b9b6-44ed-9348-ee0722ecc50e", "region": "fr-par",
                "remoteStatus": "ready", "namespaceId": "9a45cd88-8d59-40d6-8144-5b6a189663f5",
                "publicEndpoint": "a.functions.fnc.fr-par.scw.cloud",
                "errorMessage": "image pull failed"
            }
        });
        let decode = || -> ServerlessContainer {
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}"))
        };
        let (a, b) = (decode(), decode());
        let (sa, sb) = (
            a.status.as_ref().unwrap_or_else(|| panic!("no status")),
            b.status.as_ref().unwrap_or_else(|| panic!("no status")),
        );
        let same = |x: &str, y: &str| std::ptr::eq(x.as_ptr(), y.as_ptr());
        let (ca, cb) = (&sa.conditions[0], &sb.conditions[0]);
        assert!(same(&ca.message, &cb.message) && same(&ca.reason, &cb.reason));
        assert!(same(&ca.type_, &cb.type_) && same(&ca.status, &cb.status));
        for (x, y) in [
            (&sa.region, &sb.region),
            (&sa.namespace_id, &sb.namespace_id),
            (&sa.remote_status, &sb.remote_status),
        ] {
            assert!(same(
                x.as_deref().unwrap_or("-"),
                y.as_deref().unwrap_or("+")
            ));
        }
        assert!(same(&a.spec.image, &b.spec.image));
        // A per-object value is not shared.
        assert!(!same(
            sa.id.as_deref().unwrap_or_default(),
            sb.id.as_deref().unwrap_or_default()
        ));
        assert_eq!(
            serde_json::to_value(&a).unwrap_or_else(|e| panic!("{e}")),
            json,
            "reads back as it was written"
        );
    }
}
