//! The [`Emulator`] handle (shared state behind an `Arc`) and [`RunningEmulator`].

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{EmulatorConfig, Faults};
use crate::faults::{FaultEngine, FaultPlan};
use crate::secret::SecretHasher;
use crate::store::Store;
use crate::store::lifecycle::Now;
use crate::wire::enums::Status;

/// Immutable settings taken from [`EmulatorConfig`].
#[derive(Debug)]
pub(crate) struct Settings {
    pub transition_delay: Duration,
    pub delete_delay: Duration,
    pub credentials: Option<Vec<String>>,
    pub organization_id: String,
    pub failing_image_substrings: Vec<String>,
    pub container_quota: Option<usize>,
}

impl Settings {
    /// True when a container with this image must end in `error`.
    pub(crate) fn image_fails(&self, image: &str) -> bool {
        self.failing_image_substrings
            .iter()
            .any(|needle| !needle.is_empty() && image.contains(needle.as_str()))
    }
}

/// Per-route request counters.
#[derive(Debug, Default)]
struct Counts {
    routes: BTreeMap<String, u64>,
    total: u64,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    store: Mutex<Store>,
    faults: Mutex<FaultEngine>,
    counts: Mutex<Counts>,
    hasher: SecretHasher,
    /// Signs presigned URLs. A key of its own: with the secret hasher, a client could get a
    /// valid signature by storing the canonical request as a secret value and reading its
    /// `hashed_value`.
    url_signer: SecretHasher,
}

/// An in-memory Scaleway Serverless Containers v1 API. Cloning is cheap and every clone
/// shares the same state.
#[derive(Clone, Debug)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl Emulator {
    /// A new emulator with empty state.
    pub fn new(config: EmulatorConfig) -> Self {
        let EmulatorConfig {
            seed,
            transition_delay,
            delete_delay,
            credentials,
            organization_id,
            failing_image_substrings,
            faults,
            container_quota,
        } = config;
        let mut store = Store::new(seed);
        store.set_min_delay(transition_delay.min(delete_delay));
        let inner = Inner {
            settings: Settings {
                transition_delay,
                delete_delay,
                credentials,
                organization_id,
                failing_image_substrings,
                container_quota,
            },
            store: Mutex::new(store),
            faults: Mutex::new(FaultEngine::new(seed, faults)),
            counts: Mutex::new(Counts::default()),
            hasher: SecretHasher::new(),
            url_signer: SecretHasher::new(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The HTTP router: the API under `/containers/v1/regions/{region}` and the admin API
    /// under `/__emulator/`. The dropped-connection fault needs [`Emulator::serve`]; served by
    /// another server, a dropped request is answered with a 503 instead.
    pub fn router(&self) -> Router {
        crate::api::router(self.clone())
    }

    /// Serves the router on `listener` until the future is dropped or its task aborted
    /// (open connections are closed then too).
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        crate::server::serve(self.router(), listener).await
    }

    /// Binds `127.0.0.1:0` and serves in a background task, stopped when the returned
    /// [`RunningEmulator`] is dropped.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let emulator = Self::new(config);
        let task = tokio::spawn(emulator.clone().serve(listener));
        Ok(RunningEmulator {
            emulator,
            addr,
            task,
        })
    }

    /// Replaces the fault settings (restarting the fault sequence and the `max_faults` budget).
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.inner.faults).set(faults);
    }

    /// Current fault settings.
    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).faults().clone()
    }

    /// Requests received per route, keyed `"METHOD /route/{template}"`; requests matching no
    /// route are counted under `"METHOD <unmatched>"`. Admin requests are not counted.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.counts).routes.clone()
    }

    /// Total number of API requests received (admin requests excluded).
    pub fn total_requests(&self) -> u64 {
        lock(&self.inner.counts).total
    }

    /// Every resource as the API shows it (secrets hashed), grouped by kind.
    pub fn state(&self) -> serde_json::Value {
        self.store(Now::capture()).dump()
    }

    /// Removes every resource and clears the request counters. Fault settings are kept.
    pub fn reset(&self) {
        lock(&self.inner.store).clear();
        *lock(&self.inner.counts) = Counts::default();
    }

    /// Number of resources of `kind` (`"namespaces"`, `"containers"`, `"domains"` or
    /// `"triggers"`) that still exist, including those being deleted. Unknown kinds give 0.
    pub fn count_resources(&self, kind: &str) -> usize {
        self.store(Now::capture()).count(kind)
    }

    /// Sets the status (one of the nine wire values except `unknown_status`) and error message
    /// of any resource out of band, cancelling its pending transition. Returns false when no
    /// resource has this ID or the status is not a valid one.
    pub fn set_resource_status(&self, id: &str, status: &str, error_message: Option<&str>) -> bool {
        let Some(status) = Status::parse(status) else {
            return false;
        };
        self.force_status(id, status, error_message.map(str::to_owned))
            .is_some()
    }

    pub(crate) fn force_status(
        &self,
        id: &str,
        status: Status,
        error_message: Option<String>,
    ) -> Option<serde_json::Value> {
        let now = Now::capture();
        self.store(now).force_status(id, now, status, error_message)
    }

    /// Locks the store after settling every due transition.
    pub(crate) fn store(&self, now: Now) -> MutexGuard<'_, Store> {
        let frozen = lock(&self.inner.faults).frozen();
        let mut store = lock(&self.inner.store);
        store.settle(now.instant, frozen);
        store
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub(crate) fn hasher(&self) -> &SecretHasher {
        &self.inner.hasher
    }

    /// The key presigned URLs are signed with (never used for anything an API answer shows).
    pub(crate) fn url_signer(&self) -> &SecretHasher {
        &self.inner.url_signer
    }

    pub(crate) fn decide_fault(&self, method: &str, path: &str) -> FaultPlan {
        lock(&self.inner.faults).decide(method, path)
    }

    pub(crate) fn record_request(&self, key: String) {
        let mut counts = lock(&self.inner.counts);
        *counts.routes.entry(key).or_default() += 1;
        counts.total += 1;
    }
}

/// An emulator serving on a loopback port; dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    /// Handle on the running emulator's state.
    pub emulator: Emulator,
    /// Bound address.
    pub addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningEmulator {
    /// Base URL, e.g. `http://127.0.0.1:PORT` (no trailing slash): the `api_url` of an SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every critical
/// section leaves the data consistent).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
