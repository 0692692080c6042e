//! Container wire types (`scaleway.containers.v1.Container` and its requests).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::common::{ApiDuration, Status, null_as_default, status_or_unknown, string_enum};
use crate::scaleway::SecretString;
use crate::shared_str::SharedStr;

string_enum! {
    /// Who may invoke the container. The API defaults new containers to `public`.
    Privacy {
        /// Not set (`unknown_privacy`).
        UnknownPrivacy => "unknown_privacy",
        Public => "public",
        Private => "private",
    }
}

string_enum! {
    /// Protocol the container speaks on its port.
    Protocol {
        /// Not set (`unknown_protocol`).
        UnknownProtocol => "unknown_protocol",
        Http1 => "http1",
        H2c => "h2c",
    }
}

string_enum! {
    /// Execution environment: `v1` (legacy, full syscalls) or `v2` (faster cold starts).
    Sandbox {
        /// Not set (`unknown_sandbox`).
        UnknownSandbox => "unknown_sandbox",
        V1 => "v1",
        V2 => "v2",
    }
}

/// Autoscaling rule: at most one threshold may be set (one-of `scaling_rule`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct ScalingOption {
    /// Scale up above this many concurrent requests per instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_requests_threshold: Option<u32>,
    /// Scale up above this CPU usage, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_usage_threshold: Option<u32>,
    /// Scale up above this memory usage, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_usage_threshold: Option<u32>,
}

/// A TCP probe (an empty object on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct TcpProbe {}

/// An HTTP probe: succeeds on a 2XX/3XX answer within the timeout.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct HttpProbe {
    /// Path to request.
    pub path: String,
}

/// A liveness or startup probe (one-of `probe`: `tcp` or `http`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct Probe {
    /// Consecutive failures before the instance is marked unhealthy; 0 (unset) is not sent,
    /// so the server's default applies (0 itself is out of range).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failure_threshold: u32,
    /// Time between two checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<ApiDuration>,
    /// Time limit of one check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ApiDuration>,
    /// TCP check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    /// HTTP check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// A Serverless container as the API returns it.
///
/// Kept in a snapshot for every container of a scope, so its strings are as small as they
/// can be: those that containers repeat (namespace ID, region, image, Private Network) are
/// [`SharedStr`]s (one pointer), the others `Box<str>` (16 bytes, not 24): 408 bytes
/// inline, jemalloc's 448-byte class.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct Container {
    /// Container ID (UUID).
    pub id: Box<str>,
    /// Name, unique inside the namespace; immutable.
    pub name: Box<str>,
    /// Namespace the container belongs to; immutable.
    #[serde(default)]
    pub namespace_id: SharedStr,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: Box<str>,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "status_or_unknown")]
    pub status: Status,
    /// Last error message, set alongside `status: error`.
    #[serde(default)]
    pub error_message: Option<Box<str>>,
    /// Environment variables (override the namespace's).
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_variables: BTreeMap<String, String>,
    /// Secret environment variables, as the server echoes them (never the clear value).
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret_environment_variables: BTreeMap<String, String>,
    /// Minimum number of instances.
    #[serde(default)]
    pub min_scale: u32,
    /// Maximum number of instances.
    #[serde(default)]
    pub max_scale: u32,
    /// Memory limit in bytes.
    #[serde(default)]
    pub memory_limit_bytes: u64,
    /// CPU limit in milli-vCPU.
    #[serde(default)]
    pub mvcpu_limit: u32,
    /// Local storage limit in bytes.
    #[serde(default)]
    pub local_storage_limit_bytes: u64,
    /// Processing time limit of one request.
    #[serde(default)]
    pub timeout: Option<ApiDuration>,
    /// Invocation privacy.
    #[serde(default)]
    pub privacy: Privacy,
    /// Image reference.
    #[serde(default)]
    pub image: SharedStr,
    /// Protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// Port the container listens on.
    #[serde(default)]
    pub port: u32,
    /// Redirect HTTP to HTTPS. (Spelled with "connections" here and in CreateContainer,
    /// "connection" in UpdateContainer: seeds 000 and 001 agree on that split.)
    #[serde(default)]
    pub https_connections_only: bool,
    /// Sandbox version.
    #[serde(default)]
    pub sandbox: Sandbox,
    /// Autoscaling rule. Behind a pointer: it is 24 bytes inline, and without it a
    /// `Container` fits a smaller jemalloc class (each container of a scope is boxed in the
    /// snapshot; README, Performance; see the strings below too). Shared (`Arc`):
    /// Scaleway gives every container a scaling rule and two probes, usually its defaults, and
    /// a snapshot keeps one copy of each value its containers have alike
    /// ([`Container::settle_beside`]).
    #[serde(default)]
    pub scaling_option: Option<Arc<ScalingOption>>,
    /// Liveness probe (shared, as above).
    #[serde(default)]
    pub liveness_probe: Option<Arc<Probe>>,
    /// Startup probe (shared, as above).
    #[serde(default)]
    pub startup_probe: Option<Arc<Probe>>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Attached Private Network, if any.
    #[serde(default)]
    pub private_network_id: Option<SharedStr>,
    /// Overrides the image ENTRYPOINT.
    #[serde(default, deserialize_with = "null_as_default")]
    pub command: Vec<String>,
    /// Overrides the image arguments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Vec<String>,
    /// Default Scaleway-generated public URL.
    #[serde(default)]
    pub public_endpoint: Box<str>,
    /// Region.
    #[serde(default)]
    pub region: SharedStr,
    // `created_at` and `updated_at` are sent too; no reconcile reads them, so they are not
    // decoded (they would be two more strings per container in the snapshot).
}

