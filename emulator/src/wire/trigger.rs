//! `scaleway.containers.v1.Trigger` and its request bodies.
//!
//! `sqs_config.secret_access_key` and `nats_config.credentials_file_content` exist in the
//! request shapes only: the response shapes have no field that could carry them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Response body of every trigger operation (field order of the spec).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Trigger {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub status: &'static str,
    pub error_message: Option<String>,
    pub container_id: String,
    pub destination_config: DestinationConfig,
    pub source_type: &'static str,
    pub cron_config: Option<CronConfig>,
    pub sqs_config: Option<SqsConfig>,
    pub nats_config: Option<NatsConfig>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// Where the trigger sends its requests.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DestinationConfig {
    pub http_path: String,
    pub http_method: &'static str,
}

/// Cron source.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CronConfig {
    pub schedule: String,
    pub timezone: String,
    pub body: String,
    pub headers: BTreeMap<String, String>,
}

/// SQS source, without the write-only `secret_access_key`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SqsConfig {
    pub region: String,
    pub endpoint: String,
    pub access_key_id: String,
    pub queue_url: String,
}

/// NATS source, without the write-only `credentials_file_content`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct NatsConfig {
    pub server_urls: Vec<String>,
    pub subject: String,
}

/// `POST .../triggers` body. Required: `container_id`, `name`, and exactly one source config.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateTriggerRequest {
    pub container_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub destination_config: Option<DestinationInput>,
    pub cron_config: Option<CronInput>,
    pub sqs_config: Option<SqsInput>,
    pub nats_config: Option<NatsInput>,
}

/// `PATCH .../triggers/{trigger_id}` body; `container_id` and the source type are immutable.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateTriggerRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub destination_config: Option<DestinationInput>,
    pub cron_config: Option<CronInput>,
    pub sqs_config: Option<SqsInput>,
    pub nats_config: Option<NatsInput>,
}

/// Request form of `destination_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DestinationInput {
    pub http_path: Option<String>,
    pub http_method: Option<String>,
}

/// Request form of `cron_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CronInput {
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub body: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
}

/// Request form of `sqs_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SqsInput {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub queue_url: Option<String>,
}

/// Request form of `nats_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NatsInput {
    pub server_urls: Option<Vec<String>>,
    pub subject: Option<String>,
    pub credentials_file_content: Option<String>,
}
