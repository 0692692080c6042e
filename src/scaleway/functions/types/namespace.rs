//! Functions namespace wire types (`scaleway.functions.v1beta1.Namespace` and its requests).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{Secret, SecretHashedValue};
use crate::scaleway::types::{null_as_default, string_enum};

string_enum! {
    /// Life-cycle status of a Functions namespace (also used by crons). Its zero value is
    /// `unknown`, not `unknown_status` as in Containers v1.
    NamespaceStatus {
        /// The server sent no status (`unknown`, an empty string or `null`).
        UnknownStatus => "unknown",
        Ready => "ready",
        Deleting => "deleting",
        Error => "error",
        Locked => "locked",
        Creating => "creating",
        Pending => "pending",
    }
}

impl NamespaceStatus {
    /// The statuses the official SDK waiters poll through (`creating`, `deleting`,
    /// `pending`); every other one is steady.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting | Self::Pending)
    }
}

/// A Functions namespace as the API returns it. Each one owns a Container Registry
/// namespace where every function version is stored as an image.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct Namespace {
    /// Namespace ID (UUID).
    pub id: String,
    /// Name; immutable.
    #[serde(default)]
    pub name: String,
    /// Environment variables shared by every function of the namespace.
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_variables: BTreeMap<String, String>,
    /// Organization, taken from the project by the server.
    #[serde(default)]
    pub organization_id: String,
    /// Project; immutable.
    #[serde(default)]
    pub project_id: String,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: NamespaceStatus,
    /// ID of the Container Registry namespace holding the function images.
    #[serde(default, deserialize_with = "null_as_default")]
    pub registry_namespace_id: String,
    /// Last error message, set alongside `status: error`.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Endpoint of that registry namespace.
    #[serde(default, deserialize_with = "null_as_default")]
    pub registry_endpoint: String,
    /// Description (`null` reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Secret environment variables, hashed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret_environment_variables: Vec<SecretHashedValue>,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Deprecated upstream: since 2025-08-20 every namespace is VPC-compatible and the
    /// value means nothing.
    #[serde(default, deserialize_with = "null_as_default")]
    pub vpc_integration_activated: bool,
}

/// Body of CreateNamespace. The spec declares nothing required; the API needs `name` and
/// `project_id` (quickstart and curl sample).
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CreateNamespaceRequest {
    /// Name, unique inside the project and region.
    pub name: String,
    /// Project to create the namespace in.
    pub project_id: String,
    /// Environment variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Secret environment variables (clear values, sent once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<Vec<Secret>>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Deprecated upstream and ignored by the server (every namespace is VPC-compatible
    /// since 2025-08-20). Kept only to type the whole body; leave it `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activate_vpc_integration: Option<bool>,
}

/// Body of UpdateNamespace: only the fields present are changed. A present
/// `environment_variables` map or `tags` list replaces the whole value; secrets not listed
/// stay unchanged, and a [`Secret`] without a value deletes its key (the rule the spec
/// documents on UpdateFunction, presumed the same here).
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct UpdateNamespaceRequest {
    /// New environment variables (whole map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Secret environment variables to set or delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<Vec<Secret>>,
    /// New tags (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

impl UpdateNamespaceRequest {
    /// Whether the request would change nothing (and so must not be sent).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Filters of ListNamespaces (all optional).
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct NamespaceFilter {
    /// Only the namespace with this exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only namespaces of this organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Only namespaces of this project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaleway::SecretString;

    fn read(json: serde_json::Value) -> Namespace {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_of_a_full_namespace() {
        let namespace = read(serde_json::json!({
            "id": "11111111-1111-1111-1111-111111111111",
            "name": "ns",
            "environment_variables": {"A": "1"},
            "organization_id": "org",
            "project_id": "proj",
            "status": "ready",
            "registry_namespace_id": "reg",
            "error_message": null,
            "registry_endpoint": "rg.fr-par.scw.cloud/funcscwns",
            "description": "demo",
            "secret_environment_variables": [{"key": "S", "hashed_value": "h"}],
            "region": "fr-par",
            "tags": ["t"],
            "created_at": "2022-03-22T12:34:56.123456Z",
            "updated_at": null,
            "vpc_integration_activated": true
        }));
        assert_eq!(namespace.status, NamespaceStatus::Ready);
        assert_eq!(namespace.secret_environment_variables[0].key, "S");
        assert!(namespace.vpc_integration_activated);
        let again = read(serde_json::to_value(&namespace).unwrap_or_default());
        assert_eq!(again, namespace);
    }

    #[test]
    fn nulls_missing_fields_and_unknown_status() {
        let namespace = read(serde_json::json!({
            "id": "n", "status": "hibernating", "environment_variables": null,
            "secret_environment_variables": null, "tags": null, "description": null,
            "registry_endpoint": null, "vpc_integration_activated": null
        }));
        assert_eq!(
            namespace.status,
            NamespaceStatus::Unknown("hibernating".into())
        );
        assert!(namespace.environment_variables.is_empty());
        assert!(namespace.tags.is_empty());
        assert_eq!(namespace.description, "");
        let blank = read(serde_json::json!({"id": "n", "status": null}));
        assert_eq!(blank.status, NamespaceStatus::UnknownStatus);
        assert_eq!(
            read(serde_json::json!({"id": "n", "status": ""})).status,
            NamespaceStatus::UnknownStatus
        );
    }

    #[test]
    fn transient_statuses_match_the_sdk_waiters() {
        for transient in ["creating", "deleting", "pending"] {
            assert!(
                NamespaceStatus::from(transient).is_transient(),
                "{transient}"
            );
        }
        for steady in ["ready", "error", "locked", "unknown", "new"] {
            assert!(!NamespaceStatus::from(steady).is_transient(), "{steady}");
        }
    }

    #[test]
    fn requests_send_only_what_is_set() {
        let create = CreateNamespaceRequest {
            name: "ns".into(),
            project_id: "proj".into(),
            secret_environment_variables: Some(vec![Secret::set(
                "S",
                SecretString::new("namespace-secret"),
            )]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&create).unwrap_or_default(),
            serde_json::json!({"name": "ns", "project_id": "proj",
                "secret_environment_variables": [{"key": "S", "value": "namespace-secret"}]})
        );
        assert!(!format!("{create:?}").contains("namespace-secret"));
        assert!(UpdateNamespaceRequest::default().is_empty());
        let update = UpdateNamespaceRequest {
            secret_environment_variables: Some(vec![Secret::delete("S")]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap_or_default(),
            serde_json::json!({"secret_environment_variables": [{"key": "S"}]})
        );
    }
}
