//! Conditions and status writes, following kstatus: `Ready` and `Synced` are always present,
//! `Reconciling=True` while work is in progress and `Stalled=True` when nothing will change
//! until the user acts. A status is written only when it differs from the current one.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::crd::Condition;

/// Condition types this operator sets.
pub const READY: &str = "Ready";
/// Whether the last reconcile brought Scaleway in line with the spec.
pub const SYNCED: &str = "Synced";
/// kstatus: work in progress.
pub const RECONCILING: &str = "Reconciling";
/// kstatus: stuck until the user acts.
pub const STALLED: &str = "Stalled";
/// `managementPolicy: Paused`: the operator does not reconcile the object.
pub const PAUSED: &str = "Paused";

/// Message of `Synced=True` after a reconcile that applied the spec.
const APPLIED: &str = "the last reconcile applied the spec";

/// How an object stands after a reconcile, before it is turned into conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// Ready: `Ok(message)` or `Err((reason, message))`.
    pub ready: Result<String, (String, String)>,
    /// Synced: `Ok((reason, message))` or `Err((reason, message))`.
    pub synced: Result<(String, String), (String, String)>,
    /// Work is in progress (remote transient status, waiting on a dependency, retrying).
    pub reconciling: Option<(String, String)>,
    /// Stuck until the user acts.
    pub stalled: Option<(String, String)>,
    /// Not reconciled on purpose (`managementPolicy: Paused`): the message.
    pub paused: Option<String>,
}

fn synced_ok() -> Result<(String, String), (String, String)> {
    Ok(("Synced".to_owned(), APPLIED.to_owned()))
}

impl Assessment {
    /// Everything is in place.
    pub fn ready(message: impl Into<String>) -> Self {
        Self {
            ready: Ok(message.into()),
            synced: synced_ok(),
            reconciling: None,
            stalled: None,
            paused: None,
        }
    }

    /// In sync with the spec, waiting for Scaleway to finish.
    pub fn progressing(reason: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            ready: Err((reason.to_owned(), message.clone())),
            synced: synced_ok(),
            reconciling: Some((reason.to_owned(), message)),
            stalled: None,
            paused: None,
        }
    }

    /// Not ready, and the last reconcile could not sync; `stalled` says whether the user
    /// must act.
    pub fn failed(reason: &str, message: impl Into<String>, stalled: bool) -> Self {
        let message = message.into();
        let pair = (reason.to_owned(), message.clone());
        Self {
            ready: Err(pair.clone()),
            synced: Err(pair.clone()),
            reconciling: (!stalled).then(|| pair.clone()),
            stalled: stalled.then_some(pair),
            paused: None,
        }
    }

    /// The spec could not be applied yet because Scaleway is busy with the object (a 409
    /// "transient state"): not an error, the change follows when the object settles.
    pub fn waiting_for_remote(message: impl Into<String>) -> Self {
        let pair = ("WaitingForRemote".to_owned(), message.into());
        Self {
            ready: Err(pair.clone()),
            synced: Err(pair.clone()),
            reconciling: Some(pair),
            stalled: None,
            paused: None,
        }
    }

    /// Observe-only: `self` (how the remote object stands) with `Synced` saying that nothing
    /// is written, and where the remote object differs from the spec.
    pub fn observed(mut self, drift: &[String]) -> Self {
        let message = if drift.is_empty() {
            "observe-only: the remote object matches the spec".to_owned()
        } else {
            format!(
                "observe-only: the remote object differs from the spec in {} (not changed)",
                drift.join(", ")
            )
        };
        if self.synced.is_ok() {
            self.synced = Ok(("ObserveOnly".to_owned(), message));
        }
        self
    }

    /// `managementPolicy: Paused`: `Ready` keeps what it last said, `Synced=False`, and
    /// `Paused=True`.
    pub fn paused(previous: &[Condition], message: impl Into<String>) -> Self {
        let message = message.into();
        let ready = match previous.iter().find(|c| c.type_ == READY) {
            Some(c) if c.status == "True" => Ok(c.message.to_string()),
            Some(c) => Err((c.reason.to_string(), c.message.to_string())),
            None => Err(("Paused".to_owned(), message.clone())),
        };
        Self {
            ready,
            synced: Err(("Paused".to_owned(), message.clone())),
            reconciling: None,
            stalled: None,
            paused: Some(message),
        }
    }
}

fn condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: Time(Timestamp::now()),
    }
}

