//! Whole flows through the real controllers, against the Scaleway emulator and the in-memory
//! Kubernetes API over loopback: create, update, redeploy, drift, out-of-band delete,
//! deletion with both policies, missing references, bad input, remote errors, adoption and
//! Secret changes. Every wait has a deadline; the remote side is checked for leaks and
//! duplicates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace as KubeNamespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use scaleway_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use scaleway_serverless_operator::controller::clients::ClientPool;
use scaleway_serverless_operator::controller::{self, Context, OperatorConfig, Scope};
use scaleway_serverless_operator::crd::{
    self, ServerlessContainer, ServerlessNamespace, ServerlessTrigger,
};
use scaleway_serverless_operator::sandbox::apiserver::{ApiServer, RunningApiServer};
use scaleway_serverless_operator::scaleway::types::{
    ContainerFilter, ContainerSettings, CreateContainerRequest, Status, UpdateContainerRequest,
};
use scaleway_serverless_operator::scaleway::{Client, ClientConfig, SecretString};

const PROJECT: &str = "11111111-2222-4333-8444-555555555555";
const TOKEN: &str = "flow-test-secret-key";
const NS: &str = "default";
const DEADLINE: Duration = Duration::from_secs(30);

struct Harness {
    emulator: RunningEmulator,
    _apiserver: RunningApiServer,
    kube: kube::Client,
    scaleway: Client,
    ctx: Arc<Context>,
    operator: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.operator.abort();
    }
}

async fn harness() -> Harness {
    harness_with(Duration::from_secs(60)).await
}

