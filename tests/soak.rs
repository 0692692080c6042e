//! A short soak through the real binary (`bench --soak`): churn of containers and functions,
//! Scaleway fault windows and operator kills, then the invariants (nothing leaked, duplicated, missing or lost). The long
//! runs are in the README's Performance section; this one keeps the mode itself honest.

use std::process::Command;

#[test]
fn a_short_soak_keeps_every_invariant() {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleway-serverless-operator"))
        .args([
            "bench",
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
            "--json",
        ])
        .env("RUST_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("could not run the binary: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {stdout}\n{stderr}"));
    assert!(output.status.success(), "{report}\n{stderr}");
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
