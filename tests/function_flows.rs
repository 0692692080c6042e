//! ServerlessNamespace `type: Functions` and ServerlessFunction through the real controllers,
//! against the Scaleway emulator's Functions v1beta1 API and the in-memory Kubernetes API:
//! code from a ConfigMap uploaded through the presigned URL and deployed, redeployed only
//! when its digest changes; settings as one PATCH; code from a URL with a sha256 pin; a
//! failed build reported without a retry loop; kinds that do not fit the namespace type; and
//! deletion leaving nothing behind.

mod support;

use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use scaleway_serverless_operator::crd::{
    ServerlessContainer, ServerlessFunction, ServerlessNamespace,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use support::*;

const POST_FUNCTIONS: &str = "POST /functions/v1beta1/regions/{region}/functions";
const PATCH_FUNCTION: &str = "PATCH /functions/v1beta1/regions/{region}/functions/{function_id}";
const UPLOAD_URL: &str =
    "GET /functions/v1beta1/regions/{region}/functions/{function_id}/upload-url";
const PUT_ARCHIVE: &str = "PUT /__storage/functions/{region}/{function_id}/archive.zip";
const DEPLOY: &str = "POST /functions/v1beta1/regions/{region}/functions/{function_id}/deploy";

/// An empty zip archive, and the same with a one-byte archive comment (a different digest).
const ZIP_V1: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
const ZIP_V2: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\0v";

const FUNCTIONS_NAMESPACE: &str = "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessNamespace\nmetadata:\n  name: fns\nspec:\n  type: Functions\n  environmentVariables:\n    LOG_LEVEL: info\n";

fn function_yaml(name: &str, code: &str, extra: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessFunction\nmetadata:\n  name: {name}\nspec:\n  namespaceRef:\n    name: fns\n  runtime: python312\n  handler: handler.handle\n  memory: 512Mi\n  maxScale: 3\n  code:\n{code}{extra}"
    )
}

fn from_config_map(name: &str) -> String {
    format!("    configMapKeyRef:\n      name: {name}\n      key: code.zip\n")
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn put_code(h: &Harness, name: &str, archive: &[u8]) {
    let api: Api<ConfigMap> = h.api();
    let data = json!({"code.zip": ByteString(archive.to_vec())});
    if api.get_opt(name).await.ok().flatten().is_some() {
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"binaryData": data})),
        )
        .await
        .unwrap_or_else(|e| panic!("patch configmap: {e}"));
    } else {
        let map: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name}, "binaryData": data}))
                .unwrap_or_else(|e| panic!("{e}"));
        api.create(&PostParams::default(), &map)
            .await
            .unwrap_or_else(|e| panic!("create configmap: {e}"));
    }
}

fn remote_function(h: &Harness, id: &str) -> serde_json::Value {
    let state = h.emulator.emulator.state();
    state["functions_api"]["functions"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["id"] == id).cloned())
        .unwrap_or_default()
}

/// Waits until the status of ServerlessFunction `name` satisfies `wanted`.
async fn function_where(
    h: &Harness,
    name: &str,
    what: &str,
    wanted: impl Fn(&scaleway_serverless_operator::crd::ServerlessFunctionStatus) -> bool,
) -> ServerlessFunction {
    let wanted = &wanted;
    h.until(what, || async move {
        let f = h
            .api::<ServerlessFunction>()
            .get(name)
            .await
            .map_err(|e| e.to_string())?;
        if wanted(&status_of_function(&f)) {
            Ok(f)
        } else {
            Err(format!("{:?}", f.status))
        }
    })
    .await
}

fn ready_message(status: &scaleway_serverless_operator::crd::ServerlessFunctionStatus) -> String {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.message.to_string())
        .unwrap_or_default()
}

