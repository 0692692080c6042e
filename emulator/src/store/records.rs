//! The stored form of each resource and its conversion to the wire shape.
//!
//! Records hold the validated, defaulted configuration. Secret values are stored hashed
//! only; the plaintext never reaches the store.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::lifecycle::Lifecycle;
use crate::limits;
use crate::wire::common::{format_duration, seconds, timestamp};
use crate::wire::container as wc;
use crate::wire::domain as wd;
use crate::wire::enums::{HttpMethod, Privacy, Protocol, Sandbox, WireEnum};
use crate::wire::namespace as wn;
use crate::wire::trigger as wt;

/// What every stored resource has.
pub(crate) trait Record {
    /// Resource kind as named in errors (`namespace`, `container`, ...).
    const KIND: &'static str;
    /// Resource ID.
    fn id(&self) -> &str;
    /// Creation sequence number (stable creation order).
    fn seq(&self) -> u64;
    /// Region the resource lives in.
    fn region(&self) -> &str;
    /// Life cycle.
    fn life(&self) -> &Lifecycle;
    /// Life cycle, mutable.
    fn life_mut(&mut self) -> &mut Lifecycle;
    /// The API representation.
    fn to_json(&self) -> Value;
}

/// Identity and life cycle common to all records.
#[derive(Clone, Debug)]
pub(crate) struct Meta {
    pub id: String,
    pub seq: u64,
    pub region: String,
    pub life: Lifecycle,
}

macro_rules! impl_record {
    ($record:ty, $kind:literal) => {
        impl Record for $record {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.meta.id
            }
            fn seq(&self) -> u64 {
                self.meta.seq
            }
            fn region(&self) -> &str {
                &self.meta.region
            }
            fn life(&self) -> &Lifecycle {
                &self.meta.life
            }
            fn life_mut(&mut self) -> &mut Lifecycle {
                &mut self.meta.life
            }
            fn to_json(&self) -> Value {
                json!(self.to_wire())
            }
        }
    };
}
pub(crate) use impl_record;

/// A stored namespace.
#[derive(Clone, Debug)]
pub(crate) struct NamespaceRecord {
    pub meta: Meta,
    pub name: String,
    pub project_id: String,
    pub organization_id: String,
    pub description: String,
    pub env: BTreeMap<String, String>,
    pub secret_env: BTreeMap<String, String>,
    pub tags: Vec<String>,
    /// `{name}{8 random lowercase alphanumerics}`: the namespace part of container endpoints.
    pub endpoint_prefix: String,
}

impl NamespaceRecord {
    pub(crate) fn to_wire(&self) -> wn::Namespace {
        let life = &self.meta.life;
        wn::Namespace {
            id: self.meta.id.clone(),
            name: self.name.clone(),
            organization_id: self.organization_id.clone(),
            project_id: self.project_id.clone(),
            description: self.description.clone(),
            status: life.status().as_str(),
            error_message: life.error_message().map(str::to_owned),
            environment_variables: self.env.clone(),
            secret_environment_variables: self.secret_env.clone(),
            tags: self.tags.clone(),
            created_at: Some(timestamp(life.created_at())),
            updated_at: Some(timestamp(life.updated_at())),
            region: self.meta.region.clone(),
        }
    }
}
impl_record!(NamespaceRecord, "namespace");

/// The `scaling_rule` one-of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scaling {
    ConcurrentRequests(u32),
    CpuUsage(u32),
    MemoryUsage(u32),
}

/// What a probe checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProbeCheck {
    Tcp,
    Http { path: String },
}

/// A validated probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProbeSpec {
    pub failure_threshold: u32,
    pub interval_nanos: u64,
    pub timeout_nanos: u64,
    pub check: ProbeCheck,
}

impl ProbeSpec {
    /// Server default: TCP check every 10 s with a 1 s timeout.
    pub(crate) fn default_with(failure_threshold: u32) -> Self {
        Self {
            failure_threshold,
            interval_nanos: seconds(limits::DEFAULT_PROBE_INTERVAL_SECONDS),
            timeout_nanos: seconds(limits::DEFAULT_PROBE_TIMEOUT_SECONDS),
            check: ProbeCheck::Tcp,
        }
    }

    fn to_wire(&self) -> wc::Probe {
        let (tcp, http) = match &self.check {
            ProbeCheck::Tcp => (Some(wc::TcpProbe {}), None),
            ProbeCheck::Http { path } => (None, Some(wc::HttpProbe { path: path.clone() })),
        };
        wc::Probe {
            failure_threshold: self.failure_threshold,
            interval: Some(format_duration(self.interval_nanos)),
            timeout: Some(format_duration(self.timeout_nanos)),
            tcp,
            http,
        }
    }
}

