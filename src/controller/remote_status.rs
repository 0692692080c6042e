//! What a remote status means for conditions and for the next look: `ready` is Ready,
//! transient statuses are progress (polled with backoff), `error` and `locked` are not
//! Ready and carry Scaleway's message. A remote `error` is never reported as Ready.

use std::time::Duration;

use super::requeue::Action;

use super::conditions::Assessment;
use super::context::Context;
use crate::scaleway::types::Status;

/// Conditions for a remote object of `kind` that Scaleway is busy with (`status`) while the
/// spec asks for a change of the `pending` fields, or a redeploy: not Synced, reason
/// `WaitingForRemote`, until it settles and the change is applied; or, for a `locked` one,
/// not Synced and stalled (`RemoteLocked`), as the change cannot be applied. `None` when
/// nothing waits (plain progress, see [`assess`]).
pub fn change_waits_for(
    kind: &str,
    status: &str,
    pending: &[String],
    redeploy: bool,
) -> Option<Assessment> {
    let change = match (pending.is_empty(), redeploy) {
        (true, false) => return None,
        (true, true) => "the redeploy".to_owned(),
        (false, _) => format!("the change of {}", pending.join(", ")),
    };
    if is_locked(status) {
        // Not a wait: Scaleway refuses every change to a locked resource.
        return Some(Assessment::failed(
            "RemoteLocked",
            format!("Scaleway reports the {kind} locked: {change} cannot be applied"),
            true,
        ));
    }
    Some(Assessment::waiting_for_remote(format!(
        "Scaleway is working on the {kind} ({status}): {change} is applied once it settles"
    )))
}

/// Whether a remote status, as on the wire (both APIs spell it so), is `locked`: Scaleway
/// refuses every change to the resource.
pub fn is_locked(status: &str) -> bool {
    status == "locked"
}

/// Conditions for a remote object of `kind` in `status`.
pub fn assess(kind: &str, status: &Status, error_message: Option<&str>) -> Assessment {
    match status {
        Status::Ready => Assessment::ready(format!("Scaleway reports the {kind} ready")),
        Status::Error => {
            let message = match error_message {
                Some(message) => format!("Scaleway reports the {kind} in error: {message}"),
                None => format!("Scaleway reports the {kind} in error"),
            };
            Assessment {
                synced: Assessment::ready("").synced,
                ..Assessment::failed("RemoteError", message, true)
            }
        }
        Status::Locked => Assessment {
            synced: Assessment::ready("").synced,
            ..Assessment::failed(
                "RemoteLocked",
                format!("Scaleway reports the {kind} locked: it cannot be modified"),
                true,
            )
        },
        Status::Creating => {
            Assessment::progressing("Creating", format!("Scaleway is creating the {kind}"))
        }
        Status::Updating => {
            Assessment::progressing("Updating", format!("Scaleway is rolling out the {kind}"))
        }
        Status::Deleting => {
            Assessment::progressing("Deleting", format!("Scaleway is deleting the {kind}"))
        }
        Status::Locking => {
            Assessment::progressing("Locking", format!("Scaleway is locking the {kind}"))
        }
        Status::Upgrading => Assessment::progressing(
            "Upgrading",
            format!("Scaleway is upgrading the {kind} (planned maintenance)"),
        ),
        Status::Pending => Assessment::progressing(
            "Pending",
            format!("Scaleway is building and deploying the {kind}"),
        ),
        Status::Created => Assessment::progressing(
            "NotDeployed",
            format!("the {kind} exists at Scaleway but has no code deployed yet"),
        ),
        Status::UnknownStatus | Status::Unknown(_) => Assessment::progressing(
            "RemoteStatusUnknown",
            format!("Scaleway reports the {kind} in status {status:?}"),
        ),
    }
}

/// When to look again: poll while transient (see `PollSchedule`), else at the object's
/// resync period.
pub fn requeue_for(status: &Status, key: &str, ctx: &Context, resync: Duration) -> Action {
    let settled = matches!(status, Status::Ready | Status::Error | Status::Locked);
    if settled {
        ctx.polls.reset(key);
        Action::requeue(Context::jittered(resync))
    } else {
        let config = &ctx.config;
        let kind = key.split('/').next().unwrap_or_default();
        let class = format!("{kind}:{status}");
        Action::requeue(
            ctx.polls
                .next(key, &class, config.poll_initial, config.poll_max),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_waiting_for_a_busy_object_is_not_synced() {
        assert!(change_waits_for("container", Status::Updating.as_str(), &[], false).is_none());
        let fields = vec!["max_scale".to_owned()];
        let waiting = change_waits_for("container", Status::Updating.as_str(), &fields, false);
        let text = format!("{waiting:?}");
        assert!(
            text.contains("WaitingForRemote") && text.contains("the change of max_scale"),
            "{text}"
        );
        assert!(waiting.is_some_and(|w| w.synced.is_err()));
        let redeploy = format!(
            "{:?}",
            change_waits_for("container", Status::Updating.as_str(), &[], true)
        );
        assert!(redeploy.contains("the redeploy"), "{redeploy}");
    }

    #[test]
    fn a_change_to_a_locked_object_is_not_synced_and_stalls() {
        assert!(change_waits_for("namespace", Status::Locked.as_str(), &[], false).is_none());
        let fields = vec!["description".to_owned()];
        let Some(locked) = change_waits_for("namespace", Status::Locked.as_str(), &fields, false)
        else {
            panic!("a pending change to a locked namespace is reported");
        };
        assert!(
            matches!(&locked.synced, Err((reason, message)) if reason == "RemoteLocked"
                && message.contains("the change of description cannot be applied")),
            "{locked:?}"
        );
        assert!(locked.stalled.is_some(), "{locked:?}");
        // The functions API's statuses say `locked` too.
        let function_locked = crate::scaleway::functions::types::FunctionStatus::Locked;
        assert!(
            change_waits_for("function", function_locked.as_str(), &fields, false)
                .is_some_and(|a| a.stalled.is_some())
        );
    }

    #[test]
    fn error_is_never_ready_and_carries_the_message() {
        let assessment = assess("container", &Status::Error, Some("image pull failed"));
        assert!(assessment.ready.is_err());
        let text = format!("{assessment:?}");
        assert!(
            text.contains("image pull failed") && text.contains("RemoteError"),
            "{text}"
        );
        assert!(assessment.stalled.is_some());
    }

    #[test]
    fn transient_statuses_are_progress() {
        for status in [
            Status::Creating,
            Status::Updating,
            Status::Deleting,
            Status::Upgrading,
        ] {
            let assessment = assess("namespace", &status, None);
            assert!(
                assessment.ready.is_err()
                    && assessment.reconciling.is_some()
                    && assessment.synced.is_ok()
            );
        }
        assert!(assess("trigger", &Status::Ready, None).ready.is_ok());
    }
}
