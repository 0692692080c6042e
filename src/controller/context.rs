//! What every reconcile shares: clients, caches, configuration, event recorders, backoff.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::runtime::reflector::ObjectRef;

use super::clients::ClientPool;
use super::events::EventPublisher;
use super::exports::ExportTargets;
use super::observe::RemoteCache;
use super::parents::ParentStores;
use super::policy::NamespaceDefaults;
use crate::crd::DeletionPolicy;
use crate::metrics::Metrics;
use crate::scaleway::functions::types::{
    Cron, Domain as FunctionDomain, Function, Token, Trigger as FunctionTrigger,
};
use crate::scaleway::types::{Container, Domain, Namespace, Trigger};

/// Settings of the controllers.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// Region used when a spec names none.
    pub default_region: String,
    /// How often every object is compared with Scaleway again (and remote snapshots are
    /// refreshed).
    pub resync_period: Duration,
    /// Resync period per kind (`ServerlessContainer` → 2m), overriding `resync_period`.
    pub kind_resync_periods: BTreeMap<String, Duration>,
    /// Deletion policy of objects whose spec and Namespace leave it unset.
    pub default_deletion_policy: DeletionPolicy,
    /// First poll delay while a remote object is in a transient status.
    pub poll_initial: Duration,
    /// Longest poll delay while a remote object is in a transient status.
    pub poll_max: Duration,
    /// Longest delay between retries after an error.
    pub retry_max: Duration,
    /// Reconciles running at once, per kind.
    pub concurrency: u16,
    /// Key of the digests of secret values (random per process unless configured, so a
    /// restart resends secrets once).
    pub digest_key: Vec<u8>,
}

impl OperatorConfig {
    /// The resync period of `kind` (before an object's own annotation).
    pub fn resync_for(&self, kind: &str) -> Duration {
        self.kind_resync_periods
            .get(kind)
            .copied()
            .unwrap_or(self.resync_period)
    }
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            default_region: "fr-par".into(),
            resync_period: Duration::from_secs(300),
            kind_resync_periods: BTreeMap::new(),
            default_deletion_policy: DeletionPolicy::Delete,
            poll_initial: Duration::from_millis(200),
            poll_max: Duration::from_secs(15),
            retry_max: Duration::from_secs(300),
            concurrency: 32,
            digest_key: (0..32).map(|_| fastrand::u8(..)).collect(),
        }
    }
}

/// Per-object attempt counters for exponential backoff with jitter, reset on success.
#[derive(Debug, Default)]
pub struct Backoff {
    attempts: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// The next delay for `key`: `base * 2^attempts`, capped, with ±20% jitter.
    pub fn next(&self, key: &str, base: Duration, cap: Duration) -> Duration {
        let attempt = match self.attempts.lock() {
            Ok(mut attempts) => {
                let count = attempts.entry(key.to_owned()).or_default();
                *count = count.saturating_add(1);
                *count
            }
            Err(_) => 1,
        };
        let exponent = attempt.saturating_sub(1).min(16);
        let delay = base.saturating_mul(1 << exponent).min(cap);
        delay.mul_f64(0.8 + 0.4 * fastrand::f64())
    }

    /// Forgets the attempts of `key`.
    pub fn reset(&self, key: &str) {
        if let Ok(mut attempts) = self.attempts.lock() {
            attempts.remove(key);
        }
    }
}

/// When to look again at an object that Scaleway is still working on.
///
/// Each kind of transition (`ServerlessContainer:creating`, …) has a typical duration,
/// learned from the transitions seen so far (a moving average). The first poll is placed just
/// before that typical time, and later ones a quarter of the time already waited apart (at
/// least `min`, at most `max`), so a transition is seen at most about 25% late and usually
/// within one poll of the typical time, with two or three polls instead of one every `min`.
#[derive(Debug, Default)]
pub struct PollSchedule {
    waiting: Mutex<HashMap<String, Waiting>>,
    typical: Mutex<HashMap<String, Duration>>,
}

#[derive(Debug)]
struct Waiting {
    class: String,
    started: std::time::Instant,
    /// When the object was last seen still in transition.
    last_seen: std::time::Instant,
}

impl PollSchedule {
    /// The next poll delay for `key`, in a transition of kind `class`.
    pub fn next(&self, key: &str, class: &str, min: Duration, max: Duration) -> Duration {
        let now = std::time::Instant::now();
        let waited = match self.waiting.lock() {
            Ok(mut waiting) => {
                let entry = waiting.entry(key.to_owned()).or_insert_with(|| Waiting {
                    class: class.to_owned(),
                    started: now,
                    last_seen: now,
                });
                entry.last_seen = now;
                now.duration_since(entry.started)
            }
            Err(_) => Duration::ZERO,
        };
        let quarter = (waited / 4).clamp(min, max.max(min));
        let first_look = self.typical(class).map(|t| t.mul_f64(0.9));
        match first_look {
            Some(at) if waited + min < at => (at - waited).min(max.max(min)),
            _ => quarter,
        }
    }

