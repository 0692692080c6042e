//! Status life cycles, evaluated lazily from timestamps.
//!
//! A mutation sets a transient status and a *pending* transition (due instant + outcome).
//! Nothing runs in the background: every access first calls [`Lifecycle::settle`], which
//! applies the outcome once the due instant has passed. This keeps the emulator cheap and
//! deterministic, and lets the `stuck_transient` fault freeze transitions simply by skipping
//! the settle.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::wire::enums::Status;

/// One reading of both clocks, taken once per request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    /// Monotonic clock, for due instants.
    pub instant: Instant,
    /// Wall clock, for `created_at` / `updated_at`.
    pub wall: Timestamp,
}

impl Now {
    /// Reads both clocks.
    pub(crate) fn capture() -> Self {
        Self {
            instant: Instant::now(),
            wall: Timestamp::now(),
        }
    }
}

/// Where a pending transition ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `ready`, clearing `error_message`.
    Ready,
    /// `error` with this message.
    Error(String),
    /// The resource disappears.
    Gone,
}

#[derive(Clone, Debug)]
struct Pending {
    due: Instant,
    due_wall: Timestamp,
    outcome: Outcome,
}

/// Status, error message, timestamps and the pending transition of one resource.
#[derive(Clone, Debug)]
pub(crate) struct Lifecycle {
    status: Status,
    error_message: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    pending: Option<Pending>,
}

impl Lifecycle {
    /// A new resource in `status` that reaches `outcome` after `delay`.
    pub(crate) fn start(now: Now, status: Status, delay: Duration, outcome: Outcome) -> Self {
        let mut life = Self {
            status,
            error_message: None,
            created_at: now.wall,
            updated_at: now.wall,
            pending: None,
        };
        life.begin(now, status, delay, outcome);
        life
    }

    /// A new resource already settled in `status` (no pending transition).
    pub(crate) fn settled(now: Now, status: Status) -> Self {
        Self {
            status,
            error_message: None,
            created_at: now.wall,
            updated_at: now.wall,
            pending: None,
        }
    }

    /// Enters the transient `status` now and schedules `outcome` after `delay`.
    pub(crate) fn begin(&mut self, now: Now, status: Status, delay: Duration, outcome: Outcome) {
        self.status = status;
        self.updated_at = now.wall;
        let due_wall = now.wall.checked_add(delay).unwrap_or(now.wall);
        self.pending = Some(Pending {
            due: now.instant + delay,
            due_wall,
            outcome,
        });
    }

    /// Marks a modification that does not change the status (e.g. a domain's tags).
    pub(crate) fn touch(&mut self, now: Now) {
        self.updated_at = now.wall;
    }

    /// When the pending transition is due, if there is one.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.pending.as_ref().map(|pending| pending.due)
    }

    /// Applies the pending transition if it is due and transitions are not frozen.
    /// Returns true when the resource is gone.
    pub(crate) fn settle(&mut self, now: Instant, frozen: bool) -> bool {
        if frozen {
            return false;
        }
        let Some(pending) = self.pending.take_if(|pending| pending.due <= now) else {
            return false;
        };
        self.updated_at = pending.due_wall;
        match pending.outcome {
            Outcome::Ready => {
                self.status = Status::Ready;
                self.error_message = None;
                false
            }
            Outcome::Error(message) => {
                self.status = Status::Error;
                self.error_message = Some(message);
                false
            }
            Outcome::Gone => true,
        }
    }

    /// Out-of-band change (admin API): sets the status at once and cancels any pending
    /// transition, so the resource stays in `status` until something else changes it.
    pub(crate) fn force(&mut self, now: Now, status: Status, error_message: Option<String>) {
        self.status = status;
        self.error_message = error_message;
        self.updated_at = now.wall;
        self.pending = None;
    }

    /// Current status.
    pub(crate) fn status(&self) -> Status {
        self.status
    }

    /// Last error message, if any.
    pub(crate) fn error_message(&self) -> Option<&str> {
        self.error_message.as_deref()
    }

    /// Creation time.
    pub(crate) fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// Last modification or transition time.
    pub(crate) fn updated_at(&self) -> Timestamp {
        self.updated_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_only_when_due_and_not_frozen() {
        let now = Now::capture();
        let delay = Duration::from_secs(2);
        let mut life = Lifecycle::start(now, Status::Creating, delay, Outcome::Ready);
        assert!(!life.settle(now.instant + Duration::from_secs(1), false));
        assert_eq!(life.status(), Status::Creating);
        assert!(!life.settle(now.instant + delay, true));
        assert_eq!(life.status(), Status::Creating);
        assert!(!life.settle(now.instant + delay, false));
        assert_eq!(life.status(), Status::Ready);
        assert_eq!(life.updated_at(), now.wall.checked_add(delay).unwrap());
        assert_eq!(life.created_at(), now.wall);
    }

    #[test]
    fn error_and_gone_outcomes() {
        let now = Now::capture();
        let mut life = Lifecycle::start(
            now,
            Status::Creating,
            Duration::ZERO,
            Outcome::Error("boom".into()),
        );
        assert!(!life.settle(now.instant, false));
        assert_eq!(life.status(), Status::Error);
        assert_eq!(life.error_message(), Some("boom"));
        life.begin(now, Status::Updating, Duration::ZERO, Outcome::Ready);
        assert_eq!(life.error_message(), Some("boom"), "kept while updating");
        assert!(!life.settle(now.instant, false));
        assert_eq!(life.error_message(), None);
        life.begin(now, Status::Deleting, Duration::ZERO, Outcome::Gone);
        assert!(life.settle(now.instant, false));
    }

    #[test]
    fn force_cancels_pending() {
        let now = Now::capture();
        let mut life = Lifecycle::start(now, Status::Creating, Duration::ZERO, Outcome::Ready);
        life.force(now, Status::Locked, None);
        assert!(!life.settle(now.instant + Duration::from_secs(60), false));
        assert_eq!(life.status(), Status::Locked);
    }
}
