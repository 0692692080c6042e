//! The ServerlessDomain reconciler for a hostname on a function (Functions v1beta1
//! `/domains`). Function domains have no tags and no update: the hostname and the function
//! are fixed at create, so there is never anything to change, only to create, report or
//! delete. Nothing on a function domain says whose it is, so, as for function crons, the
//! hostname about to be created is first recorded in `status.createRequested`.

use std::sync::Arc;

use super::requeue::Action;
use kube::ResourceExt;

use super::context::Context;
use super::error::Error;
use super::function_target::{self, FunctionTarget};
use super::observe::{Lookup, create_may_have_landed, find_fresh, max_age};
use super::policy::{self, Claim};
use super::reconciler::{self, Managed, Report, StatusWrite, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::SecretReader;
use crate::crd::{
    ManagementPolicy, ServerlessDomain, ServerlessDomainSpec, ServerlessDomainStatus,
};
use crate::scaleway;
use crate::scaleway::functions::types::{CreateDomainRequest, Domain, DomainFilter};
use crate::scaleway::types::Status;

/// Whether the domain routes to a function (else to a container).
pub fn targets_function(spec: &ServerlessDomainSpec) -> bool {
    spec.function_ref.is_some() || spec.function_id.is_some()
}

/// Finds the remote domain among its function's (GET only while transient).
async fn observe(
    object: &ServerlessDomain,
    ctx: &Context,
    target: &FunctionTarget,
) -> Result<Option<Domain>, Error> {
    let api = target.credentials.scope.client.functions(&target.region);
    let filter = DomainFilter::of_function(target.function_id.clone());
    let id = object.status.as_ref().and_then(|s| s.id.as_deref());
    let max_age = max_age(id.is_some(), policy::effective_resync(ctx, object));
    let name = object.spec.hostname.as_str();
    find_fresh(
        &ctx.function_domains,
        &target.cache_scope(),
        Lookup { id, name, max_age },
        || api.list_all_domains(&filter),
        |id| {
            let api = api.clone();
            async move { api.get_domain(&id).await }
        },
    )
    .await
    .map_err(Error::scaleway("observe domain"))
}

/// Whether `object` may take the domain it found: recorded in status, created at its
/// request (the intent names its hostname), or adopted as its policies allow.
fn check_claim(
    object: &ServerlessDomain,
    remote: &Domain,
) -> Result<Option<(&'static str, String)>, Error> {
    let status = object.status.clone().unwrap_or_default();
    let uid = object.uid().unwrap_or_default();
    let requested = status.create_requested.as_deref() == Some(remote.hostname.as_str());
    let what = format!("Scaleway domain {} ({})", remote.hostname, remote.id);
    let claimed = policy::claim(
        &what,
        status.id.as_deref(),
        &remote.id,
        requested.then_some(uid.as_str()),
        &uid,
        object.management(),
        object.adoption(),
    )?;
    Ok((claimed == Claim::Adopted).then(|| ("Adopted", format!("adopted existing {what}"))))
}

/// Reconciles a ServerlessDomain that routes to a function.
pub async fn apply(object: Arc<ServerlessDomain>, ctx: Arc<Context>) -> Result<Action, Error> {
    // A copy, so that the intent recorded mid-reconcile is what the final write compares
    // against.
    let mut object = object.as_ref().clone();
    let outcome = apply_steps(&mut object, &ctx).await;
    reconciler::finish(&object, &ctx, outcome).await
}

async fn apply_steps(
    object: &mut ServerlessDomain,
    ctx: &Context,
) -> Result<Report<ServerlessDomainStatus>, Error> {
    let hostname = object.spec.hostname.clone();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let target = function_target::resolve_for(&*object, ctx, &mut secrets).await?;
    let remote = observe(object, ctx, &target).await?;
    let previous = object.status.clone().unwrap_or_default();
    let mut status = ServerlessDomainStatus {
        region: Some(target.region.clone()),
        function_id: Some(target.function_id.clone()),
        container_id: None,
        cname_target: target.endpoint.clone().or(previous.cname_target.clone()),
        effective: Some(policy::effective(ctx, &*object, &target.credentials).await),
        ..previous
    };
    let mut events = Vec::new();
    if let Some(found) = &remote {
        events.extend(check_claim(object, found)?);
    }
    let resync = policy::effective_resync(ctx, &*object);
    if object.spec.management_policy == ManagementPolicy::Observe {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway domain {hostname} on function {}",
                target.function_id
            ))
        })?;
        // A function domain has nothing that can differ from the spec but its existence.
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&[]));
    }
    let remote = match remote {
        Some(remote) => remote,
        None => {
            status.create_requested = Some(hostname.clone());
            reconciler::record_create_intent(object, ctx, status.clone()).await?;
            let api = target.credentials.scope.client.functions(&target.region);
            let cache_scope = target.cache_scope();
            let request = CreateDomainRequest {
                hostname: hostname.clone(),
                function_id: target.function_id.clone(),
            };
            // Hostnames are unique at Scaleway, so a lost answer cannot make a duplicate:
            // the next observation finds the domain by hostname, and the intent says whose.
            match api.create_domain(&request).await {
                Ok(created) => {
                    ctx.function_domains.put(&cache_scope, &created).await;
                    events.push((
                        "Created",
                        format!(
                            "created Scaleway domain {} ({})",
                            created.hostname, created.id
                        ),
                    ));
                    created
                }
                Err(error) => {
                    ctx.function_domains.invalidate(&cache_scope).await;
                    if !create_may_have_landed(&error) {
                        // Refused: nothing was created, so the intent names nothing (and
                        // must not claim a domain another object creates next).
                        if let Some(recorded) = object.status.as_mut() {
                            recorded.create_requested = None;
                        }
                    }
                    if matches!(error, scaleway::Error::AlreadyExists { .. }) {
                        // Not among this function's domains, so bound elsewhere.
                        return Err(Error::HostnameTaken(format!(
                            "hostname {hostname} is already bound at Scaleway to another function or container; \
                             remove that domain or choose another hostname"
                        )));
                    }
                    return Err(Error::scaleway("create domain")(error));
                }
            }
        }
    };
    status.create_requested = None;
    Ok(report(object, ctx, status, &remote, events, resync))
}

