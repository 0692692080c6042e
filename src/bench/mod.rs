//! `bench`: how fast and how cheaply the operator converges, as the fleet grows.
//!
//! One run, so the numbers are ratios on the same noisy machine: the Scaleway emulator and the
//! in-memory Kubernetes API run in this process; the operator runs as a child process (the
//! real `run` subcommand, so its peak RSS and startup are its own) against both. The lower
//! bound is measured in the same run by a tight loop that issues the minimal set of calls
//! directly.

mod report;
pub mod soak;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use scaleway_emulator::{Emulator, EmulatorConfig, RunningEmulator};

pub use report::{REQUIRED_JSON_KEYS, Report};

use crate::crd::{ServerlessContainer, ServerlessNamespace};
use crate::sandbox::apiserver::{ApiServer, RunningApiServer, Tally};
use crate::scaleway::types::{
    ContainerFilter, CreateContainerRequest, CreateNamespaceRequest, Status,
};
use crate::scaleway::{Client, ClientConfig, SecretString};

const PROJECT: &str = "11111111-2222-4333-8444-555555555555";
const TOKEN: &str = "bench-secret-key";
const GROUP: &str = "serverless.scaleway.com";

/// Settings of one run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// ServerlessContainers to converge.
    pub objects: usize,
    /// ServerlessNamespaces they are spread over.
    pub namespaces: usize,
    /// The emulator's life-cycle delay (creating → ready).
    pub transition_delay: Duration,
    /// The operator's resync period.
    pub resync_period: Duration,
    /// How many resync periods the steady state is observed for.
    pub steady_periods: u32,
    /// Give up after this long.
    pub timeout: Duration,
    /// How the fleet is written to Kubernetes.
    pub apply_with: ApplyWith,
}

/// How the bench writes each object, as a user's tool would: what Kubernetes then stores with
/// it (and the operator's watches receive) differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ApplyWith {
    /// A plain create: the object carries only what its manifest says.
    Create,
    /// As `kubectl apply` and Argo CD do by default: a create whose object carries the
    /// manifest again in the `kubectl.kubernetes.io/last-applied-configuration` annotation.
    #[default]
    ClientSideApply,
    /// As `kubectl apply --server-side` and Flux do: an apply patch, which the API server
    /// records in `metadata.managedFields`.
    ServerSideApply,
}

impl ApplyWith {
    /// The flag value that selects it (clap derives the same kebab-case spelling; a test
    /// checks that each parses back).
    pub fn name(self) -> &'static str {
        match self {
            ApplyWith::Create => "create",
            ApplyWith::ClientSideApply => "client-side-apply",
            ApplyWith::ServerSideApply => "server-side-apply",
        }
    }
}

