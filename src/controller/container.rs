//! The ServerlessContainer reconciler: dereference → validate → observe → plan → execute →
//! status. Pure parts are in `container_plan`.

use std::sync::Arc;

use super::requeue::Action;
use kube::ResourceExt;

use super::conditions::Assessment;
use super::container_plan::{Desired, Plan, plan, update_for};
use super::context::Context;
use super::error::Error;
use super::exports;
use super::namespace_target::{self, NamespaceChoice, Parent};
use super::observe::{Lookup, find_fresh, wake_when_settled};
use super::policy;
use super::reconciler::{self, Report, StatusWrite, changed_fields, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::{SecretReader, digest};
use crate::crd::{
    BoxedString, ManagementPolicy, NamespaceType, ServerlessContainer, ServerlessContainerStatus,
    ServerlessDomain, ServerlessTrigger,
};
use crate::scaleway::types::{Container, ContainerFilter};

reconciler::managed!(
    ServerlessContainer,
    ServerlessContainerStatus,
    "ServerlessContainer"
);

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessContainer>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

/// Resolves the namespace the container belongs to (of type Containers).
async fn parent(
    object: &ServerlessContainer,
    ctx: &Context,
    secrets: &mut SecretReader,
) -> Result<Parent, Error> {
    let spec = &object.spec;
    let choice = NamespaceChoice {
        reference: spec.namespace_ref.as_ref(),
        id: spec.namespace_id.as_deref(),
        region: spec.region.as_deref(),
        type_: NamespaceType::Containers,
        kind: "ServerlessContainer",
    };
    namespace_target::resolve(
        ctx,
        secrets,
        &object.namespace().unwrap_or_default(),
        choice,
    )
    .await
}

/// Finds the remote container in its namespace's snapshot (GET only while transient).
async fn observe(
    object: &ServerlessContainer,
    ctx: &Context,
    parent: &Parent,
    name: &str,
) -> Result<Option<Container>, Error> {
    let api = parent.credentials.scope.client.region(&parent.region);
    let filter = ContainerFilter {
        namespace_id: Some(parent.namespace_id.clone()),
        ..Default::default()
    };
    let id = object.status.as_ref().and_then(|s| s.id.as_deref());
    let max_age = policy::effective_resync(ctx, object);
    let scope = parent.cache_scope();
    let lookup = Lookup { id, name, max_age };
    let list = || api.list_all_containers(&filter);
    let found = if ctx.deferred_records.pending(&object_key(object)) {
        // The look that records a create: the snapshot holds what the create returned.
        ctx.containers.find(&scope, lookup, list).await
    } else {
        find_fresh(&ctx.containers, &scope, lookup, list, |id| {
            let api = api.clone();
            async move { api.get_container(&id).await }
        })
        .await
    }
    .map_err(Error::scaleway("observe container"))?;
    wake_when_settled(&ctx.containers, &scope, found.as_ref(), || {
        ctx.wakes.containers.waker(object)
    })
    .await;
    Ok(found)
}

async fn apply(object: Arc<ServerlessContainer>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = match apply_steps(&object, &ctx).await {
        Ok(report) => Ok(export(&object, &ctx, report).await),
        Err(error) => Err(error),
    };
    reconciler::finish(object.as_ref(), &ctx, outcome).await
}

/// Writes the outputs to the spec's export targets. A failure keeps the rest of the report
/// (the remote facts are true) but is shown in the conditions and retried.
async fn export(
    object: &ServerlessContainer,
    ctx: &Context,
    mut report: Report<ServerlessContainerStatus>,
) -> Report<ServerlessContainerStatus> {
    let Some(exports) = object.spec.exports.as_deref().filter(|e| !e.is_empty()) else {
        return report;
    };
    let outputs = exports::container_outputs(&report.status);
    match exports::write(&ctx.kube, &ctx.exports, object, exports, &outputs).await {
        Ok(events) => report.events.extend(events),
        Err(error) => {
            report.assessment = Assessment::failed(error.reason(), error.to_string(), false);
            report.action = reconciler::requeue_after_error(&error, object, ctx);
        }
    }
    report
}

async fn apply_steps(
    object: &ServerlessContainer,
    ctx: &Context,
) -> Result<Report<ServerlessContainerStatus>, Error> {
    let mut secrets = SecretReader::new(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let parent = parent(object, ctx, &mut secrets).await?;
    let mut desired = Desired::from_spec(&object.name_any(), &object.spec)?;
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
    let remote = observe(object, ctx, &parent, &desired.name).await?;

    // Secret values cannot be read back: send them when their digest changed, or when the
    // remote key set differs from ours (someone changed them out of band).
    let secrets_to_send = secret_values.clone().filter(|values| {
        let keys_differ = remote
            .as_ref()
            .is_some_and(|r| !r.secret_environment_variables.keys().eq(values.keys()));
        previous.secrets_digest.as_deref() != secrets_digest.as_deref() || keys_differ
    });
    let redeploy_requested = object.spec.redeploy_requested_at.is_some()
        && object.spec.redeploy_requested_at.as_deref()
            != previous.observed_redeploy_requested_at.as_deref();

    let api = parent.credentials.scope.client.region(&parent.region);
    let cache_scope = parent.cache_scope();
    let mut events = Vec::new();
    let mut status = ServerlessContainerStatus {
        region: Some(parent.region.as_str().into()),
        namespace_id: Some(parent.namespace_id.as_str().into()),
        effective: Some(policy::effective(ctx, object, &parent.credentials).await),
        ..previous.clone()
    };
    events.extend(policy::check_claim(object, remote.as_ref())?);
    if observing {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway container named {} in namespace {}",
                desired.name, parent.namespace_id
            ))
        })?;
        let drift = changed_fields(&update_for(&desired, &remote, None));
        let resync = policy::effective_resync(ctx, object);
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&drift));
    }
    desired.settings.tags = Some(policy::owned_tags(
        object.spec.tags.as_deref(),
        remote.as_ref().map(|r| r.tags.as_slice()),
        &uid,
    ));
    let mut status_write = StatusWrite::Now;
    let planned = plan(
        &desired,
        remote.as_ref(),
        secrets_to_send.clone(),
        redeploy_requested,
    );
    // Scaleway is busy with it (or it is locked): a change the spec asks for waits.
    let held = matches!(planned, Plan::Wait);
    let remote = match planned {
        Plan::Create => {
            // A new container always gets every secret value, whatever the old digest says.
            let request = desired.create_request(
                &parent.namespace_id,
                secret_values.filter(|m| !m.is_empty()),
            );
            let created = match api.create_container(&request).await {
                Ok(created) => created,
                Err(error) => {
                    // The answer may be lost, or the snapshot may not know a container that
                    // exists: list again next time and adopt by name rather than duplicate.
                    ctx.containers.invalidate(&cache_scope).await;
                    return Err(Error::scaleway("create container")(error));
                }
            };
            ctx.containers.put(&cache_scope, &created).await;
            events.push((
                "Created",
                format!(
                    "created Scaleway container {} ({})",
                    created.name, created.id
                ),
            ));
            status.secrets_digest = secrets_digest.as_deref().map(BoxedString::from);
            status.observed_redeploy_requested_at = object.spec.redeploy_requested_at.clone();
            // Container names are unique in their namespace and the container carries our
            // owner mark, so the next look finds it and reads back every fact; only a
            // secrets digest or a served redeploy request exists nowhere else.
            if status.secrets_digest == previous.secrets_digest
                && status.observed_redeploy_requested_at == previous.observed_redeploy_requested_at
            {
                status_write = StatusWrite::AtNextLook;
            }
            created
        }
        Plan::Update(update) => {
            let fields = changed_fields(&update).join(", ");
            let updated = match api.update_container(&remote_id(&remote), &update).await {
                Ok(updated) => updated,
                Err(error) => {
                    ctx.containers
                        .after_failed_write(&cache_scope, &error)
                        .await;
                    return Err(Error::scaleway("update container")(error));
                }
            };
            ctx.containers.put(&cache_scope, &updated).await;
            events.push((
                "Updated",
                format!("updated {fields} of Scaleway container {}", updated.id),
            ));
            if update.settings.secret_environment_variables.is_some() {
                status.secrets_digest = secrets_digest.as_deref().map(BoxedString::from);
            }
            // An update rolls the container out, which also serves a pending redeploy.
            status.observed_redeploy_requested_at = object.spec.redeploy_requested_at.clone();
            updated
        }
        Plan::Redeploy => {
            let redeployed = match api.redeploy_container(&remote_id(&remote)).await {
                Ok(redeployed) => redeployed,
                Err(error) => {
                    ctx.containers
                        .after_failed_write(&cache_scope, &error)
                        .await;
                    return Err(Error::scaleway("redeploy container")(error));
                }
            };
            ctx.containers.put(&cache_scope, &redeployed).await;
            events.push((
                "Redeployed",
                format!("redeployed Scaleway container {}", redeployed.id),
            ));
            status.observed_redeploy_requested_at = object.spec.redeploy_requested_at.clone();
            redeployed
        }
        Plan::Wait | Plan::InSync => {
            remote.ok_or_else(|| Error::DependencyNotReady("remote container vanished".into()))?
        }
    };
    let resync = policy::effective_resync(ctx, object);
    let mut report = report(object, ctx, status, &remote, events, resync);
    report.status_write = status_write;
    if held {
        let pending = changed_fields(&update_for(&desired, &remote, secrets_to_send));
        report = report.waiting_on_remote(
            "container",
            remote.status.as_str(),
            &pending,
            redeploy_requested,
        );
    }
    Ok(report)
}

