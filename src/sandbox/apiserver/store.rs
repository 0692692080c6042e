//! The object store: every object, the global resourceVersion counter and the bounded
//! history of changes that watches replay from.
//!
//! Every write bumps the one global counter by one and records exactly one history event, so
//! "all events after resourceVersion N" is a suffix of the history.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::object::{meta_str, set_meta};
use super::registry::{GroupResource, Registry};

/// (namespace, name); the namespace is "" for cluster-scoped objects.
pub type ObjectKey = (String, String);

/// The key of a stored object.
pub fn key_of(obj: &Value) -> ObjectKey {
    (
        meta_str(obj, "namespace").unwrap_or_default().to_owned(),
        meta_str(obj, "name").unwrap_or_default().to_owned(),
    )
}

/// Kind of change in a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object was changed.
    Modified,
    /// The object was removed.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One recorded change.
#[derive(Debug)]
pub struct HistoryEvent {
    /// The resourceVersion this change produced.
    pub rv: u64,
    /// The resource the object belongs to.
    pub resource: GroupResource,
    /// What happened.
    pub event: EventType,
    /// The object after the change (for `Deleted`: its last state, with the new resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change, for `Modified` (watch filters need both sides).
    pub previous: Option<Arc<Value>>,
}

/// Events a watch has not seen yet.
#[derive(Debug, Default)]
pub struct EventBatch {
    /// Events of the requested resource, oldest first.
    pub events: Vec<Arc<HistoryEvent>>,
    /// The resourceVersion up to which the history was scanned (resume after it).
    pub scanned_to: u64,
}

/// The whole mutable state of the server.
#[derive(Debug)]
pub struct State {
    /// Served resources.
    pub registry: Registry,
    objects: HashMap<GroupResource, BTreeMap<ObjectKey, Value>>,
    rv: u64,
    history: VecDeque<Arc<HistoryEvent>>,
    history_limit: usize,
    /// Highest resourceVersion whose event was dropped from the history.
    evicted: u64,
}

impl State {
    /// An empty store that keeps the last `history_limit` events (at least one).
    pub fn new(registry: Registry, history_limit: usize) -> Self {
        Self {
            registry,
            objects: HashMap::new(),
            rv: 0,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            evicted: 0,
        }
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// One object.
    pub fn get(&self, resource: &GroupResource, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(resource)?.get(key)
    }

    /// Objects of a resource, ordered by namespace then name; all namespaces when `namespace`
    /// is `None`.
    pub fn list<'a>(
        &'a self,
        resource: &GroupResource,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .get(resource)
            .into_iter()
            .flat_map(|objects| objects.iter())
            .filter(move |((ns, _), _)| namespace.is_none_or(|want| want == ns))
            .map(|(_, obj)| obj)
    }

    /// Stores an object (new or replacing), giving it the next resourceVersion and recording
    /// `ADDED` or `MODIFIED`. Returns the stored object.
    pub fn put(&mut self, resource: &GroupResource, mut obj: Value) -> Value {
        self.rv += 1;
        let rv = self.rv;
        set_meta(&mut obj, "resourceVersion", Value::String(rv.to_string()));
        let previous = self
            .objects
            .entry(resource.clone())
            .or_default()
            .insert(key_of(&obj), obj.clone());
        let event = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(HistoryEvent {
            rv,
            resource: resource.clone(),
            event,
            object: Arc::new(obj.clone()),
            previous: previous.map(Arc::new),
        });
        obj
    }

    /// Removes an object, recording `DELETED` with a new resourceVersion. Returns its last
    /// state (carrying that resourceVersion).
    pub fn remove(&mut self, resource: &GroupResource, key: &ObjectKey) -> Option<Value> {
        let obj = self.objects.get_mut(resource)?.remove(key)?;
        Some(self.record_deletion(resource, obj))
    }

    /// Removes the object stored under `obj`'s key, reporting `obj` (its final state, e.g.
    /// with the last finalizer gone) in the `DELETED` event. Returns it with its new
    /// resourceVersion.
    pub fn remove_as(&mut self, resource: &GroupResource, obj: Value) -> Value {
        if let Some(objects) = self.objects.get_mut(resource) {
            objects.remove(&key_of(&obj));
        }
        self.record_deletion(resource, obj)
    }

    fn record_deletion(&mut self, resource: &GroupResource, mut obj: Value) -> Value {
        self.rv += 1;
        let rv = self.rv;
        set_meta(&mut obj, "resourceVersion", Value::String(rv.to_string()));
        self.record(HistoryEvent {
            rv,
            resource: resource.clone(),
            event: EventType::Deleted,
            object: Arc::new(obj.clone()),
            previous: None,
        });
        obj
    }

    /// Removes every object of a resource (used when its CRD is deleted).
    pub fn remove_all(&mut self, resource: &GroupResource) {
        let keys: Vec<ObjectKey> = self
            .objects
            .get(resource)
            .map(|objects| objects.keys().cloned().collect())
            .unwrap_or_default();
        for key in keys {
            self.remove(resource, &key);
        }
        self.objects.remove(resource);
    }