/// The configurable part of a container, with server defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ContainerSpec {
    pub description: String,
    pub env: BTreeMap<String, String>,
    pub secret_env: BTreeMap<String, String>,
    pub min_scale: u32,
    pub max_scale: u32,
    pub memory_limit_bytes: u64,
    pub mvcpu_limit: u32,
    pub local_storage_limit_bytes: u64,
    pub timeout_nanos: u64,
    pub privacy: Privacy,
    pub image: String,
    pub protocol: Protocol,
    pub port: u32,
    pub https_connections_only: bool,
    pub sandbox: Sandbox,
    pub scaling: Scaling,
    pub liveness: ProbeSpec,
    pub startup: ProbeSpec,
    pub tags: Vec<String>,
    pub private_network_id: Option<String>,
    pub command: Vec<String>,
    pub args: Vec<String>,
}

impl Default for ContainerSpec {
    /// Server defaults (see `limits.rs`); `image` is empty and must be provided on create.
    fn default() -> Self {
        Self {
            description: String::new(),
            env: BTreeMap::new(),
            secret_env: BTreeMap::new(),
            min_scale: limits::DEFAULT_MIN_SCALE,
            max_scale: limits::DEFAULT_MAX_SCALE,
            memory_limit_bytes: limits::DEFAULT_MEMORY_LIMIT_BYTES,
            mvcpu_limit: limits::DEFAULT_MVCPU_LIMIT,
            local_storage_limit_bytes: limits::DEFAULT_LOCAL_STORAGE_LIMIT_BYTES,
            timeout_nanos: seconds(limits::DEFAULT_TIMEOUT_SECONDS),
            privacy: Privacy::Public,
            image: String::new(),
            protocol: Protocol::Http1,
            port: limits::DEFAULT_PORT,
            https_connections_only: false,
            sandbox: Sandbox::V2,
            scaling: Scaling::ConcurrentRequests(limits::DEFAULT_CONCURRENT_REQUESTS_THRESHOLD),
            liveness: ProbeSpec::default_with(limits::DEFAULT_LIVENESS_FAILURE_THRESHOLD),
            startup: ProbeSpec::default_with(limits::DEFAULT_STARTUP_FAILURE_THRESHOLD),
            tags: Vec::new(),
            private_network_id: None,
            command: Vec::new(),
            args: Vec::new(),
        }
    }
}

/// A stored container.
#[derive(Clone, Debug)]
pub(crate) struct ContainerRecord {
    pub meta: Meta,
    pub namespace_id: String,
    pub name: String,
    pub public_endpoint: String,
    pub spec: ContainerSpec,
}

impl ContainerRecord {
    pub(crate) fn to_wire(&self) -> wc::Container {
        let life = &self.meta.life;
        let spec = &self.spec;
        let (concurrent, cpu, memory) = match spec.scaling {
            Scaling::ConcurrentRequests(value) => (Some(value), None, None),
            Scaling::CpuUsage(value) => (None, Some(value), None),
            Scaling::MemoryUsage(value) => (None, None, Some(value)),
        };
        wc::Container {
            id: self.meta.id.clone(),
            name: self.name.clone(),
            namespace_id: self.namespace_id.clone(),
            description: spec.description.clone(),
            status: life.status().as_str(),
            error_message: life.error_message().map(str::to_owned),
            created_at: Some(timestamp(life.created_at())),
            updated_at: Some(timestamp(life.updated_at())),
            environment_variables: spec.env.clone(),
            secret_environment_variables: spec.secret_env.clone(),
            min_scale: spec.min_scale,
            max_scale: spec.max_scale,
            memory_limit_bytes: spec.memory_limit_bytes,
            mvcpu_limit: spec.mvcpu_limit,
            local_storage_limit_bytes: spec.local_storage_limit_bytes,
            timeout: Some(format_duration(spec.timeout_nanos)),
            privacy: spec.privacy.as_str(),
            image: spec.image.clone(),
            protocol: spec.protocol.as_str(),
            port: spec.port,
            https_connections_only: spec.https_connections_only,
            sandbox: spec.sandbox.as_str(),
            scaling_option: wc::ScalingOption {
                concurrent_requests_threshold: concurrent,
                cpu_usage_threshold: cpu,
                memory_usage_threshold: memory,
            },
            liveness_probe: spec.liveness.to_wire(),
            startup_probe: spec.startup.to_wire(),
            tags: spec.tags.clone(),
            private_network_id: spec.private_network_id.clone(),
            command: spec.command.clone(),
            args: spec.args.clone(),
            public_endpoint: self.public_endpoint.clone(),
            region: self.meta.region.clone(),
        }
    }
}
impl_record!(ContainerRecord, "container");

