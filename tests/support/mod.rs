//! The harness shared by the controller-level test binaries (`controller_flows`, `faults`):
//! a Scaleway emulator, the in-memory Kubernetes API server over loopback, and the real
//! controllers running in tokio tasks, plus helpers to create objects and wait for them.
//!
//! The operator can be killed and started again against the same emulator and API server
//! (`restart`), and more replicas can run at once (`start_replica`), with or without the
//! leader Lease.

// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace as KubeNamespace, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use scaleway_emulator::{Emulator, EmulatorConfig, Faults, RunningEmulator};
use scaleway_serverless_operator::controller::clients::ClientPool;
use scaleway_serverless_operator::controller::{self, Context, OperatorConfig, Scope};
use scaleway_serverless_operator::crd::{self, ServerlessContainer};
use scaleway_serverless_operator::lease::{LeaderElector, LeaseSettings};
use scaleway_serverless_operator::sandbox::apiserver::{ApiServer, RunningApiServer};
use scaleway_serverless_operator::scaleway::{Client, ClientConfig, SecretString};

pub const PROJECT: &str = "11111111-2222-4333-8444-555555555555";
pub const TOKEN: &str = "flow-test-secret-key";
pub const NS: &str = "default";
pub const DEADLINE: Duration = Duration::from_secs(30);

/// How a harness is set up. `Options::default()` is what `harness()` uses.
#[derive(Clone, Debug)]
pub struct Options {
    /// The operator's resync period.
    pub resync: Duration,
    /// Longest delay between retries after an error (the operator's default when `None`).
    pub retry_max: Option<Duration>,
    /// Time limit of one Scaleway HTTP attempt (the client's default when `None`).
    pub request_timeout: Option<Duration>,
    /// Seed of the emulator (IDs and fault rolls).
    pub seed: u64,
    /// Tokens the emulator accepts (`None`: any non-empty token).
    pub credentials: Option<Vec<String>>,
    /// Scaleway life-cycle transition and deletion delay.
    pub transition_delay: Duration,
    /// Put a [`Saboteur`] between the operator and the emulator.
    pub saboteur: bool,
    /// The operator's first poll delay (default 50 ms).
    pub poll_initial: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(60),
            retry_max: None,
            request_timeout: None,
            seed: 0,
            credentials: None,
            transition_delay: Duration::from_millis(150),
            saboteur: false,
            poll_initial: None,
        }
    }
}

/// One running operator: its context and the task running its controllers.
pub struct Operator {
    pub ctx: Arc<Context>,
    pub task: tokio::task::JoinHandle<()>,
}

/// An emulator, the in-memory API server, and the operator(s) running against them.
pub struct Harness {
    pub emulator: RunningEmulator,
    pub apiserver: RunningApiServer,
    pub kube: kube::Client,
    pub scaleway: Client,
    /// The context of the first operator (replaced by `restart`).
    pub ctx: Arc<Context>,
    /// The task of the first operator (replaced by `restart`).
    pub operator: tokio::task::JoinHandle<()>,
    /// Further replicas started with `start_replica`.
    pub replicas: Vec<Operator>,
    /// Operators started so far (the first one included).
    pub starts: usize,
    /// The proxy the operator talks to Scaleway through, when `Options::saboteur` is set.
    pub saboteur: Option<Saboteur>,
    client_config: ClientConfig,
    options: Options,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.operator.abort();
        for replica in &self.replicas {
            replica.task.abort();
        }
    }
}

pub async fn harness() -> Harness {
    harness_with(Duration::from_secs(60)).await
}

pub async fn harness_with(resync: Duration) -> Harness {
    start(Options {
        resync,
        ..Options::default()
    })
    .await
}

