//! Bulk observation of remote objects: one paged List per scope (a project's namespaces, a
//! namespace's containers, a container's triggers) feeds the reconciles of every object in
//! it, and is refreshed once per resync period. Reconciles of the same scope share one List.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::scaleway;
use crate::scaleway::functions::types::{
    Cron, Domain as FunctionDomain, Function, Token, Trigger as FunctionTrigger,
};
use crate::scaleway::types::{Container, Domain, Namespace, Trigger};

/// A remote object as the cache needs to see it.
pub trait RemoteObject: Clone + Send + Sync + 'static {
    /// Scaleway ID.
    fn id(&self) -> &str;
    /// Name, unique in its scope.
    fn name(&self) -> &str;
    /// Whether Scaleway is still working on it (the next look must be a fresh GET).
    fn is_transient(&self) -> bool;
    /// Whether Scaleway reports it `locked` (it refuses every change: each look reads the
    /// scope afresh, so that the unlocking is seen then, not when the snapshot expires).
    fn is_locked(&self) -> bool {
        false
    }
    /// Whether nothing can be sent to it now (transient or locked): a change the spec asks
    /// for waits, and is reported so.
    fn is_busy(&self) -> bool {
        self.is_transient() || self.is_locked()
    }
    /// Tags (where the ownership tag is).
    fn tags(&self) -> &[String];
    /// The UID of the Kubernetes object the resource was created for (or adopted by), from
    /// its ownership mark.
    fn owner(&self) -> Option<&str> {
        super::policy::owner_of(self.tags())
    }
    /// Readies an object decoded from a List to be kept until the scope's next one: drops the
    /// spare room its vectors were decoded with, and shares the parts it has alike with
    /// `neighbour`, the object before it in the snapshot (README, Performance). Most kinds
    /// keep what they decoded as it is.
    fn settle_in(&mut self, _neighbour: Option<&Self>) {}
}

macro_rules! remote_object {
    ($type:ty) => {
        remote_object!($type, |_, _| {});
    };
    ($type:ty, $settle_in:expr) => {
        impl RemoteObject for $type {
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn is_transient(&self) -> bool {
                self.status.is_transient()
            }
            fn is_locked(&self) -> bool {
                super::remote_status::is_locked(self.status.as_str())
            }
            fn tags(&self) -> &[String] {
                &self.tags
            }
            fn settle_in(&mut self, neighbour: Option<&Self>) {
                ($settle_in)(self, neighbour)
            }
        }
    };
}
remote_object!(Namespace);
remote_object!(Container, Container::settle_beside);
remote_object!(Trigger);
remote_object!(Function);

/// Tokens have no name and no tags: the owner mark in their description stands for both, so
/// a token's "name" is the UID of the object it was created for.
impl RemoteObject for Token {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        super::policy::description_owner(&self.description).unwrap_or_default()
    }
    fn is_transient(&self) -> bool {
        self.status.is_transient()
    }
    fn tags(&self) -> &[String] {
        &[]
    }
}

/// A function trigger has no tags: the owner mark is in its description.
impl RemoteObject for FunctionTrigger {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn is_transient(&self) -> bool {
        self.status.is_transient()
    }
    fn tags(&self) -> &[String] {
        &[]
    }
    fn owner(&self) -> Option<&str> {
        super::policy::description_owner(&self.description)
    }
}

/// A function cron has no tags nor description: nothing marks it (the cron reconciler
/// records its intent to create one in status instead).
impl RemoteObject for Cron {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn is_transient(&self) -> bool {
        self.status.is_transient()
    }
    fn tags(&self) -> &[String] {
        &[]
    }
}

/// A function domain's hostname is its name (unique at Scaleway); it has no tags, so nothing
/// marks it (the domain reconciler records its intent to create one in status instead).
impl RemoteObject for FunctionDomain {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.hostname
    }
    fn is_transient(&self) -> bool {
        self.status.is_transient()
    }
    fn is_locked(&self) -> bool {
        super::remote_status::is_locked(self.status.as_str())
    }
    fn tags(&self) -> &[String] {
        &[]
    }
}

/// A domain's hostname is its name: unique at Scaleway.
impl RemoteObject for Domain {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.hostname
    }
    fn is_transient(&self) -> bool {
        self.status.is_transient()
    }
    fn tags(&self) -> &[String] {
        &self.tags
    }
}

