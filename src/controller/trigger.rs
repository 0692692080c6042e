//! The ServerlessTrigger reconciler.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::requeue::Action;
use kube::ResourceExt;

use super::container_target::{self, ContainerChoice, Target};
use super::context::Context;
use super::error::Error;
use super::observe::{Lookup, RemoteObject, find_fresh, max_age};
use super::policy;
use super::reconciler::{self, Report, StatusWrite, changed_fields, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::{SecretReader, digest};
use crate::crd::{
    self, ManagementPolicy, ServerlessTrigger, ServerlessTriggerSpec, ServerlessTriggerStatus,
};
use crate::scaleway::types::{
    CreateTriggerRequest, CronConfig, DestinationConfig, HttpMethod, NatsConfigRequest,
    SqsConfigRequest, Trigger, TriggerFilter, UpdateTriggerRequest,
};
use crate::scaleway::{self, SecretString};

reconciler::managed!(
    ServerlessTrigger,
    ServerlessTriggerStatus,
    "ServerlessTrigger"
);

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessTrigger>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

async fn target(
    object: &ServerlessTrigger,
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

/// The source's secret, read from its Secret: (name for the digest, value).
async fn source_secret(
    spec: &ServerlessTriggerSpec,
    secrets: &mut SecretReader,
) -> Result<BTreeMap<String, SecretString>, Error> {
    let mut values = BTreeMap::new();
    if let Some(sqs) = &spec.sqs {
        values.insert(
            "secret_access_key".to_owned(),
            secrets.value(&sqs.secret_access_key_ref).await?,
        );
    }
    if let Some(nats) = &spec.nats {
        values.insert(
            "credentials_file_content".to_owned(),
            secrets.value(&nats.credentials_ref).await?,
        );
    }
    Ok(values)
}

fn method(method: crd::HttpMethod) -> HttpMethod {
    match method {
        crd::HttpMethod::Get => HttpMethod::Get,
        crd::HttpMethod::Post => HttpMethod::Post,
        crd::HttpMethod::Put => HttpMethod::Put,
        crd::HttpMethod::Patch => HttpMethod::Patch,
        crd::HttpMethod::Delete => HttpMethod::Delete,
    }
}

fn destination(spec: &ServerlessTriggerSpec) -> Option<DestinationConfig> {
    spec.destination.as_ref().map(|d| DestinationConfig {
        http_path: d.http_path.clone(),
        http_method: method(d.http_method),
    })
}

fn cron(spec: &ServerlessTriggerSpec) -> Option<CronConfig> {
    spec.cron.as_ref().map(|c| CronConfig {
        schedule: c.schedule.clone(),
        timezone: c.timezone.clone().unwrap_or_else(|| "UTC".into()),
        body: c.body.clone(),
        headers: c.headers.clone(),
    })
}

/// The create request; `secret` is the SQS key or NATS credentials.
fn create_request(
    spec: &ServerlessTriggerSpec,
    name: &str,
    container_id: &str,
    secret: Option<SecretString>,
    tags: Vec<String>,
) -> CreateTriggerRequest {
    CreateTriggerRequest {
        container_id: container_id.to_owned(),
        name: name.to_owned(),
        description: spec.description.clone(),
        tags: Some(tags),
        destination_config: destination(spec),
        cron_config: cron(spec),
        sqs_config: spec.sqs.as_ref().map(|s| SqsConfigRequest {
            region: Some(s.region.clone()),
            endpoint: Some(s.endpoint.clone()),
            access_key_id: Some(s.access_key_id.clone()),
            secret_access_key: secret.clone(),
            queue_url: Some(s.queue_url.clone()),
        }),
        nats_config: spec.nats.as_ref().map(|n| NatsConfigRequest {
            server_urls: Some(n.server_urls.clone()),
            subject: Some(n.subject.clone()),
            credentials_file_content: secret,
        }),
    }
}

/// The smallest UpdateTrigger that makes `remote` match the spec (and `tags`, the tags to
/// keep, when given); `secret` is sent when given.
pub fn update_for(
    spec: &ServerlessTriggerSpec,
    name: &str,
    remote: &Trigger,
    secret: Option<SecretString>,
    tags: Option<Vec<String>>,
) -> UpdateTriggerRequest {
    let cron = cron(spec).filter(|wanted| {
        remote.cron_config.as_ref().is_none_or(|r| {
            r.schedule != wanted.schedule
                || r.timezone != wanted.timezone
                || (wanted.body.is_some() && r.body != wanted.body)
                || (wanted.headers.is_some()
                    && r.headers.clone().unwrap_or_default()
                        != wanted.headers.clone().unwrap_or_default())
        })
    });
    let sqs = spec.sqs.as_ref().and_then(|s| {
        let remote = remote.sqs_config.clone().unwrap_or_default();
        let differs = remote.region != s.region
            || remote.endpoint != s.endpoint
            || remote.access_key_id != s.access_key_id
            || remote.queue_url != s.queue_url;
        (differs || secret.is_some()).then(|| SqsConfigRequest {
            region: Some(s.region.clone()),
            endpoint: Some(s.endpoint.clone()),
            access_key_id: Some(s.access_key_id.clone()),
            secret_access_key: secret.clone(),
            queue_url: Some(s.queue_url.clone()),
        })
    });
    let nats = spec.nats.as_ref().and_then(|n| {
        let remote = remote.nats_config.clone().unwrap_or_default();
        let differs = remote.server_urls != n.server_urls || remote.subject != n.subject;
        (differs || secret.is_some()).then(|| NatsConfigRequest {
            server_urls: Some(n.server_urls.clone()),
            subject: Some(n.subject.clone()),
            credentials_file_content: secret.clone(),
        })
    });
    UpdateTriggerRequest {
        name: (remote.name != name).then(|| name.to_owned()),
        description: spec
            .description
            .clone()
            .filter(|d| d != &remote.description),
        tags: tags.filter(|t| t != &remote.tags),
        destination_config: destination(spec)
            .filter(|d| remote.destination_config.as_ref() != Some(d)),
        cron_config: cron,
        sqs_config: sqs,
        nats_config: nats,
    }
}

/// Finds the remote trigger in its container's snapshot (GET only while transient).
async fn observe(
    object: &ServerlessTrigger,
    ctx: &Context,
    target: &Target,
    name: &str,
) -> Result<Option<Trigger>, Error> {
    let api = target.credentials.scope.client.region(&target.region);
    let filter = TriggerFilter {
        container_id: Some(target.container_id.clone()),
        ..Default::default()
    };
    let id = object.status.as_ref().and_then(|s| s.id.as_deref());
    let max_age = max_age(id.is_some(), policy::effective_resync(ctx, object));
    find_fresh(
        &ctx.triggers,
        &target.cache_scope(),
        Lookup { id, name, max_age },
        || api.list_all_triggers(&filter),
        |id| {
            let api = api.clone();
            async move { api.get_trigger(&id).await }
        },
    )
    .await
    .map_err(Error::scaleway("observe trigger"))
}

async fn apply(object: Arc<ServerlessTrigger>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = apply_steps(&object, &ctx).await;
    reconciler::finish(object.as_ref(), &ctx, outcome).await
}

async fn apply_steps(
    object: &ServerlessTrigger,
    ctx: &Context,
) -> Result<Report<ServerlessTriggerStatus>, Error> {
    let spec = &object.spec;
    let mut secrets = SecretReader::new(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let target = target(object, ctx, &mut secrets).await?;
    let name = spec.name.clone().unwrap_or_else(|| object.name_any());
    let observing = spec.management_policy == ManagementPolicy::Observe;
    let uid = object.uid().unwrap_or_default();
    // Observe-only never writes, so it needs no secret values.
    let secret_values = if observing {
        BTreeMap::new()
    } else {
        source_secret(spec, &mut secrets).await?
    };
    let secrets_digest = digest(&ctx.config.digest_key, &secret_values);
    let secret = secret_values.into_values().next();
    let previous = object.status.clone().unwrap_or_default();
    let key = object_key(object);
    let uncertain = !observing && ctx.uncertain_creates.pending(&key);
    if uncertain {
        // A create of ours may still land: list again rather than trust the snapshot.
        ctx.triggers.invalidate(&target.cache_scope()).await;
    }
    let remote = observe(object, ctx, &target, &name).await?;
    let secret_to_send = secret
        .clone()
        .filter(|_| previous.secrets_digest != secrets_digest);

    let api = target.credentials.scope.client.region(&target.region);
    let cache_scope = target.cache_scope();
    let mut events = Vec::new();
    let mut status = ServerlessTriggerStatus {
        region: Some(target.region.clone()),
        container_id: Some(target.container_id.clone()),
        effective: Some(policy::effective(ctx, object, &target.credentials).await),
        ..previous.clone()
    };
    events.extend(policy::check_claim(object, remote.as_ref())?);
    let resync = policy::effective_resync(ctx, object);
    if observing {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway trigger named {name} on container {}",
                target.container_id
            ))
        })?;
        let update = update_for(spec, &name, &remote, None, spec.tags.clone());
        let drift = changed_fields(&update);
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&drift));
    }
    let tags = policy::owned_tags(
        spec.tags.as_deref(),
        remote.as_ref().map(|r| r.tags.as_slice()),
        &uid,
    );
    let mut pending = Vec::new();
    let remote = match remote {
        None => {
            // A create always carries the secret (the API requires it).
            let request = create_request(spec, &name, &target.container_id, secret, tags);
            let created = match api.create_trigger(&request).await {
                Ok(created) => created,
                Err(error) => {
                    ctx.triggers.invalidate(&cache_scope).await;
                    if matches!(
                        error,
                        scaleway::Error::Timeout { .. } | scaleway::Error::Transport { .. }
                    ) {
                        ctx.uncertain_creates.lost(&key);
                    }
                    return Err(Error::scaleway("create trigger")(error));
                }
            };
            ctx.triggers.put(&cache_scope, &created).await;
            events.push((
                "Created",
                format!("created Scaleway trigger {} ({})", created.name, created.id),
            ));
            status.secrets_digest = secrets_digest;
            created
        }
        // Scaleway is busy with it: a change the spec asks for waits until it settles (or,
        // locked, cannot be made).
        Some(remote) if remote.is_busy() => {
            pending = changed_fields(&update_for(
                spec,
                &name,
                &remote,
                secret_to_send,
                Some(tags),
            ));
            remote
        }
        Some(remote) => {
            let update = update_for(spec, &name, &remote, secret_to_send, Some(tags));
            if update.is_empty() {
                remote
            } else {
                let updated = match api.update_trigger(&remote.id, &update).await {
                    Ok(updated) => updated,
                    Err(error) => {
                        ctx.triggers.after_failed_write(&cache_scope, &error).await;
                        return Err(Error::scaleway("update trigger")(error));
                    }
                };
                ctx.triggers.put(&cache_scope, &updated).await;
                events.push((
                    "Updated",
                    format!("updated Scaleway trigger {}", updated.id),
                ));
                status.secrets_digest = secrets_digest;
                updated
            }
        }
    };
    // Trigger names are not unique at Scaleway: remove extra triggers that carry our tag
    // (a create that landed after its answer was lost, or a second replica's).
    for extra in ctx.triggers.named(&cache_scope, &name).await {
        if extra.id != remote.id && policy::may_delete_found(&extra.tags, &uid) {
            match api.delete_trigger(&extra.id).await {
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(Error::scaleway("delete duplicate trigger")(error)),
            }
            ctx.triggers.remove(&cache_scope, &extra.id).await;
            events.push((
                "DuplicateDeleted",
                format!(
                    "deleted duplicate Scaleway trigger {} ({})",
                    extra.name, extra.id
                ),
            ));
        }
    }
    let mut report = report(object, ctx, status, &remote, events, resync).waiting_on_remote(
        "trigger",
        remote.status.as_str(),
        &pending,
        false,
    );
    if uncertain {
        // Look again soon while a lost create may still land.
        report.action = Action::requeue(std::time::Duration::from_secs(2));
    }
    Ok(report)
}