    /// The typical duration of transitions of kind `class`, once one was seen.
    pub fn typical(&self, class: &str) -> Option<Duration> {
        self.typical.lock().ok()?.get(class).copied()
    }

    /// The object settled: learn how long its transition took (between the last look that
    /// saw it in transition and now), and start afresh next time.
    pub fn reset(&self, key: &str) {
        let now = std::time::Instant::now();
        let done = match self.waiting.lock() {
            Ok(mut waiting) => waiting.remove(key),
            Err(_) => None,
        };
        let Some(done) = done else {
            return;
        };
        if done.last_seen == done.started {
            // Seen once in transition only (e.g. right after a create): the estimate would
            // be the whole first wait, which is the schedule's own choice.
            let estimate = now.duration_since(done.started);
            self.learn(&done.class, estimate);
            return;
        }
        let before = done.last_seen.duration_since(done.started);
        let after = now.duration_since(done.started);
        self.learn(&done.class, (before + after) / 2);
    }

    fn learn(&self, class: &str, sample: Duration) {
        if let Ok(mut typical) = self.typical.lock() {
            let value = match typical.get(class) {
                Some(previous) => previous.mul_f64(0.7) + sample.mul_f64(0.3),
                None => sample,
            };
            typical.insert(class.to_owned(), value);
        }
    }
}

/// Everything a reconcile needs, built once and shared.
pub struct Context {
    /// Kubernetes client.
    pub kube: kube::Client,
    /// Scaleway clients by credentials.
    pub clients: ClientPool,
    /// Settings.
    pub config: OperatorConfig,
    /// Remote namespaces by (credentials, region, project).
    pub namespaces: RemoteCache<Namespace>,
    /// Remote containers by (credentials, region, namespace).
    pub containers: RemoteCache<Container>,
    /// Remote triggers by (credentials, region, container).
    pub triggers: RemoteCache<Trigger>,
    /// Remote domains by (credentials, region, container).
    pub domains: RemoteCache<Domain>,
    /// Remote functions by (credentials, region, functions namespace).
    pub functions: RemoteCache<Function>,
    /// Remote function tokens by (credentials, region, function or namespace).
    pub tokens: RemoteCache<Token>,
    /// Remote function crons by (credentials, region, function).
    pub function_crons: RemoteCache<Cron>,
    /// Remote function triggers by (credentials, region, function).
    pub function_triggers: RemoteCache<FunctionTrigger>,
    /// Remote function domains by (credentials, region, function).
    pub function_domains: RemoteCache<FunctionDomain>,
    /// Event publisher, shared so that repeated warnings become series.
    pub events: EventPublisher,
    /// Retry and poll counters.
    pub backoff: Backoff,
    /// Poll schedules while remote objects are transient.
    pub polls: PollSchedule,
    /// Metrics of reconciles and Scaleway calls.
    pub metrics: Arc<Metrics>,
    /// Annotations of Kubernetes Namespaces (layered defaults).
    pub namespace_defaults: NamespaceDefaults,
    /// Export targets as the watches see them.
    pub exports: ExportTargets,
    /// Stores of the kinds other objects reference.
    pub parents: ParentStores,
    /// Objects whose last create got no answer (it may still be carried out), by key.
    pub uncertain_creates: UncertainCreates,
    /// Creates whose status write waits for the object's next look, by key.
    pub deferred_records: DeferredRecords,
    /// Reconciles woken when a List shows the remote object they wait for settled.
    pub wakes: Wakes,
    /// Objects waiting for their next look (resync, poll, retry).
    pub requeues: super::requeue::Requeues,
}

/// Wake channels of the kinds whose reconciles wait for Scaleway in bursts (namespaces and
/// containers): a List that refreshes a scope's snapshot wakes the objects whose remote
/// object it shows settled, so a transition is seen when the List sees it, not at the
/// object's next poll (the polls remain, for scopes no List refreshes).
#[derive(Default)]
pub struct Wakes {
    /// ServerlessNamespaces.
    pub namespaces: WakeChannel<crate::crd::ServerlessNamespace>,
    /// ServerlessContainers.
    pub containers: WakeChannel<crate::crd::ServerlessContainer>,
}

/// Reconcile requests for objects of kind `K`, sent from anywhere, read by its controller
/// ([`Controller::reconcile_on`](kube::runtime::Controller::reconcile_on)).
pub struct WakeChannel<K: kube::Resource<DynamicType = ()>> {
    sender: tokio::sync::mpsc::UnboundedSender<ObjectRef<K>>,
    receiver: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<ObjectRef<K>>>>,
}

