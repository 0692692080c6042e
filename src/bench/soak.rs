//! `bench --soak DURATION`: thousands of objects under random churn and faults for a bounded
//! time, then a check that nothing leaked, was duplicated or was lost.
//!
//! During the soak a seeded random schedule updates, deletes and creates ServerlessContainers
//! and ServerlessFunctions (one in five changes is a function's: they are reconciled against
//! the Functions API, with their code uploaded from a ConfigMap), opens windows of Scaleway
//! faults (5xx, 429 with Retry-After, dropped connections, latency)
//! and kills the operator process (SIGKILL) and starts a new one. Afterwards the faults stop,
//! the fleet is given time to converge, and the remote side is compared with the live objects.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ApiResource, DynamicObject};
use scaleway_emulator::{Emulator, Faults};
use serde::Serialize;

use super::{
    BenchConfig, BenchError, GROUP, Operator, apply_fleet, client, container_name, emulator_config,
    kubeconfig, namespace_name,
};
use crate::crd::{ServerlessContainer, ServerlessFunction, ServerlessNamespace};
use crate::sandbox::apiserver::ApiServer;
use crate::scaleway::functions::types::{
    FunctionFilter, NamespaceFilter as FunctionsNamespaceFilter,
};
use crate::scaleway::types::ContainerFilter;

/// Settings of a soak run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// ServerlessContainers at the start (and a tenth as many ServerlessFunctions, at least 2).
    pub objects: usize,
    /// ServerlessNamespaces they are spread over.
    pub namespaces: usize,
    /// How long the churn and faults last.
    pub duration: Duration,
    /// The emulator's life-cycle delay.
    pub transition_delay: Duration,
    /// The operator's resync period.
    pub resync_period: Duration,
    /// Seed of the random schedule (same seed, same schedule).
    pub seed: u64,
    /// How long convergence may take after the soak.
    pub timeout: Duration,
    /// How the fleet is written to Kubernetes.
    pub apply_with: super::ApplyWith,
}

/// What a soak run found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SoakReport {
    /// Seed of the schedule.
    pub seed: u64,
    /// Length of the churn.
    pub soak_seconds: f64,
    /// Live ServerlessContainers and ServerlessFunctions at the end.
    pub objects_live: usize,
    /// Of those, ServerlessFunctions.
    pub functions_live: usize,
    /// Of those, Ready with the latest generation observed.
    pub objects_converged: usize,
    /// Time from the end of the churn to convergence (or to the timeout).
    pub converge_seconds: f64,
    /// Spec updates, deletions and creations made during the soak.
    pub updates: usize,
    /// Deletions.
    pub deletes: usize,
    /// Creations.
    pub creates: usize,
    /// Of the updates, deletions and creations, those of ServerlessFunctions.
    pub function_changes: usize,
    /// Fault windows opened.
    pub fault_windows: usize,
    /// Times the operator was killed and started again.
    pub operator_restarts: usize,
    /// Remote containers and functions with no live object (must be 0).
    pub leaked: usize,
    /// Extra remote containers or functions for one object (must be 0).
    pub duplicates: usize,
    /// Live objects with no remote container or function (must be 0).
    pub missing: usize,
    /// Live objects whose remote maxScale differs from the last spec (must be 0).
    pub lost_updates: usize,
    /// Highest peak RSS of any operator process.
    pub peak_rss_mib: f64,
}

