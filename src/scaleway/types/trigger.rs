//! Trigger wire types (`scaleway.containers.v1.Trigger` and its requests): cron, SQS and NATS
//! sources that call a container.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{Status, null_as_default, status_or_unknown, string_enum};
use crate::scaleway::SecretString;

string_enum! {
    /// HTTP method used to call the container; the API requires lowercase.
    HttpMethod {
        /// Not set (`unknown_http_method`).
        UnknownHttpMethod => "unknown_http_method",
        Get => "get",
        Post => "post",
        Put => "put",
        Patch => "patch",
        Delete => "delete",
    }
}

string_enum! {
    /// Kind of event source; derived by the server from the config present.
    SourceType {
        /// Not set (`unknown_source_type`).
        UnknownSourceType => "unknown_source_type",
        Cron => "cron",
        Sqs => "sqs",
        Nats => "nats",
    }
}

/// Where a trigger sends its events.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct DestinationConfig {
    /// Path to call, e.g. `/my-webhook-endpoint`.
    pub http_path: String,
    /// Method to call it with.
    pub http_method: HttpMethod,
}

/// A schedule source.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct CronConfig {
    /// UNIX cron expression (`* * * * *`).
    pub schedule: String,
    /// tz database time zone (`Europe/Paris`).
    pub timezone: String,
    /// Body sent to the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Extra headers sent to the container.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub headers: Option<BTreeMap<String, String>>,
}

/// An SQS source as the API returns it (the secret key is write-only).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct SqsConfig {
    /// Region of the queue, e.g. `fr-par`.
    #[serde(default)]
    pub region: String,
    /// SQS endpoint, e.g. `https://sqs.mnq.fr-par.scaleway.com`.
    #[serde(default)]
    pub endpoint: String,
    /// Access key ID.
    #[serde(default)]
    pub access_key_id: String,
    /// Queue URL.
    #[serde(default)]
    pub queue_url: String,
}

/// An SQS source in a request. On update every field is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct SqsConfigRequest {
    /// Region of the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// SQS endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Access key ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret access key (write-only: never returned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<SecretString>,
    /// Queue URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// A NATS source as the API returns it (the credentials are write-only).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct NatsConfig {
    /// NATS server URLs, e.g. `nats://nats.mnq.fr-par.scaleway.com:4222`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub server_urls: Vec<String>,
    /// Subject to listen on.
    #[serde(default)]
    pub subject: String,
}

/// A NATS source in a request. On update every field is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct NatsConfigRequest {
    /// NATS server URLs (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_urls: Option<Vec<String>>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Content of the NATS credentials file (write-only: never returned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_file_content: Option<SecretString>,
}

/// A trigger as the API returns it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct Trigger {
    /// Trigger ID (UUID).
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "status_or_unknown")]
    pub status: Status,
    /// Last error message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Container the trigger calls; immutable.
    #[serde(default)]
    pub container_id: String,
    /// Where events go.
    #[serde(default)]
    pub destination_config: Option<DestinationConfig>,
    /// Source kind, derived by the server.
    #[serde(default)]
    pub source_type: SourceType,
    /// Cron source.
    #[serde(default)]
    pub cron_config: Option<CronConfig>,
    /// SQS source.
    #[serde(default)]
    pub sqs_config: Option<SqsConfig>,
    /// NATS source.
    #[serde(default)]
    pub nats_config: Option<NatsConfig>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// Body of CreateTrigger: exactly one of the three source configs must be set.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CreateTriggerRequest {
    /// Container to call.
    pub container_id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Where events go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_config: Option<DestinationConfig>,
    /// Cron source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_config: Option<CronConfig>,
    /// SQS source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqs_config: Option<SqsConfigRequest>,
    /// NATS source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_config: Option<NatsConfigRequest>,
}

/// Body of UpdateTrigger. The source type cannot change; `container_id` is immutable.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct UpdateTriggerRequest {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New tags (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_config: Option<DestinationConfig>,
    /// New cron settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_config: Option<CronConfig>,
    /// New SQS settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqs_config: Option<SqsConfigRequest>,
    /// New NATS settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_config: Option<NatsConfigRequest>,
}

impl UpdateTriggerRequest {
    /// Whether the request would change nothing (and so must not be sent).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Filters of ListTriggers.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct TriggerFilter {
    /// Only triggers of this project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Only triggers of this organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Only triggers of containers in this namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// Only triggers of this container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_only_secrets_are_sent_and_redacted_in_debug() {
        let request = CreateTriggerRequest {
            container_id: "c".into(),
            name: "queue".into(),
            sqs_config: Some(SqsConfigRequest {
                secret_access_key: Some(SecretString::new("sqs-secret-key-value")),
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = serde_json::to_string(&request).unwrap_or_default();
        assert!(body.contains("sqs-secret-key-value"));
        assert!(!format!("{request:?}").contains("sqs-secret-key-value"));
    }
}
