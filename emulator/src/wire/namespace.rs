//! `scaleway.containers.v1.Namespace` and its request bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Response body of every namespace operation (field order of the spec).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Namespace {
    pub id: String,
    pub name: String,
    pub organization_id: String,
    pub project_id: String,
    pub description: String,
    pub status: &'static str,
    pub error_message: Option<String>,
    pub environment_variables: BTreeMap<String, String>,
    /// Hashed values only (see `secret.rs`).
    pub secret_environment_variables: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub region: String,
}

/// `POST .../namespaces` body. Required: `project_id`, `name`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateNamespaceRequest {
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub description: Option<String>,
    pub environment_variables: Option<BTreeMap<String, String>>,
    pub secret_environment_variables: Option<BTreeMap<String, String>>,
    pub tags: Option<Vec<String>>,
}

/// `PATCH .../namespaces/{namespace_id}` body; `name` and `project_id` are immutable.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateNamespaceRequest {
    pub description: Option<String>,
    pub environment_variables: Option<BTreeMap<String, String>>,
    pub secret_environment_variables: Option<BTreeMap<String, String>>,
    pub tags: Option<Vec<String>>,
}