/// The report for a remote function domain as it now stands.
fn report(
    object: &ServerlessDomain,
    ctx: &Context,
    mut status: ServerlessDomainStatus,
    remote: &Domain,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessDomainStatus> {
    let remote_status = Status::from(remote.status.as_str());
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.to_string());
    status.error_message = remote.error_message.clone().filter(|m| !m.is_empty());
    status.url = Some(format!("https://{}", remote.hostname));
    let assessment = assess("domain", &remote_status, status.error_message.as_deref());
    let action = requeue_for(&remote_status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

/// Deletion of a function domain: honours the policy, deletes the remote domain and waits
/// until it is gone. A function already deleted took its domains with it (cascade).
pub async fn cleanup(object: Arc<ServerlessDomain>, ctx: Arc<Context>) -> Result<Action, Error> {
    let object = object.as_ref();
    let previous = object.status.clone().unwrap_or_default();
    if let Some(done) = reconciler::keep_remote(object, &ctx).await {
        return done;
    }
    let k8s_namespace = object.namespace().unwrap_or_default();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let Some(target) = function_target::for_cleanup(object, &ctx, &mut secrets).await? else {
        return Ok(Action::await_change());
    };
    let function_id = &target.function_id;
    let api = target.scope.client.functions(&target.region);
    let remote = match (&previous.id, &previous.create_requested, function_id) {
        (Some(id), _, _) => match api.get_domain(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get domain")(error)),
        },
        // Created at our request, ID never recorded: only that hostname is ours.
        (None, Some(requested), Some(function_id)) => api
            .list_all_domains(&DomainFilter::of_function(function_id.clone()))
            .await
            .map_err(Error::scaleway("list domains"))?
            .into_iter()
            .find(|d| &d.hostname == requested),
        _ => None,
    };
    if let Some(cache_scope) = &target.cache_scope() {
        let remote_id = remote.as_ref().map(|r| r.id.as_str());
        ctx.function_domains
            .forget(cache_scope, &[previous.id.as_deref(), remote_id])
            .await;
    }
    let deleting = ServerlessDomainStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    let delete = |id: String| async move { api.delete_domain(&id).await.map(|_| ()) };
    reconciler::delete_remote(object, &ctx, "domain", remote, delete, deleting).await
}
