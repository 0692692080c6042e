//! Objects waiting for their next look, kept apart from kube-runtime's scheduler.
//!
//! Between two reconciles nearly every object waits: for its resync, a period away, once it
//! is settled, or for its next poll while Scaleway works on it. kube-runtime's scheduler
//! keeps each waiting object as two copies of a reconcile request, in a hash map and in a
//! timer wheel: about 8 MB at 10,000 objects in a heap profile (README, Performance). Here a
//! waiting object is one short key and a deadline (0.8 MB at 10,000 in the same profile),
//! and an object that falls
//! due is handed to its controller as a request
//! ([`Controller::reconcile_on`](kube::runtime::Controller::reconcile_on)), so the
//! scheduler only holds objects due now.
//!
//! Reconciles return this module's [`Action`], which [`Requeues::settle`] carries out when
//! the reconcile ends. Any reconcile of an object replaces its wait (see
//! [`Requeues::forget`]), as a requeue replaces a scheduled one in kube-runtime, so one wait
//! never makes two looks.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::Resource;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::reconciler::Managed;

/// The shortest time between two scans of one kind's waits: due objects are handed over in
/// batches at most this late, so that a scan (one pass over every waiting object) runs at
/// most 50 times a second however many objects fall due.
const SCAN_GAP: Duration = Duration::from_millis(20);

/// The longest wait: a longer one (no setting allows one) is cut to this, so that a deadline
/// can always be computed.
const MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// When a reconcile wants its object looked at again, as kube-runtime's
/// [`Action`](kube::runtime::controller::Action) says it (same constructors), carried out by
/// [`Requeues::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Look again `after` from now, unless a change wakes the object first.
    #[must_use]
    pub const fn requeue(after: Duration) -> Self {
        Self {
            requeue_after: Some(after),
        }
    }

    /// Look again only when a change wakes the object.
    #[must_use]
    pub const fn await_change() -> Self {
        Self {
            requeue_after: None,
        }
    }
}

/// The waits of every kind, by kind.
#[derive(Default)]
pub struct Requeues {
    kinds: Mutex<HashMap<&'static str, Arc<Waits>>>,
}

/// One kind's waiting objects.
#[derive(Default)]
struct Waits {
    due: Mutex<Due>,
    /// Signalled when a new wait ends before every deadline known so far.
    sooner: Notify,
}

#[derive(Default)]
struct Due {
    /// Deadline by `namespace/name` (`/name` for a cluster-scoped object).
    by_key: HashMap<Box<str>, Instant>,
    /// No deadline in `by_key` is earlier (it may be earlier than all of them, after a forget).
    earliest: Option<Instant>,
}

impl Requeues {
    /// Carries out the `action` a reconcile of `object` ended with: a wait here, and for
    /// kube-runtime nothing until a request or a change comes.
    pub fn settle<K: Managed>(
        &self,
        object: &K,
        action: Action,
    ) -> kube::runtime::controller::Action {
        if let Some(after) = action.requeue_after {
            self.schedule(object, after);
        }
        kube::runtime::controller::Action::await_change()
    }

    /// `object` is looked at again `after` from now, unless a reconcile of it runs first.
    fn schedule<K: Managed>(&self, object: &K, after: Duration) {
        let deadline = Instant::now() + after.min(MAX_WAIT);
        let waits = self.waits(K::KIND);
        let sooner = {
            let Ok(mut due) = waits.due.lock() else {
                return;
            };
            due.by_key.insert(key(object).into_boxed_str(), deadline);
            let sooner = due.earliest.is_none_or(|earliest| deadline < earliest);
            if sooner {
                due.earliest = Some(deadline);
            }
            sooner
        };
        if sooner {
            waits.sooner.notify_one();
        }
    }

    /// `object` no longer waits: a reconcile of it has started, and ends with its next wait.
    pub fn forget<K: Managed>(&self, object: &K) {
        let waits = self.waits(K::KIND);
        if let Ok(mut due) = waits.due.lock() {
            due.by_key.remove(key(object).as_str());
        }
    }

