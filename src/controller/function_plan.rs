//! The pure part of reconciling a ServerlessFunction: the spec in API terms, and the
//! smallest UpdateFunction that makes a remote function match it.

use std::collections::BTreeMap;

use super::container_plan::{invalid, privacy, sandbox};
use super::error::Error;
use crate::crd::units;
use crate::crd::{self, ServerlessFunctionSpec};
use crate::scaleway::SecretString;
use crate::scaleway::functions::types::{
    Function, FunctionRuntime, FunctionSettings, HttpOption, Secret, UpdateFunctionRequest,
};
use crate::scaleway::types::ApiDuration;

const MIB: u64 = 1024 * 1024;

/// A spec in API terms (secret values excluded).
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// Name at Scaleway.
    pub name: String,
    /// Settings shared by create and update.
    pub settings: FunctionSettings,
}

impl Desired {
    /// Converts and checks a spec. Errors name the field and are terminal.
    pub fn from_spec(object_name: &str, spec: &ServerlessFunctionSpec) -> Result<Self, Error> {
        if let (Some(min), Some(max)) = (spec.min_scale, spec.max_scale)
            && min > max
        {
            return Err(Error::InvalidSpec(format!(
                "minScale ({min}) must not exceed maxScale ({max})"
            )));
        }
        let memory_limit = spec
            .memory
            .as_ref()
            .map(|q| units::bytes("memory", &q.0).map_err(invalid))
            .transpose()?
            .map(|bytes| {
                if bytes % MIB != 0 {
                    return Err(Error::InvalidSpec(format!(
                        "memory: {} is not a whole number of Mi (Scaleway takes the memory of a function in MB)",
                        spec.memory.as_ref().map(|q| q.0.as_str()).unwrap_or_default()
                    )));
                }
                u32::try_from(bytes / MIB)
                    .map_err(|_| Error::InvalidSpec("memory: too large".into()))
            })
            .transpose()?;
        let timeout = spec
            .timeout
            .as_deref()
            .map(|t| units::duration("timeout", t).map(ApiDuration))
            .transpose()
            .map_err(invalid)?;
        let settings = FunctionSettings {
            environment_variables: spec.environment_variables.clone(),
            min_scale: spec.min_scale,
            max_scale: spec.max_scale,
            runtime: Some(FunctionRuntime::from(spec.runtime.as_str())),
            memory_limit,
            timeout,
            handler: spec.handler.clone(),
            privacy: spec.privacy.map(privacy),
            description: spec.description.clone(),
            secret_environment_variables: None,
            http_option: spec.http_option.map(|h| match h {
                crd::HttpOption::Enabled => HttpOption::Enabled,
                crd::HttpOption::Redirected => HttpOption::Redirected,
            }),
            sandbox: spec.sandbox.map(sandbox),
            tags: spec.tags.clone(),
            private_network_id: None,
        };
        Ok(Self {
            name: spec.name.clone().unwrap_or_else(|| object_name.to_owned()),
            settings,
        })
    }
}

/// Secret values as the API takes them.
pub fn secrets(values: &BTreeMap<String, SecretString>) -> Vec<Secret> {
    values
        .iter()
        .map(|(key, value)| Secret::set(key.clone(), value.clone()))
        .collect()
}

/// The smallest UpdateFunction that makes `remote` match `desired`: only fields the spec
/// sets and that differ. `secrets` (already filtered: sent only when they changed) and
/// `tags` (the tags to keep) are sent as given. `redeploy` is left to the caller.
pub fn update_for(
    desired: &FunctionSettings,
    remote: &Function,
    secrets: Option<Vec<Secret>>,
    tags: Option<Vec<String>>,
) -> UpdateFunctionRequest {
    fn differs<T: PartialEq + Clone>(wanted: &Option<T>, current: &T) -> Option<T> {
        wanted.as_ref().filter(|w| *w != current).cloned()
    }
    let settings = FunctionSettings {
        environment_variables: differs(
            &desired.environment_variables,
            &remote.environment_variables,
        ),
        min_scale: differs(&desired.min_scale, &remote.min_scale),
        max_scale: differs(&desired.max_scale, &remote.max_scale),
        runtime: differs(&desired.runtime, &remote.runtime),
        memory_limit: differs(&desired.memory_limit, &remote.memory_limit),
        timeout: desired.timeout.filter(|t| remote.timeout != Some(*t)),
        handler: differs(&desired.handler, &remote.handler),
        privacy: differs(&desired.privacy, &remote.privacy),
        description: differs(&desired.description, &remote.description),
        secret_environment_variables: secrets,
        http_option: differs(&desired.http_option, &remote.http_option),
        sandbox: differs(&desired.sandbox, &remote.sandbox),
        tags: tags.filter(|t| t != &remote.tags),
        private_network_id: None,
    };
    UpdateFunctionRequest {
        settings,
        redeploy: None,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;

    fn spec(extra: serde_json::Value) -> ServerlessFunctionSpec {
        let mut base = serde_json::json!({
            "namespaceRef": {"name": "fns"}, "runtime": "python313",
            "code": {"url": "https://example.com/f.zip"}
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn memory_is_sent_in_whole_megabytes() {
        let desired = Desired::from_spec("f", &spec(serde_json::json!({"memory": "256Mi"})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(desired.settings.memory_limit, Some(256));
        assert_eq!(desired.name, "f");
        let mut odd = spec(serde_json::json!({}));
        odd.memory = Some(Quantity("200M".into()));
        let error = Desired::from_spec("f", &odd).err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("memory")));
    }

    #[test]
    fn only_differing_fields_are_sent() {
        let desired = Desired::from_spec(
            "f",
            &spec(
                serde_json::json!({"maxScale": 5, "handler": "handler.handle",
                "environmentVariables": {"A": "1"}, "timeout": "30s"}),
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut remote = Function {
            max_scale: 5,
            handler: "handler.handle".into(),
            environment_variables: BTreeMap::from([("A".into(), "1".into())]),
            runtime: FunctionRuntime::from("python313"),
            timeout: ApiDuration::parse("30s"),
            ..Default::default()
        };
        assert!(update_for(&desired.settings, &remote, None, None).is_empty());
        remote.max_scale = 20;
        remote.runtime = FunctionRuntime::from("python312");
        let update = update_for(&desired.settings, &remote, None, None);
        assert_eq!(update.settings.max_scale, Some(5));
        assert_eq!(
            update.settings.runtime,
            Some(FunctionRuntime::from("python313"))
        );
        assert_eq!(update.settings.handler, None);
        assert_eq!(update.settings.environment_variables, None);
    }
}
