//! The ServerlessNamespace reconciler.

use std::sync::Arc;

use super::requeue::Action;
use kube::{Api, ResourceExt};

use super::context::Context;
use super::error::Error;
use super::namespace_api::NamespaceApi;
use super::observe::{Lookup, RemoteObject, find_fresh, wake_when_settled};
use super::policy::{self, Credentials};
use super::reconciler::{self, Report, StatusWrite, changed_fields, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::{SecretReader, digest};
use crate::crd::{
    ManagementPolicy, NamespaceType, PolicySource, ServerlessContainer, ServerlessFunction,
    ServerlessNamespace, ServerlessNamespaceSpec, ServerlessNamespaceStatus,
};
use crate::scaleway::types::{
    CreateNamespaceRequest, Namespace, NamespaceFilter, UpdateNamespaceRequest,
};
use crate::scaleway::{SecretString, check_region};

reconciler::managed!(
    ServerlessNamespace,
    ServerlessNamespaceStatus,
    "ServerlessNamespace"
);

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessNamespace>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

/// Credentials, region, project and type of a namespace.
struct Placement {
    credentials: Credentials,
    region: String,
    project_id: String,
    type_: NamespaceType,
}

impl Placement {
    fn cache_scope(&self) -> String {
        format!(
            "{}|{:?}|{}|{}",
            self.credentials.scope.identity, self.type_, self.region, self.project_id
        )
    }

    fn api(&self) -> NamespaceApi<'_> {
        NamespaceApi::new(&self.credentials.scope.client, &self.region, self.type_)
    }
}

async fn placement(
    object: &ServerlessNamespace,
    ctx: &Context,
    secrets: &mut SecretReader,
) -> Result<Placement, Error> {
    let explicit = object
        .spec
        .credentials_secret_ref
        .as_ref()
        .map(|secret| (secret.name.as_str(), PolicySource::Object));
    let k8s_namespace = object.namespace().unwrap_or_default();
    let credentials = policy::credentials(ctx, secrets, &k8s_namespace, explicit).await?;
    let region = object
        .spec
        .region
        .clone()
        .or_else(|| object.status.as_ref().and_then(|s| s.region.clone()))
        .unwrap_or_else(|| ctx.config.default_region.clone());
    check_region(&region).map_err(|e| Error::InvalidSpec(e.to_string()))?;
    let project_id = object
        .spec
        .project_id
        .clone()
        .or_else(|| object.status.as_ref().and_then(|s| s.project_id.clone()))
        .or_else(|| credentials.scope.default_project_id.clone())
        .ok_or_else(|| Error::InvalidSpec("no Scaleway project: set spec.projectId, SCW_DEFAULT_PROJECT_ID in the credentials Secret, or the operator's --default-project-id".into()))?;
    Ok(Placement {
        credentials,
        region,
        project_id,
        type_: object.spec.type_,
    })
}

/// The smallest UpdateNamespace that makes `remote` match the spec (and `tags`, the tags
/// to keep, when given).
pub fn update_for(
    spec: &ServerlessNamespaceSpec,
    remote: &Namespace,
    secrets: Option<std::collections::BTreeMap<String, SecretString>>,
    tags: Option<Vec<String>>,
) -> UpdateNamespaceRequest {
    UpdateNamespaceRequest {
        description: spec
            .description
            .clone()
            .filter(|d| d != &remote.description),
        environment_variables: spec
            .environment_variables
            .clone()
            .filter(|e| e != &remote.environment_variables),
        secret_environment_variables: secrets,
        tags: tags.filter(|t| t != &remote.tags),
    }
}

/// Finds the remote namespace in its project's snapshot (GET only while transient).
async fn observe(
    object: &ServerlessNamespace,
    ctx: &Context,
    placement: &Placement,
    name: &str,
) -> Result<Option<Namespace>, Error> {
    let api = placement.api();
    let filter = NamespaceFilter {
        project_id: Some(placement.project_id.clone()),
        ..Default::default()
    };
    let id = object.status.as_ref().and_then(|s| s.id.as_deref());
    let max_age = policy::effective_resync(ctx, object);
    let scope = placement.cache_scope();
    let found = find_fresh(
        &ctx.namespaces,
        &scope,
        Lookup { id, name, max_age },
        || api.list_all(&filter),
        |id| {
            let api = api.clone();
            async move { api.get(&id).await }
        },
    )
    .await
    .map_err(Error::scaleway("observe namespace"))?;
    wake_when_settled(&ctx.namespaces, &scope, found.as_ref(), || {
        ctx.wakes.namespaces.waker(object)
    })
    .await;
    Ok(found)
}