fn status_of_function(
    f: &ServerlessFunction,
) -> scaleway_serverless_operator::crd::ServerlessFunctionStatus {
    f.status.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_is_uploaded_deployed_redeployed_on_new_code_and_deleted() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(FUNCTIONS_NAMESPACE).await;
    put_code(&h, "hello-code", ZIP_V1).await;
    h.apply::<ServerlessFunction>(&function_yaml("hello", &from_config_map("hello-code"), ""))
        .await;

    let function = h
        .condition::<ServerlessFunction>("hello", "Ready", "True")
        .await;
    let status = status_of_function(&function);
    let id = status.id.clone().unwrap_or_default();
    assert_eq!(status.remote_status.as_deref(), Some("ready"));
    assert_eq!(status.code_sha256.as_deref(), Some(sha256(ZIP_V1).as_str()));
    assert_eq!(
        status.code_source.as_deref(),
        Some("ConfigMap hello-code/code.zip")
    );
    let endpoint = status.public_endpoint.clone().unwrap_or_default();
    assert!(
        endpoint.starts_with("https://fns") && endpoint.contains("-hello.functions.fnc.fr-par"),
        "{endpoint}"
    );
    let namespace = h
        .condition::<ServerlessNamespace>("fns", "Ready", "True")
        .await;
    assert_eq!(
        status.namespace_id,
        namespace.status.and_then(|s| s.id),
        "the function is in the functions namespace"
    );
    let remote = remote_function(&h, &id);
    assert_eq!(remote["deployed_archive_sha256"], sha256(ZIP_V1));
    assert_eq!(remote["runtime"], "python312");
    assert_eq!(remote["memory_limit"], 512);
    assert_eq!(remote["max_scale"], 3);
    assert!(
        remote["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t
                .as_str()
                .is_some_and(|t| t.starts_with("serverless.scaleway.com/owner-uid=")))),
        "owner tag: {remote}"
    );
    assert_eq!(h.calls(POST_FUNCTIONS), 1, "exactly one create");
    assert_eq!(h.calls(UPLOAD_URL), 1);
    assert_eq!(h.calls(PUT_ARCHIVE), 1);
    assert_eq!(h.calls(DEPLOY), 1);
    assert_eq!(h.remote_count("function_namespaces"), 1);
    assert_eq!(
        h.remote_count("namespaces"),
        0,
        "nothing in the Containers API"
    );

    // Settled: nothing more is sent.
    let calls = h.emulator.emulator.total_requests();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let writes = [
        POST_FUNCTIONS,
        PATCH_FUNCTION,
        UPLOAD_URL,
        PUT_ARCHIVE,
        DEPLOY,
    ]
    .iter()
    .map(|route| h.calls(route))
    .sum::<u64>();
    assert_eq!(writes, 4, "no write once settled");
    assert!(
        h.emulator.emulator.total_requests() - calls <= 2,
        "at most a resync's bulk list"
    );

    // New code in the ConfigMap: uploaded and deployed once, no new function.
    put_code(&h, "hello-code", ZIP_V2).await;
    h.until("the new code deployed", || async {
        let remote = remote_function(&h, &id);
        (remote["deployed_archive_sha256"] == sha256(ZIP_V2) && remote["status"] == "ready")
            .then_some(())
            .ok_or_else(|| remote.to_string())
    })
    .await;
    let function = function_where(&h, "hello", "the new digest in status", |status| {
        status.code_sha256.as_deref() == Some(sha256(ZIP_V2).as_str())
    })
    .await;
    assert_eq!(h.calls(DEPLOY), 2);
    assert_eq!(h.calls(PUT_ARCHIVE), 2);
    assert_eq!(h.calls(POST_FUNCTIONS), 1);
    assert_eq!(
        status_of_function(&function).id.as_deref(),
        Some(id.as_str())
    );

    // A settings change is one PATCH that redeploys; the code is not sent again.
    h.condition::<ServerlessFunction>("hello", "Ready", "True")
        .await;
    let patch = json!({"spec": {"maxScale": 5, "environmentVariables": {"MODE": "fast"}}});
    h.api::<ServerlessFunction>()
        .patch("hello", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("the new settings at Scaleway", || async {
        let remote = remote_function(&h, &id);
        (remote["max_scale"] == 5
            && remote["environment_variables"]["MODE"] == "fast"
            && remote["status"] == "ready")
            .then_some(())
            .ok_or_else(|| remote.to_string())
    })
    .await;
    h.condition::<ServerlessFunction>("hello", "Ready", "True")
        .await;
    assert_eq!(h.calls(PATCH_FUNCTION), 1, "one PATCH");
    assert_eq!(h.calls(PUT_ARCHIVE), 2, "no upload for settings");
    assert_eq!(h.calls(DEPLOY), 2, "the PATCH itself redeploys");

    // A new redeployRequestedAt uploads and deploys the same code once more.
    let patch = json!({"spec": {"redeployRequestedAt": "2026-11-23T12:00:00Z"}});
    h.api::<ServerlessFunction>()
        .patch("hello", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("the asked redeploy", || async {
        let (puts, deploys) = (h.calls(PUT_ARCHIVE), h.calls(DEPLOY));
        (puts == 3 && deploys == 3)
            .then_some(())
            .ok_or_else(|| format!("{puts} uploads, {deploys} deploys"))
    })
    .await;
    h.condition::<ServerlessFunction>("hello", "Ready", "True")
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.calls(DEPLOY), 3, "exactly once");

    // Deleting the function, then the namespace, leaves nothing.
    h.api::<ServerlessFunction>()
        .delete("hello", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessFunction>("hello").await;
    assert_eq!(h.remote_count("functions"), 0);
    h.api::<ServerlessNamespace>()
        .delete("fns", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessNamespace>("fns").await;
    assert_eq!(h.remote_count("function_namespaces"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_is_reported_once_and_fixed_by_new_code() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(FUNCTIONS_NAMESPACE).await;
    put_code(&h, "broken-code", b"this is not a zip").await;
    h.apply::<ServerlessFunction>(&function_yaml(
        "broken",
        &from_config_map("broken-code"),
        "",
    ))
    .await;
    let function = h
        .condition::<ServerlessFunction>("broken", "Ready", "False")
        .await;
    let function = if status_of_function(&function).remote_status.as_deref() == Some("error") {
        function
    } else {
        function_where(&h, "broken", "the build error in status", |status| {
            status.remote_status.as_deref() == Some("error")
        })
        .await
    };
    let message = status_of_function(&function)
        .error_message
        .unwrap_or_default();
    assert!(message.contains("not a zip"), "{message}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(h.calls(DEPLOY), 1, "no deploy loop on a failed build");

    put_code(&h, "broken-code", ZIP_V1).await;
    let fixed = h
        .condition::<ServerlessFunction>("broken", "Ready", "True")
        .await;
    assert_eq!(
        status_of_function(&fixed).code_sha256.as_deref(),
        Some(sha256(ZIP_V1).as_str())
    );
    assert_eq!(h.calls(DEPLOY), 2);
}

/// Serves `archive` at `http://127.0.0.1:PORT/code.zip` until the test ends.
async fn serve_archive(archive: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let app = axum::Router::new().route(
        "/code.zip",
        axum::routing::get(move || async move { archive }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/code.zip")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_from_a_url_is_checked_against_its_pin() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(FUNCTIONS_NAMESPACE).await;
    let url = serve_archive(ZIP_V1).await;
    let wrong_pin = "0".repeat(64);
    h.apply::<ServerlessFunction>(&function_yaml(
        "pinned",
        &format!("    url: {url}?sig=abc\n    sha256: \"{wrong_pin}\"\n"),
        "",
    ))
    .await;
    let function = function_where(&h, "pinned", "the pin mismatch reported", |status| {
        ready_message(status).contains("sha256")
    })
    .await;
    let ready = ready_message(&status_of_function(&function));
    assert!(
        !ready.contains("sig=abc"),
        "the query string is never shown: {ready}"
    );
    assert!(
        !h.events().await.iter().any(|e| e.contains("sig=abc")),
        "nor in events"
    );
    assert_eq!(h.calls(PUT_ARCHIVE), 0, "nothing uploaded");

    let patch = json!({"spec": {"code": {"sha256": sha256(ZIP_V1)}}});
    h.api::<ServerlessFunction>()
        .patch("pinned", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let function = h
        .condition::<ServerlessFunction>("pinned", "Ready", "True")
        .await;
    let status = status_of_function(&function);
    assert_eq!(status.code_sha256.as_deref(), Some(sha256(ZIP_V1).as_str()));
    assert_eq!(
        status.code_source.as_deref(),
        Some(url.as_str()),
        "shown without its query"
    );
    assert_eq!(h.calls(PUT_ARCHIVE), 1);
    // The same URL and pin are not downloaded or deployed again at each reconcile.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.calls(DEPLOY), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_that_do_not_fit_the_namespace_type_are_refused_clearly() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await; // demo: Containers
    h.apply::<ServerlessNamespace>(FUNCTIONS_NAMESPACE).await;
    put_code(&h, "code", ZIP_V1).await;
    h.apply::<ServerlessFunction>(
        &function_yaml("misplaced", &from_config_map("code"), "")
            .replace("name: fns", "name: demo"),
    )
    .await;
    h.apply::<ServerlessContainer>(&container_yaml("web", "").replace("name: demo", "name: fns"))
        .await;
    for (message, what) in [
        (
            condition_message::<ServerlessFunction>(&h, "misplaced").await,
            "function",
        ),
        (
            condition_message::<ServerlessContainer>(&h, "web").await,
            "container",
        ),
    ] {
        assert!(
            message.contains("type")
                && (message.contains("Functions") || message.contains("Containers")),
            "{what}: {message}"
        );
    }
    assert_eq!(h.calls(POST_FUNCTIONS), 0);
    assert_eq!(h.calls(POST_CONTAINERS), 0);
}

async fn condition_message<K>(h: &Harness, name: &str) -> String
where
    K: TestObject,
{
    let object = h.condition::<K>(name, "Ready", "False").await;
    let value = serde_json::to_value(&object).unwrap_or_default();
    value["status"]["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_from_a_secret_key_is_deployed() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(FUNCTIONS_NAMESPACE).await;
    let archive = std::str::from_utf8(ZIP_V1).unwrap_or_else(|e| panic!("{e}"));
    h.secret("private-code", "code.zip", archive).await;
    h.apply::<ServerlessFunction>(&function_yaml(
        "secretive",
        "    secretKeyRef:\n      name: private-code\n      key: code.zip\n",
        "",
    ))
    .await;
    let function = h
        .condition::<ServerlessFunction>("secretive", "Ready", "True")
        .await;
    let status = status_of_function(&function);
    assert_eq!(status.code_sha256.as_deref(), Some(sha256(ZIP_V1).as_str()));
    assert_eq!(
        status.code_source.as_deref(),
        Some("Secret private-code/code.zip")
    );
    assert_eq!(
        remote_function(&h, status.id.as_deref().unwrap_or_default())["deployed_archive_sha256"],
        sha256(ZIP_V1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_function_keeps_a_pending_change_unsynced_until_it_settles() {
    // A long resync: the snapshot keeps saying `ready` while Scaleway is busy.
    let h = harness_with(Duration::from_secs(3600)).await;
    h.apply::<ServerlessNamespace>(FUNCTIONS_NAMESPACE).await;
    put_code(&h, "hello-code", ZIP_V1).await;
    h.apply::<ServerlessFunction>(&function_yaml("hello", &from_config_map("hello-code"), ""))
        .await;
    let function = h
        .condition::<ServerlessFunction>("hello", "Ready", "True")
        .await;
    let id = status_of_function(&function).id.unwrap_or_default();
    // A deploy is under way: polls see the function still busy, the change is not applied,
    // and Synced must not say it was.
    let max_scale = || async { Ok(remote_function(&h, &id)["max_scale"].to_string()) };
    h.busy_change_lands_once_settled::<ServerlessFunction, _, _>(
        BusyChange {
            name: "hello",
            remote_id: &id,
            busy_status: "pending",
            spec_patch: json!({"maxScale": 5}),
            field: "max_scale",
            write_route: PATCH_FUNCTION,
            before: "3".into(),
            after: "5".into(),
        },
        max_scale,
    )
    .await;
}
