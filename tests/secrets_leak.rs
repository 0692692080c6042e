//! Secrets never leak: a whole life cycle (credentials from a Secret, secret environment
//! variables, an SQS trigger key, a secret rotation, failures and Scaleway faults, deletion)
//! with known secret values, while every log line of every crate is captured at TRACE level.
//! None of the values may appear in the logs, in any Event, in any object's status or
//! conditions, or in the metrics.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace as KubeNamespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use scaleway_emulator::{Emulator, EmulatorConfig, Faults};
use scaleway_serverless_operator::controller::clients::ClientPool;
use scaleway_serverless_operator::controller::{self, Context, OperatorConfig, Scope};
use scaleway_serverless_operator::crd::{
    self, ServerlessContainer, ServerlessNamespace, ServerlessTrigger,
};
use scaleway_serverless_operator::sandbox::apiserver::ApiServer;
use scaleway_serverless_operator::scaleway::{ClientConfig, SecretString};

const PROJECT: &str = "11111111-2222-4333-8444-555555555555";
const NS: &str = "default";
/// The operator's own key, the tenant's key, a secret env value (before and after
/// rotation) and an SQS secret key.
const SECRETS: [&str; 5] = [
    "operator-key-4be1d0c2",
    "tenant-key-9f3a11e7",
    "db-password-77c1a0",
    "db-password-rotated-3d92",
    "sqs-secret-5e2b6f",
];

/// A `Write` into a shared buffer, for the tracing subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

