//! Trigger wire types (`scaleway.functions.v1beta1.Trigger` and its requests): Messaging and
//! Queuing sources (SQS queue or NATS subject) that call a function.

use serde::{Deserialize, Serialize};

use crate::scaleway::types::{null_as_default, string_enum};

string_enum! {
    /// Kind of event source, set by the server from the config sent. The spec defines
    /// configs only for `scw_sqs` and `scw_nats`.
    InputType {
        /// Not set (`unknown_input_type`).
        UnknownInputType => "unknown_input_type",
        Sqs => "sqs",
        ScwSqs => "scw_sqs",
        Nats => "nats",
        ScwNats => "scw_nats",
    }
}

string_enum! {
    /// Life-cycle status of a trigger. Its zero value is `unknown_status` (not `unknown` as
    /// for the other Functions resources).
    TriggerStatus {
        /// The server sent no status (`unknown_status`, an empty string or `null`).
        UnknownStatus => "unknown_status",
        Ready => "ready",
        Deleting => "deleting",
        Error => "error",
        Creating => "creating",
        Pending => "pending",
    }
}

impl TriggerStatus {
    /// The statuses the official SDK waiters poll through (`creating`, `deleting`,
    /// `pending`); every other one is steady.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting | Self::Pending)
    }
}

/// A Scaleway SQS queue source as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct ScwSqsConfig {
    /// Queue name.
    #[serde(default)]
    pub queue: String,
    /// Project where Messaging and Queuing is activated.
    #[serde(default)]
    pub mnq_project_id: String,
    /// Region of that project (`fr-par` or `nl-ams` today).
    #[serde(default)]
    pub mnq_region: String,
    /// MnQ credential the platform created to read the queue.
    #[serde(default)]
    pub mnq_credential_id: Option<String>,
}

/// A Scaleway NATS subject source as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct ScwNatsConfig {
    /// Subject to listen on.
    #[serde(default)]
    pub subject: String,
    /// NATS account.
    #[serde(default)]
    pub mnq_nats_account_id: String,
    /// Project where Messaging and Queuing is activated.
    #[serde(default)]
    pub mnq_project_id: String,
    /// Region of that project (`fr-par` or `nl-ams` today).
    #[serde(default)]
    pub mnq_region: String,
    /// MnQ credential the platform created to subscribe to the subject.
    #[serde(default)]
    pub mnq_credential_id: Option<String>,
}

/// A trigger as the API returns it. No tags or timestamps.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct Trigger {
    /// Trigger ID (UUID).
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description (`null` reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Function the trigger calls; immutable.
    #[serde(default)]
    pub function_id: String,
    /// Source kind.
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_type: InputType,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: TriggerStatus,
    /// Last error message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// SQS source (one-of `config`).
    #[serde(default)]
    pub scw_sqs_config: Option<ScwSqsConfig>,
    /// NATS source (one-of `config`).
    #[serde(default)]
    pub scw_nats_config: Option<ScwNatsConfig>,
}

/// An SQS source in CreateTrigger (all three fields required).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct ScwSqsConfigRequest {
    /// Queue name.
    pub queue: String,
    /// Project where Messaging and Queuing is activated.
    pub mnq_project_id: String,
    /// Region of that project.
    pub mnq_region: String,
}

/// A NATS source in CreateTrigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct ScwNatsConfigRequest {
    /// Subject to listen on (required).
    pub subject: String,
    /// NATS account (required).
    pub mnq_nats_account_id: String,
    /// Project where Messaging and Queuing is activated (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mnq_project_id: Option<String>,
    /// Region of that project (required).
    pub mnq_region: String,
}

/// The source of a new trigger (one-of `config`): exactly one is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerConfig {
    /// A Scaleway SQS queue (`scw_sqs_config`).
    ScwSqsConfig(ScwSqsConfigRequest),
    /// A Scaleway NATS subject (`scw_nats_config`).
    ScwNatsConfig(ScwNatsConfigRequest),
}

