//! Leader election with a coordination.k8s.io Lease: only the holder runs controllers, so two
//! replicas never reconcile at once. The rules are those of client-go's leader election:
//!
//! - A standby measures a lease's age with its own monotonic clock, from the moment it saw the
//!   Lease change, never by comparing the holder's `renewTime` to its own wall clock (so
//!   clock skew between nodes cannot make it take a valid lease).
//! - The leader steps down by itself once it has not renewed for `renew_deadline`, which is
//!   shorter than the lease duration: it stops before any standby may take over, even when a
//!   renewal hangs instead of failing.
//!
//! Losing the lease ends the process so Kubernetes restarts it clean.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use tokio::time::Instant;

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// Lease name.
    pub name: String,
    /// Namespace of the Lease (the operator's own).
    pub namespace: String,
    /// This replica's identity (the pod name).
    pub holder: String,
    /// How long a lease is valid without renewal, as standbys count it.
    pub duration: Duration,
    /// How long the leader keeps working without a successful renewal. Shorter than
    /// `duration`: the difference is the margin by which the leader stops before a standby
    /// may start.
    pub renew_deadline: Duration,
    /// How often the holder renews (and a standby retries).
    pub renew_every: Duration,
}

impl LeaseSettings {
    /// client-go's defaults: 15 s lease, 10 s renew deadline, a try every 2 s.
    pub fn with_defaults(name: String, namespace: String, holder: String) -> Self {
        Self {
            name,
            namespace,
            holder,
            duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            renew_every: Duration::from_secs(2),
        }
    }
}

/// What to do with the current Lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// We hold it: renew.
    Renew,
    /// Nobody holds it, or the holder let it expire: take it.
    TakeOver,
    /// Someone else holds a valid lease.
    Wait,
}

/// Decides from the Lease's spec and how long this replica has seen it unchanged (pure, so
/// the expiry rule is unit-tested).
pub fn decide(
    spec: &LeaseSpec,
    holder: &str,
    unchanged_for: Duration,
    default_duration: Duration,
) -> Decision {
    let current = spec.holder_identity.as_deref().unwrap_or_default();
    if current == holder {
        return Decision::Renew;
    }
    if current.is_empty() {
        return Decision::TakeOver;
    }
    let duration = spec
        .lease_duration_seconds
        .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)))
        .unwrap_or(default_duration);
    if unchanged_for > duration {
        Decision::TakeOver
    } else {
        Decision::Wait
    }
}

fn spec_for(settings: &LeaseSettings, previous: Option<&LeaseSpec>, now: Timestamp) -> LeaseSpec {
    let renewing = previous.is_some_and(|p| p.holder_identity.as_deref() == Some(&settings.holder));
    let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(settings.holder.clone()),
        // Whole seconds on the wire: round up, so a lease never reads as shorter than it is.
        lease_duration_seconds: Some(
            i32::try_from(settings.duration.as_millis().div_ceil(1000).max(1)).unwrap_or(i32::MAX),
        ),
        acquire_time: if renewing {
            previous.and_then(|p| p.acquire_time.clone())
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if renewing || previous.is_none() {
            transitions
        } else {
            transitions + 1
        }),
        ..LeaseSpec::default()
    }
}

/// Why a leader stopped leading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    /// Another replica holds the Lease now.
    TakenOver,
    /// No renewal succeeded within the renew deadline (the API failed or did not answer).
    RenewDeadline,
    /// This replica did not lead when asked to hold the lease.
    NotLeading,
}

/// One replica's side of the election: the Lease API, the settings, and what this replica
/// last saw of the Lease and when.
pub struct LeaderElector {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The Lease's resourceVersion at the last read, and when this replica first saw it.
    observed: Option<(String, Instant)>,
    /// When the last successful acquisition or renewal started (`None` while not leading).
    renewed_at: Option<Instant>,
}

impl LeaderElector {
    pub fn new(api: Api<Lease>, settings: LeaseSettings) -> Self {
        Self {
            api,
            settings,
            observed: None,
            renewed_at: None,
        }
    }

