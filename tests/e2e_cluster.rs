//! End to end against a real cluster: runs only when `KUBECONFIG` points to one, and says
//! SKIPPED otherwise. The controllers run in this process, watching a fresh random namespace;
//! Scaleway is the emulator on loopback. The CRDs are applied server-side first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace as KubeNamespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use scaleway_emulator::{Emulator, EmulatorConfig};
use scaleway_serverless_operator::controller::clients::ClientPool;
use scaleway_serverless_operator::controller::{self, Context, OperatorConfig, Scope};
use scaleway_serverless_operator::crd::{self, ServerlessContainer, ServerlessNamespace};
use scaleway_serverless_operator::scaleway::{ClientConfig, SecretString};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_become_ready_and_are_deleted_on_a_real_cluster() {
    if std::env::var_os("KUBECONFIG").is_none() {
        println!("SKIPPED: e2e_cluster needs KUBECONFIG pointing to a real cluster");
        return;
    }
    scaleway_serverless_operator::install_crypto_provider();
    let kube = kube::Client::try_default()
        .await
        .unwrap_or_else(|e| panic!("KUBECONFIG is set but unusable: {e}"));
    let crds: Api<CustomResourceDefinition> = Api::all(kube.clone());
    for definition in crd::all_crds() {
        let name = definition.name_any();
        crds.patch(
            &name,
            &PatchParams::apply("scaleway-serverless-operator-e2e").force(),
            &Patch::Apply(&definition),
        )
        .await
        .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
    }
    let test_namespace = format!("sso-e2e-{}", fastrand::u32(..));
    let namespaces: Api<KubeNamespace> = Api::all(kube.clone());
    let object: KubeNamespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": test_namespace}}))
            .unwrap_or_default();
    namespaces
        .create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|e| panic!("create namespace: {e}"));

    let emulator = Emulator::start(EmulatorConfig {
        transition_delay: Duration::from_millis(300),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let config = OperatorConfig {
        poll_initial: Duration::from_millis(100),
        ..OperatorConfig::default()
    };
    let clients = ClientPool::new(
        ClientConfig::new(SecretString::new("e2e")).with_api_url(emulator.url()),
        Some("11111111-2222-4333-8444-555555555555".into()),
        true,
        config.digest_key.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ctx = Arc::new(Context::new(kube.clone(), clients, config));
    let operator = tokio::spawn(controller::run(
        ctx,
        Scope::Namespace(test_namespace.clone()),
    ));

    let sns: Api<ServerlessNamespace> = Api::namespaced(kube.clone(), &test_namespace);
    let slc: Api<ServerlessContainer> = Api::namespaced(kube.clone(), &test_namespace);
    let namespace: ServerlessNamespace =
        serde_saphyr::from_str(include_str!("../examples/01-namespace.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
    sns.create(&PostParams::default(), &namespace)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let container: ServerlessContainer = serde_saphyr::from_str(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessContainer\nmetadata:\n  name: web\nspec:\n  namespaceRef:\n    name: demo\n  image: nginx:1\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    slc.create(&PostParams::default(), &container)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = slc.get("web").await.unwrap_or_else(|e| panic!("{e}"));
        let ready = current.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "web not Ready: {:?}",
            current.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = slc.delete("web", &DeleteParams::default()).await;
    let _ = sns.delete("demo", &DeleteParams::default()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sns.get_opt("demo").await.ok().flatten().is_some() {
        assert!(Instant::now() < deadline, "demo not deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(emulator.emulator.count_resources("containers"), 0);
    operator.abort();
    let _ = namespaces
        .delete(&test_namespace, &DeleteParams::default())
        .await;
}