    /// The objects of kind `K` as they fall due, for its controller: one stream per kind and
    /// process (the controller of a kind runs once; losing the lease ends the process). A
    /// second stream would share the waits, each due object going to one of the two.
    pub fn requests<K: Managed>(
        &self,
    ) -> impl futures::Stream<Item = ObjectRef<K>> + Send + 'static {
        let waits = self.waits(K::KIND);
        let state = Scanning {
            waits,
            ready: Vec::new(),
            last_scan: None,
            kind: PhantomData::<fn() -> K>,
        };
        futures::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(key) = state.ready.pop() {
                    // kube-runtime's span names such a reconcile's reason "unknown".
                    tracing::debug!(kind = K::KIND, object = %key, "next look due");
                    return Some((object_ref(&key), state));
                }
                state
                    .waits
                    .next_due(&mut state.ready, &mut state.last_scan)
                    .await;
            }
        })
    }

    /// How many objects of `kind` wait.
    #[cfg(test)]
    fn waiting(&self, kind: &'static str) -> usize {
        self.waits(kind)
            .due
            .lock()
            .map(|due| due.by_key.len())
            .unwrap_or_default()
    }

    fn waits(&self, kind: &'static str) -> Arc<Waits> {
        // The map is only ever inserted into: still whole after a panic elsewhere.
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        kinds.entry(kind).or_default().clone()
    }
}

/// A kind's request stream between two requests.
struct Scanning<K> {
    waits: Arc<Waits>,
    /// Keys due, latest first (the stream pops from the end).
    ready: Vec<Box<str>>,
    last_scan: Option<Instant>,
    kind: PhantomData<fn() -> K>,
}

impl Waits {
    /// Waits until some objects are due, then moves their keys into `ready`, latest first.
    /// A scan comes at least [`SCAN_GAP`] after the `last_scan`.
    async fn next_due(&self, ready: &mut Vec<Box<str>>, last_scan: &mut Option<Instant>) {
        loop {
            let earliest = self.due.lock().ok().and_then(|due| due.earliest);
            let wake_at = match (earliest, *last_scan) {
                (Some(earliest), Some(scan)) => Some(earliest.max(scan + SCAN_GAP)),
                (earliest, None) => earliest,
                (None, Some(_)) => None,
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.sooner.notified() => continue,
                    }
                }
                None => {
                    self.sooner.notified().await;
                    continue;
                }
            }
            let now = Instant::now();
            *last_scan = Some(now);
            if self.take_due(now, ready) {
                return;
            }
        }
    }

    /// Moves the keys due at `now` into `ready` and records the next deadline; whether any
    /// was due.
    fn take_due(&self, now: Instant, ready: &mut Vec<Box<str>>) -> bool {
        let Ok(mut due) = self.due.lock() else {
            return false;
        };
        let mut taken: Vec<(Instant, Box<str>)> = Vec::new();
        let mut next: Option<Instant> = None;
        due.by_key.retain(|key, deadline| {
            if *deadline <= now {
                taken.push((*deadline, key.clone()));
                false
            } else {
                next = Some(next.map_or(*deadline, |next| next.min(*deadline)));
                true
            }
        });
        due.earliest = next;
        taken.sort_by_key(|(deadline, _)| std::cmp::Reverse(*deadline));
        ready.extend(taken.into_iter().map(|(_, key)| key));
        !ready.is_empty()
    }
}