async fn apply(object: Arc<ServerlessNamespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = apply_steps(&object, &ctx).await;
    reconciler::finish(object.as_ref(), &ctx, outcome).await
}

async fn apply_steps(
    object: &ServerlessNamespace,
    ctx: &Context,
) -> Result<Report<ServerlessNamespaceStatus>, Error> {
    let mut secrets = SecretReader::new(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let placement = placement(object, ctx, &mut secrets).await?;
    let name = object
        .spec
        .name
        .clone()
        .unwrap_or_else(|| object.name_any());
    let observing = object.spec.management_policy == ManagementPolicy::Observe;
    let uid = object.uid().unwrap_or_default();
    // Observe-only never writes, so it needs no secret values.
    let secret_values = match &object.spec.secret_environment_variables {
        Some(vars) if !observing => Some(secrets.env(vars).await?),
        _ => None,
    };
    let secrets_digest = secret_values
        .as_ref()
        .and_then(|v| digest(&ctx.config.digest_key, v));
    let previous = object.status.clone().unwrap_or_default();
    let remote = observe(object, ctx, &placement, &name).await?;
    let secrets_to_send = secret_values.clone().filter(|values| {
        let keys_differ = remote
            .as_ref()
            .is_some_and(|r| !r.secret_environment_variables.keys().eq(values.keys()));
        previous.secrets_digest != secrets_digest || keys_differ
    });

    let api = placement.api();
    let cache_scope = placement.cache_scope();
    let mut events = Vec::new();
    let mut status = ServerlessNamespaceStatus {
        region: Some(placement.region.clone()),
        project_id: Some(placement.project_id.clone()),
        effective: Some(policy::effective(ctx, object, &placement.credentials).await),
        ..previous.clone()
    };
    events.extend(policy::check_claim(object, remote.as_ref())?);
    let resync = policy::effective_resync(ctx, object);
    if observing {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway namespace named {name} in project {}",
                placement.project_id
            ))
        })?;
        let update = update_for(&object.spec, &remote, None, object.spec.tags.clone());
        let drift = changed_fields(&update);
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&drift));
    }
    let tags = policy::owned_tags(
        object.spec.tags.as_deref(),
        remote.as_ref().map(|r| r.tags.as_slice()),
        &uid,
    );
    let mut pending = Vec::new();
    let remote = match remote {
        None => {
            let spec = &object.spec;
            let request = CreateNamespaceRequest {
                project_id: placement.project_id.clone(),
                name: name.clone(),
                description: spec.description.clone(),
                environment_variables: spec.environment_variables.clone(),
                secret_environment_variables: secret_values.filter(|m| !m.is_empty()),
                tags: Some(tags),
            };
            let created = match api.create(&request).await {
                Ok(created) => created,
                Err(error) => {
                    ctx.namespaces.invalidate(&cache_scope).await;
                    return Err(Error::scaleway("create namespace")(error));
                }
            };
            ctx.namespaces.put(&cache_scope, &created).await;
            events.push((
                "Created",
                format!(
                    "created Scaleway namespace {} ({})",
                    created.name, created.id
                ),
            ));
            status.secrets_digest = secrets_digest;
            created
        }
        // Scaleway is busy with it: a change the spec asks for waits until it settles (or,
        // locked, cannot be made).
        Some(remote) if remote.is_busy() => {
            pending = changed_fields(&update_for(
                &object.spec,
                &remote,
                secrets_to_send,
                Some(tags),
            ));
            remote
        }
        Some(remote) => {
            let update = update_for(&object.spec, &remote, secrets_to_send, Some(tags));
            if update.is_empty() {
                remote
            } else {
                let sent_secrets = update.secret_environment_variables.is_some();
                let updated = match api.update(&remote.id, &update).await {
                    Ok(updated) => updated,
                    Err(error) => {
                        ctx.namespaces
                            .after_failed_write(&cache_scope, &error)
                            .await;
                        return Err(Error::scaleway("update namespace")(error));
                    }
                };
                ctx.namespaces.put(&cache_scope, &updated).await;
                events.push((
                    "Updated",
                    format!("updated Scaleway namespace {}", updated.id),
                ));
                if sent_secrets {
                    status.secrets_digest = secrets_digest;
                }
                updated
            }
        }
    };
    Ok(
        report(object, ctx, status, &remote, events, resync).waiting_on_remote(
            "namespace",
            remote.status.as_str(),
            &pending,
            false,
        ),
    )
}

