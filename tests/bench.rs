//! The `bench` command end to end, through the real binary, at sizes that run in seconds.
//! - A small bench run: its JSON report keeps the interface issue 8 asks for, and its counts
//!   are those of a run that converged. The numbers themselves are measured by hand (README,
//!   Performance), never asserted here.
//! - A short soak (`bench --soak`): churn of containers and functions, Scaleway fault windows
//!   and operator kills, then the invariants (nothing leaked, duplicated, missing or lost).
//!   The long runs are in the README's Performance section; this one keeps the mode honest.

use std::process::Command;

use scaleway_serverless_operator::bench::REQUIRED_JSON_KEYS;

/// Runs `bench` with `args` (plus `--json`) through the real binary and returns its report,
/// after checking that the command succeeded.
fn bench_report(args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleway-serverless-operator"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .env("RUST_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("could not run the binary: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {stdout}\n{stderr}"));
    assert!(output.status.success(), "{report}\n{stderr}");
    report
}

#[test]
fn a_small_bench_run_converges_and_reports_every_documented_key() {
    let report = bench_report(&[
        "--objects",
        "20",
        "--transition-delay-ms",
        "100",
        "--resync-period",
        "1s",
        "--steady-periods",
        "1",
        "--apply-with",
        "server-side-apply",
        "--timeout",
        "90s",
    ]);
    for key in REQUIRED_JSON_KEYS {
        let value = report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number: {report}"));
        // A quiet steady window may make no call at all; every other figure is positive.
        let floor_ok = if key == "steady_calls_per_object_per_resync" {
            value >= 0.0
        } else {
            value > 0.0
        };
        assert!(value.is_finite() && floor_ok, "{key}: {report}");
    }
    assert_eq!(report["objects"], 20, "{report}");
    assert_eq!(report["apply_with"], "server-side-apply", "{report}");
    // Converging took at least the emulator's two life-cycle stages (namespace, container).
    assert!(report["converge_seconds"].as_f64() >= Some(0.2), "{report}");
    // Every object was created at Scaleway at least once, and written to in Kubernetes.
    assert!(
        report["calls_per_object_converge"].as_f64() >= Some(1.0),
        "{report}"
    );
    assert!(
        report["kube_writes_per_object"].as_f64() >= Some(1.0),
        "{report}"
    );
}

#[test]
fn a_short_soak_keeps_every_invariant() {
    let report = bench_report(&[
        "--objects",
        "40",
        "--soak",
        "8s",
        "--transition-delay-ms",
        "100",
        "--timeout",
        "90s",
        "--seed",
        "3",
    ]);
    for key in ["leaked", "duplicates", "missing", "lost_updates"] {
        assert_eq!(report[key], 0, "{key}: {report}");
    }
    assert_eq!(
        report["objects_converged"], report["objects_live"],
        "{report}"
    );
    // The schedule really disturbed the operator (seed 3 does both).
    assert!(report["operator_restarts"].as_u64() > Some(0), "{report}");
    assert!(report["fault_windows"].as_u64() > Some(0), "{report}");
    assert!(report["updates"].as_u64() > Some(0), "{report}");
    // Functions are in the churn and among the live objects checked.
    assert!(report["function_changes"].as_u64() > Some(0), "{report}");
    assert!(report["functions_live"].as_u64() > Some(0), "{report}");
}
