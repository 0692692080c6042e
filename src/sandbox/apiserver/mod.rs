//! An in-memory, Kubernetes-compatible API server over loopback HTTP.
//!
//! It speaks enough of the Kubernetes REST protocol for kube-client and kube-runtime
//! (`Api`, `watcher`, `Controller`, the finalizer helper, `patch_status`, the event `Recorder`,
//! `Discovery`) to run against it unchanged. Objects are kept as JSON, so any resource works
//! once registered: the built-ins the operator needs, plus custom resources from their CRDs
//! (registered with [`ApiServer::register_crd`] or POSTed like on a real cluster).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use scaleway_serverless_operator::sandbox::apiserver::ApiServer;
//! let running = ApiServer::new().start().await?;
//! let client = running.client()?;
//! # Ok(()) }
//! ```
//!
//! What `kubectl` needs is served too: `Table` output with the CRD printer columns
//! (`table.rs`), OpenAPI v3 documents (`openapi.rs`, for `kubectl apply` field validation and
//! `kubectl explain`), schema and CEL validation, defaulting and pruning of custom resources
//! (`validation.rs`), one storage for core and `events.k8s.io` events (`convert.rs`), strategic
//! merge patch directives, and the protobuf bodies of `kubectl create` (`protobuf.rs`).
//! [`ApiServer::snapshot`] / [`ApiServer::from_snapshot`] keep state across restarts.
//!
//! # Simplifications
//!
//! The full list, for users, is in `docs/sandbox.md` ("Differences from a real API server").
//! In short:
//!
//! - No authentication, authorization or admission webhooks; HTTP only.
//! - Built-in kinds are not schema-validated; custom resources are (see `validation.rs` for
//!   the checks left out).
//! - Responses are JSON only; protobuf request bodies only for Namespace, Secret, ConfigMap.
//! - Lists are paged with `limit`/`continue`, but later pages show the objects as they are
//!   then (not as of the first page's resourceVersion, which every page reports);
//!   `resourceVersion`/`resourceVersionMatch` on lists are ignored.
//! - Strategic merge patch knows no merge keys (lists are replaced); directives are honoured.
//! - Server-side apply is simplified (see `apply.rs`): lists are atomic, only `Apply` managers own
//!   fields, `null` removes a field.
//! - All versions of a resource share one storage; reading at another version only rewrites
//!   `apiVersion` (like the CRD conversion strategy `None`).
//! - Deleting a namespace does not delete its objects; deleting a CRD drops its objects at once.
//!   There is no garbage collection of `ownerReferences` and no `propagationPolicy`.
//! - Field selectors accept any dotted path (the real server allows a per-resource list).
//! - Only `/status` subresources exist (no `scale`, `exec`, `log`, ...).
//! - One global resourceVersion counter and one bounded history for all resources: a watch
//!   older than the history gets 410 `Expired`, as after an etcd compaction.

mod apply;
mod builtin;
mod convert;
mod discovery;
mod error;
mod handlers;
mod jsonpath;
mod object;
mod openapi;
mod ops;
mod partial;
mod patch;
mod protobuf;
mod registry;
mod route;
mod selector;
mod store;
mod table;
mod validation;
mod watch;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;
use tokio::sync::{oneshot, watch as signal};

pub use error::{ApiError, ErrorSubject};
pub use registry::{GroupResource, PrinterColumn, ResourceDef, VersionDef};
pub use validation::{Cause, FieldValidation};

use ops::Target;
use registry::{CRD_GROUP, CRD_PLURAL, Registry};
use store::State;

/// The objects of one resource that satisfy a test, kept by [`ApiServer::tally`].
#[derive(Debug)]
pub struct Tally {
    resource: GroupResource,
    /// The resourceVersion the tally is up to date with (`None`: never filled).
    after: Option<u64>,
    matching: std::collections::HashSet<store::ObjectKey>,
}

impl Tally {
    /// An empty tally of resource `plural` in `group` ("" for the core group).
    pub fn new(group: &str, plural: &str) -> Self {
        Self {
            resource: GroupResource::new(group, plural),
            after: None,
            matching: std::collections::HashSet::new(),
        }
    }
}

