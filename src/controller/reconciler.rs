//! The part of a reconcile that is the same for every kind: the finalizer, the status
//! write (skipped when nothing changed), events, and the requeue decision.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::requeue::Action;
use crate::crd::Condition;
use kube::api::{Patch, PatchParams};
use kube::runtime::finalizer::{self, finalizer};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::conditions::{self, Assessment};
use super::context::Context;
use super::error::{Error, Recovery};
use super::events::EventType;
use super::observe::RemoteObject;
use super::policy;
use crate::crd::{AdoptionPolicy, DeletionPolicy, ManagementPolicy};
use crate::scaleway;

/// The finalizer that ties each object to its Scaleway resource.
pub const FINALIZER: &str = "serverless.scaleway.com/finalizer";

/// A kind this operator manages.
pub trait Managed:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// Its status type.
    type Status: Serialize + DeserializeOwned + Clone + Default + PartialEq + Debug + Send + Sync;
    /// Kind name, for logs and backoff keys.
    const KIND: &'static str;
    /// The current status.
    fn status(&self) -> Option<&Self::Status>;
    /// Replaces the status (of a local copy: nothing is written).
    fn set_status(&mut self, status: Self::Status);
    /// Conditions of a status.
    fn conditions(status: &Self::Status) -> &[Condition];
    /// Sets conditions and observed generation.
    fn set_conditions(
        status: &mut Self::Status,
        conditions: Vec<Condition>,
        generation: Option<i64>,
    );
    /// Manage, Observe or Paused.
    fn management(&self) -> ManagementPolicy;
    /// Whether a remote object not created for this one may be taken over.
    fn adoption(&self) -> AdoptionPolicy;
    /// The deletion policy the spec sets, if any.
    fn deletion_policy(&self) -> Option<DeletionPolicy>;
    /// The remote ID recorded in status.
    fn remote_id(&self) -> Option<String>;
    /// The region recorded in status.
    fn region(&self) -> Option<String>;
}

/// Implements [`Managed`] for a kind whose status has `conditions` and `observed_generation`.
macro_rules! managed {
    ($kind:ty, $status:ty, $name:literal) => {
        impl $crate::controller::reconciler::Managed for $kind {
            type Status = $status;
            const KIND: &'static str = $name;
            fn status(&self) -> Option<&Self::Status> {
                self.status.as_ref()
            }
            fn set_status(&mut self, status: Self::Status) {
                self.status = Some(status);
            }
            fn conditions(status: &Self::Status) -> &[$crate::crd::Condition] {
                &status.conditions
            }
            fn set_conditions(
                status: &mut Self::Status,
                conditions: Vec<$crate::crd::Condition>,
                generation: Option<i64>,
            ) {
                status.conditions = conditions;
                status.observed_generation = generation;
            }
            fn management(&self) -> $crate::crd::ManagementPolicy {
                self.spec.management_policy
            }
            fn adoption(&self) -> $crate::crd::AdoptionPolicy {
                self.spec.adoption_policy
            }
            fn deletion_policy(&self) -> Option<$crate::crd::DeletionPolicy> {
                self.spec.deletion_policy
            }
            fn remote_id(&self) -> Option<String> {
                self.status
                    .as_ref()
                    .and_then(|s| s.id.as_deref().map(str::to_owned))
            }
            fn region(&self) -> Option<String> {
                self.status
                    .as_ref()
                    .and_then(|s| s.region.as_deref().map(str::to_owned))
            }
        }
    };
}
pub(crate) use managed;

/// What a successful step produced: the status facts, how the object stands, when to look
/// again, and the events a user should see.
pub struct Report<S> {
    /// Status without conditions (they are computed from `assessment`).
    pub status: S,
    /// How the object stands.
    pub assessment: Assessment,
    /// When to reconcile again.
    pub action: Action,
    /// Normal events: (reason, note).
    pub events: Vec<(&'static str, String)>,
    /// When the status is written.
    pub status_write: StatusWrite,
}

/// When a reconcile writes the status it computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusWrite {
    /// Now, before the reconcile ends (when it differs from the stored one).
    #[default]
    Now,
    /// At the object's next look, `poll_initial` later, together with the events (that look
    /// records what the create returned, from the snapshot): for a
    /// create whose every status fact that look reads back from Scaleway (the resource is
    /// found by its name, unique in its scope, and carries this object's owner mark). Scaleway
    /// starts working once the create lands, and the Kubernetes writes around it (a status
    /// patch, an event, the watch traffic they cause) cost several times the create itself:
    /// in a burst of thousands, holding them back lets every create reach Scaleway first, and
    /// the writes follow while Scaleway works. A crash in between loses nothing but the held
    /// events: the next look adopts the resource by name, as after a lost create answer.
    AtNextLook,
}

