//! Two replicas compete for the leader Lease through a real Kubernetes API (the in-memory
//! one): only one holds it at a time, and a standby takes over once the leader stops renewing.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use scaleway_serverless_operator::lease::{self, LeaseSettings};
use scaleway_serverless_operator::sandbox::apiserver::ApiServer;

fn settings(holder: &str) -> LeaseSettings {
    LeaseSettings {
        name: "scaleway-serverless-operator".into(),
        namespace: "default".into(),
        holder: holder.into(),
        duration: Duration::from_secs(1),
        renew_every: Duration::from_millis(100),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_at_a_time_and_failover_after_expiry() {
    scaleway_serverless_operator::install_crypto_provider();
    let running = ApiServer::new()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = running.client().unwrap_or_else(|e| panic!("{e}"));
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "default"}}))
        .unwrap_or_default();
    let _ = namespaces.create(&Default::default(), &namespace).await;
    let leases: Api<Lease> = Api::namespaced(client, "default");
    let (a, b) = (settings("pod-a"), settings("pod-b"));

    assert!(
        lease::try_acquire(&leases, &a).await.unwrap_or(false),
        "the first replica takes the free lease"
    );
    assert!(
        !lease::try_acquire(&leases, &b).await.unwrap_or(true),
        "the second waits while the lease is valid"
    );
    assert!(
        lease::try_acquire(&leases, &a).await.unwrap_or(false),
        "the holder renews"
    );

    // The leader stops renewing (crash): the standby takes over within about one duration.
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), lease::acquire(&leases, &b))
        .await
        .unwrap_or_else(|_| panic!("the standby never took over"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(700),
        "took over before the lease expired: {took:?}"
    );
    let current = leases
        .get("scaleway-serverless-operator")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let spec = current.spec.unwrap_or_default();
    assert_eq!(spec.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(spec.lease_transitions, Some(1));

    // The old leader notices at its next renewal and gives up.
    tokio::time::timeout(Duration::from_secs(5), lease::hold(&leases, &a))
        .await
        .unwrap_or_else(|_| panic!("the old leader kept running"));

    // A leader that shuts down releases the lease: the standby takes it at once.
    lease::release(&leases, &a).await; // not the holder: no effect
    assert!(
        !lease::try_acquire(&leases, &a).await.unwrap_or(true),
        "a non-holder cannot release"
    );
    lease::release(&leases, &b).await;
    assert!(
        lease::try_acquire(&leases, &a).await.unwrap_or(false),
        "a released lease is free at once"
    );
}