impl SoakReport {
    /// Whether the invariants held.
    pub fn passed(&self) -> bool {
        self.objects_converged == self.objects_live
            && self.leaked == 0
            && self.duplicates == 0
            && self.missing == 0
            && self.lost_updates == 0
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let verdict = |ok: bool| if ok { "ok" } else { "FAILED" };
        let rows = [
            ("seed", self.seed.to_string(), ""),
            ("soak (s)", format!("{:.1}", self.soak_seconds), ""),
            (
                "updates / deletes / creates",
                format!("{} / {} / {}", self.updates, self.deletes, self.creates),
                "",
            ),
            ("of which functions", self.function_changes.to_string(), ""),
            ("fault windows", self.fault_windows.to_string(), ""),
            ("operator kills", self.operator_restarts.to_string(), ""),
            (
                "converged (of which functions)",
                format!(
                    "{} of {} ({})",
                    self.objects_converged, self.objects_live, self.functions_live
                ),
                verdict(self.objects_converged == self.objects_live),
            ),
            (
                "converge after soak (s)",
                format!("{:.1}", self.converge_seconds),
                "",
            ),
            ("leaked", self.leaked.to_string(), verdict(self.leaked == 0)),
            (
                "duplicates",
                self.duplicates.to_string(),
                verdict(self.duplicates == 0),
            ),
            (
                "missing",
                self.missing.to_string(),
                verdict(self.missing == 0),
            ),
            (
                "lost updates",
                self.lost_updates.to_string(),
                verdict(self.lost_updates == 0),
            ),
            ("peak RSS (MiB)", format!("{:.1}", self.peak_rss_mib), ""),
        ];
        let mut out = String::new();
        for (name, value, check) in rows {
            out.push_str(&format!("{name:<30} {value:>14}  {check}\n"));
        }
        out
    }
}

/// Faults of one window: a mix of what real clouds do.
fn fault_window(rng: &mut fastrand::Rng) -> Faults {
    Faults {
        latency_ms: rng.u64(0..150),
        server_error_rate: 0.1 + rng.f64() * 0.2,
        rate_limit_rate: rng.f64() * 0.2,
        retry_after_seconds: 1,
        drop_rate: rng.f64() * 0.1,
        ..Faults::default()
    }
}

/// Live objects of `plural` by name with their last wanted maxScale; Ready and
/// generation-current ones; ones being deleted.
fn live(server: &ApiServer, plural: &str) -> (BTreeMap<String, i64>, usize, usize) {
    let mut wanted = BTreeMap::new();
    let (mut converged, mut deleting) = (0, 0);
    for object in server.objects(GROUP, plural) {
        let name = object
            .pointer("/metadata/name")
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_owned();
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            deleting += 1;
            continue;
        }
        let generation = object
            .pointer("/metadata/generation")
            .and_then(|g| g.as_i64());
        let observed = object
            .pointer("/status/observedGeneration")
            .and_then(|g| g.as_i64());
        let ready = object
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        if ready && generation == observed {
            converged += 1;
        }
        let max_scale = object
            .pointer("/spec/maxScale")
            .and_then(|m| m.as_i64())
            .unwrap_or_default();
        wanted.insert(name, max_scale);
    }
    (wanted, converged, deleting)
}

/// The ServerlessNamespace of the soak's functions, and the ConfigMap with their code.
const FUNCTIONS_NAMESPACE: &str = "soak-fns";
const FUNCTION_CODE: &str = "soak-code";
/// An empty zip archive: the emulator takes it as a function's code.
const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// One kind under churn: the names of its live objects and how to make a new one.
struct Churned {
    api: kube::Api<DynamicObject>,
    names: Vec<String>,
    /// Prefix of the names of the objects created during the soak.
    prefix: &'static str,
    /// Deletions stop at this many objects left.
    floor: usize,
    next_index: usize,
    object: fn(name: &str, index: usize, namespaces: usize) -> serde_json::Value,
}

impl Churned {
    fn new<K>(
        kube: &kube::Client,
        names: Vec<String>,
        prefix: &'static str,
        object: fn(&str, usize, usize) -> serde_json::Value,
    ) -> Self
    where
        K: kube::Resource<DynamicType = ()>,
    {
        Self {
            api: kube::Api::namespaced_with(kube.clone(), "default", &ApiResource::erase::<K>(&())),
            floor: names.len() / 2,
            next_index: names.len(),
            names,
            prefix,
            object,
        }
    }

    /// Creates the object `name` (index `index`); whether the API server took it.
    async fn create(&self, name: &str, index: usize, namespaces: usize) -> bool {
        let Ok(object) =
            serde_json::from_value::<DynamicObject>((self.object)(name, index, namespaces))
        else {
            return false;
        };
        self.api.create(&Default::default(), &object).await.is_ok()
    }
}

fn container_object(name: &str, index: usize, namespaces: usize) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainer",
        "metadata": {"name": name},
        "spec": {"namespaceRef": {"name": namespace_name(index % namespaces.max(1))}, "image": "bench:1", "maxScale": 2}
    })
}