/// The report for a remote namespace as it now stands.
fn report(
    object: &ServerlessNamespace,
    ctx: &Context,
    mut status: ServerlessNamespaceStatus,
    remote: &Namespace,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessNamespaceStatus> {
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.to_string());
    status.error_message = remote.error_message.clone().filter(|m| !m.is_empty());
    let assessment = assess("namespace", &remote.status, status.error_message.as_deref());
    let action = requeue_for(&remote.status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

/// Deletion: waits until no ServerlessContainer references this namespace (so that their
/// own deletion policies apply and their finalizers can still reach Scaleway), honours the
/// policy, then deletes the remote namespace and waits until it is gone.
async fn cleanup(object: Arc<ServerlessNamespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let object = object.as_ref();
    let k8s_namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let refers = |r: Option<&crate::crd::LocalObjectReference>| r.is_some_and(|r| r.name == name);
    let (dependents, kind) = match object.spec.type_ {
        NamespaceType::Containers => {
            let api: Api<ServerlessContainer> = Api::namespaced(ctx.kube.clone(), &k8s_namespace);
            let items = api
                .list(&Default::default())
                .await
                .map_err(Error::kube("list ServerlessContainers"))?
                .items;
            let count = items
                .iter()
                .filter(|c| refers(c.spec.namespace_ref.as_ref()))
                .count();
            (count, "ServerlessContainer")
        }
        NamespaceType::Functions => {
            let api: Api<ServerlessFunction> = Api::namespaced(ctx.kube.clone(), &k8s_namespace);
            let items = api
                .list(&Default::default())
                .await
                .map_err(Error::kube("list ServerlessFunctions"))?
                .items;
            let count = items
                .iter()
                .filter(|f| refers(f.spec.namespace_ref.as_ref()))
                .count();
            (count, "ServerlessFunction")
        }
    };
    reconciler::wait_for_dependents(object, &ctx, dependents, kind).await?;
    if let Some(done) = reconciler::keep_remote(object, &ctx).await {
        return done;
    }
    let previous = object.status.clone().unwrap_or_default();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let placement = match placement(object, &ctx, &mut secrets).await {
        Ok(placement) => placement,
        // Credentials or project unknown: it cannot have been created by us.
        Err(_) if previous.id.is_none() => return Ok(Action::await_change()),
        Err(error) => return Err(error),
    };
    let name = object
        .spec
        .name
        .clone()
        .unwrap_or_else(|| object.name_any());
    let api = placement.api();
    let uid = object.uid().unwrap_or_default();
    let remote = match &previous.id {
        Some(id) => match api.get(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get namespace")(error)),
        },
        None => {
            let filter = NamespaceFilter {
                project_id: Some(placement.project_id.clone()),
                name: Some(name.clone()),
                ..Default::default()
            };
            let found = api
                .list_all(&filter)
                .await
                .map_err(Error::scaleway("list namespaces"))?;
            // Only ours: a same-named namespace of someone else is never deleted.
            found
                .into_iter()
                .find(|n| n.name == name && policy::may_delete_found(&n.tags, &uid))
        }
    };
    let remote_id = remote.as_ref().map(|r| r.id.as_str());
    let stale = [previous.id.as_deref(), remote_id];
    ctx.namespaces
        .forget(&placement.cache_scope(), &stale)
        .await;
    let deleting = ServerlessNamespaceStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    let delete = |id: String| async move { api.delete(&id).await };
    reconciler::delete_remote(object, &ctx, "namespace", remote, delete, deleting).await
}
