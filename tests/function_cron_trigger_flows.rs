//! ServerlessFunctionCron and ServerlessFunctionTrigger through the real controllers, against
//! the emulator's Functions API and the in-memory Kubernetes API: create, the smallest
//! update, no writes once settled, recovery of a create whose status write was lost (the
//! cron's intent record, the trigger's owner mark), refusal then adoption of a foreign
//! resource, immutable sources, deletion and Orphan, and a function whose deletion waits for
//! its crons and triggers.

mod support;

use std::time::Duration;

use kube::api::{DeleteParams, Patch, PatchParams};
use scaleway_serverless_operator::crd::{
    ServerlessFunction, ServerlessFunctionCron, ServerlessFunctionTrigger,
};
use scaleway_serverless_operator::scaleway::functions::types::{
    CreateCronRequest, CreateTriggerRequest, ScwSqsConfigRequest, TriggerConfig,
};
use serde_json::{Value, json};
use support::*;

const POST_CRONS: &str = "POST /functions/v1beta1/regions/{region}/crons";
const PATCH_CRON: &str = "PATCH /functions/v1beta1/regions/{region}/crons/{cron_id}";
const POST_TRIGGERS: &str = "POST /functions/v1beta1/regions/{region}/triggers";
const PATCH_TRIGGER: &str = "PATCH /functions/v1beta1/regions/{region}/triggers/{trigger_id}";
const MNQ_PROJECT: &str = "11111111-2222-4333-8444-555555555555";

fn cron_yaml(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessFunctionCron\nmetadata:\n  name: {name}\nspec:\n  functionRef:\n    name: hello\n  schedule: \"0 3 * * *\"\n  args:\n    job: report\n    options:\n      dryRun: false\n      days: [1, 2]\n{extra}"
    )
}

fn trigger_yaml(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessFunctionTrigger\nmetadata:\n  name: {name}\nspec:\n  functionRef:\n    name: hello\n  description: billing jobs\n  sqs:\n    queue: jobs\n    mnqProjectId: {MNQ_PROJECT}\n    mnqRegion: fr-par\n{extra}"
    )
}