impl<S> Report<S> {
    /// Observe-only: the same report, with `Synced` saying nothing was written and where
    /// the remote object differs from the spec.
    pub fn observed(mut self, drift: &[String]) -> Self {
        self.assessment = self.assessment.observed(drift);
        self
    }

    /// Scaleway is busy with the remote `kind` object (`status`, transient or locked) while the
    /// spec asks for a change of the `pending` fields, or a `redeploy`: the same report, but not
    /// Synced (`WaitingForRemote` until it settles and the change is applied; `RemoteLocked`,
    /// stalled, while it is locked). Unchanged when nothing waits.
    pub fn waiting_on_remote(
        mut self,
        kind: &str,
        status: &str,
        pending: &[String],
        redeploy: bool,
    ) -> Self {
        if let Some(waiting) =
            super::remote_status::change_waits_for(kind, status, pending, redeploy)
        {
            self.assessment = waiting;
        }
        self
    }
}

/// The field names an update sends, for events and drift reports (never the values).
pub fn changed_fields<T: serde::Serialize>(update: &T) -> Vec<String> {
    match serde_json::to_value(update) {
        Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
        _ => vec![String::from("settings")],
    }
}

/// A stable key for per-object counters.
pub fn object_key<K: Managed>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::KIND,
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

tokio::task_local! {
    /// The result label of the reconcile running on this task (`success` or an error
    /// reason), set by `finish` for failures it reports in status instead of returning.
    static RESULT: std::cell::Cell<&'static str>;
}

/// Runs `apply` or `cleanup` under the finalizer, flattens its errors, records the
/// reconcile's result and duration, and leaves the object waiting for its next look (see
/// [`Requeues`](super::requeue::Requeues)).
pub async fn reconcile<K, A, AF, C, CF>(
    object: Arc<K>,
    ctx: Arc<Context>,
    apply: A,
    cleanup: C,
) -> Result<kube::runtime::controller::Action, Error>
where
    K: Managed,
    A: FnOnce(Arc<K>, Arc<Context>) -> AF,
    AF: Future<Output = Result<Action, Error>>,
    C: FnOnce(Arc<K>, Arc<Context>) -> CF,
    CF: Future<Output = Result<Action, Error>>,
{
    let started = std::time::Instant::now();
    // This look replaces the object's wait; its outcome is the next one.
    ctx.requeues.forget(object.as_ref());
    let metrics = ctx.metrics.clone();
    let (result, label) = RESULT
        .scope(std::cell::Cell::new("success"), async {
            let result = if object.management() == ManagementPolicy::Paused {
                paused(object.as_ref(), &ctx)
                    .await
                    .map(|action| ctx.requeues.settle(object.as_ref(), action))
            } else {
                finalized(object, ctx, apply, cleanup).await
            };
            let label = match &result {
                Ok(_) => RESULT.with(|r| r.get()),
                Err(error) => error.reason(),
            };
            (result, label)
        })
        .await;
    metrics.reconciled(K::KIND, label, started.elapsed());
    // Inside kube-runtime's span, which names the object and why it was reconciled (for a
    // look that was due, "unknown": the debug line "next look due" comes just before it).
    tracing::debug!(kind = K::KIND, result = label, elapsed = ?started.elapsed(), "reconciled");
    result
}

/// `managementPolicy: Paused`: nothing is read from or written to Scaleway, and a deletion
/// waits (the finalizer stays) until the object is unpaused, so that pausing never leaks a
/// paid resource. Status says so; a spec change (unpausing) wakes the object.
async fn paused<K: Managed>(object: &K, ctx: &Context) -> Result<Action, Error> {
    let message = if object.meta().deletion_timestamp.is_some() {
        "managementPolicy is Paused: the deletion waits; set it to Manage to delete the Scaleway resource, or to Observe to leave it in place"
    } else {
        "managementPolicy is Paused: changes are not applied and Scaleway is not read"
    };
    let status = object.status().cloned().unwrap_or_default();
    let previous = object.status().map(K::conditions).unwrap_or_default();
    write_status(object, ctx, status, &Assessment::paused(previous, message)).await?;
    publish_deferred(object, ctx).await;
    Ok(Action::await_change())
}