/// One List of a scope, sorted by ID. A sorted vector rather than a map keyed by ID: the
/// operator keeps one entry per remote object it manages, and a map would add a copy of every
/// ID and its unused buckets to each (README, Performance). The objects are boxed so that an
/// insertion or a removal (a create or a delete) shifts pointers, not whole objects: a
/// `Container` is over 500 bytes, and a scope may hold thousands.
struct Snapshot<T> {
    fetched_at: Instant,
    items: Vec<Box<T>>,
}

impl<T: RemoteObject> Snapshot<T> {
    fn new(items: Vec<T>) -> Self {
        let mut items: Vec<Box<T>> = items.into_iter().map(Box::new).collect();
        // Stable, so that copies of one ID keep the order they were read in: a scope lists
        // each ID once, but should a List repeat one (an object that moved between pages while
        // they were read), the last copy read is kept.
        items.sort_by(|a, b| a.id().cmp(b.id()));
        items.dedup_by(|later, earlier| {
            let same = later.id() == earlier.id();
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        items.shrink_to_fit();
        for at in 0..items.len() {
            let (before, rest) = items.split_at_mut(at);
            if let Some(item) = rest.first_mut() {
                item.settle_in(before.last().map(|n| &**n));
            }
        }
        Self {
            fetched_at: Instant::now(),
            items,
        }
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        self.items.binary_search_by(|item| item.id().cmp(id))
    }

    fn get(&self, id: &str) -> Option<&T> {
        self.position(id).ok().map(|at| &*self.items[at])
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|item| &**item)
    }

    fn insert(&mut self, mut item: T) {
        let (at, replaces) = match self.position(item.id()) {
            Ok(at) => (at, true),
            Err(at) => (at, false),
        };
        // The object before it, or for the first one the object after it.
        let neighbour = match at.checked_sub(1) {
            Some(before) => self.items.get(before),
            None => self.items.get(usize::from(replaces)),
        };
        item.settle_in(neighbour.map(|n| &**n));
        if replaces {
            *self.items[at] = item;
        } else {
            self.items.insert(at, Box::new(item));
        }
    }

    fn remove(&mut self, id: &str) {
        if let Ok(at) = self.position(id) {
            self.items.remove(at);
        }
    }
}

/// What to do when a remote object settles: wake the reconcile of the object waiting for it.
pub type Wake = Box<dyn FnOnce() + Send>;

/// One scope: its snapshot, and the objects waiting for one of its remote objects to settle.
struct ScopeState<T> {
    snapshot: Option<Snapshot<T>>,
    /// By remote ID.
    waiting: HashMap<String, Wake>,
}

impl<T> Default for ScopeState<T> {
    fn default() -> Self {
        Self {
            snapshot: None,
            waiting: HashMap::new(),
        }
    }
}

impl<T: RemoteObject> ScopeState<T> {
    /// After a List: wakes the waiters whose remote object settled (or is gone).
    fn wake_settled(&mut self) {
        let Some(snapshot) = &self.snapshot else {
            return;
        };
        let settled: Vec<String> = self
            .waiting
            .keys()
            .filter(|id| snapshot.get(id).is_none_or(|item| !item.is_transient()))
            .cloned()
            .collect();
        for id in settled {
            if let Some(wake) = self.waiting.remove(&id) {
                wake();
            }
        }
    }
}

type Slot<T> = Arc<tokio::sync::Mutex<ScopeState<T>>>;

/// Remote objects by scope, refreshed when older than the resync period of the object
/// that looks.
pub struct RemoteCache<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

/// How to find one object in a scope: by ID when known, else by name (adoption, and
/// recovery from a crash between a create and the status write).
#[derive(Clone, Copy, Debug)]
pub struct Lookup<'a> {
    /// The ID recorded in status, if any.
    pub id: Option<&'a str>,
    /// The remote name the spec asks for.
    pub name: &'a str,
    /// A snapshot older than this (the object's resync period) is listed again.
    pub max_age: Duration,
}

