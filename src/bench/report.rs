//! The numbers of one bench run, as a table or one JSON object, with the targets beside them.

use serde::Serialize;

/// The keys every JSON report carries because the benchmark's issue asks for them (scripts
/// read them); the report has more.
pub const REQUIRED_JSON_KEYS: [&str; 9] = [
    "objects",
    "converge_seconds",
    "lower_bound_seconds",
    "converge_ratio",
    "calls_per_object_converge",
    "steady_calls_per_object_per_resync",
    "kube_writes_per_object",
    "peak_rss_mib",
    "first_reconcile_ms",
];

/// What one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// ServerlessContainers.
    pub objects: usize,
    /// ServerlessNamespaces they were spread over.
    pub namespaces: usize,
    /// From the operator's start (every object already applied) to every object Ready.
    pub converge_seconds: f64,
    /// The same work done by a tight loop of direct calls, plus the life-cycle delays.
    pub lower_bound_seconds: f64,
    /// converge / lower bound.
    pub converge_ratio: f64,
    /// Scaleway calls per object until converged.
    pub calls_per_object_converge: f64,
    /// Scaleway calls per object per resync period once converged.
    pub steady_calls_per_object_per_resync: f64,
    /// Kubernetes API writes per object until converged.
    pub kube_writes_per_object: f64,
    /// Peak RSS of the operator process.
    pub peak_rss_mib: f64,
    /// The operator's RSS at the end of the steady window, split: anonymous memory (heap,
    /// stacks) and file-backed pages (mostly its binary's code, which also carries the
    /// emulator and the in-memory API server).
    pub rss_anon_mib: f64,
    pub rss_file_mib: f64,
    /// Reconciles per second while converging.
    pub reconciles_per_second: f64,
    /// From the operator's start to its first status write.
    pub first_reconcile_ms: f64,
    /// From the operator's start until every ServerlessNamespace is Ready (the first of the
    /// two life-cycle stages).
    pub namespaces_ready_seconds: f64,
    /// CPU time the operator process used until converged.
    pub operator_cpu_seconds: f64,
    /// CPU time the bench process used meanwhile: the emulator, the in-memory Kubernetes API
    /// and the Ready count, which share the machine with the operator.
    pub harness_cpu_seconds: f64,
    /// The emulator's life-cycle delay.
    pub transition_delay_ms: u64,
    /// The operator's resync period.
    pub resync_seconds: f64,
    /// How the fleet was written to Kubernetes.
    pub apply_with: super::ApplyWith,
}

/// Targets (issue: converge ≤ 1.2× the lower bound at N = 1,000; ≤ 0.05 calls per object per
/// resync; peak RSS ≤ 50 MiB at N = 10,000; first reconcile < 1 s).
const TARGET_RATIO: f64 = 1.2;
const TARGET_STEADY: f64 = 0.05;
const TARGET_RSS_MIB: f64 = 50.0;
const TARGET_FIRST_MS: f64 = 1000.0;

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

impl Report {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let rows = [
            (
                "converge (s)",
                format!("{:.2}", self.converge_seconds),
                String::new(),
            ),
            (
                "lower bound (s)",
                format!("{:.2}", self.lower_bound_seconds),
                String::new(),
            ),
            (
                "converge / lower bound",
                format!("{:.2}", self.converge_ratio),
                format!(
                    "≤ {TARGET_RATIO} at N=1000: {}",
                    verdict(self.converge_ratio <= TARGET_RATIO)
                ),
            ),
            (
                "Scaleway calls / object to converge",
                format!("{:.2}", self.calls_per_object_converge),
                String::new(),
            ),
            (
                "Scaleway calls / object / resync (steady)",
                format!("{:.3}", self.steady_calls_per_object_per_resync),
                format!(
                    "≤ {TARGET_STEADY}: {}",
                    verdict(self.steady_calls_per_object_per_resync <= TARGET_STEADY)
                ),
            ),
            (
                "Kubernetes writes / object",
                format!("{:.2}", self.kube_writes_per_object),
                String::new(),
            ),
            (
                "peak RSS (MiB)",
                format!("{:.1}", self.peak_rss_mib),
                format!(
                    "≤ {TARGET_RSS_MIB} at N=10000: {}",
                    verdict(self.peak_rss_mib <= TARGET_RSS_MIB)
                ),
            ),
            (
                "RSS at the end (MiB): anonymous / file-backed",
                format!("{:.1} / {:.1}", self.rss_anon_mib, self.rss_file_mib),
                String::new(),
            ),
            (
                "namespaces Ready after (s)",
                format!("{:.2}", self.namespaces_ready_seconds),
                String::new(),
            ),
            (
                "CPU until converged (s): operator / harness",
                format!(
                    "{:.2} / {:.2}",
                    self.operator_cpu_seconds, self.harness_cpu_seconds
                ),
                String::new(),
            ),
            (
                "reconciles / s",
                format!("{:.0}", self.reconciles_per_second),
                String::new(),
            ),
            (
                "first reconcile (ms)",
                format!("{:.0}", self.first_reconcile_ms),
                format!(
                    "< {TARGET_FIRST_MS}: {}",
                    verdict(self.first_reconcile_ms < TARGET_FIRST_MS)
                ),
            ),
        ];
        let mut out = format!(
            "bench: {} ServerlessContainers in {} ServerlessNamespaces, written with {}, life-cycle delay {} ms, resync {} s\n\n| metric | value | target |\n|---|---|---|\n",
            self.objects,
            self.namespaces,
            self.apply_with.name(),
            self.transition_delay_ms,
            self.resync_seconds
        );
        for (name, value, target) in rows {
            out.push_str(&format!("| {name} | {value} | {target} |\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_documented_keys_and_the_table_the_targets() {
        let report = Report {
            objects: 100,
            namespaces: 4,
            converge_seconds: 2.0,
            lower_bound_seconds: 1.8,
            converge_ratio: 1.11,
            calls_per_object_converge: 3.0,
            steady_calls_per_object_per_resync: 0.02,
            kube_writes_per_object: 4.0,
            peak_rss_mib: 30.0,
            rss_anon_mib: 20.0,
            rss_file_mib: 10.0,
            reconciles_per_second: 100.0,
            first_reconcile_ms: 200.0,
            namespaces_ready_seconds: 1.1,
            operator_cpu_seconds: 0.5,
            harness_cpu_seconds: 0.75,
            transition_delay_ms: 1000,
            resync_seconds: 5.0,
            apply_with: super::super::ApplyWith::ServerSideApply,
        };
        let json = serde_json::to_value(&report).unwrap_or_default();
        for key in REQUIRED_JSON_KEYS.into_iter().chain([
            "operator_cpu_seconds",
            "harness_cpu_seconds",
            "rss_anon_mib",
            "rss_file_mib",
        ]) {
            assert!(json.get(key).is_some(), "{key}");
        }
        // The flag's spelling, so a JSON report says how to repeat the run.
        assert_eq!(json["apply_with"], "server-side-apply");
        let table = report.table();
        assert!(
            table.contains(", written with server-side-apply,"),
            "{table}"
        );
        assert!(
            table.contains("| converge / lower bound | 1.11 | ≤ 1.2 at N=1000: ok |"),
            "{table}"
        );
        assert!(
            table.contains("| RSS at the end (MiB): anonymous / file-backed | 20.0 / 10.0 |"),
            "{table}"
        );
        assert!(
            table.contains("| CPU until converged (s): operator / harness | 0.50 / 0.75 |"),
            "{table}"
        );
    }
}
