//! The ServerlessDomain reconciler: one custom hostname on one container. Only the tags of a
//! domain can change at Scaleway; the hostname and the container are fixed at create. A
//! domain on a function goes to [`function_domain`].

use std::sync::Arc;

use super::requeue::Action;
use kube::ResourceExt;

use super::container_target::{self, ContainerChoice, Target};
use super::context::Context;
use super::error::Error;
use super::function_domain;
use super::observe::{Lookup, RemoteObject, find_fresh};
use super::policy;
use super::reconciler::{self, Report, StatusWrite, changed_fields, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::SecretReader;
use crate::crd::{ManagementPolicy, ServerlessDomain, ServerlessDomainStatus};
use crate::scaleway;
use crate::scaleway::types::{CreateDomainRequest, Domain, DomainFilter, UpdateDomainRequest};

reconciler::managed!(ServerlessDomain, ServerlessDomainStatus, "ServerlessDomain");

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessDomain>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

async fn target(
    object: &ServerlessDomain,
    ctx: &Context,
    secrets: &mut SecretReader,
) -> Result<Target, Error> {
    let spec = &object.spec;
    let choice = ContainerChoice {
        reference: spec.container_ref.as_ref(),
        id: spec.container_id.as_deref(),
        region: spec.region.as_deref(),
    };
    container_target::resolve(
        ctx,
        secrets,
        &object.namespace().unwrap_or_default(),
        choice,
    )
    .await
}

/// The smallest UpdateDomain that makes `remote` match: only tags can change.
pub fn update_for(remote: &Domain, tags: Option<Vec<String>>) -> UpdateDomainRequest {
    UpdateDomainRequest {
        tags: tags.filter(|t| t != &remote.tags),
    }
}

/// Finds the remote domain among its container's (GET only while transient).
async fn observe(
    object: &ServerlessDomain,
    ctx: &Context,
    target: &Target,
) -> Result<Option<Domain>, Error> {
    let api = target.credentials.scope.client.region(&target.region);
    let filter = DomainFilter {
        container_id: Some(target.container_id.clone()),
        ..Default::default()
    };
    let id = object.status.as_ref().and_then(|s| s.id.as_deref());
    let max_age = policy::effective_resync(ctx, object);
    let name = object.spec.hostname.as_str();
    find_fresh(
        &ctx.domains,
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

async fn apply(object: Arc<ServerlessDomain>, ctx: Arc<Context>) -> Result<Action, Error> {
    if function_domain::targets_function(&object.spec) {
        return function_domain::apply(object, ctx).await;
    }
    let outcome = apply_steps(&object, &ctx).await;
    reconciler::finish(object.as_ref(), &ctx, outcome).await
}

async fn apply_steps(
    object: &ServerlessDomain,
    ctx: &Context,
) -> Result<Report<ServerlessDomainStatus>, Error> {
    let spec = &object.spec;
    let mut secrets = SecretReader::new(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let target = target(object, ctx, &mut secrets).await?;
    let uid = object.uid().unwrap_or_default();
    let remote = observe(object, ctx, &target).await?;
    let previous = object.status.clone().unwrap_or_default();
    let status = ServerlessDomainStatus {
        region: Some(target.region.clone()),
        container_id: Some(target.container_id.clone()),
        cname_target: target.endpoint.clone().or(previous.cname_target.clone()),
        effective: Some(policy::effective(ctx, object, &target.credentials).await),
        ..previous
    };
    let mut events = Vec::new();
    events.extend(policy::check_claim(object, remote.as_ref())?);
    let resync = policy::effective_resync(ctx, object);
    if spec.management_policy == ManagementPolicy::Observe {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway domain {} on container {}",
                spec.hostname, target.container_id
            ))
        })?;
        let drift = changed_fields(&update_for(&remote, spec.tags.clone()));
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&drift));
    }
    let tags = policy::owned_tags(
        spec.tags.as_deref(),
        remote.as_ref().map(|r| r.tags.as_slice()),
        &uid,
    );
    let api = target.credentials.scope.client.region(&target.region);
    let cache_scope = target.cache_scope();
    let mut pending = Vec::new();
    let remote = match remote {
        None => {
            let request = CreateDomainRequest {
                container_id: target.container_id.clone(),
                hostname: spec.hostname.clone(),
                tags: Some(tags),
            };
            // Hostnames are unique at Scaleway, so a lost answer cannot make a duplicate:
            // the next observation finds the domain by hostname (it carries our tag).
            let created = match api.create_domain(&request).await {
                Ok(created) => created,
                Err(error) => {
                    ctx.domains.invalidate(&cache_scope).await;
                    if matches!(error, scaleway::Error::AlreadyExists { .. }) {
                        // Not among this container's domains, so bound elsewhere.
                        return Err(Error::HostnameTaken(format!(
                            "hostname {} is already bound at Scaleway to another container; \
                             remove that domain or choose another hostname",
                            spec.hostname
                        )));
                    }
                    return Err(Error::scaleway("create domain")(error));
                }
            };
            ctx.domains.put(&cache_scope, &created).await;
            events.push((
                "Created",
                format!(
                    "created Scaleway domain {} ({})",
                    created.hostname, created.id
                ),
            ));
            created
        }
        // Scaleway is busy with it: a change the spec asks for waits until it settles (or,
        // locked, cannot be made).
        Some(remote) if remote.is_busy() => {
            pending = changed_fields(&update_for(&remote, Some(tags)));
            remote
        }
        Some(remote) => {
            let update = update_for(&remote, Some(tags));
            if update.tags.is_none() {
                remote
            } else {
                let updated = match api.update_domain(&remote.id, &update).await {
                    Ok(updated) => updated,
                    Err(error) => {
                        ctx.domains.after_failed_write(&cache_scope, &error).await;
                        return Err(Error::scaleway("update domain")(error));
                    }
                };
                ctx.domains.put(&cache_scope, &updated).await;
                events.push(("Updated", format!("updated Scaleway domain {}", updated.id)));
                updated
            }
        }
    };
    Ok(
        report(object, ctx, status, &remote, events, resync).waiting_on_remote(
            "domain",
            remote.status.as_str(),
            &pending,
            false,
        ),
    )
}