async fn finalized<K, A, AF, C, CF>(
    object: Arc<K>,
    ctx: Arc<Context>,
    apply: A,
    cleanup: C,
) -> Result<kube::runtime::controller::Action, Error>
where
    K: Managed,
    A: FnOnce(Arc<K>, Arc<Context>) -> AF,
    AF: Future<Output = Result<Action, Error>>,
    C: FnOnce(Arc<K>, Arc<Context>) -> CF,
    CF: Future<Output = Result<Action, Error>>,
{
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &namespace);
    let waiting = object.clone();
    let result = finalizer(&api, FINALIZER, object, |event| async {
        let action = match event {
            finalizer::Event::Apply(object) => apply(object, ctx.clone()).await?,
            finalizer::Event::Cleanup(object) => {
                publish_deferred(object.as_ref(), &ctx).await;
                cleanup(object, ctx.clone()).await?
            }
        };
        Ok(ctx.requeues.settle(waiting.as_ref(), action))
    })
    .await;
    result.map_err(|error| match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        finalizer::Error::AddFinalizer(source) => Error::Kube {
            action: "add finalizer",
            source: Box::new(source),
        },
        finalizer::Error::RemoveFinalizer(source) => Error::Kube {
            action: "remove finalizer",
            source: Box::new(source),
        },
        other => Error::InvalidSpec(other.to_string()),
    })
}

/// Writes the status of a report (or of a failure), publishes its events, and turns it
/// into the next action. Failures are reported in status, not returned, unless `keep_error`
/// (cleanup must fail to keep the finalizer).
pub async fn finish<K: Managed>(
    object: &K,
    ctx: &Context,
    outcome: Result<Report<K::Status>, Error>,
) -> Result<Action, Error> {
    let key = object_key(object);
    match outcome {
        Ok(report) if report.status_write == StatusWrite::AtNextLook => {
            ctx.deferred_records.hold(&key, report.events);
            ctx.backoff.reset(&key);
            Ok(Action::requeue(ctx.config.poll_initial))
        }
        Ok(report) => {
            write_status(object, ctx, report.status, &report.assessment).await?;
            publish_deferred(object, ctx).await;
            for (reason, note) in report.events {
                publish(object, ctx, EventType::Normal, reason, note).await;
            }
            ctx.backoff.reset(&key);
            Ok(report.action)
        }
        Err(Error::Scaleway {
            action,
            source: scaleway::Error::TransientState { current_state, .. },
        }) => {
            // Scaleway is busy with the object (409): wait for it to settle, then apply.
            let message = format!(
                "Scaleway answered that the {} is {current_state}: the change ({action}) is applied once it settles",
                K::KIND.trim_start_matches("Serverless").to_lowercase()
            );
            let previous = object.status().cloned().unwrap_or_default();
            write_status(
                object,
                ctx,
                previous,
                &Assessment::waiting_for_remote(message),
            )
            .await?;
            publish_deferred(object, ctx).await;
            let config = &ctx.config;
            Ok(Action::requeue(ctx.polls.next(
                &key,
                &format!("{}:busy", K::KIND),
                config.poll_initial,
                config.poll_max,
            )))
        }
        Err(error) => {
            let _ = RESULT.try_with(|r| r.set(error.reason()));
            let stalled = error.recovery() == Recovery::Stalled;
            let previous = object.status().cloned().unwrap_or_default();
            let message = error.user_message();
            let assessment = Assessment::failed(error.reason(), message.clone(), stalled);
            write_status(object, ctx, previous, &assessment).await?;
            publish_deferred(object, ctx).await;
            if error.warrants_event() {
                publish(object, ctx, EventType::Warning, error.reason(), message).await;
            }
            Ok(requeue_after_error(&error, object, ctx))
        }
    }
}

/// Publishes the events a create held back for this look (see [`StatusWrite::AtNextLook`]).
pub async fn publish_deferred<K: Managed>(object: &K, ctx: &Context) {
    for (reason, note) in ctx.deferred_records.take(&object_key(object)) {
        publish(object, ctx, EventType::Normal, reason, note).await;
    }
}

/// When to retry after `error`: never for a stalled object (a spec or Secret change wakes
/// it), the server's delay when rate limited, else jittered exponential backoff.
pub fn requeue_after_error<K: Managed>(error: &Error, object: &K, ctx: &Context) -> Action {
    let config = &ctx.config;
    let key = &object_key(object);
    match error.recovery() {
        Recovery::Stalled => Action::await_change(),
        Recovery::RetryAfter(delay) => Action::requeue(delay.mul_f64(1.0 + 0.2 * fastrand::f64())),
        Recovery::Retry => Action::requeue(ctx.backoff.next(
            key,
            Duration::from_secs(1),
            config.retry_max,
        )),
        Recovery::WaitForDependency => Action::requeue(ctx.backoff.next(
            key,
            Duration::from_secs(2),
            Duration::from_secs(60),
        )),
        Recovery::Poll => Action::requeue(ctx.polls.next(
            key,
            &format!("{}:{}", K::KIND, error.reason()),
            config.poll_initial,
            config.poll_max,
        )),
        // The watch brings the current copy at once: retry shortly, but back off should the
        // conflict persist (another writer racing us), so it never becomes a tight loop.
        Recovery::Soon => Action::requeue(ctx.backoff.next(
            key,
            Duration::from_millis(100),
            config.retry_max,
        )),
        Recovery::Resync => {
            Action::requeue(Context::jittered(policy::effective_resync(ctx, object)))
        }
    }
}