    /// One attempt to acquire or renew. `Ok(true)` means we hold the lease now. Writes use the
    /// Lease's resourceVersion, so two replicas racing for it cannot both win.
    pub async fn try_acquire(&mut self) -> Result<bool, kube::Error> {
        // Taken before the read: the renewal counts from no later than the renewTime written.
        let started = Instant::now();
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.settings.name.clone()),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec_for(&self.settings, None, now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => Ok(self.won(&created, started)),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error),
            };
        };
        let unchanged_for = self.observe(&lease);
        let previous = lease.spec.clone().unwrap_or_default();
        match decide(
            &previous,
            &self.settings.holder,
            unchanged_for,
            self.settings.duration,
        ) {
            Decision::Wait => Ok(false),
            Decision::Renew | Decision::TakeOver => {
                lease.spec = Some(spec_for(&self.settings, Some(&previous), now));
                match self
                    .api
                    .replace(&self.settings.name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(written) => Ok(self.won(&written, started)),
                    Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                    Err(error) => Err(error),
                }
            }
        }
    }

    /// How long this replica has seen the Lease at its current resourceVersion (zero when
    /// the version is new to it).
    fn observe(&mut self, lease: &Lease) -> Duration {
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        match &self.observed {
            Some((seen, since)) if *seen == version => since.elapsed(),
            _ => {
                self.observed = Some((version, Instant::now()));
                Duration::ZERO
            }
        }
    }

    fn won(&mut self, written: &Lease, started: Instant) -> bool {
        let version = written
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        self.observed = Some((version, started));
        self.renewed_at = Some(started);
        true
    }

    /// Waits until this replica holds the lease.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire().await {
                Ok(true) => {
                    tracing::info!(holder = %self.settings.holder, lease = %self.settings.name, "acquired the leader lease");
                    return;
                }
                Ok(false) => tracing::debug!("another replica leads; waiting"),
                Err(error) => tracing::warn!(%error, "lease acquisition failed; retrying"),
            }
            tokio::time::sleep(self.settings.renew_every).await;
        }
    }

    /// Renews the lease until it is lost: another replica took it, or no renewal succeeded
    /// within the renew deadline (a renewal that hangs is cut off at that deadline). Returns
    /// at once when this replica does not lead.
    pub async fn hold(&mut self) -> Lost {
        let lost = self.renew_until_lost().await;
        self.renewed_at = None;
        match lost {
            Lost::TakenOver => tracing::error!("the leader lease was taken by another replica"),
            Lost::RenewDeadline => tracing::error!(
                deadline = ?self.settings.renew_deadline,
                "could not renew the leader lease within the renew deadline; stepping down"
            ),
            Lost::NotLeading => tracing::error!("asked to hold a leader lease it did not hold"),
        }
        lost
    }

    async fn renew_until_lost(&mut self) -> Lost {
        loop {
            // Set by every successful renewal (`won`).
            let Some(renewed_at) = self.renewed_at else {
                return Lost::NotLeading;
            };
            let deadline = renewed_at + self.settings.renew_deadline;
            tokio::time::sleep_until((Instant::now() + self.settings.renew_every).min(deadline))
                .await;
            if Instant::now() >= deadline {
                return Lost::RenewDeadline;
            }
            match tokio::time::timeout_at(deadline, self.try_acquire()).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => return Lost::TakenOver,
                Ok(Err(error)) => tracing::warn!(%error, "lease renewal failed; retrying"),
                Err(_) => return Lost::RenewDeadline,
            }
        }
    }

    /// Gives the lease up (on shutdown), so that a standby takes over at once instead of
    /// waiting for it to expire. Does nothing when another replica holds it; gives up after
    /// the renew deadline when the API does not answer (the lease then expires).
    pub async fn release(&self) {
        let release = async {
            let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
                return Ok(false);
            };
            let Some(spec) = lease.spec.as_mut() else {
                return Ok(false);
            };
            if spec.holder_identity.as_deref() != Some(self.settings.holder.as_str()) {
                return Ok(false);
            }
            spec.holder_identity = None;
            self.api
                .replace(&self.settings.name, &PostParams::default(), &lease)
                .await
                .map(|_| true)
        };
        match tokio::time::timeout(self.settings.renew_deadline, release).await {
            Ok(Ok(true)) => {
                tracing::info!(lease = %self.settings.name, "released the leader lease")
            }
            Ok(Ok(false)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not release the leader lease; it will expire")
            }
            Err(_) => tracing::warn!("releasing the leader lease timed out; it will expire"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(Timestamp::UNIX_EPOCH)),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn the_holder_renews_others_wait_until_they_saw_it_unchanged_for_a_duration() {
        let default = Duration::from_secs(15);
        let held = spec("pod-a", 15);
        let secs = Duration::from_secs;
        assert_eq!(decide(&held, "pod-a", secs(100), default), Decision::Renew);
        assert_eq!(decide(&held, "pod-b", secs(0), default), Decision::Wait);
        assert_eq!(decide(&held, "pod-b", secs(15), default), Decision::Wait);
        assert_eq!(
            decide(&held, "pod-b", secs(16), default),
            Decision::TakeOver
        );
        // The renewTime written by the holder plays no part: an ancient one is still valid
        // until this replica has seen the Lease unchanged for a whole duration.
        assert_eq!(decide(&held, "pod-b", secs(1), default), Decision::Wait);
        let free = spec("", 15);
        assert_eq!(decide(&free, "pod-b", secs(0), default), Decision::TakeOver);
        let no_duration = LeaseSpec {
            lease_duration_seconds: None,
            ..held
        };
        assert_eq!(
            decide(&no_duration, "pod-b", secs(14), default),
            Decision::Wait
        );
        assert_eq!(
            decide(&no_duration, "pod-b", secs(16), default),
            Decision::TakeOver
        );
    }

    #[test]
    fn a_takeover_counts_a_transition_and_a_renewal_keeps_the_acquire_time() {
        let settings = LeaseSettings::with_defaults("l".into(), "n".into(), "pod-b".into());
        let now = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let previous = spec("pod-a", 15);
        let taken = spec_for(&settings, Some(&previous), now);
        assert_eq!(taken.lease_transitions, Some(1));
        assert_eq!(taken.holder_identity.as_deref(), Some("pod-b"));
        assert_eq!(taken.lease_duration_seconds, Some(15));
        let renewed = spec_for(&settings, Some(&taken), now);
        assert_eq!(renewed.lease_transitions, Some(1));
        assert_eq!(renewed.acquire_time, taken.acquire_time);
    }

    #[test]
    fn the_leader_stops_before_a_standby_may_start() {
        let settings = LeaseSettings::with_defaults("l".into(), "n".into(), "pod-a".into());
        assert!(settings.renew_deadline < settings.duration);
        assert!(settings.renew_every < settings.renew_deadline);
    }
}
