//! The stored form of each Functions v1beta1 resource and its conversion to the wire shape.
//! Secret values are stored hashed only (see `secret.rs`); token values are never stored in
//! clear either.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::wire;
use crate::store::lifecycle::Lifecycle;
use crate::store::records::{Meta, Record, impl_record};
use crate::wire::common::{format_duration, timestamp};
use crate::wire::enums::{Privacy, Sandbox, Status, WireEnum};

/// Hashed secrets as the API shows them: `[{key, hashed_value}]`, sorted by key.
pub(crate) fn hashed_list(secrets: &BTreeMap<String, String>) -> Vec<wire::SecretHashedValue> {
    secrets
        .iter()
        .map(|(key, hashed_value)| wire::SecretHashedValue {
            key: key.clone(),
            hashed_value: hashed_value.clone(),
        })
        .collect()
}

/// A stored Functions namespace.
#[derive(Clone, Debug)]
pub(crate) struct FnNamespaceRecord {
    pub meta: Meta,
    pub name: String,
    pub project_id: String,
    pub organization_id: String,
    pub description: Option<String>,
    pub env: BTreeMap<String, String>,
    pub secret_env: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub registry_namespace_id: String,
    /// `{name}{8 random lowercase alphanumerics}`: the namespace part of function hostnames.
    pub endpoint_prefix: String,
}

impl FnNamespaceRecord {
    pub(crate) fn to_wire(&self) -> wire::Namespace {
        let life = &self.meta.life;
        wire::Namespace {
            id: self.meta.id.clone(),
            name: self.name.clone(),
            environment_variables: self.env.clone(),
            organization_id: self.organization_id.clone(),
            project_id: self.project_id.clone(),
            status: life.status().as_str(),
            registry_namespace_id: self.registry_namespace_id.clone(),
            error_message: life.error_message().map(str::to_owned),
            registry_endpoint: format!(
                "rg.{}.scw.cloud/funcscw{}",
                self.meta.region, self.endpoint_prefix
            ),
            description: self.description.clone(),
            secret_environment_variables: hashed_list(&self.secret_env),
            region: self.meta.region.clone(),
            tags: self.tags.clone(),
            created_at: Some(timestamp(life.created_at())),
            updated_at: Some(timestamp(life.updated_at())),
            vpc_integration_activated: true,
        }
    }
}
impl_record!(FnNamespaceRecord, "namespace");

/// `Function.http_option`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HttpOption {
    /// HTTP and HTTPS (server default).
    Enabled,
    /// HTTP answered with a 301 to HTTPS.
    Redirected,
}

impl WireEnum for HttpOption {
    const UNKNOWN: &'static str = "unknown_http_option";
    const MEMBERS: &'static [(&'static str, Self)] =
        &[("enabled", Self::Enabled), ("redirected", Self::Redirected)];
}

/// The configurable part of a function, with server defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FunctionSpec {
    pub env: BTreeMap<String, String>,
    pub secret_env: BTreeMap<String, String>,
    pub min_scale: u32,
    pub max_scale: u32,
    /// `None` while the runtime was never set (`unknown_runtime`).
    pub runtime: Option<String>,
    pub memory_limit_mb: u32,
    pub timeout_nanos: u64,
    /// `None` means the runtime's default handler.
    pub handler: Option<String>,
    pub privacy: Privacy,
    pub description: Option<String>,
    pub http_option: HttpOption,
    pub sandbox: Sandbox,
    pub tags: Vec<String>,
    pub private_network_id: Option<String>,
}

/// An uploaded zip archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Archive {
    pub bytes: axum::body::Bytes,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
}

/// A deploy in progress: what runs once the function leaves `pending` in `ready`.
#[derive(Clone, Debug)]
pub(crate) struct Rollout {
    pub archive: Option<Archive>,
    pub ready_at: Timestamp,
}

/// A stored function.
#[derive(Clone, Debug)]
pub(crate) struct FunctionRecord {
    pub meta: Meta,
    pub namespace_id: String,
    pub name: String,
    pub domain_name: String,
    pub spec: FunctionSpec,
    /// The last archive PUT to the upload URL.
    pub uploaded: Option<Archive>,
    /// The archive the function runs (set when a deploy reaches `ready`).
    pub deployed: Option<Archive>,
    pub rollout: Option<Rollout>,
    pub ready_at: Option<Timestamp>,
}

/// Functions v1beta1 ties vCPU to memory (seed 003's table: 128 MB → 70 mvCPU, doubling).
pub(crate) fn cpu_for_memory(memory_limit_mb: u32) -> u32 {
    memory_limit_mb.saturating_mul(70) / 128
}

impl FunctionRecord {
    /// Applies a finished rollout (called right after the life cycle settles).
    pub(crate) fn finish_rollout(&mut self) {
        if self.meta.life.status() == Status::Pending {
            return;
        }
        if let Some(rollout) = self.rollout.take()
            && self.meta.life.status() == Status::Ready
        {
            self.deployed = rollout.archive;
            self.ready_at = Some(rollout.ready_at);
        }
    }

