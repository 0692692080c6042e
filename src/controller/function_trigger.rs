//! The ServerlessFunctionTrigger reconciler. Function triggers have no tags: the owner
//! mark `[k8s-owner-uid=…]` at the end of their description tells ours from others'.
//! Scaleway can change a trigger's name and description only; its function and source are
//! fixed (and immutable in the spec).

use std::sync::Arc;

use super::requeue::Action;
use kube::ResourceExt;

use super::context::Context;
use super::error::Error;
use super::function_target::{self, FunctionTarget};
use super::observe::{Lookup, RemoteObject, create_may_have_landed, find_fresh, max_age};
use super::policy;
use super::reconciler::{self, Report, StatusWrite, changed_fields, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::SecretReader;
use crate::crd::{
    ManagementPolicy, ServerlessFunctionTrigger, ServerlessFunctionTriggerSpec,
    ServerlessFunctionTriggerStatus,
};
use crate::scaleway::functions::types::{
    CreateTriggerRequest, ScwNatsConfigRequest, ScwSqsConfigRequest, Trigger, TriggerConfig,
    TriggerFilter, UpdateTriggerRequest,
};
use crate::scaleway::types::Status;

reconciler::managed!(
    ServerlessFunctionTrigger,
    ServerlessFunctionTriggerStatus,
    "ServerlessFunctionTrigger"
);

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessFunctionTrigger>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

/// The source the spec asks for, as CreateTrigger sends it.
fn source(spec: &ServerlessFunctionTriggerSpec) -> Result<TriggerConfig, Error> {
    match (&spec.sqs, &spec.nats) {
        (Some(sqs), None) => Ok(TriggerConfig::ScwSqsConfig(ScwSqsConfigRequest {
            queue: sqs.queue.clone(),
            mnq_project_id: sqs.mnq_project_id.clone(),
            mnq_region: sqs.mnq_region.clone(),
        })),
        (None, Some(nats)) => Ok(TriggerConfig::ScwNatsConfig(ScwNatsConfigRequest {
            subject: nats.subject.clone(),
            mnq_nats_account_id: nats.mnq_nats_account_id.clone(),
            mnq_project_id: nats.mnq_project_id.clone(),
            mnq_region: nats.mnq_region.clone(),
        })),
        _ => Err(Error::InvalidSpec("set exactly one of sqs and nats".into())),
    }
}

/// Where a remote trigger's source differs from the spec's, in spec field names; empty
/// when it is the same. (An unset optional NATS project is whatever Scaleway chose.)
pub fn source_drift(spec: &ServerlessFunctionTriggerSpec, remote: &Trigger) -> Vec<String> {
    let mut drift = Vec::new();
    let mut differs = |field: &str, same: bool| {
        if !same {
            drift.push(field.to_owned());
        }
    };
    match (&spec.sqs, &spec.nats) {
        (Some(sqs), _) => match &remote.scw_sqs_config {
            Some(r) => {
                differs("sqs.queue", r.queue == sqs.queue);
                differs("sqs.mnqProjectId", r.mnq_project_id == sqs.mnq_project_id);
                differs("sqs.mnqRegion", r.mnq_region == sqs.mnq_region);
            }
            None => differs("sqs", false),
        },
        (None, Some(nats)) => match &remote.scw_nats_config {
            Some(r) => {
                differs("nats.subject", r.subject == nats.subject);
                differs(
                    "nats.mnqNatsAccountId",
                    r.mnq_nats_account_id == nats.mnq_nats_account_id,
                );
                differs(
                    "nats.mnqProjectId",
                    nats.mnq_project_id
                        .as_ref()
                        .is_none_or(|p| *p == r.mnq_project_id),
                );
                differs("nats.mnqRegion", r.mnq_region == nats.mnq_region);
            }
            None => differs("nats", false),
        },
        (None, None) => {}
    }
    drift
}

/// The smallest UpdateTrigger that makes `remote` match the spec (the owner mark included).
pub fn update_for(
    spec: &ServerlessFunctionTriggerSpec,
    name: &str,
    remote: &Trigger,
    uid: &str,
) -> UpdateTriggerRequest {
    let description = policy::marked_description(spec.description.as_deref(), uid);
    UpdateTriggerRequest {
        name: (remote.name != name).then(|| name.to_owned()),
        description: (remote.description != description).then_some(description),
    }
}

/// Finds the remote trigger in its function's snapshot (GET only while transient).
async fn observe(
    object: &ServerlessFunctionTrigger,
    ctx: &Context,
    target: &FunctionTarget,
    name: &str,
) -> Result<Option<Trigger>, Error> {
    let api = target.credentials.scope.client.functions(&target.region);
    let filter = TriggerFilter {
        function_id: Some(target.function_id.clone()),
        ..Default::default()
    };
    let id = object.status.as_ref().and_then(|s| s.id.as_deref());
    let max_age = max_age(id.is_some(), policy::effective_resync(ctx, object));
    find_fresh(
        &ctx.function_triggers,
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

async fn apply(object: Arc<ServerlessFunctionTrigger>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = apply_steps(&object, &ctx).await;
    reconciler::finish(object.as_ref(), &ctx, outcome).await
}

async fn apply_steps(
    object: &ServerlessFunctionTrigger,
    ctx: &Context,
) -> Result<Report<ServerlessFunctionTriggerStatus>, Error> {
    let spec = &object.spec;
    let config = source(spec)?;
    let mut secrets = SecretReader::new(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let target = function_target::resolve_for(object, ctx, &mut secrets).await?;
    let name = spec.name.clone().unwrap_or_else(|| object.name_any());
    let observing = spec.management_policy == ManagementPolicy::Observe;
    let uid = object.uid().unwrap_or_default();
    let key = object_key(object);
    let cache_scope = target.cache_scope();
    let uncertain = !observing && ctx.uncertain_creates.pending(&key);
    if uncertain {
        // A create of ours may still land: list again rather than trust the snapshot.
        ctx.function_triggers.invalidate(&cache_scope).await;
    }
    let remote = observe(object, ctx, &target, &name).await?;
    let api = target.credentials.scope.client.functions(&target.region);
    let previous = object.status.clone().unwrap_or_default();
    let status = ServerlessFunctionTriggerStatus {
        region: Some(target.region.clone()),
        function_id: Some(target.function_id.clone()),
        effective: Some(policy::effective(ctx, object, &target.credentials).await),
        ..previous
    };
    let mut events = Vec::new();
    events.extend(policy::check_claim(object, remote.as_ref())?);
    let resync = policy::effective_resync(ctx, object);
    if observing {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway trigger named {name} on function {}",
                target.function_id
            ))
        })?;
        let mut drift = changed_fields(&UpdateTriggerRequest {
            name: (remote.name != name).then(|| name.clone()),
            description: spec
                .description
                .clone()
                .filter(|d| *d != policy::description_without_mark(&remote.description)),
        });
        drift.extend(source_drift(spec, &remote));
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&drift));
    }
    if let Some(found) = &remote {
        let drift = source_drift(spec, found);
        if !drift.is_empty() {
            return Err(Error::InvalidSpec(format!(
                "Scaleway trigger {} ({}) has another source ({}), and Scaleway cannot change a trigger's source: delete that trigger, or make the spec match it",
                found.name,
                found.id,
                drift.join(", ")
            )));
        }
    }
    let mut pending = Vec::new();
    let remote = match remote {
        None => {
            let request = CreateTriggerRequest {
                name: name.clone(),
                function_id: target.function_id.clone(),
                description: Some(policy::marked_description(
                    spec.description.as_deref(),
                    &uid,
                )),
                config,
            };
            let created = match api.create_trigger(&request).await {
                Ok(created) => created,
                Err(error) => {
                    ctx.function_triggers.invalidate(&cache_scope).await;
                    if create_may_have_landed(&error) {
                        ctx.uncertain_creates.lost(&key);
                    }
                    return Err(Error::scaleway("create trigger")(error));
                }
            };
            ctx.function_triggers.put(&cache_scope, &created).await;
            events.push((
                "Created",
                format!("created Scaleway trigger {} ({})", created.name, created.id),
            ));
            created
        }
        // Scaleway is busy with it: a change the spec asks for waits until it settles.
        Some(remote) if remote.is_busy() => {
            pending = changed_fields(&update_for(spec, &name, &remote, &uid));
            remote
        }
        Some(remote) => {
            let update = update_for(spec, &name, &remote, &uid);
            if update.is_empty() {
                remote
            } else {
                let updated = match api.update_trigger(&remote.id, &update).await {
                    Ok(updated) => updated,
                    Err(error) => {
                        ctx.function_triggers
                            .after_failed_write(&cache_scope, &error)
                            .await;
                        return Err(Error::scaleway("update trigger")(error));
                    }
                };
                ctx.function_triggers.put(&cache_scope, &updated).await;
                events.push((
                    "Updated",
                    format!(
                        "updated Scaleway trigger {} ({})",
                        updated.id,
                        changed_fields(&update).join(", ")
                    ),
                ));
                updated
            }
        }
    };
    // Trigger names are not unique at Scaleway: remove extra triggers that carry our mark
    // (a create that landed after its answer was lost).
    for extra in ctx.function_triggers.named(&cache_scope, &name).await {
        if extra.id != remote.id && extra.owner() == Some(uid.as_str()) {
            match api.delete_trigger(&extra.id).await {
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(Error::scaleway("delete duplicate trigger")(error)),
            }
            ctx.function_triggers.remove(&cache_scope, &extra.id).await;
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
    object: &ServerlessFunctionTrigger,
    ctx: &Context,
    mut status: ServerlessFunctionTriggerStatus,
    remote: &Trigger,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessFunctionTriggerStatus> {
    let remote_status = Status::from(remote.status.as_str());
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.to_string());
    status.source_type = Some(remote.input_type.to_string());
    status.error_message = remote.error_message.clone().filter(|m| !m.is_empty());
    status.mnq_credential_id = remote
        .scw_sqs_config
        .as_ref()
        .and_then(|c| c.mnq_credential_id.clone())
        .or_else(|| {
            remote
                .scw_nats_config
                .as_ref()
                .and_then(|c| c.mnq_credential_id.clone())
        });
    let assessment = assess("trigger", &remote_status, status.error_message.as_deref());
    let action = requeue_for(&remote_status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

/// Deletion: honours the policy, deletes the remote trigger and waits until it is gone. A
/// function or namespace already deleted took the trigger with it (cascade).
async fn cleanup(
    object: Arc<ServerlessFunctionTrigger>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
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
    let name = object
        .spec
        .name
        .clone()
        .unwrap_or_else(|| object.name_any());
    let remote = match (&previous.id, function_id) {
        (Some(id), _) => match api.get_trigger(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get trigger")(error)),
        },
        (None, Some(function_id)) => {
            let filter = TriggerFilter {
                function_id: Some(function_id.clone()),
                ..Default::default()
            };
            // Only ours: a same-named trigger of someone else is never deleted.
            let uid = object.uid().unwrap_or_default();
            api.list_all_triggers(&filter)
                .await
                .map_err(Error::scaleway("list triggers"))?
                .into_iter()
                .find(|t| t.name == name && t.owner() == Some(uid.as_str()))
        }
        (None, None) => None,
    };
    if let Some(cache_scope) = &target.cache_scope() {
        let remote_id = remote.as_ref().map(|r| r.id.as_str());
        ctx.function_triggers
            .forget(cache_scope, &[previous.id.as_deref(), remote_id])
            .await;
    }
    let deleting = ServerlessFunctionTriggerStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    let delete = |id: String| async move { api.delete_trigger(&id).await.map(|_| ()) };
    reconciler::delete_remote(object, &ctx, "trigger", remote, delete, deleting).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaleway::functions::types::{ScwNatsConfig, ScwSqsConfig};

    const UID: &str = "0b0e5b9e-7c4a-4d7e-9a57-6a1f1b2c3d4e";
    const PROJECT: &str = "11111111-2222-4333-8444-555555555555";

    fn spec(json: serde_json::Value) -> ServerlessFunctionTriggerSpec {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn sqs_spec() -> ServerlessFunctionTriggerSpec {
        spec(serde_json::json!({
            "functionRef": {"name": "f"}, "description": "jobs",
            "sqs": {"queue": "jobs", "mnqProjectId": PROJECT, "mnqRegion": "fr-par"}
        }))
    }

    fn sqs_remote(queue: &str) -> Trigger {
        Trigger {
            id: "t".into(),
            name: "n".into(),
            description: policy::marked_description(Some("jobs"), UID),
            function_id: "f".into(),
            scw_sqs_config: Some(ScwSqsConfig {
                queue: queue.into(),
                mnq_project_id: PROJECT.into(),
                mnq_region: "fr-par".into(),
                mnq_credential_id: Some("cred".into()),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_matching_trigger_needs_no_update_and_the_mark_is_kept() {
        let remote = sqs_remote("jobs");
        assert!(update_for(&sqs_spec(), "n", &remote, UID).is_empty());
        assert!(source_drift(&sqs_spec(), &remote).is_empty());
        assert_eq!(remote.owner(), Some(UID));
        let renamed = update_for(&sqs_spec(), "m", &remote, UID);
        assert_eq!(renamed.name.as_deref(), Some("m"));
        assert_eq!(renamed.description, None);
    }

    #[test]
    fn an_adopted_trigger_gets_the_owner_mark() {
        let mut remote = sqs_remote("jobs");
        remote.description = "made by hand".into();
        let update = update_for(&sqs_spec(), "n", &remote, UID);
        assert_eq!(
            update.description.as_deref(),
            Some(format!("jobs [k8s-owner-uid={UID}]").as_str())
        );
    }

    #[test]
    fn a_different_source_is_named_field_by_field() {
        assert_eq!(
            source_drift(&sqs_spec(), &sqs_remote("other")),
            ["sqs.queue"]
        );
        let nats = spec(serde_json::json!({
            "functionRef": {"name": "f"},
            "nats": {"subject": "s", "mnqNatsAccountId": "a", "mnqRegion": "nl-ams"}
        }));
        assert_eq!(source_drift(&nats, &sqs_remote("jobs")), ["nats"]);
        let remote = Trigger {
            scw_nats_config: Some(ScwNatsConfig {
                subject: "s".into(),
                mnq_nats_account_id: "a".into(),
                mnq_project_id: PROJECT.into(),
                mnq_region: "nl-ams".into(),
                mnq_credential_id: None,
            }),
            ..Default::default()
        };
        assert!(
            source_drift(&nats, &remote).is_empty(),
            "an unset project is the function's"
        );
    }

    #[test]
    fn the_create_body_has_one_source() {
        let body = serde_json::to_value(source(&sqs_spec()).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_default();
        assert_eq!(body["scw_sqs_config"]["queue"], "jobs");
        assert!(body.get("scw_nats_config").is_none());
    }
}
