//! Secrets are never returned in clear: hashed environment variables, write-only trigger secrets.

mod common;

use common::{Api, PROJECT, id};
use reqwest::Method;
use serde_json::json;

const SECRET: &str = "hunter2-very-secret";

fn assert_hashed(value: &serde_json::Value) {
    let text = value.as_str().expect("string");
    assert!(text.starts_with("$sha256$"), "{text}");
    assert_eq!(text.len(), "$sha256$".len() + 64);
    assert!(!text.contains(SECRET));
}

#[tokio::test]
async fn secret_environment_variables_are_hashed() {
    let api = Api::with_delays(10, 10).await;
    let ns = api
        .post("/namespaces", json!({ "name": "sec", "project_id": PROJECT, "secret_environment_variables": { "DB": SECRET } }))
        .await
        .body;
    assert_hashed(&ns["secret_environment_variables"]["DB"]);
    let ns_path = format!("/namespaces/{}", id(&ns));
    api.wait_status(&ns_path, "ready").await;
    let body = json!({
        "namespace_id": id(&ns), "name": "web", "image": "nginx",
        "environment_variables": { "PLAIN": "visible" },
        "secret_environment_variables": { "TOKEN": SECRET, "OTHER": "x" },
    });
    let created = api.post("/containers", body).await;
    assert_eq!(created.body["environment_variables"]["PLAIN"], "visible");
    let hashed = created.body["secret_environment_variables"]["TOKEN"].clone();
    assert_hashed(&hashed);
    assert_ne!(
        hashed,
        created.body["secret_environment_variables"]["OTHER"]
    );
    let path = format!("/containers/{}", id(&created.body));
    let fetched = api.wait_status(&path, "ready").await;
    assert_eq!(
        fetched["secret_environment_variables"]["TOKEN"], hashed,
        "stable hash"
    );

    // Writing back what was read keeps the hash; a new value changes it.
    let echoed = api
        .patch(
            &path,
            json!({ "secret_environment_variables": fetched["secret_environment_variables"] }),
        )
        .await;
    assert_eq!(echoed.body["secret_environment_variables"]["TOKEN"], hashed);
    api.wait_status(&path, "ready").await;
    let rotated = api
        .patch(
            &path,
            json!({ "secret_environment_variables": { "TOKEN": "new-value" } }),
        )
        .await;
    assert_ne!(
        rotated.body["secret_environment_variables"]["TOKEN"],
        hashed
    );
    assert_eq!(
        rotated.body["secret_environment_variables"]
            .as_object()
            .unwrap()
            .len(),
        1,
        "whole map replaced"
    );

    for listing in ["/containers", "/namespaces"] {
        let raw = api
            .client
            .get(api.url(listing))
            .header("X-Auth-Token", "t")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!raw.contains(SECRET), "{listing} leaks the secret");
    }
    let state = api
        .admin(Method::GET, "/state", None)
        .await
        .body
        .to_string();
    assert!(!state.contains(SECRET));
}

#[tokio::test]
async fn write_only_trigger_secrets_are_never_returned() {
    let api = Api::with_delays(10, 10).await;
    let (_, c) = api.ready_container("trig", "web").await;
    let sqs = api
        .post(
            "/triggers",
            json!({
                "container_id": id(&c), "name": "queue",
                "sqs_config": {
                    "region": "fr-par", "endpoint": "https://sqs.mnq.fr-par.scaleway.com",
                    "access_key_id": "AKID", "secret_access_key": SECRET,
                    "queue_url": "https://sqs.mnq.fr-par.scaleway.com/123/q",
                },
                "destination_config": { "http_path": "/jobs", "http_method": "put" },
            }),
        )
        .await;
    assert_eq!(sqs.status, 200, "{:?}", sqs.body);
    assert_eq!(sqs.body["source_type"], "sqs");
    assert_eq!(
        sqs.body["sqs_config"],
        json!({
            "region": "fr-par", "endpoint": "https://sqs.mnq.fr-par.scaleway.com",
            "access_key_id": "AKID", "queue_url": "https://sqs.mnq.fr-par.scaleway.com/123/q",
        })
    );
    assert_eq!(
        sqs.body["destination_config"],
        json!({ "http_path": "/jobs", "http_method": "put" })
    );

    let nats = api
        .post(
            "/triggers",
            json!({
                "container_id": id(&c), "name": "bus",
                "nats_config": { "server_urls": ["nats://nats.mnq.fr-par.scaleway.com:4222"], "subject": "jobs", "credentials_file_content": SECRET },
            }),
        )
        .await;
    assert_eq!(nats.status, 200, "{:?}", nats.body);
    assert_eq!(nats.body["source_type"], "nats");
    assert_eq!(
        nats.body["nats_config"],
        json!({ "server_urls": ["nats://nats.mnq.fr-par.scaleway.com:4222"], "subject": "jobs" })
    );

    let raw = api
        .client
        .get(api.url("/triggers"))
        .header("X-Auth-Token", "t")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!raw.contains(SECRET));
    assert!(!raw.contains("secret_access_key"));
    assert!(!raw.contains("credentials_file_content"));

    // The admin state keeps only hashes, so a test can see that a secret was rotated.
    let state = api.admin(Method::GET, "/state", None).await.body;
    assert!(!state.to_string().contains(SECRET));
    let triggers = state["triggers"].as_array().unwrap();
    let before = triggers[0]["write_only_secret_hashes"]["secret_access_key"].clone();
    assert_hashed(&before);
    assert_hashed(&triggers[1]["write_only_secret_hashes"]["credentials_file_content"]);

    let path = format!("/triggers/{}", id(&sqs.body));
    api.wait_status(&path, "ready").await;
    let rotated = api
        .patch(
            &path,
            json!({ "sqs_config": { "secret_access_key": "rotated" } }),
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    assert_eq!(
        rotated.body["sqs_config"]["access_key_id"], "AKID",
        "other sub-fields kept"
    );
    let after = api.admin(Method::GET, "/state", None).await.body["triggers"][0]["write_only_secret_hashes"]["secret_access_key"].clone();
    assert_hashed(&after);
    assert_ne!(before, after);
}
