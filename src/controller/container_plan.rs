//! Pure logic of the container reconciler: the desired settings from the spec, the smallest
//! update from a remote container, and the plan. No I/O.

use std::collections::BTreeMap;

use crate::crd::{self, ServerlessContainerSpec, units};
use crate::scaleway::SecretString;
use crate::scaleway::types::{
    ApiDuration, Container, ContainerSettings, CreateContainerRequest, HttpProbe, Privacy, Probe,
    Protocol, Sandbox, ScalingOption, TcpProbe, UpdateContainerRequest,
};

use super::error::Error;
use super::observe::RemoteObject;

/// What the spec asks for, in the API's units. `None` fields are not managed.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// Remote name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Settings shared by create and update (secret values excluded).
    pub settings: ContainerSettings,
    /// Redirect to HTTPS.
    pub https_only: Option<bool>,
}

/// A unit error as a spec error (it names the field).
pub fn invalid(error: units::UnitError) -> Error {
    Error::InvalidSpec(error.to_string())
}

/// The wire privacy of a spec's.
pub fn privacy(privacy: crd::Privacy) -> Privacy {
    match privacy {
        crd::Privacy::Public => Privacy::Public,
        crd::Privacy::Private => Privacy::Private,
    }
}

/// The wire sandbox of a spec's.
pub fn sandbox(sandbox: crd::Sandbox) -> Sandbox {
    match sandbox {
        crd::Sandbox::V1 => Sandbox::V1,
        crd::Sandbox::V2 => Sandbox::V2,
    }
}

fn probe(field: &'static str, probe: &crd::Probe) -> Result<Probe, Error> {
    let duration = |text: &Option<String>| -> Result<Option<ApiDuration>, Error> {
        text.as_deref()
            .map(|t| units::duration(field, t).map(ApiDuration).map_err(invalid))
            .transpose()
    };
    Ok(Probe {
        failure_threshold: probe.failure_threshold.unwrap_or_default(),
        interval: duration(&probe.interval)?,
        timeout: duration(&probe.timeout)?,
        tcp: probe.tcp.as_ref().map(|_| TcpProbe {}),
        http: probe.http.as_ref().map(|h| HttpProbe {
            path: h.path.clone(),
        }),
    })
}

impl Desired {
    /// Converts and checks a spec. Errors name the field and are terminal (the spec must
    /// change).
    pub fn from_spec(object_name: &str, spec: &ServerlessContainerSpec) -> Result<Self, Error> {
        if let (Some(min), Some(max)) = (spec.min_scale, spec.max_scale)
            && min > max
        {
            return Err(Error::InvalidSpec(format!(
                "minScale ({min}) must not exceed maxScale ({max})"
            )));
        }
        let memory = spec
            .memory
            .as_ref()
            .map(|q| units::bytes("memory", &q.0))
            .transpose()
            .map_err(invalid)?;
        let cpu = spec
            .cpu
            .as_ref()
            .map(|q| units::millicpu("cpu", &q.0))
            .transpose()
            .map_err(invalid)?;
        let storage = spec
            .local_storage
            .as_ref()
            .map(|q| units::bytes("localStorage", &q.0))
            .transpose()
            .map_err(invalid)?;
        let timeout = spec
            .timeout
            .as_deref()
            .map(|t| units::duration("timeout", t).map(ApiDuration))
            .transpose()
            .map_err(invalid)?;
        let settings = ContainerSettings {
            environment_variables: spec.environment_variables.clone(),
            secret_environment_variables: None,
            min_scale: spec.min_scale,
            max_scale: spec.max_scale,
            memory_limit_bytes: memory,
            mvcpu_limit: cpu,
            timeout,
            privacy: spec.privacy.map(privacy),
            description: spec.description.as_deref().map(str::to_owned),
            protocol: spec.protocol.map(|p| match p {
                crd::Protocol::Http1 => Protocol::Http1,
                crd::Protocol::H2c => Protocol::H2c,
            }),
            port: spec.port,
            sandbox: spec.sandbox.map(sandbox),
            local_storage_limit_bytes: storage,
            scaling_option: spec.scaling.as_ref().map(|s| ScalingOption {
                concurrent_requests_threshold: s.concurrent_requests_threshold,
                cpu_usage_threshold: s.cpu_usage_threshold,
                memory_usage_threshold: s.memory_usage_threshold,
            }),
            liveness_probe: spec
                .liveness_probe
                .as_ref()
                .map(|p| probe("livenessProbe", p))
                .transpose()?,
            startup_probe: spec
                .startup_probe
                .as_ref()
                .map(|p| probe("startupProbe", p))
                .transpose()?,
            tags: spec.tags.clone(),
            private_network_id: spec.private_network_id.as_deref().map(str::to_owned),
            command: spec.command.clone(),
            args: spec.args.clone(),
        };
        Ok(Self {
            name: spec.name.as_deref().unwrap_or(object_name).to_owned(),
            image: spec.image.to_string(),
            settings,
            https_only: spec.https_only,
        })
    }

