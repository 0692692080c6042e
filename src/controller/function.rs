//! The ServerlessFunction reconciler: settings are PATCHed; the code archive is uploaded
//! through the presigned URL flow and deployed when its SHA-256 differs from the one last
//! deployed (or a redeploy is asked for, or the function never had code).

use std::sync::Arc;

use super::requeue::Action;
use kube::ResourceExt;

use super::context::Context;
use super::error::Error;
use super::function_code::{self, Archive};
use super::function_plan::{Desired, secrets as secret_list, update_for};
use super::namespace_target::{self, NamespaceChoice, Parent};
use super::observe::{Lookup, RemoteObject, find_fresh};
use super::policy;
use super::reconciler::{self, Report, StatusWrite, changed_fields, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::{SecretReader, digest};
use crate::crd::{
    LocalObjectReference, ManagementPolicy, NamespaceType, ServerlessDomain, ServerlessFunction,
    ServerlessFunctionCron, ServerlessFunctionStatus, ServerlessFunctionToken,
    ServerlessFunctionTrigger,
};
use crate::scaleway;
use crate::scaleway::functions::types::{CreateFunctionRequest, Function, FunctionFilter};
use crate::scaleway::types::Status;

reconciler::managed!(
    ServerlessFunction,
    ServerlessFunctionStatus,
    "ServerlessFunction"
);

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessFunction>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

async fn parent(
    object: &ServerlessFunction,
    ctx: &Context,
    secrets: &mut SecretReader,
) -> Result<Parent, Error> {
    let spec = &object.spec;
    let choice = NamespaceChoice {
        reference: spec.namespace_ref.as_ref(),
        id: spec.namespace_id.as_deref(),
        region: spec.region.as_deref(),
        type_: NamespaceType::Functions,
        kind: "ServerlessFunction",
    };
    namespace_target::resolve(
        ctx,
        secrets,
        &object.namespace().unwrap_or_default(),
        choice,
    )
    .await
}

/// Finds the remote function in its namespace's snapshot (GET only while transient).
async fn observe(
    object: &ServerlessFunction,
    ctx: &Context,
    parent: &Parent,
    name: &str,
) -> Result<Option<Function>, Error> {
    let api = parent.credentials.scope.client.functions(&parent.region);
    let filter = FunctionFilter::in_namespace(parent.namespace_id.clone());
    let id = object.status.as_ref().and_then(|s| s.id.as_deref());
    let max_age = policy::effective_resync(ctx, object);
    find_fresh(
        &ctx.functions,
        &parent.cache_scope(),
        Lookup { id, name, max_age },
        || api.list_all_functions(&filter),
        |id| {
            let api = api.clone();
            async move { api.get_function(&id).await }
        },
    )
    .await
    .map_err(Error::scaleway("observe function"))
}

async fn apply(object: Arc<ServerlessFunction>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = apply_steps(&object, &ctx).await;
    reconciler::finish(object.as_ref(), &ctx, outcome).await
}

async fn apply_steps(
    object: &ServerlessFunction,
    ctx: &Context,
) -> Result<Report<ServerlessFunctionStatus>, Error> {
    let spec = &object.spec;
    let k8s_namespace = object.namespace().unwrap_or_default();
    let desired = Desired::from_spec(&object.name_any(), spec)?;
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let parent = parent(object, ctx, &mut secrets).await?;
    let observing = spec.management_policy == ManagementPolicy::Observe;
    let uid = object.uid().unwrap_or_default();
    let previous = object.status.clone().unwrap_or_default();
    // Observe-only never writes, so it needs neither secret values nor the code.
    let secret_values = match &spec.secret_environment_variables {
        Some(vars) if !observing => Some(secrets.env(vars).await?),
        _ => None,
    };
    let secrets_digest = secret_values
        .as_ref()
        .and_then(|v| digest(&ctx.config.digest_key, v));
    let redeploy_asked = spec.redeploy_requested_at.is_some()
        && spec.redeploy_requested_at != previous.observed_redeploy_requested_at;
    let archive =
        if observing || (!redeploy_asked && function_code::unchanged_url(&spec.code, &previous)) {
            None
        } else {
            Some(function_code::load(&spec.code, &ctx.kube, &k8s_namespace, &mut secrets).await?)
        };
    let remote = observe(object, ctx, &parent, &desired.name).await?;

    let api = parent.credentials.scope.client.functions(&parent.region);
    let cache_scope = parent.cache_scope();
    let mut events = Vec::new();
    let mut status = ServerlessFunctionStatus {
        region: Some(parent.region.clone()),
        namespace_id: Some(parent.namespace_id.clone()),
        effective: Some(policy::effective(ctx, object, &parent.credentials).await),
        ..previous.clone()
    };
    events.extend(policy::check_claim(object, remote.as_ref())?);
    let resync = policy::effective_resync(ctx, object);
    if observing {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway function named {} in namespace {}",
                desired.name, parent.namespace_id
            ))
        })?;
        let drift = changed_fields(&update_for(
            &desired.settings,
            &remote,
            None,
            spec.tags.clone(),
        ));
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&drift));
    }
    let tags = policy::owned_tags(
        spec.tags.as_deref(),
        remote.as_ref().map(|r| r.tags.as_slice()),
        &uid,
    );
    // Scaleway is busy with the function it was found in (not one created just now, whose
    // code goes next), or it is locked.
    let found_busy = remote.as_ref().is_some_and(RemoteObject::is_busy);
    let remote = match remote {
        None => {
            let mut settings = desired.settings.clone();
            settings.secret_environment_variables = secret_values
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(secret_list);
            settings.tags = Some(tags.clone());
            let request = CreateFunctionRequest {
                name: desired.name.clone(),
                namespace_id: parent.namespace_id.clone(),
                settings,
            };
            let created = match api.create_function(&request).await {
                Ok(created) => created,
                Err(error) => {
                    ctx.functions.invalidate(&cache_scope).await;
                    return Err(Error::scaleway("create function")(error));
                }
            };
            ctx.functions.put(&cache_scope, &created).await;
            events.push((
                "Created",
                format!(
                    "created Scaleway function {} ({})",
                    created.name, created.id
                ),
            ));
            status.secrets_digest = secrets_digest.clone();
            status.code_sha256 = None;
            created
        }
        Some(remote) => remote,
    };
    let needs_code = remote.status.as_str() == "created"
        || redeploy_asked
        || archive
            .as_ref()
            .is_some_and(|a| previous.code_sha256.as_deref() != Some(a.sha256.as_str()));
    let secrets_to_send = secret_values.as_ref().filter(|values| {
        let keys_differ = remote
            .secret_environment_variables
            .iter()
            .map(|s| &s.key)
            .ne(values.keys());
        previous.secrets_digest != secrets_digest || keys_differ
    });
    let mut update = update_for(
        &desired.settings,
        &remote,
        secrets_to_send.map(secret_list),
        Some(tags),
    );
    if found_busy {
        // A change the spec asks for waits until it settles.
        let mut pending = changed_fields(&update.settings);
        if archive
            .as_ref()
            .is_some_and(|a| previous.code_sha256.as_deref() != Some(a.sha256.as_str()))
        {
            pending.push("code".to_owned());
        }
        return Ok(
            report(object, ctx, status, &remote, events, resync).waiting_on_remote(
                "function",
                remote.status.as_str(),
                &pending,
                redeploy_asked,
            ),
        );
    }
    let mut remote = remote;
    if !update.is_empty() && remote.status.as_str() != "created" {
        // With new code on its way, the deploy below applies the settings too.
        update.redeploy = Some(!needs_code);
        let sent_secrets = update.settings.secret_environment_variables.is_some();
        remote = match api.update_function(&remote.id, &update).await {
            Ok(updated) => updated,
            Err(error) => {
                ctx.functions.after_failed_write(&cache_scope, &error).await;
                return Err(Error::scaleway("update function")(error));
            }
        };
        ctx.functions.put(&cache_scope, &remote).await;
        events.push((
            "Updated",
            format!(
                "updated Scaleway function {} ({})",
                remote.id,
                changed_fields(&update.settings).join(", ")
            ),
        ));
        if sent_secrets {
            status.secrets_digest = secrets_digest.clone();
        }
    }
    if needs_code {
        let archive = match archive {
            Some(archive) => archive,
            // The URL was skipped as unchanged, but the code must go again.
            None => {
                function_code::load(&spec.code, &ctx.kube, &k8s_namespace, &mut secrets).await?
            }
        };
        remote = deploy(ctx, &api, &cache_scope, &remote, &archive).await?;
        events.push((
            "Deployed",
            format!(
                "uploaded {} bytes from {} (sha256 {}) and deployed Scaleway function {}",
                archive.bytes.len(),
                function_code::source(&spec.code),
                &archive.sha256[..12],
                remote.id
            ),
        ));
        status.code_sha256 = Some(archive.sha256.clone());
        status.code_source = Some(function_code::source(&spec.code));
        status.code_url_digest = spec.code.url.as_deref().map(function_code::url_fingerprint);
        status.observed_redeploy_requested_at = spec.redeploy_requested_at.clone();
        if status.secrets_digest.is_none() {
            status.secrets_digest = secrets_digest;
        }
    }
    Ok(report(object, ctx, status, &remote, events, resync))
}