/// In a JSON report, as the flag spells it, so that the report says how to repeat the run.
impl serde::Serialize for ApplyWith {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Local I/O (sockets, files, the child process).
    #[error("bench I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A Kubernetes call to the in-memory API failed.
    #[error("bench Kubernetes call: {0}")]
    Kube(#[from] kube::Error),
    /// A direct Scaleway call (lower bound) failed.
    #[error("bench Scaleway call: {0}")]
    Scaleway(#[from] crate::scaleway::Error),
    /// Setup failed.
    #[error("bench setup: {0}")]
    Setup(String),
    /// The fleet did not converge in time.
    #[error("{ready} of {total} objects Ready after {waited:?}")]
    Timeout {
        /// Ready objects.
        ready: usize,
        /// All objects.
        total: usize,
        /// Time waited.
        waited: Duration,
    },
}

fn emulator_config(delay: Duration) -> EmulatorConfig {
    EmulatorConfig {
        transition_delay: delay,
        delete_delay: delay,
        ..EmulatorConfig::default()
    }
}

fn client(url: &str) -> Result<Client, BenchError> {
    crate::install_crypto_provider();
    Client::new(ClientConfig::new(SecretString::new(TOKEN)).with_api_url(url))
        .map_err(|e| BenchError::Setup(e.to_string()))
}

fn namespace_name(index: usize) -> String {
    format!("bench-ns-{index}")
}

fn container_name(index: usize) -> String {
    format!("bench-c-{index}")
}

/// The lower bound: a tight loop issuing the minimal calls directly (create every namespace,
/// wait for them with one List, create every container, wait with one List per namespace),
/// against a fresh emulator with the same life-cycle delay.
async fn lower_bound(config: &BenchConfig) -> Result<Duration, BenchError> {
    let emulator = Emulator::start(emulator_config(config.transition_delay)).await?;
    let client = client(&emulator.url())?;
    let api = client.region("fr-par");
    let started = Instant::now();
    let mut namespace_ids = Vec::with_capacity(config.namespaces);
    for index in 0..config.namespaces {
        let request = CreateNamespaceRequest {
            project_id: PROJECT.into(),
            name: namespace_name(index),
            ..Default::default()
        };
        namespace_ids.push(api.create_namespace(&request).await?.id);
    }
    wait_all_ready(|| async {
        Ok(api
            .list_all_namespaces(&Default::default())
            .await?
            .iter()
            .all(|n| n.status == Status::Ready))
    })
    .await?;
    for index in 0..config.objects {
        let namespace_id = namespace_ids[index % namespace_ids.len()].clone();
        let request = CreateContainerRequest {
            namespace_id,
            name: container_name(index),
            image: "bench:1".into(),
            ..Default::default()
        };
        api.create_container(&request).await?;
    }
    wait_all_ready(|| async {
        for id in &namespace_ids {
            let filter = ContainerFilter {
                namespace_id: Some(id.clone()),
                ..Default::default()
            };
            if !api
                .list_all_containers(&filter)
                .await?
                .iter()
                .all(|c| c.status == Status::Ready)
            {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    Ok(started.elapsed())
}

/// Polls `check` every 10 ms until it holds.
async fn wait_all_ready<F, Fut>(mut check: F) -> Result<(), BenchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, BenchError>>,
{
    while !check().await? {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn kubeconfig(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: bench\n  cluster:\n    server: {server}\nusers:\n- name: bench\n  user:\n    token: bench\ncontexts:\n- name: bench\n  context:\n    cluster: bench\n    user: bench\n    namespace: default\ncurrent-context: bench\n"
    )
}

/// Creates the objects through the Kubernetes API, 32 at a time.
async fn apply_fleet(kube: &kube::Client, config: &BenchConfig) -> Result<(), BenchError> {
    let namespaces: kube::Api<ServerlessNamespace> = kube::Api::namespaced(kube.clone(), "default");
    let containers: kube::Api<ServerlessContainer> = kube::Api::namespaced(kube.clone(), "default");
    for index in 0..config.namespaces {
        let manifest = serde_json::json!({
            "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessNamespace",
            "metadata": {"name": namespace_name(index)}, "spec": {}
        });
        apply_one(&namespaces, manifest, config.apply_with).await?;
    }
    let results: Vec<Result<(), kube::Error>> = futures::stream::iter(0..config.objects)
        .map(|index| {
            let manifest = serde_json::json!({
                "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainer",
                "metadata": {"name": container_name(index)},
                "spec": {"namespaceRef": {"name": namespace_name(index % config.namespaces)}, "image": "bench:1", "maxScale": 2}
            });
            apply_one(&containers, manifest, config.apply_with)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for result in results {
        result?;
    }
    Ok(())
}

/// Writes one manifest (an object of the `default` namespace) as `apply_with` says.
async fn apply_one<K>(
    api: &kube::Api<K>,
    mut manifest: serde_json::Value,
    apply_with: ApplyWith,
) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match apply_with {
        ApplyWith::Create => {}
        ApplyWith::ClientSideApply => {
            // What kubectl records: the manifest as applied, with its namespace.
            manifest["metadata"]["namespace"] = "default".into();
            let record = format!("{manifest}\n");
            manifest["metadata"]["annotations"] = serde_json::json!({ LAST_APPLIED: record });
        }
        ApplyWith::ServerSideApply => {
            let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
            let params = kube::api::PatchParams::apply("kubectl").force();
            api.patch(name, &params, &kube::api::Patch::Apply(&manifest))
                .await?;
            return Ok(());
        }
    }
    let object: K = serde_json::from_value(manifest).map_err(kube::Error::SerdeError)?;
    api.create(&Default::default(), &object).await?;
    Ok(())
}

/// The annotation in which `kubectl apply` keeps the manifest it applied.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn ready_count(server: &ApiServer, tally: &mut Tally) -> usize {
    server.tally(tally, |o| {
        o.pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    })
}

/// The child process running `scaleway-serverless-operator run`.
struct Operator {
    child: Child,
    admin: std::net::SocketAddr,
    /// Reads its /metrics.
    metrics: reqwest::Client,
}

impl Operator {
    fn spawn(
        config: &BenchConfig,
        kubeconfig: &PathBuf,
        emulator: &RunningEmulator,
    ) -> Result<Self, BenchError> {
        let admin = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        // BENCH_OPERATOR_WRAPPER runs the operator under a profiler (e.g. `heaptrack -o
        // /tmp/op`); RSS and CPU are then those of the wrapper's process.
        let wrapper = std::env::var("BENCH_OPERATOR_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(words).arg(std::env::current_exe()?);
                command
            }
            None => Command::new(std::env::current_exe()?),
        };
        let child = command
            .arg("run")
            .arg("--resync-period")
            .arg(format!("{}ms", config.resync_period.as_millis()))
            .arg("--admin-listen")
            .arg(admin.to_string())
            // The bench measures the operator, not the limiter that protects Scaleway.
            .arg("--scaleway-rate-limit")
            .arg("0")
            .env("KUBECONFIG", kubeconfig)
            .env("SCW_SECRET_KEY", TOKEN)
            .env("SCW_API_URL", emulator.url())
            .env("SCW_DEFAULT_PROJECT_ID", PROJECT)
            .env("SCW_CONFIG_PATH", "/nonexistent")
            .env(
                "RUST_LOG",
                std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let metrics = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        Ok(Self {
            child,
            admin,
            metrics,
        })
    }

    /// Peak resident set size (VmHWM) so far, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// A size field of /proc/PID/status (`VmHWM:`, `VmRSS:`), in MiB (0 if unreadable).
    fn status_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    /// Sum of `reconciles_total` from the operator's /metrics.
    async fn reconciles(&self) -> f64 {
        reconciles_with(&self.metrics, self.admin).await
    }
}

/// The prefix of the operator's `reconciles_total` series.
const RECONCILES_TOTAL: &str = "scaleway_serverless_operator_reconciles_total{";

/// Sum of `reconciles_total` from the /metrics of the operator listening on `admin` (0 while
/// it is not up yet).
async fn reconciles_with(client: &reqwest::Client, admin: std::net::SocketAddr) -> f64 {
    metric_lines(client, admin, RECONCILES_TOTAL)
        .await
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The lines of the operator's /metrics that start with `prefix`.
async fn metric_lines(
    client: &reqwest::Client,
    admin: std::net::SocketAddr,
    prefix: &str,
) -> Vec<String> {
    let Ok(response) = client.get(format!("http://{admin}/metrics")).send().await else {
        return Vec::new();
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// CPU time (user + system) process `pid` ("self" for this one) has used so far, in
/// seconds, from /proc (0 where it cannot be read). Clock ticks are taken as 100 per
/// second, the value on Linux.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) end with ')'.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the whole line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Time from `started` to the operator's first finished reconcile, read from its metrics
/// every 10 ms (the ready count below is polled far less often at large N, which would
/// round this up to its interval).
fn watch_first_reconcile(
    operator: &Operator,
    started: Instant,
) -> tokio::task::JoinHandle<Duration> {
    let (client, admin) = (operator.metrics.clone(), operator.admin);
    tokio::spawn(async move {
        loop {
            if reconciles_with(&client, admin).await > 0.0 {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the benchmark once.
pub async fn run(config: BenchConfig) -> Result<Report, BenchError> {
    let lower_bound = lower_bound(&config).await?;

    let emulator = Emulator::start(emulator_config(config.transition_delay)).await?;
    let server = ApiServer::new();
    server.register_operator_crds();
    let apiserver: RunningApiServer = server.start().await?;
    let kube = apiserver.client()?;
    apply_fleet(&kube, &config).await?;
    let total = config.objects + config.namespaces;
    let dir = std::env::temp_dir().join(format!("sso-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig_path = dir.join("kubeconfig");
    std::fs::File::create(&kubeconfig_path)?.write_all(kubeconfig(&apiserver.url()).as_bytes())?;

    let writes_before = apiserver.server.write_count();
    let calls_before = emulator.emulator.total_requests();
    let harness_cpu_before = cpu_seconds("self");
    let started = Instant::now();
    let operator = Operator::spawn(&config, &kubeconfig_path, &emulator)?;
    let first_reconcile = watch_first_reconcile(&operator, started);
    let mut namespaces_at = None;
    // Ready objects are counted every 20 ms from the changes since the last count (read in
    // place, under the API server's lock): the measured time is at most 20 ms late, and a
    // count costs the harness what changed, not a scan of the fleet.
    let mut ready_namespaces = Tally::new(GROUP, "serverlessnamespaces");
    let mut ready_containers = Tally::new(GROUP, "serverlesscontainers");
    let poll_interval = Duration::from_millis(20);
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    let mut traced_at: Option<Instant> = None;
    let converge = loop {
        let namespaces_ready = ready_count(&apiserver.server, &mut ready_namespaces);
        if namespaces_at.is_none() && namespaces_ready == config.namespaces {
            namespaces_at = Some(started.elapsed());
        }
        let ready = ready_count(&apiserver.server, &mut ready_containers) + namespaces_ready;
        // A timeline line at most every 100 ms (reading the operator's metrics is a request).
        if trace && traced_at.is_none_or(|at| at.elapsed() >= Duration::from_millis(100)) {
            traced_at = Some(Instant::now());
            eprintln!(
                "t={:.2}s namespaces_ready={namespaces_ready} remote_containers={} ready={ready} reconciles={} writes={} calls={} cpu_operator={:.2} cpu_harness={:.2} rss_mib={:.1}",
                started.elapsed().as_secs_f64(),
                emulator.emulator.count_resources("containers"),
                operator.reconciles().await,
                apiserver.server.write_count() - writes_before,
                emulator.emulator.total_requests() - calls_before,
                cpu_seconds(&operator.child.id().to_string()),
                cpu_seconds("self") - harness_cpu_before,
                operator.status_mib("VmRSS:"),
            );
        }
        if ready == total {
            break started.elapsed();
        }
        if started.elapsed() > config.timeout {
            return Err(BenchError::Timeout {
                ready,
                total,
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(poll_interval).await;
    };
    let first_reconcile = if first_reconcile.is_finished() {
        first_reconcile.await.ok()
    } else {
        first_reconcile.abort();
        None
    };
    let operator_cpu = cpu_seconds(&operator.child.id().to_string());
    let harness_cpu = cpu_seconds("self") - harness_cpu_before;
    let converge_calls = emulator.emulator.total_requests() - calls_before;
    let converge_writes = apiserver.server.write_count() - writes_before;
    let reconciles = operator.reconciles().await;
    if trace {
        // Reconciles by kind and result: where the work went.
        for line in metric_lines(&operator.metrics, operator.admin, RECONCILES_TOTAL).await {
            eprintln!("{line}");
        }
    }

    // Steady state: everything Ready; count what the resyncs cost.
    let steady_calls_before = emulator.emulator.total_requests();
    let steady_window = config.resync_period * config.steady_periods;
    tokio::time::sleep(steady_window).await;
    let steady_calls = emulator.emulator.total_requests() - steady_calls_before;
    let peak_rss_mib = operator.peak_rss_mib();
    let rss_anon_mib = operator.status_mib("RssAnon:");
    let rss_file_mib = operator.status_mib("RssFile:");
    drop(operator);
    let _ = std::fs::remove_dir_all(&dir);

    let objects = total as f64;
    Ok(Report {
        objects: config.objects,
        namespaces: config.namespaces,
        converge_seconds: converge.as_secs_f64(),
        lower_bound_seconds: lower_bound.as_secs_f64(),
        converge_ratio: converge.as_secs_f64() / lower_bound.as_secs_f64().max(f64::EPSILON),
        calls_per_object_converge: converge_calls as f64 / objects,
        steady_calls_per_object_per_resync: steady_calls as f64
            / objects
            / f64::from(config.steady_periods.max(1)),
        kube_writes_per_object: converge_writes as f64 / objects,
        peak_rss_mib,
        rss_anon_mib,
        rss_file_mib,
        reconciles_per_second: reconciles / converge.as_secs_f64().max(f64::EPSILON),
        first_reconcile_ms: first_reconcile
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN),
        namespaces_ready_seconds: namespaces_at.map_or(f64::NAN, |d| d.as_secs_f64()),
        operator_cpu_seconds: operator_cpu,
        harness_cpu_seconds: harness_cpu,
        transition_delay_ms: config.transition_delay.as_millis() as u64,
        resync_seconds: config.resync_period.as_secs_f64(),
        apply_with: config.apply_with,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_apply_mode_s_name_is_its_flag_value() {
        use clap::ValueEnum;
        for mode in ApplyWith::value_variants() {
            assert_eq!(ApplyWith::from_str(mode.name(), false), Ok(*mode));
        }
    }

    /// Each way of writing the fleet stores what a real API server would keep from that tool:
    /// the operator's watches then receive (and its `slim` drops) the same extra metadata.
    #[tokio::test]
    async fn each_apply_mode_stores_what_its_tool_leaves_on_an_object() {
        let server = ApiServer::new();
        server.register_operator_crds();
        let apiserver = server
            .start()
            .await
            .unwrap_or_else(|e| panic!("API server: {e}"));
        let kube = apiserver.client().unwrap_or_else(|e| panic!("client: {e}"));
        let containers: kube::Api<ServerlessContainer> =
            kube::Api::namespaced(kube.clone(), "default");
        for (index, apply_with) in [
            ApplyWith::Create,
            ApplyWith::ClientSideApply,
            ApplyWith::ServerSideApply,
        ]
        .into_iter()
        .enumerate()
        {
            let manifest = serde_json::json!({
                "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainer",
                "metadata": {"name": container_name(index)},
                "spec": {"namespaceRef": {"name": "ns"}, "image": "bench:1", "maxScale": 2}
            });
            apply_one(&containers, manifest, apply_with)
                .await
                .unwrap_or_else(|e| panic!("{apply_with:?}: {e}"));
            let stored = containers
                .get(&container_name(index))
                .await
                .unwrap_or_else(|e| panic!("{apply_with:?}: {e}"));
            assert_eq!(stored.spec.image, "bench:1", "{apply_with:?}");
            let record = stored
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(LAST_APPLIED));
            let managers: Vec<_> = stored
                .metadata
                .managed_fields
                .iter()
                .flatten()
                .map(|entry| (entry.manager.as_deref(), entry.operation.as_deref()))
                .collect();
            match apply_with {
                ApplyWith::Create => {
                    assert_eq!(record, None);
                    assert!(managers.is_empty(), "{managers:?}");
                }
                ApplyWith::ClientSideApply => {
                    let record: serde_json::Value = serde_json::from_str(
                        record.unwrap_or_else(|| panic!("no last-applied record")),
                    )
                    .unwrap_or_else(|e| panic!("record: {e}"));
                    assert_eq!(record["metadata"]["name"], container_name(index));
                    assert_eq!(record["metadata"]["namespace"], "default");
                    assert_eq!(record["spec"]["image"], "bench:1");
                }
                ApplyWith::ServerSideApply => {
                    assert_eq!(record, None);
                    assert_eq!(managers, [(Some("kubectl"), Some("Apply"))]);
                }
            }
        }
    }
}
