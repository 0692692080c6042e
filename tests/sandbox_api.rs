//! The sandbox API server driven over real loopback HTTP by kube's own client, watcher and
//! controller runtime.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event as RecorderEvent, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::watcher::{self, Event as WatcherEvent};
use kube::{Client, CustomResource, CustomResourceExt, Resource, ResourceExt};
use scaleway_serverless_operator::sandbox::apiserver::{
    ApiServer, ApiServerConfig, RunningApiServer, Tally,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A small custom resource with a status subresource.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "sandbox.test.dev",
    version = "v1",
    kind = "Gadget",
    namespaced,
    status = "GadgetStatus",
    shortname = "gd",
    category = "testing"
)]
#[serde(rename_all = "camelCase")]
pub struct GadgetSpec {
    /// How big.
    pub size: i32,
}

/// Status of a Gadget.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GadgetStatus {
    /// Set by the test controller.
    pub ready: bool,
    /// Generation the status was written for.
    pub observed_generation: Option<i64>,
}

const DEADLINE: Duration = Duration::from_secs(10);

async fn start_with(config: ApiServerConfig) -> (RunningApiServer, Client) {
    let running = ApiServer::with_config(config)
        .start()
        .await
        .expect("server starts");
    running
        .server
        .try_register_crd(&Gadget::crd())
        .expect("Gadget CRD registers");
    let client = running.client().expect("client builds");
    (running, client)
}

async fn start() -> (RunningApiServer, Client) {
    start_with(ApiServerConfig::default()).await
}

/// Polls `check` until it returns `Some`, failing the test after [`DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let poll = async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(DEADLINE, poll)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Next item of a stream, failing the test after [`DEADLINE`].
async fn next<S: futures::Stream + Unpin>(stream: &mut S, what: &str) -> S::Item {
    tokio::time::timeout(DEADLINE, stream.next())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("stream ended while waiting for {what}"))
}

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn config_map(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("key".to_owned(), "value".to_owned())])),
        ..Default::default()
    }
}

fn gadget(name: &str, size: i32) -> Gadget {
    Gadget::new(name, GadgetSpec { size })
}

#[tokio::test]
async fn config_map_crud_sets_server_fields() {
    let (running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);

    let created = api
        .create(&PostParams::default(), &config_map("cm1", &[]))
        .await
        .expect("create");
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert_eq!(meta.uid.as_ref().map(String::len), Some(36));
    assert!(meta.creation_timestamp.is_some());
    assert!(meta.generation.is_none(), "built-ins carry no generation");
    let rv1: u64 = meta
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .expect("numeric resourceVersion");

    let (code, reason) = api_error(
        api.create(&PostParams::default(), &config_map("cm1", &[]))
            .await,
    );
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));

    let mut changed = api.get("cm1").await.expect("get");
    changed.data = Some(BTreeMap::from([("key".to_owned(), "new".to_owned())]));
    let replaced = api
        .replace("cm1", &PostParams::default(), &changed)
        .await
        .expect("replace");
    let rv2: u64 = replaced
        .resource_version()
        .and_then(|rv| rv.parse().ok())
        .expect("numeric resourceVersion");
    assert!(rv2 > rv1);
    assert_eq!(replaced.metadata.uid, created.metadata.uid);
    assert_eq!(
        replaced
            .data
            .as_ref()
            .and_then(|d| d.get("key"))
            .map(String::as_str),
        Some("new")
    );

    let generated = api
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta {
                    generate_name: Some("gen-".to_owned()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("create with generateName");
    let generated_name = generated.name_any();
    assert!(
        generated_name.starts_with("gen-") && generated_name.len() == 9,
        "{generated_name}"
    );

    api.delete("cm1", &DeleteParams::default())
        .await
        .expect("delete");
    let (code, reason) = api_error(api.get("cm1").await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert!(
        running
            .server
            .object("", "configmaps", Some("default"), "cm1")
            .is_none()
    );
    // create, create (409), replace, create, delete
    assert_eq!(running.server.write_count(), 5);
}

#[tokio::test]
async fn secret_string_data_is_folded_into_data() {
    let (running, client) = start().await;
    let api: Api<Secret> = Api::default_namespaced(client);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("creds".to_owned()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([("token".to_owned(), "s3cr3t".to_owned())])),
        ..Default::default()
    };
    let created = api
        .create(&PostParams::default(), &secret)
        .await
        .expect("create");
    assert!(created.string_data.is_none());
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    let token = created
        .data
        .as_ref()
        .and_then(|d| d.get("token"))
        .map(|b| b.0.clone());
    assert_eq!(token.as_deref(), Some(b"s3cr3t".as_slice()));
    let stored = running.server.objects("", "secrets");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["data"]["token"], "czNjcjN0");
}

