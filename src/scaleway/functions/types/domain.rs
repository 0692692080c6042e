//! Custom domain wire types (`scaleway.functions.v1beta1.Domain` and its request). Domains
//! have no update: every field is fixed at creation.

use serde::{Deserialize, Serialize};

use crate::scaleway::types::{null_as_default, string_enum};

string_enum! {
    /// Life-cycle status of a domain (no `locked`, unlike namespaces).
    DomainStatus {
        /// The server sent no status (`unknown`, an empty string or `null`).
        UnknownStatus => "unknown",
        Ready => "ready",
        Deleting => "deleting",
        Error => "error",
        Creating => "creating",
        Pending => "pending",
    }
}

impl DomainStatus {
    /// The statuses the official SDK waiters poll through (`creating`, `deleting`,
    /// `pending`); every other one is steady.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting | Self::Pending)
    }
}

/// A custom hostname bound to a function. No tags or timestamps.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct Domain {
    /// Domain ID (UUID).
    pub id: String,
    /// The custom hostname.
    #[serde(default)]
    pub hostname: String,
    /// Function the hostname routes to.
    #[serde(default)]
    pub function_id: String,
    /// URL the function answers on through this hostname.
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: DomainStatus,
    /// Last error message.
    #[serde(default)]
    pub error_message: Option<String>,
}

/// Body of CreateDomain (both fields required by the sample and the SDK).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct CreateDomainRequest {
    /// The custom hostname; its DNS must point at the function's `domain_name`.
    pub hostname: String,
    /// Function to route the hostname to.
    pub function_id: String,
}

/// Filters of ListDomains: the function is required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct DomainFilter {
    /// The function whose domains to list (required).
    pub function_id: String,
}

impl DomainFilter {
    /// Every domain of `function_id`.
    pub fn of_function(function_id: impl Into<String>) -> Self {
        Self {
            function_id: function_id.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: serde_json::Value) -> Domain {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_nulls_and_unknown_status() {
        let domain = read(serde_json::json!({
            "id": "d", "hostname": "app.example.com", "function_id": "f",
            "url": "https://app.example.com", "status": "ready", "error_message": null
        }));
        assert_eq!(domain.status, DomainStatus::Ready);
        assert_eq!(
            read(serde_json::to_value(&domain).unwrap_or_default()),
            domain
        );
        let odd = read(serde_json::json!({"id": "d", "status": "locked", "url": null}));
        assert_eq!(odd.status, DomainStatus::Unknown("locked".into()));
        assert_eq!(odd.url, "");
        assert!(DomainStatus::Pending.is_transient());
        assert!(!DomainStatus::Error.is_transient());
    }
}
