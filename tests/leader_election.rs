//! Replicas compete for the leader Lease through a real Kubernetes API (the in-memory one):
//! only one holds it at a time, a standby takes over once the leader stops renewing, and a
//! leader whose renewals hang steps down before a standby may start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::PostParams;
use scaleway_serverless_operator::lease::{LeaderElector, LeaseSettings, Lost};
use scaleway_serverless_operator::sandbox::apiserver::{ApiServer, RunningApiServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LEASE: &str = "scaleway-serverless-operator";

fn settings(holder: &str) -> LeaseSettings {
    LeaseSettings {
        name: LEASE.into(),
        namespace: "default".into(),
        holder: holder.into(),
        // The deadline leaves a loaded CI machine 1.5 s to renew; the lease outlasts it by
        // 1.5 s more.
        duration: Duration::from_secs(3),
        renew_deadline: Duration::from_millis(1500),
        renew_every: Duration::from_millis(100),
    }
}

async fn api_server() -> RunningApiServer {
    scaleway_serverless_operator::install_crypto_provider();
    let running = ApiServer::new()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = running.client().unwrap_or_else(|e| panic!("{e}"));
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
    let namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "default"}}))
        .unwrap_or_default();
    let _ = namespaces.create(&PostParams::default(), &namespace).await;
    running
}

fn leases_at(url: &str) -> Api<Lease> {
    let uri: http::Uri = url.parse().unwrap_or_else(|e| panic!("{e}"));
    let client = kube::Client::try_from(kube::Config::new(uri)).unwrap_or_else(|e| panic!("{e}"));
    Api::namespaced(client, "default")
}

fn elector(running: &RunningApiServer, holder: &str) -> LeaderElector {
    LeaderElector::new(leases_at(&running.url()), settings(holder))
}

async fn lease_spec(running: &RunningApiServer) -> k8s_openapi::api::coordination::v1::LeaseSpec {
    leases_at(&running.url())
        .get(LEASE)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .spec
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_at_a_time_and_failover_after_expiry() {
    let running = api_server().await;
    let (mut a, mut b) = (elector(&running, "pod-a"), elector(&running, "pod-b"));

    assert!(
        a.try_acquire().await.unwrap_or(false),
        "the first replica takes the free lease"
    );
    assert!(
        !b.try_acquire().await.unwrap_or(true),
        "the second waits while the lease is valid"
    );
    assert!(a.try_acquire().await.unwrap_or(false), "the holder renews");

    // The leader stops renewing (crash): the standby takes over once it has seen the Lease
    // unchanged for a whole duration, counted by its own clock.
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), b.acquire())
        .await
        .unwrap_or_else(|_| panic!("the standby never took over"));
    let took = started.elapsed();
    // pod-b leads from now on: it renews at once, before the checks below take their time.
    let holding = tokio::spawn(async move { (b.hold().await, b) });
    assert!(
        took > Duration::from_secs(3),
        "took over before the lease expired: {took:?}"
    );
    let spec = lease_spec(&running).await;
    assert_eq!(spec.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert!(
        !a.try_acquire().await.unwrap_or(true),
        "the old leader finds the lease taken"
    );

    // While pod-b leads, someone hands the Lease to pod-c: pod-b notices at its next renewal.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!holding.is_finished(), "pod-b keeps renewing");
    let leases = leases_at(&running.url());
    let mut lease = leases.get(LEASE).await.unwrap_or_else(|e| panic!("{e}"));
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = Some("pod-c".into());
    }
    // pod-b renews every 100 ms: retry on its conflicting writes.
    let mut handed = false;
    for _ in 0..50 {
        if leases
            .replace(LEASE, &PostParams::default(), &lease)
            .await
            .is_ok()
        {
            handed = true;
            break;
        }
        let mut fresh = leases.get(LEASE).await.unwrap_or_else(|e| panic!("{e}"));
        if let Some(spec) = fresh.spec.as_mut() {
            spec.holder_identity = Some("pod-c".into());
        }
        lease = fresh;
    }
    assert!(handed, "the Lease could be handed to pod-c");
    let (lost, mut b) = tokio::time::timeout(Duration::from_secs(2), holding)
        .await
        .unwrap_or_else(|_| panic!("pod-b kept leading"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lost, Lost::TakenOver);
    assert_eq!(
        b.hold().await,
        Lost::NotLeading,
        "a lost lease is not held again"
    );

    // A leader that shuts down releases the lease: another replica takes it at once.
    b.release().await; // not the holder: no effect
    assert_eq!(
        lease_spec(&running).await.holder_identity.as_deref(),
        Some("pod-c")
    );
    elector(&running, "pod-c").release().await;
    assert!(
        a.try_acquire().await.unwrap_or(false),
        "a released lease is free at once"
    );
}

/// A TCP relay to the API server that can freeze: from then on it forwards nothing on any
/// connection, old or new, and closes none (an API server that stopped answering).
async fn freezable_relay(target: SocketAddr) -> (String, Arc<AtomicBool>) {
    let frozen = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let relay_frozen = frozen.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = TcpStream::connect(target).await else {
                continue;
            };
            let (from_client, to_client) = inbound.into_split();
            let (from_server, to_server) = outbound.into_split();
            tokio::spawn(pump(from_client, to_server, relay_frozen.clone()));
            tokio::spawn(pump(from_server, to_client, relay_frozen.clone()));
        }
    });
    (format!("http://{addr}"), frozen)
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_renewals_hang_steps_down_before_a_standby_may_start() {
    let running = api_server().await;
    let target: SocketAddr = running
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let (relay, frozen) = freezable_relay(target).await;
    let mut a = LeaderElector::new(leases_at(&relay), settings("pod-a"));
    let mut b = elector(&running, "pod-b");
    assert!(a.try_acquire().await.unwrap_or(false), "pod-a leads");
    let holding = tokio::spawn(async move {
        let lost = a.hold().await;
        (lost, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!holding.is_finished(), "pod-a renews through the relay");

    // The API stops answering pod-a: its renewal hangs instead of failing.
    frozen.store(true, Ordering::SeqCst);
    let froze = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), b.acquire())
        .await
        .unwrap_or_else(|_| panic!("the standby never took over"));
    let b_started = Instant::now();
    let (lost, a_stopped) = tokio::time::timeout(Duration::from_secs(5), holding)
        .await
        .unwrap_or_else(|_| panic!("pod-a kept leading with a hung renewal"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lost, Lost::RenewDeadline);
    // The hung request alone would have lasted until the client's timeout (minutes).
    assert!(
        a_stopped < b_started,
        "pod-a stopped {:?} after the freeze, pod-b started {:?} after it",
        a_stopped - froze,
        b_started - froze
    );
    assert_eq!(
        lease_spec(&running).await.holder_identity.as_deref(),
        Some("pod-b")
    );
}