#[tokio::test]
async fn objects_need_an_existing_namespace() {
    let (_running, client) = start().await;
    let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let (code, _) = api_error(
        missing
            .create(&PostParams::default(), &config_map("a", &[]))
            .await,
    );
    assert_eq!(code, 404);

    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = k8s_openapi::api::core::v1::Namespace {
        metadata: ObjectMeta {
            name: Some("nowhere".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let created = namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
    assert_eq!(
        created.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );
    missing
        .create(&PostParams::default(), &config_map("a", &[]))
        .await
        .expect("create in the new namespace");
}

#[tokio::test]
async fn list_filters_by_label_and_field_selectors() {
    let (_running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for (name, labels) in [
        ("web-front", vec![("app", "web"), ("tier", "front")]),
        ("web-back", vec![("app", "web"), ("tier", "back")]),
        ("db", vec![("app", "db")]),
        ("plain", vec![]),
    ] {
        api.create(&PostParams::default(), &config_map(name, &labels))
            .await
            .expect("create");
    }
    let names = |lp: ListParams| {
        let api = api.clone();
        async move {
            let mut names: Vec<String> = api
                .list(&lp)
                .await
                .expect("list")
                .items
                .iter()
                .map(ResourceExt::name_any)
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(
        names(ListParams::default().labels("app=web")).await,
        ["web-back", "web-front"]
    );
    assert_eq!(names(ListParams::default().labels("app==db")).await, ["db"]);
    assert_eq!(
        names(ListParams::default().labels("app!=web")).await,
        ["db", "plain"]
    );
    assert_eq!(
        names(ListParams::default().labels("app in (db, web),tier notin (back)")).await,
        ["db", "web-front"]
    );
    assert_eq!(
        names(ListParams::default().labels("tier")).await,
        ["web-back", "web-front"]
    );
    assert_eq!(names(ListParams::default().labels("!app")).await, ["plain"]);
    assert_eq!(
        names(ListParams::default().fields("metadata.name=db")).await,
        ["db"]
    );
    assert_eq!(
        names(
            ListParams::default()
                .fields("metadata.namespace=default,metadata.name!=db")
                .labels("app")
        )
        .await,
        ["web-back", "web-front"]
    );

    let all: Api<ConfigMap> = Api::all(client);
    let list = all
        .list(&ListParams::default())
        .await
        .expect("cluster-wide list");
    assert_eq!(list.items.len(), 4);
    assert!(
        list.metadata
            .resource_version
            .is_some_and(|rv| !rv.is_empty())
    );

    let (code, reason) = api_error(api.list(&ListParams::default().labels("app in web")).await);
    assert_eq!((code, reason.as_str()), (400, "BadRequest"));
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict() {
    let (_running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &config_map("cm", &[]))
        .await
        .expect("create");
    let first = api.get("cm").await.expect("get");
    let mut update = first.clone();
    update.data = Some(BTreeMap::from([("key".to_owned(), "one".to_owned())]));
    api.replace("cm", &PostParams::default(), &update)
        .await
        .expect("first replace");

    // `first` still carries the old resourceVersion.
    let mut stale = first.clone();
    stale.data = Some(BTreeMap::from([("key".to_owned(), "two".to_owned())]));
    let (code, reason) = api_error(api.replace("cm", &PostParams::default(), &stale).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));

    let precondition = json!({"metadata": {"resourceVersion": first.resource_version()}, "data": {"key": "three"}});
    let (code, _) = api_error(
        api.patch("cm", &PatchParams::default(), &Patch::Merge(&precondition))
            .await,
    );
    assert_eq!(code, 409);
    let current = api.get("cm").await.expect("get");
    assert_eq!(
        current.data.and_then(|d| d.get("key").cloned()).as_deref(),
        Some("one")
    );
}

/// Patches are prepared outside the store lock and committed only if the object is still
/// the one they read (as the real server's GuaranteedUpdate): many concurrent patches to one
/// object, none carrying a resourceVersion, must all land, and each write bumps the version
/// once. Committing a prepared patch over a newer object would lose some of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_to_one_object_all_land() {
    let (_running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let created = api
        .create(&PostParams::default(), &config_map("cm", &[]))
        .await
        .expect("create");
    let writers = 64;
    let results: Vec<Result<ConfigMap, kube::Error>> = futures::stream::iter(0..writers)
        .map(|index| {
            let api = api.clone();
            async move {
                let key = format!("k{index}");
                if index % 2 == 0 {
                    let patch = json!({"metadata": {"labels": {key.clone(): "set"}}, "data": {key: "merge"}});
                    api.patch("cm", &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                } else {
                    let ops: json_patch::Patch = serde_json::from_value(json!([
                        {"op": "add", "path": format!("/data/{key}"), "value": "json"},
                    ]))
                    .expect("valid JSON patch");
                    api.patch("cm", &PatchParams::default(), &Patch::Json::<()>(ops))
                        .await
                }
            }
        })
        .buffer_unordered(writers)
        .collect()
        .await;
    for result in results {
        result.expect("every patch is accepted");
    }
    let current = api.get("cm").await.expect("get");
    let data = current.data.clone().unwrap_or_default();
    let missing: Vec<usize> = (0..writers)
        .filter(|i| !data.contains_key(&format!("k{i}")))
        .collect();
    assert!(missing.is_empty(), "lost patches: {missing:?}");
    assert_eq!(
        current.labels().len(),
        writers / 2,
        "every merge patch's label landed"
    );
    let version = |cm: &ConfigMap| cm.resource_version().and_then(|v| v.parse::<u64>().ok());
    assert_eq!(
        version(&current)
            .zip(version(&created))
            .map(|(now, then)| now - then),
        Some(writers as u64),
        "one new resourceVersion per write"
    );
}

#[tokio::test]
async fn merge_and_json_patches_apply_and_failed_tests_reject() {
    let (_running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &config_map("cm", &[("app", "web")]))
        .await
        .expect("create");

    let merged = api
        .patch(
            "cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"app": null, "new": "yes"}}, "data": {"extra": "1"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(merged.labels().get("new").map(String::as_str), Some("yes"));
    assert!(!merged.labels().contains_key("app"));
    assert_eq!(merged.data.as_ref().map(BTreeMap::len), Some(2));

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/key", "value": "value"},
        {"op": "replace", "path": "/data/key", "value": "patched"},
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]},
    ]))
    .expect("valid JSON patch");
    let patched = api
        .patch("cm", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .expect("json patch");
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("key"))
            .map(String::as_str),
        Some("patched")
    );
    assert_eq!(patched.finalizers(), ["example.com/f"]);

    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/key", "value": "something else"},
        {"op": "replace", "path": "/data/key", "value": "must not happen"},
    ]))
    .expect("valid JSON patch");
    let (code, reason) = api_error(
        api.patch("cm", &PatchParams::default(), &Patch::Json::<()>(failing))
            .await,
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    let unchanged = api.get("cm").await.expect("get");
    assert_eq!(unchanged.resource_version(), patched.resource_version());
    assert_eq!(
        unchanged
            .data
            .as_ref()
            .and_then(|d| d.get("key"))
            .map(String::as_str),
        Some("patched")
    );
}

