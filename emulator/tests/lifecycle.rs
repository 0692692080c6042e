//! Life cycles: creating → ready/error, updating, deleting → gone, cascades, 409/412 rules.

mod common;

use std::time::{Duration, Instant};

use common::{Api, DEADLINE, PROJECT, id};
use scaleway_emulator::{EmulatorConfig, Faults};
use serde_json::json;

const DELAY_MS: u64 = 300;

#[tokio::test]
async fn namespace_goes_creating_then_ready_after_the_delay() {
    let api = Api::with_delays(DELAY_MS, DELAY_MS).await;
    let started = Instant::now();
    let ns = api.create_namespace("life").await;
    assert_eq!(ns["status"], "creating");
    assert_eq!(ns["region"], "fr-par");
    assert_eq!(ns["error_message"], serde_json::Value::Null);
    let path = format!("/namespaces/{}", id(&ns));
    loop {
        let answer = api.get(&path).await;
        let elapsed = started.elapsed();
        match answer.body["status"].as_str() {
            Some("creating") => assert!(elapsed < Duration::from_secs(10), "stuck in creating"),
            Some("ready") => {
                assert!(
                    elapsed >= Duration::from_millis(DELAY_MS),
                    "ready too early: {elapsed:?}"
                );
                assert_ne!(
                    answer.body["updated_at"], ns["updated_at"],
                    "updated_at moves on transition"
                );
                assert_eq!(answer.body["created_at"], ns["created_at"]);
                break;
            }
            other => panic!("unexpected status {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn container_create_update_redeploy_delete() {
    let api = Api::with_delays(DELAY_MS, DELAY_MS).await;
    let (ns, c) = api.ready_container("ns-a", "web").await;
    let c_id = id(&c);
    let path = format!("/containers/{c_id}");
    let endpoint = c["public_endpoint"].as_str().unwrap();
    let prefix = "https://ns-a";
    assert!(endpoint.starts_with(prefix), "{endpoint}");
    let suffix = &endpoint[prefix.len()..prefix.len() + 8];
    assert!(
        suffix
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit()),
        "{endpoint}"
    );
    assert_eq!(
        &endpoint[prefix.len() + 8..],
        "-web.functions.fnc.fr-par.scw.cloud"
    );
    assert_eq!(c["namespace_id"], ns["id"]);
    assert_eq!(c["region"], "fr-par");

    api.emulator().set_faults(frozen());
    let updated = api
        .patch(
            &path,
            json!({ "min_scale": 1, "https_connection_only": true }),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["status"], "updating");
    assert_eq!(updated.body["min_scale"], 1);
    assert_eq!(updated.body["https_connections_only"], true);
    let conflict = api.patch(&path, json!({ "min_scale": 2 })).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["type"], "transient_state");
    assert_eq!(conflict.body["resource"], "container");
    assert_eq!(conflict.body["resource_id"], c_id.as_str());
    assert_eq!(conflict.body["current_state"], "updating");
    let redeploy_path = format!("{path}/redeploy");
    assert_eq!(api.post(&redeploy_path, json!({})).await.status, 409);
    assert_eq!(api.delete(&path).await.status, 409);
    api.emulator().set_faults(Faults::default());
    api.wait_status(&path, "ready").await;

    let redeployed = api.post(&format!("{path}/redeploy"), json!({})).await;
    assert_eq!(redeployed.status, 200);
    assert_eq!(redeployed.body["status"], "updating");
    api.wait_status(&path, "ready").await;

    api.emulator().set_faults(frozen());
    let deleted = api.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["status"], "deleting");
    let again = api.delete(&path).await;
    assert_eq!(again.status, 409, "deleting is transient");
    assert_eq!(again.body["current_state"], "deleting");
    api.emulator().set_faults(Faults::default());
    api.wait_gone(&path).await;
    let gone = api.get(&path).await;
    assert_eq!(gone.body["type"], "not_found");
    assert_eq!(gone.body["resource"], "container");
    assert_eq!(gone.body["resource_id"], c_id.as_str());
    assert_eq!(api.emulator().count_resources("containers"), 0);
}