impl<T: RemoteObject> Default for RemoteCache<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: RemoteObject> RemoteCache<T> {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, scope: &str) -> Slot<T> {
        match self.slots.lock() {
            Ok(mut slots) => slots.entry(scope.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// Finds an object in `scope`, listing the scope first when its snapshot is missing or
    /// older than the resync period. A List wakes the objects waiting for one of the
    /// scope's remote objects that it shows settled.
    pub async fn find<E, F, Fut>(
        &self,
        scope: &str,
        lookup: Lookup<'_>,
        list: F,
    ) -> Result<Option<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<T>, E>>,
    {
        let slot = self.slot(scope);
        let mut state = slot.lock().await;
        let stale = state
            .snapshot
            .as_ref()
            .is_none_or(|s| s.fetched_at.elapsed() >= lookup.max_age);
        if stale {
            let items = list().await?;
            state.snapshot = Some(Snapshot::new(items));
        }
        let found = state.snapshot.as_ref().and_then(|snapshot| {
            let by_id = lookup.id.and_then(|id| snapshot.get(id));
            by_id
                .or_else(|| snapshot.iter().find(|item| item.name() == lookup.name))
                .cloned()
        });
        // The object looking now needs no wake for what it finds.
        if let Some(found) = &found {
            state.waiting.remove(found.id());
        }
        if stale {
            state.wake_settled();
        }
        Ok(found)
    }

    /// Calls `wake` once a List of `scope` shows the remote object `id` settled (or gone),
    /// so that the object waiting for it is reconciled then rather than at its next poll.
    /// Replaces an earlier `wake` for `id`; [`invalidate`](Self::invalidate) drops them
    /// (the polls remain).
    pub async fn wake_when_settled(&self, scope: &str, id: &str, wake: Wake) {
        let slot = self.slot(scope);
        slot.lock().await.waiting.insert(id.to_owned(), wake);
    }

    /// Records what a write or an individual GET returned.
    pub async fn put(&self, scope: &str, item: &T) {
        let slot = self.slot(scope);
        let mut state = slot.lock().await;
        if let Some(snapshot) = state.snapshot.as_mut() {
            snapshot.insert(item.clone());
        }
    }

    /// Forgets an object that is gone.
    pub async fn remove(&self, scope: &str, id: &str) {
        let slot = self.slot(scope);
        let mut state = slot.lock().await;
        if let Some(snapshot) = state.snapshot.as_mut() {
            snapshot.remove(id);
        }
    }

    /// Forgets objects that are being deleted: whatever the snapshot says of them is stale, and
    /// a new object with the same name must not adopt them from it.
    pub async fn forget(&self, scope: &str, ids: &[Option<&str>]) {
        for id in ids.iter().flatten() {
            self.remove(scope, id).await;
        }
    }

    /// How many objects of `scope`'s snapshot Scaleway is still working on.
    pub async fn transient_count(&self, scope: &str) -> usize {
        let slot = self.slot(scope);
        let state = slot.lock().await;
        state
            .snapshot
            .as_ref()
            .map_or(0, |s| s.iter().filter(|i| i.is_transient()).count())
    }

    /// Every object of `scope`'s snapshot named `name`.
    pub async fn named(&self, scope: &str, name: &str) -> Vec<T> {
        let slot = self.slot(scope);
        let state = slot.lock().await;
        state
            .snapshot
            .as_ref()
            .map(|s| {
                s.iter()
                    .filter(|item| item.name() == name)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// After a write that failed: when Scaleway said the object is busy, locked or gone, the
    /// snapshot was wrong about it, so the next lookup lists the scope again (and reports the
    /// object as it stands rather than writing to it again).
    pub async fn after_failed_write(&self, scope: &str, error: &scaleway::Error) {
        let locked = matches!(error, scaleway::Error::Conflict { kind, .. } if kind == "locked");
        if matches!(error, scaleway::Error::TransientState { .. }) || locked || error.is_not_found()
        {
            self.invalidate(scope).await;
        }
    }

    /// Drops a scope's snapshot, so the next lookup lists again (after an answer we did not
    /// see, or an `already exists` that the snapshot did not know about).
    pub async fn invalidate(&self, scope: &str) {
        let slot = self.slot(scope);
        *slot.lock().await = ScopeState::default();
    }
}

/// When `found` is in transit, asks `cache` to wake the object looking at it (`wake`) once a
/// List of `scope` shows it settled.
pub async fn wake_when_settled<T: RemoteObject>(
    cache: &RemoteCache<T>,
    scope: &str,
    found: Option<&T>,
    wake: impl FnOnce() -> Wake,
) {
    if let Some(found) = found.filter(|f| f.is_transient()) {
        cache.wake_when_settled(scope, found.id(), wake()).await;
    }
}

/// Whether a create that failed with `error` may still have been carried out (no answer, or
/// a gateway error): its resource may appear later.
pub fn create_may_have_landed(error: &scaleway::Error) -> bool {
    matches!(
        error,
        scaleway::Error::Timeout { .. }
            | scaleway::Error::Transport { .. }
            | scaleway::Error::Server { .. }
    )
}

/// How old a scope's snapshot may be for a lookup of an object whose remote ID is not
/// recorded yet (`recorded` false): such a lookup decides whether to create, and where names
/// are not unique at Scaleway (triggers, crons) nothing else would stop a second resource
/// with the name, so it lists the scope afresh. Otherwise the resync period.
pub fn max_age(recorded: bool, resync: Duration) -> Duration {
    if recorded { resync } else { Duration::ZERO }
}

/// How old a snapshot may be for a poll of an object in transit when others of its scope are
/// in transit too (see [`find_fresh`]).
pub const BULK_POLL_AGE: Duration = Duration::from_millis(100);

/// `lookup`, with a snapshot older than `age` listed again.
fn fresh_within(lookup: Lookup<'_>, age: Duration) -> Lookup<'_> {
    Lookup {
        max_age: lookup.max_age.min(age),
        ..lookup
    }
}

/// Finds an object through the scope's snapshot and, when the snapshot shows it in a
/// transient status, reads it again with an individual GET so that progress is seen without
/// listing the whole scope (a locked one, rarer, through the scope's List). An object the GET
/// no longer finds is forgotten.
pub async fn find_fresh<T, L, LF, G, GF>(
    cache: &RemoteCache<T>,
    scope: &str,
    lookup: Lookup<'_>,
    list: L,
    get: G,
) -> Result<Option<T>, scaleway::Error>
where
    T: RemoteObject,
    L: Fn() -> LF,
    LF: Future<Output = Result<Vec<T>, scaleway::Error>>,
    G: FnOnce(String) -> GF,
    GF: Future<Output = Result<T, scaleway::Error>>,
{
    let Some(found) = cache.find(scope, lookup, &list).await? else {
        return Ok(None);
    };
    if found.is_locked() {
        // Locked until someone lifts it: the look reads the scope as it stands (the List just
        // made, if this look made one; else one more), so the unlock is seen at the next look.
        return cache
            .find(scope, fresh_within(lookup, BULK_POLL_AGE), &list)
            .await;
    }
    if !found.is_transient() {
        return Ok(Some(found));
    }
    if cache.transient_count(scope).await > 1 {
        // Several objects of the scope in transit (a burst of creates or updates): one List
        // refreshes all of them, where a GET each would cost a call per object. Objects
        // polled within BULK_POLL_AGE of each other share it.
        return cache
            .find(scope, fresh_within(lookup, BULK_POLL_AGE), &list)
            .await;
    }
    match get(found.id().to_owned()).await {
        Ok(fresh) => {
            cache.put(scope, &fresh).await;
            Ok(Some(fresh))
        }
        Err(error) if error.is_not_found() => {
            cache.remove(scope, found.id()).await;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::scaleway::types::Status;

    fn container(id: &str, name: &str) -> Container {
        Container {
            id: id.into(),
            name: name.into(),
            status: Status::Ready,
            ..Default::default()
        }
    }

    #[test]
    fn a_snapshot_finds_by_id_keeps_the_last_copy_of_an_id_and_takes_writes() {
        let ids = |s: &Snapshot<Container>| -> Vec<String> {
            s.iter().map(|c| c.id.to_string()).collect()
        };
        let mut snapshot = Snapshot::new(vec![
            container("3", "c"),
            container("1", "a"),
            container("2", "old"),
            container("2", "new"),
        ]);
        assert_eq!(ids(&snapshot), ["1", "2", "3"]);
        assert_eq!(snapshot.get("2").map(|c| &*c.name), Some("new"));
        assert!(snapshot.get("4").is_none());

        snapshot.insert(container("0", "z"));
        snapshot.insert(container("3", "c2"));
        assert_eq!(ids(&snapshot), ["0", "1", "2", "3"]);
        assert_eq!(snapshot.get("3").map(|c| &*c.name), Some("c2"));

        snapshot.remove("1");
        snapshot.remove("9");
        assert_eq!(ids(&snapshot), ["0", "2", "3"]);
    }

    /// What a List decodes: one tag in a vector grown to four slots, Scaleway's default probe.
    fn listed(id: &str, probe_interval_secs: u64) -> Container {
        let mut tags = Vec::new();
        tags.push(format!("serverless.scaleway.com/owner-uid={id}"));
        let probe = crate::scaleway::types::Probe {
            failure_threshold: 3,
            interval: Some(crate::scaleway::types::ApiDuration(Duration::from_secs(
                probe_interval_secs,
            ))),
            ..Default::default()
        };
        Container {
            tags,
            liveness_probe: Some(Arc::new(probe.clone())),
            startup_probe: Some(Arc::new(probe)),
            ..container(id, id)
        }
    }

    #[test]
    fn a_snapshot_keeps_one_copy_of_the_probes_its_containers_have_alike_and_no_spare_room() {
        let mut snapshot = Snapshot::new(vec![listed("2", 10), listed("1", 10), listed("3", 20)]);
        snapshot.insert(listed("4", 10));
        snapshot.insert(listed("0", 10));
        let items: Vec<&Container> = snapshot.iter().collect();
        let probe = |at: usize| items[at].liveness_probe.as_ref().map(Arc::as_ptr);
        // 0, 1 and 2 share one copy. 3 has another value; 4 has the first value again, but
        // its neighbour is 3, so it keeps a copy of its own.
        assert_eq!(probe(0), probe(1));
        assert_eq!(probe(1), probe(2));
        assert_ne!(probe(2), probe(3));
        assert_ne!(probe(3), probe(4));
        assert_eq!(
            items[3].liveness_probe.as_ref().map(|p| p.interval),
            Some(Some(crate::scaleway::types::ApiDuration(
                Duration::from_secs(20)
            )))
        );
        assert!(items.iter().all(|c| c.tags.capacity() == c.tags.len()));
        // Sharing changes no value.
        assert_eq!(*items[1], listed("1", 10));
    }

    #[tokio::test]
    async fn a_list_that_shows_a_remote_object_settled_wakes_its_waiter_once() {
        let cache = RemoteCache::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let wake = |woken: &Arc<AtomicUsize>| -> Wake {
            let woken = woken.clone();
            Box::new(move || {
                woken.fetch_add(1, Ordering::SeqCst);
            })
        };
        let status = std::sync::Mutex::new(Status::Creating);
        let list = || async {
            let status = status
                .lock()
                .map(|s| s.clone())
                .unwrap_or(Status::UnknownStatus);
            Ok::<_, ()>(vec![
                Container {
                    status,
                    ..container("1", "a")
                },
                container("2", "b"),
            ])
        };
        let fresh = |name: &'static str| Lookup {
            id: None,
            name,
            max_age: Duration::ZERO,
        };
        let a = cache.find("s", fresh("a"), list).await;
        wake_when_settled(&cache, "s", a.ok().flatten().as_ref(), || wake(&woken)).await;
        // Still creating: no wake.
        let _ = cache.find("s", fresh("b"), list).await;
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        // A List by another object shows it ready: woken, once.
        if let Ok(mut status) = status.lock() {
            *status = Status::Ready;
        }
        let _ = cache.find("s", fresh("b"), list).await;
        let _ = cache.find("s", fresh("b"), list).await;
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        // A settled object registers nothing.
        let settled = cache.find("s", fresh("a"), list).await;
        wake_when_settled(&cache, "s", settled.ok().flatten().as_ref(), || {
            wake(&woken)
        })
        .await;
        assert!(cache.slot("s").lock().await.waiting.is_empty());

        // The object that looks itself is not woken by its own List.
        if let Ok(mut status) = status.lock() {
            *status = Status::Creating;
        }
        let a = cache.find("s", fresh("a"), list).await;
        wake_when_settled(&cache, "s", a.ok().flatten().as_ref(), || wake(&woken)).await;
        if let Ok(mut status) = status.lock() {
            *status = Status::Ready;
        }
        let _ = cache.find("s", fresh("a"), list).await;
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert!(cache.slot("s").lock().await.waiting.is_empty());
    }

    #[tokio::test]
    async fn one_list_serves_many_lookups_until_the_ttl() {
        let cache = RemoteCache::new();
        let lists = AtomicUsize::new(0);
        let list = || async {
            lists.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(vec![container("1", "a"), container("2", "b")])
        };
        let a = cache
            .find(
                "s",
                Lookup {
                    id: Some("1"),
                    name: "a",
                    max_age: Duration::from_secs(60),
                },
                list,
            )
            .await;
        let b = cache
            .find(
                "s",
                Lookup {
                    id: None,
                    name: "b",
                    max_age: Duration::from_secs(60),
                },
                list,
            )
            .await;
        let missing = cache
            .find(
                "s",
                Lookup {
                    id: None,
                    name: "c",
                    max_age: Duration::from_secs(60),
                },
                list,
            )
            .await;
        assert_eq!(a.ok().flatten().map(|c| c.name), Some("a".into()));
        assert_eq!(b.ok().flatten().map(|c| c.id), Some("2".into()));
        assert_eq!(missing, Ok(None));
        assert_eq!(lists.load(Ordering::SeqCst), 1);
        cache.invalidate("s").await;
        let _ = cache
            .find(
                "s",
                Lookup {
                    id: None,
                    name: "a",
                    max_age: Duration::from_secs(60),
                },
                list,
            )
            .await;
        assert_eq!(lists.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn puts_and_removes_update_the_snapshot() {
        let cache = RemoteCache::new();
        let list = || async { Ok::<_, ()>(vec![container("1", "a")]) };
        let _ = cache
            .find(
                "s",
                Lookup {
                    id: None,
                    name: "a",
                    max_age: Duration::from_secs(60),
                },
                list,
            )
            .await;
        cache.put("s", &container("3", "c")).await;
        cache.remove("s", "1").await;
        assert_eq!(
            cache
                .find(
                    "s",
                    Lookup {
                        id: None,
                        name: "c",
                        max_age: Duration::from_secs(60)
                    },
                    list
                )
                .await
                .ok()
                .flatten()
                .map(|c| c.id),
            Some("3".into())
        );
        assert_eq!(
            cache
                .find(
                    "s",
                    Lookup {
                        id: Some("1"),
                        name: "a",
                        max_age: Duration::from_secs(60)
                    },
                    list
                )
                .await,
            Ok(None)
        );
    }

    #[tokio::test]
    async fn an_expired_snapshot_is_listed_again() {
        let cache: RemoteCache<Container> = RemoteCache::new();
        let lists = AtomicUsize::new(0);
        let list = || async {
            lists.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(vec![])
        };
        let _ = cache
            .find::<(), _, _>(
                "s",
                Lookup {
                    id: None,
                    name: "a",
                    max_age: Duration::ZERO,
                },
                list,
            )
            .await;
        let _ = cache
            .find::<(), _, _>(
                "s",
                Lookup {
                    id: None,
                    name: "a",
                    max_age: Duration::ZERO,
                },
                list,
            )
            .await;
        assert_eq!(lists.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_burst_in_transit_is_polled_with_one_list_not_a_get_each() {
        let cache = RemoteCache::new();
        let lists = AtomicUsize::new(0);
        let gets = AtomicUsize::new(0);
        let creating = |id: &str, name: &str| Container {
            status: Status::Creating,
            ..container(id, name)
        };
        let list = || async {
            lists.fetch_add(1, Ordering::SeqCst);
            Ok(vec![
                creating("1", "a"),
                creating("2", "b"),
                creating("3", "c"),
            ])
        };
        let get = |id: String| {
            gets.fetch_add(1, Ordering::SeqCst);
            async move { Ok(container(&id, "x")) }
        };
        let lookup = |name| Lookup {
            id: None,
            name,
            max_age: Duration::from_secs(60),
        };
        for name in ["a", "b", "c"] {
            let found = find_fresh(&cache, "s", lookup(name), list, get).await;
            assert!(found.is_ok_and(|f| f.is_some_and(|f| f.status == Status::Creating)));
        }
        assert_eq!(
            lists.load(Ordering::SeqCst),
            1,
            "one list served the three looks"
        );
        tokio::time::sleep(BULK_POLL_AGE).await;
        let found = find_fresh(&cache, "s", lookup("a"), list, get).await;
        assert!(found.is_ok_and(|f| f.is_some()));
        assert_eq!(
            lists.load(Ordering::SeqCst),
            2,
            "an older snapshot is listed again"
        );
        assert_eq!(
            gets.load(Ordering::SeqCst),
            0,
            "no GET while several are in transit"
        );

        // Only one object in transit: a GET of it, not a List of the scope.
        let single = RemoteCache::new();
        let one = || async { Ok(vec![creating("1", "a"), container("2", "b")]) };
        let found = find_fresh(&single, "s", lookup("a"), one, get).await;
        assert!(found.is_ok_and(|f| f.is_some_and(|f| f.status == Status::Ready)));
        assert_eq!(gets.load(Ordering::SeqCst), 1);
    }
}
