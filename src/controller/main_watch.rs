//! A kind's main watch: every event is reflected into the controller's store, and only the
//! changes a reconcile must see (spec, finalizers, deletion, our annotations, a new object)
//! wake one. Our own status writes come back as watch events and wake nothing.
//!
//! Whether an object changed is decided against the store's copy, before the event replaces
//! it, so no second map of the objects is kept for that. kube-runtime's `predicate_filter`
//! kept one (a copy of each object's name, namespace and UID plus a hash): about 2.5 MB at
//! 10,000 objects (README, Performance).

use futures::{Stream, TryStreamExt};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::watcher;

use super::reconciler::{Managed, spec_or_lifecycle};

/// Reflects `events` into `writer` and yields the objects whose change should wake a
/// reconcile (compared with `reader`, the store `writer` fills).
pub fn reflect_and_wake<K, S>(
    events: S,
    reader: Store<K>,
    mut writer: Writer<K>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Managed,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    events.try_filter_map(move |event| {
        let wakes = match &event {
            watcher::Event::Apply(object) | watcher::Event::InitApply(object) => {
                wakes_a_reconcile(&reader, object)
            }
            watcher::Event::Delete(_) | watcher::Event::Init | watcher::Event::InitDone => false,
        };
        writer.apply_watcher_event(&event);
        let woken = match event {
            watcher::Event::Apply(object) | watcher::Event::InitApply(object) if wakes => {
                Some(reference_only(object))
            }
            _ => None,
        };
        std::future::ready(Ok(woken))
    })
}

/// Whether `object`, just read from the watch, differs from the stored copy in what a
/// reconcile acts on. An object the store does not hold, or holds with another UID (deleted
/// and created again while the watch was away), always does.
fn wakes_a_reconcile<K: Managed>(reader: &Store<K>, object: &K) -> bool {
    match reader.get(&ObjectRef::from_obj(object)) {
        Some(stored) => {
            stored.uid() != object.uid() || spec_or_lifecycle(&*stored) != spec_or_lifecycle(object)
        }
        None => true,
    }
}

/// The controller turns the woken object into the reference it schedules (kube-runtime's
/// `trigger_self`), and keeps that reference until the object's reconcile runs: a first list
/// puts every object there at once. Without the resourceVersion and UID, which the reference
/// would otherwise copy and nothing there reads (references compare by kind, namespace and
/// name), each costs two fewer strings, twice: the scheduler keeps two copies. (Waits for a
/// later look are kept in [`requeue`](super::requeue), not there.)
fn reference_only<K: Managed>(mut object: K) -> K {
    let meta = object.meta_mut();
    meta.resource_version = None;
    meta.uid = None;
    object
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kube::runtime::reflector;

    use super::*;
    use crate::crd::ServerlessNamespace;

    fn namespace(uid: &str, generation: i64, resource_version: &str) -> ServerlessNamespace {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessNamespace",
            "metadata": {"name": "ns", "namespace": "default", "uid": uid,
                         "generation": generation, "resourceVersion": resource_version},
            "spec": {}
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Feeds `events` through the main watch; returns the objects that woke a reconcile and
    /// the store.
    async fn run(
        events: Vec<watcher::Event<ServerlessNamespace>>,
    ) -> (Vec<ServerlessNamespace>, Store<ServerlessNamespace>) {
        let (reader, writer) = reflector::store();
        let woken = reflect_and_wake(
            futures::stream::iter(events.into_iter().map(Ok)),
            reader.clone(),
            writer,
        )
        .map(|result| result.unwrap_or_else(|e| panic!("{e}")))
        .collect()
        .await;
        (woken, reader)
    }

    #[tokio::test]
    async fn a_new_object_wakes_and_a_status_write_does_not() {
        use watcher::Event::*;
        let mut status_written = namespace("u1", 1, "2");
        status_written.status = Some(Default::default());
        let (woken, store) = run(vec![
            Apply(namespace("u1", 1, "1")),
            // Our own status write: a new resourceVersion, the same generation.
            Apply(status_written),
        ])
        .await;
        assert_eq!(woken.len(), 1);
        // The store holds every event, woken or not.
        let stored = store.state();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].metadata.resource_version.as_deref(), Some("2"));
        assert!(stored[0].status.is_some());
    }

    #[tokio::test]
    async fn spec_finalizer_and_deletion_changes_wake() {
        use watcher::Event::*;
        let mut finalized = namespace("u1", 2, "3");
        finalized.metadata.finalizers = Some(vec!["f".into()]);
        let mut deleting = finalized.clone();
        deleting.metadata.resource_version = Some("4".into());
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        let (woken, _) = run(vec![
            Apply(namespace("u1", 1, "1")),
            Apply(namespace("u1", 2, "2")),
            Apply(finalized),
            Apply(deleting),
        ])
        .await;
        assert_eq!(woken.len(), 4);
    }

    #[tokio::test]
    async fn an_object_created_again_under_its_name_wakes() {
        use watcher::Event::*;
        // The watch missed the delete: the same name, generation and finalizers, a new UID.
        let (woken, store) = run(vec![
            Apply(namespace("u1", 1, "1")),
            Apply(namespace("u2", 1, "9")),
        ])
        .await;
        assert_eq!(woken.len(), 2);
        assert_eq!(store.state()[0].metadata.uid.as_deref(), Some("u2"));
    }

    #[tokio::test]
    async fn a_relist_wakes_only_what_changed_while_the_watch_was_away() {
        use watcher::Event::*;
        let mut other = namespace("u9", 1, "1");
        other.metadata.name = Some("other".into());
        let (woken, store) = run(vec![
            Init,
            InitApply(namespace("u1", 1, "1")),
            InitApply(other.clone()),
            InitDone,
            // Relist: `ns` got a new spec, `other` only a status.
            Init,
            InitApply(namespace("u1", 2, "5")),
            InitApply({
                other.metadata.resource_version = Some("6".into());
                other
            }),
            InitDone,
        ])
        .await;
        let names: Vec<String> = woken.iter().map(|o| o.name_any()).collect();
        assert_eq!(names, ["ns", "other", "ns"]);
        assert_eq!(store.state().len(), 2);
    }

    #[tokio::test]
    async fn deletions_wake_nothing_and_leave_the_store() {
        use watcher::Event::*;
        let (woken, store) = run(vec![
            Apply(namespace("u1", 1, "1")),
            Delete(namespace("u1", 1, "2")),
        ])
        .await;
        assert_eq!(woken.len(), 1);
        assert!(store.state().is_empty());
    }

    #[tokio::test]
    async fn the_woken_object_carries_only_its_reference_and_the_store_keeps_all() {
        let (woken, store) = run(vec![watcher::Event::Apply(namespace("u1", 1, "1"))]).await;
        let meta = &woken[0].metadata;
        assert_eq!(
            (meta.name.as_deref(), meta.namespace.as_deref()),
            (Some("ns"), Some("default"))
        );
        assert_eq!(
            (meta.uid.as_deref(), meta.resource_version.as_deref()),
            (None, None)
        );
        let reference = ObjectRef::from_obj(&woken[0]);
        assert_eq!(
            (reference.extra.uid, reference.extra.resource_version),
            (None, None)
        );
        let stored = &store.state()[0].metadata;
        assert_eq!(
            (stored.uid.as_deref(), stored.resource_version.as_deref()),
            (Some("u1"), Some("1"))
        );
    }
}