#[tokio::test]
async fn failing_image_ends_in_error_and_can_be_fixed() {
    let api = Api::with_delays(50, 50).await;
    let ns = api.create_namespace("ns-fail").await;
    let ns_id = id(&ns);
    api.wait_status(&format!("/namespaces/{ns_id}"), "ready")
        .await;
    let c = api
        .create_container(&ns_id, "bad", "rg.fr-par.scw.cloud/x/app:fail")
        .await;
    let path = format!("/containers/{}", id(&c));
    let failed = api.wait_status(&path, "error").await;
    assert!(
        failed["error_message"]
            .as_str()
            .unwrap()
            .contains("app:fail"),
        "{failed}"
    );
    let unpullable = api
        .create_container(&ns_id, "bad2", "registry/unpullable/x")
        .await;
    api.wait_status(&format!("/containers/{}", id(&unpullable)), "error")
        .await;

    let fixed = api.patch(&path, json!({ "image": "nginx:1.27" })).await;
    assert_eq!(fixed.status, 200);
    let ready = api.wait_status(&path, "ready").await;
    assert_eq!(ready["error_message"], serde_json::Value::Null);
}

#[tokio::test]
async fn failing_image_rule_is_configurable() {
    let api = Api::start(EmulatorConfig {
        transition_delay: Duration::from_millis(20),
        failing_image_substrings: vec!["broken".into()],
        ..EmulatorConfig::default()
    })
    .await;
    let ns = api.create_namespace("ns").await;
    api.wait_status(&format!("/namespaces/{}", id(&ns)), "ready")
        .await;
    let ok = api.create_container(&id(&ns), "a", "app:fail").await;
    api.wait_status(&format!("/containers/{}", id(&ok)), "ready")
        .await;
    let bad = api.create_container(&id(&ns), "b", "broken:1").await;
    api.wait_status(&format!("/containers/{}", id(&bad)), "error")
        .await;
}

#[tokio::test]
async fn namespace_update_goes_updating_then_ready() {
    let api = Api::with_delays(100, 100).await;
    api.emulator().set_faults(frozen());
    let ns = api.create_namespace("ns-up").await;
    let path = format!("/namespaces/{}", id(&ns));
    assert_eq!(
        api.patch(&path, json!({ "description": "x" })).await.status,
        409,
        "creating is transient"
    );
    api.emulator().set_faults(Faults::default());
    api.wait_status(&path, "ready").await;
    let updated = api
        .patch(&path, json!({ "description": "new", "tags": ["a"] }))
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["status"], "updating");
    assert_eq!(updated.body["description"], "new");
    assert_eq!(updated.body["tags"], json!(["a"]));
    api.wait_status(&path, "ready").await;
}

#[tokio::test]
async fn container_needs_a_ready_namespace() {
    let api = Api::with_delays(200, 200).await;
    api.emulator().set_faults(frozen());
    let ns = api.create_namespace("ns-wait").await;
    let ns_id = id(&ns);
    let early = api
        .post(
            "/containers",
            json!({ "namespace_id": ns_id, "name": "c", "image": "nginx" }),
        )
        .await;
    assert_eq!(early.status, 409);
    assert_eq!(early.body["type"], "transient_state");
    assert_eq!(early.body["resource"], "namespace");
    assert_eq!(early.body["resource_id"], ns_id.as_str());
    assert_eq!(early.body["current_state"], "creating");
    api.emulator().set_faults(Faults::default());

    api.wait_status(&format!("/namespaces/{ns_id}"), "ready")
        .await;
    assert!(
        api.emulator()
            .set_resource_status(&ns_id, "error", Some("quota"))
    );
    let failed = api
        .post(
            "/containers",
            json!({ "namespace_id": ns_id, "name": "c", "image": "nginx" }),
        )
        .await;
    assert_eq!(failed.status, 412);
    assert_eq!(failed.body["type"], "precondition_failed");
    assert!(failed.body["precondition"].is_string());
    assert!(failed.body["help_message"].is_string());

    assert!(api.emulator().set_resource_status(&ns_id, "locked", None));
    let locked = api
        .post(
            "/containers",
            json!({ "namespace_id": ns_id, "name": "c", "image": "nginx" }),
        )
        .await;
    assert_eq!(locked.status, 409);
    assert_eq!(locked.body["type"], "locked");
    let patch_locked = api
        .patch(
            &format!("/namespaces/{ns_id}"),
            json!({ "description": "x" }),
        )
        .await;
    assert_eq!(patch_locked.status, 409);
    assert_eq!(patch_locked.body["type"], "locked");
    assert_eq!(patch_locked.body["resource_id"], ns_id.as_str());
}