impl Container {
    /// Readies a container decoded from a List to be kept in a snapshot beside `neighbour`:
    /// gives back the spare room decoding left in its lists (serde grows a vector to four
    /// slots for its first element, and most containers have one tag, the owner mark), and
    /// points the scaling rule and probes that equal the neighbour's at the neighbour's
    /// copies, so that containers with the same ones (Scaleway's defaults, most often) keep
    /// one copy between them.
    pub fn settle_beside(&mut self, neighbour: Option<&Self>) {
        self.tags.shrink_to_fit();
        self.command.shrink_to_fit();
        self.args.shrink_to_fit();
        if let Some(neighbour) = neighbour {
            share(&mut self.scaling_option, &neighbour.scaling_option);
            share(&mut self.liveness_probe, &neighbour.liveness_probe);
            share(&mut self.startup_probe, &neighbour.startup_probe);
        }
    }
}

/// Replaces `mine` by a second reference to `theirs` when the two are equal.
fn share<T: PartialEq>(mine: &mut Option<Arc<T>>, theirs: &Option<Arc<T>>) {
    if let (Some(value), Some(shared)) = (mine.as_ref(), theirs)
        && !Arc::ptr_eq(value, shared)
        && value == shared
    {
        *mine = Some(Arc::clone(shared));
    }
}

/// The settings that CreateContainer and UpdateContainer share. `None` means "not sent".
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct ContainerSettings {
    /// Environment variables (whole map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Secret environment variables (whole map, clear values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<BTreeMap<String, SecretString>>,
    /// Minimum number of instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_scale: Option<u32>,
    /// Maximum number of instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_scale: Option<u32>,
    /// Memory limit in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<u64>,
    /// CPU limit in milli-vCPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mvcpu_limit: Option<u32>,
    /// Processing time limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ApiDuration>,
    /// Invocation privacy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Sandbox version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Sandbox>,
    /// Local storage limit in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_storage_limit_bytes: Option<u64>,
    /// Autoscaling rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_option: Option<ScalingOption>,
    /// Liveness probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Startup probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Probe>,
    /// Tags (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Private Network to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_network_id: Option<String>,
    /// Entrypoint override (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Arguments override (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

/// Body of CreateContainer. `namespace_id`, `name` and `image` are required.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CreateContainerRequest {
    /// Namespace to create the container in.
    pub namespace_id: String,
    /// Name, unique inside the namespace.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Optional settings.
    #[serde(flatten)]
    pub settings: ContainerSettings,
    /// Redirect HTTP to HTTPS (plural spelling on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https_connections_only: Option<bool>,
}

/// Body of UpdateContainer: only the fields present are changed. A configuration change
/// rolls the container out by itself (status `updating`); no redeploy is needed after it.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct UpdateContainerRequest {
    /// New image reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Changed settings.
    #[serde(flatten)]
    pub settings: ContainerSettings,
    /// Redirect HTTP to HTTPS. The update body spells it `https_connection_only` (singular),
    /// unlike the resource and CreateContainer (seed 000 and 001 agree on this split).
    #[serde(
        rename = "https_connection_only",
        skip_serializing_if = "Option::is_none"
    )]
    pub https_connections_only: Option<bool>,
}

impl UpdateContainerRequest {
    /// Whether the request would change nothing (and so must not be sent).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Filters of ListContainers.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct ContainerFilter {
    /// Only containers of this project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Only containers of this organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Only containers of this namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// Only the container with this exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snapshot boxes every container of a scope: one byte over 448 puts each in
    /// jemalloc's 512-byte class (0.6 MB more at 10,000 containers).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_container_fits_in_448_bytes() {
        assert!(
            std::mem::size_of::<Container>() <= 448,
            "{} bytes",
            std::mem::size_of::<Container>()
        );
    }

    #[test]
    fn update_body_uses_the_singular_https_field_and_omits_unset_fields() {
        let request = UpdateContainerRequest {
            https_connections_only: Some(true),
            settings: ContainerSettings {
                max_scale: Some(3),
                ..Default::default()
            },
            ..Default::default()
        };
        let body = serde_json::to_value(&request).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"https_connection_only": true, "max_scale": 3})
        );
    }

    #[test]
    fn create_body_uses_the_plural_https_field() {
        let request = CreateContainerRequest {
            namespace_id: "ns".into(),
            name: "web".into(),
            image: "nginx:1".into(),
            https_connections_only: Some(false),
            settings: ContainerSettings {
                timeout: Some(ApiDuration(std::time::Duration::from_secs(300))),
                ..Default::default()
            },
        };
        let body = serde_json::to_value(&request).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"namespace_id": "ns", "name": "web", "image": "nginx:1",
                "https_connections_only": false, "timeout": "300s"})
        );
    }

    #[test]
    fn a_sparse_or_null_filled_response_still_parses() {
        let body = serde_json::json!({
            "id": "c1", "name": "web", "status": "", "environment_variables": null,
            "tags": null, "privacy": "mystery", "timeout": null
        });
        let container: Container = serde_json::from_value(body).unwrap_or_default();
        assert_eq!(&*container.id, "c1");
        assert_eq!(container.status, Status::UnknownStatus);
        assert_eq!(container.privacy, Privacy::Unknown("mystery".into()));
        assert!(container.environment_variables.is_empty());
    }
}
