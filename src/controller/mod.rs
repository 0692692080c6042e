//! The controllers: one kube-runtime `Controller` per kind, sharing one [`Context`].

pub mod clients;
pub mod conditions;
mod container;
pub mod container_plan;
mod container_target;
pub mod context;
mod domain;
pub mod error;
pub mod events;
pub mod exports;
mod function;
mod function_code;
mod function_cron;
mod function_domain;
pub mod function_plan;
mod function_target;
mod function_trigger;
mod main_watch;
mod namespace;
mod namespace_api;
mod namespace_target;
pub mod observe;
mod parents;
pub mod policy;
pub mod rbac;
pub mod reconciler;
mod remote_status;
mod requeue;
pub mod secrets;
mod token;
mod trigger;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::ListParams;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Api, Resource, ResourceExt};

pub use context::{Context, OperatorConfig};
pub use error::Error;
pub use reconciler::FINALIZER;

use crate::crd::{
    ServerlessContainer, ServerlessDomain, ServerlessFunction, ServerlessFunctionCron,
    ServerlessFunctionToken, ServerlessFunctionTrigger, ServerlessNamespace, ServerlessTrigger,
};
use reconciler::{Managed, error_policy};

/// Which Kubernetes namespaces the operator watches.
#[derive(Clone, Debug, Default)]
pub enum Scope {
    /// Every namespace (ClusterRole).
    #[default]
    Cluster,
    /// One namespace (Role).
    Namespace(String),
}

fn api<K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>>(
    client: &kube::Client,
    scope: &Scope,
) -> Api<K> {
    match scope {
        Scope::Cluster => Api::all(client.clone()),
        Scope::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
    }
}

/// Why the controllers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A CRD is not installed (or not served yet).
    #[error(
        "the {kind} CRD is not served by the API server: install it with `kubectl apply --server-side -f crds/` (or the Helm chart)"
    )]
    CrdMissing {
        /// The kind.
        kind: &'static str,
        /// What the API server said.
        #[source]
        source: Box<kube::Error>,
    },
}

async fn check_served<K: Managed>(client: &kube::Client, scope: &Scope) -> Result<(), StartError> {
    api::<K>(client, scope)
        .list(&ListParams::default().limit(1))
        .await
        .map(|_| ())
        .map_err(|source| StartError::CrdMissing {
            kind: K::KIND,
            source: Box::new(source),
        })
}

/// Objects in the same Kubernetes namespace as `other` for which `refers` holds.
fn referring<K: Resource<DynamicType = ()> + Clone>(
    store: &Store<K>,
    namespace: Option<String>,
    refers: impl Fn(&K) -> bool,
) -> Vec<ObjectRef<K>> {
    store
        .state()
        .iter()
        .filter(|object| object.namespace() == namespace && refers(object))
        .map(|object| ObjectRef::from_obj(object.as_ref()))
        .collect()
}

/// Mapper for a watch on `P`: the objects of `store` in the watched object's Kubernetes
/// namespace that `refers` to it by name.
fn referrers<K, P>(
    store: Store<K>,
    refers: impl Fn(&K, &str) -> bool + Send + Sync + 'static,
) -> impl Fn(P) -> Vec<ObjectRef<K>> + Send + Sync + 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    P: Resource,
{
    move |watched: P| {
        let name = watched.name_any();
        referring(&store, watched.namespace(), |object| refers(object, &name))
    }
}

/// Mapper for a (metadata) watch on a child kind: the parents in the child's Kubernetes
/// namespace that are being deleted. A parent's deletion waits for its children, so their
/// changes and their going must wake it. Which parent a child names is in its spec, which a
/// metadata watch does not carry; parents being deleted are few, and a spare wake of one
/// costs a reconcile that finds its children still there.
fn deleting_parents<K, C>(
    store: Store<K>,
) -> impl Fn(C) -> Vec<ObjectRef<K>> + Send + Sync + 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    C: Resource + 'static,
{
    move |child: C| {
        referring(&store, child.namespace(), |p| {
            p.meta().deletion_timestamp.is_some()
        })
    }
}

/// Changes of a kind `P` watched only to wake objects of another kind (children woken by
/// their parent, parents being deleted woken by their children): the mappers need only
/// names, so the objects are read as metadata (the server sends no spec or status), which
/// spares memory, bandwidth and parsing when thousands of containers are watched so.
fn metadata_changes<P>(
    client: &kube::Client,
    scope: &Scope,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<P>, watcher::Error>> + Send + 'static
where
    P: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(
        api::<PartialObjectMeta<P>>(client, scope),
        watcher::Config::default(),
    )
    .default_backoff()
    .touched_objects()
}

