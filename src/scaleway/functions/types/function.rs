//! Function wire types (`scaleway.functions.v1beta1.Function` and its requests).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{Secret, SecretHashedValue};
use super::runtime::FunctionRuntime;
use crate::scaleway::types::{ApiDuration, Privacy, Sandbox, null_as_default, string_enum};

string_enum! {
    /// Life-cycle status of a function. `created` is steady: the function exists but has no
    /// deployed code yet.
    FunctionStatus {
        /// The server sent no status (`unknown`, an empty string or `null`).
        UnknownStatus => "unknown",
        Ready => "ready",
        Deleting => "deleting",
        Error => "error",
        Locked => "locked",
        Creating => "creating",
        Pending => "pending",
        Created => "created",
    }
}

impl FunctionStatus {
    /// The statuses the official SDK waiters poll through (`creating`, `deleting`,
    /// `pending`); every other one is steady.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting | Self::Pending)
    }
}

string_enum! {
    /// How plain HTTP is served: `enabled` serves HTTP and HTTPS, `redirected` answers HTTP
    /// with a 301 to HTTPS.
    HttpOption {
        /// Not set (`unknown_http_option`); the server then applies `enabled`.
        UnknownHttpOption => "unknown_http_option",
        Enabled => "enabled",
        Redirected => "redirected",
    }
}

fn http_option_enabled() -> HttpOption {
    HttpOption::Enabled
}

/// A function as the API returns it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct Function {
    /// Function ID (UUID).
    pub id: String,
    /// Name, unique inside the namespace; immutable.
    #[serde(default)]
    pub name: String,
    /// Namespace the function belongs to; immutable.
    #[serde(default)]
    pub namespace_id: String,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: FunctionStatus,
    /// Environment variables (override the namespace's).
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_variables: BTreeMap<String, String>,
    /// Minimum number of instances.
    #[serde(default, deserialize_with = "null_as_default")]
    pub min_scale: u32,
    /// Maximum number of instances.
    #[serde(default, deserialize_with = "null_as_default")]
    pub max_scale: u32,
    /// Language runtime.
    #[serde(default, deserialize_with = "null_as_default")]
    pub runtime: FunctionRuntime,
    /// Memory limit in MB (not bytes, unlike Containers v1).
    #[serde(default, deserialize_with = "null_as_default")]
    pub memory_limit: u32,
    /// CPU limit, set by the server from the memory limit (the spec states no unit).
    #[serde(default, deserialize_with = "null_as_default")]
    pub cpu_limit: u32,
    /// Processing time limit of one call (`"300s"`).
    #[serde(default)]
    pub timeout: Option<ApiDuration>,
    /// Entry point: `path/file.func` for Node, PHP and Python; the package directory for Go
    /// and Rust.
    #[serde(default, deserialize_with = "null_as_default")]
    pub handler: String,
    /// Last error message, set in `status: error`.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Current build step.
    #[serde(default)]
    pub build_message: Option<String>,
    /// Invocation privacy.
    #[serde(default, deserialize_with = "null_as_default")]
    pub privacy: Privacy,
    /// Description (`null` reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Generated hostname the function answers on.
    #[serde(default, deserialize_with = "null_as_default")]
    pub domain_name: String,
    /// Secret environment variables, hashed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret_environment_variables: Vec<SecretHashedValue>,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// HTTP handling. A missing field reads as `enabled`, the schema's declared default.
    #[serde(default = "http_option_enabled")]
    pub http_option: HttpOption,
    /// Runtime message (undocumented).
    #[serde(default, deserialize_with = "null_as_default")]
    pub runtime_message: String,
    /// Sandbox version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sandbox: Sandbox,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Time of the last successful deployment (RFC 3339).
    #[serde(default)]
    pub ready_at: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Attached Private Network, if any.
    #[serde(default)]
    pub private_network_id: Option<String>,
}

/// The settings that CreateFunction and UpdateFunction share. `None` means "not sent".
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct FunctionSettings {
    /// Environment variables (whole map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Minimum number of instances (server default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_scale: Option<u32>,
    /// Maximum number of instances (server default 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_scale: Option<u32>,
    /// Language runtime (can change on update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<FunctionRuntime>,
    /// Memory limit in MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<u32>,
    /// Processing time limit of one call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ApiDuration>,
    /// Entry point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// Invocation privacy (new functions are public by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Secret environment variables: on create the full set; on update the keys to set, or
    /// (without a value) to delete; keys not listed stay unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_environment_variables: Option<Vec<Secret>>,
    /// HTTP handling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_option: Option<HttpOption>,
    /// Sandbox version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Sandbox>,
    /// Tags (whole list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Private Network to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_network_id: Option<String>,
}

/// Body of CreateFunction. `name` and `namespace_id` are required; the function holds no
/// code until an archive is uploaded and deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct CreateFunctionRequest {
    /// Name, unique inside the namespace.
    pub name: String,
    /// Namespace to create the function in.
    pub namespace_id: String,
    /// Optional settings.
    #[serde(flatten)]
    pub settings: FunctionSettings,
}

/// Body of UpdateFunction: only the fields present are changed. The server redeploys the
/// function after a change unless `redeploy` is `Some(false)`.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct UpdateFunctionRequest {
    /// Changed settings.
    #[serde(flatten)]
    pub settings: FunctionSettings,
    /// Whether to redeploy after the change (server default: yes). The spec's field text
    /// reads "Redeploy failed function"; the operation text says every PATCH redeploys
    /// unless this is `false`, which is the reading taken here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeploy: Option<bool>,
}