/// The controller's error policy: errors that escaped `finish` (status writes, finalizer
/// patches, cleanup in progress).
pub fn error_policy<K: Managed>(
    object: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> kube::runtime::controller::Action {
    tracing::debug!(kind = K::KIND, name = %object.name_any(), reason = error.reason(), %error, "reconcile did not finish");
    let action = requeue_after_error(error, object.as_ref(), &ctx);
    ctx.requeues.settle(object.as_ref(), action)
}

/// Writes `status` with conditions from `assessment`, unless it equals the current status.
pub async fn write_status<K: Managed>(
    object: &K,
    ctx: &Context,
    mut status: K::Status,
    assessment: &Assessment,
) -> Result<(), Error> {
    let current = object.status();
    let previous_conditions = current.map(K::conditions).unwrap_or_default();
    let generation = object.meta().generation;
    let conditions = conditions::compute(previous_conditions, generation, assessment);
    K::set_conditions(&mut status, conditions, generation);
    if let Some(current) = current
        && conditions::same(K::conditions(current), K::conditions(&status))
    {
        let mut comparable = status.clone();
        K::set_conditions(&mut comparable, K::conditions(current).to_vec(), generation);
        if &comparable == current {
            return Ok(());
        }
    }
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let patch = conditions::status_patch(current, &status);
    api.patch_status(
        &object.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(Error::kube("write status"))?;
    Ok(())
}

/// Writes `status` before a create, for kinds whose Scaleway resource carries no mark of its
/// owner (function crons and function domains): `status.createRequested` names the resource
/// about to be created, and `status` also records where (region, function, credentials), so
/// that a deletion can find it even if the create's answer never comes. A resource with that
/// name found afterwards (after a crash between the create and the status write, or a lost
/// answer) was created for this object. `object`, a local copy, takes the same status, so
/// that the reconcile's final write compares against it; nothing is written when it already
/// holds it.
pub async fn record_create_intent<K: Managed>(
    object: &mut K,
    ctx: &Context,
    status: K::Status,
) -> Result<(), Error> {
    if object.status() == Some(&status) {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let patch = conditions::status_patch(object.status(), &status);
    api.patch_status(
        &object.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(Error::kube("record the create in status"))?;
    object.set_status(status);
    Ok(())
}

/// Publishes an event; a failure to publish is logged, never fatal. Notes are cut to 1 KiB.
pub async fn publish<K: Managed>(
    object: &K,
    ctx: &Context,
    type_: EventType,
    reason: &str,
    mut note: String,
) {
    if note.len() > 1024 {
        let mut cut = 1024;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
    }
    if let Err(error) = ctx
        .events
        .publish(&object.object_ref(&()), type_, reason, &note)
        .await
    {
        tracing::warn!(%error, reason, "could not publish event");
    }
}

/// A deletion that must leave the remote object in place (observe-only, or the deletion
/// policy in force is Orphan): orphans it and returns the outcome; `None` to delete it.
pub async fn keep_remote<K: Managed>(object: &K, ctx: &Context) -> Option<Result<Action, Error>> {
    if object.management() == ManagementPolicy::Observe {
        return Some(orphan(object, ctx, "managementPolicy: Observe").await);
    }
    let (policy, from) = policy::effective_deletion(ctx, object).await;
    if policy == DeletionPolicy::Orphan {
        let why = format!("deletionPolicy: Orphan, from {from:?}");
        return Some(orphan(object, ctx, &why).await);
    }
    None
}

/// Deletion that leaves the remote object in place (`why`): say so, and let the finalizer go.
pub async fn orphan<K: Managed>(object: &K, ctx: &Context, why: &str) -> Result<Action, Error> {
    let id = object
        .remote_id()
        .unwrap_or_else(|| "(never created)".into());
    let what = K::KIND.trim_start_matches("Serverless").to_lowercase();
    let note = format!("left Scaleway {what} {id} in place ({why})");
    publish(object, ctx, EventType::Normal, "Orphaned", note).await;
    Ok(Action::await_change())
}

/// Keeps the finalizer while `count` objects of `kind` still reference this one (a parent
/// waits for its children, so that each child's own deletion policy applies).
pub async fn wait_for_dependents<K: Managed>(
    object: &K,
    ctx: &Context,
    count: usize,
    kind: &str,
) -> Result<(), Error> {
    if count == 0 {
        return Ok(());
    }
    let message = format!("waiting for {count} {kind}(s) that reference this object to be deleted");
    let status = object.status().cloned().unwrap_or_default();
    write_status(
        object,
        ctx,
        status,
        &Assessment::progressing("Deleting", message.clone()),
    )
    .await?;
    Err(Error::Deleting(message))
}

/// Keeps the finalizer while objects of kind `C` in this object's Kubernetes namespace
/// `refer` to it (a parent waits for its children, so that each child's own deletion policy
/// applies before the parent's deletion takes them along at Scaleway).
pub async fn wait_for_referrers<K: Managed, C: Managed>(
    object: &K,
    ctx: &Context,
    refers: impl Fn(&C, &str) -> bool,
) -> Result<(), Error> {
    let name = object.name_any();
    let children: Api<C> =
        Api::namespaced(ctx.kube.clone(), &object.namespace().unwrap_or_default());
    let count = children
        .list(&Default::default())
        .await
        .map_err(Error::kube("list the objects that reference this one"))?
        .items
        .iter()
        .filter(|child| refers(child, &name))
        .count();
    wait_for_dependents(object, ctx, count, C::KIND).await
}

/// The end of a deletion: nothing left → done; otherwise ask Scaleway to delete `remote`
/// (unless it is already busy) and keep the finalizer until it is gone. `deleting` is the
/// status to show meanwhile.
pub async fn delete_remote<K, T, D, DF>(
    object: &K,
    ctx: &Context,
    what: &'static str,
    remote: Option<T>,
    delete: D,
    deleting: K::Status,
) -> Result<Action, Error>
where
    K: Managed,
    T: RemoteObject,
    D: FnOnce(String) -> DF,
    DF: Future<Output = Result<(), scaleway::Error>>,
{
    let Some(remote) = remote else {
        publish(
            object,
            ctx,
            EventType::Normal,
            "Deleted",
            format!("the Scaleway {what} is deleted"),
        )
        .await;
        return Ok(Action::await_change());
    };
    if !remote.is_transient() {
        match delete(remote.id().to_owned()).await {
            Ok(()) | Err(scaleway::Error::TransientState { .. }) => {}
            Err(error) if error.is_not_found() => {
                publish(
                    object,
                    ctx,
                    EventType::Normal,
                    "Deleted",
                    format!("the Scaleway {what} is deleted"),
                )
                .await;
                return Ok(Action::await_change());
            }
            Err(error) => {
                return Err(Error::Scaleway {
                    action: "delete",
                    source: error,
                });
            }
        }
    }
    let message = format!("waiting for Scaleway to delete {what} {}", remote.id());
    write_status(
        object,
        ctx,
        deleting,
        &Assessment::progressing("Deleting", message.clone()),
    )
    .await?;
    Err(Error::Deleting(message))
}

/// A predicate for the main watch: only spec changes (generation), finalizer changes and
/// the start of a deletion wake a reconcile; our own status writes do not. (Deleting a
/// custom resource does not change its generation, kube-rs/kube issue #1768.)
pub fn spec_or_lifecycle<K: Resource>(object: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = object.meta();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    // Our annotations (resync period) take effect at once.
    for (key, value) in meta.annotations.iter().flatten() {
        if key.starts_with("serverless.scaleway.com/") {
            (key, value).hash(&mut hasher);
        }
    }
    Some(hasher.finish())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    #[test]
    fn the_predicate_ignores_status_but_sees_spec_finalizers_and_deletion() {
        let mut object = ConfigMap::default();
        object.metadata.generation = Some(1);
        let base = spec_or_lifecycle(&object);
        object.metadata.resource_version = Some("42".into());
        object.metadata.annotations = Some([("a".to_owned(), "b".to_owned())].into());
        assert_eq!(
            spec_or_lifecycle(&object),
            base,
            "a status-only write changes only resourceVersion"
        );
        object.metadata.generation = Some(2);
        let spec_changed = spec_or_lifecycle(&object);
        assert_ne!(spec_changed, base);
        object.metadata.finalizers = Some(vec![FINALIZER.into()]);
        let finalized = spec_or_lifecycle(&object);
        assert_ne!(finalized, spec_changed);
        object.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        assert_ne!(spec_or_lifecycle(&object), finalized);
    }
}
