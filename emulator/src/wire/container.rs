//! `scaleway.containers.v1.Container` and its request bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Response body of every container operation: the 31 fields, in the order of the spec.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Container {
    pub id: String,
    pub name: String,
    pub namespace_id: String,
    pub description: String,
    pub status: &'static str,
    pub error_message: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub environment_variables: BTreeMap<String, String>,
    /// Hashed values only (see `secret.rs`).
    pub secret_environment_variables: BTreeMap<String, String>,
    pub min_scale: u32,
    pub max_scale: u32,
    pub memory_limit_bytes: u64,
    pub mvcpu_limit: u32,
    pub local_storage_limit_bytes: u64,
    pub timeout: Option<String>,
    pub privacy: &'static str,
    pub image: String,
    pub protocol: &'static str,
    pub port: u32,
    /// Plural "connections" in the resource (the update body uses the singular).
    pub https_connections_only: bool,
    pub sandbox: &'static str,
    pub scaling_option: ScalingOption,
    pub liveness_probe: Probe,
    pub startup_probe: Probe,
    pub tags: Vec<String>,
    pub private_network_id: Option<String>,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub public_endpoint: String,
    pub region: String,
}

/// One-of `scaling_rule`: exactly one threshold is non-null in responses.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ScalingOption {
    pub concurrent_requests_threshold: Option<u32>,
    pub cpu_usage_threshold: Option<u32>,
    pub memory_usage_threshold: Option<u32>,
}

/// Liveness or startup probe; one of `tcp` / `http` is non-null.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Probe {
    pub failure_threshold: u32,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub tcp: Option<TcpProbe>,
    pub http: Option<HttpProbe>,
}

/// Empty object `{}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TcpProbe {}

/// `{ "path": "/healthz" }`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct HttpProbe {
    pub path: String,
}

/// `POST .../containers` body. Required: `namespace_id`, `name`, `image`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateContainerRequest {
    pub namespace_id: Option<String>,
    pub name: Option<String>,
    pub environment_variables: Option<BTreeMap<String, String>>,
    pub secret_environment_variables: Option<BTreeMap<String, String>>,
    pub min_scale: Option<u32>,
    pub max_scale: Option<u32>,
    pub memory_limit_bytes: Option<u64>,
    pub mvcpu_limit: Option<u32>,
    pub timeout: Option<String>,
    pub privacy: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub protocol: Option<String>,
    pub port: Option<u32>,
    pub https_connections_only: Option<bool>,
    pub sandbox: Option<String>,
    pub local_storage_limit_bytes: Option<u64>,
    pub scaling_option: Option<ScalingOptionInput>,
    pub liveness_probe: Option<ProbeInput>,
    pub startup_probe: Option<ProbeInput>,
    pub tags: Option<Vec<String>>,
    pub private_network_id: Option<String>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
}

/// `PATCH .../containers/{container_id}` body. `namespace_id` and `name` are immutable; the
/// boolean is spelled `https_connection_only` (singular), and the plural is accepted too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateContainerRequest {
    pub environment_variables: Option<BTreeMap<String, String>>,
    pub secret_environment_variables: Option<BTreeMap<String, String>>,
    pub min_scale: Option<u32>,
    pub max_scale: Option<u32>,
    pub memory_limit_bytes: Option<u64>,
    pub mvcpu_limit: Option<u32>,
    pub timeout: Option<String>,
    pub privacy: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub protocol: Option<String>,
    pub port: Option<u32>,
    pub https_connection_only: Option<bool>,
    pub https_connections_only: Option<bool>,
    pub sandbox: Option<String>,
    pub local_storage_limit_bytes: Option<u64>,
    pub scaling_option: Option<ScalingOptionInput>,
    pub liveness_probe: Option<ProbeInput>,
    pub startup_probe: Option<ProbeInput>,
    pub tags: Option<Vec<String>>,
    pub private_network_id: Option<String>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
}

/// Request form of `scaling_option` (at most one threshold may be set).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ScalingOptionInput {
    pub concurrent_requests_threshold: Option<u32>,
    pub cpu_usage_threshold: Option<u32>,
    pub memory_usage_threshold: Option<u32>,
}

/// Request form of a probe (the inline update `startup_probe` schema has the same fields).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProbeInput {
    pub failure_threshold: Option<u32>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub tcp: Option<TcpProbe>,
    pub http: Option<HttpProbeInput>,
}

/// Request form of an HTTP probe.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HttpProbeInput {
    pub path: Option<String>,
}
