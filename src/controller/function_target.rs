//! The Scaleway function a cron, a trigger or a token belongs to, and the credentials to
//! reach it: a ServerlessFunction referenced by name (which must be Ready; its
//! ServerlessNamespace's credentials apply) or a function ID given directly (the layered
//! default credentials).

use super::clients::Scoped;
use super::container_target;
use super::context::Context;
use super::error::Error;
use super::namespace_target::{self, NamespaceChoice};
use super::parents;
use super::policy::{self, Credentials};
use super::secrets::SecretReader;
use kube::ResourceExt;

use super::reconciler::Managed;
use crate::crd::{
    EffectivePolicies, LocalObjectReference, NamespaceType, ServerlessDomain, ServerlessFunction,
    ServerlessFunctionCron, ServerlessFunctionTrigger,
};

/// How an object names its function.
pub struct FunctionChoice<'a> {
    /// A ServerlessFunction in the same Kubernetes namespace.
    pub reference: Option<&'a LocalObjectReference>,
    /// Or a Scaleway function ID.
    pub id: Option<&'a str>,
    /// The region of `id`.
    pub region: Option<&'a str>,
}

/// The function, resolved.
pub struct FunctionTarget {
    /// Credentials in force.
    pub credentials: Credentials,
    /// Region of the function.
    pub region: String,
    /// Scaleway function ID.
    pub function_id: String,
    /// Its Scaleway namespace, when known (referenced functions only).
    pub namespace_id: Option<String>,
    /// The function's public endpoint host, when known (referenced functions only).
    pub endpoint: Option<String>,
}

impl FunctionTarget {
    /// The snapshot scope of the function's children (crons, triggers, tokens).
    pub fn cache_scope(&self) -> String {
        scope_of(
            &self.credentials.scope.identity,
            &self.region,
            &self.function_id,
        )
    }
}

/// The snapshot scope of a function's children, from its parts (for deletions that fall
/// back to what status recorded).
pub fn scope_of(identity: &str, region: &str, function_id: &str) -> String {
    format!("{identity}|{region}|function:{function_id}")
}

/// A kind that names its function with `functionRef`, or `functionId` and `region`.
pub trait FunctionChild: Managed {
    /// How the object names its function.
    fn choice(&self) -> FunctionChoice<'_>;
    /// What status recorded of where the remote resource lives.
    fn recorded(&self) -> Recorded<'_>;
}

macro_rules! function_child {
    ($($kind:ty => |$status:ident| $may_exist:expr),*) => {$(
        impl FunctionChild for $kind {
            fn choice(&self) -> FunctionChoice<'_> {
                FunctionChoice {
                    reference: self.spec.function_ref.as_ref(),
                    id: self.spec.function_id.as_deref(),
                    region: self.spec.region.as_deref(),
                }
            }
            fn recorded(&self) -> Recorded<'_> {
                let Some($status) = self.status.as_ref() else {
                    return Recorded::default();
                };
                Recorded {
                    region: $status.region.as_deref(),
                    function_id: $status.function_id.as_deref(),
                    effective: $status.effective.as_ref(),
                    may_exist: $may_exist,
                }
            }
        }
    )*};
}
function_child!(
    // Crons and domains carry no owner mark: a recorded create may have made one.
    ServerlessFunctionCron => |status| status.id.is_some() || status.create_requested.is_some(),
    ServerlessDomain => |status| status.id.is_some() || status.create_requested.is_some(),
    // Triggers are found by their owner mark once the function resolves again.
    ServerlessFunctionTrigger => |status| status.id.is_some()
);

/// Resolves the function `object` names.
pub async fn resolve_for<K: FunctionChild>(
    object: &K,
    ctx: &Context,
    secrets: &mut SecretReader,
) -> Result<FunctionTarget, Error> {
    let namespace = object.namespace().unwrap_or_default();
    resolve(ctx, secrets, &namespace, object.choice()).await
}

