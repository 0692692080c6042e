//! WATCH: a newline-delimited JSON stream of `{"type": .., "object": ..}` events.
//!
//! A watch replays the store's history after the requested resourceVersion, then waits for
//! new writes. It reads the history itself (writers only bump a `tokio::sync::watch` counter),
//! so a slow client never blocks writers: it falls behind, and once the history no longer
//! reaches back to it, it gets a 410 `Expired` error event, as from a real server.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use tokio::time::{Instant, MissedTickBehavior};

use super::Shared;
use super::error::ApiError;
use super::object::meta_str;
use super::ops::Target;
use super::selector::Selectors;
use super::store::{EventType, HistoryEvent};
use super::table::TableOptions;

/// Events read from the history per lock acquisition.
const BATCH: usize = 256;

/// The query parameters of a watch request.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// `resourceVersion`; `None` for "" and "0" (start with the current state).
    pub resource_version: Option<u64>,
    /// `sendInitialEvents=true` (streaming list: initial ADDEDs, then a marked BOOKMARK).
    pub send_initial_events: bool,
    /// `allowWatchBookmarks=true`.
    pub allow_bookmarks: bool,
    /// How long the stream stays open (`timeoutSeconds`).
    pub timeout: Duration,
    /// `labelSelector` and `fieldSelector`.
    pub selectors: Selectors,
    /// Send each object as a one-row `Table` (`kubectl get -w`); the first one carries the
    /// column definitions.
    pub table: Option<TableOptions>,
    /// Send each object as `PartialObjectMetadata` (a metadata-only watch).
    pub metadata_only: bool,
}

/// What the watch loop does next.
enum Wake {
    Changed,
    Bookmark,
    Stop,
}

/// The response body of a watch.
pub fn stream(
    shared: Arc<Shared>,
    target: Target,
    req: WatchRequest,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    async_stream::stream! {
        let deadline = tokio::time::sleep(req.timeout);
        tokio::pin!(deadline);
        let mut changes = shared.subscribe_changes();
        let mut close = shared.subscribe_close();
        let period = shared.config.bookmark_interval.max(Duration::from_millis(10));
        let mut bookmarks = tokio::time::interval_at(Instant::now() + period, period);
        bookmarks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let api_version = target.served.api_version();
        let resource = target.served.def.storage_resource();
        let mut table = req.table;
        let metadata_only = req.metadata_only;
        let served = target.served.clone();
        let served_version = api_version.clone();
        let mut encode = move |kind: &str, obj: Shown<'_>| match table.as_mut() {
            Some(options) => {
                let rendered = super::table::render(
                    &served, std::slice::from_ref(&obj.presented(&served)), None, *options);
                options.no_headers = true;
                line(kind, &rendered)
            }
            None if metadata_only => line(kind, &super::partial::Borrowed::of(obj.value())),
            None => line(kind, &AsServed { obj: obj.value(), api_version: &served_version }),
        };

        let initial = req.send_initial_events || req.resource_version.is_none();
        let mut last = match req.resource_version {
            Some(rv) if !initial => rv,
            _ => 0,
        };
        if initial {
            changes.borrow_and_update();
            let (objects, rv) = shared.read(|state| {
                let objects: Vec<Value> = state
                    .list(&resource, target.namespace.as_deref())
                    .map(|obj| target.served.present(obj))
                    .filter(|obj| req.selectors.matches(obj))
                    .collect();
                (objects, state.resource_version())
            });
            for obj in objects {
                yield Ok(encode("ADDED", Shown::Converted(obj)));
            }
            last = rv;
            if req.send_initial_events {
                yield Ok(bookmark(&target, &api_version, last, true));
            }
        }

        loop {
            changes.borrow_and_update();
            loop {
                let batch = shared.read(|state| state.events_after(&resource, last, BATCH));
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(oldest) => {
                        let status = ApiError::Expired { requested: last, oldest }.to_status();
                        yield Ok(line("ERROR", &status));
                        return;
                    }
                };
                let full = batch.events.len() >= BATCH;
                for event in &batch.events {
                    if let Some((kind, obj)) = translate(event, &target, &req.selectors) {
                        yield Ok(encode(kind, obj));
                    }
                }
                last = batch.scanned_to;
                if !full {
                    break;
                }
            }
            let wake = tokio::select! {
                changed = changes.changed() => if changed.is_ok() { Wake::Changed } else { Wake::Stop },
                _ = close.changed() => Wake::Stop,
                () = &mut deadline => Wake::Stop,
                _ = bookmarks.tick(), if req.allow_bookmarks => Wake::Bookmark,
            };
            match wake {
                Wake::Changed => {}
                Wake::Bookmark => yield Ok(bookmark(&target, &api_version, last, false)),
                Wake::Stop => break,
            }
        }
    }
}

/// An event's object as a watcher is sent it.
enum Shown<'a> {
    /// The stored object itself, where the served form is the stored form: it is serialized
    /// with the served `apiVersion` in place of its own, never copied (one write fans out to
    /// every watcher of its kind).
    Stored(&'a Value),
    /// A converted copy (events served as `events.k8s.io`) or an initial list item.
    Converted(Value),
}