/// Whether an optional reference names `name`.
fn names(reference: Option<&crate::crd::LocalObjectReference>, name: &str) -> bool {
    reference.is_some_and(|r| r.name == name)
}

/// Whether a Secret named `name` is used by a secret env var list.
fn uses_secret(vars: &Option<Vec<crate::crd::SecretEnvVar>>, name: &str) -> bool {
    vars.iter().flatten().any(|v| v.secret_key_ref.name == name)
}

/// Drops from a watched object what no reconcile reads and a real API server adds to every
/// object: `managedFields` (one entry per field manager) and kubectl's client-side apply
/// record (a copy of the whole manifest). On a cluster these are often most of an object's
/// size, and the store keeps every object of the kind. Both are set to `None` rather than
/// emptied: an emptied `Vec` keeps its buffer, and an emptied `BTreeMap` its node.
fn slim<K: Resource>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// A main-watch stream: reflected into a store, and filtered so that only spec changes,
/// finalizer changes and deletions wake a reconcile (not our own status writes); see
/// [`main_watch`].
fn main_stream<K: Managed>(
    api: Api<K>,
) -> (
    Store<K>,
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(slim);
    let stream = main_watch::reflect_and_wake(events, reader.clone(), writer);
    (reader, stream)
}

fn log_result<T: std::fmt::Debug, E: std::fmt::Display>(
    kind: &'static str,
) -> impl Fn(Result<T, E>) -> std::future::Ready<()> {
    move |result| {
        if let Err(error) = result {
            tracing::debug!(kind, %error, "controller event");
        }
        std::future::ready(())
    }
}

/// Exports the count of objects of kind `K` by Ready condition, read from its controller's
/// store.
fn ready_gauge<K: Managed>(ctx: &Context, store: Store<K>) {
    ctx.metrics.watch_ready(
        K::KIND,
        Box::new(move || {
            let mut counts =
                std::collections::BTreeMap::from([("True", 0), ("False", 0), ("Unknown", 0)]);
            for object in store.state() {
                let ready = object
                    .status()
                    .and_then(|s| {
                        K::conditions(s)
                            .iter()
                            .find(|c| c.type_ == conditions::READY)
                    })
                    .map(|c| if c.status == "True" { "True" } else { "False" })
                    .unwrap_or("Unknown");
                *counts.entry(ready).or_default() += 1;
            }
            counts
        }),
    );
}

/// Runs one kind's controller, with the shared settings, until shutdown.
async fn drive<K, R, F>(controller: Controller<K>, ctx: &Arc<Context>, reconcile: R)
where
    K: Managed,
    R: FnMut(Arc<K>, Arc<Context>) -> F,
    F: std::future::Future<Output = Result<kube::runtime::controller::Action, Error>>
        + Send
        + 'static,
{
    controller
        // Objects wait for their next look there, not in the controller's scheduler.
        .reconcile_on(ctx.requeues.requests::<K>())
        .with_config(controller_config(ctx))
        .trigger_backoff(TriggerBackoff::default())
        .shutdown_on_signal()
        .run(reconcile, error_policy::<K>, ctx.clone())
        .for_each(log_result(K::KIND))
        .await;
}

/// The backoff kube-runtime applies to a controller's trigger stream, which merges all of
/// its watches: short and capped. The default (800 ms doubling to 30 s, reset only after
/// 120 s quiet) counts every watch's 410 as a step, so one history compaction stalled each
/// controller for 20-35 s. Each watch already backs off on its own (`default_backoff`).
#[derive(Debug, Default)]
struct TriggerBackoff {
    attempt: u32,
}

impl Iterator for TriggerBackoff {
    type Item = std::time::Duration;

    fn next(&mut self) -> Option<Self::Item> {
        let delay = std::time::Duration::from_millis(50 << self.attempt.min(5));
        self.attempt = self.attempt.saturating_add(1);
        Some(delay.min(std::time::Duration::from_secs(1)))
    }
}