async fn harness_with(resync: Duration) -> Harness {
    scaleway_serverless_operator::install_crypto_provider();
    let emulator = Emulator::start(EmulatorConfig {
        transition_delay: Duration::from_millis(150),
        delete_delay: Duration::from_millis(150),
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
    let kube = apiserver
        .client()
        .unwrap_or_else(|e| panic!("kube client: {e}"));
    let namespaces: Api<KubeNamespace> = Api::all(kube.clone());
    let namespace: KubeNamespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": NS}})).unwrap_or_default();
    let _ = namespaces.create(&PostParams::default(), &namespace).await;

    let mut client_config =
        ClientConfig::new(SecretString::new(TOKEN)).with_api_url(emulator.url());
    client_config.retry.base_delay = Duration::from_millis(20);
    let scaleway = Client::new(client_config.clone()).unwrap_or_else(|e| panic!("{e}"));
    let config = OperatorConfig {
        resync_period: resync,
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(400),
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
        if let Err(error) = controller::run(operator_ctx, Scope::Cluster).await {
            panic!("controllers stopped: {error}");
        }
    });
    Harness {
        emulator,
        _apiserver: apiserver,
        kube,
        scaleway,
        ctx,
        operator,
    }
}

impl Harness {
    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.kube.clone(), NS)
    }

    async fn apply<K>(&self, yaml: &str) -> K
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        let object: K = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("fixture: {e}"));
        self.api::<K>()
            .create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("create: {e}"))
    }

    async fn secret(&self, name: &str, key: &str, value: &str) {
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}, "stringData": {key: value}
        }))
        .unwrap_or_default();
        let api: Api<Secret> = self.api();
        if api.get_opt(name).await.ok().flatten().is_some() {
            let patch = serde_json::json!({"data": {key: k8s_openapi::ByteString(value.as_bytes().to_vec())}});
            api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap_or_else(|e| panic!("patch secret: {e}"));
        } else {
            api.create(&PostParams::default(), &secret)
                .await
                .unwrap_or_else(|e| panic!("create secret: {e}"));
        }
    }

    /// Waits until `check` returns Some, failing with the last observation after the deadline.
    async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match check().await {
                Ok(value) => return value,
                Err(last) if Instant::now() > deadline => {
                    panic!("timed out waiting for {what}; last seen: {last}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn condition<K>(&self, name: &str, type_: &str, status: &str) -> K
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        let api = self.api::<K>();
        self.until(&format!("{name} {type_}={status}"), || async {
            let object = api.get(name).await.map_err(|e| e.to_string())?;
            let value = serde_json::to_value(&object).unwrap_or_default();
            let conditions = value
                .pointer("/status/conditions")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default();
            let matched = conditions
                .iter()
                .any(|c| c["type"] == type_ && c["status"] == status);
            if matched {
                Ok(object)
            } else {
                Err(serde_json::to_string(&value["status"]).unwrap_or_default())
            }
        })
        .await
    }

    async fn gone<K>(&self, name: &str)
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned,
    {
        let api = self.api::<K>();
        self.until(&format!("{name} to be gone"), || async {
            match api.get_opt(name).await.map_err(|e| e.to_string())? {
                None => Ok(()),
                Some(object) => Err(format!("still there: {:?}", object.meta().finalizers)),
            }
        })
        .await
    }

    fn remote_count(&self, kind: &str) -> usize {
        self.emulator.emulator.count_resources(kind)
    }

    fn calls(&self, route: &str) -> u64 {
        self.emulator
            .emulator
            .request_counts()
            .get(route)
            .copied()
            .unwrap_or(0)
    }

    async fn events(&self) -> Vec<String> {
        let api: Api<k8s_openapi::api::events::v1::Event> = self.api();
        api.list(&Default::default())
            .await
            .map(|l| {
                l.items
                    .into_iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e.reason.unwrap_or_default(),
                            e.note.unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

const NAMESPACE_YAML: &str = "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessNamespace\nmetadata:\n  name: demo\nspec:\n  environmentVariables:\n    LOG_LEVEL: info\n";

fn container_yaml(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessContainer\nmetadata:\n  name: {name}\nspec:\n  namespaceRef:\n    name: demo\n  image: rg.fr-par.scw.cloud/demo/{name}:1\n  memory: 512Mi\n  cpu: 500m\n  maxScale: 3\n{extra}"
    )
}

const POST_CONTAINERS: &str = "POST /containers/v1/regions/{region}/containers";
const PATCH_CONTAINER: &str = "PATCH /containers/v1/regions/{region}/containers/{container_id}";
const REDEPLOY: &str = "POST /containers/v1/regions/{region}/containers/{container_id}/redeploy";

fn status_of(
    container: &ServerlessContainer,
) -> scaleway_serverless_operator::crd::ServerlessContainerStatus {
    container.status.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_redeploy_and_delete_end_to_end() {
    let h = harness().await;
    h.secret("web-secrets", "password", "first-password").await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml(
        "web",
        "  secretEnvironmentVariables:\n    - name: DB_PASSWORD\n      secretKeyRef:\n        name: web-secrets\n        key: password\n",
    ))
    .await;
    h.apply::<ServerlessTrigger>("apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessTrigger\nmetadata:\n  name: nightly\nspec:\n  containerRef:\n    name: web\n  cron:\n    schedule: \"0 3 * * *\"\n    timezone: Europe/Paris\n").await;

    let namespace = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    let container = h
        .condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    let trigger = h
        .condition::<ServerlessTrigger>("nightly", "Ready", "True")
        .await;
    let status = status_of(&container);
    assert!(
        namespace
            .status
            .as_ref()
            .and_then(|s| s.id.clone())
            .is_some()
    );
    assert!(
        status
            .public_endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("https://")),
        "{status:?}"
    );
    assert_eq!(status.remote_status.as_deref(), Some("ready"));
    assert_eq!(
        trigger
            .status
            .as_ref()
            .and_then(|s| s.source_type.clone())
            .as_deref(),
        Some("cron")
    );
    assert_eq!(
        (
            h.remote_count("namespaces"),
            h.remote_count("containers"),
            h.remote_count("triggers")
        ),
        (1, 1, 1)
    );
    let region = h.scaleway.region("fr-par");
    let remote = region
        .get_container(status.id.as_deref().unwrap_or_default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(remote.memory_limit_bytes, 512 * 1024 * 1024);
    assert_eq!(remote.mvcpu_limit, 500);
    assert_eq!(remote.max_scale, 3);
    assert!(
        remote
            .secret_environment_variables
            .contains_key("DB_PASSWORD")
    );
    assert_eq!(h.calls(POST_CONTAINERS), 1, "exactly one create");

    // Change the image: one PATCH, no redeploy.
    let patch = serde_json::json!({"spec": {"image": "rg.fr-par.scw.cloud/demo/web:2"}});
    h.api::<ServerlessContainer>()
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("the new image at Scaleway", || async {
        let remote = region
            .get_container(status.id.as_deref().unwrap_or_default())
            .await
            .map_err(|e| e.to_string())?;
        if remote.image.ends_with(":2") && remote.status == Status::Ready {
            Ok(())
        } else {
            Err(format!("{} {}", remote.image, remote.status))
        }
    })
    .await;
    h.condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    assert_eq!(
        h.calls(PATCH_CONTAINER),
        1,
        "{:?}",
        h.emulator.emulator.request_counts()
    );
    assert_eq!(h.calls(REDEPLOY), 0);

    // Ask for a redeploy: exactly one redeploy call.
    let patch = serde_json::json!({"spec": {"redeployRequestedAt": "2026-11-22T10:00:00Z"}});
    h.api::<ServerlessContainer>()
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("one redeploy", || async {
        if h.calls(REDEPLOY) == 1 {
            Ok(())
        } else {
            Err(format!("{}", h.calls(REDEPLOY)))
        }
    })
    .await;
    h.condition::<ServerlessContainer>("web", "Ready", "True")
        .await;

    // A new Secret value is pushed.
    let before = h.calls(PATCH_CONTAINER);
    h.secret("web-secrets", "password", "second-password").await;
    h.until("the new secret value sent", || async {
        if h.calls(PATCH_CONTAINER) > before {
            Ok(())
        } else {
            Err("no PATCH yet".into())
        }
    })
    .await;
    assert_eq!(h.calls(REDEPLOY), 1, "no second redeploy");

    let events = h.events().await.join("\n");
    for reason in ["Created", "Updated", "Redeployed"] {
        assert!(
            events.contains(reason),
            "missing {reason} event in:\n{events}"
        );
    }
    for secret in ["first-password", "second-password", TOKEN] {
        assert!(!events.contains(secret));
        let stored = serde_json::to_string(&h.api::<ServerlessContainer>().get("web").await.ok())
            .unwrap_or_default();
        assert!(!stored.contains(secret), "secret in the object or status");
    }

    // Delete everything at once: the trigger, then the container, then the namespace go.
    let delete = DeleteParams::default();
    let _ = h.api::<ServerlessNamespace>().delete("demo", &delete).await;
    let _ = h.api::<ServerlessContainer>().delete("web", &delete).await;
    let _ = h
        .api::<ServerlessTrigger>()
        .delete("nightly", &delete)
        .await;
    h.gone::<ServerlessTrigger>("nightly").await;
    h.gone::<ServerlessContainer>("web").await;
    h.gone::<ServerlessNamespace>("demo").await;
    h.until("no remote resources left", || async {
        let counts = (
            h.remote_count("namespaces"),
            h.remote_count("containers"),
            h.remote_count("triggers"),
        );
        if counts == (0, 0, 0) {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_and_out_of_band_deletion_are_corrected() {
    let h = harness_with(Duration::from_millis(500)).await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("api", ""))
        .await;
    let container = h
        .condition::<ServerlessContainer>("api", "Ready", "True")
        .await;
    let id = status_of(&container).id.unwrap_or_default();
    let region = h.scaleway.region("fr-par");

    let drift = UpdateContainerRequest {
        settings: ContainerSettings {
            max_scale: Some(9),
            ..Default::default()
        },
        ..Default::default()
    };
    region
        .update_container(&id, &drift)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("max_scale restored to 3", || async {
        let remote = region.get_container(&id).await.map_err(|e| e.to_string())?;
        if remote.max_scale == 3 {
            Ok(())
        } else {
            Err(format!("{}", remote.max_scale))
        }
    })
    .await;

    h.until(
        "the container ready before the out-of-band delete",
        || async {
            let remote = region.get_container(&id).await.map_err(|e| e.to_string())?;
            if remote.status == Status::Ready {
                Ok(())
            } else {
                Err(remote.status.to_string())
            }
        },
    )
    .await;
    region
        .delete_container(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let recreated = h
        .until("a new remote container", || async {
            let object = h
                .api::<ServerlessContainer>()
                .get("api")
                .await
                .map_err(|e| e.to_string())?;
            let status = status_of(&object);
            let ready = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            match status.id {
                Some(new) if new != id && ready => Ok(new),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    assert_ne!(recreated, id);
    assert_eq!(h.remote_count("containers"), 1, "no duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_policy_keeps_the_remote_container() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("keep", "  deletionPolicy: Orphan\n"))
        .await;
    h.condition::<ServerlessContainer>("keep", "Ready", "True")
        .await;
    h.api::<ServerlessContainer>()
        .delete("keep", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessContainer>("keep").await;
    assert_eq!(h.remote_count("containers"), 1);
    assert_eq!(
        h.calls("DELETE /containers/v1/regions/{region}/containers/{container_id}"),
        0
    );
    assert!(h.events().await.join("\n").contains("Orphaned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_reference_waits_then_converges() {
    let h = harness().await;
    h.apply::<ServerlessContainer>(&container_yaml("early", ""))
        .await;
    let waiting = h
        .condition::<ServerlessContainer>("early", "Ready", "False")
        .await;
    let ready = status_of(&waiting)
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready");
    assert_eq!(
        ready.as_ref().map(|c| c.reason.as_str()),
        Some("DependencyNotReady"),
        "{ready:?}"
    );
    assert!(ready.is_some_and(|c| c.message.contains("demo")));
    assert_eq!(h.calls(POST_CONTAINERS), 0);
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.condition::<ServerlessContainer>("early", "Ready", "True")
        .await;
    assert_eq!(h.calls(POST_CONTAINERS), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_stalls_without_calling_the_api_in_a_loop() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    let mut bad: ServerlessContainer =
        serde_saphyr::from_str(&container_yaml("bad", "")).unwrap_or_else(|e| panic!("{e}"));
    bad.spec.memory = Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
        "lots".into(),
    ));
    h.api::<ServerlessContainer>()
        .create(&PostParams::default(), &bad)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stalled = h
        .condition::<ServerlessContainer>("bad", "Stalled", "True")
        .await;
    let message = status_of(&stalled)
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains("memory"), "{message}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.calls(POST_CONTAINERS),
        0,
        "an invalid spec never reaches Scaleway"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_error_is_reported_with_scalewarys_message() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    let yaml = container_yaml("broken", "").replace("demo/broken:1", "demo/unpullable:1");
    h.apply::<ServerlessContainer>(&yaml).await;
    let failed = h
        .condition::<ServerlessContainer>("broken", "Stalled", "True")
        .await;
    let status = status_of(&failed);
    assert_eq!(status.remote_status.as_deref(), Some("error"));
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .cloned();
    assert!(
        ready
            .as_ref()
            .is_some_and(|c| c.status == "False" && c.reason == "RemoteError"),
        "{ready:?}"
    );
    assert!(status.error_message.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_remote_container_is_adopted_not_duplicated() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    let namespace = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    let namespace_id = namespace.status.and_then(|s| s.id).unwrap_or_default();
    // As if the operator crashed after the create and before writing status.id.
    let existing = h
        .scaleway
        .region("fr-par")
        .create_container(&CreateContainerRequest {
            namespace_id: namespace_id.clone(),
            name: "adopted".into(),
            image: "x:1".into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessContainer>(&container_yaml("adopted", ""))
        .await;
    let adopted = h
        .condition::<ServerlessContainer>("adopted", "Ready", "True")
        .await;
    assert_eq!(
        status_of(&adopted).id.as_deref(),
        Some(existing.id.as_str())
    );
    let all = h
        .scaleway
        .region("fr-par")
        .list_all_containers(&ContainerFilter {
            namespace_id: Some(namespace_id),
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    assert_eq!(all.len(), 1, "no duplicate");
    assert_eq!(
        all[0].image, "rg.fr-par.scw.cloud/demo/adopted:1",
        "adopted and brought to spec"
    );
    assert!(h.events().await.join("\n").contains("Adopted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_costs_no_call_per_object() {
    let h = harness_with(Duration::from_secs(3600)).await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    for index in 0..5 {
        h.apply::<ServerlessContainer>(&container_yaml(&format!("c{index}"), ""))
            .await;
    }
    for index in 0..5 {
        h.condition::<ServerlessContainer>(&format!("c{index}"), "Ready", "True")
            .await;
    }
    // The Ready gauge reads the controller's own store, which may trail the API by an event.
    let ready_gauge =
        "scaleway_serverless_operator_objects{kind=\"ServerlessContainer\",ready=\"True\"} 5";
    h.until("the Ready gauge to count 5 containers", || async {
        let metrics = h.ctx.metrics.encode();
        if metrics.contains(ready_gauge) {
            Ok(())
        } else {
            Err(metrics)
        }
    })
    .await;
    let metrics = h.ctx.metrics.encode();
    for expected in [
        "scaleway_serverless_operator_reconciles_total{kind=\"ServerlessContainer\",result=\"success\"}",
        "scaleway_serverless_operator_scaleway_requests_total{route=\"POST /containers/v1/regions/{region}/containers\",code=\"200\"} 5",
        "scaleway_serverless_operator_objects{kind=\"ServerlessContainer\",ready=\"True\"} 5",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in:\n{metrics}"
        );
    }
    let settled = h.emulator.emulator.total_requests();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        h.emulator.emulator.total_requests(),
        settled,
        "no calls once everything is Ready: {:?}",
        h.emulator.emulator.request_counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reapplying_right_after_a_delete_creates_new_remote_objects() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("again", ""))
        .await;
    let first = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    h.condition::<ServerlessContainer>("again", "Ready", "True")
        .await;
    let first_id = first.status.and_then(|s| s.id).unwrap_or_default();
    let delete = DeleteParams::default();
    let _ = h
        .api::<ServerlessContainer>()
        .delete("again", &delete)
        .await;
    let _ = h.api::<ServerlessNamespace>().delete("demo", &delete).await;
    h.gone::<ServerlessContainer>("again").await;
    h.gone::<ServerlessNamespace>("demo").await;

    // Well within the resync period (60 s): no snapshot may still show the deleted ones.
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("again", ""))
        .await;
    let second = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    h.condition::<ServerlessContainer>("again", "Ready", "True")
        .await;
    assert_ne!(
        second.status.and_then(|s| s.id),
        Some(first_id),
        "a deleted namespace was adopted"
    );
    assert_eq!(
        (h.remote_count("namespaces"), h.remote_count("containers")),
        (1, 1)
    );
}
