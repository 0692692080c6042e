//! Custom domain wire types (`scaleway.containers.v1.Domain` and its requests).

use serde::{Deserialize, Serialize};

use super::common::{Status, null_as_default, status_or_unknown};

/// A custom hostname bound to a container.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct Domain {
    /// Domain ID (UUID).
    pub id: String,
    /// Container the hostname routes to; immutable.
    #[serde(default)]
    pub container_id: String,
    /// The custom hostname; immutable.
    #[serde(default)]
    pub hostname: String,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "status_or_unknown")]
    pub status: Status,
    /// Last error message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Tags (the only updatable field).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// Body of CreateDomain.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CreateDomainRequest {
    /// Container to route the hostname to.
    pub container_id: String,
    /// The custom hostname.
    pub hostname: String,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// Body of UpdateDomain: tags only.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct UpdateDomainRequest {
    /// New tags (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// Filters of ListDomains.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct DomainFilter {
    /// Only domains of this project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Only domains of this organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Only domains of containers in this namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// Only domains of this container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
}