#[tokio::test]
async fn deleting_a_namespace_cascades() {
    let api = Api::with_delays(50, 300).await;
    let (ns, c) = api.ready_container("ns-cascade", "web").await;
    let (ns_id, c_id) = (id(&ns), id(&c));
    let trigger = api.create_cron_trigger(&c_id, "tick").await;
    let domain = api
        .post(
            "/domains",
            json!({ "container_id": c_id, "hostname": "app.example.com" }),
        )
        .await;
    assert_eq!(domain.status, 200, "{:?}", domain.body);
    let trigger_path = format!("/triggers/{}", id(&trigger));
    let domain_path = format!("/domains/{}", id(&domain.body));
    api.wait_status(&trigger_path, "ready").await;
    api.wait_status(&domain_path, "ready").await;

    let deleted = api.delete(&format!("/namespaces/{ns_id}")).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["status"], "deleting");
    for path in [
        format!("/containers/{c_id}"),
        trigger_path.clone(),
        domain_path.clone(),
    ] {
        let answer = api.get(&path).await;
        assert!(
            answer.status == 404 || answer.body["status"] == "deleting",
            "{path}: {:?}",
            answer.body
        );
    }
    api.wait_gone(&format!("/namespaces/{ns_id}")).await;
    for path in [format!("/containers/{c_id}"), trigger_path, domain_path] {
        assert_eq!(api.get(&path).await.status, 404, "{path}");
    }
    for kind in ["namespaces", "containers", "domains", "triggers"] {
        assert_eq!(api.emulator().count_resources(kind), 0, "{kind}");
    }
}

#[tokio::test]
async fn deleting_a_container_cascades_to_its_triggers_and_domains_only() {
    let api = Api::with_delays(30, 200).await;
    let (ns, a) = api.ready_container("ns-two", "a").await;
    let b = api.create_container(&id(&ns), "b", "nginx").await;
    api.wait_status(&format!("/containers/{}", id(&b)), "ready")
        .await;
    let ta = api.create_cron_trigger(&id(&a), "ta").await;
    let tb = api.create_cron_trigger(&id(&b), "tb").await;
    api.wait_status(&format!("/triggers/{}", id(&ta)), "ready")
        .await;
    api.wait_status(&format!("/triggers/{}", id(&tb)), "ready")
        .await;
    api.emulator().set_faults(frozen());
    let deleted = api.delete(&format!("/containers/{}", id(&a))).await;
    assert_eq!(deleted.body["status"], "deleting");
    assert_eq!(
        api.get(&format!("/triggers/{}", id(&ta))).await.body["status"],
        "deleting"
    );
    assert_eq!(
        api.get(&format!("/triggers/{}", id(&tb))).await.body["status"],
        "ready"
    );
    api.emulator().set_faults(Faults::default());
    api.wait_gone(&format!("/triggers/{}", id(&ta))).await;
    api.wait_gone(&format!("/containers/{}", id(&a))).await;
    assert_eq!(api.get(&format!("/triggers/{}", id(&tb))).await.status, 200);
    assert_eq!(
        api.get(&format!("/namespaces/{}", id(&ns))).await.status,
        200
    );
    assert_eq!(api.emulator().count_resources("triggers"), 1);
}

