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
pub mod function_plan;
mod namespace;
mod namespace_api;
mod namespace_target;
pub mod observe;
mod parents;
pub mod policy;
pub mod rbac;
pub mod reconciler;
mod remote_status;
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
    ServerlessContainer, ServerlessDomain, ServerlessFunction, ServerlessFunctionToken,
    ServerlessNamespace, ServerlessTrigger,
};
use reconciler::{Managed, error_policy, spec_or_lifecycle};

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

/// Whether a Secret named `name` is used by a secret env var list.
fn uses_secret(vars: &Option<Vec<crate::crd::SecretEnvVar>>, name: &str) -> bool {
    vars.iter().flatten().any(|v| v.secret_key_ref.name == name)
}

/// A main-watch stream: reflected into a store, and filtered so that only spec changes,
/// finalizer changes and deletions wake a reconcile (not our own status writes).
fn main_stream<K: Managed>(
    api: Api<K>,
) -> (
    Store<K>,
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            spec_or_lifecycle::<K>,
            kube::runtime::PredicateConfig::default(),
        );
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

/// Exports the count of objects of `kind` by Ready condition, read from the controller's store.
fn ready_gauge<K, F>(ctx: &Context, kind: &'static str, store: Store<K>, conditions: F)
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    F: Fn(&K) -> Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>
        + Send
        + Sync
        + 'static,
{
    ctx.metrics.watch_ready(
        kind,
        Box::new(move || {
            let mut counts =
                std::collections::BTreeMap::from([("True", 0), ("False", 0), ("Unknown", 0)]);
            for object in store.state() {
                let ready = conditions(&object)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| c.type_ == conditions::READY)
                    .map(|c| if c.status == "True" { "True" } else { "False" })
                    .unwrap_or("Unknown");
                *counts.entry(ready).or_default() += 1;
            }
            counts
        }),
    );
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

    let _ = ctx.parents.namespaces.set(namespace_store.clone());
    let _ = ctx.parents.containers.set(container_store.clone());
    let _ = ctx.parents.functions.set(function_store.clone());

    let namespaces = {
        let for_containers = namespace_store.clone();
        let for_functions = namespace_store.clone();
        let for_secrets = namespace_store.clone();
        Controller::for_stream(namespace_stream, namespace_store.clone())
            // A namespace being deleted waits for its containers: wake it when they go.
            .watches(
                api::<ServerlessContainer>(&client, &scope),
                related.clone(),
                move |container| {
                    let name = container
                        .spec
                        .namespace_ref
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default();
                    referring(&for_containers, container.namespace(), |n| {
                        n.name_any() == name && n.meta().deletion_timestamp.is_some()
                    })
                },
            )
            // ... and for its functions.
            .watches(
                api::<ServerlessFunction>(&client, &scope),
                related.clone(),
                move |function| {
                    let name = function
                        .spec
                        .namespace_ref
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default();
                    referring(&for_functions, function.namespace(), |n| {
                        n.name_any() == name && n.meta().deletion_timestamp.is_some()
                    })
                },
            )
            .watches(secrets.clone(), related.clone(), move |secret| {
                let name = secret.name_any();
                referring(&for_secrets, secret.namespace(), |n| {
                    n.spec
                        .credentials_secret_ref
                        .as_ref()
                        .is_some_and(|r| r.name == name)
                        || uses_secret(&n.spec.secret_environment_variables, &name)
                })
            })
            .with_config(controller_config(&ctx))
            .trigger_backoff(TriggerBackoff::default())
            .shutdown_on_signal()
            .run(
                namespace::reconcile,
                error_policy::<ServerlessNamespace>,
                ctx.clone(),
            )
            .for_each(log_result("ServerlessNamespace"))
    };

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
        let for_namespaces = container_store.clone();
        let for_triggers = container_store.clone();
        let for_domains = container_store.clone();
        let for_secrets = container_store.clone();
        let namespaces_for_secrets = namespace_store.clone();
        Controller::for_stream(container_stream, container_store.clone())
            .owns_stream(config_map_stream)
            .owns_stream(export_secret_stream)
            // A namespace that becomes Ready (or changes credentials) wakes its containers.
            .watches(
                api::<ServerlessNamespace>(&client, &scope),
                related.clone(),
                move |namespace| {
                    let name = namespace.name_any();
                    referring(&for_namespaces, namespace.namespace(), |c| {
                        c.spec
                            .namespace_ref
                            .as_ref()
                            .is_some_and(|r| r.name == name)
                    })
                },
            )
            // A container being deleted waits for its triggers: wake it when they go.
            .watches(
                api::<ServerlessTrigger>(&client, &scope),
                related.clone(),
                move |trigger| {
                    let name = trigger
                        .spec
                        .container_ref
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default();
                    referring(&for_triggers, trigger.namespace(), |c| {
                        c.name_any() == name && c.meta().deletion_timestamp.is_some()
                    })
                },
            )
            // ... and for its domains.
            .watches(
                api::<ServerlessDomain>(&client, &scope),
                related.clone(),
                move |domain| {
                    let name = domain
                        .spec
                        .container_ref
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default();
                    referring(&for_domains, domain.namespace(), |c| {
                        c.name_any() == name && c.meta().deletion_timestamp.is_some()
                    })
                },
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
                            .is_some_and(|r| credential_namespaces.contains(&r.name))
                })
            })
            .with_config(controller_config(&ctx))
            .trigger_backoff(TriggerBackoff::default())
            .shutdown_on_signal()
            .run(
                container::reconcile,
                error_policy::<ServerlessContainer>,
                ctx.clone(),
            )
            .for_each(log_result("ServerlessContainer"))
    };

    let triggers = {
        let for_containers = trigger_store.clone();
        let for_secrets = trigger_store.clone();
        Controller::for_stream(trigger_stream, trigger_store.clone())
            // A container that becomes Ready wakes its triggers.
            .watches(
                api::<ServerlessContainer>(&client, &scope),
                related.clone(),
                move |container| {
                    let name = container.name_any();
                    referring(&for_containers, container.namespace(), |t| {
                        t.spec
                            .container_ref
                            .as_ref()
                            .is_some_and(|r| r.name == name)
                    })
                },
            )
            .watches(secrets.clone(), related.clone(), move |secret| {
                let name = secret.name_any();
                referring(&for_secrets, secret.namespace(), |t| {
                    t.spec
                        .sqs
                        .as_ref()
                        .is_some_and(|s| s.secret_access_key_ref.name == name)
                        || t.spec
                            .nats
                            .as_ref()
                            .is_some_and(|n| n.credentials_ref.name == name)
                })
            })
            .with_config(controller_config(&ctx))
            .trigger_backoff(TriggerBackoff::default())
            .shutdown_on_signal()
            .run(
                trigger::reconcile,
                error_policy::<ServerlessTrigger>,
                ctx.clone(),
            )
            .for_each(log_result("ServerlessTrigger"))
    };

    let domains = {
        let for_containers = domain_store.clone();
        Controller::for_stream(domain_stream, domain_store.clone())
            // A container that becomes Ready (or gets its endpoint) wakes its domains.
            .watches(
                api::<ServerlessContainer>(&client, &scope),
                related.clone(),
                move |container| {
                    let name = container.name_any();
                    referring(&for_containers, container.namespace(), |d| {
                        d.spec
                            .container_ref
                            .as_ref()
                            .is_some_and(|r| r.name == name)
                    })
                },
            )
            .with_config(controller_config(&ctx))
            .trigger_backoff(TriggerBackoff::default())
            .shutdown_on_signal()
            .run(
                domain::reconcile,
                error_policy::<ServerlessDomain>,
                ctx.clone(),
            )
            .for_each(log_result("ServerlessDomain"))
    };

    let functions = {
        let for_namespaces = function_store.clone();
        let for_secrets = function_store.clone();
        let for_config_maps = function_store.clone();
        // Code ConfigMaps: metadata only (a change of resourceVersion is what matters), so
        // that watching every ConfigMap costs little.
        let config_maps = watcher(
            api::<PartialObjectMeta<ConfigMap>>(&client, &scope),
            related.clone(),
        )
        .default_backoff()
        .touched_objects();
        Controller::for_stream(function_stream, function_store.clone())
            // A namespace that becomes Ready (or changes credentials) wakes its functions.
            .watches(
                api::<ServerlessNamespace>(&client, &scope),
                related.clone(),
                move |namespace| {
                    let name = namespace.name_any();
                    referring(&for_namespaces, namespace.namespace(), |f| {
                        f.spec
                            .namespace_ref
                            .as_ref()
                            .is_some_and(|r| r.name == name)
                    })
                },
            )
            .watches_stream(config_maps, move |config_map| {
                let name = config_map.name_any();
                referring(&for_config_maps, config_map.namespace(), |f| {
                    f.spec
                        .code
                        .config_map_key_ref
                        .as_ref()
                        .is_some_and(|r| r.name == name)
                })
            })
            .watches(secrets.clone(), related.clone(), move |secret| {
                let name = secret.name_any();
                referring(&for_secrets, secret.namespace(), |f| {
                    uses_secret(&f.spec.secret_environment_variables, &name)
                        || f.spec
                            .code
                            .secret_key_ref
                            .as_ref()
                            .is_some_and(|r| r.name == name)
                })
            })
            .with_config(controller_config(&ctx))
            .trigger_backoff(TriggerBackoff::default())
            .shutdown_on_signal()
            .run(
                function::reconcile,
                error_policy::<ServerlessFunction>,
                ctx.clone(),
            )
            .for_each(log_result("ServerlessFunction"))
    };

    let tokens = {
        let for_functions = token_store.clone();
        let for_namespaces = token_store.clone();
        let for_secrets = token_store.clone();
        Controller::for_stream(token_stream, token_store.clone())
            // A function or namespace that becomes Ready wakes its tokens.
            .watches(
                api::<ServerlessFunction>(&client, &scope),
                related.clone(),
                move |function| {
                    let name = function.name_any();
                    referring(&for_functions, function.namespace(), |t| {
                        t.spec.function_ref.as_ref().is_some_and(|r| r.name == name)
                    })
                },
            )
            .watches(
                api::<ServerlessNamespace>(&client, &scope),
                related.clone(),
                move |namespace| {
                    let name = namespace.name_any();
                    referring(&for_namespaces, namespace.namespace(), |t| {
                        t.spec
                            .namespace_ref
                            .as_ref()
                            .is_some_and(|r| r.name == name)
                    })
                },
            )
            // The Secret holding the value was changed or deleted: write it again.
            .watches(secrets.clone(), related.clone(), move |secret| {
                let name = secret.name_any();
                referring(&for_secrets, secret.namespace(), |t| {
                    t.spec.secret.name == name
                })
            })
            .with_config(controller_config(&ctx))
            .trigger_backoff(TriggerBackoff::default())
            .shutdown_on_signal()
            .run(
                token::reconcile,
                error_policy::<ServerlessFunctionToken>,
                ctx.clone(),
            )
            .for_each(log_result("ServerlessFunctionToken"))
    };

    ready_gauge(&ctx, "ServerlessNamespace", namespace_store.clone(), |n| {
        n.status.as_ref().map(|s| s.conditions.clone())
    });
    ready_gauge(&ctx, "ServerlessContainer", container_store.clone(), |c| {
        c.status.as_ref().map(|s| s.conditions.clone())
    });
    ready_gauge(&ctx, "ServerlessTrigger", trigger_store.clone(), |t| {
        t.status.as_ref().map(|s| s.conditions.clone())
    });
    ready_gauge(&ctx, "ServerlessDomain", domain_store.clone(), |d| {
        d.status.as_ref().map(|s| s.conditions.clone())
    });
    ready_gauge(&ctx, "ServerlessFunction", function_store.clone(), |f| {
        f.status.as_ref().map(|s| s.conditions.clone())
    });
    ready_gauge(&ctx, "ServerlessFunctionToken", token_store.clone(), |t| {
        t.status.as_ref().map(|s| s.conditions.clone())
    });
    tracing::info!("controllers started");
    futures::join!(namespaces, containers, triggers, domains, functions, tokens);
    Ok(())
}
