//! Request validation and the error shapes: 400 details, 401, 403, 404, region, wire leniency.

mod common;

use common::{Api, PROJECT, argument_names, id, reason_for};
use reqwest::Method;
use scaleway_emulator::EmulatorConfig;
use serde_json::{Value, json};

const UUID: &str = "6170692e-7363-616c-6577-61792e636f6d";

#[tokio::test]
async fn namespace_required_fields_and_formats() {
    let api = Api::with_delays(10, 10).await;
    let empty = api.post("/namespaces", json!({})).await;
    assert_eq!(empty.status, 400);
    let mut names = argument_names(&empty.body);
    names.sort();
    assert_eq!(names, ["name", "project_id"]);
    assert_eq!(reason_for(&empty.body, "name"), "required");

    let bad = api
        .post(
            "/namespaces",
            json!({ "name": "Bad_Name", "project_id": "nope" }),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(reason_for(&bad.body, "name"), "format");
    assert_eq!(reason_for(&bad.body, "project_id"), "format");
    for detail in bad.body["details"].as_array().unwrap() {
        assert!(
            detail["help_message"]
                .as_str()
                .is_some_and(|h| !h.is_empty())
        );
    }

    let env = api
        .post(
            "/namespaces",
            json!({ "name": "ok", "project_id": PROJECT, "environment_variables": { "": "x" } }),
        )
        .await;
    assert_eq!(env.status, 400);
    assert_eq!(argument_names(&env.body), ["environment_variables."]);
}

#[tokio::test]
async fn container_field_checks_name_every_bad_argument() {
    let api = Api::with_delays(10, 10).await;
    let ns = api.create_namespace("ns").await;
    api.wait_status(&format!("/namespaces/{}", id(&ns)), "ready")
        .await;
    let body = json!({
        "namespace_id": id(&ns),
        "name": "web",
        "image": "nginx",
        "min_scale": 51,
        "max_scale": 0,
        "memory_limit_bytes": 1024,
        "mvcpu_limit": 10,
        "port": 70000,
        "timeout": "2h",
        "privacy": "secret",
        "protocol": "http3",
        "sandbox": "v9",
        "local_storage_limit_bytes": 1,
        "private_network_id": "pn",
        "scaling_option": { "cpu_usage_threshold": 50, "memory_usage_threshold": 50 },
        "liveness_probe": { "failure_threshold": 0, "tcp": {}, "http": { "path": "/" } },
        "startup_probe": { "failure_threshold": 1, "interval": "0s", "http": { "path": "health" } },
    });
    let answer = api.post("/containers", body).await;
    assert_eq!(answer.status, 400);
    let names = argument_names(&answer.body);
    for expected in [
        "min_scale",
        "max_scale",
        "memory_limit_bytes",
        "mvcpu_limit",
        "port",
        "timeout",
        "privacy",
        "protocol",
        "sandbox",
        "local_storage_limit_bytes",
        "private_network_id",
        "scaling_option",
        "liveness_probe.failure_threshold",
        "liveness_probe",
        "startup_probe.interval",
        "startup_probe.http.path",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(reason_for(&answer.body, "port"), "constraint");
    assert_eq!(reason_for(&answer.body, "timeout"), "format");
    assert_eq!(reason_for(&answer.body, "private_network_id"), "format");
    assert_eq!(api.emulator().count_resources("containers"), 0);

    let scale = api
        .post("/containers", json!({ "namespace_id": id(&ns), "name": "w", "image": "x", "min_scale": 3, "max_scale": 2 }))
        .await;
    assert_eq!(argument_names(&scale.body), ["min_scale"]);
    assert_eq!(reason_for(&scale.body, "min_scale"), "constraint");

    let required = api
        .post("/containers", json!({ "namespace_id": id(&ns) }))
        .await;
    let mut names = argument_names(&required.body);
    names.sort();
    assert_eq!(names, ["image", "name"]);
}

#[tokio::test]
async fn wrong_json_types_name_the_json_path() {
    let api = Api::with_delays(10, 10).await;
    let answer = api
        .post(
            "/containers",
            json!({ "liveness_probe": { "failure_threshold": "three" } }),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        argument_names(&answer.body),
        ["liveness_probe.failure_threshold"]
    );
    assert_eq!(
        reason_for(&answer.body, "liveness_probe.failure_threshold"),
        "format"
    );
    let negative = api.post("/containers", json!({ "min_scale": -1 })).await;
    assert_eq!(argument_names(&negative.body), ["min_scale"]);
    let array = api.post("/namespaces", json!(["x", PROJECT])).await;
    assert_eq!(argument_names(&array.body), ["body"]);
    let raw = api
        .client
        .post(api.url("/namespaces"))
        .header("X-Auth-Token", "t")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
}

#[tokio::test]
async fn lenient_wire_inputs_are_accepted() {
    let api = Api::with_delays(10, 10).await;
    let ns = api
        .post(
            "/namespaces",
            json!({
                "name": "lenient",
                "project_id": PROJECT,
                "environment_variables": null,
                "secret_environment_variables": null,
                "tags": null,
                "some_future_field": { "x": 1 },
            }),
        )
        .await;
    assert_eq!(ns.status, 200, "{:?}", ns.body);
    assert_eq!(ns.body["environment_variables"], json!({}));
    assert_eq!(ns.body["tags"], json!([]));
    api.wait_status(&format!("/namespaces/{}", id(&ns.body)), "ready")
        .await;

    // What the Go SDK sends for an unset container: unknown_* enums and null collections.
    let c = api
        .post(
            "/containers",
            json!({
                "namespace_id": id(&ns.body),
                "name": "go-style",
                "image": "nginx",
                "privacy": "unknown_privacy",
                "protocol": "",
                "sandbox": "unknown_sandbox",
                "environment_variables": null,
                "command": null,
                "args": null,
                "min_scale": null,
                "timeout": "2.5s",
                "enable_private_endpoint": true,
            }),
        )
        .await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    assert_eq!(c.body["privacy"], "public");
    assert_eq!(c.body["protocol"], "http1");
    assert_eq!(c.body["sandbox"], "v2");
    assert_eq!(c.body["timeout"], "2.5s");
    assert_eq!(c.body["command"], json!([]));

    // Content-Type variants: none at all, and curl's default.
    let raw = api
        .client
        .get(api.url(&format!("/containers/{}", id(&c.body))))
        .header("x-auth-token", "lowercase-header")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let form = api
        .client
        .post(api.url("/namespaces"))
        .header("X-AUTH-TOKEN", "t")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(json!({ "name": "curl-style", "project_id": PROJECT }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
}

#[tokio::test]
async fn every_response_field_is_present() {
    let api = Api::with_delays(10, 10).await;
    let (ns, c) = api.ready_container("shape", "web").await;
    let namespace_fields = [
        "id",
        "name",
        "organization_id",
        "project_id",
        "description",
        "status",
        "error_message",
        "environment_variables",
        "secret_environment_variables",
        "tags",
        "created_at",
        "updated_at",
        "region",
    ];
    assert_exact_fields(&ns, &namespace_fields);
    assert_eq!(
        ns["organization_id"],
        scaleway_emulator::DEFAULT_ORGANIZATION_ID
    );
    let container_fields = [
        "id",
        "name",
        "namespace_id",
        "description",
        "status",
        "error_message",
        "created_at",
        "updated_at",
        "environment_variables",
        "secret_environment_variables",
        "min_scale",
        "max_scale",
        "memory_limit_bytes",
        "mvcpu_limit",
        "local_storage_limit_bytes",
        "timeout",
        "privacy",
        "image",
        "protocol",
        "port",
        "https_connections_only",
        "sandbox",
        "scaling_option",
        "liveness_probe",
        "startup_probe",
        "tags",
        "private_network_id",
        "command",
        "args",
        "public_endpoint",
        "region",
    ];
    assert_exact_fields(&c, &container_fields);
    assert_eq!(c["timeout"], "300s");
    assert_exact_fields(
        &c["liveness_probe"],
        &["failure_threshold", "interval", "timeout", "tcp", "http"],
    );
    assert_eq!(c["liveness_probe"]["tcp"], json!({}));
    assert_eq!(c["scaling_option"]["concurrent_requests_threshold"], 50);
    assert_eq!(c["scaling_option"]["cpu_usage_threshold"], Value::Null);
    let created_at = c["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.contains('T'),
        "{created_at}"
    );

    let trigger = api.create_cron_trigger(&id(&c), "tick").await;
    assert_exact_fields(
        &trigger,
        &[
            "id",
            "name",
            "description",
            "tags",
            "status",
            "error_message",
            "container_id",
            "destination_config",
            "source_type",
            "cron_config",
            "sqs_config",
            "nats_config",
            "created_at",
            "updated_at",
        ],
    );
    assert_eq!(trigger["source_type"], "cron");
    assert_eq!(
        trigger["destination_config"],
        json!({ "http_path": "/", "http_method": "post" })
    );
    assert_eq!(trigger["cron_config"]["headers"], json!({}));
    assert_eq!(trigger["cron_config"]["body"], "");
    assert_eq!(trigger["sqs_config"], Value::Null);

    let domain = api
        .post(
            "/domains",
            json!({ "container_id": id(&c), "hostname": "a.example.com" }),
        )
        .await;
    assert_exact_fields(
        &domain.body,
        &[
            "id",
            "container_id",
            "hostname",
            "status",
            "error_message",
            "created_at",
            "updated_at",
            "tags",
        ],
    );

    let info = api.get("").await;
    assert_eq!(info.status, 200);
    assert_exact_fields(
        &info.body,
        &[
            "name",
            "description",
            "version",
            "documentation_url",
            "built_at",
            "git_commit",
        ],
    );
}

fn assert_exact_fields(body: &Value, fields: &[&str]) {
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"));
    let mut actual: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected = fields.to_vec();
    actual.sort_unstable();
    expected.sort_unstable();
    assert_eq!(actual, expected);
}

#[tokio::test]
async fn https_connection_only_spellings_on_patch() {
    let api = Api::with_delays(10, 10).await;
    let (_, c) = api.ready_container("spell", "web").await;
    let path = format!("/containers/{}", id(&c));
    let singular = api
        .patch(&path, json!({ "https_connection_only": true }))
        .await;
    assert_eq!(singular.body["https_connections_only"], true);
    api.wait_status(&path, "ready").await;
    let plural = api
        .patch(&path, json!({ "https_connections_only": false }))
        .await;
    assert_eq!(plural.body["https_connections_only"], false);
}

#[tokio::test]
async fn patch_replaces_maps_and_keeps_absent_fields() {
    let api = Api::with_delays(10, 10).await;
    let ns = api.create_namespace("patchy").await;
    api.wait_status(&format!("/namespaces/{}", id(&ns)), "ready")
        .await;
    let body = json!({
        "namespace_id": id(&ns), "name": "web", "image": "nginx",
        "environment_variables": { "A": "1", "B": "2" }, "tags": ["x"], "port": 80,
    });
    let c = api.post("/containers", body).await.body;
    let path = format!("/containers/{}", id(&c));
    api.wait_status(&path, "ready").await;
    let updated = api.patch(&path, json!({ "environment_variables": { "C": "3" }, "scaling_option": { "memory_usage_threshold": 80 } })).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["environment_variables"], json!({ "C": "3" }));
    assert_eq!(updated.body["tags"], json!(["x"]));
    assert_eq!(updated.body["port"], 80);
    assert_eq!(updated.body["scaling_option"]["memory_usage_threshold"], 80);
    assert_eq!(
        updated.body["scaling_option"]["concurrent_requests_threshold"],
        Value::Null
    );
    api.wait_status(&path, "ready").await;
    let bad = api
        .patch(&path, json!({ "max_scale": 1, "min_scale": 2 }))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        api.get(&path).await.body["status"],
        "ready",
        "a rejected patch changes nothing"
    );
}

#[tokio::test]
async fn trigger_validation() {
    let api = Api::with_delays(10, 10).await;
    let (_, c) = api.ready_container("trig", "web").await;
    let c_id = id(&c);
    let none = api
        .post("/triggers", json!({ "container_id": c_id, "name": "t" }))
        .await;
    assert_eq!(argument_names(&none.body), ["source_config"]);
    assert_eq!(reason_for(&none.body, "source_config"), "required");

    let two = api
        .post(
            "/triggers",
            json!({
                "container_id": c_id, "name": "t",
                "cron_config": { "schedule": "* * * * *", "timezone": "UTC" },
                "nats_config": { "server_urls": ["nats://x:4222"], "subject": "s", "credentials_file_content": "c" },
            }),
        )
        .await;
    assert_eq!(reason_for(&two.body, "source_config"), "constraint");

    let bad_cron = api
        .post(
            "/triggers",
            json!({
                "container_id": c_id, "name": "t",
                "cron_config": { "schedule": "* * * *", "timezone": "Mars/Olympus" },
                "destination_config": { "http_path": "no-slash", "http_method": "GET" },
            }),
        )
        .await;
    let names = argument_names(&bad_cron.body);
    for expected in [
        "cron_config.schedule",
        "cron_config.timezone",
        "destination_config.http_path",
        "destination_config.http_method",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    let sqs_missing = api
        .post(
            "/triggers",
            json!({ "container_id": c_id, "name": "t", "sqs_config": { "region": "fr-par" } }),
        )
        .await;
    let names = argument_names(&sqs_missing.body);
    for expected in [
        "sqs_config.endpoint",
        "sqs_config.access_key_id",
        "sqs_config.secret_access_key",
        "sqs_config.queue_url",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    let unknown_container = api
        .post(
            "/triggers",
            json!({ "container_id": UUID, "name": "t", "cron_config": { "schedule": "* * * * *", "timezone": "UTC" } }),
        )
        .await;
    assert_eq!(unknown_container.status, 400);
    assert_eq!(
        reason_for(&unknown_container.body, "container_id"),
        "constraint"
    );

    let trigger = api.create_cron_trigger(&c_id, "tick").await;
    let path = format!("/triggers/{}", id(&trigger));
    api.wait_status(&path, "ready").await;
    let switch = api
        .patch(
            &path,
            json!({ "nats_config": { "server_urls": ["nats://x:4222"], "subject": "s" } }),
        )
        .await;
    assert_eq!(switch.status, 400);
    assert_eq!(reason_for(&switch.body, "nats_config"), "constraint");
    assert_eq!(api.get(&path).await.body["source_type"], "cron");
}

#[tokio::test]
async fn domain_validation() {
    let api = Api::with_delays(10, 10).await;
    let (_, c) = api.ready_container("dom", "web").await;
    let bad = api
        .post(
            "/domains",
            json!({ "container_id": "x", "hostname": "not a host" }),
        )
        .await;
    let mut names = argument_names(&bad.body);
    names.sort();
    assert_eq!(names, ["container_id", "hostname"]);
    let first = api
        .post(
            "/domains",
            json!({ "container_id": id(&c), "hostname": "api.example.com" }),
        )
        .await;
    assert_eq!(first.status, 200);
    let dup = api
        .post(
            "/domains",
            json!({ "container_id": id(&c), "hostname": "api.example.com" }),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["type"], "already_exists");
    assert_eq!(dup.body["resource"], "domain");
    assert_eq!(dup.body["resource_id"], first.body["id"]);
}

#[tokio::test]
async fn body_references_to_missing_parents_are_400() {
    let api = Api::with_delays(10, 10).await;
    let answer = api
        .post(
            "/containers",
            json!({ "namespace_id": UUID, "name": "web", "image": "nginx" }),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(reason_for(&answer.body, "namespace_id"), "constraint");
    let domain = api
        .post(
            "/domains",
            json!({ "container_id": UUID, "hostname": "a.example.com" }),
        )
        .await;
    assert_eq!(reason_for(&domain.body, "container_id"), "constraint");
}

#[tokio::test]
async fn unknown_ids_in_the_path_are_404() {
    let api = Api::with_delays(10, 10).await;
    for (path, resource) in [
        (format!("/namespaces/{UUID}"), "namespace"),
        (format!("/containers/{UUID}"), "container"),
        (format!("/domains/{UUID}"), "domain"),
        (format!("/triggers/{UUID}"), "trigger"),
        ("/containers/not-a-uuid".to_owned(), "container"),
    ] {
        for method in [Method::GET, Method::DELETE, Method::PATCH] {
            let body = (method == Method::PATCH).then(|| json!({}));
            let answer = api.send(method.clone(), &path, body).await;
            assert_eq!(answer.status, 404, "{method} {path}");
            assert_eq!(answer.body["type"], "not_found");
            assert_eq!(answer.body["resource"], resource);
            assert!(answer.body["message"].is_string());
            assert_eq!(answer.body["resource_id"], path.rsplit('/').next().unwrap());
        }
    }
    let redeploy = api
        .post(&format!("/containers/{UUID}/redeploy"), json!({}))
        .await;
    assert_eq!(redeploy.status, 404);
}

#[tokio::test]
async fn resources_are_regional() {
    let api = Api::with_delays(10, 10).await;
    let ns = api.create_namespace("regional").await;
    let url = format!(
        "{}/containers/v1/regions/nl-ams/namespaces/{}",
        api.running.url(),
        id(&ns)
    );
    assert_eq!(api.send_url(Method::GET, &url, None).await.status, 404);
    let bad_region = format!(
        "{}/containers/v1/regions/us-east/namespaces",
        api.running.url()
    );
    let answer = api.send_url(Method::GET, &bad_region, None).await;
    assert_eq!(answer.status, 400);
    assert_eq!(argument_names(&answer.body), ["region"]);
}

#[tokio::test]
async fn missing_or_empty_token_is_401() {
    let mut api = Api::with_delays(10, 10).await;
    api.token = None;
    let answer = api.get("/namespaces").await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body["type"], "denied_authentication");
    assert_eq!(answer.body["method"], "api_key");
    assert_eq!(answer.body["reason"], "invalid_argument");
    assert!(answer.body["message"].is_string());
    api.token = Some(String::new());
    assert_eq!(api.get("/namespaces").await.status, 401);
    api.token = Some("anything".into());
    assert_eq!(
        api.get("/namespaces").await.status,
        200,
        "any non-empty token by default"
    );
}

#[tokio::test]
async fn restricted_credentials_answer_403_to_other_tokens() {
    let mut api = Api::start(EmulatorConfig {
        credentials: Some(vec!["good-key".into()]),
        ..EmulatorConfig::default()
    })
    .await;
    api.token = Some("bad-key".into());
    let answer = api.delete(&format!("/containers/{UUID}")).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body["type"], "permissions_denied");
    assert_eq!(
        answer.body["details"],
        json!([{ "resource": "container", "action": "delete" }])
    );
    api.token = None;
    assert_eq!(api.get("/namespaces").await.status, 401);
    api.token = Some("good-key".into());
    assert_eq!(api.get("/namespaces").await.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let api = Api::with_delays(10, 10).await;
    let unknown = api.get("/functions").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["message"].is_string());
    let method = api.send(Method::PUT, "/namespaces", Some(json!({}))).await;
    assert_eq!(method.status, 405);
    assert_eq!(method.body["type"], "method_not_allowed");
}
