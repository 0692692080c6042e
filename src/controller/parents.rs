//! Referenced objects (a container's ServerlessNamespace, a trigger's ServerlessContainer),
//! read from the controllers' own reflector stores instead of one GET per reconcile. The
//! store can trail the API by an event, so an object the store does not show as usable is
//! read from the API before the reconcile gives up on it.

use std::sync::{Arc, OnceLock};

use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use super::conditions;
use super::error::Error;
use super::reconciler::Managed;
use crate::crd::{ServerlessContainer, ServerlessFunction, ServerlessNamespace};

/// The stores of the kinds other objects reference (set when the controllers start).
#[derive(Default)]
pub struct ParentStores {
    /// ServerlessNamespaces.
    pub namespaces: OnceLock<Store<ServerlessNamespace>>,
    /// ServerlessContainers.
    pub containers: OnceLock<Store<ServerlessContainer>>,
    /// ServerlessFunctions.
    pub functions: OnceLock<Store<ServerlessFunction>>,
}

/// Object `name` in Kubernetes namespace `namespace`: from `store` when it is there and
/// `usable`, else from the API (`None` when it does not exist).
pub async fn referenced<K>(
    kube: &kube::Client,
    store: Option<&Store<K>>,
    namespace: &str,
    name: &str,
    usable: impl Fn(&K) -> bool,
    action: &'static str,
) -> Result<Option<Arc<K>>, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let key = ObjectRef::new(name).within(namespace);
    if let Some(found) = store.and_then(|s| s.get(&key))
        && usable(&found)
    {
        return Ok(Some(found));
    }
    let api: Api<K> = Api::namespaced(kube.clone(), namespace);
    Ok(api
        .get_opt(name)
        .await
        .map_err(Error::kube(action))?
        .map(Arc::new))
}

/// A referenced object that is Ready, with its remote ID and region: what a child needs
/// from its parent. Missing or not Ready yet is a dependency to wait for.
pub struct ReadyParent<K> {
    /// The object.
    pub object: Arc<K>,
    /// Its Scaleway ID.
    pub id: String,
    /// Its region.
    pub region: String,
}

/// Reads `name` (of kind `K`, in `namespace`) through `store` and checks that it is Ready.
pub async fn ready<K: Managed>(
    kube: &kube::Client,
    store: Option<&Store<K>>,
    namespace: &str,
    name: &str,
) -> Result<ReadyParent<K>, Error> {
    let usable = |object: &K| {
        object.remote_id().is_some()
            && object.region().is_some()
            && object
                .status()
                .is_some_and(|s| conditions::is_ready(K::conditions(s)))
    };
    let object = referenced(
        kube,
        store,
        namespace,
        name,
        usable,
        "read a referenced object",
    )
    .await?
    .ok_or_else(|| Error::DependencyNotReady(format!("{} {name} not found", K::KIND)))?;
    match (usable(&object), object.remote_id(), object.region()) {
        (true, Some(id), Some(region)) => Ok(ReadyParent { object, id, region }),
        _ => Err(Error::ParentNotReady(format!(
            "{} {name} is not Ready yet",
            K::KIND
        ))),
    }
}
