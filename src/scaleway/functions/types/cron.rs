//! Cron wire types (`scaleway.functions.v1beta1.Cron` and its requests): a schedule that
//! calls a function with fixed JSON arguments.

use serde::{Deserialize, Serialize};

use super::namespace::NamespaceStatus;
use crate::scaleway::types::null_as_default;

/// Life-cycle status of a cron: the same seven values as a namespace's.
pub type CronStatus = NamespaceStatus;

/// Free JSON object passed to the function on each run.
pub type CronArgs = serde_json::Map<String, serde_json::Value>;

/// A cron as the API returns it. It has no time zone (UTC), tags or timestamps.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct Cron {
    /// Cron ID (UUID).
    pub id: String,
    /// Function the cron calls (can be changed).
    #[serde(default)]
    pub function_id: String,
    /// UNIX cron expression (`0 * * * *`).
    #[serde(default)]
    pub schedule: String,
    /// Arguments sent on each run (`null` reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: CronArgs,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: CronStatus,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
}

/// Body of CreateCron. `function_id` and `schedule` are required (sample and SDK).
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CreateCronRequest {
    /// Function to call.
    pub function_id: String,
    /// UNIX cron expression.
    pub schedule: String,
    /// Arguments sent on each run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<CronArgs>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Body of UpdateCron: only the fields present are changed; nothing is immutable, not even
/// the function.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct UpdateCronRequest {
    /// New function to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// New schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// New arguments (whole object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<CronArgs>,
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl UpdateCronRequest {
    /// Whether the request would change nothing (and so must not be sent).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Filters of ListCrons: the function is required.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CronFilter {
    /// The function whose crons to list (required).
    pub function_id: String,
}

impl CronFilter {
    /// Every cron of `function_id`.
    pub fn of_function(function_id: impl Into<String>) -> Self {
        Self {
            function_id: function_id.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: serde_json::Value) -> Cron {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_with_nested_args() {
        let cron = read(serde_json::json!({
            "id": "c", "function_id": "f", "schedule": "0 * * * *",
            "args": {"key": "value", "nested": {"n": [1, 2]}}, "status": "pending", "name": "hourly"
        }));
        assert_eq!(cron.status, CronStatus::Pending);
        assert_eq!(cron.args["nested"]["n"][1], 2);
        assert_eq!(read(serde_json::to_value(&cron).unwrap_or_default()), cron);
    }

    #[test]
    fn nulls_missing_fields_and_unknown_status() {
        let cron =
            read(serde_json::json!({"id": "c", "args": null, "status": "paused", "name": null}));
        assert!(cron.args.is_empty());
        assert_eq!(cron.status, CronStatus::Unknown("paused".into()));
        assert_eq!(cron.name, "");
        assert_eq!(read(serde_json::to_value(&cron).unwrap_or_default()), cron);
    }

    #[test]
    fn request_bodies() {
        let mut args = CronArgs::new();
        args.insert("x".into(), serde_json::json!(1));
        let create = CreateCronRequest {
            function_id: "f".into(),
            schedule: "*/5 * * * *".into(),
            args: Some(args),
            name: None,
        };
        assert_eq!(
            serde_json::to_value(&create).unwrap_or_default(),
            serde_json::json!({"function_id": "f", "schedule": "*/5 * * * *", "args": {"x": 1}})
        );
        assert!(UpdateCronRequest::default().is_empty());
        let update = UpdateCronRequest {
            function_id: Some("g".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap_or_default(),
            serde_json::json!({"function_id": "g"})
        );
    }
}
