//! Leader election with a coordination.k8s.io Lease: only the holder runs controllers, so two
//! replicas never reconcile at once; a standby takes over within one lease duration after the
//! leader stops renewing. Losing the lease ends the process so Kubernetes restarts it clean.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::{ObjectMeta, PostParams};

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// Lease name.
    pub name: String,
    /// Namespace of the Lease (the operator's own).
    pub namespace: String,
    /// This replica's identity (the pod name).
    pub holder: String,
    /// How long a lease is valid without renewal.
    pub duration: Duration,
    /// How often the holder renews (and a standby retries).
    pub renew_every: Duration,
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

/// Decides from the Lease's spec alone (pure, so the expiry rule is unit-tested).
pub fn decide(
    spec: &LeaseSpec,
    holder: &str,
    now: Timestamp,
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
    let Some(renewed) = spec.renew_time.as_ref().map(|t| t.0) else {
        return Decision::TakeOver;
    };
    let expires = renewed
        .checked_add(SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX);
    if now > expires {
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

/// One attempt to acquire or renew. `Ok(true)` means we hold the lease now. Writes use the
/// Lease's resourceVersion, so two replicas racing for it cannot both win.
pub async fn try_acquire(api: &Api<Lease>, settings: &LeaseSettings) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let Some(mut lease) = api.get_opt(&settings.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(settings.name.clone()),
                namespace: Some(settings.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec_for(settings, None, now)),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        };
    };
    let previous = lease.spec.clone().unwrap_or_default();
    match decide(&previous, &settings.holder, now, settings.duration) {
        Decision::Wait => Ok(false),
        Decision::Renew | Decision::TakeOver => {
            lease.spec = Some(spec_for(settings, Some(&previous), now));
            match api
                .replace(&settings.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error),
            }
        }
    }
}

/// Waits until this replica holds the lease.
pub async fn acquire(api: &Api<Lease>, settings: &LeaseSettings) {
    loop {
        match try_acquire(api, settings).await {
            Ok(true) => {
                tracing::info!(holder = %settings.holder, lease = %settings.name, "acquired the leader lease");
                return;
            }
            Ok(false) => tracing::debug!("another replica leads; waiting"),
            Err(error) => tracing::warn!(%error, "lease acquisition failed; retrying"),
        }
        tokio::time::sleep(settings.renew_every).await;
    }
}

/// Renews the lease until it is lost (another replica took it, or renewals failed for a
/// whole lease duration). Returns when it is lost.
pub async fn hold(api: &Api<Lease>, settings: &LeaseSettings) {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(settings.renew_every).await;
        match try_acquire(api, settings).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::error!("the leader lease was taken by another replica");
                return;
            }
            Err(error) if last_renewal.elapsed() < settings.duration => {
                tracing::warn!(%error, "lease renewal failed; retrying")
            }
            Err(error) => {
                tracing::error!(%error, "could not renew the leader lease for a whole lease duration");
                return;
            }
        }
    }
}

/// Gives the lease up (on shutdown), so that a standby takes over at once instead of
/// waiting for it to expire. Does nothing when another replica holds it.
pub async fn release(api: &Api<Lease>, settings: &LeaseSettings) {
    let Ok(Some(mut lease)) = api.get_opt(&settings.name).await else {
        return;
    };
    let Some(spec) = lease.spec.as_mut() else {
        return;
    };
    if spec.holder_identity.as_deref() != Some(settings.holder.as_str()) {
        return;
    }
    spec.holder_identity = None;
    match api
        .replace(&settings.name, &PostParams::default(), &lease)
        .await
    {
        Ok(_) => tracing::info!(lease = %settings.name, "released the leader lease"),
        Err(error) => tracing::warn!(%error, "could not release the leader lease; it will expire"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed_secs_ago: i64, duration: i32) -> (LeaseSpec, Timestamp) {
        let now = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let renewed = now
            .checked_sub(SignedDuration::from_secs(renewed_secs_ago))
            .unwrap_or(now);
        let spec = LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(renewed)),
            ..LeaseSpec::default()
        };
        (spec, now)
    }

    #[test]
    fn the_holder_renews_others_wait_until_expiry() {
        let default = Duration::from_secs(15);
        let (held, now) = spec("pod-a", 5, 15);
        assert_eq!(decide(&held, "pod-a", now, default), Decision::Renew);
        assert_eq!(decide(&held, "pod-b", now, default), Decision::Wait);
        let (expired, now) = spec("pod-a", 16, 15);
        assert_eq!(decide(&expired, "pod-b", now, default), Decision::TakeOver);
        let (free, now) = spec("", 0, 15);
        assert_eq!(decide(&free, "pod-b", now, default), Decision::TakeOver);
    }

    #[test]
    fn a_takeover_counts_a_transition_and_a_renewal_keeps_the_acquire_time() {
        let settings = LeaseSettings {
            name: "l".into(),
            namespace: "n".into(),
            holder: "pod-b".into(),
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        };
        let (previous, now) = spec("pod-a", 30, 15);
        let taken = spec_for(&settings, Some(&previous), now);
        assert_eq!(taken.lease_transitions, Some(1));
        assert_eq!(taken.holder_identity.as_deref(), Some("pod-b"));
        let renewed = spec_for(&settings, Some(&taken), now);
        assert_eq!(renewed.lease_transitions, Some(1));
        assert_eq!(renewed.acquire_time, taken.acquire_time);
    }
}
