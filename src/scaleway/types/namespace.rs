//! Namespace wire types (`scaleway.containers.v1.Namespace` and its requests).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{Status, null_as_default, status_or_unknown};
use crate::scaleway::SecretString;

/// A Serverless Containers namespace as the API returns it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct Namespace {
    /// Namespace ID (UUID).
    pub id: String,
    /// Name, unique inside the project; immutable.
    pub name: String,
    /// Organization ID, derived by the server from the project.
    #[serde(default)]
    pub organization_id: String,
    /// Project ID; immutable.
    #[serde(default)]
    pub project_id: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "status_or_unknown")]
    pub status: Status,
    /// Last error message, set alongside `status: error`.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Environment variables mounted in every container of the namespace.
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_variables: BTreeMap<String, String>,
    /// Secret environment variables, as the server echoes them (never the clear value).
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret_environment_variables: BTreeMap<String, String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Region the namespace lives in.
    #[serde(default)]
    pub region: String,
}

/// Body of CreateNamespace. `project_id` and `name` are required.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CreateNamespaceRequest {
    /// Project to create the namespace in.
    pub project_id: String,
    /// Name, unique inside the project.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Environment variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Secret environment variables (clear values, sent once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<BTreeMap<String, SecretString>>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// Body of UpdateNamespace: only the fields present are changed, and a present map or
/// array replaces the whole value.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct UpdateNamespaceRequest {
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New environment variables (whole map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// New secret environment variables (whole map, clear values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<BTreeMap<String, SecretString>>,
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

/// Filters of ListNamespaces.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct NamespaceFilter {
    /// Only namespaces of this project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Only namespaces of this organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Only the namespace with this exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
