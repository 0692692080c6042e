//! The Scaleway container a trigger or a domain belongs to, and the credentials to reach it:
//! a ServerlessContainer referenced by name (which must be Ready; its ServerlessNamespace's
//! credentials apply) or a container ID given directly (the layered default credentials).

use super::context::Context;
use super::error::Error;
use super::parents;
use super::policy::{self, Credentials};
use super::secrets::SecretReader;
use crate::crd::{LocalObjectReference, PolicySource, ServerlessContainer};

/// How an object names its container.
pub struct ContainerChoice<'a> {
    /// A ServerlessContainer in the same Kubernetes namespace.
    pub reference: Option<&'a LocalObjectReference>,
    /// Or a Scaleway container ID.
    pub id: Option<&'a str>,
    /// The region of `id`.
    pub region: Option<&'a str>,
}

/// The container, resolved.
pub struct Target {
    /// Credentials in force.
    pub credentials: Credentials,
    /// Region of the container.
    pub region: String,
    /// Scaleway container ID.
    pub container_id: String,
    /// The container's public endpoint host, when known (referenced containers only).
    pub endpoint: Option<String>,
}

impl Target {
    /// The snapshot scope of the container's children (triggers, domains).
    pub fn cache_scope(&self) -> String {
        format!(
            "{}|{}|{}",
            self.credentials.scope.identity, self.region, self.container_id
        )
    }
}

/// Resolves `choice` for an object in Kubernetes namespace `k8s_namespace`.
pub async fn resolve(
    ctx: &Context,
    secrets: &mut SecretReader,
    k8s_namespace: &str,
    choice: ContainerChoice<'_>,
) -> Result<Target, Error> {
    let Some(reference) = choice.reference else {
        let container_id = choice
            .id
            .ok_or_else(|| Error::InvalidSpec("set containerRef or containerId".into()))?;
        let region = choice
            .region
            .map_or_else(|| ctx.config.default_region.clone(), str::to_owned);
        return Ok(Target {
            credentials: policy::credentials(ctx, secrets, k8s_namespace, None).await?,
            region,
            container_id: container_id.to_owned(),
            endpoint: None,
        });
    };
    let parent = parents::ready::<ServerlessContainer>(
        &ctx.kube,
        ctx.parents.containers.get(),
        k8s_namespace,
        &reference.name,
    )
    .await?;
    let (container, container_id, region) = (parent.object, parent.id, parent.region);
    // The container's credentials are its namespace's.
    let credentials = match &container.spec.namespace_ref {
        Some(namespace) => parents::referenced(
            &ctx.kube,
            ctx.parents.namespaces.get(),
            k8s_namespace,
            &namespace.name,
            |_| true,
            "read ServerlessNamespace",
        )
        .await?
        .and_then(|n| n.spec.credentials_secret_ref.clone()),
        None => None,
    };
    let explicit = credentials
        .as_ref()
        .map(|secret| (secret.name.as_str(), PolicySource::Parent));
    Ok(Target {
        credentials: policy::credentials(ctx, secrets, k8s_namespace, explicit).await?,
        region,
        container_id,
        endpoint: container
            .status
            .as_ref()
            .and_then(|s| s.public_endpoint.as_deref())
            .map(endpoint_host)
            .filter(|e| !e.is_empty()),
    })
}

/// The host of an endpoint URL (`https://web-x.functions.fnc.fr-par.scw.cloud/` →
/// `web-x.functions.fnc.fr-par.scw.cloud`).
pub fn endpoint_host(endpoint: &str) -> String {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .unwrap_or(endpoint);
    rest.split('/').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::endpoint_host;

    #[test]
    fn the_cname_target_is_the_endpoint_host() {
        assert_eq!(endpoint_host("https://web-x.scw.cloud/"), "web-x.scw.cloud");
        assert_eq!(endpoint_host("https://web-x.scw.cloud"), "web-x.scw.cloud");
        assert_eq!(endpoint_host("web-x.scw.cloud"), "web-x.scw.cloud");
    }
}