/// A stored custom domain.
#[derive(Clone, Debug)]
pub(crate) struct DomainRecord {
    pub meta: Meta,
    pub container_id: String,
    pub hostname: String,
    pub tags: Vec<String>,
}

impl DomainRecord {
    pub(crate) fn to_wire(&self) -> wd::Domain {
        let life = &self.meta.life;
        wd::Domain {
            id: self.meta.id.clone(),
            container_id: self.container_id.clone(),
            hostname: self.hostname.clone(),
            status: life.status().as_str(),
            error_message: life.error_message().map(str::to_owned),
            created_at: Some(timestamp(life.created_at())),
            updated_at: Some(timestamp(life.updated_at())),
            tags: self.tags.clone(),
        }
    }
}
impl_record!(DomainRecord, "domain");

/// Where a trigger sends requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Destination {
    pub http_path: String,
    pub http_method: HttpMethod,
}

/// The `source_config` one-of, with write-only secrets hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TriggerSource {
    Cron {
        schedule: String,
        timezone: String,
        body: String,
        headers: BTreeMap<String, String>,
    },
    Sqs {
        region: String,
        endpoint: String,
        access_key_id: String,
        secret_access_key_hash: String,
        queue_url: String,
    },
    Nats {
        server_urls: Vec<String>,
        subject: String,
        credentials_file_content_hash: String,
    },
}

impl TriggerSource {
    /// `source_type` on the wire.
    pub(crate) fn source_type(&self) -> &'static str {
        match self {
            Self::Cron { .. } => "cron",
            Self::Sqs { .. } => "sqs",
            Self::Nats { .. } => "nats",
        }
    }
}

/// A stored trigger.
#[derive(Clone, Debug)]
pub(crate) struct TriggerRecord {
    pub meta: Meta,
    pub container_id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub destination: Destination,
    pub source: TriggerSource,
}

impl TriggerRecord {
    pub(crate) fn to_wire(&self) -> wt::Trigger {
        let life = &self.meta.life;
        let (mut cron_config, mut sqs_config, mut nats_config) = (None, None, None);
        match &self.source {
            TriggerSource::Cron {
                schedule,
                timezone,
                body,
                headers,
            } => {
                cron_config = Some(wt::CronConfig {
                    schedule: schedule.clone(),
                    timezone: timezone.clone(),
                    body: body.clone(),
                    headers: headers.clone(),
                });
            }
            TriggerSource::Sqs {
                region,
                endpoint,
                access_key_id,
                queue_url,
                ..
            } => {
                sqs_config = Some(wt::SqsConfig {
                    region: region.clone(),
                    endpoint: endpoint.clone(),
                    access_key_id: access_key_id.clone(),
                    queue_url: queue_url.clone(),
                });
            }
            TriggerSource::Nats {
                server_urls,
                subject,
                ..
            } => {
                nats_config = Some(wt::NatsConfig {
                    server_urls: server_urls.clone(),
                    subject: subject.clone(),
                });
            }
        }
        wt::Trigger {
            id: self.meta.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
            status: life.status().as_str(),
            error_message: life.error_message().map(str::to_owned),
            container_id: self.container_id.clone(),
            destination_config: wt::DestinationConfig {
                http_path: self.destination.http_path.clone(),
                http_method: self.destination.http_method.as_str(),
            },
            source_type: self.source.source_type(),
            cron_config,
            sqs_config,
            nats_config,
            created_at: Some(timestamp(life.created_at())),
            updated_at: Some(timestamp(life.updated_at())),
        }
    }

    /// Hashes of the write-only secrets, for the admin state dump only.
    pub(crate) fn write_only_hashes(&self) -> Value {
        match &self.source {
            TriggerSource::Cron { .. } => json!({}),
            TriggerSource::Sqs {
                secret_access_key_hash,
                ..
            } => {
                json!({ "secret_access_key": secret_access_key_hash })
            }
            TriggerSource::Nats {
                credentials_file_content_hash,
                ..
            } => {
                json!({ "credentials_file_content": credentials_file_content_hash })
            }
        }
    }
}
impl_record!(TriggerRecord, "trigger");