#[tokio::test]
async fn status_subresource_and_generation() {
    let (_running, client) = start().await;
    let api: Api<Gadget> = Api::default_namespaced(client);
    let mut with_status = gadget("g1", 1);
    with_status.status = Some(GadgetStatus {
        ready: true,
        observed_generation: Some(9),
    });
    let created = api
        .create(&PostParams::default(), &with_status)
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.status.is_none(),
        "create ignores status when it is a subresource"
    );

    let status = json!({"status": {"ready": true, "observedGeneration": 1}});
    let after_status = api
        .patch_status("g1", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch_status");
    assert_eq!(after_status.metadata.generation, Some(1));
    assert_eq!(after_status.status.as_ref().map(|s| s.ready), Some(true));
    assert_ne!(after_status.resource_version(), created.resource_version());

    // A main-resource patch cannot change status; a spec change bumps generation.
    let spec = json!({"spec": {"size": 2}, "status": {"ready": false}});
    let after_spec = api
        .patch("g1", &PatchParams::default(), &Patch::Merge(&spec))
        .await
        .expect("spec patch");
    assert_eq!(after_spec.metadata.generation, Some(2));
    assert_eq!(after_spec.spec.size, 2);
    assert_eq!(after_spec.status.as_ref().map(|s| s.ready), Some(true));

    // A metadata-only change keeps generation; a no-op keeps resourceVersion.
    let labels = json!({"metadata": {"labels": {"x": "y"}}});
    let after_labels = api
        .patch("g1", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .expect("label patch");
    assert_eq!(after_labels.metadata.generation, Some(2));
    let again = api
        .patch("g1", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .expect("no-op patch");
    assert_eq!(again.resource_version(), after_labels.resource_version());

    // PUT on /status changes only status.
    let mut replace = again.clone();
    replace.spec.size = 100;
    replace.status = Some(GadgetStatus {
        ready: false,
        observed_generation: Some(2),
    });
    let replaced = api
        .replace_status("g1", &PostParams::default(), &replace)
        .await
        .expect("replace_status");
    assert_eq!(replaced.spec.size, 2);
    assert_eq!(replaced.status.map(|s| s.ready), Some(false));
    assert_eq!(replaced.metadata.generation, Some(2));
}

#[tokio::test]
async fn server_side_apply_tracks_field_managers() {
    let (_running, client) = start().await;
    let api: Api<Gadget> = Api::default_namespaced(client);
    let config = json!({
        "apiVersion": "sandbox.test.dev/v1",
        "kind": "Gadget",
        "metadata": {"name": "applied", "labels": {"owner": "one"}},
        "spec": {"size": 3},
    });
    let created = api
        .patch(
            "applied",
            &PatchParams::apply("one"),
            &Patch::Apply(&config),
        )
        .await
        .expect("apply creates");
    assert_eq!(created.spec.size, 3);
    assert_eq!(created.metadata.generation, Some(1));
    let managers: Vec<_> = created
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, ["one"]);

    let other = json!({"apiVersion": "sandbox.test.dev/v1", "kind": "Gadget",
                       "metadata": {"name": "applied"}, "spec": {"size": 4}});
    let (code, reason) = api_error(
        api.patch("applied", &PatchParams::apply("two"), &Patch::Apply(&other))
            .await,
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    let forced = api
        .patch(
            "applied",
            &PatchParams::apply("two").force(),
            &Patch::Apply(&other),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.spec.size, 4);
    assert_eq!(forced.metadata.generation, Some(2));

    // "one" re-applies without its label: the label it owned goes away.
    let without_label = json!({"apiVersion": "sandbox.test.dev/v1", "kind": "Gadget",
                               "metadata": {"name": "applied"}, "spec": {"size": 4}});
    let relabeled = api
        .patch(
            "applied",
            &PatchParams::apply("one"),
            &Patch::Apply(&without_label),
        )
        .await
        .expect("re-apply");
    assert!(relabeled.labels().is_empty(), "{:?}", relabeled.labels());

    let status = json!({"apiVersion": "sandbox.test.dev/v1", "kind": "Gadget",
                        "status": {"ready": true, "observedGeneration": 2}});
    let with_status = api
        .patch_status(
            "applied",
            &PatchParams::apply("ctrl").force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("status apply");
    assert_eq!(with_status.status.map(|s| s.ready), Some(true));
    assert_eq!(with_status.metadata.generation, Some(2));

    let (code, _) = api_error(
        api.patch(
            "applied",
            &PatchParams::apply("x"),
            &Patch::Apply(json!({"spec": {"size": 1}})),
        )
        .await,
    );
    assert_eq!(code, 400, "apply needs apiVersion and kind");
}

#[tokio::test]
async fn delete_with_finalizer_waits_for_its_removal() {
    let (running, client) = start().await;
    let api: Api<Gadget> = Api::default_namespaced(client);
    let mut g = gadget("held", 1);
    g.metadata.finalizers = Some(vec!["sandbox.test.dev/cleanup".to_owned()]);
    api.create(&PostParams::default(), &g)
        .await
        .expect("create");

    let deleted = api
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete");
    let marked = deleted
        .left()
        .expect("the object comes back while finalizers remain");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(0));
    let still_there = api.get("held").await.expect("still there");
    assert!(still_there.metadata.deletion_timestamp.is_some());

    // Deleting again changes nothing.
    let again = api
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete again")
        .left()
        .expect("object");
    assert_eq!(again.resource_version(), still_there.resource_version());

    let add =
        json!({"metadata": {"finalizers": ["sandbox.test.dev/cleanup", "late.example.com/f"]}});
    let (code, _) = api_error(
        api.patch("held", &PatchParams::default(), &Patch::Merge(&add))
            .await,
    );
    assert_eq!(code, 422, "no new finalizers on a deleting object");

    let remove: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "sandbox.test.dev/cleanup"},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ]))
    .expect("valid JSON patch");
    api.patch("held", &PatchParams::default(), &Patch::Json::<()>(remove))
        .await
        .expect("remove finalizer");
    let (code, _) = api_error(api.get("held").await);
    assert_eq!(code, 404);
    assert!(
        running
            .server
            .objects("sandbox.test.dev", "gadgets")
            .is_empty()
    );
}