impl<K: kube::Resource<DynamicType = ()>> Default for WakeChannel<K> {
    fn default() -> Self {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    }
}

impl<K: kube::Resource<DynamicType = ()> + 'static> WakeChannel<K> {
    /// A one-shot wake of `object`.
    pub fn waker(&self, object: &K) -> super::observe::Wake {
        let sender = self.sender.clone();
        let object = ObjectRef::from_obj(object);
        Box::new(move || {
            // The controller is gone only at shutdown.
            let _ = sender.send(object);
        })
    }

    /// The requests, for the controller (once: later calls get an empty stream).
    pub fn requests(&self) -> impl futures::Stream<Item = ObjectRef<K>> + Send + 'static {
        let receiver = self.receiver.lock().ok().and_then(|mut r| r.take());
        futures::stream::unfold(receiver, |receiver| async move {
            let mut receiver = receiver?;
            let request = receiver.recv().await?;
            Some((request, Some(receiver)))
        })
    }
}

/// Creates whose status write waits for the object's next look (see
/// [`StatusWrite::AtNextLook`](super::reconciler::StatusWrite::AtNextLook)), with the normal
/// events held back until then: that look records what the create returned (from the
/// snapshot, without a fresh List or GET: nothing can have been seen since) and publishes
/// them right after the status it writes. Held in memory only: a restart in between loses the
/// events (events are best effort), never the facts, which the next look reads back from
/// Scaleway.
#[derive(Debug, Default)]
pub struct DeferredRecords {
    by_key: Mutex<HashMap<String, Vec<(&'static str, String)>>>,
}

impl DeferredRecords {
    /// The create of `key` is recorded at its next look; `events` are published then.
    pub fn hold(&self, key: &str, events: Vec<(&'static str, String)>) {
        if let Ok(mut by_key) = self.by_key.lock() {
            by_key.entry(key.to_owned()).or_default().extend(events);
        }
    }

    /// Whether a create of `key` waits to be recorded.
    pub fn pending(&self, key: &str) -> bool {
        self.by_key
            .lock()
            .is_ok_and(|by_key| by_key.contains_key(key))
    }

    /// The events held for `key`, oldest first; nothing is pending for it afterwards.
    pub fn take(&self, key: &str) -> Vec<(&'static str, String)> {
        self.by_key
            .lock()
            .ok()
            .and_then(|mut by_key| by_key.remove(key))
            .unwrap_or_default()
    }
}

/// Creates whose answer was lost. Trigger names are not unique at Scaleway, so a create that
/// lands late (after the retry's re-list found nothing) makes a duplicate: for a while after
/// such a loss the object's scope is listed again at each reconcile, and owned duplicates are
/// deleted.
#[derive(Debug, Default)]
pub struct UncertainCreates {
    since: Mutex<HashMap<String, std::time::Instant>>,
}

impl UncertainCreates {
    /// How long after a lost answer a late create is still looked for.
    pub const WINDOW: Duration = Duration::from_secs(30);

    /// A create of `key` got no answer.
    pub fn lost(&self, key: &str) {
        if let Ok(mut since) = self.since.lock() {
            since.insert(key.to_owned(), std::time::Instant::now());
        }
    }

    /// Whether a late create of `key` may still land (forgets it once the window passed).
    pub fn pending(&self, key: &str) -> bool {
        let Ok(mut since) = self.since.lock() else {
            return false;
        };
        match since.get(key) {
            Some(at) if at.elapsed() < Self::WINDOW => true,
            Some(_) => {
                since.remove(key);
                false
            }
            None => false,
        }
    }
}

impl Context {
    /// Builds the context.
    pub fn new(kube: kube::Client, clients: ClientPool, config: OperatorConfig) -> Self {
        let metrics = Arc::new(Metrics::default());
        metrics.watch_scaleway(clients.stats().clone());
        metrics.watch_rate_limiter(clients.rate_limiter().clone());
        Self {
            events: EventPublisher::new(
                kube.clone(),
                "scaleway-serverless-operator",
                std::env::var("POD_NAME").ok(),
            ),
            namespace_defaults: NamespaceDefaults::new(kube.clone()),
            exports: ExportTargets::default(),
            parents: ParentStores::default(),
            uncertain_creates: UncertainCreates::default(),
            deferred_records: DeferredRecords::default(),
            wakes: Wakes::default(),
            requeues: super::requeue::Requeues::default(),
            namespaces: RemoteCache::new(),
            containers: RemoteCache::new(),
            triggers: RemoteCache::new(),
            domains: RemoteCache::new(),
            functions: RemoteCache::new(),
            tokens: RemoteCache::new(),
            function_crons: RemoteCache::new(),
            function_triggers: RemoteCache::new(),
            function_domains: RemoteCache::new(),
            kube,
            clients,
            config,
            backoff: Backoff::default(),
            polls: PollSchedule::default(),
            metrics,
        }
    }