/// The report for a remote trigger as it now stands.
fn report(
    object: &ServerlessTrigger,
    ctx: &Context,
    mut status: ServerlessTriggerStatus,
    remote: &Trigger,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessTriggerStatus> {
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.to_string());
    status.source_type = Some(remote.source_type.to_string());
    status.error_message = remote.error_message.clone().filter(|m| !m.is_empty());
    let assessment = assess("trigger", &remote.status, status.error_message.as_deref());
    let action = requeue_for(&remote.status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

/// Deletion: honours the policy, deletes the remote trigger and waits until it is gone.
/// A container or namespace already deleted took the trigger with it (cascade).
async fn cleanup(object: Arc<ServerlessTrigger>, ctx: Arc<Context>) -> Result<Action, Error> {
    let object = object.as_ref();
    let previous = object.status.clone().unwrap_or_default();
    if let Some(done) = reconciler::keep_remote(object, &ctx).await {
        return done;
    }
    let k8s_namespace = object.namespace().unwrap_or_default();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let target = target(object, &ctx, &mut secrets).await;
    let (scope, region, container_id) = match target {
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
    let name = object
        .spec
        .name
        .clone()
        .unwrap_or_else(|| object.name_any());
    let api = scope.client.region(&region);
    let cache_scope = container_id
        .as_ref()
        .map(|id| format!("{}|{region}|{id}", scope.identity));
    let remote = match (&previous.id, container_id) {
        (Some(id), _) => match api.get_trigger(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get trigger")(error)),
        },
        (None, Some(container_id)) => {
            let filter = TriggerFilter {
                container_id: Some(container_id),
                ..Default::default()
            };
            let found = api
                .list_all_triggers(&filter)
                .await
                .map_err(Error::scaleway("list triggers"))?;
            // Only ours: a same-named trigger of someone else is never deleted.
            let uid = object.uid().unwrap_or_default();
            found
                .into_iter()
                .find(|t| t.name == name && policy::may_delete_found(&t.tags, &uid))
        }
        (None, None) => None,
    };
    if let Some(cache_scope) = &cache_scope {
        let remote_id = remote.as_ref().map(|r| r.id.as_str());
        ctx.triggers
            .forget(cache_scope, &[previous.id.as_deref(), remote_id])
            .await;
    }
    let deleting = ServerlessTriggerStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    let delete = |id: String| async move { api.delete_trigger(&id).await.map(|_| ()) };
    reconciler::delete_remote(object, &ctx, "trigger", remote, delete, deleting).await
}