    /// The create request, secrets included.
    pub fn create_request(
        &self,
        namespace_id: &str,
        secrets: Option<BTreeMap<String, SecretString>>,
    ) -> CreateContainerRequest {
        let mut settings = self.settings.clone();
        settings.secret_environment_variables = secrets;
        CreateContainerRequest {
            namespace_id: namespace_id.to_owned(),
            name: self.name.clone(),
            image: self.image.clone(),
            settings,
            https_connections_only: self.https_only,
        }
    }
}

/// `Some(wanted)` when the user manages the field and the remote value differs.
fn changed<T: PartialEq<R> + Clone, R: ?Sized>(wanted: &Option<T>, remote: &R) -> Option<T> {
    wanted.as_ref().filter(|w| *w != remote).cloned()
}

/// A probe differs when a field the user set differs (fields left out keep the server's
/// defaults, so they are not compared).
fn probe_changed(wanted: &Option<Probe>, remote: Option<&Probe>) -> Option<Probe> {
    let wanted = wanted.as_ref()?;
    let Some(remote) = remote else {
        return Some(wanted.clone());
    };
    let differs = (wanted.failure_threshold != 0
        && wanted.failure_threshold != remote.failure_threshold)
        || (wanted.interval.is_some() && wanted.interval != remote.interval)
        || (wanted.timeout.is_some() && wanted.timeout != remote.timeout)
        || wanted.tcp.is_some() != remote.tcp.is_some()
        || wanted.http != remote.http;
    differs.then(|| wanted.clone())
}

/// The smallest UpdateContainer that makes `remote` match `desired`. Secret values are
/// added when `secrets` is given (their digest changed, or the remote key set differs).
pub fn update_for(
    desired: &Desired,
    remote: &Container,
    secrets: Option<BTreeMap<String, SecretString>>,
) -> UpdateContainerRequest {
    let wanted = &desired.settings;
    let scaling = wanted
        .scaling_option
        .as_ref()
        .filter(|w| remote.scaling_option.as_deref() != Some(*w))
        .cloned();
    UpdateContainerRequest {
        image: (remote.image != desired.image).then(|| desired.image.clone()),
        https_connections_only: changed(&desired.https_only, &remote.https_connections_only),
        settings: ContainerSettings {
            environment_variables: changed(
                &wanted.environment_variables,
                &remote.environment_variables,
            ),
            secret_environment_variables: secrets,
            min_scale: changed(&wanted.min_scale, &remote.min_scale),
            max_scale: changed(&wanted.max_scale, &remote.max_scale),
            memory_limit_bytes: changed(&wanted.memory_limit_bytes, &remote.memory_limit_bytes),
            mvcpu_limit: changed(&wanted.mvcpu_limit, &remote.mvcpu_limit),
            timeout: wanted.timeout.filter(|t| Some(*t) != remote.timeout),
            privacy: changed(&wanted.privacy, &remote.privacy),
            description: changed(&wanted.description, &*remote.description),
            protocol: changed(&wanted.protocol, &remote.protocol),
            port: changed(&wanted.port, &remote.port),
            sandbox: changed(&wanted.sandbox, &remote.sandbox),
            local_storage_limit_bytes: changed(
                &wanted.local_storage_limit_bytes,
                &remote.local_storage_limit_bytes,
            ),
            scaling_option: scaling,
            liveness_probe: probe_changed(&wanted.liveness_probe, remote.liveness_probe.as_deref()),
            startup_probe: probe_changed(&wanted.startup_probe, remote.startup_probe.as_deref()),
            tags: changed(&wanted.tags, &remote.tags),
            private_network_id: wanted
                .private_network_id
                .as_ref()
                .filter(|id| remote.private_network_id.as_deref() != Some(id.as_str()))
                .cloned(),
            command: changed(&wanted.command, &remote.command),
            args: changed(&wanted.args, &remote.args),
        },
    }
}

/// The step a reconcile takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// No remote container: create it.
    Create,
    /// The remote container is busy (creating, updating, deleting, ...) or locked: nothing
    /// can be sent now; a change the spec asks for waits.
    Wait,
    /// Send this update.
    Update(Box<UpdateContainerRequest>),
    /// Roll out again (a redeploy was asked for and nothing else changed).
    Redeploy,
    /// Nothing to do.
    InSync,
}