    /// The steady-state requeue: `period` with ±10% jitter, so objects spread out.
    pub fn jittered(period: Duration) -> Duration {
        period.mul_f64(0.9 + 0.2 * fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started_ago(polls: &PollSchedule, key: &str, ago: Duration) {
        if let Ok(mut waiting) = polls.waiting.lock()
            && let Some(entry) = waiting.get_mut(key)
        {
            entry.started = std::time::Instant::now() - ago;
        }
    }

    #[test]
    fn polls_wait_a_quarter_of_the_time_already_waited() {
        let polls = PollSchedule::default();
        let (min, max) = (Duration::from_millis(200), Duration::from_secs(15));
        assert_eq!(
            polls.next("x", "c", min, max),
            min,
            "first poll: the minimum"
        );
        started_ago(&polls, "x", Duration::from_secs(8));
        let delay = polls.next("x", "c", min, max);
        assert!(
            delay >= Duration::from_millis(1990) && delay <= Duration::from_millis(2100),
            "{delay:?}"
        );
        started_ago(&polls, "x", Duration::from_secs(600));
        assert_eq!(polls.next("x", "c", min, max), max, "capped");
    }

    #[test]
    fn the_first_poll_goes_just_before_the_typical_duration() {
        let polls = PollSchedule::default();
        let (min, max) = (Duration::from_millis(200), Duration::from_secs(60));
        polls.learn("slow", Duration::from_secs(30));
        let first = polls.next("y", "slow", min, max);
        assert!(
            first >= Duration::from_millis(26_900) && first <= Duration::from_secs(27),
            "{first:?}"
        );
        // Past the typical time: back to a quarter of the wait.
        started_ago(&polls, "y", Duration::from_secs(40));
        let later = polls.next("y", "slow", min, max);
        assert!(later >= Duration::from_millis(9_990), "{later:?}");
        // Another class is not affected.
        assert_eq!(polls.next("z", "fast", min, max), min);
    }

    #[test]
    fn settling_teaches_the_typical_duration() {
        let polls = PollSchedule::default();
        let (min, max) = (Duration::from_millis(200), Duration::from_secs(60));
        polls.next("a", "c", min, max);
        started_ago(&polls, "a", Duration::from_secs(2));
        polls.next("a", "c", min, max); // seen in transition 2 s in
        started_ago(&polls, "a", Duration::from_secs(3));
        polls.reset("a"); // settled: between the 2 s look and now (≈3 s) → ≈2.5 s
        let typical = polls.typical("c").unwrap_or_default();
        assert!(
            typical >= Duration::from_millis(2_400) && typical <= Duration::from_millis(3_100),
            "{typical:?}"
        );
        polls.learn("c", Duration::from_secs(10));
        let moved = polls.typical("c").unwrap_or_default();
        assert!(
            moved > typical && moved < Duration::from_secs(10),
            "{moved:?}"
        );
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let backoff = Backoff::default();
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(10);
        let first = backoff.next("a", base, cap);
        assert!(
            first >= Duration::from_millis(800) && first <= Duration::from_millis(1200),
            "{first:?}"
        );
        let second = backoff.next("a", base, cap);
        assert!(second >= Duration::from_millis(1600), "{second:?}");
        for _ in 0..10 {
            assert!(backoff.next("a", base, cap) <= Duration::from_secs(12));
        }
        backoff.reset("a");
        assert!(backoff.next("a", base, cap) <= Duration::from_millis(1200));
        assert!(
            backoff.next("b", base, cap) <= Duration::from_millis(1200),
            "per key"
        );
    }

    #[test]
    fn deferred_records_are_taken_once_with_their_events_in_order() {
        let deferred = DeferredRecords::default();
        deferred.hold("a", vec![("Created", "one".into())]);
        deferred.hold("a", vec![("Updated", "two".into())]);
        deferred.hold("b", Vec::new());
        assert!(deferred.pending("a") && deferred.pending("b") && !deferred.pending("c"));
        assert_eq!(
            deferred.take("a"),
            vec![("Created", "one".to_owned()), ("Updated", "two".to_owned())]
        );
        assert!(!deferred.pending("a"), "taken once");
        assert!(deferred.take("a").is_empty());
        assert!(deferred.take("b").is_empty());
        assert!(!deferred.pending("b"));
    }
}
