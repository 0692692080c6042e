//! The admin API: request counts, state dump, reset, out-of-band status changes.

mod common;

use common::{Api, id};
use reqwest::Method;
use scaleway_emulator::Faults;
use serde_json::json;

#[tokio::test]
async fn request_counts_use_route_templates() {
    let api = Api::with_delays(10, 10).await;
    let ns = api.create_namespace("counted").await;
    api.get(&format!("/namespaces/{}", id(&ns))).await;
    api.get(&format!("/namespaces/{}", id(&ns))).await;
    api.get("/nowhere").await;
    api.admin(Method::GET, "/state", None).await;
    assert_eq!(
        api.admin(Method::GET, "/nothing-here", None).await.status,
        404
    );
    let requests = api.admin(Method::GET, "/requests", None).await;
    assert_eq!(requests.status, 200);
    assert_eq!(requests.body["total"], 4, "admin requests are not counted");
    assert_eq!(
        requests.body["routes"]["POST /containers/v1/regions/{region}/namespaces"],
        1
    );
    assert_eq!(
        requests.body["routes"]["GET /containers/v1/regions/{region}/namespaces/{namespace_id}"],
        2
    );
    assert_eq!(requests.body["routes"]["GET <unmatched>"], 1);
    assert_eq!(api.emulator().total_requests(), 4);
    assert_eq!(api.emulator().request_counts().len(), 3);
}

#[tokio::test]
async fn state_and_reset() {
    let api = Api::with_delays(10, 10).await;
    let (ns, c) = api.ready_container("st", "web").await;
    let state = api.admin(Method::GET, "/state", None).await.body;
    assert_eq!(state["namespaces"][0]["id"], ns["id"]);
    assert_eq!(state["containers"][0]["id"], c["id"]);
    assert_eq!(state["domains"], json!([]));
    assert_eq!(state, api.emulator().state());

    let reset = api.admin(Method::POST, "/reset", None).await;
    assert_eq!(reset.status, 200);
    assert_eq!(api.emulator().count_resources("namespaces"), 0);
    assert_eq!(api.emulator().count_resources("containers"), 0);
    assert_eq!(api.emulator().total_requests(), 0);
    assert_eq!(
        api.get(&format!("/namespaces/{}", id(&ns))).await.status,
        404
    );
}

#[tokio::test]
async fn resources_can_be_changed_out_of_band() {
    let api = Api::with_delays(10, 10).await;
    let (_, c) = api.ready_container("oob", "web").await;
    let path = format!("/containers/{}", id(&c));
    let patched = api
        .admin(
            Method::PATCH,
            &format!("/resources/{}", id(&c)),
            Some(json!({ "status": "error", "error_message": "OOM killed" })),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.body["status"], "error");
    let fetched = api.get(&path).await.body;
    assert_eq!(fetched["status"], "error");
    assert_eq!(fetched["error_message"], "OOM killed");

    let locked = api
        .admin(
            Method::PATCH,
            &format!("/resources/{}", id(&c)),
            Some(json!({ "status": "locked" })),
        )
        .await;
    assert_eq!(locked.body["error_message"], serde_json::Value::Null);
    let refused = api.patch(&path, json!({ "description": "x" })).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["type"], "locked");

    let unknown = api
        .admin(
            Method::PATCH,
            "/resources/nope",
            Some(json!({ "status": "ready" })),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let invalid = api
        .admin(
            Method::PATCH,
            &format!("/resources/{}", id(&c)),
            Some(json!({ "status": "on_fire" })),
        )
        .await;
    assert_eq!(invalid.status, 400);
    assert!(
        !api.emulator()
            .set_resource_status(&id(&c), "unknown_status", None)
    );
    assert!(!api.emulator().set_resource_status("nope", "ready", None));
    assert!(
        api.emulator()
            .set_resource_status(&id(&c), "upgrading", None)
    );
    assert_eq!(api.get(&path).await.body["status"], "upgrading");
    assert_eq!(api.delete(&path).await.body["type"], "transient_state");
}

#[tokio::test]
async fn count_resources_includes_deleting_ones() {
    let api = Api::with_delays(10, 400).await;
    let ns = api.create_namespace("counting").await;
    assert_eq!(api.emulator().count_resources("namespaces"), 1);
    assert_eq!(api.emulator().count_resources("bogus"), 0);
    let path = format!("/namespaces/{}", id(&ns));
    api.wait_status(&path, "ready").await;
    api.emulator().set_faults(Faults {
        stuck_transient: true,
        ..Faults::default()
    });
    api.delete(&path).await;
    assert_eq!(api.emulator().count_resources("namespaces"), 1);
    api.emulator().set_faults(Faults::default());
    api.wait_gone(&path).await;
    assert_eq!(api.emulator().count_resources("namespaces"), 0);
}