fn key<K: Resource>(object: &K) -> String {
    format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

fn object_ref<K: Resource<DynamicType = ()>>(key: &str) -> ObjectRef<K> {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    let reference = ObjectRef::new(name);
    if namespace.is_empty() {
        reference
    } else {
        reference.within(namespace)
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::crd::{ServerlessContainer, ServerlessNamespace};

    fn container(name: &str) -> ServerlessContainer {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1",
            "kind": "ServerlessContainer",
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {"image": "nginx:1", "namespaceRef": {"name": "ns"}}
        }))
        .expect("a valid container")
    }

    /// The next request of `stream`, and how long after `start` it came.
    async fn next_after<S: futures::Stream<Item = ObjectRef<ServerlessContainer>> + Unpin>(
        stream: &mut S,
        start: Instant,
    ) -> (String, Duration) {
        // Paused time jumps to this timeout if nothing else can happen: a lost wake-up fails
        // the test instead of hanging it.
        let request = tokio::time::timeout(MAX_WAIT * 2, stream.next())
            .await
            .expect("a request before the timeout")
            .expect("the stream goes on");
        assert_eq!(request.namespace.as_deref(), Some("apps"));
        (request.name, start.elapsed())
    }

    /// `at`, when a request came, is within a second after `due`, when it fell due.
    fn assert_handed_over_at(at: Duration, due: Duration) {
        assert!(at >= due && at < due + Duration::from_secs(1), "{at:?}");
    }

    /// `after` from now, a reconcile of the container `name` ends with a wait of `wait`.
    fn schedule_later(
        requeues: &Arc<Requeues>,
        after: Duration,
        name: &'static str,
        wait: Duration,
    ) {
        let requeues = requeues.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = requeues.settle(&container(name), Action::requeue(wait));
        });
    }

    #[tokio::test(start_paused = true)]
    async fn objects_are_handed_over_when_due_in_deadline_order() {
        let requeues = Requeues::default();
        let start = Instant::now();
        requeues.schedule(&container("late"), Duration::from_secs(30));
        requeues.schedule(&container("early"), Duration::from_secs(10));
        let mut requests = Box::pin(requeues.requests::<ServerlessContainer>());
        let (name, at) = next_after(&mut requests, start).await;
        assert_eq!(name, "early");
        assert_handed_over_at(at, Duration::from_secs(10));
        let (name, at) = next_after(&mut requests, start).await;
        assert_eq!(name, "late");
        assert_handed_over_at(at, Duration::from_secs(30));
        assert_eq!(requeues.waiting("ServerlessContainer"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_wait_replaces_the_old_one_and_a_forgotten_one_never_fires() {
        let requeues = Requeues::default();
        let start = Instant::now();
        requeues.schedule(&container("moved"), Duration::from_secs(5));
        requeues.schedule(&container("moved"), Duration::from_secs(20));
        requeues.schedule(&container("forgotten"), Duration::from_secs(10));
        requeues.forget(&container("forgotten"));
        requeues.schedule(&container("last"), Duration::from_secs(40));
        let mut requests = Box::pin(requeues.requests::<ServerlessContainer>());
        let (name, at) = next_after(&mut requests, start).await;
        assert_eq!(name, "moved");
        assert_handed_over_at(at, Duration::from_secs(20));
        let (name, _) = next_after(&mut requests, start).await;
        assert_eq!(name, "last", "each wait fires once, a forgotten one never");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sooner_wait_added_while_the_stream_sleeps_is_not_held_back() {
        let requeues = Arc::new(Requeues::default());
        let start = Instant::now();
        requeues.schedule(&container("far"), Duration::from_secs(300));
        let mut requests = Box::pin(requeues.requests::<ServerlessContainer>());
        schedule_later(
            &requeues,
            Duration::from_secs(1),
            "near",
            Duration::from_secs(2),
        );
        let (name, at) = next_after(&mut requests, start).await;
        assert_eq!(name, "near");
        assert_handed_over_at(at, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn objects_due_close_together_come_in_batches_and_kinds_are_apart() {
        let requeues = Requeues::default();
        let start = Instant::now();
        for index in 0..100 {
            requeues.schedule(
                &container(&format!("c{index}")),
                Duration::from_millis(1000 + index),
            );
        }
        let namespace: ServerlessNamespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1",
            "kind": "ServerlessNamespace",
            "metadata": {"name": "ns", "namespace": "apps"},
            "spec": {}
        }))
        .expect("a valid namespace");
        requeues.schedule(&namespace, Duration::from_secs(1));
        let mut requests = Box::pin(requeues.requests::<ServerlessContainer>());
        let mut names = Vec::new();
        for _ in 0..100 {
            let (name, at) = next_after(&mut requests, start).await;
            // The last deadline is at 1,099 ms; a batch comes at most one scan gap late.
            assert!(at <= Duration::from_millis(1099) + SCAN_GAP, "{at:?}");
            names.push(name);
        }
        let expected: Vec<String> = (0..100).map(|index| format!("c{index}")).collect();
        assert_eq!(names, expected, "in deadline order");
        assert_eq!(requeues.waiting("ServerlessNamespace"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_starts_with_nothing_waiting_takes_the_first_wait() {
        let requeues = Arc::new(Requeues::default());
        let start = Instant::now();
        let mut requests = Box::pin(requeues.requests::<ServerlessContainer>());
        schedule_later(
            &requeues,
            Duration::from_secs(5),
            "first",
            Duration::from_secs(1),
        );
        let (name, at) = next_after(&mut requests, start).await;
        assert_eq!(name, "first");
        assert_handed_over_at(at, Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_longer_than_any_setting_allows_is_cut_not_a_panic() {
        let requeues = Requeues::default();
        let start = Instant::now();
        let _ = requeues.settle(&container("far"), Action::requeue(Duration::MAX));
        let mut requests = Box::pin(requeues.requests::<ServerlessContainer>());
        let (name, at) = next_after(&mut requests, start).await;
        assert_eq!(name, "far");
        assert_handed_over_at(at, MAX_WAIT);
    }

    #[test]
    fn a_key_turns_back_into_the_reference_of_its_object() {
        let reference: ObjectRef<ServerlessContainer> = object_ref(&key(&container("web")));
        assert_eq!(reference, ObjectRef::new("web").within("apps"));
        let cluster_scoped: ObjectRef<ServerlessContainer> = object_ref("/web");
        assert_eq!(cluster_scoped.namespace, None);
    }
}