#[tokio::test]
async fn watcher_sees_added_modified_deleted() {
    let (_running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &config_map("before", &[]))
        .await
        .expect("create");
    let mut events = watcher::watcher(api.clone(), watcher::Config::default()).boxed();

    let mut initial = Vec::new();
    loop {
        match next(&mut events, "initial list").await.expect("watcher ok") {
            WatcherEvent::Init => {}
            WatcherEvent::InitApply(cm) => initial.push(cm.name_any()),
            WatcherEvent::InitDone => break,
            other => panic!("unexpected {other:?} during the initial list"),
        }
    }
    assert_eq!(initial, ["before"]);

    api.create(&PostParams::default(), &config_map("live", &[]))
        .await
        .expect("create");
    api.patch(
        "live",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "changed"}})),
    )
    .await
    .expect("patch");
    api.delete("live", &DeleteParams::default())
        .await
        .expect("delete");

    let mut seen = Vec::new();
    while seen.len() < 3 {
        match next(&mut events, "live events").await.expect("watcher ok") {
            WatcherEvent::Apply(cm) => {
                let value = cm
                    .data
                    .and_then(|d| d.get("key").cloned())
                    .unwrap_or_default();
                seen.push(format!(
                    "apply {} {value}",
                    cm.metadata.name.unwrap_or_default()
                ));
            }
            WatcherEvent::Delete(cm) => seen.push(format!("delete {}", cm.name_any())),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        ["apply live value", "apply live changed", "delete live"]
    );
}