/// Builds the conditions for `assessment`, keeping each condition's `lastTransitionTime`
/// when its status did not change.
pub fn compute(
    previous: &[Condition],
    generation: Option<i64>,
    assessment: &Assessment,
) -> Vec<Condition> {
    let mut next = Vec::with_capacity(4);
    match &assessment.ready {
        Ok(message) => next.push(condition(READY, true, "UpToDate", message, generation)),
        Err((reason, message)) => next.push(condition(READY, false, reason, message, generation)),
    }
    match &assessment.synced {
        Ok((reason, message)) => next.push(condition(SYNCED, true, reason, message, generation)),
        Err((reason, message)) => next.push(condition(SYNCED, false, reason, message, generation)),
    }
    if let Some((reason, message)) = &assessment.reconciling {
        next.push(condition(RECONCILING, true, reason, message, generation));
    }
    if let Some((reason, message)) = &assessment.stalled {
        next.push(condition(STALLED, true, reason, message, generation));
    }
    if let Some(message) = &assessment.paused {
        next.push(condition(PAUSED, true, "Paused", message, generation));
    }
    for condition in &mut next {
        if let Some(old) = previous.iter().find(|c| c.type_ == condition.type_)
            && old.status == condition.status
        {
            condition.last_transition_time = old.last_transition_time.clone();
        }
    }
    next
}

/// Whether two condition lists say the same thing, timestamps aside.
pub fn same(a: &[Condition], b: &[Condition]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.type_ == y.type_
                && x.status == y.status
                && x.reason == y.reason
                && x.message == y.message
                && x.observed_generation == y.observed_generation
        })
}

/// Whether the `Ready` condition is True.
pub fn is_ready(conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == READY && c.status == "True")
}

/// The JSON merge patch that turns status `old` into `new`: keys of `old` that `new` lacks
/// are set to `null`, so that the patch clears them.
pub fn status_patch<S: Serialize>(old: Option<&S>, new: &S) -> serde_json::Value {
    let old = old
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or(serde_json::Value::Null);
    let mut new = serde_json::to_value(new).unwrap_or(serde_json::Value::Null);
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object_mut()) {
        for key in old.keys() {
            if !new.contains_key(key) {
                new.insert(key.clone(), serde_json::Value::Null);
            }
        }
    }
    serde_json::json!({ "status": new })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_the_status_holds() {
        let first = compute(
            &[],
            Some(1),
            &Assessment::progressing("Creating", "creating"),
        );
        let mut old = first.clone();
        old[0].last_transition_time = Time(Timestamp::UNIX_EPOCH);
        let again = compute(
            &old,
            Some(1),
            &Assessment::progressing("Creating", "still creating"),
        );
        assert_eq!(again[0].last_transition_time, Time(Timestamp::UNIX_EPOCH));
        let ready = compute(&old, Some(1), &Assessment::ready("ok"));
        assert_ne!(ready[0].last_transition_time, Time(Timestamp::UNIX_EPOCH));
        assert!(is_ready(&ready));
        assert_eq!(ready.len(), 2, "no Reconciling or Stalled when ready");
    }

    #[test]
    fn failures_mark_stalled_or_reconciling() {
        let stalled = compute(
            &[],
            Some(2),
            &Assessment::failed("InvalidSpec", "bad", true),
        );
        let types: Vec<_> = stalled
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str()))
            .collect();
        assert_eq!(
            types,
            [("Ready", "False"), ("Synced", "False"), ("Stalled", "True")]
        );
        let retrying = compute(
            &[],
            Some(2),
            &Assessment::failed("ScalewayServerError", "503", false),
        );
        assert!(retrying.iter().any(|c| c.type_ == RECONCILING));
        assert!(stalled.iter().all(|c| c.observed_generation == Some(2)));
    }

    #[test]
    fn comparison_ignores_timestamps_only() {
        let a = compute(&[], Some(1), &Assessment::ready("ok"));
        let mut b = a.clone();
        b[0].last_transition_time = Time(Timestamp::UNIX_EPOCH);
        assert!(same(&a, &b));
        b[0].message = "changed".into();
        assert!(!same(&a, &b));
    }

    #[test]
    fn removed_status_fields_are_cleared_by_the_patch() {
        let old = serde_json::json!({"id": "x", "errorMessage": "boom"});
        let new = serde_json::json!({"id": "x"});
        assert_eq!(
            status_patch(Some(&old), &new),
            serde_json::json!({"status": {"id": "x", "errorMessage": null}})
        );
    }
}