impl kube::runtime::utils::Backoff for TriggerBackoff {
    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Bounded concurrency per controller: a burst of thousands of objects is worked through
/// by a fixed number of reconciles at a time, which caps memory and connections.
fn controller_config(ctx: &Context) -> kube::runtime::controller::Config {
    kube::runtime::controller::Config::default().concurrency(ctx.config.concurrency)
}

/// Runs the controllers until SIGTERM / Ctrl-C. Checks first that the CRDs are served.
pub async fn run(ctx: Arc<Context>, scope: Scope) -> Result<(), StartError> {
    let client = ctx.kube.clone();
    check_served::<ServerlessNamespace>(&client, &scope).await?;
    check_served::<ServerlessContainer>(&client, &scope).await?;
    check_served::<ServerlessTrigger>(&client, &scope).await?;
    check_served::<ServerlessDomain>(&client, &scope).await?;
    check_served::<ServerlessFunction>(&client, &scope).await?;
    check_served::<ServerlessFunctionToken>(&client, &scope).await?;
    check_served::<ServerlessFunctionCron>(&client, &scope).await?;
    check_served::<ServerlessFunctionTrigger>(&client, &scope).await?;
    let secrets: Api<Secret> = api(&client, &scope);
    let related = watcher::Config::default();

    let (namespace_store, namespace_stream) =
        main_stream(api::<ServerlessNamespace>(&client, &scope));
    let (container_store, container_stream) =
        main_stream(api::<ServerlessContainer>(&client, &scope));
    let (trigger_store, trigger_stream) = main_stream(api::<ServerlessTrigger>(&client, &scope));
    let (domain_store, domain_stream) = main_stream(api::<ServerlessDomain>(&client, &scope));
    let (function_store, function_stream) = main_stream(api::<ServerlessFunction>(&client, &scope));
    let (token_store, token_stream) = main_stream(api::<ServerlessFunctionToken>(&client, &scope));
    let (cron_store, cron_stream) = main_stream(api::<ServerlessFunctionCron>(&client, &scope));
    let (function_trigger_store, function_trigger_stream) =
        main_stream(api::<ServerlessFunctionTrigger>(&client, &scope));

    let _ = ctx.parents.namespaces.set(namespace_store.clone());
    let _ = ctx.parents.containers.set(container_store.clone());
    let _ = ctx.parents.functions.set(function_store.clone());

    let namespaces = drive(
        Controller::for_stream(namespace_stream, namespace_store.clone())
            .reconcile_on(ctx.wakes.namespaces.requests())
            // A namespace being deleted waits for its containers and functions: wake it
            // when they go.
            .watches_stream(
                metadata_changes::<ServerlessContainer>(&client, &scope),
                deleting_parents(namespace_store.clone()),
            )
            .watches_stream(
                metadata_changes::<ServerlessFunction>(&client, &scope),
                deleting_parents(namespace_store.clone()),
            )
            .watches(
                secrets.clone(),
                related.clone(),
                referrers(namespace_store.clone(), |n: &ServerlessNamespace, name| {
                    n.spec
                        .credentials_secret_ref
                        .as_ref()
                        .is_some_and(|r| r.name == name)
                        || uses_secret(&n.spec.secret_environment_variables, name)
                }),
            ),
        &ctx,
        namespace::reconcile,
    );

    // Export targets: only the labelled ConfigMaps and Secrets, reflected for the
    // reconciler's comparisons; a change to one (or its deletion) wakes its container.
    let labelled = watcher::Config::default().labels(&format!(
        "{}={}",
        exports::MANAGED_BY_LABEL,
        exports::MANAGED_BY
    ));
    let (config_map_store, config_map_writer) = reflector::store();
    let (export_secret_store, export_secret_writer) = reflector::store();
    let _ = ctx.exports.config_maps.set(config_map_store);
    let _ = ctx.exports.secrets.set(export_secret_store);
    let config_map_stream = watcher(api::<ConfigMap>(&client, &scope), labelled.clone())
        .default_backoff()
        .reflect(config_map_writer)
        .touched_objects();
    let export_secret_stream = watcher(api::<Secret>(&client, &scope), labelled)
        .default_backoff()
        .reflect(export_secret_writer)
        .touched_objects();

    let containers = {
        let for_secrets = container_store.clone();
        let namespaces_for_secrets = namespace_store.clone();
        drive(
            Controller::for_stream(container_stream, container_store.clone())
                .reconcile_on(ctx.wakes.containers.requests())
                .owns_stream(config_map_stream)
                .owns_stream(export_secret_stream)
                // A namespace that becomes Ready (or changes credentials) wakes its containers.
                .watches_stream(
                    metadata_changes::<ServerlessNamespace>(&client, &scope),
                    referrers(container_store.clone(), |c: &ServerlessContainer, name| {
                        names(c.spec.namespace_ref.as_ref(), name)
                    }),
                )
                // A container being deleted waits for its triggers and domains.
                .watches_stream(
                    metadata_changes::<ServerlessTrigger>(&client, &scope),
                    deleting_parents(container_store.clone()),
                )
                .watches_stream(
                    metadata_changes::<ServerlessDomain>(&client, &scope),
                    deleting_parents(container_store.clone()),
                )
                .watches(secrets.clone(), related.clone(), move |secret| {
                    let name = secret.name_any();
                    let credential_namespaces: Vec<String> = namespaces_for_secrets
                        .state()
                        .iter()
                        .filter(|n| {
                            n.namespace() == secret.namespace()
                                && n.spec
                                    .credentials_secret_ref
                                    .as_ref()
                                    .is_some_and(|r| r.name == name)
                        })
                        .map(|n| n.name_any())
                        .collect();
                    referring(&for_secrets, secret.namespace(), |c| {
                        uses_secret(&c.spec.secret_environment_variables, &name)
                            || c.spec
                                .namespace_ref
                                .as_ref()
                                .is_some_and(|r| credential_namespaces.iter().any(|n| r.name == *n))
                    })
                }),
            &ctx,
            container::reconcile,
        )
    };

    let triggers = drive(
        Controller::for_stream(trigger_stream, trigger_store.clone())
            // A container that becomes Ready wakes its triggers.
            .watches_stream(
                metadata_changes::<ServerlessContainer>(&client, &scope),
                referrers(trigger_store.clone(), |t: &ServerlessTrigger, name| {
                    names(t.spec.container_ref.as_ref(), name)
                }),
            )
            .watches(
                secrets.clone(),
                related.clone(),
                referrers(trigger_store.clone(), |t: &ServerlessTrigger, name| {
                    t.spec
                        .sqs
                        .as_ref()
                        .is_some_and(|s| s.secret_access_key_ref.name == name)
                        || t.spec
                            .nats
                            .as_ref()
                            .is_some_and(|n| n.credentials_ref.name == name)
                }),
            ),
        &ctx,
        trigger::reconcile,
    );

    let domains = drive(
        Controller::for_stream(domain_stream, domain_store.clone())
            // A container or function that becomes Ready (or gets its endpoint) wakes its
            // domains.
            .watches_stream(
                metadata_changes::<ServerlessContainer>(&client, &scope),
                referrers(domain_store.clone(), |d: &ServerlessDomain, name| {
                    names(d.spec.container_ref.as_ref(), name)
                }),
            )
            .watches_stream(
                metadata_changes::<ServerlessFunction>(&client, &scope),
                referrers(domain_store.clone(), |d: &ServerlessDomain, name| {
                    names(d.spec.function_ref.as_ref(), name)
                }),
            ),
        &ctx,
        domain::reconcile,
    );

    // Code ConfigMaps: metadata only (a change of resourceVersion is what matters), so that
    // watching every ConfigMap costs little.
    let code_config_maps = watcher(
        api::<PartialObjectMeta<ConfigMap>>(&client, &scope),
        related.clone(),
    )
    .default_backoff()
    .touched_objects();
    let functions = drive(
        Controller::for_stream(function_stream, function_store.clone())
            // A namespace that becomes Ready (or changes credentials) wakes its functions.
            .watches_stream(
                metadata_changes::<ServerlessNamespace>(&client, &scope),
                referrers(function_store.clone(), |f: &ServerlessFunction, name| {
                    names(f.spec.namespace_ref.as_ref(), name)
                }),
            )
            // A function being deleted waits for its crons, triggers, tokens and domains.
            .watches_stream(
                metadata_changes::<ServerlessFunctionCron>(&client, &scope),
                deleting_parents(function_store.clone()),
            )
            .watches_stream(
                metadata_changes::<ServerlessFunctionTrigger>(&client, &scope),
                deleting_parents(function_store.clone()),
            )
            .watches_stream(
                metadata_changes::<ServerlessFunctionToken>(&client, &scope),
                deleting_parents(function_store.clone()),
            )
            .watches_stream(
                metadata_changes::<ServerlessDomain>(&client, &scope),
                deleting_parents(function_store.clone()),
            )
            .watches_stream(
                code_config_maps,
                referrers(function_store.clone(), |f: &ServerlessFunction, name| {
                    f.spec
                        .code
                        .config_map_key_ref
                        .as_ref()
                        .is_some_and(|r| r.name == name)
                }),
            )
            .watches(
                secrets.clone(),
                related.clone(),
                referrers(function_store.clone(), |f: &ServerlessFunction, name| {
                    uses_secret(&f.spec.secret_environment_variables, name)
                        || f.spec
                            .code
                            .secret_key_ref
                            .as_ref()
                            .is_some_and(|r| r.name == name)
                }),
            ),
        &ctx,
        function::reconcile,
    );

    let tokens = drive(
        Controller::for_stream(token_stream, token_store.clone())
            // A function or namespace that becomes Ready wakes its tokens.
            .watches_stream(
                metadata_changes::<ServerlessFunction>(&client, &scope),
                referrers(token_store.clone(), |t: &ServerlessFunctionToken, name| {
                    names(t.spec.function_ref.as_ref(), name)
                }),
            )
            .watches_stream(
                metadata_changes::<ServerlessNamespace>(&client, &scope),
                referrers(token_store.clone(), |t: &ServerlessFunctionToken, name| {
                    names(t.spec.namespace_ref.as_ref(), name)
                }),
            )
            // The Secret holding the value was changed or deleted: write it again.
            .watches(
                secrets.clone(),
                related.clone(),
                referrers(token_store.clone(), |t: &ServerlessFunctionToken, name| {
                    t.spec.secret.name == name
                }),
            ),
        &ctx,
        token::reconcile,
    );

    let crons = drive(
        Controller::for_stream(cron_stream, cron_store.clone())
            // A function that becomes Ready wakes its crons.
            .watches_stream(
                metadata_changes::<ServerlessFunction>(&client, &scope),
                referrers(cron_store.clone(), |c: &ServerlessFunctionCron, name| {
                    names(c.spec.function_ref.as_ref(), name)
                }),
            ),
        &ctx,
        function_cron::reconcile,
    );

    let function_triggers = drive(
        Controller::for_stream(function_trigger_stream, function_trigger_store.clone())
            // A function that becomes Ready wakes its triggers.
            .watches_stream(
                metadata_changes::<ServerlessFunction>(&client, &scope),
                referrers(
                    function_trigger_store.clone(),
                    |t: &ServerlessFunctionTrigger, name| names(t.spec.function_ref.as_ref(), name),
                ),
            ),
        &ctx,
        function_trigger::reconcile,
    );

    ready_gauge(&ctx, namespace_store);
    ready_gauge(&ctx, container_store);
    ready_gauge(&ctx, trigger_store);
    ready_gauge(&ctx, domain_store);
    ready_gauge(&ctx, function_store);
    ready_gauge(&ctx, token_store);
    ready_gauge(&ctx, cron_store);
    ready_gauge(&ctx, function_trigger_store);
    tracing::info!("controllers started");
    futures::join!(
        namespaces,
        containers,
        triggers,
        domains,
        functions,
        tokens,
        crons,
        function_triggers
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ServerlessContainer as a watch would deliver it after a kubectl apply, with these
    /// annotations, slimmed.
    fn slimmed_with_annotations(annotations: serde_json::Value) -> ServerlessContainer {
        let mut object: ServerlessContainer = serde_json::from_value(serde_json::json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainer",
            "metadata": {
                "name": "web", "namespace": "default",
                "annotations": annotations,
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]
            },
            "spec": {"namespaceRef": {"name": "demo"}, "image": "nginx:1"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        slim(&mut object);
        object
    }

    #[test]
    fn slim_drops_managed_fields_and_the_apply_record_only() {
        let object = slimmed_with_annotations(serde_json::json!({
            "kubectl.kubernetes.io/last-applied-configuration": "{\"big\":true}",
            "serverless.scaleway.com/resync-period": "2m"
        }));
        assert_eq!(object.meta().managed_fields, None);
        assert_eq!(
            object.annotations().keys().collect::<Vec<_>>(),
            ["serverless.scaleway.com/resync-period"]
        );
        assert_eq!(object.spec.image, "nginx:1");
    }

    #[test]
    fn slim_frees_what_it_empties() {
        let object = slimmed_with_annotations(serde_json::json!({
            "kubectl.kubernetes.io/last-applied-configuration": "{}"
        }));
        // `None`, not an empty collection that still holds its allocation.
        assert_eq!(object.meta().managed_fields, None);
        assert_eq!(object.meta().annotations, None);
    }
}