/// The report for a remote domain as it now stands.
fn report(
    object: &ServerlessDomain,
    ctx: &Context,
    mut status: ServerlessDomainStatus,
    remote: &Domain,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessDomainStatus> {
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.to_string());
    status.error_message = remote.error_message.clone().filter(|m| !m.is_empty());
    status.url = Some(format!("https://{}", remote.hostname));
    let assessment = assess("domain", &remote.status, status.error_message.as_deref());
    let action = requeue_for(&remote.status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

/// Deletion: honours the policy, deletes the remote domain and waits until it is gone. A
/// container already deleted took its domains with it (cascade).
async fn cleanup(object: Arc<ServerlessDomain>, ctx: Arc<Context>) -> Result<Action, Error> {
    if function_domain::targets_function(&object.spec) {
        return function_domain::cleanup(object, ctx).await;
    }
    let object = object.as_ref();
    let previous = object.status.clone().unwrap_or_default();
    if let Some(done) = reconciler::keep_remote(object, &ctx).await {
        return done;
    }
    let k8s_namespace = object.namespace().unwrap_or_default();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let (scope, region, container_id) = match target(object, &ctx, &mut secrets).await {
        Ok(target) => (
            target.credentials.scope,
            target.region,
            Some(target.container_id),
        ),
        // The container is gone or not ready: use what status recorded.
        Err(_) => match (&previous.id, previous.region.clone()) {
            (Some(_), Some(region)) => (
                policy::recorded_credentials(
                    &ctx,
                    &mut secrets,
                    &k8s_namespace,
                    previous.effective.as_ref(),
                )
                .await?
                .scope,
                region,
                previous.container_id.clone(),
            ),
            _ => return Ok(Action::await_change()),
        },
    };
    let api = scope.client.region(&region);
    let cache_scope = container_id
        .as_ref()
        .map(|id| format!("{}|{region}|{id}", scope.identity));
    let remote = match (&previous.id, container_id) {
        (Some(id), _) => match api.get_domain(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get domain")(error)),
        },
        (None, Some(container_id)) => {
            let filter = DomainFilter {
                container_id: Some(container_id),
                ..Default::default()
            };
            let found = api
                .list_all_domains(&filter)
                .await
                .map_err(Error::scaleway("list domains"))?;
            // Only ours: a domain someone else created is never deleted.
            let uid = object.uid().unwrap_or_default();
            found.into_iter().find(|d| {
                d.hostname == object.spec.hostname && policy::may_delete_found(&d.tags, &uid)
            })
        }
        (None, None) => None,
    };
    if let Some(cache_scope) = &cache_scope {
        let remote_id = remote.as_ref().map(|r| r.id.as_str());
        ctx.domains
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_tags_are_sent() {
        let remote = Domain {
            id: "d".into(),
            hostname: "api.example.com".into(),
            tags: vec!["a".into()],
            ..Default::default()
        };
        assert_eq!(update_for(&remote, Some(vec!["a".into()])).tags, None);
        assert_eq!(update_for(&remote, None).tags, None);
        assert_eq!(
            update_for(&remote, Some(vec!["b".into()])).tags,
            Some(vec!["b".into()])
        );
    }
}