impl Shown<'_> {
    fn value(&self) -> &Value {
        match self {
            Shown::Stored(obj) => obj,
            Shown::Converted(obj) => obj,
        }
    }

    /// The object as a list or a table shows it.
    fn presented(self, served: &super::registry::Served) -> Value {
        match self {
            Shown::Stored(obj) => served.present(obj),
            Shown::Converted(obj) => obj,
        }
    }
}

/// The event a watcher sees for a history event (the object as the watch's resource and
/// version present it), after namespace and selector filtering. An object that stops
/// (starts) matching shows up as `DELETED` (`ADDED`), as in the real watch cache.
fn translate<'a>(
    event: &'a HistoryEvent,
    target: &Target,
    selectors: &Selectors,
) -> Option<(&'static str, Shown<'a>)> {
    let stored = event.object.as_ref();
    if let Some(ns) = &target.namespace
        && meta_str(stored, "namespace") != Some(ns.as_str())
    {
        return None;
    }
    let as_stored = target.served.presents_as_stored();
    let obj = if as_stored {
        Shown::Stored(stored)
    } else {
        Shown::Converted(target.served.present(stored))
    };
    // Labels and field paths read the same in both forms when the form is the stored one.
    let matches = |obj: &Value| {
        if as_stored {
            selectors.matches(obj)
        } else {
            selectors.matches(&target.served.present(obj))
        }
    };
    let now = selectors.matches(obj.value());
    let kind = match event.event {
        EventType::Added | EventType::Deleted if now => event.event.as_str(),
        EventType::Modified => {
            let before = event.previous.as_deref().is_some_and(matches);
            match (before, now) {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                (false, false) => return None,
            }
        }
        _ => return None,
    };
    Some((kind, obj))
}

/// A stored object as served: its fields, with `apiVersion` set to the served version.
struct AsServed<'a> {
    obj: &'a Value,
    api_version: &'a str,
}

impl serde::Serialize for AsServed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(fields) = self.obj.as_object() else {
            return self.obj.serialize(serializer);
        };
        let missing = !fields.contains_key("apiVersion");
        let mut map = serializer.serialize_map(Some(fields.len() + usize::from(missing)))?;
        if missing {
            map.serialize_entry("apiVersion", self.api_version)?;
        }
        for (key, value) in fields {
            if key == "apiVersion" {
                map.serialize_entry(key, self.api_version)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// One line of the stream: `{"type": .., "object": ..}` and a newline.
fn line(kind: &str, object: &impl serde::Serialize) -> Bytes {
    #[derive(serde::Serialize)]
    struct Line<'a, T> {
        #[serde(rename = "type")]
        kind: &'a str,
        object: &'a T,
    }
    let mut out = serde_json::to_vec(&Line { kind, object }).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

fn bookmark(target: &Target, api_version: &str, rv: u64, initial_events_end: bool) -> Bytes {
    let mut object = json!({
        "apiVersion": api_version,
        "kind": target.served.def.kind,
        "metadata": {"resourceVersion": rv.to_string()},
    });
    if initial_events_end {
        object["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line("BOOKMARK", &object)
}

#[cfg(test)]
mod tests {
    use super::super::registry::Registry;
    use super::super::selector::LabelSelector;
    use super::*;

    fn target(namespace: Option<&str>) -> Target {
        let registry = Registry::with_builtins();
        let served = registry.resolve("", "v1", "configmaps");
        Target::new(
            served.unwrap_or_else(|| panic!("configmaps are built in")),
            namespace.map(str::to_owned),
        )
    }

    fn cm(ns: &str, app: &str) -> Arc<Value> {
        Arc::new(json!({"metadata": {"name": "a", "namespace": ns, "labels": {"app": app}}}))
    }

    fn modified(before: &str, after: &str) -> HistoryEvent {
        HistoryEvent {
            rv: 2,
            resource: target(None).served.def.group_resource(),
            event: EventType::Modified,
            object: cm("ns", after),
            previous: Some(cm("ns", before)),
        }
    }

    #[test]
    fn selector_transitions_become_added_and_deleted() {
        let selectors = Selectors {
            labels: LabelSelector::parse("app=web").unwrap_or_default(),
            ..Default::default()
        };
        let t = target(Some("ns"));
        let kind = |e: &HistoryEvent| translate(e, &t, &selectors).map(|(k, _)| k);
        assert_eq!(kind(&modified("web", "web")), Some("MODIFIED"));
        assert_eq!(kind(&modified("db", "web")), Some("ADDED"));
        assert_eq!(kind(&modified("web", "db")), Some("DELETED"));
        assert_eq!(kind(&modified("db", "db")), None);
        assert_eq!(
            translate(&modified("web", "web"), &target(Some("other")), &selectors).map(|(k, _)| k),
            None
        );
    }

    #[test]
    fn bookmarks_carry_only_the_version_and_the_end_marker() {
        let b = bookmark(&target(None), "v1", 7, true);
        let v: Value = serde_json::from_slice(&b).unwrap_or_default();
        assert_eq!(v["type"], "BOOKMARK");
        assert_eq!(v["object"]["metadata"]["resourceVersion"], "7");
        assert_eq!(
            v["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        assert!(b.ends_with(b"\n"));
    }
}