impl UpdateFunctionRequest {
    /// Whether the request would change no setting (and so must not be sent). `redeploy`
    /// alone changes nothing: redeploy with `Functions::deploy_function` instead.
    pub fn is_empty(&self) -> bool {
        self.settings == FunctionSettings::default()
    }
}

/// Filters of ListFunctions. `namespace_id` is required by the API, so it is not optional.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct FunctionFilter {
    /// The namespace to list (required).
    pub namespace_id: String,
    /// Only the function with this exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only functions of this organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Only functions of this project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

impl FunctionFilter {
    /// Every function of `namespace_id`.
    pub fn in_namespace(namespace_id: impl Into<String>) -> Self {
        Self {
            namespace_id: namespace_id.into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scaleway::SecretString;

    fn read(json: serde_json::Value) -> Function {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn full() -> serde_json::Value {
        serde_json::json!({
            "id": "22222222-2222-2222-2222-222222222222",
            "name": "hello",
            "namespace_id": "ns",
            "status": "created",
            "environment_variables": {"A": "1"},
            "min_scale": 0,
            "max_scale": 20,
            "runtime": "node22",
            "memory_limit": 256,
            "cpu_limit": 140,
            "timeout": "300s",
            "handler": "handler.handle",
            "error_message": null,
            "build_message": "building",
            "privacy": "private",
            "description": null,
            "domain_name": "nsabc-hello.functions.fnc.fr-par.scw.cloud",
            "secret_environment_variables": [{"key": "S", "hashed_value": "h"}],
            "region": "fr-par",
            "http_option": "redirected",
            "runtime_message": "",
            "sandbox": "v2",
            "created_at": "2022-03-22T12:34:56.123456Z",
            "updated_at": "2022-03-22T12:34:56.123456Z",
            "ready_at": null,
            "tags": ["a"],
            "private_network_id": null
        })
    }

    #[test]
    fn round_trip_of_a_full_function() {
        let function = read(full());
        assert_eq!(function.status, FunctionStatus::Created);
        assert_eq!(function.runtime, FunctionRuntime::Node22);
        assert_eq!(function.memory_limit, 256);
        assert_eq!(
            function.timeout,
            Some(ApiDuration(Duration::from_secs(300)))
        );
        assert_eq!(function.privacy, Privacy::Private);
        assert_eq!(function.http_option, HttpOption::Redirected);
        assert_eq!(function.sandbox, Sandbox::V2);
        assert_eq!(function.build_message.as_deref(), Some("building"));
        let json = serde_json::to_value(&function).unwrap_or_default();
        assert_eq!(json["timeout"], "300s");
        assert_eq!(read(json), function);
    }

    #[test]
    fn nulls_missing_fields_and_unknown_values() {
        let function = read(serde_json::json!({
            "id": "f", "status": "hibernating", "runtime": "cobol85", "privacy": "friends",
            "sandbox": null, "environment_variables": null, "secret_environment_variables": null,
            "tags": null, "timeout": null, "min_scale": null, "handler": null
        }));
        assert_eq!(
            function.status,
            FunctionStatus::Unknown("hibernating".into())
        );
        assert_eq!(function.runtime, FunctionRuntime::Unknown("cobol85".into()));
        assert_eq!(function.privacy, Privacy::Unknown("friends".into()));
        assert_eq!(function.sandbox, Sandbox::UnknownSandbox);
        assert_eq!(function.timeout, None);
        assert_eq!(function.http_option, HttpOption::Enabled);
        assert!(function.secret_environment_variables.is_empty());
        let json = serde_json::to_value(&function).unwrap_or_default();
        assert_eq!(json["runtime"], "cobol85");
        assert_eq!(read(json), function);
    }

    #[test]
    fn transient_statuses_match_the_sdk_waiters() {
        for transient in ["creating", "deleting", "pending"] {
            assert!(
                FunctionStatus::from(transient).is_transient(),
                "{transient}"
            );
        }
        for steady in ["created", "ready", "error", "locked", "unknown"] {
            assert!(!FunctionStatus::from(steady).is_transient(), "{steady}");
        }
    }

    #[test]
    fn create_and_update_bodies() {
        let create = CreateFunctionRequest {
            name: "hello".into(),
            namespace_id: "ns".into(),
            settings: FunctionSettings {
                runtime: Some(FunctionRuntime::Python312),
                memory_limit: Some(512),
                timeout: Some(ApiDuration(Duration::from_millis(2500))),
                secret_environment_variables: Some(vec![Secret::set(
                    "TOKEN",
                    SecretString::new("function-secret-value"),
                )]),
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&create).unwrap_or_default(),
            serde_json::json!({"name": "hello", "namespace_id": "ns", "runtime": "python312",
                "memory_limit": 512, "timeout": "2.5s",
                "secret_environment_variables": [{"key": "TOKEN", "value": "function-secret-value"}]})
        );
        assert!(!format!("{create:?}").contains("function-secret-value"));

        let update = UpdateFunctionRequest {
            settings: FunctionSettings {
                secret_environment_variables: Some(vec![Secret::delete("TOKEN")]),
                ..Default::default()
            },
            redeploy: Some(false),
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap_or_default(),
            serde_json::json!({"secret_environment_variables": [{"key": "TOKEN"}], "redeploy": false})
        );
        assert!(!update.is_empty());
        let only_redeploy = UpdateFunctionRequest {
            redeploy: Some(true),
            ..Default::default()
        };
        assert!(only_redeploy.is_empty());
    }
}