    pub(crate) fn to_wire(&self) -> wire::Function {
        let life = &self.meta.life;
        let spec = &self.spec;
        let runtime = spec.runtime.clone();
        let handler = spec.handler.clone().unwrap_or_else(|| {
            runtime
                .as_deref()
                .and_then(super::runtimes::find)
                .map(|r| r.default_handler.to_owned())
                .unwrap_or_default()
        });
        let building = life.status() == Status::Pending && self.rollout.is_some();
        wire::Function {
            id: self.meta.id.clone(),
            name: self.name.clone(),
            namespace_id: self.namespace_id.clone(),
            status: life.status().as_str(),
            environment_variables: spec.env.clone(),
            min_scale: spec.min_scale,
            max_scale: spec.max_scale,
            runtime: runtime.unwrap_or_else(|| "unknown_runtime".to_owned()),
            memory_limit: spec.memory_limit_mb,
            cpu_limit: cpu_for_memory(spec.memory_limit_mb),
            timeout: Some(format_duration(spec.timeout_nanos)),
            handler,
            error_message: life.error_message().map(str::to_owned),
            build_message: building.then(|| "building the function image".to_owned()),
            privacy: spec.privacy.as_str(),
            description: spec.description.clone(),
            domain_name: self.domain_name.clone(),
            secret_environment_variables: hashed_list(&spec.secret_env),
            region: self.meta.region.clone(),
            http_option: spec.http_option.as_str(),
            runtime_message: String::new(),
            sandbox: spec.sandbox.as_str(),
            created_at: Some(timestamp(life.created_at())),
            updated_at: Some(timestamp(life.updated_at())),
            ready_at: self.ready_at.map(timestamp),
            tags: spec.tags.clone(),
            private_network_id: spec.private_network_id.clone(),
        }
    }
}
impl_record!(FunctionRecord, "function");

/// A stored cron.
#[derive(Clone, Debug)]
pub(crate) struct CronRecord {
    pub meta: Meta,
    pub function_id: String,
    pub schedule: String,
    pub args: Value,
    pub name: String,
}

impl CronRecord {
    pub(crate) fn to_wire(&self) -> wire::Cron {
        wire::Cron {
            id: self.meta.id.clone(),
            function_id: self.function_id.clone(),
            schedule: self.schedule.clone(),
            args: self.args.clone(),
            status: self.meta.life.status().as_str(),
            name: self.name.clone(),
        }
    }
}
impl_record!(CronRecord, "cron");

/// A stored custom domain of a function.
#[derive(Clone, Debug)]
pub(crate) struct FnDomainRecord {
    pub meta: Meta,
    pub function_id: String,
    pub hostname: String,
}

impl FnDomainRecord {
    pub(crate) fn to_wire(&self) -> wire::Domain {
        let life = &self.meta.life;
        wire::Domain {
            id: self.meta.id.clone(),
            hostname: self.hostname.clone(),
            function_id: self.function_id.clone(),
            url: format!("https://{}", self.hostname),
            status: life.status().as_str(),
            error_message: life.error_message().map(str::to_owned),
        }
    }
}
impl_record!(FnDomainRecord, "domain");

/// What a token grants access to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenScope {
    Function(String),
    Namespace(String),
}

/// A stored token: its value is kept hashed, for the admin dump only.
#[derive(Clone, Debug)]
pub(crate) struct TokenRecord {
    pub meta: Meta,
    pub scope: TokenScope,
    pub description: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub value_hash: String,
}

impl TokenRecord {
    /// The API shape; `value` is given only in the answer to CreateToken.
    pub(crate) fn to_wire_with(&self, value: Option<String>) -> wire::Token {
        let (function_id, namespace_id) = match &self.scope {
            TokenScope::Function(id) => (Some(id.clone()), None),
            TokenScope::Namespace(id) => (None, Some(id.clone())),
        };
        wire::Token {
            id: self.meta.id.clone(),
            token: value,
            function_id,
            namespace_id,
            public_key: None,
            status: self.meta.life.status().as_str(),
            description: self.description.clone(),
            expires_at: self.expires_at.map(timestamp),
        }
    }

    pub(crate) fn to_wire(&self) -> wire::Token {
        self.to_wire_with(None)
    }
}
impl_record!(TokenRecord, "token");

/// The `config` one-of of a function trigger; write-only secrets hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FnTriggerSource {
    ScwSqs(wire::MnqSqsConfig),
    ScwNats(wire::MnqNatsConfig),
    Sqs {
        endpoint: String,
        queue_url: String,
        access_key: String,
        secret_key_hash: String,
    },
}

impl FnTriggerSource {
    /// `input_type` on the wire.
    pub(crate) fn input_type(&self) -> &'static str {
        match self {
            Self::ScwSqs(_) => "scw_sqs",
            Self::ScwNats(_) => "scw_nats",
            Self::Sqs { .. } => "sqs",
        }
    }
}

/// A stored function trigger.
#[derive(Clone, Debug)]
pub(crate) struct FnTriggerRecord {
    pub meta: Meta,
    pub function_id: String,
    pub name: String,
    pub description: String,
    pub source: FnTriggerSource,
}

impl FnTriggerRecord {
    pub(crate) fn to_wire(&self) -> wire::Trigger {
        let life = &self.meta.life;
        let (mut scw_sqs_config, mut scw_nats_config, mut sqs_config) = (None, None, None);
        match &self.source {
            FnTriggerSource::ScwSqs(config) => scw_sqs_config = Some(config.clone()),
            FnTriggerSource::ScwNats(config) => scw_nats_config = Some(config.clone()),
            FnTriggerSource::Sqs {
                endpoint,
                queue_url,
                access_key,
                ..
            } => {
                sqs_config = Some(wire::SqsConfig {
                    endpoint: endpoint.clone(),
                    queue_url: queue_url.clone(),
                    access_key: access_key.clone(),
                    secret_key: None,
                });
            }
        }
        wire::Trigger {
            id: self.meta.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            function_id: self.function_id.clone(),
            input_type: self.source.input_type(),
            status: life.status().as_str(),
            error_message: life.error_message().map(str::to_owned),
            scw_sqs_config,
            scw_nats_config,
            sqs_config,
        }
    }
}
impl_record!(FnTriggerRecord, "trigger");
