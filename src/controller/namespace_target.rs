//! The Scaleway namespace a container or a function belongs to, and the credentials to reach
//! it: a ServerlessNamespace referenced by name (which must be Ready and of the right type;
//! its credentials apply) or a namespace ID given directly (the layered default
//! credentials).

use super::context::Context;
use super::error::Error;
use super::parents;
use super::policy::{self, Credentials};
use super::secrets::SecretReader;
use crate::crd::{LocalObjectReference, NamespaceType, PolicySource, ServerlessNamespace};

/// Where a container or function lives: credentials, region, Scaleway namespace.
pub struct Parent {
    /// Credentials in force.
    pub credentials: Credentials,
    /// Region of the namespace.
    pub region: String,
    /// Scaleway namespace ID.
    pub namespace_id: String,
}

impl Parent {
    /// The snapshot scope of the namespace's children.
    pub fn cache_scope(&self) -> String {
        format!(
            "{}|{}|{}",
            self.credentials.scope.identity, self.region, self.namespace_id
        )
    }
}

/// How an object names its namespace.
pub struct NamespaceChoice<'a> {
    /// A ServerlessNamespace in the same Kubernetes namespace.
    pub reference: Option<&'a LocalObjectReference>,
    /// Or a Scaleway namespace ID.
    pub id: Option<&'a str>,
    /// The region of `id`.
    pub region: Option<&'a str>,
    /// The type the namespace must have.
    pub type_: NamespaceType,
    /// The kind asking, for messages.
    pub kind: &'static str,
}

/// Resolves `choice` for an object in Kubernetes namespace `k8s_namespace`. A missing or
/// not-ready ServerlessNamespace is a dependency to wait for, not an error storm; one of
/// the wrong type is a spec error.
pub async fn resolve(
    ctx: &Context,
    secrets: &mut SecretReader,
    k8s_namespace: &str,
    choice: NamespaceChoice<'_>,
) -> Result<Parent, Error> {
    let Some(reference) = choice.reference else {
        let namespace_id = choice
            .id
            .ok_or_else(|| Error::InvalidSpec("set namespaceRef or namespaceId".into()))?;
        let region = choice
            .region
            .map_or_else(|| ctx.config.default_region.clone(), str::to_owned);
        return Ok(Parent {
            credentials: policy::credentials(ctx, secrets, k8s_namespace, None).await?,
            region,
            namespace_id: namespace_id.to_owned(),
        });
    };
    if let Some(found) = parents::referenced(
        &ctx.kube,
        ctx.parents.namespaces.get(),
        k8s_namespace,
        &reference.name,
        |_| true,
        "read ServerlessNamespace",
    )
    .await?
        && found.spec.type_ != choice.type_
    {
        return Err(Error::InvalidSpec(format!(
            "ServerlessNamespace {} is of type {:?}; a {} needs one of type {:?}",
            reference.name, found.spec.type_, choice.kind, choice.type_
        )));
    }
    let parent = parents::ready::<ServerlessNamespace>(
        &ctx.kube,
        ctx.parents.namespaces.get(),
        k8s_namespace,
        &reference.name,
    )
    .await?;
    let (namespace, namespace_id, region) = (parent.object, parent.id, parent.region);
    // The namespace's credentials, layered the same way as for the namespace itself.
    let explicit = namespace
        .spec
        .credentials_secret_ref
        .as_ref()
        .map(|secret| (secret.name.as_str(), PolicySource::Parent));
    Ok(Parent {
        credentials: policy::credentials(ctx, secrets, k8s_namespace, explicit).await?,
        region,
        namespace_id,
    })
}