    /// Every object of every resource, for a snapshot: `(resource, objects)` pairs, ordered by
    /// group and plural, the objects by namespace and name.
    pub fn dump(&self) -> Vec<(GroupResource, Vec<Value>)> {
        let mut out: Vec<(GroupResource, Vec<Value>)> = self
            .objects
            .iter()
            .filter(|(_, objects)| !objects.is_empty())
            .map(|(resource, objects)| (resource.clone(), objects.values().cloned().collect()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Puts an object back as it was saved (its resourceVersion kept, no history event) and
    /// moves the global resourceVersion past it. For loading a snapshot into a fresh store.
    pub fn restore(&mut self, resource: &GroupResource, obj: Value) {
        let rv = meta_str(&obj, "resourceVersion")
            .and_then(|rv| rv.parse::<u64>().ok())
            .unwrap_or(0);
        self.rv = self.rv.max(rv);
        self.objects
            .entry(resource.clone())
            .or_default()
            .insert(key_of(&obj), obj);
    }

    /// Raises the global resourceVersion to at least `rv` and forgets the history, as after a
    /// restart: watches resume only from now.
    pub fn restart_at(&mut self, rv: u64) {
        self.rv = self.rv.max(rv);
        self.compact();
    }

    fn record(&mut self, event: HistoryEvent) {
        self.history.push_back(Arc::new(event));
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.evicted = old.rv;
            }
        }
    }

    /// Forgets the whole history (like an etcd compaction): a watch can then only start from
    /// the current resourceVersion or later.
    pub fn compact(&mut self) {
        self.history.clear();
        self.evicted = self.rv;
    }

    /// Up to `max` events of `resource` after resourceVersion `after`.
    ///
    /// Fails with the oldest resourceVersion a watch can start from when events after `after`
    /// are no longer kept.
    pub fn events_after(
        &self,
        resource: &GroupResource,
        after: u64,
        max: usize,
    ) -> Result<EventBatch, u64> {
        if after < self.evicted {
            return Err(self.evicted);
        }
        let start = self.history.partition_point(|e| e.rv <= after);
        let mut batch = EventBatch {
            events: Vec::new(),
            scanned_to: after,
        };
        for event in self.history.range(start..) {
            if batch.events.len() >= max {
                return Ok(batch);
            }
            batch.scanned_to = event.rv;
            if event.resource == *resource {
                batch.events.push(Arc::clone(event));
            }
        }
        batch.scanned_to = batch.scanned_to.max(self.rv);
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}})
    }

    #[test]
    fn every_write_bumps_the_version_and_is_recorded() {
        let gr = GroupResource::new("", "configmaps");
        let mut state = State::new(Registry::with_builtins(), 100);
        let a = state.put(&gr, cm("a"));
        assert_eq!(a["metadata"]["resourceVersion"], "1");
        state.put(&gr, cm("a"));
        let gone = state.remove(&gr, &("ns".into(), "a".into()));
        assert_eq!(
            gone.map(|g| g["metadata"]["resourceVersion"].clone()),
            Some(json!("3"))
        );
        let batch = state.events_after(&gr, 0, 100).unwrap_or_default();
        let kinds: Vec<_> = batch.events.iter().map(|e| e.event).collect();
        assert_eq!(
            kinds,
            [EventType::Added, EventType::Modified, EventType::Deleted]
        );
        assert_eq!(batch.scanned_to, 3);
        assert!(batch.events[1].previous.is_some());
    }

    #[test]
    fn old_versions_expire_when_history_overflows() {
        let gr = GroupResource::new("", "configmaps");
        let mut state = State::new(Registry::with_builtins(), 2);
        for name in ["a", "b", "c", "d"] {
            state.put(&gr, cm(name));
        }
        assert_eq!(state.events_after(&gr, 1, 10).map(|_| ()), Err(2));
        let batch = state.events_after(&gr, 2, 10).unwrap_or_default();
        assert_eq!(batch.events.len(), 2);
        assert_eq!(
            state.events_after(&gr, 4, 10).map(|b| b.events.len()),
            Ok(0)
        );
    }

    #[test]
    fn batches_are_bounded_and_skip_other_resources() {
        let gr = GroupResource::new("", "configmaps");
        let other = GroupResource::new("", "secrets");
        let mut state = State::new(Registry::with_builtins(), 100);
        state.put(&other, cm("x"));
        for name in ["a", "b", "c"] {
            state.put(&gr, cm(name));
        }
        let first = state.events_after(&gr, 0, 2).unwrap_or_default();
        assert_eq!(first.events.len(), 2);
        assert_eq!(first.scanned_to, 3);
        let rest = state
            .events_after(&gr, first.scanned_to, 2)
            .unwrap_or_default();
        assert_eq!(rest.events.len(), 1);
        assert_eq!(rest.scanned_to, 4);
        state.compact();
        assert_eq!(state.events_after(&gr, 3, 2).map(|_| ()), Err(4));
    }
}