/// Decides the step. `secrets` is the secret map to send if it must be sent.
pub fn plan(
    desired: &Desired,
    remote: Option<&Container>,
    secrets: Option<BTreeMap<String, SecretString>>,
    redeploy_requested: bool,
) -> Plan {
    let Some(remote) = remote else {
        return Plan::Create;
    };
    if remote.is_busy() {
        return Plan::Wait;
    }
    let update = update_for(desired, remote, secrets);
    if !update.is_empty() {
        // An update rolls the container out by itself: no redeploy on top of it.
        return Plan::Update(Box::new(update));
    }
    if redeploy_requested {
        return Plan::Redeploy;
    }
    Plan::InSync
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;
    use crate::scaleway::types::Status;

    fn spec(json: serde_json::Value) -> ServerlessContainerSpec {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    fn remote_matching(desired: &Desired) -> Container {
        let s = &desired.settings;
        Container {
            id: "c1".into(),
            name: desired.name.as_str().into(),
            image: desired.image.as_str().into(),
            status: Status::Ready,
            min_scale: s.min_scale.unwrap_or(0),
            max_scale: s.max_scale.unwrap_or(20),
            memory_limit_bytes: s.memory_limit_bytes.unwrap_or(2048 << 20),
            mvcpu_limit: s.mvcpu_limit.unwrap_or(1000),
            timeout: s
                .timeout
                .or(Some(ApiDuration(std::time::Duration::from_secs(300)))),
            environment_variables: s.environment_variables.clone().unwrap_or_default(),
            privacy: s.privacy.clone().unwrap_or(Privacy::Public),
            port: s.port.unwrap_or(8080),
            liveness_probe: s.liveness_probe.clone().map(|mut p| {
                p.failure_threshold = 30;
                std::sync::Arc::new(p)
            }),
            ..Default::default()
        }
    }

    #[test]
    fn spec_converts_to_api_units() {
        let desired = Desired::from_spec(
            "web",
            &spec(
                serde_json::json!({"namespaceRef": {"name": "ns"}, "image": "nginx:1",
                "memory": "512Mi", "cpu": "0.5", "timeout": "5m", "privacy": "Private",
                "protocol": "H2C", "sandbox": "V2", "httpsOnly": true,
                "livenessProbe": {"http": {"path": "/h"}, "interval": "10s"}}),
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(desired.name, "web");
        assert_eq!(desired.settings.memory_limit_bytes, Some(536_870_912));
        assert_eq!(desired.settings.mvcpu_limit, Some(500));
        assert_eq!(
            desired.settings.timeout,
            Some(ApiDuration(std::time::Duration::from_secs(300)))
        );
        assert_eq!(desired.settings.privacy, Some(Privacy::Private));
        assert_eq!(desired.settings.protocol, Some(Protocol::H2c));
        assert_eq!(desired.https_only, Some(true));
        let probe = desired.settings.liveness_probe.clone().unwrap_or_default();
        assert_eq!(probe.http, Some(HttpProbe { path: "/h".into() }));
    }

    #[test]
    fn bad_units_are_terminal_and_name_the_field() {
        let mut bad = spec(serde_json::json!({"namespaceId": "x", "image": "i"}));
        bad.memory = Some(Quantity("lots".into()));
        let error = Desired::from_spec("web", &bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("memory") && error.contains("lots"),
            "{error}"
        );
        let scale = spec(
            serde_json::json!({"namespaceId": "x", "image": "i", "minScale": 4, "maxScale": 1}),
        );
        assert!(matches!(
            Desired::from_spec("web", &scale),
            Err(Error::InvalidSpec(_))
        ));
    }

    #[test]
    fn a_matching_remote_needs_no_call() {
        let desired = Desired::from_spec(
            "web",
            &spec(
                serde_json::json!({"namespaceId": "x", "image": "nginx:1", "maxScale": 3,
                "environmentVariables": {"A": "1"}, "livenessProbe": {"tcp": {}}}),
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let remote = remote_matching(&desired);
        assert_eq!(plan(&desired, Some(&remote), None, false), Plan::InSync);
        assert_eq!(plan(&desired, Some(&remote), None, true), Plan::Redeploy);
        assert_eq!(plan(&desired, None, None, false), Plan::Create);
    }

    #[test]
    fn drift_produces_the_smallest_patch() {
        let desired = Desired::from_spec(
            "web",
            &spec(serde_json::json!({"namespaceId": "x", "image": "nginx:2", "maxScale": 3, "memory": "1Gi"})),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut remote = remote_matching(&desired);
        remote.image = "nginx:1".into();
        remote.max_scale = 10;
        remote.min_scale = 2; // not managed by the spec: left alone
        let Plan::Update(update) = plan(&desired, Some(&remote), None, true) else {
            panic!("expected an update");
        };
        let body = serde_json::to_value(&update).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"image": "nginx:2", "max_scale": 3})
        );
    }

    #[test]
    fn secrets_are_sent_only_when_given_and_busy_remotes_wait() {
        let desired = Desired::from_spec(
            "web",
            &spec(serde_json::json!({"namespaceId": "x", "image": "i"})),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut remote = remote_matching(&desired);
        let secrets: BTreeMap<_, _> = [("K".to_owned(), SecretString::new("v"))].into();
        assert!(
            matches!(plan(&desired, Some(&remote), Some(secrets.clone()), false), Plan::Update(u)
            if u.settings.secret_environment_variables.is_some())
        );
        remote.status = Status::Updating;
        assert_eq!(
            plan(&desired, Some(&remote), Some(secrets.clone()), false),
            Plan::Wait
        );
        // Locked: Scaleway refuses every change, so the change waits too.
        remote.status = Status::Locked;
        assert_eq!(
            plan(&desired, Some(&remote), Some(secrets), false),
            Plan::Wait
        );
        remote.status = Status::Error;
        remote.image = "other".into();
        assert!(
            matches!(plan(&desired, Some(&remote), None, false), Plan::Update(_)),
            "a spec fix is sent to a container in error"
        );
    }
}
