//! Wire shapes of the Functions API v1beta1 (`scaleway.function.v1beta1.*`, seed 002), field
//! order as in the spec. Kept apart from the Containers v1 shapes: the two APIs differ in
//! secret encoding (list in, hashed list out), status vocabularies and several field names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `SecretHashedValue`: what a response shows of a secret environment variable.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SecretHashedValue {
    pub key: String,
    pub hashed_value: String,
}

/// `Secret` in a request: a key with a value sets it; on update a key without a value
/// deletes it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SecretInput {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// `scaleway.function.v1beta1.Namespace`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Namespace {
    pub id: String,
    pub name: String,
    pub environment_variables: BTreeMap<String, String>,
    pub organization_id: String,
    pub project_id: String,
    pub status: &'static str,
    pub registry_namespace_id: String,
    pub error_message: Option<String>,
    pub registry_endpoint: String,
    pub description: Option<String>,
    pub secret_environment_variables: Vec<SecretHashedValue>,
    pub region: String,
    pub tags: Vec<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub vpc_integration_activated: bool,
}

/// `POST .../namespaces`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateNamespaceRequest {
    pub name: Option<String>,
    pub environment_variables: Option<BTreeMap<String, String>>,
    pub project_id: Option<String>,
    pub description: Option<String>,
    pub secret_environment_variables: Option<Vec<SecretInput>>,
    pub tags: Option<Vec<String>>,
    /// Deprecated and ignored (every namespace is VPC-compatible since 2025-08-20).
    pub activate_vpc_integration: Option<bool>,
}

/// `PATCH .../namespaces/{namespace_id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateNamespaceRequest {
    pub environment_variables: Option<BTreeMap<String, String>>,
    pub description: Option<String>,
    pub secret_environment_variables: Option<Vec<SecretInput>>,
    pub tags: Option<Vec<String>>,
}

/// `scaleway.function.v1beta1.Function`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Function {
    pub id: String,
    pub name: String,
    pub namespace_id: String,
    pub status: &'static str,
    pub environment_variables: BTreeMap<String, String>,
    pub min_scale: u32,
    pub max_scale: u32,
    pub runtime: String,
    pub memory_limit: u32,
    pub cpu_limit: u32,
    pub timeout: Option<String>,
    pub handler: String,
    pub error_message: Option<String>,
    pub build_message: Option<String>,
    pub privacy: &'static str,
    pub description: Option<String>,
    pub domain_name: String,
    pub secret_environment_variables: Vec<SecretHashedValue>,
    pub region: String,
    pub http_option: &'static str,
    pub runtime_message: String,
    pub sandbox: &'static str,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub ready_at: Option<String>,
    pub tags: Vec<String>,
    pub private_network_id: Option<String>,
}

/// The settings CreateFunction and UpdateFunction share.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct FunctionSettings {
    pub environment_variables: Option<BTreeMap<String, String>>,
    pub min_scale: Option<u32>,
    pub max_scale: Option<u32>,
    pub runtime: Option<String>,
    pub memory_limit: Option<u32>,
    pub timeout: Option<String>,
    pub handler: Option<String>,
    pub privacy: Option<String>,
    pub description: Option<String>,
    pub secret_environment_variables: Option<Vec<SecretInput>>,
    pub http_option: Option<String>,
    pub sandbox: Option<String>,
    pub tags: Option<Vec<String>>,
    pub private_network_id: Option<String>,
}

/// `POST .../functions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateFunctionRequest {
    pub name: Option<String>,
    pub namespace_id: Option<String>,
    #[serde(flatten)]
    pub settings: FunctionSettings,
}

/// `PATCH .../functions/{function_id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateFunctionRequest {
    pub redeploy: Option<bool>,
    #[serde(flatten)]
    pub settings: FunctionSettings,
}

/// `UploadURL` / `DownloadURL`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PresignedUrl {
    pub url: String,
    pub headers: BTreeMap<String, Vec<String>>,
}