fn object<K: serde::de::DeserializeOwned>(yaml: &str) -> K {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("fixture: {e}"))
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ready<K>(api: &Api<K>, name: &str) -> bool
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let Ok(found) = api.get(name).await else {
        return false;
    };
    let value = serde_json::to_value(&found).unwrap_or_default();
    value
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_logs_events_status_or_metrics() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    scaleway_serverless_operator::install_crypto_provider();

    let emulator = Emulator::start(EmulatorConfig {
        transition_delay: Duration::from_millis(100),
        delete_delay: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("emulator: {e}"));
    let server = ApiServer::new();
    for definition in crd::all_crds() {
        server.register_crd(&definition);
    }
    let apiserver = server
        .start()
        .await
        .unwrap_or_else(|e| panic!("apiserver: {e}"));
    let kube = apiserver.client().unwrap_or_else(|e| panic!("kube: {e}"));
    let namespaces: Api<KubeNamespace> = Api::all(kube.clone());
    let _ = namespaces
        .create(
            &PostParams::default(),
            &object(&format!("metadata:\n  name: {NS}\n")),
        )
        .await;

    let mut client_config =
        ClientConfig::new(SecretString::new(SECRETS[0])).with_api_url(emulator.url());
    client_config.retry.base_delay = Duration::from_millis(20);
    let config = OperatorConfig {
        resync_period: Duration::from_secs(2),
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(300),
        retry_max: Duration::from_secs(1),
        ..OperatorConfig::default()
    };
    let clients = ClientPool::new(
        client_config,
        Some(PROJECT.into()),
        true,
        config.digest_key.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ctx = Arc::new(Context::new(kube.clone(), clients, config));
    let operator_ctx = ctx.clone();
    let operator = tokio::spawn(async move {
        let _ = controller::run(operator_ctx, Scope::Cluster).await;
    });

    let secrets: Api<Secret> = Api::namespaced(kube.clone(), NS);
    for (name, key, value) in [
        ("tenant", "SCW_SECRET_KEY", SECRETS[1]),
        ("app", "password", SECRETS[2]),
        ("queue", "secret", SECRETS[4]),
    ] {
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}, "stringData": {key: value, "SCW_DEFAULT_PROJECT_ID": PROJECT}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap_or_else(|e| panic!("secret {name}: {e}"));
    }
    let sns: Api<ServerlessNamespace> = Api::namespaced(kube.clone(), NS);
    let slc: Api<ServerlessContainer> = Api::namespaced(kube.clone(), NS);
    let slt: Api<ServerlessTrigger> = Api::namespaced(kube.clone(), NS);
    let pp = PostParams::default();
    sns.create(&pp, &object("metadata:\n  name: team\nspec:\n  credentialsSecretRef:\n    name: tenant\n  secretEnvironmentVariables:\n    - name: SHARED\n      secretKeyRef:\n        name: app\n        key: password\n"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    slc.create(&pp, &object("metadata:\n  name: web\nspec:\n  namespaceRef:\n    name: team\n  image: rg.fr-par.scw.cloud/team/web:1\n  secretEnvironmentVariables:\n    - name: DB_PASSWORD\n      secretKeyRef:\n        name: app\n        key: password\n"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A failure whose message names the Secret: the value must still not appear.
    slc.create(&pp, &object("metadata:\n  name: broken\nspec:\n  namespaceRef:\n    name: team\n  image: rg.fr-par.scw.cloud/team/web:1\n  secretEnvironmentVariables:\n    - name: MISSING\n      secretKeyRef:\n        name: app\n        key: no-such-key\n"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    slt.create(&pp, &object("metadata:\n  name: jobs\nspec:\n  containerRef:\n    name: web\n  sqs:\n    region: fr-par\n    endpoint: https://sqs.mnq.fr-par.scaleway.com\n    queueUrl: https://sqs.mnq.fr-par.scaleway.com/project-x/jobs\n    accessKeyId: AKIAEXAMPLE\n    secretAccessKeyRef:\n      name: queue\n      key: secret\n"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    until("the namespace Ready", || ready(&sns, "team")).await;
    until("the container Ready", || ready(&slc, "web")).await;
    until("the trigger Ready", || ready(&slt, "jobs")).await;

    // Scaleway faults while the secret is rotated: errors and retries carry no value.
    emulator.emulator.set_faults(Faults {
        server_error_rate: 0.5,
        rate_limit_rate: 0.2,
        retry_after_seconds: 1,
        max_faults: Some(20),
        ..Faults::default()
    });
    let rotate = serde_json::json!({"stringData": {"password": SECRETS[3]}});
    secrets
        .patch("app", &PatchParams::default(), &Patch::Merge(&rotate))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let calls = || emulator.emulator.request_counts();
    until("the rotated secret sent to Scaleway", || async {
        calls()
            .get("PATCH /containers/v1/regions/{region}/containers/{container_id}")
            .copied()
            .unwrap_or(0)
            > 0
    })
    .await;
    emulator.emulator.set_faults(Faults::default());
    until("the container Ready again", || ready(&slc, "web")).await;

    // Everything the operator wrote, while the objects still exist.
    let mut written = String::new();
    for value in [
        serde_json::to_string(
            &sns.list(&Default::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default(),
        ),
        serde_json::to_string(
            &slc.list(&Default::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default(),
        ),
        serde_json::to_string(
            &slt.list(&Default::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default(),
        ),
    ] {
        written.push_str(&value.unwrap_or_default());
    }
    assert!(
        written.contains("secretsDigest"),
        "statuses captured: {written}"
    );
    assert!(
        written.contains("SecretNotFound") || written.contains("no-such-key"),
        "the failure is in status"
    );

    for name in ["jobs"] {
        slt.delete(name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for name in ["web", "broken"] {
        slc.delete(name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sns.delete("team", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    until("everything deleted", || async {
        sns.list(&Default::default())
            .await
            .is_ok_and(|l| l.items.is_empty())
    })
    .await;

    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(kube.clone(), NS);
    let events = serde_json::to_string(
        &events
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert!(events.contains("Created"), "events captured: {events}");
    let metrics = ctx.metrics.encode();
    assert!(metrics.contains("reconciles_total"), "metrics captured");
    operator.abort();
    let logs = logs.text();
    assert!(logs.contains("TRACE"), "trace-level logs captured");
    assert!(
        logs.len() > 10_000,
        "a whole life cycle of logs: {} bytes",
        logs.len()
    );

    // Sanity: the values are really there, where they belong (the Kubernetes Secret).
    let stored = secrets.get("app").await.map(|s| s.data.unwrap_or_default());
    let stored = stored.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        stored.get("password").map(|b| b.0.as_slice()),
        Some(SECRETS[3].as_bytes())
    );

    for secret in SECRETS {
        for (place, text) in [
            ("logs", &logs),
            ("events", &events),
            ("status", &written),
            ("metrics", &metrics),
        ] {
            if let Some(at) = text.find(secret) {
                let from = at.saturating_sub(300);
                let context = &text[from..(at + secret.len() + 100).min(text.len())];
                panic!("secret {secret:?} leaked into {place}: ...{context}...");
            }
        }
    }
}
