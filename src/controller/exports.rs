//! Exports: a container's outputs (endpoint, URL, ID, region) written to ConfigMaps or
//! Secrets named in its spec, so that other workloads can mount them. Targets are read from
//! a label-filtered reflector (no GET per reconcile) and written with server-side apply only
//! when they differ.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource, ResourceExt};

use super::error::Error;
use crate::crd::{Export, ExportKind, ServerlessContainer, ServerlessContainerStatus};

/// Label on every export target, to watch only those.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY: &str = "scaleway-serverless-operator";
/// Field manager of the writes.
const FIELD_MANAGER: &str = "scaleway-serverless-operator-exports";

/// The export targets as the operator's watches see them (set when the controllers start).
#[derive(Default)]
pub struct ExportTargets {
    /// Labelled ConfigMaps.
    pub config_maps: OnceLock<Store<ConfigMap>>,
    /// Labelled Secrets.
    pub secrets: OnceLock<Store<Secret>>,
}

/// The outputs of a container, by key, from its status (only what is known).
pub fn container_outputs(status: &ServerlessContainerStatus) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            outputs.insert(key.to_owned(), value.to_owned());
        }
    };
    put("id", status.id.as_deref());
    put("region", status.region.as_deref());
    put("namespaceId", status.namespace_id.as_deref());
    put("endpoint", status.public_endpoint.as_deref());
    put(
        "url",
        status
            .public_endpoint
            .as_ref()
            .map(|e| format!("https://{e}"))
            .as_deref(),
    );
    outputs
}

/// Whether a target already holds `outputs` (its other keys do not matter) and our label.
pub fn holds(
    labels: &BTreeMap<String, String>,
    data: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> bool {
    labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY)
        && outputs.iter().all(|(k, v)| data.get(k) == Some(v))
}

fn metadata(object: &ServerlessContainer, name: &str) -> ObjectMeta {
    let owner = OwnerReference {
        api_version: ServerlessContainer::api_version(&()).into_owned(),
        kind: ServerlessContainer::kind(&()).into_owned(),
        name: object.name_any(),
        uid: object.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: object.namespace(),
        labels: Some([(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned())].into()),
        owner_references: Some(vec![owner]),
        ..Default::default()
    }
}

/// Brings every export target of `object` in line with `outputs`; returns the events to
/// publish. Targets already in line cost nothing.
pub async fn write(
    kube: &kube::Client,
    targets: &ExportTargets,
    object: &ServerlessContainer,
    exports: &[Export],
    outputs: &BTreeMap<String, String>,
) -> Result<Vec<(&'static str, String)>, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER);
    let mut events = Vec::new();
    for export in exports {
        let failed = |source| Error::Export {
            target: format!("{:?} {}", export.kind, export.name),
            source: Box::new(source),
        };
        match export.kind {
            ExportKind::ConfigMap => {
                let current = targets
                    .config_maps
                    .get()
                    .and_then(|store| store.get(&ObjectRef::new(&export.name).within(&namespace)));
                if current.is_some_and(|c| {
                    holds(
                        c.labels(),
                        c.data.as_ref().unwrap_or(&BTreeMap::new()),
                        outputs,
                    )
                }) {
                    continue;
                }
                let target = ConfigMap {
                    metadata: metadata(object, &export.name),
                    data: Some(outputs.clone()),
                    ..Default::default()
                };
                Api::<ConfigMap>::namespaced(kube.clone(), &namespace)
                    .patch(&export.name, &params, &Patch::Apply(&target))
                    .await
                    .map_err(failed)?;
            }
            ExportKind::Secret => {
                let current = targets
                    .secrets
                    .get()
                    .and_then(|store| store.get(&ObjectRef::new(&export.name).within(&namespace)));
                let as_text = |secret: &Secret| -> BTreeMap<String, String> {
                    secret
                        .data
                        .iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
                        .collect()
                };
                if current.is_some_and(|c| holds(c.labels(), &as_text(&c), outputs)) {
                    continue;
                }
                let target = Secret {
                    metadata: metadata(object, &export.name),
                    data: Some(
                        outputs
                            .iter()
                            .map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec())))
                            .collect(),
                    ),
                    ..Default::default()
                };
                Api::<Secret>::namespaced(kube.clone(), &namespace)
                    .patch(&export.name, &params, &Patch::Apply(&target))
                    .await
                    .map_err(failed)?;
            }
        }
        events.push((
            "Exported",
            format!(
                "wrote {} to {:?} {}",
                outputs.keys().cloned().collect::<Vec<_>>().join(", "),
                export.kind,
                export.name
            ),
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_what_status_knows() {
        let mut status = ServerlessContainerStatus {
            id: Some("c1".into()),
            region: Some("fr-par".into()),
            ..Default::default()
        };
        assert_eq!(
            container_outputs(&status).keys().collect::<Vec<_>>(),
            ["id", "region"]
        );
        status.public_endpoint = Some("web-1.functions.fnc.fr-par.scw.cloud".into());
        let outputs = container_outputs(&status);
        assert_eq!(
            outputs.get("url").map(String::as_str),
            Some("https://web-1.functions.fnc.fr-par.scw.cloud")
        );
    }

    #[test]
    fn a_target_holds_the_outputs_whatever_else_it_has() {
        let labels: BTreeMap<String, String> =
            [(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned())].into();
        let outputs: BTreeMap<String, String> = [("id".to_owned(), "c1".to_owned())].into();
        let mut data = outputs.clone();
        data.insert("other".into(), "kept".into());
        assert!(holds(&labels, &data, &outputs));
        assert!(!holds(&BTreeMap::new(), &data, &outputs), "label missing");
        data.insert("id".into(), "c0".into());
        assert!(!holds(&labels, &data, &outputs), "stale value");
    }
}