/// `format` of a [`ApiServer::snapshot`] document.
const SNAPSHOT_FORMAT: &str = "scaleway-serverless-operator/sandbox-state/v1";
/// Key of CRDs in a snapshot's `resources`.
const CRD_RESOURCE_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";

/// Namespaces every new server starts with, as on a fresh cluster.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Tuning knobs of an [`ApiServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServerConfig {
    /// How many past events (of all resources) watches can replay. A watch that starts
    /// further back gets 410 `Expired`.
    pub history_limit: usize,
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK event.
    pub bookmark_interval: Duration,
    /// How long a watch without `timeoutSeconds` stays open.
    pub default_watch_timeout: Duration,
}

impl Default for ApiServerConfig {
    fn default() -> Self {
        Self {
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(60),
            default_watch_timeout: Duration::from_secs(1800),
        }
    }
}

/// State shared by the HTTP handlers, the watch streams and the [`ApiServer`] handles.
pub(crate) struct Shared {
    state: Mutex<State>,
    config: ApiServerConfig,
    /// The latest resourceVersion; watches wait on it.
    changes: signal::Sender<u64>,
    /// Bumped to end every open watch.
    close: signal::Sender<u64>,
    writes: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written in a way later
        // requests care about more than a lost request, so keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the state under the lock.
    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    /// Runs `f` on the state under the lock, then wakes watches if anything was written.
    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, rv) = {
            let mut state = self.lock();
            let result = f(&mut state);
            (result, state.resource_version())
        };
        self.changes.send_if_modified(|current| {
            let changed = *current != rv;
            *current = rv;
            changed
        });
        result
    }

    fn subscribe_changes(&self) -> signal::Receiver<u64> {
        self.changes.subscribe()
    }

    fn subscribe_close(&self) -> signal::Receiver<u64> {
        let mut rx = self.close.subscribe();
        rx.borrow_and_update();
        rx
    }

    fn count_write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

/// An in-memory Kubernetes API server. Cheap to clone: clones share the same state.
#[derive(Clone)]
pub struct ApiServer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("resource_version", &self.resource_version())
            .field("write_count", &self.write_count())
            .finish()
    }
}

impl Default for ApiServer {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiServer {
    /// A server with the built-in resources and the usual initial namespaces
    /// (`default`, `kube-system`, `kube-public`, `kube-node-lease`).
    pub fn new() -> Self {
        Self::with_config(ApiServerConfig::default())
    }