fn function_object(name: &str, _index: usize, _namespaces: usize) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessFunction",
        "metadata": {"name": name},
        "spec": {
            "namespaceRef": {"name": FUNCTIONS_NAMESPACE}, "runtime": "node22", "maxScale": 2,
            "code": {"configMapKeyRef": {"name": FUNCTION_CODE, "key": "code.zip"}}
        }
    })
}

/// The functions' namespace, their code, and `count` functions.
async fn apply_functions(kube: &kube::Client, count: usize) -> Result<Vec<String>, BenchError> {
    let setup = |e: serde_json::Error| BenchError::Setup(e.to_string());
    let namespace: ServerlessNamespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessNamespace",
        "metadata": {"name": FUNCTIONS_NAMESPACE}, "spec": {"type": "Functions"}
    }))
    .map_err(setup)?;
    kube::Api::<ServerlessNamespace>::namespaced(kube.clone(), "default")
        .create(&Default::default(), &namespace)
        .await?;
    let code: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": FUNCTION_CODE},
        "binaryData": {"code.zip": k8s_openapi::ByteString(EMPTY_ZIP.to_vec())}
    }))
    .map_err(setup)?;
    kube::Api::<ConfigMap>::namespaced(kube.clone(), "default")
        .create(&Default::default(), &code)
        .await?;
    let functions: kube::Api<ServerlessFunction> = kube::Api::namespaced(kube.clone(), "default");
    let mut names = Vec::with_capacity(count);
    for index in 0..count {
        let name = format!("soak-f-{index}");
        let object: ServerlessFunction =
            serde_json::from_value(function_object(&name, index, 1)).map_err(setup)?;
        functions.create(&Default::default(), &object).await?;
        names.push(name);
    }
    Ok(names)
}

/// Counts, against the live objects' names and last wanted maxScale, the remote objects
/// (name, maxScale) that leaked or are duplicated, and the live objects missing or with an
/// update lost.
fn compare(wanted: &BTreeMap<String, i64>, remote: &[(&str, u32)], report: &mut SoakReport) {
    let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (name, max_scale) in remote {
        by_name.entry(name).or_default().push(*max_scale);
    }
    for (name, scales) in &by_name {
        if !wanted.contains_key(*name) {
            report.leaked += scales.len();
        } else {
            report.duplicates += scales.len() - 1;
        }
    }
    for (name, max_scale) in wanted {
        match by_name.get(name.as_str()) {
            None => report.missing += 1,
            Some(scales) if !scales.iter().any(|s| i64::from(*s) == *max_scale) => {
                report.lost_updates += 1;
            }
            Some(_) => {}
        }
    }
}