/// `scaleway.function.v1beta1.Runtime`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Runtime {
    pub name: &'static str,
    pub language: &'static str,
    pub version: &'static str,
    pub default_handler: &'static str,
    pub code_sample: &'static str,
    pub status: &'static str,
    pub status_message: &'static str,
    pub extension: &'static str,
    pub implementation: &'static str,
    pub logo_url: &'static str,
}

/// `scaleway.function.v1beta1.Cron`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Cron {
    pub id: String,
    pub function_id: String,
    pub schedule: String,
    pub args: Value,
    pub status: &'static str,
    pub name: String,
}

/// `POST .../crons` and `PATCH .../crons/{cron_id}` (on PATCH every field is optional and
/// `function_id` re-points the cron).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CronRequest {
    pub function_id: Option<String>,
    pub schedule: Option<String>,
    pub args: Option<Value>,
    pub name: Option<String>,
}

/// `scaleway.function.v1beta1.Domain`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Domain {
    pub id: String,
    pub hostname: String,
    pub function_id: String,
    pub url: String,
    pub status: &'static str,
    pub error_message: Option<String>,
}

/// `POST .../domains`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateDomainRequest {
    pub hostname: Option<String>,
    pub function_id: Option<String>,
}

/// `scaleway.function.v1beta1.Token`. `token` is set only in the answer to CreateToken.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Token {
    pub id: String,
    pub token: Option<String>,
    pub function_id: Option<String>,
    pub namespace_id: Option<String>,
    pub public_key: Option<String>,
    pub status: &'static str,
    pub description: Option<String>,
    pub expires_at: Option<String>,
}

/// `POST .../tokens`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateTokenRequest {
    pub function_id: Option<String>,
    pub namespace_id: Option<String>,
    pub description: Option<String>,
    pub expires_at: Option<String>,
}

/// `scaleway.function.v1beta1.Trigger`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Trigger {
    pub id: String,
    pub name: String,
    pub description: String,
    pub function_id: String,
    pub input_type: &'static str,
    pub status: &'static str,
    pub error_message: Option<String>,
    pub scw_sqs_config: Option<MnqSqsConfig>,
    pub scw_nats_config: Option<MnqNatsConfig>,
    pub sqs_config: Option<SqsConfig>,
}

/// `Trigger.MnqSqsClientConfig`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct MnqSqsConfig {
    pub queue: String,
    pub mnq_project_id: String,
    pub mnq_region: String,
    pub mnq_credential_id: Option<String>,
}

/// `Trigger.MnqNatsClientConfig`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct MnqNatsConfig {
    pub subject: String,
    pub mnq_nats_account_id: String,
    pub mnq_project_id: String,
    pub mnq_region: String,
    pub mnq_credential_id: Option<String>,
}

/// `Trigger.SqsClientConfig` (SDK only, not in seed 002). `secret_key` is write-only: the
/// emulator answers `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SqsConfig {
    pub endpoint: String,
    pub queue_url: String,
    pub access_key: String,
    pub secret_key: Option<String>,
}

/// `scw_sqs_config` in a CreateTrigger request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MnqSqsInput {
    pub queue: Option<String>,
    pub mnq_project_id: Option<String>,
    pub mnq_region: Option<String>,
}

/// `scw_nats_config` in a CreateTrigger request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MnqNatsInput {
    pub subject: Option<String>,
    pub mnq_nats_account_id: Option<String>,
    pub mnq_project_id: Option<String>,
    pub mnq_region: Option<String>,
}

/// `sqs_config` in a CreateTrigger or UpdateTrigger request (SDK only).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SqsInput {
    pub endpoint: Option<String>,
    pub queue_url: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

/// `POST .../triggers`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateTriggerRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub function_id: Option<String>,
    pub scw_sqs_config: Option<MnqSqsInput>,
    pub scw_nats_config: Option<MnqNatsInput>,
    pub sqs_config: Option<SqsInput>,
}

/// `PATCH .../triggers/{trigger_id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateTriggerRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub sqs_config: Option<SqsInput>,
}