#[tokio::test]
async fn watch_events_follow_selectors() {
    let (_running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut stream = api
        .watch(&WatchParams::default().labels("app=web"), &rv)
        .await
        .expect("watch")
        .boxed();
    api.create(&PostParams::default(), &config_map("cm", &[("app", "db")]))
        .await
        .expect("create");
    for app in ["web", "db"] {
        api.patch(
            "cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"app": app}}})),
        )
        .await
        .expect("relabel");
    }
    let kinds: Vec<String> = {
        let mut kinds = Vec::new();
        while kinds.len() < 2 {
            match next(&mut stream, "selector events").await.expect("event") {
                WatchEvent::Added(_) => kinds.push("ADDED".to_owned()),
                WatchEvent::Deleted(_) => kinds.push("DELETED".to_owned()),
                WatchEvent::Bookmark(_) => {}
                other => kinds.push(format!("{other:?}")),
            }
        }
        kinds
    };
    assert_eq!(
        kinds,
        ["ADDED", "DELETED"],
        "entering and leaving the selector"
    );
}

#[tokio::test]
async fn watch_from_a_forgotten_version_gets_410() {
    let config = ApiServerConfig {
        history_limit: 5,
        ..ApiServerConfig::default()
    };
    let (_running, client) = start_with(config).await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    for i in 0..10 {
        api.create(&PostParams::default(), &config_map(&format!("cm{i}"), &[]))
            .await
            .expect("create");
    }
    let mut stream = api
        .watch(&WatchParams::default(), "1")
        .await
        .expect("watch opens")
        .boxed();
    match next(&mut stream, "the error event").await.expect("event") {
        WatchEvent::Error(status) => {
            assert_eq!(status.code, 410);
            assert_eq!(status.reason, "Expired");
        }
        other => panic!("expected 410, got {other:?}"),
    }
}

#[tokio::test]
async fn a_tally_follows_changes_and_survives_a_compaction() {
    let config = ApiServerConfig {
        history_limit: 5,
        ..ApiServerConfig::default()
    };
    let (running, client) = start_with(config).await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let labelled =
        |o: &serde_json::Value| o.pointer("/metadata/labels/ready") == Some(&"yes".into());
    let mut tally = Tally::new("", "configmaps");
    api.create(
        &PostParams::default(),
        &config_map("a", &[("ready", "yes")]),
    )
    .await
    .expect("create a");
    assert_eq!(
        running.server.tally(&mut tally, labelled),
        1,
        "first count scans"
    );
    for (name, ready) in [("b", "yes"), ("c", "no")] {
        api.create(
            &PostParams::default(),
            &config_map(name, &[("ready", ready)]),
        )
        .await
        .expect("create");
    }
    assert_eq!(running.server.tally(&mut tally, labelled), 2, "added");
    let unready = serde_json::json!({"metadata": {"labels": {"ready": "no"}}});
    api.patch("a", &PatchParams::default(), &Patch::Merge(&unready))
        .await
        .expect("patch a");
    api.delete("b", &Default::default())
        .await
        .expect("delete b");
    assert_eq!(
        running.server.tally(&mut tally, labelled),
        0,
        "modified and deleted"
    );
    // More changes than the history keeps: the tally reads every object again.
    for i in 0..8 {
        api.create(
            &PostParams::default(),
            &config_map(&format!("d{i}"), &[("ready", "yes")]),
        )
        .await
        .expect("create");
    }
    assert_eq!(
        running.server.tally(&mut tally, labelled),
        8,
        "after the history moved on"
    );
    running.server.compact_history();
    api.delete("d0", &Default::default())
        .await
        .expect("delete d0");
    assert_eq!(
        running.server.tally(&mut tally, labelled),
        7,
        "after a compaction"
    );
}

#[tokio::test]
async fn watcher_recovers_from_410_by_relisting() {
    let config = ApiServerConfig {
        history_limit: 8,
        ..ApiServerConfig::default()
    };
    let (running, client) = start_with(config).await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let watched = watcher::Config::default().labels("app=watched");
    let mut events = watcher::watcher(api.clone(), watched).boxed();

    let mut initial_done = false;
    while !initial_done {
        initial_done = matches!(
            next(&mut events, "initial list").await,
            Ok(WatcherEvent::InitDone)
        );
    }
    api.create(
        &PostParams::default(),
        &config_map("a", &[("app", "watched")]),
    )
    .await
    .expect("create a");
    match next(&mut events, "a").await {
        Ok(WatcherEvent::Apply(cm)) => assert_eq!(cm.name_any(), "a"),
        other => panic!("expected Apply(a), got {other:?}"),
    }

    // Writes the watcher does not see push its resourceVersion out of the history; then the
    // connection drops and the watcher must resume from that forgotten version.
    for i in 0..20 {
        api.create(
            &PostParams::default(),
            &config_map(&format!("other{i}"), &[]),
        )
        .await
        .expect("create other");
    }
    running.server.close_watches();

    let mut saw_gone = false;
    let mut relisted = Vec::new();
    loop {
        match next(&mut events, "recovery").await {
            Err(watcher::Error::WatchError(status)) if status.code == 410 => saw_gone = true,
            Err(other) => panic!("unexpected watcher error {other:?}"),
            Ok(WatcherEvent::Init) => relisted.clear(),
            Ok(WatcherEvent::InitApply(cm)) => relisted.push(cm.name_any()),
            Ok(WatcherEvent::InitDone) => break,
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_gone, "the watcher got 410 Expired");
    assert_eq!(relisted, ["a"]);

    api.create(
        &PostParams::default(),
        &config_map("b", &[("app", "watched")]),
    )
    .await
    .expect("create b");
    match next(&mut events, "b").await {
        Ok(WatcherEvent::Apply(cm)) => assert_eq!(cm.name_any(), "b"),
        other => panic!("expected Apply(b), got {other:?}"),
    }
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_and_end_marker() {
    let (_running, client) = start().await;
    let api: Api<Gadget> = Api::default_namespaced(client);
    for name in ["s1", "s2"] {
        api.create(&PostParams::default(), &gadget(name, 1))
            .await
            .expect("create");
    }
    let mut events =
        watcher::watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut initial = Vec::new();
    loop {
        match next(&mut events, "streaming list")
            .await
            .expect("watcher ok")
        {
            WatcherEvent::Init => {}
            WatcherEvent::InitApply(g) => initial.push(g.name_any()),
            WatcherEvent::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    initial.sort();
    assert_eq!(initial, ["s1", "s2"]);
    api.create(&PostParams::default(), &gadget("s3", 1))
        .await
        .expect("create");
    match next(&mut events, "s3").await {
        Ok(WatcherEvent::Apply(g)) => assert_eq!(g.name_any(), "s3"),
        other => panic!("expected Apply(s3), got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_finds_builtins_and_custom_resources() {
    let (_running, client) = start().await;
    let info = client.apiserver_version().await.expect("version");
    assert_eq!(info.major, "1");

    for aggregated in [false, true] {
        let discovery = Discovery::new(client.clone());
        let discovery = if aggregated {
            discovery.run_aggregated().await
        } else {
            discovery.run().await
        }
        .expect("discovery");
        let gvk = GroupVersionKind::gvk("sandbox.test.dev", "v1", "Gadget");
        let (resource, caps) = discovery.resolve_gvk(&gvk).expect("Gadget is discovered");
        assert_eq!(resource.plural, "gadgets");
        assert_eq!(caps.scope, Scope::Namespaced);
        assert!(
            caps.subresources
                .iter()
                .any(|(r, _)| r.plural == "gadgets/status" || r.plural == "status"),
            "status subresource listed (aggregated: {aggregated}): {:?}",
            caps.subresources
        );
        let cm = GroupVersionKind::gvk("", "v1", "ConfigMap");
        assert!(
            discovery.resolve_gvk(&cm).is_some(),
            "ConfigMap (aggregated: {aggregated})"
        );
        let lease = GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease");
        assert!(
            discovery.resolve_gvk(&lease).is_some(),
            "Lease (aggregated: {aggregated})"
        );
    }
}

#[tokio::test]
async fn crds_posted_over_http_are_served_and_established() {
    let (running, client) = start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.other.test.dev"},
        "spec": {
            "group": "other.test.dev",
            "scope": "Cluster",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }))
    .expect("CRD json");
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("create CRD");
    let stored = crds.get("widgets.other.test.dev").await.expect("get CRD");
    let established = stored
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established);

    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("other.test.dev", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let mut widget = DynamicObject::new("w1", &resource);
    widget.data = json!({"spec": {"anything": ["goes"]}});
    let created = widgets
        .create(&PostParams::default(), &widget)
        .await
        .expect("create widget");
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.data["spec"]["anything"][0], "goes");
    assert_eq!(running.server.objects("other.test.dev", "widgets").len(), 1);

    crds.delete("widgets.other.test.dev", &DeleteParams::default())
        .await
        .expect("delete CRD");
    let (code, _) = api_error(widgets.list(&ListParams::default()).await);
    assert_eq!(code, 404, "the resource is no longer served");
}

// ---- A real Controller with the finalizer helper, patch_status and an event Recorder ----

const FINALIZER: &str = "sandbox.test.dev/cleanup";

struct Ctx {
    client: Client,
    recorder: Recorder,
    cleanups: AtomicUsize,
}

async fn reconcile(
    gadget: Arc<Gadget>,
    ctx: Arc<Ctx>,
) -> Result<Action, kube::runtime::finalizer::Error<kube::Error>> {
    let ns = gadget.namespace().unwrap_or_default();
    let api: Api<Gadget> = Api::namespaced(ctx.client.clone(), &ns);
    let (api_ref, ctx_ref) = (&api, &ctx);
    finalizer(&api, FINALIZER, gadget, move |event| async move {
        match event {
            FinalizerEvent::Apply(g) => {
                let status =
                    json!({"status": {"ready": true, "observedGeneration": g.metadata.generation}});
                api_ref
                    .patch_status(
                        &g.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&status),
                    )
                    .await?;
                ctx_ref
                    .recorder
                    .publish(
                        &RecorderEvent {
                            type_: EventType::Normal,
                            reason: "Reconciled".to_owned(),
                            note: Some(format!("size {}", g.spec.size)),
                            action: "Reconcile".to_owned(),
                            secondary: None,
                        },
                        &g.object_ref(&()),
                    )
                    .await?;
                Ok(Action::await_change())
            }
            FinalizerEvent::Cleanup(_) => {
                ctx_ref.cleanups.fetch_add(1, Ordering::SeqCst);
                Ok(Action::await_change())
            }
        }
    })
    .await
}

fn error_policy(
    _gadget: Arc<Gadget>,
    _error: &kube::runtime::finalizer::Error<kube::Error>,
    _ctx: Arc<Ctx>,
) -> Action {
    Action::requeue(Duration::from_millis(100))
}

#[tokio::test]
async fn controller_with_finalizer_reconciles_and_cleans_up() {
    let (running, client) = start().await;
    let api: Api<Gadget> = Api::default_namespaced(client.clone());
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "sandbox-test".to_owned(),
                instance: None,
            },
        ),
        cleanups: AtomicUsize::new(0),
    });
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .run(reconcile, error_policy, Arc::clone(&ctx))
            .for_each(|_| futures::future::ready(())),
    );

    api.create(&PostParams::default(), &gadget("ctl", 7))
        .await
        .expect("create");
    let reconciled = eventually("finalizer and status", || {
        let api = api.clone();
        async move {
            let g = api.get("ctl").await.ok()?;
            let ready = g
                .status
                .as_ref()
                .is_some_and(|s| s.ready && s.observed_generation == Some(1));
            (ready && g.finalizers() == [FINALIZER]).then_some(g)
        }
    })
    .await;
    assert_eq!(
        reconciled.metadata.generation,
        Some(1),
        "status writes do not bump generation"
    );

    let events: Api<K8sEvent> = Api::default_namespaced(client.clone());
    let event = eventually("the Reconciled event", || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items.into_iter().find(|e| {
                e.reason.as_deref() == Some("Reconciled")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("ctl")
            })
        }
    })
    .await;
    assert_eq!(event.note.as_deref(), Some("size 7"));
    assert_eq!(event.reporting_controller.as_deref(), Some("sandbox-test"));

    api.delete("ctl", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("the object to disappear", || {
        let api = api.clone();
        async move {
            matches!(api.get("ctl").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(())
        }
    })
    .await;
    assert!(
        ctx.cleanups.load(Ordering::SeqCst) >= 1,
        "cleanup ran before removal"
    );
    assert!(
        running
            .server
            .objects("sandbox.test.dev", "gadgets")
            .is_empty()
    );
    controller.abort();
}

#[tokio::test]
async fn dropping_the_server_ends_watches() {
    let (running, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let mut stream = api
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    tokio::time::timeout(DEADLINE, running.shutdown())
        .await
        .expect("the server shuts down");
    let rest = tokio::time::timeout(DEADLINE, (&mut stream).try_collect::<Vec<_>>())
        .await
        .expect("the stream ends");
    assert!(rest.is_ok_and(|events| events.is_empty()));
}

#[tokio::test]
async fn watches_get_bookmarks_and_end_at_their_timeout() {
    let config = ApiServerConfig {
        bookmark_interval: Duration::from_millis(50),
        ..ApiServerConfig::default()
    };
    let (_running, client) = start_with(config).await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &config_map("cm", &[]))
        .await
        .expect("create");
    let current = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let params = WatchParams::default().timeout(1);
    let mut stream = api.watch(&params, &current).await.expect("watch").boxed();
    match next(&mut stream, "a bookmark").await.expect("event") {
        WatchEvent::Bookmark(bookmark) => {
            assert_eq!(bookmark.metadata.resource_version, current);
            assert!(bookmark.metadata.annotations.is_empty());
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
    let rest = tokio::time::timeout(DEADLINE, (&mut stream).try_collect::<Vec<_>>())
        .await
        .expect("the stream ends after timeoutSeconds")
        .expect("no error");
    assert!(
        rest.iter().all(|e| matches!(e, WatchEvent::Bookmark(_))),
        "only bookmarks while nothing changes"
    );
}

/// The operator's own CRDs, with their OpenAPI schemas and CEL rules, on a fresh server.
async fn start_with_operator_crds() -> (RunningApiServer, Client) {
    let (running, client) = start().await;
    for definition in scaleway_serverless_operator::crd::all_crds() {
        running
            .server
            .try_register_crd(&definition)
            .expect("operator CRD registers");
    }
    (running, client)
}

fn container(spec: serde_json::Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "serverless.scaleway.com/v1alpha1",
        "kind": "ServerlessContainer",
        "metadata": {"name": "web"},
        "spec": spec,
    }))
    .expect("container object")
}