/// Runs one soak.
pub async fn run(config: SoakConfig) -> Result<SoakReport, BenchError> {
    let bench = BenchConfig {
        objects: config.objects,
        namespaces: config.namespaces,
        transition_delay: config.transition_delay,
        resync_period: config.resync_period,
        steady_periods: 0,
        timeout: config.timeout,
        apply_with: config.apply_with,
    };
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let emulator = Emulator::start(emulator_config(config.transition_delay)).await?;
    let server = ApiServer::new();
    server.register_operator_crds();
    let apiserver = server.start().await?;
    let kube = apiserver.client()?;
    apply_fleet(&kube, &bench).await?;
    let dir = std::env::temp_dir().join(format!("sso-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig_path = dir.join("kubeconfig");
    std::fs::File::create(&kubeconfig_path)?.write_all(kubeconfig(&apiserver.url()).as_bytes())?;
    let function_names = apply_functions(&kube, (config.objects / 10).max(2)).await?;
    let mut kinds = [
        Churned::new::<ServerlessContainer>(
            &kube,
            (0..config.objects).map(container_name).collect(),
            "soak-c",
            container_object,
        ),
        Churned::new::<ServerlessFunction>(&kube, function_names, "soak-f", function_object),
    ];

    let mut report = SoakReport {
        seed: config.seed,
        ..SoakReport::default()
    };
    let mut operator = Operator::spawn(&bench, &kubeconfig_path, &emulator)?;
    let mut faults_until: Option<Instant> = None;
    let started = Instant::now();
    while started.elapsed() < config.duration {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if faults_until.is_some_and(|until| Instant::now() > until) {
            emulator.emulator.set_faults(Faults::default());
            faults_until = None;
        }
        let roll = rng.u32(0..100);
        // One change in five is a function's.
        let is_function = rng.u32(0..5) == 0;
        let churned = &mut kinds[usize::from(is_function)];
        let changes_before = report.updates + report.deletes + report.creates;
        match roll {
            0..40 if !churned.names.is_empty() => {
                let name = &churned.names[rng.usize(0..churned.names.len())];
                let patch = serde_json::json!({"spec": {"maxScale": rng.u32(1..=10)}});
                let params = kube::api::PatchParams::default();
                if churned
                    .api
                    .patch(name, &params, &kube::api::Patch::Merge(&patch))
                    .await
                    .is_ok()
                {
                    report.updates += 1;
                }
            }
            40..50 if churned.names.len() > churned.floor => {
                let name = churned.names.swap_remove(rng.usize(0..churned.names.len()));
                if churned.api.delete(&name, &Default::default()).await.is_ok() {
                    report.deletes += 1;
                }
            }
            50..60 => {
                let index = churned.next_index;
                churned.next_index += 1;
                let name = format!("{}-{index}", churned.prefix);
                if churned.create(&name, index, config.namespaces).await {
                    churned.names.push(name);
                    report.creates += 1;
                }
            }
            60..63 if faults_until.is_none() => {
                emulator.emulator.set_faults(fault_window(&mut rng));
                faults_until = Some(Instant::now() + Duration::from_millis(rng.u64(500..3000)));
                report.fault_windows += 1;
            }
            63..65 => {
                // SIGKILL at a random point of whatever it was doing, then a fresh process.
                report.peak_rss_mib = report.peak_rss_mib.max(operator.peak_rss_mib());
                drop(operator);
                operator = Operator::spawn(&bench, &kubeconfig_path, &emulator)?;
                report.operator_restarts += 1;
            }
            _ => {}
        }
        if is_function && report.updates + report.deletes + report.creates > changes_before {
            report.function_changes += 1;
        }
    }
    report.soak_seconds = started.elapsed().as_secs_f64();
    emulator.emulator.set_faults(Faults::default());

    const PLURALS: [&str; 2] = ["serverlesscontainers", "serverlessfunctions"];
    let settle = Instant::now();
    loop {
        let (mut live_objects, mut converged, mut deleting) = (0, 0, 0);
        for plural in PLURALS {
            let (wanted, ready, going) = live(&apiserver.server, plural);
            live_objects += wanted.len();
            converged += ready;
            deleting += going;
        }
        report.objects_live = live_objects;
        report.objects_converged = converged;
        if (converged == live_objects && deleting == 0) || settle.elapsed() > config.timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report.converge_seconds = settle.elapsed().as_secs_f64();
    // Let deletions that Scaleway is still carrying out finish before counting leaks.
    tokio::time::sleep(config.transition_delay * 2).await;
    report.peak_rss_mib = report.peak_rss_mib.max(operator.peak_rss_mib());
    drop(operator);

    let api = client(&emulator.url())?;
    let containers = api
        .region("fr-par")
        .list_all_containers(&ContainerFilter::default())
        .await?;
    let remote: Vec<(&str, u32)> = containers.iter().map(|c| (&*c.name, c.max_scale)).collect();
    let (wanted, _, _) = live(&apiserver.server, PLURALS[0]);
    compare(&wanted, &remote, &mut report);
    // Every functions namespace, so a function leaked anywhere is counted.
    let functions_api = api.functions("fr-par");
    let mut functions = Vec::new();
    for namespace in functions_api
        .list_all_namespaces(&FunctionsNamespaceFilter::default())
        .await?
    {
        let filter = FunctionFilter {
            namespace_id: namespace.id,
            ..FunctionFilter::default()
        };
        functions.extend(functions_api.list_all_functions(&filter).await?);
    }
    let remote: Vec<(&str, u32)> = functions
        .iter()
        .map(|f| (f.name.as_str(), f.max_scale))
        .collect();
    let (wanted, _, _) = live(&apiserver.server, PLURALS[1]);
    report.functions_live = wanted.len();
    compare(&wanted, &remote, &mut report);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}