fn remote(h: &Harness, table: &str) -> Vec<Value> {
    h.emulator.emulator.state()["functions_api"][table]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn remote_named(h: &Harness, table: &str, name: &str) -> Vec<Value> {
    remote(h, table)
        .into_iter()
        .filter(|r| r["name"] == name)
        .collect()
}

async fn patch<K>(h: &Harness, name: &str, patch: Value)
where
    K: TestObject,
{
    h.api::<K>()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

async fn delete<K>(h: &Harness, name: &str)
where
    K: TestObject,
{
    h.api::<K>()
        .delete(name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete {name}: {e}"));
}

/// The Ready condition's reason and message of a cron, as a test failure shows it.
async fn ready_reason<K>(h: &Harness, name: &str, reason: &str) -> String
where
    K: TestObject,
{
    h.until(&format!("{name} Ready=False {reason}"), || async {
        let object = h.api::<K>().get(name).await.map_err(|e| e.to_string())?;
        let value = serde_json::to_value(&object).unwrap_or_default();
        let conditions = value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        conditions
            .iter()
            .find(|c| c["type"] == "Ready" && c["status"] == "False" && c["reason"] == reason)
            .map(|c| c["message"].as_str().unwrap_or_default().to_owned())
            .ok_or_else(|| serde_json::to_string(&value["status"]).unwrap_or_default())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_is_created_updated_recovered_adopted_and_deleted() {
    let h = harness().await;
    let function = h.ready_function().await;
    let function_id = function.status.and_then(|s| s.id).unwrap_or_default();

    // Create: one POST, with the args as written; the intent record is gone once Ready.
    h.apply::<ServerlessFunctionCron>(&cron_yaml("nightly", ""))
        .await;
    let cron = h
        .condition::<ServerlessFunctionCron>("nightly", "Ready", "True")
        .await;
    let status = cron.status.clone().unwrap_or_default();
    let crons = remote(&h, "crons");
    assert_eq!(crons.len(), 1, "{crons:?}");
    assert_eq!(crons[0]["name"], "nightly");
    assert_eq!(crons[0]["schedule"], "0 3 * * *");
    assert_eq!(crons[0]["function_id"], function_id.as_str());
    assert_eq!(
        crons[0]["args"],
        json!({"job": "report", "options": {"dryRun": false, "days": [1, 2]}})
    );
    assert_eq!(status.id.as_deref(), crons[0]["id"].as_str());
    assert_eq!(status.function_id.as_deref(), Some(function_id.as_str()));
    assert_eq!(status.create_requested, None, "{status:?}");
    assert_eq!(h.calls(POST_CRONS), 1);

    // Settled: nothing is written.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.calls(POST_CRONS), 1);
    assert_eq!(h.calls(PATCH_CRON), 0);

    // A new schedule: exactly one PATCH, and the same cron.
    patch::<ServerlessFunctionCron>(&h, "nightly", json!({"spec": {"schedule": "30 4 * * 1"}}))
        .await;
    h.until("the new schedule at Scaleway", || async {
        let crons = remote(&h, "crons");
        (crons.len() == 1 && crons[0]["schedule"] == "30 4 * * 1")
            .then_some(())
            .ok_or_else(|| format!("{crons:?}"))
    })
    .await;
    h.condition::<ServerlessFunctionCron>("nightly", "Ready", "True")
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.calls(PATCH_CRON), 1);
    assert_eq!(h.calls(POST_CRONS), 1);

    // A create whose status write was lost (the operator died right after the POST): the
    // intent names the cron, so it is taken, not created again.
    let api = h.scaleway.functions("fr-par");
    let lost = api
        .create_cron(&CreateCronRequest {
            function_id: function_id.clone(),
            schedule: "0 0 * * *".into(),
            args: None,
            name: Some("weekly".into()),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessFunctionCron>(&cron_yaml("weekly", "  managementPolicy: Paused\n"))
        .await;
    h.api::<ServerlessFunctionCron>()
        .patch_status(
            "weekly",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"createRequested": "weekly"}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    patch::<ServerlessFunctionCron>(
        &h,
        "weekly",
        json!({"spec": {"managementPolicy": "Manage"}}),
    )
    .await;
    let weekly = h
        .until("the lost cron recorded", || async {
            let object = h
                .api::<ServerlessFunctionCron>()
                .get("weekly")
                .await
                .map_err(|e| e.to_string())?;
            let status = object.status.clone().unwrap_or_default();
            if status.id.as_deref() == Some(lost.id.as_str()) && status.create_requested.is_none() {
                Ok(status)
            } else {
                Err(format!("{status:?}"))
            }
        })
        .await;
    assert_eq!(weekly.id.as_deref(), Some(lost.id.as_str()));
    assert_eq!(remote_named(&h, "crons", "weekly").len(), 1);
    assert_eq!(h.calls(POST_CRONS), 2, "only the test's own create");
    h.until("the found cron brought to the spec", || async {
        let found = remote_named(&h, "crons", "weekly");
        (found.len() == 1
            && found[0]["schedule"] == "0 3 * * *"
            && found[0]["args"]["job"] == "report")
            .then_some(())
            .ok_or_else(|| format!("{found:?}"))
    })
    .await;

    // Someone else's cron with the wanted name: refused, nothing created; Adopt takes it.
    let foreign = api
        .create_cron(&CreateCronRequest {
            function_id: function_id.clone(),
            schedule: "15 * * * *".into(),
            args: None,
            name: Some("hourly".into()),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessFunctionCron>(&cron_yaml("hourly", ""))
        .await;
    let message = ready_reason::<ServerlessFunctionCron>(&h, "hourly", "AdoptionRequired").await;
    assert!(message.contains("adoptionPolicy"), "{message}");
    assert_eq!(
        h.calls(POST_CRONS),
        3,
        "no create beside someone else's cron"
    );
    patch::<ServerlessFunctionCron>(&h, "hourly", json!({"spec": {"adoptionPolicy": "Adopt"}}))
        .await;
    let hourly = h
        .condition::<ServerlessFunctionCron>("hourly", "Ready", "True")
        .await;
    assert_eq!(
        hourly.status.and_then(|s| s.id).as_deref(),
        Some(foreign.id.as_str())
    );
    assert!(
        h.events().await.iter().any(|e| e.starts_with("Adopted")),
        "an Adopted event"
    );

    // The function waits for its crons before it goes.
    delete::<ServerlessFunction>(&h, "hello").await;
    h.until("the function waits for its crons", || async {
        let function = h
            .api::<ServerlessFunction>()
            .get("hello")
            .await
            .map_err(|e| e.to_string())?;
        let text = serde_json::to_string(&function.status).unwrap_or_default();
        text.contains("ServerlessFunctionCron")
            .then_some(())
            .ok_or(text)
    })
    .await;
    assert_eq!(remote(&h, "crons").len(), 3);

    // Orphan leaves the cron; Delete deletes it; then the function goes.
    patch::<ServerlessFunctionCron>(&h, "hourly", json!({"spec": {"deletionPolicy": "Orphan"}}))
        .await;
    delete::<ServerlessFunctionCron>(&h, "hourly").await;
    h.gone::<ServerlessFunctionCron>("hourly").await;
    assert_eq!(remote_named(&h, "crons", "hourly").len(), 1, "orphaned");
    delete::<ServerlessFunctionCron>(&h, "nightly").await;
    delete::<ServerlessFunctionCron>(&h, "weekly").await;
    h.gone::<ServerlessFunctionCron>("nightly").await;
    h.gone::<ServerlessFunctionCron>("weekly").await;
    assert!(remote_named(&h, "crons", "nightly").is_empty());
    assert!(remote_named(&h, "crons", "weekly").is_empty());
    h.gone::<ServerlessFunction>("hello").await;
    assert_eq!(h.remote_count("functions"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_is_created_marked_renamed_recovered_adopted_and_deleted() {
    let h = harness().await;
    let function = h.ready_function().await;
    let function_id = function.status.and_then(|s| s.id).unwrap_or_default();

    // Create: one POST; the description carries the owner mark; status shows the source.
    let created = h
        .apply::<ServerlessFunctionTrigger>(&trigger_yaml("jobs", ""))
        .await;
    let uid = created.metadata.uid.clone().unwrap_or_default();
    let trigger = h
        .condition::<ServerlessFunctionTrigger>("jobs", "Ready", "True")
        .await;
    let status = trigger.status.clone().unwrap_or_default();
    let triggers = remote(&h, "function_triggers");
    assert_eq!(triggers.len(), 1, "{triggers:?}");
    assert_eq!(
        triggers[0]["description"],
        format!("billing jobs [k8s-owner-uid={uid}]")
    );
    assert_eq!(triggers[0]["scw_sqs_config"]["queue"], "jobs");
    assert_eq!(status.source_type.as_deref(), Some("scw_sqs"));
    assert!(status.mnq_credential_id.is_some(), "{status:?}");
    assert_eq!(h.calls(POST_TRIGGERS), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.calls(PATCH_TRIGGER), 0, "nothing written once settled");

    // A new description: one PATCH, the mark kept.
    patch::<ServerlessFunctionTrigger>(&h, "jobs", json!({"spec": {"description": "all jobs"}}))
        .await;
    h.until("the new description at Scaleway", || async {
        let triggers = remote(&h, "function_triggers");
        (triggers.len() == 1
            && triggers[0]["description"] == format!("all jobs [k8s-owner-uid={uid}]"))
        .then_some(())
        .ok_or_else(|| format!("{triggers:?}"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.calls(PATCH_TRIGGER), 1);

    // The source cannot change: the API server refuses it.
    let refused = h
        .api::<ServerlessFunctionTrigger>()
        .patch(
            "jobs",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"sqs": {"queue": "other"}}})),
        )
        .await;
    let message = format!("{refused:?}");
    assert!(message.contains("sqs is immutable"), "{message}");

    // A NATS trigger.
    h.apply::<ServerlessFunctionTrigger>(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessFunctionTrigger\nmetadata:\n  name: events\nspec:\n  functionRef:\n    name: hello\n  nats:\n    subject: orders.created\n    mnqNatsAccountId: account-1\n    mnqRegion: nl-ams\n",
    )
    .await;
    let events = h
        .condition::<ServerlessFunctionTrigger>("events", "Ready", "True")
        .await;
    assert_eq!(
        events.status.and_then(|s| s.source_type).as_deref(),
        Some("scw_nats")
    );

    // Someone else's trigger with the wanted name: refused, then adopted and marked.
    let api = h.scaleway.functions("fr-par");
    let sqs = |queue: &str| {
        TriggerConfig::ScwSqsConfig(ScwSqsConfigRequest {
            queue: queue.into(),
            mnq_project_id: MNQ_PROJECT.into(),
            mnq_region: "fr-par".into(),
        })
    };
    let foreign = api
        .create_trigger(&CreateTriggerRequest {
            name: "by-hand".into(),
            function_id: function_id.clone(),
            description: Some("made in the console".into()),
            config: sqs("jobs"),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let by_hand = h
        .apply::<ServerlessFunctionTrigger>(&trigger_yaml("by-hand", ""))
        .await;
    ready_reason::<ServerlessFunctionTrigger>(&h, "by-hand", "AdoptionRequired").await;
    let posts = h.calls(POST_TRIGGERS);
    patch::<ServerlessFunctionTrigger>(&h, "by-hand", json!({"spec": {"adoptionPolicy": "Adopt"}}))
        .await;
    h.condition::<ServerlessFunctionTrigger>("by-hand", "Ready", "True")
        .await;
    let adopted = remote_named(&h, "function_triggers", "by-hand");
    assert_eq!(adopted.len(), 1);
    assert_eq!(adopted[0]["id"], foreign.id.as_str());
    let by_hand_uid = by_hand.metadata.uid.unwrap_or_default();
    assert_eq!(
        adopted[0]["description"],
        format!("billing jobs [k8s-owner-uid={by_hand_uid}]")
    );
    assert_eq!(h.calls(POST_TRIGGERS), posts, "adopted, not created");

    // A trigger created for an object whose status write was lost carries its mark: it is
    // taken, not created again.
    let planted = h
        .apply::<ServerlessFunctionTrigger>(&trigger_yaml("lost", "  managementPolicy: Paused\n"))
        .await;
    let planted_uid = planted.metadata.uid.unwrap_or_default();
    let lost = api
        .create_trigger(&CreateTriggerRequest {
            name: "lost".into(),
            function_id: function_id.clone(),
            description: Some(format!("billing jobs [k8s-owner-uid={planted_uid}]")),
            config: sqs("jobs"),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let posts = h.calls(POST_TRIGGERS);
    patch::<ServerlessFunctionTrigger>(&h, "lost", json!({"spec": {"managementPolicy": "Manage"}}))
        .await;
    let found = h
        .condition::<ServerlessFunctionTrigger>("lost", "Ready", "True")
        .await;
    assert_eq!(found.status.and_then(|s| s.id), Some(lost.id.clone()));
    assert_eq!(h.calls(POST_TRIGGERS), posts);
    assert!(
        !h.events()
            .await
            .iter()
            .any(|e| e.contains(&lost.id) && e.starts_with("Adopted")),
        "its own trigger is not 'adopted'"
    );

    // Deletion: every trigger goes, and then the function.
    for name in ["jobs", "events", "by-hand", "lost"] {
        delete::<ServerlessFunctionTrigger>(&h, name).await;
    }
    delete::<ServerlessFunction>(&h, "hello").await;
    for name in ["jobs", "events", "by-hand", "lost"] {
        h.gone::<ServerlessFunctionTrigger>(name).await;
    }
    h.gone::<ServerlessFunction>("hello").await;
    assert!(remote(&h, "function_triggers").is_empty());
    assert_eq!(h.remote_count("functions"), 0);
}

/// Waits until exactly one remote resource of `table` is named `name`, and its object is
/// Ready with that resource's ID.
async fn exactly_one<K>(h: &Harness, table: &str, name: &str)
where
    K: TestObject,
{
    h.until(&format!("exactly one {name} in {table}"), || async {
        let found = remote_named(h, table, name);
        let object = h.api::<K>().get(name).await.map_err(|e| e.to_string())?;
        let value = serde_json::to_value(&object).unwrap_or_default();
        let ready = value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        let id = value.pointer("/status/id").cloned().unwrap_or_default();
        if found.len() == 1 && ready && found[0]["id"] == id {
            Ok(())
        } else {
            Err(format!(
                "{} remote, ready {ready}, status id {id}",
                found.len()
            ))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_and_late_creates_of_crons_and_triggers_make_no_duplicates() {
    let h = support::start(Options {
        retry_max: Some(Duration::from_secs(2)),
        request_timeout: Some(Duration::from_millis(300)),
        saboteur: true,
        ..Options::default()
    })
    .await;
    h.ready_function().await;
    let saboteur = h.saboteur.as_ref().unwrap_or_else(|| panic!("no saboteur"));

    // A create carried out whose answer is lost: the cron's intent record and the trigger's
    // owner mark make the next look take it back; nothing is created again.
    saboteur.arm(Sabotage {
        method: "POST",
        path_contains: "/crons",
        mode: Mode::LoseAnswer,
        count: 1,
    });
    h.apply::<ServerlessFunctionCron>(&cron_yaml("lost-answer", ""))
        .await;
    exactly_one::<ServerlessFunctionCron>(&h, "crons", "lost-answer").await;
    assert_eq!(saboteur.done(), 1);
    assert_eq!(h.calls(POST_CRONS), 1, "taken back, not created again");
    saboteur.arm(Sabotage {
        method: "POST",
        path_contains: "/triggers",
        mode: Mode::LoseAnswer,
        count: 1,
    });
    h.apply::<ServerlessFunctionTrigger>(&trigger_yaml("lost-answer", ""))
        .await;
    exactly_one::<ServerlessFunctionTrigger>(&h, "function_triggers", "lost-answer").await;
    assert_eq!(saboteur.done(), 1);
    assert_eq!(h.calls(POST_TRIGGERS), 1, "taken back, not created again");

    // A create carried out late, after the client gave up and the retry created another:
    // the late one is a duplicate of ours and is deleted.
    for (path, kind) in [("/crons", "crons"), ("/triggers", "function_triggers")] {
        saboteur.arm(Sabotage {
            method: "POST",
            path_contains: path,
            // Later than the retry (about 1 s after the first attempt times out at 0.3 s),
            // so the retry creates one first and the late create makes a duplicate.
            mode: Mode::Late(Duration::from_secs(4)),
            count: 1,
        });
        if kind == "crons" {
            h.apply::<ServerlessFunctionCron>(&cron_yaml("late", ""))
                .await;
            exactly_one::<ServerlessFunctionCron>(&h, kind, "late").await;
        } else {
            h.apply::<ServerlessFunctionTrigger>(&trigger_yaml("late", ""))
                .await;
            exactly_one::<ServerlessFunctionTrigger>(&h, kind, "late").await;
        }
        assert_eq!(saboteur.done(), 1);
        // The late create lands 4 s after the first attempt; give it time, and the
        // reconciles after it (every 2 s while a lost create may land), then look again.
        tokio::time::sleep(Duration::from_secs(5)).await;
        if kind == "crons" {
            exactly_one::<ServerlessFunctionCron>(&h, kind, "late").await;
        } else {
            exactly_one::<ServerlessFunctionTrigger>(&h, kind, "late").await;
        }
    }
    let duplicates = h.count_events("DuplicateDeleted").await;
    eprintln!(
        "late creates: {} cron and {} trigger create calls, {duplicates} duplicates deleted",
        h.calls(POST_CRONS),
        h.calls(POST_TRIGGERS)
    );
    // Each late object's create went out at most twice (the late attempt and one retry),
    // and each duplicate the retry made was deleted.
    assert!(h.calls(POST_CRONS) <= 3, "{}", h.calls(POST_CRONS));
    assert!(h.calls(POST_TRIGGERS) <= 3, "{}", h.calls(POST_TRIGGERS));
    assert_eq!(
        duplicates as u64,
        h.calls(POST_CRONS) + h.calls(POST_TRIGGERS) - 4,
        "every second create was a duplicate, and was deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_of_a_function_being_deleted_are_deleted_with_their_namespaces_credentials() {
    // Scaleway accepts only the tenant's key: the operator's own key is refused, so every
    // call must use the credentials of the functions namespace, deletions included, when
    // the function they belong to is itself being deleted (and so no longer Ready).
    const TENANT_KEY: &str = "tenant-key-f00d";
    let h = support::start(Options {
        credentials: Some(vec![TENANT_KEY.into()]),
        ..Options::default()
    })
    .await;
    h.secret("tenant", "SCW_SECRET_KEY", TENANT_KEY).await;
    h.secret("tenant", "SCW_DEFAULT_PROJECT_ID", PROJECT).await;
    let namespace = FUNCTIONS_NAMESPACE_YAML.replace(
        "spec:\n",
        "spec:\n  credentialsSecretRef:\n    name: tenant\n",
    );
    h.ready_function_in(&namespace).await;
    h.apply::<ServerlessFunctionCron>(&cron_yaml("nightly", ""))
        .await;
    h.apply::<ServerlessFunctionTrigger>(&trigger_yaml("jobs", ""))
        .await;
    h.apply::<scaleway_serverless_operator::crd::ServerlessDomain>(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessDomain\nmetadata:\n  name: fn-api\nspec:\n  functionRef:\n    name: hello\n  hostname: fn.example.com\n",
    )
    .await;
    h.apply::<scaleway_serverless_operator::crd::ServerlessFunctionToken>(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessFunctionToken\nmetadata:\n  name: caller\nspec:\n  functionRef:\n    name: hello\n  secret:\n    name: caller-token\n",
    )
    .await;
    h.condition::<ServerlessFunctionCron>("nightly", "Ready", "True")
        .await;
    h.condition::<ServerlessFunctionTrigger>("jobs", "Ready", "True")
        .await;
    h.condition::<scaleway_serverless_operator::crd::ServerlessDomain>("fn-api", "Ready", "True")
        .await;
    h.condition::<scaleway_serverless_operator::crd::ServerlessFunctionToken>(
        "caller", "Ready", "True",
    )
    .await;

    // The function first: it waits, Ready=False, for its children; then the children.
    delete::<ServerlessFunction>(&h, "hello").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    delete::<ServerlessFunctionCron>(&h, "nightly").await;
    delete::<ServerlessFunctionTrigger>(&h, "jobs").await;
    delete::<scaleway_serverless_operator::crd::ServerlessDomain>(&h, "fn-api").await;
    delete::<scaleway_serverless_operator::crd::ServerlessFunctionToken>(&h, "caller").await;
    h.gone::<ServerlessFunctionCron>("nightly").await;
    h.gone::<ServerlessFunctionTrigger>("jobs").await;
    h.gone::<scaleway_serverless_operator::crd::ServerlessDomain>("fn-api")
        .await;
    h.gone::<scaleway_serverless_operator::crd::ServerlessFunctionToken>("caller")
        .await;
    h.gone::<ServerlessFunction>("hello").await;
    for table in [
        "crons",
        "function_triggers",
        "function_domains",
        "tokens",
        "functions",
    ] {
        assert!(
            remote(&h, table).is_empty(),
            "{table}: {:?}",
            remote(&h, table)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_cron_keeps_a_pending_change_unsynced_until_it_settles() {
    // A long resync: the snapshot keeps saying `ready` while Scaleway is busy.
    let h = harness_with(Duration::from_secs(3600)).await;
    h.ready_function().await;
    h.apply::<ServerlessFunctionCron>(&cron_yaml("nightly", ""))
        .await;
    let cron = h
        .condition::<ServerlessFunctionCron>("nightly", "Ready", "True")
        .await;
    let id = cron.status.and_then(|s| s.id).unwrap_or_default();
    let schedule = || async { Ok(remote(&h, "crons")[0]["schedule"].to_string()) };
    h.busy_change_lands_once_settled::<ServerlessFunctionCron, _, _>(
        BusyChange {
            name: "nightly",
            remote_id: &id,
            busy_status: "pending",
            spec_patch: json!({"schedule": "30 4 * * 1"}),
            field: "schedule",
            write_route: PATCH_CRON,
            before: json!("0 3 * * *").to_string(),
            after: json!("30 4 * * 1").to_string(),
        },
        schedule,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_function_trigger_keeps_a_pending_change_unsynced_until_it_settles() {
    // A long resync: the snapshot keeps saying `ready` while Scaleway is busy.
    let h = harness_with(Duration::from_secs(3600)).await;
    h.ready_function().await;
    let created = h
        .apply::<ServerlessFunctionTrigger>(&trigger_yaml("jobs", ""))
        .await;
    let uid = created.metadata.uid.clone().unwrap_or_default();
    let trigger = h
        .condition::<ServerlessFunctionTrigger>("jobs", "Ready", "True")
        .await;
    let id = trigger.status.and_then(|s| s.id).unwrap_or_default();
    let description = || async {
        let triggers = remote(&h, "function_triggers");
        Ok(triggers[0]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    };
    h.busy_change_lands_once_settled::<ServerlessFunctionTrigger, _, _>(
        BusyChange {
            name: "jobs",
            remote_id: &id,
            busy_status: "pending",
            spec_patch: json!({"description": "all jobs"}),
            field: "description",
            write_route: PATCH_TRIGGER,
            before: format!("billing jobs [k8s-owner-uid={uid}]"),
            after: format!("all jobs [k8s-owner-uid={uid}]"),
        },
        description,
    )
    .await;
}
