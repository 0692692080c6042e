//! `bench --soak DURATION`: thousands of objects under random churn and faults for a bounded
//! time, then a check that nothing leaked, was duplicated or was lost.
//!
//! During the soak a seeded random schedule updates, deletes and creates ServerlessContainers,
//! opens windows of Scaleway faults (5xx, 429 with Retry-After, dropped connections, latency)
//! and kills the operator process (SIGKILL) and starts a new one. Afterwards the faults stop,
//! the fleet is given time to converge, and the remote side is compared with the live objects.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant};

use scaleway_emulator::{Emulator, Faults};
use serde::Serialize;

use super::{
    BenchConfig, BenchError, GROUP, Operator, apply_fleet, client, container_name, emulator_config,
    kubeconfig, namespace_name,
};
use crate::crd::{self, ServerlessContainer};
use crate::sandbox::apiserver::ApiServer;
use crate::scaleway::types::ContainerFilter;

/// Settings of a soak run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// ServerlessContainers at the start.
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
}

/// What a soak run found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SoakReport {
    /// Seed of the schedule.
    pub seed: u64,
    /// Length of the churn.
    pub soak_seconds: f64,
    /// Live ServerlessContainers at the end.
    pub objects_live: usize,
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
    /// Fault windows opened.
    pub fault_windows: usize,
    /// Times the operator was killed and started again.
    pub operator_restarts: usize,
    /// Remote containers with no live object (must be 0).
    pub leaked: usize,
    /// Extra remote containers for one object (must be 0).
    pub duplicates: usize,
    /// Live objects with no remote container (must be 0).
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
            ("fault windows", self.fault_windows.to_string(), ""),
            ("operator kills", self.operator_restarts.to_string(), ""),
            (
                "converged",
                format!("{} of {}", self.objects_converged, self.objects_live),
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

/// Live objects by name with their last wanted maxScale; Ready and generation-current ones.
fn live(server: &ApiServer) -> (BTreeMap<String, i64>, usize, usize) {
    let mut wanted = BTreeMap::new();
    let (mut converged, mut deleting) = (0, 0);
    for object in server.objects(GROUP, "serverlesscontainers") {
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

/// Runs one soak.
pub async fn run(config: SoakConfig) -> Result<SoakReport, BenchError> {
    let bench = BenchConfig {
        objects: config.objects,
        namespaces: config.namespaces,
        transition_delay: config.transition_delay,
        resync_period: config.resync_period,
        steady_periods: 0,
        timeout: config.timeout,
    };
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let emulator = Emulator::start(emulator_config(config.transition_delay)).await?;
    let server = ApiServer::new();
    for definition in crd::all_crds() {
        server.register_crd(&definition);
    }
    let apiserver = server.start().await?;
    let kube = apiserver.client()?;
    apply_fleet(&kube, &bench).await?;
    let dir = std::env::temp_dir().join(format!("sso-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig_path = dir.join("kubeconfig");
    std::fs::File::create(&kubeconfig_path)?.write_all(kubeconfig(&apiserver.url()).as_bytes())?;
    let containers: kube::Api<ServerlessContainer> = kube::Api::namespaced(kube.clone(), "default");

    let mut report = SoakReport {
        seed: config.seed,
        ..SoakReport::default()
    };
    let mut operator = Operator::spawn(&bench, &kubeconfig_path, &emulator)?;
    let mut names: Vec<String> = (0..config.objects).map(container_name).collect();
    let mut next_index = config.objects;
    let mut faults_until: Option<Instant> = None;
    let started = Instant::now();
    while started.elapsed() < config.duration {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if faults_until.is_some_and(|until| Instant::now() > until) {
            emulator.emulator.set_faults(Faults::default());
            faults_until = None;
        }
        let roll = rng.u32(0..100);
        match roll {
            0..40 if !names.is_empty() => {
                let name = &names[rng.usize(0..names.len())];
                let patch = serde_json::json!({"spec": {"maxScale": rng.u32(1..=10)}});
                let params = kube::api::PatchParams::default();
                if containers
                    .patch(name, &params, &kube::api::Patch::Merge(&patch))
                    .await
                    .is_ok()
                {
                    report.updates += 1;
                }
            }
            40..50 if names.len() > config.objects / 2 => {
                let name = names.swap_remove(rng.usize(0..names.len()));
                if containers.delete(&name, &Default::default()).await.is_ok() {
                    report.deletes += 1;
                }
            }
            50..60 => {
                let name = format!("soak-c-{next_index}");
                let namespace = namespace_name(next_index % config.namespaces.max(1));
                next_index += 1;
                let object: ServerlessContainer = serde_json::from_value(serde_json::json!({
                    "apiVersion": "serverless.scaleway.com/v1alpha1", "kind": "ServerlessContainer",
                    "metadata": {"name": name},
                    "spec": {"namespaceRef": {"name": namespace}, "image": "bench:1", "maxScale": 2}
                }))
                .map_err(|e| BenchError::Setup(e.to_string()))?;
                if containers
                    .create(&Default::default(), &object)
                    .await
                    .is_ok()
                {
                    names.push(name);
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
    }
    report.soak_seconds = started.elapsed().as_secs_f64();
    emulator.emulator.set_faults(Faults::default());

    let settle = Instant::now();
    loop {
        let (wanted, converged, deleting) = live(&apiserver.server);
        report.objects_live = wanted.len();
        report.objects_converged = converged;
        if (converged == wanted.len() && deleting == 0) || settle.elapsed() > config.timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report.converge_seconds = settle.elapsed().as_secs_f64();
    // Let deletions that Scaleway is still carrying out finish before counting leaks.
    tokio::time::sleep(config.transition_delay * 2).await;
    report.peak_rss_mib = report.peak_rss_mib.max(operator.peak_rss_mib());
    drop(operator);

    let (wanted, _, _) = live(&apiserver.server);
    let api = client(&emulator.url())?;
    let remote = api
        .region("fr-par")
        .list_all_containers(&ContainerFilter::default())
        .await?;
    let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for container in &remote {
        by_name
            .entry(container.name.as_str())
            .or_default()
            .push(container.max_scale);
    }
    let live_names: BTreeSet<&str> = wanted.keys().map(String::as_str).collect();
    for (name, scales) in &by_name {
        if !live_names.contains(name) {
            report.leaked += scales.len();
        } else {
            report.duplicates += scales.len() - 1;
        }
    }
    for (name, max_scale) in &wanted {
        match by_name.get(name.as_str()) {
            None => report.missing += 1,
            Some(scales) if !scales.iter().any(|s| i64::from(*s) == *max_scale) => {
                report.lost_updates += 1;
            }
            Some(_) => {}
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}