    /// Like [`ApiServer::new`], with explicit tuning.
    pub fn with_config(config: ApiServerConfig) -> Self {
        let state = State::new(Registry::with_builtins(), config.history_limit);
        let (changes, _) = signal::channel(0);
        let (close, _) = signal::channel(0);
        let server = Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                config,
                changes,
                close,
                writes: AtomicU64::new(0),
            }),
        };
        for name in INITIAL_NAMESPACES {
            // Cannot fail on a fresh store: the names are valid and free.
            let _ = server.ensure_namespace(name);
        }
        server
    }

    /// A server holding the objects of a [`ApiServer::snapshot`] (CRDs included, so their
    /// resources are served again). The resourceVersion continues from the snapshot's; the
    /// watch history starts empty, as after a restart, so older watches get 410 `Expired`.
    pub fn from_snapshot(config: ApiServerConfig, snapshot: &Value) -> Result<Self, ApiError> {
        let format = snapshot.get("format").and_then(Value::as_str);
        if format != Some(SNAPSHOT_FORMAT) {
            return Err(ApiError::BadRequest(format!(
                "not a sandbox snapshot (format {format:?}, expected {SNAPSHOT_FORMAT:?})"
            )));
        }
        let server = Self::with_config(config);
        let resources = snapshot
            .get("resources")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let saved_rv = snapshot
            .get("resourceVersion")
            .and_then(Value::as_str)
            .and_then(|rv| rv.parse::<u64>().ok())
            .unwrap_or(0);
        server.shared.write(|state| {
            // CRDs first, so that their resources are served when their objects come back.
            let mut entries: Vec<(&String, &Value)> = resources.iter().collect();
            entries.sort_by_key(|(key, _)| key.as_str() != CRD_RESOURCE_KEY);
            for (key, objects) in entries {
                let resource = match key.split_once('/') {
                    Some((group, plural)) => GroupResource::new(group, plural),
                    None => GroupResource::new("", key),
                };
                for obj in objects.as_array().into_iter().flatten() {
                    state.restore(&resource, obj.clone());
                    builtin::after_commit(state, &resource, builtin::Committed::Restored(obj));
                }
            }
            state.restart_at(saved_rv);
        });
        Ok(server)
    }

    /// Every stored object and the current resourceVersion as one JSON document, which
    /// [`ApiServer::from_snapshot`] reads back.
    pub fn snapshot(&self) -> Value {
        self.shared.read(|state| {
            let resources: serde_json::Map<String, Value> = state
                .dump()
                .into_iter()
                .map(|(resource, objects)| {
                    (
                        format!("{}/{}", resource.group, resource.plural),
                        Value::Array(objects),
                    )
                })
                .collect();
            serde_json::json!({
                "format": SNAPSHOT_FORMAT,
                "resourceVersion": state.resource_version().to_string(),
                "resources": resources,
            })
        })
    }

    /// Registers every CRD of this operator ([`crate::crd::all_crds`]), as the sandbox, the
    /// bench and the tests serve them.
    pub fn register_operator_crds(&self) {
        for definition in crate::crd::all_crds() {
            self.register_crd(&definition);
        }
    }

    /// Stores a CRD (as if POSTed, or updated if it exists) and serves its resource.
    /// An invalid CRD is logged and ignored; use [`ApiServer::try_register_crd`] to see why.
    pub fn register_crd(&self, crd: &CustomResourceDefinition) {
        if let Err(error) = self.try_register_crd(crd) {
            tracing::warn!(%error, crd = crd.metadata.name.as_deref().unwrap_or_default(), "CRD not registered");
        }
    }

    /// Like [`ApiServer::register_crd`], but returns why an invalid CRD was rejected.
    pub fn try_register_crd(&self, crd: &CustomResourceDefinition) -> Result<(), ApiError> {
        let body = serde_json::to_value(crd).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let target = self.target(CRD_GROUP, "v1", CRD_PLURAL, None)?;
        self.shared.write(|state| {
            let name = object::meta_str(&body, "name")
                .unwrap_or_default()
                .to_owned();
            let exists = ops::get(state, &target, &name).is_ok();
            if exists {
                let mut body = body.clone();
                if let Some(meta) = object::meta_mut(&mut body) {
                    meta.remove("resourceVersion");
                }
                ops::replace(state, &target, &name, ops::Subresource::Main, body, false)
            } else {
                ops::create(state, &target, body.clone(), false)
            }
        })?;
        Ok(())
    }

    /// Serves an extra resource (for example another built-in kind a test needs).
    pub fn register_resource(&self, def: ResourceDef) {
        self.shared.write(|state| state.registry.register(def));
    }

    /// Creates a namespace unless it exists.
    pub fn ensure_namespace(&self, name: &str) -> Result<(), ApiError> {
        let target = self.target("", "v1", "namespaces", None)?;
        self.shared.write(|state| {
            if ops::get(state, &target, name).is_ok() {
                return Ok(());
            }
            ops::create(state, &target, builtin::namespace(name), false).map(|_| ())
        })
    }

    fn target(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> Result<Target, ApiError> {
        let served = self
            .shared
            .read(|state| state.registry.resolve(group, version, plural))
            .ok_or(ApiError::UnknownResource)?;
        Ok(Target::new(served, namespace.map(str::to_owned)))
    }

    /// The HTTP router (no listener): for embedding into another server.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .fallback(handlers::handle)
            .with_state(Arc::clone(&self.shared))
    }

    /// Binds `127.0.0.1` on a free port and serves in a background task until the returned
    /// handle is dropped.
    pub async fn start(self) -> std::io::Result<RunningApiServer> {
        self.start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Like [`ApiServer::start`], on a given address (port 0 picks a free port).
    pub async fn start_at(self, addr: SocketAddr) -> std::io::Result<RunningApiServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            let shutdown = async {
                // Either an explicit stop or the handle being dropped ends the server.
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(%error, "sandbox API server stopped");
            }
        });
        Ok(RunningApiServer {
            server: self,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// A snapshot of every object of a resource (all namespaces), in storage form, ordered by
    /// namespace and name. `group` is "" for the core group.
    pub fn objects(&self, group: &str, plural: &str) -> Vec<Value> {
        let resource = GroupResource::new(group, plural);
        self.shared
            .read(|state| state.list(&resource, None).cloned().collect())
    }

    /// Brings `tally` up to date and returns how many objects of its resource satisfy
    /// `test` now. Only the objects changed since the tally's last update are read (from the
    /// change history, in place), so a frequent poll of a large fleet costs the changes, not
    /// a scan of every object under the lock; a tally whose history was dropped (or a new
    /// one) reads every object once.
    pub fn tally(&self, tally: &mut Tally, test: impl Fn(&Value) -> bool) -> usize {
        self.shared.read(|state| {
            let batch = tally
                .after
                .map(|after| state.events_after(&tally.resource, after, usize::MAX));
            match batch {
                Some(Ok(batch)) => {
                    for event in &batch.events {
                        let key = store::key_of(&event.object);
                        if event.event != store::EventType::Deleted && test(&event.object) {
                            tally.matching.insert(key);
                        } else {
                            tally.matching.remove(&key);
                        }
                    }
                    tally.after = Some(batch.scanned_to);
                }
                _ => {
                    tally.matching = state
                        .list(&tally.resource, None)
                        .filter(|o| test(o))
                        .map(store::key_of)
                        .collect();
                    tally.after = Some(state.resource_version());
                }
            }
        });
        tally.matching.len()
    }

    /// One object in storage form; `namespace` is `None` for cluster-scoped resources.
    pub fn object(
        &self,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let resource = GroupResource::new(group, plural);
        let key = (namespace.unwrap_or_default().to_owned(), name.to_owned());
        self.shared
            .read(|state| state.get(&resource, &key).cloned())
    }

    /// Number of mutating HTTP requests served (POST, PUT, PATCH, DELETE on resources),
    /// whether or not they succeeded. Calls through this Rust API are not counted.
    pub fn write_count(&self) -> u64 {
        self.shared.writes.load(Ordering::Relaxed)
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.read(State::resource_version)
    }

    /// Ends every open watch stream (clients see the stream end and re-watch from their last
    /// resourceVersion), as when an API server restarts or a load balancer drops connections.
    pub fn close_watches(&self) {
        self.shared.close.send_modify(|epoch| *epoch += 1);
    }

    /// Forgets the event history, as an etcd compaction does: watches can then only resume
    /// from the current resourceVersion; older ones get 410 `Expired`.
    pub fn compact_history(&self) {
        self.shared.write(State::compact);
    }
}

/// A served [`ApiServer`]. Dropping it stops accepting connections and ends open watches.
pub struct RunningApiServer {
    /// The server's state (clone it to keep inspecting after the handle is dropped).
    pub server: ApiServer,
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningApiServer")
            .field("addr", &self.addr)
            .field("server", &self.server)
            .finish()
    }
}

impl RunningApiServer {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube client for this server with default namespace `default`.
    ///
    /// Installs the process-wide rustls provider first (kube's client builder needs one even
    /// for plain HTTP).
    pub fn client(&self) -> Result<kube::Client, kube::Error> {
        crate::install_crypto_provider();
        let uri = http::Uri::builder()
            .scheme("http")
            .authority(self.addr.to_string())
            .path_and_query("/")
            .build()
            .map_err(kube::Error::HttpError)?;
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".to_owned();
        kube::Client::try_from(config)
    }

    /// Stops the server and waits until the listener task has ended (open connections finish
    /// their current request; watches are closed).
    pub async fn shutdown(mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal_stop(&mut self) {
        self.server.close_watches();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for RunningApiServer {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
