//! The ServerlessFunctionCron reconciler.
//!
//! Scaleway function crons have neither tags nor a description, so nothing on a cron says
//! which Kubernetes object it was created for. Before asking Scaleway to create one, the
//! reconciler records the name it is about to create in `status.createRequested`. A cron
//! with that name found on the function afterwards (after a crash between the create and
//! the status write, or a create whose answer was lost) is this object's. Once the cron's
//! ID is recorded and no lost create can still land, the intent is cleared, so a cron
//! someone else later creates with the same name is never taken for ours.

use std::sync::Arc;

use super::requeue::Action;
use kube::ResourceExt;

use super::context::Context;
use super::error::Error;
use super::function_target::{self, FunctionTarget};
use super::observe::{Lookup, RemoteObject, create_may_have_landed, find_fresh, max_age};
use super::policy::{self, Claim};
use super::reconciler::{self, Managed, Report, StatusWrite, changed_fields, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::SecretReader;
use crate::crd::{
    ManagementPolicy, ServerlessFunctionCron, ServerlessFunctionCronSpec,
    ServerlessFunctionCronStatus,
};
use crate::scaleway::functions::types::{
    CreateCronRequest, Cron, CronArgs, CronFilter, UpdateCronRequest,
};
use crate::scaleway::types::Status;

reconciler::managed!(
    ServerlessFunctionCron,
    ServerlessFunctionCronStatus,
    "ServerlessFunctionCron"
);

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessFunctionCron>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

/// Whether two cron expressions are the same five fields (spacing does not matter).
fn same_schedule(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

fn wanted_args(spec: &ServerlessFunctionCronSpec) -> CronArgs {
    spec.args.clone().unwrap_or_default()
}

fn create_request(
    spec: &ServerlessFunctionCronSpec,
    name: &str,
    function_id: &str,
) -> CreateCronRequest {
    CreateCronRequest {
        function_id: function_id.to_owned(),
        schedule: spec.schedule.clone(),
        args: Some(wanted_args(spec)),
        name: Some(name.to_owned()),
    }
}

/// The smallest UpdateCron that makes `remote` match the spec.
pub fn update_for(
    spec: &ServerlessFunctionCronSpec,
    name: &str,
    remote: &Cron,
) -> UpdateCronRequest {
    let args = wanted_args(spec);
    UpdateCronRequest {
        function_id: None,
        schedule: (!same_schedule(&remote.schedule, &spec.schedule)).then(|| spec.schedule.clone()),
        args: (remote.args != args).then_some(args),
        name: (remote.name != name).then(|| name.to_owned()),
    }
}

/// Finds the remote cron in its function's snapshot (GET only while transient): by the
/// recorded ID, else by name, else by the name of a create this object asked for.
async fn observe(
    object: &ServerlessFunctionCron,
    ctx: &Context,
    target: &FunctionTarget,
    name: &str,
) -> Result<Option<Cron>, Error> {
    let api = target.credentials.scope.client.functions(&target.region);
    let filter = CronFilter::of_function(target.function_id.clone());
    let status = object.status.clone().unwrap_or_default();
    let max_age = max_age(status.id.is_some(), policy::effective_resync(ctx, object));
    let scope = target.cache_scope();
    let lookup = Lookup {
        id: status.id.as_deref(),
        name,
        max_age,
    };
    let found = find_fresh(
        &ctx.function_crons,
        &scope,
        lookup,
        || api.list_all_crons(&filter),
        |id: String| {
            let api = api.clone();
            async move { api.get_cron(&id).await }
        },
    )
    .await
    .map_err(Error::scaleway("observe cron"))?;
    if found.is_some() {
        return Ok(found);
    }
    // The name changed after a create was asked for under the old one: look in the
    // snapshot just listed.
    Ok(
        match status.create_requested.as_deref().filter(|n| *n != name) {
            Some(requested) => ctx
                .function_crons
                .named(&scope, requested)
                .await
                .into_iter()
                .next(),
            None => None,
        },
    )
}

/// Whether `object` may take the cron it found: recorded in status, created at its request
/// (the intent names it), or adopted as its policies allow.
fn check_claim(
    object: &ServerlessFunctionCron,
    remote: &Cron,
) -> Result<Option<(&'static str, String)>, Error> {
    let status = object.status.clone().unwrap_or_default();
    let uid = object.uid().unwrap_or_default();
    let requested = status.create_requested.as_deref() == Some(remote.name.as_str());
    let owner = requested.then_some(uid.as_str());
    let what = format!("Scaleway cron {} ({})", remote.name, remote.id);
    let claimed = policy::claim(
        &what,
        status.id.as_deref(),
        &remote.id,
        owner,
        &uid,
        object.management(),
        object.adoption(),
    )?;
    Ok((claimed == Claim::Adopted).then(|| ("Adopted", format!("adopted existing {what}"))))
}

async fn apply(object: Arc<ServerlessFunctionCron>, ctx: Arc<Context>) -> Result<Action, Error> {
    // A copy, so that the intent recorded mid-reconcile is what the final write compares
    // against.
    let mut object = object.as_ref().clone();
    let outcome = apply_steps(&mut object, &ctx).await;
    reconciler::finish(&object, &ctx, outcome).await
}

async fn apply_steps(
    object: &mut ServerlessFunctionCron,
    ctx: &Context,
) -> Result<Report<ServerlessFunctionCronStatus>, Error> {
    let spec = object.spec.clone();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let target = function_target::resolve_for(&*object, ctx, &mut secrets).await?;
    let name = spec.name.clone().unwrap_or_else(|| object.name_any());
    let observing = spec.management_policy == ManagementPolicy::Observe;
    let key = object_key(&*object);
    let cache_scope = target.cache_scope();
    let uncertain = !observing && ctx.uncertain_creates.pending(&key);
    if uncertain {
        // A create of ours may still land: list again rather than trust the snapshot.
        ctx.function_crons.invalidate(&cache_scope).await;
    }
    let remote = observe(object, ctx, &target, &name).await?;
    let api = target.credentials.scope.client.functions(&target.region);
    let previous = object.status.clone().unwrap_or_default();
    let mut status = ServerlessFunctionCronStatus {
        region: Some(target.region.clone()),
        function_id: Some(target.function_id.clone()),
        effective: Some(policy::effective(ctx, &*object, &target.credentials).await),
        ..previous.clone()
    };
    let mut events = Vec::new();
    if let Some(found) = &remote {
        events.extend(check_claim(object, found)?);
    }
    let resync = policy::effective_resync(ctx, &*object);
    if observing {
        let remote = remote.ok_or_else(|| {
            Error::RemoteNotFound(format!(
                "observe-only: no Scaleway cron named {name} on function {}",
                target.function_id
            ))
        })?;
        let drift = changed_fields(&update_for(&spec, &name, &remote));
        return Ok(report(object, ctx, status, &remote, events, resync).observed(&drift));
    }
    let mut pending = Vec::new();
    let remote = match remote {
        None => {
            if previous.create_requested.is_some() && previous.id.is_none() {
                // A create asked for before (by an operator that then died, or whose
                // answer was lost) may still land: watch for its duplicate a while.
                ctx.uncertain_creates.lost(&key);
            }
            status.create_requested = Some(name.clone());
            reconciler::record_create_intent(object, ctx, status.clone()).await?;
            let request = create_request(&spec, &name, &target.function_id);
            let created = match api.create_cron(&request).await {
                Ok(created) => created,
                Err(error) => {
                    ctx.function_crons.invalidate(&cache_scope).await;
                    if create_may_have_landed(&error) {
                        ctx.uncertain_creates.lost(&key);
                    } else if !ctx.uncertain_creates.pending(&key) {
                        // Refused: nothing was created, so the intent names nothing.
                        if let Some(recorded) = object.status.as_mut() {
                            recorded.create_requested = None;
                        }
                    }
                    return Err(Error::scaleway("create cron")(error));
                }
            };
            ctx.function_crons.put(&cache_scope, &created).await;
            events.push((
                "Created",
                format!("created Scaleway cron {} ({})", created.name, created.id),
            ));
            created
        }
        // Scaleway is busy with it: a change the spec asks for waits until it settles.
        Some(remote) if remote.is_busy() => {
            pending = changed_fields(&update_for(&spec, &name, &remote));
            remote
        }
        Some(remote) => {
            let update = update_for(&spec, &name, &remote);
            if update.is_empty() {
                remote
            } else {
                let updated = match api.update_cron(&remote.id, &update).await {
                    Ok(updated) => updated,
                    Err(error) => {
                        ctx.function_crons
                            .after_failed_write(&cache_scope, &error)
                            .await;
                        return Err(Error::scaleway("update cron")(error));
                    }
                };
                ctx.function_crons.put(&cache_scope, &updated).await;
                events.push((
                    "Updated",
                    format!(
                        "updated Scaleway cron {} ({})",
                        updated.id,
                        changed_fields(&update).join(", ")
                    ),
                ));
                updated
            }
        }
    };
    // A create whose answer was lost may have landed after the retry created another:
    // the intent marks every cron of that name as ours, so remove all but the one kept.
    if let Some(requested) = status.create_requested.clone() {
        for extra in ctx.function_crons.named(&cache_scope, &requested).await {
            if extra.id == remote.id {
                continue;
            }
            match api.delete_cron(&extra.id).await {
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(Error::scaleway("delete duplicate cron")(error)),
            }
            ctx.function_crons.remove(&cache_scope, &extra.id).await;
            events.push((
                "DuplicateDeleted",
                format!(
                    "deleted duplicate Scaleway cron {} ({})",
                    extra.name, extra.id
                ),
            ));
        }
    }
    let uncertain = ctx.uncertain_creates.pending(&key);
    if !uncertain {
        status.create_requested = None;
    }
    let mut report = report(object, ctx, status, &remote, events, resync).waiting_on_remote(
        "cron",
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

/// The report for a remote cron as it now stands.
fn report(
    object: &ServerlessFunctionCron,
    ctx: &Context,
    mut status: ServerlessFunctionCronStatus,
    remote: &Cron,
    events: Vec<(&'static str, String)>,
    resync: std::time::Duration,
) -> Report<ServerlessFunctionCronStatus> {
    let remote_status = Status::from(remote.status.as_str());
    status.id = Some(remote.id.clone());
    status.remote_status = Some(remote.status.to_string());
    let assessment = assess("cron", &remote_status, None);
    let action = requeue_for(&remote_status, &object_key(object), ctx, resync);
    Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    }
}

/// Deletion: honours the policy, deletes the remote cron and waits until it is gone. A
/// function or namespace already deleted took the cron with it (cascade).
async fn cleanup(object: Arc<ServerlessFunctionCron>, ctx: Arc<Context>) -> Result<Action, Error> {
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
        (Some(id), _, _) => match api.get_cron(id).await {
            Ok(remote) => Some(remote),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(Error::scaleway("get cron")(error)),
        },
        // Created at our request, ID never recorded: only a cron with that name is ours.
        (None, Some(requested), Some(function_id)) => api
            .list_all_crons(&CronFilter::of_function(function_id.clone()))
            .await
            .map_err(Error::scaleway("list crons"))?
            .into_iter()
            .find(|c| &c.name == requested),
        _ => None,
    };
    // While the intent is recorded, every cron of that name is ours: a create that landed
    // late is deleted with the one recorded.
    if let (Some(requested), Some(function_id)) = (&previous.create_requested, function_id) {
        let kept = remote.as_ref().map(|r| r.id.as_str());
        let crons = api
            .list_all_crons(&CronFilter::of_function(function_id.clone()))
            .await
            .map_err(Error::scaleway("list crons"))?;
        for extra in crons
            .iter()
            .filter(|c| &c.name == requested && Some(c.id.as_str()) != kept)
        {
            match api.delete_cron(&extra.id).await {
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(Error::scaleway("delete duplicate cron")(error)),
            }
        }
    }
    if let Some(cache_scope) = &target.cache_scope() {
        let remote_id = remote.as_ref().map(|r| r.id.as_str());
        ctx.function_crons
            .forget(cache_scope, &[previous.id.as_deref(), remote_id])
            .await;
    }
    let deleting = ServerlessFunctionCronStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    let delete = |id: String| async move { api.delete_cron(&id).await.map(|_| ()) };
    reconciler::delete_remote(object, &ctx, "cron", remote, delete, deleting).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(schedule: &str, args: serde_json::Value) -> ServerlessFunctionCronSpec {
        serde_json::from_value(serde_json::json!({
            "functionRef": {"name": "f"}, "schedule": schedule, "args": args
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn remote(schedule: &str, args: serde_json::Value, name: &str) -> Cron {
        Cron {
            id: "c".into(),
            function_id: "f".into(),
            schedule: schedule.into(),
            args: args.as_object().cloned().unwrap_or_default(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_to_send_when_the_cron_matches() {
        let spec = spec("0 3 * * *", serde_json::json!({"a": [1, {"b": true}]}));
        let same = remote(
            "0  3 * *  *",
            serde_json::json!({"a": [1, {"b": true}]}),
            "n",
        );
        assert!(update_for(&spec, "n", &same).is_empty());
    }

    #[test]
    fn only_what_differs_is_sent() {
        let spec = spec("0 4 * * *", serde_json::json!({"a": 1}));
        let update = update_for(
            &spec,
            "n",
            &remote("0 3 * * *", serde_json::json!({"a": 1}), "n"),
        );
        assert_eq!(update.schedule.as_deref(), Some("0 4 * * *"));
        assert_eq!(update.args, None);
        assert_eq!(update.name, None);
        let update = update_for(&spec, "m", &remote("0 4 * * *", serde_json::json!({}), "n"));
        assert_eq!(update.schedule, None);
        assert_eq!(update.name.as_deref(), Some("m"));
        assert_eq!(
            update.args.map(serde_json::Value::Object),
            Some(serde_json::json!({"a": 1}))
        );
    }

    #[test]
    fn unset_args_mean_an_empty_object() {
        let spec: ServerlessFunctionCronSpec = serde_json::from_value(serde_json::json!({
            "functionRef": {"name": "f"}, "schedule": "* * * * *"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            update_for(
                &spec,
                "n",
                &remote("* * * * *", serde_json::json!(null), "n")
            )
            .is_empty()
        );
        let sent = serde_json::to_value(create_request(&spec, "n", "f")).unwrap_or_default();
        assert_eq!(sent["args"], serde_json::json!({}));
        assert_eq!(sent["name"], "n");
    }
}