/// Body of CreateTrigger: `name`, `function_id` and one config are required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreateTriggerRequest {
    /// Name.
    pub name: String,
    /// Function to call.
    pub function_id: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The source, sent as `scw_sqs_config` or `scw_nats_config`.
    #[serde(flatten)]
    pub config: TriggerConfig,
}

/// Body of UpdateTrigger: name and description only (the function and the source are
/// fixed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct UpdateTriggerRequest {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl UpdateTriggerRequest {
    /// Whether the request would change nothing (and so must not be sent).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Filters of ListTriggers. The spec declares none; the SDKs send at most one of the three
/// (one-of `scope`), so set at most one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct TriggerFilter {
    /// Only triggers of this function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// Only triggers of functions in this namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// Only triggers of this project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: serde_json::Value) -> Trigger {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_of_sqs_and_nats_triggers() {
        let sqs = read(serde_json::json!({
            "id": "t", "name": "q", "description": null, "function_id": "f",
            "input_type": "scw_sqs", "status": "ready", "error_message": null,
            "scw_sqs_config": {"queue": "jobs", "mnq_project_id": "p", "mnq_region": "fr-par",
                               "mnq_credential_id": null},
            "scw_nats_config": null
        }));
        assert_eq!(sqs.input_type, InputType::ScwSqs);
        assert_eq!(
            sqs.scw_sqs_config.as_ref().map(|c| c.queue.as_str()),
            Some("jobs")
        );
        assert_eq!(read(serde_json::to_value(&sqs).unwrap_or_default()), sqs);

        let nats = read(serde_json::json!({
            "id": "t2", "name": "n", "function_id": "f", "input_type": "scw_nats",
            "status": "pending",
            "scw_nats_config": {"subject": "events", "mnq_nats_account_id": "a",
                                "mnq_project_id": "p", "mnq_region": "nl-ams",
                                "mnq_credential_id": "cred"}
        }));
        assert!(nats.status.is_transient());
        assert_eq!(
            nats.scw_nats_config
                .as_ref()
                .and_then(|c| c.mnq_credential_id.as_deref()),
            Some("cred")
        );
        assert_eq!(read(serde_json::to_value(&nats).unwrap_or_default()), nats);
    }

    #[test]
    fn unknown_kinds_and_statuses_are_kept() {
        let trigger =
            read(serde_json::json!({"id": "t", "input_type": "kafka", "status": "paused"}));
        assert_eq!(trigger.input_type, InputType::Unknown("kafka".into()));
        assert_eq!(trigger.status, TriggerStatus::Unknown("paused".into()));
        let blank = read(serde_json::json!({"id": "t", "input_type": null, "status": ""}));
        assert_eq!(blank.input_type, InputType::UnknownInputType);
        assert_eq!(blank.status, TriggerStatus::UnknownStatus);
    }

    #[test]
    fn create_body_sends_exactly_one_config() {
        let request = CreateTriggerRequest {
            name: "n".into(),
            function_id: "f".into(),
            description: None,
            config: TriggerConfig::ScwNatsConfig(ScwNatsConfigRequest {
                subject: "events".into(),
                mnq_nats_account_id: "a".into(),
                mnq_project_id: None,
                mnq_region: "fr-par".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap_or_default(),
            serde_json::json!({"name": "n", "function_id": "f",
                "scw_nats_config": {"subject": "events", "mnq_nats_account_id": "a",
                                    "mnq_region": "fr-par"}})
        );
        let request = CreateTriggerRequest {
            config: TriggerConfig::ScwSqsConfig(ScwSqsConfigRequest {
                queue: "jobs".into(),
                mnq_project_id: "p".into(),
                mnq_region: "fr-par".into(),
            }),
            ..request
        };
        let body = serde_json::to_value(&request).unwrap_or_default();
        assert!(body.get("scw_nats_config").is_none());
        assert_eq!(body["scw_sqs_config"]["queue"], "jobs");
        assert!(UpdateTriggerRequest::default().is_empty());
    }
}