fn containers(client: &Client) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("serverless.scaleway.com", "v1alpha1", "ServerlessContainer"),
        "serverlesscontainers",
    );
    Api::namespaced_with(client.clone(), "default", &resource)
}

/// `(field, message)` of each cause of a 422.
fn causes(result: Result<DynamicObject, kube::Error>) -> Vec<(String, String)> {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
            status
                .details
                .map(|d| d.causes.into_iter().map(|c| (c.field, c.message)).collect())
                .unwrap_or_default()
        }
        other => panic!("expected 422 Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_resources_are_validated_defaulted_and_pruned() {
    let (_running, client) = start_with_operator_crds().await;
    let api = containers(&client);
    let pp = PostParams::default();

    // CEL rules (kube's client-side evaluator) and structural rules name the field.
    let found = causes(
        api.create(
            &pp,
            &container(json!({"namespaceRef": {"name": "a"}, "namespaceId": "x",
                              "image": "nginx", "minScale": 5, "maxScale": 2})),
        )
        .await,
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|(field, _)| field == "spec"), "{found:?}");
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("namespaceRef and namespaceId")),
        "{found:?}"
    );
    let found = causes(
        api.create(
            &pp,
            &container(json!({"namespaceRef": {"name": "a"}, "image": 7, "maxScale": 5000})),
        )
        .await,
    );
    let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["spec.image", "spec.maxScale"], "{found:?}");

    // Defaults are filled in; unknown fields are dropped (fieldValidation defaults to Warn).
    let created = api
        .create(
            &pp,
            &container(json!({"namespaceRef": {"name": "a"}, "image": "nginx", "colour": "blue"})),
        )
        .await
        .expect("valid container is created");
    assert_eq!(created.data["spec"]["managementPolicy"], "Manage");
    assert_eq!(created.data["spec"]["adoptionPolicy"], "Never");
    assert!(
        created.data["spec"].get("deletionPolicy").is_none(),
        "left unset, so the Namespace annotation and the operator's default can apply"
    );
    assert!(created.data["spec"].get("colour").is_none());

    // Strict rejects unknown fields with 400, as kubectl's default does.
    let strict = PatchParams::default().validation(kube::api::ValidationDirective::Strict);
    let rejected = api
        .patch(
            "web",
            &strict,
            &Patch::Merge(json!({"spec": {"colour": "red"}})),
        )
        .await;
    let (code, reason) = api_error(rejected);
    assert_eq!((code, reason.as_str()), (400, "BadRequest"));

    // Transition rules see the old object: namespaceRef is immutable.
    let found = causes(
        api.patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"namespaceRef": {"name": "b"}}})),
        )
        .await,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("immutable"), "{found:?}");

    // Status writes are validated too.
    let found = causes(
        api.patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": "one"}})),
        )
        .await,
    );
    assert_eq!(found[0].0, "status.observedGeneration", "{found:?}");
}

