//! Kubernetes Events (events.k8s.io/v1) for our objects, with bounded memory.
//!
//! kube-runtime's `Recorder` keeps every event it published for six minutes and sweeps that
//! cache on every publish: with thousands of objects converging, that was tens of MiB and a
//! sweep of the whole cache per event. Here a Normal event (Created, Updated, …) is created
//! and forgotten, and only Warnings, which repeat while an object keeps failing, are
//! remembered (at most [`MAX_REMEMBERED`], for [`SERIES_WINDOW`]) so that a repeat becomes a
//! series count on the first event instead of a new event.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

/// How long after its last repeat a Warning is remembered to fold repeats into a series.
pub const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// Most Warnings remembered at once; the least recently seen is forgotten first.
pub const MAX_REMEMBERED: usize = 1024;

/// Normal or Warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Progress.
    Normal,
    /// Something the user should look at.
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

struct Remembered {
    name: String,
    count: i32,
    at: Instant,
}

/// Publishes events as this controller.
pub struct EventPublisher {
    kube: kube::Client,
    controller: String,
    instance: String,
    warnings: Mutex<HashMap<String, Remembered>>,
}

impl EventPublisher {
    /// A publisher reporting as `controller` (and `instance`, e.g. the pod name).
    pub fn new(kube: kube::Client, controller: &str, instance: Option<String>) -> Self {
        Self {
            kube,
            controller: controller.to_owned(),
            instance: instance.unwrap_or_else(|| controller.to_owned()),
            warnings: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes one event about `regarding`.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let namespace = regarding.namespace.clone().unwrap_or_default();
        let api: Api<Event> = Api::namespaced(self.kube.clone(), &namespace);
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let key = format!(
            "{}\u{0}{reason}\u{0}{note}",
            regarding.uid.as_deref().unwrap_or_default()
        );
        if type_ == EventType::Warning
            && let Some((name, count)) = self.repeat(&key)
        {
            let patch = serde_json::json!({
                "series": {"count": count, "lastObservedTime": now},
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // Gone (expired or deleted): start a new event below.
                Err(kube::Error::Api(status)) if status.code == 404 => self.forget(&key),
                Err(error) => return Err(error),
            }
        }
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!(
                    "{}.",
                    regarding.name.as_deref().unwrap_or("object")
                )),
                namespace: Some(namespace),
                ..Default::default()
            },
            event_time: Some(now),
            action: Some(reason.to_owned()),
            reason: Some(reason.to_owned()),
            note: Some(note.to_owned()),
            type_: Some(type_.as_str().to_owned()),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            series: None,
            ..Default::default()
        };
        let created = api.create(&PostParams::default(), &event).await?;
        if type_ == EventType::Warning
            && let Some(name) = created.metadata.name
        {
            self.remember(key, name);
        }
        Ok(())
    }

    /// The event to count a repeat on, and the new count, if `key` was seen recently.
    fn repeat(&self, key: &str) -> Option<(String, i32)> {
        let mut warnings = self.warnings.lock().ok()?;
        let entry = warnings.get_mut(key)?;
        if entry.at.elapsed() > SERIES_WINDOW {
            warnings.remove(key);
            return None;
        }
        entry.count += 1;
        // The window runs from the last repeat (kube-runtime ages a series by its
        // lastObservedTime), so a Warning that keeps repeating stays one series.
        entry.at = Instant::now();
        Some((entry.name.clone(), entry.count))
    }

    fn remember(&self, key: String, name: String) {
        let Ok(mut warnings) = self.warnings.lock() else {
            return;
        };
        if warnings.len() >= MAX_REMEMBERED {
            warnings.retain(|_, w| w.at.elapsed() <= SERIES_WINDOW);
            if warnings.len() >= MAX_REMEMBERED
                && let Some(oldest) = warnings
                    .iter()
                    .min_by_key(|(_, w)| w.at)
                    .map(|(k, _)| k.clone())
            {
                warnings.remove(&oldest);
            }
        }
        warnings.insert(
            key,
            Remembered {
                name,
                count: 1,
                at: Instant::now(),
            },
        );
    }

    fn forget(&self, key: &str) {
        if let Ok(mut warnings) = self.warnings.lock() {
            warnings.remove(key);
        }
    }

    /// How many Warnings are remembered (for tests and metrics).
    pub fn remembered(&self) -> usize {
        self.warnings.lock().map(|w| w.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher() -> EventPublisher {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap_or_default());
        let client = kube::Client::try_from(config).unwrap_or_else(|e| panic!("{e}"));
        EventPublisher::new(client, "test", None)
    }

    #[tokio::test]
    async fn warnings_are_remembered_within_bounds() {
        let publisher = publisher();
        for i in 0..(MAX_REMEMBERED + 10) {
            publisher.remember(format!("k{i}"), format!("e{i}"));
        }
        assert_eq!(publisher.remembered(), MAX_REMEMBERED);
        assert_eq!(publisher.repeat("k5"), None, "the oldest were forgotten");
        let last = format!("k{}", MAX_REMEMBERED + 9);
        assert_eq!(
            publisher.repeat(&last),
            Some((format!("e{}", MAX_REMEMBERED + 9), 2))
        );
        assert_eq!(
            publisher.repeat(&last),
            Some((format!("e{}", MAX_REMEMBERED + 9), 3))
        );
        publisher.forget(&last);
        assert_eq!(publisher.repeat(&last), None);
    }
}