#[tokio::test]
async fn trigger_and_domain_life_cycles() {
    let api = Api::with_delays(50, 50).await;
    let (_, c) = api.ready_container("ns-t", "web").await;
    let trigger = api.create_cron_trigger(&id(&c), "tick").await;
    assert_eq!(trigger["status"], "creating");
    let path = format!("/triggers/{}", id(&trigger));
    api.wait_status(&path, "ready").await;
    let updated = api
        .patch(&path, json!({ "cron_config": { "schedule": "0 * * * *" } }))
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["status"], "updating");
    assert_eq!(updated.body["cron_config"]["schedule"], "0 * * * *");
    assert_eq!(
        updated.body["cron_config"]["timezone"], "Europe/Paris",
        "sub-fields merge"
    );
    api.wait_status(&path, "ready").await;
    assert_eq!(api.delete(&path).await.body["status"], "deleting");
    api.wait_gone(&path).await;

    let domain = api
        .post(
            "/domains",
            json!({ "container_id": id(&c), "hostname": "x.example.org" }),
        )
        .await;
    assert_eq!(domain.body["status"], "creating");
    let domain_path = format!("/domains/{}", id(&domain.body));
    api.wait_status(&domain_path, "ready").await;
    let tagged = api.patch(&domain_path, json!({ "tags": ["t"] })).await;
    assert_eq!(tagged.status, 200);
    assert_eq!(
        tagged.body["status"], "ready",
        "a tag update redeploys nothing"
    );
    assert_eq!(tagged.body["tags"], json!(["t"]));
}

#[tokio::test]
async fn triggers_need_a_ready_container() {
    let api = Api::with_delays(30, 50).await;
    let ns = api.create_namespace("ns-tc").await;
    api.wait_status(&format!("/namespaces/{}", id(&ns)), "ready")
        .await;
    api.emulator().set_faults(frozen());
    let c = api.create_container(&id(&ns), "web", "nginx").await;
    let body = json!({
        "container_id": id(&c),
        "name": "early",
        "cron_config": { "schedule": "* * * * *", "timezone": "UTC" },
    });
    let early = api.post("/triggers", body.clone()).await;
    assert_eq!(early.status, 409);
    assert_eq!(early.body["resource"], "container");
    assert_eq!(early.body["current_state"], "creating");
    api.emulator().set_faults(Faults::default());
    api.wait_status(&format!("/containers/{}", id(&c)), "ready")
        .await;
    assert_eq!(api.post("/triggers", body).await.status, 200);
}

/// Faults that only freeze life-cycle transitions.
fn frozen() -> Faults {
    Faults {
        stuck_transient: true,
        ..Faults::default()
    }
}

#[tokio::test]
async fn stuck_transient_freezes_transitions_until_cleared() {
    let api = Api::start(EmulatorConfig {
        transition_delay: Duration::from_millis(20),
        faults: Faults {
            stuck_transient: true,
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let ns = api.create_namespace("ns-stuck").await;
    let path = format!("/namespaces/{}", id(&ns));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(api.get(&path).await.body["status"], "creating");
    api.emulator().set_faults(Faults::default());
    api.wait_status(&path, "ready").await;
}

#[tokio::test]
async fn names_are_unique_while_the_old_resource_exists() {
    let api = Api::with_delays(20, 100).await;
    let ns = api.create_namespace("dup").await;
    let again = api
        .post(
            "/namespaces",
            json!({ "name": "dup", "project_id": PROJECT }),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["type"], "already_exists");
    assert_eq!(again.body["resource"], "namespace");
    assert_eq!(again.body["resource_id"], ns["id"]);
    assert!(again.body["help_message"].is_string());
    let other_project = api
        .post(
            "/namespaces",
            json!({ "name": "dup", "project_id": common::OTHER_PROJECT }),
        )
        .await;
    assert_eq!(other_project.status, 200, "unique per project only");

    let path = format!("/namespaces/{}", id(&ns));
    api.wait_status(&path, "ready").await;
    let c = api.create_container(&id(&ns), "web", "nginx").await;
    let dup = api
        .post(
            "/containers",
            json!({ "namespace_id": id(&ns), "name": "web", "image": "x" }),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["resource_id"], c["id"]);
    api.wait_status(&format!("/containers/{}", id(&c)), "ready")
        .await;

    api.delete(&path).await;
    let started = Instant::now();
    loop {
        let answer = api
            .post(
                "/namespaces",
                json!({ "name": "dup", "project_id": PROJECT }),
            )
            .await;
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 409, "{:?}", answer.body);
        assert!(started.elapsed() < DEADLINE);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