/// The report for a remote container as it now stands.
fn report(
    object: &ServerlessContainer,
    ctx: &Context,
    mut status: ServerlessContainerStatus,
    remote: &Container,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessContainerStatus> {
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.as_str().into());
    status.public_endpoint = Some(&*remote.public_endpoint)
        .filter(|e| !e.is_empty())
        .map(Box::from);
    status.error_message = remote
        .error_message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(BoxedString::from);
    let assessment: Assessment =
        assess("container", &remote.status, status.error_message.as_deref());
    let action = requeue_for(&remote.status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

fn remote_id(remote: &Option<Container>) -> String {
    remote
        .as_ref()
        .map(|r| r.id.to_string())
        .unwrap_or_default()
}

/// Deletion: honours the policy, waits for triggers and domains that reference this
/// container, then
/// deletes the remote container and waits until it is gone.
async fn cleanup(object: Arc<ServerlessContainer>, ctx: Arc<Context>) -> Result<Action, Error> {
    let object = object.as_ref();
    let previous = object.status.clone().unwrap_or_default();
    if let Some(done) = reconciler::keep_remote(object, &ctx).await {
        return done;
    }
    let k8s_namespace = object.namespace().unwrap_or_default();
    reconciler::wait_for_referrers(object, &ctx, |t: &ServerlessTrigger, name| {
        t.spec
            .container_ref
            .as_ref()
            .is_some_and(|r| r.name == name)
    })
    .await?;
    reconciler::wait_for_referrers(object, &ctx, |d: &ServerlessDomain, name| {
        d.spec
            .container_ref
            .as_ref()
            .is_some_and(|r| r.name == name)
    })
    .await?;
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    // The parent may be gone already: fall back to what status recorded.
    let parent = match parent(object, &ctx, &mut secrets).await {
        Ok(parent) => parent,
        Err(_) => match (previous.region.clone(), previous.namespace_id.clone()) {
            (Some(region), Some(namespace_id)) => Parent {
                credentials: policy::recorded_credentials(
                    &ctx,
                    &mut secrets,
                    &k8s_namespace,
                    previous.effective.as_ref(),
                )
                .await?,
                region: region.to_string(),
                namespace_id: namespace_id.to_string(),
            },
            // Never created anywhere we know of: nothing to delete.
            _ => return Ok(Action::await_change()),
        },
    };
    let name = object
        .spec
        .name
        .as_deref()
        .map_or_else(|| object.name_any(), str::to_owned);
    let api = parent.credentials.scope.client.region(&parent.region);
    let uid = object.uid().unwrap_or_default();
    let remote = match &previous.id {
        Some(id) => match api.get_container(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get container")(error)),
        },
        None => {
            let filter = ContainerFilter {
                namespace_id: Some(parent.namespace_id.clone()),
                name: Some(name.clone()),
                ..Default::default()
            };
            let found = api
                .list_all_containers(&filter)
                .await
                .map_err(Error::scaleway("list containers"))?;
            // Only ours: a same-named container of someone else is never deleted.
            found
                .into_iter()
                .find(|c| *c.name == *name && policy::may_delete_found(&c.tags, &uid))
        }
    };
    let remote_id = remote.as_ref().map(|r| &*r.id);
    let stale = [previous.id.as_deref(), remote_id];
    ctx.containers.forget(&parent.cache_scope(), &stale).await;
    let deleting = ServerlessContainerStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    let delete = |id: String| async move { api.delete_container(&id).await.map(|_| ()) };
    reconciler::delete_remote(object, &ctx, "container", remote, delete, deleting).await
}