/// A harness set up as `options` says, with one operator running.
pub async fn start(options: Options) -> Harness {
    scaleway_serverless_operator::install_crypto_provider();
    let emulator = Emulator::start(EmulatorConfig {
        seed: options.seed,
        transition_delay: options.transition_delay,
        delete_delay: options.transition_delay,
        credentials: options.credentials.clone(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("emulator: {e}"));
    let server = ApiServer::new();
    server.register_operator_crds();
    let apiserver = server
        .start()
        .await
        .unwrap_or_else(|e| panic!("apiserver: {e}"));
    let kube = apiserver
        .client()
        .unwrap_or_else(|e| panic!("kube client: {e}"));
    let namespaces: Api<KubeNamespace> = Api::all(kube.clone());
    let namespace: KubeNamespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": NS}})).unwrap_or_default();
    let _ = namespaces.create(&PostParams::default(), &namespace).await;

    let mut client_config =
        ClientConfig::new(SecretString::new(TOKEN)).with_api_url(emulator.url());
    client_config.retry.base_delay = Duration::from_millis(20);
    // The test's own client always talks to the emulator directly.
    let scaleway = Client::new(client_config.clone()).unwrap_or_else(|e| panic!("{e}"));
    if let Some(timeout) = options.request_timeout {
        client_config.request_timeout = timeout;
    }
    let saboteur = if options.saboteur {
        let saboteur = Saboteur::start(emulator.url()).await;
        client_config = client_config.with_api_url(saboteur.url());
        Some(saboteur)
    } else {
        None
    };
    let first = spawn_operator(kube.clone(), &client_config, &options, None);
    Harness {
        emulator,
        apiserver,
        kube,
        scaleway,
        ctx: first.ctx,
        operator: first.task,
        replicas: Vec::new(),
        starts: 1,
        saboteur,
        client_config,
        options,
    }
}

/// Builds a fresh context (empty caches, new metrics, new digest key: a new process) and
/// runs the controllers in a task; with `lease`, only once that Lease is held, and only
/// while it is.
fn spawn_operator(
    kube: kube::Client,
    client_config: &ClientConfig,
    options: &Options,
    lease: Option<LeaseSettings>,
) -> Operator {
    let defaults = OperatorConfig::default();
    let config = OperatorConfig {
        resync_period: options.resync,
        poll_initial: options.poll_initial.unwrap_or(Duration::from_millis(50)),
        poll_max: Duration::from_millis(400).max(options.poll_initial.unwrap_or_default()),
        retry_max: options.retry_max.unwrap_or(defaults.retry_max),
        ..defaults
    };
    let clients = ClientPool::new(
        client_config.clone(),
        Some(PROJECT.into()),
        true,
        config.digest_key.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ctx = Arc::new(Context::new(kube.clone(), clients, config));
    let operator_ctx = ctx.clone();
    let task = tokio::spawn(async move {
        let Some(settings) = lease else {
            if let Err(error) = controller::run(operator_ctx, Scope::Cluster).await {
                panic!("controllers stopped: {error}");
            }
            return;
        };
        // As `run_cmd` does: wait for the Lease, run while it is held (renewals in a task
        // of their own).
        let leases: Api<Lease> = Api::namespaced(kube, &settings.namespace);
        let mut elector = LeaderElector::new(leases, settings);
        elector.acquire().await;
        let mut held = AbortOnDrop(tokio::spawn(async move { elector.hold().await }));
        tokio::select! {
            result = controller::run(operator_ctx, Scope::Cluster) => {
                if let Err(error) = result {
                    panic!("controllers stopped: {error}");
                }
            }
            _ = &mut held.0 => {}
        }
    });
    Operator { ctx, task }
}

/// Aborts its task when dropped: renewals stop when the replica is killed (the harness
/// aborts the replica's task, which drops this guard).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the [`Saboteur`] does to the requests it picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forwarded at once, so Scaleway carries it out; the answer is never sent back (the
    /// client gives up at its time limit).
    LoseAnswer,
    /// Forwarded only after this delay, by a task of its own (as a request stuck in a load
    /// balancer): the client has given up long before Scaleway carries it out.
    Late(Duration),
}

/// Which requests the [`Saboteur`] picks: the next `count` with this method whose path
/// contains `path_contains`.
#[derive(Clone, Debug)]
pub struct Sabotage {
    pub method: &'static str,
    pub path_contains: &'static str,
    pub mode: Mode,
    pub count: u64,
}

#[derive(Default)]
struct SabotageState {
    plan: Option<Sabotage>,
    done: u64,
}

/// A loopback HTTP proxy in front of the emulator for the faults the emulator cannot make
/// itself: its own faults act before a request is carried out, and a request whose client
/// has given up is cancelled there. Here a picked request is carried out but its answer
/// lost, or carried out late, after the client gave up.
pub struct Saboteur {
    addr: std::net::SocketAddr,
    state: Arc<std::sync::Mutex<SabotageState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Saboteur {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Saboteur {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("saboteur: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("saboteur: {e}"));
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_else(|e| panic!("saboteur client: {e}"));
        let state = Arc::new(std::sync::Mutex::new(SabotageState::default()));
        let relay = Relay {
            upstream,
            http,
            state: state.clone(),
        };
        let router = axum::Router::new()
            .fallback(relay_request)
            .with_state(relay);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, state, task }
    }

    /// Where the operator sends its Scaleway calls.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Picks the next requests as `sabotage` says (replacing any plan, resetting the count).
    pub fn arm(&self, sabotage: Sabotage) {
        if let Ok(mut state) = self.state.lock() {
            *state = SabotageState {
                plan: Some(sabotage),
                done: 0,
            };
        }
    }

    /// How many requests were picked since the last `arm`.
    pub fn done(&self) -> u64 {
        self.state.lock().map(|s| s.done).unwrap_or_default()
    }
}

#[derive(Clone)]
struct Relay {
    upstream: String,
    http: reqwest::Client,
    state: Arc<std::sync::Mutex<SabotageState>>,
}

impl Relay {
    fn pick(&self, method: &str, path: &str) -> Option<Mode> {
        let mut state = self.state.lock().ok()?;
        let plan = state.plan.clone()?;
        let picked = plan.method.eq_ignore_ascii_case(method)
            && path.contains(plan.path_contains)
            && state.done < plan.count;
        if picked {
            state.done += 1;
            Some(plan.mode)
        } else {
            None
        }
    }
}

async fn relay_request(
    axum::extract::State(relay): axum::extract::State<Relay>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let mut forward = relay
        .http
        .request(parts.method.clone(), format!("{}{path}", relay.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    match relay.pick(parts.method.as_str(), parts.uri.path()) {
        Some(Mode::LoseAnswer) => {
            let _ = forward.send().await;
            std::future::pending::<axum::response::Response>().await
        }
        Some(Mode::Late(delay)) => {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = forward.send().await;
            });
            std::future::pending::<axum::response::Response>().await
        }
        None => match forward.send().await {
            Ok(answer) => {
                let status = answer.status();
                let headers = answer.headers().clone();
                let bytes = answer.bytes().await.unwrap_or_default();
                let mut response = (status, bytes).into_response();
                for (name, value) in &headers {
                    if name != http::header::CONTENT_LENGTH
                        && name != http::header::TRANSFER_ENCODING
                        && name != http::header::CONNECTION
                    {
                        response.headers_mut().insert(name, value.clone());
                    }
                }
                response
            }
            Err(error) => (http::StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
        },
    }
}

/// Lease settings for a test replica named `holder` (short durations, to keep tests fast).
pub fn lease_settings(holder: &str) -> LeaseSettings {
    LeaseSettings {
        name: "scaleway-serverless-operator".into(),
        namespace: NS.into(),
        holder: holder.into(),
        // Long enough that a loaded CI machine does not stall the leader past its renew
        // deadline (that happened with a 1 s lease: the standby then took over, rightly).
        duration: Duration::from_secs(4),
        renew_deadline: Duration::from_millis(2500),
        renew_every: Duration::from_millis(100),
    }
}

impl Harness {
    /// Applies the `demo` ServerlessNamespace and returns its Scaleway ID once Ready.
    pub async fn demo_namespace_id(&self) -> String {
        self.apply::<crd::ServerlessNamespace>(NAMESPACE_YAML).await;
        let namespace = self
            .condition::<crd::ServerlessNamespace>("demo", "Ready", "True")
            .await;
        namespace.status.and_then(|s| s.id).unwrap_or_default()
    }

    /// Creates a container at Scaleway directly, as someone else would (with `tags`).
    pub async fn remote_container(
        &self,
        namespace_id: &str,
        name: &str,
        image: &str,
        tags: Option<Vec<String>>,
    ) -> scaleway_serverless_operator::scaleway::types::Container {
        let request = scaleway_serverless_operator::scaleway::types::CreateContainerRequest {
            namespace_id: namespace_id.to_owned(),
            name: name.to_owned(),
            image: image.to_owned(),
            settings: scaleway_serverless_operator::scaleway::types::ContainerSettings {
                tags,
                ..Default::default()
            },
            ..Default::default()
        };
        self.scaleway
            .region("fr-par")
            .create_container(&request)
            .await
            .unwrap_or_else(|e| panic!("create remote container {name}: {e}"))
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.kube.clone(), NS)
    }

    pub async fn apply<K>(&self, yaml: &str) -> K
    where
        K: TestObject,
    {
        let object: K = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("fixture: {e}"));
        self.api::<K>()
            .create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("create: {e}"))
    }

    pub async fn secret(&self, name: &str, key: &str, value: &str) {
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}, "stringData": {key: value}
        }))
        .unwrap_or_default();
        let api: Api<Secret> = self.api();
        if api.get_opt(name).await.ok().flatten().is_some() {
            let patch = serde_json::json!({"data": {key: k8s_openapi::ByteString(value.as_bytes().to_vec())}});
            api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap_or_else(|e| panic!("patch secret: {e}"));
        } else {
            api.create(&PostParams::default(), &secret)
                .await
                .unwrap_or_else(|e| panic!("create secret: {e}"));
        }
    }

    /// Waits until `check` returns Some, failing with the last observation after the deadline.
    pub async fn until<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        self.until_for(what, DEADLINE, check).await
    }

    /// `until` with another deadline.
    pub async fn until_for<T, F, Fut>(&self, what: &str, limit: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + limit;
        loop {
            match check().await {
                Ok(value) => return value,
                Err(last) if Instant::now() > deadline => {
                    panic!("timed out waiting for {what}; last seen: {last}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn condition<K>(&self, name: &str, type_: &str, status: &str) -> K
    where
        K: TestObject,
    {
        let api = self.api::<K>();
        self.until(&format!("{name} {type_}={status}"), || async {
            let object = api.get(name).await.map_err(|e| e.to_string())?;
            let value = serde_json::to_value(&object).unwrap_or_default();
            let conditions = value
                .pointer("/status/conditions")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default();
            let matched = conditions
                .iter()
                .any(|c| c["type"] == type_ && c["status"] == status);
            if matched {
                Ok(object)
            } else {
                Err(serde_json::to_string(&value["status"]).unwrap_or_default())
            }
        })
        .await
    }

    /// Condition `type_` of `name` as it stands now (none before the first status write).
    pub async fn condition_now<K>(
        &self,
        name: &str,
        type_: &str,
    ) -> Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>
    where
        K: TestObject,
    {
        let object = self
            .api::<K>()
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("get {name}: {e}"));
        let value = serde_json::to_value(&object).unwrap_or_default();
        let conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> =
            serde_json::from_value(value["status"]["conditions"].clone()).unwrap_or_default();
        conditions.into_iter().find(|c| c.type_ == type_)
    }

    /// Merge-patches the spec of `name` with `spec`.
    pub async fn merge_spec<K>(&self, name: &str, spec: serde_json::Value)
    where
        K: TestObject,
    {
        self.api::<K>()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": spec})),
            )
            .await
            .unwrap_or_else(|e| panic!("patch {name}: {e}"));
    }

    pub async fn gone<K>(&self, name: &str)
    where
        K: TestObject,
    {
        let api = self.api::<K>();
        self.until(&format!("{name} to be gone"), || async {
            match api.get_opt(name).await.map_err(|e| e.to_string())? {
                None => Ok(()),
                Some(object) => Err(format!("still there: {:?}", object.meta().finalizers)),
            }
        })
        .await
    }

    pub fn remote_count(&self, kind: &str) -> usize {
        self.emulator.emulator.count_resources(kind)
    }

    /// The whole busy-remote check of one kind: makes `change.remote_id` `change.busy_status`
    /// (a transient status, held until this settles it), applies `change.spec_patch` to
    /// `change.name`, checks that the change waits ([`Self::change_waits_while_busy`]) and that
    /// `remote` (what Scaleway holds of the changed field) still reads `change.before`; then
    /// settles the resource and waits until `remote` reads `change.after` with `Synced=True`,
    /// sent with exactly one more call to `change.write_route`.
    pub async fn busy_change_lands_once_settled<K, R, Fut>(&self, change: BusyChange<'_>, remote: R)
    where
        K: TestObject,
        R: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<String, String>>,
    {
        let id = change.remote_id;
        assert!(
            self.emulator
                .emulator
                .set_resource_status(id, change.busy_status, None),
            "no remote resource {id}"
        );
        self.merge_spec::<K>(change.name, change.spec_patch).await;
        let writes = self
            .change_waits_while_busy::<K>(change.name, change.field, change.write_route)
            .await;
        let held = remote().await.unwrap_or_else(|e| panic!("read {id}: {e}"));
        assert_eq!(held, change.before, "{} changed while busy", change.field);
        assert!(
            self.emulator
                .emulator
                .set_resource_status(id, "ready", None)
        );
        self.until(
            &format!("{} applied once settled", change.field),
            || async {
                let now = remote().await?;
                match self.condition_now::<K>(change.name, "Synced").await {
                    Some(c) if c.status == "True" && now == change.after => Ok(()),
                    other => Err(format!("{now} {other:?}")),
                }
            },
        )
        .await;
        assert_eq!(
            self.calls(change.write_route),
            writes + 1,
            "one write once settled"
        );
    }

    /// For an object whose remote resource Scaleway is busy with (`set_resource_status` to a
    /// transient status) and whose spec changed `field`: waits until `Synced` says the change waits
    /// (`False`, `WaitingForRemote`, naming `field`), then checks that it still says so 1 s of
    /// polls later with no call to `write_route` in between. Returns the count of those calls
    /// (one may have been tried and refused with a 409 before the busy state was seen).
    pub async fn change_waits_while_busy<K>(
        &self,
        name: &str,
        field: &str,
        write_route: &str,
    ) -> u64
    where
        K: TestObject,
    {
        self.until("the pending change reported as waiting", || async {
            let c = self.condition_now::<K>(name, "Synced").await;
            if condition_is(&c, "False", "WaitingForRemote", field) {
                Ok(())
            } else {
                Err(format!("{c:?}"))
            }
        })
        .await;
        let writes = self.calls(write_route);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let still = self.condition_now::<K>(name, "Synced").await;
        assert!(
            condition_is(&still, "False", "WaitingForRemote", field),
            "Synced while the change waits: {still:?}"
        );
        assert_eq!(self.calls(write_route), writes, "no write while it waits");
        writes
    }

    pub fn calls(&self, route: &str) -> u64 {
        self.emulator
            .emulator
            .request_counts()
            .get(route)
            .copied()
            .unwrap_or(0)
    }

    /// How many events have `reason`.
    pub async fn count_events(&self, reason: &str) -> usize {
        self.events()
            .await
            .iter()
            .filter(|e| e.split(' ').next() == Some(reason))
            .count()
    }

    pub async fn events(&self) -> Vec<String> {
        let api: Api<k8s_openapi::api::events::v1::Event> = self.api();
        api.list(&Default::default())
            .await
            .map(|l| {
                l.items
                    .into_iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e.reason.unwrap_or_default(),
                            e.note.unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The emulator's fault settings from now on (the fault sequence and budget restart).
    pub fn faults(&self, faults: Faults) {
        self.emulator.emulator.set_faults(faults);
    }

    /// No more faults.
    pub fn clear_faults(&self) {
        self.emulator.emulator.set_faults(Faults::default());
    }

    /// Kills the first operator and starts a new one (a new process: fresh context, caches
    /// and watches) against the same emulator and API server.
    pub async fn restart(&mut self) {
        self.operator.abort();
        let _ = (&mut self.operator).await;
        let next = spawn_operator(self.kube.clone(), &self.client_config, &self.options, None);
        self.ctx = next.ctx;
        self.operator = next.task;
        self.starts += 1;
    }

    /// Starts one more operator replica at once (its own Kubernetes client and context),
    /// gated by `lease` when given. Returns its index in `replicas`.
    pub fn start_replica(&mut self, lease: Option<LeaseSettings>) -> usize {
        let kube = self
            .apiserver
            .client()
            .unwrap_or_else(|e| panic!("kube client: {e}"));
        let replica = spawn_operator(kube, &self.client_config, &self.options, lease);
        self.replicas.push(replica);
        self.starts += 1;
        self.replicas.len() - 1
    }

    /// Replaces the first operator with one gated by `lease` (to run every replica under
    /// leader election).
    pub async fn restart_with_lease(&mut self, lease: LeaseSettings) {
        self.operator.abort();
        let _ = (&mut self.operator).await;
        let kube = self.kube.clone();
        let next = spawn_operator(kube, &self.client_config, &self.options, Some(lease));
        self.ctx = next.ctx;
        self.operator = next.task;
        self.starts += 1;
    }
}

pub const NAMESPACE_YAML: &str = "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessNamespace\nmetadata:\n  name: demo\nspec:\n  environmentVariables:\n    LOG_LEVEL: info\n";

pub fn container_yaml(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessContainer\nmetadata:\n  name: {name}\nspec:\n  namespaceRef:\n    name: demo\n  image: rg.fr-par.scw.cloud/demo/{name}:1\n  memory: 512Mi\n  cpu: 500m\n  maxScale: 3\n{extra}"
    )
}

/// The smallest valid zip archive (an empty one): enough for the emulator's build.
pub const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
pub const FUNCTIONS_NAMESPACE_YAML: &str = "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessNamespace\nmetadata:\n  name: fns\nspec:\n  type: Functions\n";
pub const FUNCTION_YAML: &str = "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessFunction\nmetadata:\n  name: hello\nspec:\n  namespaceRef:\n    name: fns\n  runtime: node22\n  privacy: Private\n  code:\n    configMapKeyRef:\n      name: hello-code\n      key: code.zip\n";

impl Harness {
    /// A ready functions namespace `fns` and a ready private function `hello` whose code is
    /// an empty zip in ConfigMap `hello-code`.
    pub async fn ready_function(&self) -> crd::ServerlessFunction {
        self.ready_function_in(FUNCTIONS_NAMESPACE_YAML).await
    }

    /// The same, with the functions namespace `fns` applied from `namespace_yaml`.
    pub async fn ready_function_in(&self, namespace_yaml: &str) -> crd::ServerlessFunction {
        self.apply::<crd::ServerlessNamespace>(namespace_yaml).await;
        let map: k8s_openapi::api::core::v1::ConfigMap =
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "hello-code"},
                "binaryData": {"code.zip": k8s_openapi::ByteString(EMPTY_ZIP.to_vec())}
            }))
            .unwrap_or_else(|e| panic!("{e}"));
        self.api::<k8s_openapi::api::core::v1::ConfigMap>()
            .create(&PostParams::default(), &map)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.apply::<crd::ServerlessFunction>(FUNCTION_YAML).await;
        self.condition::<crd::ServerlessFunction>("hello", "Ready", "True")
            .await
    }
}

pub const POST_CONTAINERS: &str = "POST /containers/v1/regions/{region}/containers";
pub const PATCH_CONTAINER: &str = "PATCH /containers/v1/regions/{region}/containers/{container_id}";
pub const REDEPLOY: &str =
    "POST /containers/v1/regions/{region}/containers/{container_id}/redeploy";

pub fn status_of(
    container: &ServerlessContainer,
) -> scaleway_serverless_operator::crd::ServerlessContainerStatus {
    container.status.clone().unwrap_or_default()
}

/// Whether `condition` has `status` and `reason` (and its message `words`).
/// What the harness's generic helpers need of a kind: a namespaced resource that round-trips
/// through JSON.
pub trait TestObject:
    kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + serde::Serialize
    + serde::de::DeserializeOwned
{
}

impl<K> TestObject for K where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned
{
}

/// A spec change made while Scaleway is busy with the object's remote resource
/// ([`Harness::busy_change_lands_once_settled`]).
pub struct BusyChange<'a> {
    /// The Kubernetes object.
    pub name: &'a str,
    /// Its remote resource.
    pub remote_id: &'a str,
    /// The transient status Scaleway reports meanwhile (`pending`, `updating`).
    pub busy_status: &'a str,
    /// Merged into the spec.
    pub spec_patch: serde_json::Value,
    /// The field the change is reported under (`Synced` names it while it waits).
    pub field: &'a str,
    /// The emulator route that carries the change.
    pub write_route: &'a str,
    /// What Scaleway holds of the field before the change, and after.
    pub before: String,
    pub after: String,
}

pub fn condition_is(
    condition: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    status: &str,
    reason: &str,
    words: &str,
) -> bool {
    condition
        .as_ref()
        .is_some_and(|c| c.status == status && c.reason == reason && c.message.contains(words))
}