/// Where a deletion looks for a function child's remote resource: the function as it
/// resolves now or, when the function is gone or not ready, what status recorded.
pub struct CleanupTarget {
    /// Client of the credentials in force.
    pub scope: Scoped,
    /// Region of the function.
    pub region: String,
    /// Scaleway function ID (`None` when status never recorded it).
    pub function_id: Option<String>,
}

impl CleanupTarget {
    /// The snapshot scope of the function's children, when the function is known.
    pub fn cache_scope(&self) -> Option<String> {
        self.function_id
            .as_deref()
            .map(|id| scope_of(&self.scope.identity, &self.region, id))
    }
}

/// What a function child's status recorded of where its remote resource lives.
#[derive(Default)]
pub struct Recorded<'a> {
    /// Region.
    pub region: Option<&'a str>,
    /// Function ID.
    pub function_id: Option<&'a str>,
    /// Credentials in force when it was written.
    pub effective: Option<&'a EffectivePolicies>,
    /// Whether status shows a resource that may exist (an ID, or a recorded create).
    pub may_exist: bool,
}

/// Resolves where `object`'s remote resource is for its deletion. `None`: neither the
/// function nor status says, so there is nothing to delete yet (a change wakes the object).
pub async fn for_cleanup<K: FunctionChild>(
    object: &K,
    ctx: &Context,
    secrets: &mut SecretReader,
) -> Result<Option<CleanupTarget>, Error> {
    if let Ok(target) = resolve_for(object, ctx, secrets).await {
        return Ok(Some(CleanupTarget {
            scope: target.credentials.scope,
            region: target.region,
            function_id: Some(target.function_id),
        }));
    }
    let recorded = object.recorded();
    let (Some(region), true) = (recorded.region, recorded.may_exist) else {
        return Ok(None);
    };
    let namespace = object.namespace().unwrap_or_default();
    let credentials =
        policy::recorded_credentials(ctx, secrets, &namespace, recorded.effective).await?;
    Ok(Some(CleanupTarget {
        scope: credentials.scope,
        region: region.to_owned(),
        function_id: recorded.function_id.map(str::to_owned),
    }))
}

/// Resolves `choice` for an object in Kubernetes namespace `k8s_namespace`. A missing or
/// not-ready ServerlessFunction is a dependency to wait for.
pub async fn resolve(
    ctx: &Context,
    secrets: &mut SecretReader,
    k8s_namespace: &str,
    choice: FunctionChoice<'_>,
) -> Result<FunctionTarget, Error> {
    let Some(reference) = choice.reference else {
        let function_id = choice
            .id
            .ok_or_else(|| Error::InvalidSpec("set functionRef or functionId".into()))?;
        let region = choice
            .region
            .map_or_else(|| ctx.config.default_region.clone(), str::to_owned);
        return Ok(FunctionTarget {
            credentials: policy::credentials(ctx, secrets, k8s_namespace, None).await?,
            region,
            function_id: function_id.to_owned(),
            namespace_id: None,
            endpoint: None,
        });
    };
    let function = parents::ready::<ServerlessFunction>(
        &ctx.kube,
        ctx.parents.functions.get(),
        k8s_namespace,
        &reference.name,
    )
    .await?;
    // The function's credentials are its namespace's.
    let spec = &function.object.spec;
    let choice = NamespaceChoice {
        reference: spec.namespace_ref.as_ref(),
        id: spec.namespace_id.as_deref(),
        region: spec.region.as_deref(),
        type_: NamespaceType::Functions,
        kind: "ServerlessFunction",
    };
    let parent = namespace_target::resolve(ctx, secrets, k8s_namespace, choice).await?;
    let endpoint = function
        .object
        .status
        .as_ref()
        .and_then(|s| s.public_endpoint.as_deref())
        .map(container_target::endpoint_host)
        .filter(|e| !e.is_empty());
    Ok(FunctionTarget {
        credentials: parent.credentials,
        region: function.region,
        function_id: function.id,
        namespace_id: Some(parent.namespace_id),
        endpoint,
    })
}