/// Uploads `archive` through the presigned URL flow and asks for a deploy.
async fn deploy(
    ctx: &Context,
    api: &scaleway::Functions<'_>,
    cache_scope: &str,
    remote: &Function,
    archive: &Archive,
) -> Result<Function, Error> {
    let upload = api
        .upload_url(&remote.id, archive.bytes.len() as u64)
        .await
        .map_err(Error::scaleway("get upload URL"))?;
    api.upload_archive(&upload, archive.bytes.clone())
        .await
        .map_err(Error::scaleway("upload code"))?;
    match api.deploy_function(&remote.id).await {
        Ok(deployed) => {
            ctx.functions.put(cache_scope, &deployed).await;
            Ok(deployed)
        }
        Err(error) => {
            ctx.functions.after_failed_write(cache_scope, &error).await;
            Err(Error::scaleway("deploy function")(error))
        }
    }
}

/// The report for a remote function as it now stands.
fn report(
    object: &ServerlessFunction,
    ctx: &Context,
    mut status: ServerlessFunctionStatus,
    remote: &Function,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessFunctionStatus> {
    let remote_status = Status::from(remote.status.as_str());
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.to_string());
    status.public_endpoint =
        (!remote.domain_name.is_empty()).then(|| format!("https://{}", remote.domain_name));
    status.error_message = remote.error_message.clone().filter(|m| !m.is_empty());
    status.build_message = remote.build_message.clone().filter(|m| !m.is_empty());
    let assessment = assess("function", &remote_status, status.error_message.as_deref());
    let action = requeue_for(&remote_status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

/// Deletion: honours the policy, waits for the crons, triggers, tokens and domains that
/// reference this function, then deletes the remote function and waits until it is gone. A namespace
/// already deleted took the function with it (cascade).
async fn cleanup(object: Arc<ServerlessFunction>, ctx: Arc<Context>) -> Result<Action, Error> {
    let object = object.as_ref();
    let previous = object.status.clone().unwrap_or_default();
    if let Some(done) = reconciler::keep_remote(object, &ctx).await {
        return done;
    }
    let refers = |reference: Option<&LocalObjectReference>, name: &str| {
        reference.is_some_and(|r| r.name == name)
    };
    reconciler::wait_for_referrers(object, &ctx, |c: &ServerlessFunctionCron, name| {
        refers(c.spec.function_ref.as_ref(), name)
    })
    .await?;
    reconciler::wait_for_referrers(object, &ctx, |t: &ServerlessFunctionTrigger, name| {
        refers(t.spec.function_ref.as_ref(), name)
    })
    .await?;
    reconciler::wait_for_referrers(object, &ctx, |t: &ServerlessFunctionToken, name| {
        refers(t.spec.function_ref.as_ref(), name)
    })
    .await?;
    reconciler::wait_for_referrers(object, &ctx, |d: &ServerlessDomain, name| {
        refers(d.spec.function_ref.as_ref(), name)
    })
    .await?;
    let k8s_namespace = object.namespace().unwrap_or_default();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let parent = match parent(object, &ctx, &mut secrets).await {
        Ok(parent) => parent,
        // The namespace is gone or not ready: use what status recorded.
        Err(_) => match (previous.region.clone(), previous.namespace_id.clone()) {
            (Some(region), Some(namespace_id)) => Parent {
                credentials: policy::recorded_credentials(
                    &ctx,
                    &mut secrets,
                    &k8s_namespace,
                    previous.effective.as_ref(),
                )
                .await?,
                region,
                namespace_id,
            },
            _ => return Ok(Action::await_change()),
        },
    };
    let name = object
        .spec
        .name
        .clone()
        .unwrap_or_else(|| object.name_any());
    let api = parent.credentials.scope.client.functions(&parent.region);
    let remote = match &previous.id {
        Some(id) => match api.get_function(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get function")(error)),
        },
        None => {
            let filter = FunctionFilter::in_namespace(parent.namespace_id.clone());
            let found = api
                .list_all_functions(&filter)
                .await
                .map_err(Error::scaleway("list functions"))?;
            // Only ours: a same-named function of someone else is never deleted.
            let uid = object.uid().unwrap_or_default();
            found
                .into_iter()
                .find(|f| f.name == name && policy::may_delete_found(&f.tags, &uid))
        }
    };
    let remote_id = remote.as_ref().map(|r| r.id.as_str());
    ctx.functions
        .forget(&parent.cache_scope(), &[previous.id.as_deref(), remote_id])
        .await;
    let deleting = ServerlessFunctionStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    let delete = |id: String| async move { api.delete_function(&id).await.map(|_| ()) };
    reconciler::delete_remote(object, &ctx, "function", remote, delete, deleting).await
}
