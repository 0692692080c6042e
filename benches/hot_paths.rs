//! Micro-benchmarks of the pure hot paths of a reconcile: converting a spec to the API's
//! units, diffing it against a remote container, building the PATCH body, and the unit
//! conversions. Run with `cargo bench --bench hot_paths`; numbers are printed, never asserted.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scaleway_serverless_operator::controller::container_plan::{Desired, plan, update_for};
use scaleway_serverless_operator::crd::{ServerlessContainerSpec, units};
use scaleway_serverless_operator::scaleway::types::{Container, Status};

fn spec() -> ServerlessContainerSpec {
    let json = serde_json::json!({
        "namespaceRef": {"name": "demo"}, "image": "rg.fr-par.scw.cloud/demo/web:2", "memory": "512Mi",
        "cpu": "500m", "timeout": "5m", "minScale": 0, "maxScale": 5, "port": 8080, "privacy": "Public",
        "environmentVariables": {"MODE": "production", "LOG_LEVEL": "info", "REGION": "fr-par"},
        "scaling": {"concurrentRequestsThreshold": 50},
        "livenessProbe": {"http": {"path": "/healthz"}, "interval": "10s", "failureThreshold": 3},
        "tags": ["team=web", "env=prod"]
    });
    serde_json::from_value(json).unwrap_or_else(|e| panic!("fixture: {e}"))
}

fn remote(desired: &Desired) -> Container {
    let settings = &desired.settings;
    Container {
        id: "c1".into(),
        name: desired.name.as_str().into(),
        image: "rg.fr-par.scw.cloud/demo/web:1".into(),
        status: Status::Ready,
        max_scale: 10,
        memory_limit_bytes: settings.memory_limit_bytes.unwrap_or_default(),
        mvcpu_limit: settings.mvcpu_limit.unwrap_or_default(),
        environment_variables: settings.environment_variables.clone().unwrap_or_default(),
        ..Default::default()
    }
}

fn hot_paths(c: &mut Criterion) {
    let spec = spec();
    let desired = Desired::from_spec("web", &spec).unwrap_or_else(|e| panic!("{e}"));
    let drifted = remote(&desired);
    let mut in_sync = drifted.clone();
    in_sync.image = desired.image.as_str().into();
    in_sync.max_scale = 5;

    c.bench_function("desired_from_spec", |b| {
        b.iter(|| Desired::from_spec(black_box("web"), black_box(&spec)))
    });
    c.bench_function("plan_in_sync", |b| {
        b.iter(|| plan(black_box(&desired), Some(black_box(&in_sync)), None, false))
    });
    c.bench_function("plan_with_drift", |b| {
        b.iter(|| plan(black_box(&desired), Some(black_box(&drifted)), None, false))
    });
    c.bench_function("patch_body_json", |b| {
        let update = update_for(&desired, &drifted, None);
        b.iter(|| serde_json::to_vec(black_box(&update)))
    });
    c.bench_function("quantity_512Mi_to_bytes", |b| {
        b.iter(|| units::bytes("memory", black_box("512Mi")))
    });
    c.bench_function("quantity_500m_to_millicpu", |b| {
        b.iter(|| units::millicpu("cpu", black_box("500m")))
    });
    c.bench_function("duration_1h30m", |b| {
        b.iter(|| units::duration("timeout", black_box("1h30m")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = hot_paths
}
criterion_main!(benches);
