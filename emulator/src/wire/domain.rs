//! `scaleway.containers.v1.Domain` and its request bodies.

use serde::{Deserialize, Serialize};

/// Response body of every domain operation (field order of the spec).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Domain {
    pub id: String,
    pub container_id: String,
    pub hostname: String,
    pub status: &'static str,
    pub error_message: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub tags: Vec<String>,
}

/// `POST .../domains` body. Required: `container_id`, `hostname`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateDomainRequest {
    pub container_id: Option<String>,
    pub hostname: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// `PATCH .../domains/{domain_id}` body: only `tags` can change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateDomainRequest {
    pub tags: Option<Vec<String>>,
}