#[tokio::test]
async fn kubectl_get_receives_tables_with_printer_columns() {
    let (_running, client) = start_with_operator_crds().await;
    containers(&client)
        .create(
            &PostParams::default(),
            &container(json!({"namespaceRef": {"name": "a"}, "image": "nginx"})),
        )
        .await
        .expect("created");
    let request = http::Request::get(
        "/apis/serverless.scaleway.com/v1alpha1/namespaces/default/serverlesscontainers",
    )
    .header(
        "Accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    )
    .body(Vec::new())
    .expect("request");
    let table: serde_json::Value = client.request(request).await.expect("table");
    assert_eq!(table["kind"], "Table");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .map(|c| c.iter().filter_map(|d| d["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        columns,
        ["Name", "Ready", "Status", "Endpoint", "Image", "ID", "Age"]
    );
    let cells = &table["rows"][0]["cells"];
    assert_eq!(cells[0], "web");
    assert_eq!(cells[4], "nginx");
    assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");

    // Without the Table media type, plain JSON as before.
    let list = containers(&client)
        .list(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(list.items.len(), 1);
}

#[tokio::test]
async fn events_are_one_storage_for_both_apis() {
    let (_running, client) = start().await;
    let cm: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let object = cm
        .create(&PostParams::default(), &config_map("cm1", &[]))
        .await
        .expect("configmap");
    let recorder = Recorder::new(client.clone(), Reporter::from("sandbox-test"));
    recorder
        .publish(
            &RecorderEvent {
                type_: EventType::Normal,
                reason: "Tested".into(),
                note: Some("written through events.k8s.io".into()),
                action: "Test".into(),
                secondary: None,
            },
            &object.object_ref(&()),
        )
        .await
        .expect("event published");
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
    let listed = core
        .list(&ListParams::default().fields("involvedObject.name=cm1"))
        .await
        .expect("core events");
    assert_eq!(listed.items.len(), 1);
    let event = &listed.items[0];
    assert_eq!(event.reason.as_deref(), Some("Tested"));
    assert_eq!(
        event.message.as_deref(),
        Some("written through events.k8s.io")
    );
    assert_eq!(event.involved_object.kind.as_deref(), Some("ConfigMap"));
    let v1: Api<K8sEvent> = Api::namespaced(client, "default");
    let same = v1
        .get(&event.metadata.name.clone().unwrap_or_default())
        .await
        .expect("events.k8s.io view");
    assert_eq!(same.note.as_deref(), Some("written through events.k8s.io"));
    assert_eq!(same.metadata.uid, event.metadata.uid);
    // Field selectors name the fields of the API asked, on lists as on watches.
    let by_regarding = v1
        .list(&ListParams::default().fields("regarding.name=cm1"))
        .await
        .expect("events.k8s.io list");
    assert_eq!(by_regarding.items.len(), 1);
    let other = v1
        .list(&ListParams::default().fields("regarding.name=other"))
        .await
        .expect("events.k8s.io list");
    assert!(other.items.is_empty());
}

#[tokio::test]
async fn openapi_v3_describes_the_custom_resources() {
    let (_running, client) = start_with_operator_crds().await;
    let get = |path: &str| http::Request::get(path).body(Vec::new()).expect("request");
    let index: serde_json::Value = client.request(get("/openapi/v3")).await.expect("index");
    let url = index["paths"]["apis/serverless.scaleway.com/v1alpha1"]["serverRelativeURL"]
        .as_str()
        .expect("our group-version is listed")
        .to_owned();
    let doc: serde_json::Value = client.request(get(&url)).await.expect("document");
    let schema =
        &doc["components"]["schemas"]["com.scaleway.serverless.v1alpha1.ServerlessContainer"];
    assert!(schema["properties"]["spec"]["properties"]["image"].is_object());
    assert_eq!(
        schema["x-kubernetes-group-version-kind"][0]["kind"],
        "ServerlessContainer"
    );
}

#[tokio::test]
async fn snapshot_restores_objects_and_expires_old_watches() {
    let (running, client) = start().await;
    let cm: Api<ConfigMap> = Api::namespaced(client, "default");
    cm.create(&PostParams::default(), &config_map("kept", &[("a", "b")]))
        .await
        .expect("configmap");
    let g: Api<Gadget> = Api::namespaced(running.client().expect("client"), "default");
    g.create(&PostParams::default(), &gadget("g1", 3))
        .await
        .expect("gadget");
    let rv = running.server.resource_version();
    let snapshot = running.server.snapshot();
    drop(running);

    let restored = ApiServer::from_snapshot(ApiServerConfig::default(), &snapshot)
        .expect("snapshot loads")
        .start()
        .await
        .expect("starts");
    assert_eq!(restored.server.resource_version(), rv);
    let client = restored.client().expect("client");
    let cm: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let kept = cm.get("kept").await.expect("configmap kept");
    assert_eq!(
        kept.metadata
            .labels
            .unwrap_or_default()
            .get("a")
            .map(String::as_str),
        Some("b")
    );
    let g: Api<Gadget> = Api::namespaced(client, "default");
    assert_eq!(g.get("g1").await.expect("gadget kept").spec.size, 3);
    // History does not survive a restart: a watch from before it gets 410 Gone.
    let mut stream = cm
        .watch(&WatchParams::default(), &(rv - 1).to_string())
        .await
        .expect("watch starts")
        .boxed();
    match next(&mut stream, "410").await {
        Ok(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }
    assert!(ApiServer::from_snapshot(ApiServerConfig::default(), &json!({})).is_err());
}

#[tokio::test]
async fn lists_are_paged_with_limit_and_continue() {
    let (_server, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..5 {
        api.create(&PostParams::default(), &config_map(&format!("cm-{i}"), &[]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut first_rv = None;
    loop {
        let mut params = ListParams::default().limit(2);
        if let Some(token) = &token {
            params = params.continue_token(token);
        }
        let page = api.list(&params).await.unwrap_or_else(|e| panic!("{e}"));
        pages += 1;
        assert!(page.items.len() <= 2);
        let rv = page.metadata.resource_version.clone();
        // Every page reports the first page's resourceVersion.
        assert_eq!(*first_rv.get_or_insert(rv.clone()), rv);
        names.extend(page.items.iter().map(|c| c.name_any()));
        if pages == 1 {
            // A change between pages shows in a later page's items, never as a gap.
            api.create(&PostParams::default(), &config_map("cm-9", &[]))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        match page.metadata.continue_ {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4", "cm-9"]);
    let bad = api.list(&ListParams::default().continue_token("zz")).await;
    assert_eq!(api_error(bad).0, 400);
    // No limit: everything, no token.
    let all = api
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.items.len(), 6);
    assert!(all.metadata.continue_.is_none_or(|c| c.is_empty()));
}

#[tokio::test]
async fn repeated_warnings_become_one_series_and_a_lost_event_is_created_again() {
    use scaleway_serverless_operator::controller::events::{EventPublisher, EventType};
    let (_running, client) = start().await;
    let cm: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let object = cm
        .create(&PostParams::default(), &config_map("noisy", &[]))
        .await
        .expect("configmap");
    let regarding = object.object_ref(&());
    let publisher = EventPublisher::new(client.clone(), "sandbox-test", None);
    for _ in 0..3 {
        publisher
            .publish(&regarding, EventType::Warning, "Failing", "still failing")
            .await
            .expect("published");
    }
    let events: Api<K8sEvent> = Api::namespaced(client, "default");
    let listed = events
        .list(&ListParams::default().fields("regarding.name=noisy"))
        .await
        .expect("events");
    assert_eq!(listed.items.len(), 1, "one event for three repeats");
    let series = listed.items[0].series.clone().expect("a series");
    assert_eq!(series.count, 3);
    // The event is gone (expired, or deleted): the next repeat creates a new one.
    let name = listed.items[0].metadata.name.clone().unwrap_or_default();
    events
        .delete(&name, &Default::default())
        .await
        .expect("deleted");
    publisher
        .publish(&regarding, EventType::Warning, "Failing", "still failing")
        .await
        .expect("published again");
    let listed = events
        .list(&ListParams::default().fields("regarding.name=noisy"))
        .await
        .expect("events");
    assert_eq!(listed.items.len(), 1, "a new event");
    assert_ne!(
        listed.items[0].metadata.name.as_deref(),
        Some(name.as_str())
    );
}

#[tokio::test]
async fn metadata_only_requests_get_metadata_only() {
    use kube::runtime::WatchStreamExt;
    let (running, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &config_map("meta", &[("app", "x")]))
        .await
        .expect("create");
    // What kube's metadata Api asks for: the answer has no data on the wire.
    let http = reqwest::Client::new();
    let base = format!("{}/api/v1/namespaces/default/configmaps", running.url());
    let one: serde_json::Value = http
        .get(format!("{base}/meta"))
        .header(
            "accept",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
        )
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(one["kind"], "PartialObjectMetadata", "{one}");
    assert_eq!(one["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(one["metadata"]["labels"]["app"], "x");
    assert!(one.get("data").is_none(), "{one}");
    let list: serde_json::Value = http
        .get(&base)
        .header(
            "accept",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
        )
        .send()
        .await
        .expect("LIST")
        .json()
        .await
        .expect("JSON");
    assert_eq!(list["kind"], "PartialObjectMetadataList", "{list}");
    assert_eq!(list["items"][0]["metadata"]["name"], "meta");
    assert!(list["items"][0].get("data").is_none(), "{list}");
    // Plain JSON is still the whole object.
    let whole: serde_json::Value = http
        .get(format!("{base}/meta"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(whole["data"]["key"], "value");

    // kube's metadata list and watch read them.
    let names: Vec<String> = api
        .list_metadata(&ListParams::default())
        .await
        .expect("list_metadata")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, ["meta"]);
    let metadata: Api<kube::core::PartialObjectMeta<ConfigMap>> =
        Api::namespaced(client.clone(), "default");
    let mut changes = watcher::watcher(metadata, watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = next(&mut changes, "initial metadata event")
        .await
        .expect("event");
    assert_eq!(first.name_any(), "meta");
    api.patch(
        "meta",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "y"}}})),
    )
    .await
    .expect("patch");
    let changed = next(&mut changes, "metadata change").await.expect("event");
    assert_eq!(changed.labels().get("app").map(String::as_str), Some("y"));
}
