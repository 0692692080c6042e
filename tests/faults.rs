//! Fault injection (issue 7): nothing leaked, duplicated or lost. A small fleet goes through
//! create, update, redeploy and delete while Scaleway answers 5xx or 429, answers late or
//! not at all, while the operator is killed and restarted, runs as two replicas, sees
//! conflicting writes, loses its watches, and while things change behind its back. Every
//! scenario ends with the same invariant check (`assert_invariants`):
//!
//! - every live object is Ready=True at its current generation, or shows the failure the
//!   scenario means to cause (Ready=False with that reason, Stalled=True when terminal);
//! - exactly one remote resource with the object's name in its Scaleway scope, the one its
//!   status records, carrying its owner tag;
//! - the remote container equals the spec (image, maxScale, memory);
//! - no remote resource without the owner tag of a live object (so nothing is left of the
//!   objects deleted with the default Delete policy).

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use scaleway_emulator::Faults;
use scaleway_serverless_operator::controller::policy::OWNER_TAG_PREFIX;
use scaleway_serverless_operator::crd::{
    ServerlessContainer, ServerlessNamespace, ServerlessTrigger,
};
use scaleway_serverless_operator::scaleway::types::{ContainerSettings, UpdateContainerRequest};
use serde_json::Value;
use support::*;

/// How long a fleet may take to converge once the faults stop striking.
const CONVERGE: Duration = Duration::from_secs(40);
const CONTAINERS: [&str; 6] = ["c0", "c1", "c2", "c3", "c4", "c5"];
/// (trigger, container it calls)
const TRIGGERS: [(&str, &str); 2] = [("t0", "c0"), ("t1", "c1")];

// ---------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------

/// A failure a scenario means to cause on one object.
#[derive(Clone, Debug)]
struct Failure {
    /// Acceptable reasons of Ready=False.
    reasons: Vec<&'static str>,
    /// Whether Stalled=True must say so too (a terminal failure).
    stalled: bool,
}

/// What a scenario expects beyond "everything Ready".
#[derive(Clone, Debug, Default)]
struct Expect {
    /// Objects (by name) that must show a failure instead of Ready.
    failing: BTreeMap<String, Failure>,
}

impl Expect {
    fn failing(mut self, name: &str, reasons: &[&'static str], stalled: bool) -> Self {
        self.failing.insert(
            name.to_owned(),
            Failure {
                reasons: reasons.to_vec(),
                stalled,
            },
        );
        self
    }
}

/// A live Kubernetes object of one of our kinds, as JSON.
struct Live {
    kind: &'static str,
    /// Key of its remote kind in the emulator's state.
    remote_kind: &'static str,
    /// Field of a remote resource naming the scope it lives in, and the status field that
    /// records the same scope on the object.
    scope: (&'static str, &'static str),
    value: Value,
}

impl Live {
    fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    fn uid(&self) -> &str {
        self.value
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    fn remote_name(&self) -> &str {
        self.value
            .pointer("/spec/name")
            .and_then(Value::as_str)
            .unwrap_or_else(|| self.name())
    }
    fn status(&self, field: &str) -> Option<&str> {
        self.value
            .pointer(&format!("/status/{field}"))
            .and_then(Value::as_str)
    }
    fn condition(&self, type_: &str) -> Option<&Value> {
        self.value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find(|c| c["type"] == type_))
    }
}

async fn list_json<K>(h: &Harness) -> Result<Vec<Value>, String>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::all(h.kube.clone());
    let list = api
        .list(&Default::default())
        .await
        .map_err(|e| format!("list {}: {e}", <K as kube::Resource>::kind(&())))?;
    Ok(list
        .items
        .iter()
        .map(|o| serde_json::to_value(o).unwrap_or_default())
        .collect())
}

async fn live_objects(h: &Harness) -> Result<Vec<Live>, String> {
    let mut live = Vec::new();
    for value in list_json::<ServerlessNamespace>(h).await? {
        live.push(Live {
            kind: "ServerlessNamespace",
            remote_kind: "namespaces",
            scope: ("project_id", "projectId"),
            value,
        });
    }
    for value in list_json::<ServerlessContainer>(h).await? {
        live.push(Live {
            kind: "ServerlessContainer",
            remote_kind: "containers",
            scope: ("namespace_id", "namespaceId"),
            value,
        });
    }
    for value in list_json::<ServerlessTrigger>(h).await? {
        live.push(Live {
            kind: "ServerlessTrigger",
            remote_kind: "triggers",
            scope: ("container_id", "containerId"),
            value,
        });
    }
    Ok(live)
}

fn owner_of(remote: &Value) -> Option<&str> {
    remote["tags"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|t| t.strip_prefix(OWNER_TAG_PREFIX))
}

/// Bytes of a quantity as the fixtures write them (`512Mi`, `1Gi`, plain bytes).
fn bytes(quantity: &str) -> Option<u64> {
    let (number, unit) = match quantity.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => quantity.split_at(at),
        None => (quantity, ""),
    };
    let number: u64 = number.parse().ok()?;
    let factor = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => return None,
    };
    Some(number * factor)
}

/// Everything wrong right now (empty when every invariant holds).
fn violations(live: &[Live], state: &Value, expect: &Expect) -> Vec<String> {
    let mut wrong = Vec::new();
    for object in live {
        let who = format!("{} {}", object.kind, object.name());
        if object
            .value
            .pointer("/metadata/deletionTimestamp")
            .is_some()
        {
            wrong.push(format!("{who}: still being deleted"));
            continue;
        }
        let generation = object.value.pointer("/metadata/generation");
        let observed = object.value.pointer("/status/observedGeneration");
        if generation != observed {
            wrong.push(format!(
                "{who}: status is for generation {observed:?}, the spec is at {generation:?}"
            ));
        }
        let ready = object.condition("Ready");
        let stalled = object.condition("Stalled");
        let failure = expect.failing.get(object.name());
        match failure {
            None => {
                if ready.is_none_or(|c| c["status"] != "True") {
                    wrong.push(format!("{who}: not Ready: {ready:?}"));
                }
                if stalled.is_some_and(|c| c["status"] == "True") {
                    wrong.push(format!("{who}: Stalled: {stalled:?}"));
                }
            }
            Some(failure) => {
                let reason = ready.and_then(|c| c["reason"].as_str()).unwrap_or_default();
                let message = ready
                    .and_then(|c| c["message"].as_str())
                    .unwrap_or_default();
                let clear = ready.is_some_and(|c| c["status"] == "False")
                    && failure.reasons.contains(&reason)
                    && !message.is_empty();
                if !clear {
                    wrong.push(format!(
                        "{who}: expected Ready=False with a reason in {:?}: {ready:?}",
                        failure.reasons
                    ));
                }
                let says_stalled = stalled
                    .is_some_and(|c| c["status"] == "True" && c["reason"].as_str() == Some(reason));
                if failure.stalled != says_stalled {
                    wrong.push(format!(
                        "{who}: expected Stalled={} ({reason}): {stalled:?}",
                        failure.stalled
                    ));
                }
            }
        }

        // Exactly one remote resource with this name in its scope: the recorded one, ours.
        let remotes = state[object.remote_kind]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let scope = object.status(object.scope.1);
        let same_name: Vec<&Value> = remotes
            .iter()
            .filter(|r| {
                r["name"].as_str() == Some(object.remote_name())
                    && scope.is_none_or(|s| r[object.scope.0].as_str() == Some(s))
            })
            .collect();
        let id = object.status("id");
        let expected = if failure.is_none() || id.is_some() {
            1..=1
        } else {
            0..=1
        };
        if !expected.contains(&same_name.len()) {
            wrong.push(format!(
                "{who}: {} remote {} named {} in scope {scope:?} (ids {:?})",
                same_name.len(),
                object.remote_kind,
                object.remote_name(),
                same_name.iter().map(|r| &r["id"]).collect::<Vec<_>>()
            ));
        }
        let Some(remote) = same_name.first() else {
            continue;
        };
        if id != remote["id"].as_str() {
            wrong.push(format!(
                "{who}: status.id {id:?} is not the remote {}",
                remote["id"]
            ));
        }
        if owner_of(remote) != Some(object.uid()) {
            wrong.push(format!(
                "{who}: the remote {} does not carry its owner tag: {}",
                remote["id"], remote["tags"]
            ));
        }
        if failure.is_some() {
            continue;
        }
        if remote["status"] != "ready" {
            wrong.push(format!("{who}: remote status {}", remote["status"]));
        }
        // The remote state equals the spec for the fields every scenario changes.
        let spec = &object.value["spec"];
        if object.remote_kind == "containers" {
            if remote["image"] != spec["image"] {
                wrong.push(format!(
                    "{who}: remote image {} != spec {}",
                    remote["image"], spec["image"]
                ));
            }
            if spec["maxScale"].is_u64() && remote["max_scale"] != spec["maxScale"] {
                wrong.push(format!(
                    "{who}: remote max_scale {} != spec {}",
                    remote["max_scale"], spec["maxScale"]
                ));
            }
            if let Some(memory) = spec["memory"].as_str() {
                let remote_bytes = remote["memory_limit_bytes"].as_u64();
                if remote_bytes != bytes(memory) {
                    wrong.push(format!(
                        "{who}: remote memory {remote_bytes:?} != spec {memory}"
                    ));
                }
            }
        }
        if object.remote_kind == "triggers"
            && let Some(schedule) = spec.pointer("/cron/schedule")
            && remote.pointer("/cron_config/schedule") != Some(schedule)
        {
            wrong.push(format!(
                "{who}: remote schedule {:?} != spec {schedule}",
                remote.pointer("/cron_config/schedule")
            ));
        }
    }

    // No remote resource without the owner tag of a live object that records it.
    for remote_kind in ["namespaces", "containers", "triggers"] {
        for remote in state[remote_kind].as_array().into_iter().flatten() {
            let what = format!(
                "remote {remote_kind} {} ({}, {})",
                remote["name"], remote["id"], remote["status"]
            );
            let Some(uid) = owner_of(remote) else {
                wrong.push(format!("{what}: no owner tag"));
                continue;
            };
            let owner = live
                .iter()
                .find(|o| o.remote_kind == remote_kind && o.uid() == uid);
            match owner {
                None => wrong.push(format!("{what}: leaked (its object {uid} is gone)")),
                Some(owner) if owner.status("id") != remote["id"].as_str() => wrong.push(format!(
                    "{what}: a duplicate of {} {} (which records {:?})",
                    owner.kind,
                    owner.name(),
                    owner.status("id")
                )),
                Some(_) => {}
            }
        }
    }
    wrong
}

/// Waits until every invariant holds, then returns (live objects, remote resources).
async fn assert_invariants(h: &Harness, expect: &Expect, label: &str) -> (usize, usize) {
    assert_invariants_within(h, expect, label, CONVERGE).await
}

/// `assert_invariants` with another deadline.
async fn assert_invariants_within(
    h: &Harness,
    expect: &Expect,
    label: &str,
    limit: Duration,
) -> (usize, usize) {
    let began = std::time::Instant::now();
    let counts = h
        .until_for(
            &format!("[{label}] every invariant to hold"),
            limit,
            || async {
                let live = live_objects(h).await?;
                let state = h.emulator.emulator.state();
                let wrong = violations(&live, &state, expect);
                if wrong.is_empty() {
                    let remotes = ["namespaces", "containers", "triggers"]
                        .iter()
                        .map(|k| state[*k].as_array().map_or(0, Vec::len))
                        .sum::<usize>();
                    Ok((live.len(), remotes))
                } else {
                    Err(format!("\n  {}", wrong.join("\n  ")))
                }
            },
        )
        .await;
    eprintln!(
        "[{label}] invariants hold: {} objects, {} remote resources (after {:?})",
        counts.0,
        counts.1,
        began.elapsed()
    );
    counts
}

// ---------------------------------------------------------------------------------------
// Fleet
// ---------------------------------------------------------------------------------------

/// The harness of this suite: short retries, a seeded emulator.
async fn fault_harness(seed: u64, resync: Duration) -> Harness {
    support::start(Options {
        resync,
        retry_max: Some(Duration::from_secs(2)),
        seed,
        ..Options::default()
    })
    .await
}

fn trigger_yaml(name: &str, container: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessTrigger\nmetadata:\n  name: {name}\nspec:\n  containerRef:\n    name: {container}\n  cron:\n    schedule: \"0 3 * * *\"\n    timezone: Europe/Paris\n"
    )
}

/// Creates the namespace `demo`, `containers` and `triggers` (in that order, at once).
async fn create_fleet(h: &Harness, containers: &[&str], triggers: &[(&str, &str)]) {
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    for name in containers {
        h.apply::<ServerlessContainer>(&container_yaml(name, ""))
            .await;
    }
    for (name, container) in triggers {
        h.apply::<ServerlessTrigger>(&trigger_yaml(name, container))
            .await;
    }
}

async fn patch_spec<K>(h: &Harness, name: &str, spec: Value)
where
    K: TestObject,
{
    h.api::<K>()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "spec": spec })),
        )
        .await
        .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

/// New image tag and maxScale for each container.
async fn update_fleet(h: &Harness, containers: &[&str], tag: u32, max_scale: u32) {
    for name in containers {
        let image = format!("rg.fr-par.scw.cloud/demo/{name}:{tag}");
        patch_spec::<ServerlessContainer>(
            h,
            name,
            serde_json::json!({"image": image, "maxScale": max_scale}),
        )
        .await;
    }
}

/// Asks for a redeploy of each container and waits until each status says it was done.
async fn redeploy_fleet(h: &Harness, containers: &[&str], at: &str) {
    for name in containers {
        patch_spec::<ServerlessContainer>(h, name, serde_json::json!({"redeployRequestedAt": at}))
            .await;
    }
    for name in containers {
        h.until_for(&format!("{name} redeployed"), CONVERGE, || async {
            let object = h
                .api::<ServerlessContainer>()
                .get(name)
                .await
                .map_err(|e| e.to_string())?;
            let done = status_of(&object).observed_redeploy_requested_at;
            if done.as_deref() == Some(at) {
                Ok(())
            } else {
                Err(format!("{done:?}"))
            }
        })
        .await;
    }
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

/// Deletes everything that is left and waits until it is gone.
async fn delete_all(h: &Harness) {
    let live = live_objects(h).await.unwrap_or_default();
    for object in &live {
        let name = object.name();
        match object.kind {
            "ServerlessTrigger" => delete::<ServerlessTrigger>(h, name).await,
            "ServerlessContainer" => delete::<ServerlessContainer>(h, name).await,
            _ => delete::<ServerlessNamespace>(h, name).await,
        }
    }
    h.until_for("every object deleted", CONVERGE, || async {
        let left = live_objects(h).await?;
        if left.is_empty() {
            Ok(())
        } else {
            let names: Vec<String> = left
                .iter()
                .map(|o| format!("{} {}", o.kind, o.name()))
                .collect();
            Err(names.join(", "))
        }
    })
    .await;
}

/// Scaleway answers with `code` seen by the operator's clients (retries included).
fn answers_with(ctx: &scaleway_serverless_operator::controller::Context, code: u16) -> u64 {
    ctx.clients
        .stats()
        .calls()
        .iter()
        .filter(|((_, c), _)| *c == code)
        .map(|(_, n)| n)
        .sum()
}

/// Create → update → redeploy → partial delete → delete all, with `faults` (re)armed at the
/// start of each phase, and the invariants after each.
async fn life_cycle_under(h: &Harness, faults: &Faults, label: &str) {
    h.faults(faults.clone());
    create_fleet(h, &CONTAINERS, &TRIGGERS).await;
    assert_invariants(h, &Expect::default(), &format!("{label}: created")).await;

    h.faults(faults.clone());
    update_fleet(h, &CONTAINERS, 2, 5).await;
    assert_invariants(h, &Expect::default(), &format!("{label}: updated")).await;

    h.faults(faults.clone());
    redeploy_fleet(h, &["c2", "c3"], "2026-11-22T10:00:00Z").await;
    assert_invariants(h, &Expect::default(), &format!("{label}: redeployed")).await;

    h.faults(faults.clone());
    delete::<ServerlessTrigger>(h, "t1").await;
    delete::<ServerlessContainer>(h, "c5").await;
    delete::<ServerlessContainer>(h, "c4").await;
    h.gone::<ServerlessTrigger>("t1").await;
    h.gone::<ServerlessContainer>("c5").await;
    h.gone::<ServerlessContainer>("c4").await;
    assert_invariants(h, &Expect::default(), &format!("{label}: partly deleted")).await;

    h.faults(faults.clone());
    delete_all(h).await;
    let (_, remotes) =
        assert_invariants(h, &Expect::default(), &format!("{label}: all deleted")).await;
    assert_eq!(remotes, 0, "[{label}] nothing left at Scaleway");
}

// ---------------------------------------------------------------------------------------
// Scaleway faults
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_bursts_lose_nothing() {
    let h = fault_harness(11, Duration::from_secs(60)).await;
    let faults = Faults {
        server_error_rate: 0.5,
        max_faults: Some(30),
        ..Faults::default()
    };
    life_cycle_under(&h, &faults, "5xx").await;
    assert!(
        answers_with(&h.ctx, 503) >= 30,
        "the bursts hit the operator: {:?}",
        h.ctx.clients.stats().calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_with_retry_after_lose_nothing() {
    let h = fault_harness(12, Duration::from_secs(60)).await;
    let faults = Faults {
        rate_limit_rate: 0.5,
        retry_after_seconds: 1,
        max_faults: Some(6),
        ..Faults::default()
    };
    life_cycle_under(&h, &faults, "429").await;
    assert!(
        answers_with(&h.ctx, 429) >= 6,
        "the 429s hit the operator: {:?}",
        h.ctx.clients.stats().calls()
    );
}

/// Connections dropped on POST (the emulator closes them before carrying the request out):
/// creates and redeploys are tried again, and nothing is created twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_on_post_make_no_duplicates() {
    let h = fault_harness(13, Duration::from_secs(60)).await;
    let dropped = Faults {
        drop_rate: 0.5,
        methods: Some(vec!["POST".into()]),
        max_faults: Some(10),
        ..Faults::default()
    };
    h.faults(dropped.clone());
    create_fleet(&h, &CONTAINERS, &TRIGGERS).await;
    assert_invariants(&h, &Expect::default(), "dropped POSTs: created").await;
    h.faults(dropped);
    redeploy_fleet(&h, &["c0", "c1"], "2026-11-22T11:00:00Z").await;
    assert_invariants(&h, &Expect::default(), "dropped POSTs: redeployed").await;
    let dropped = answers_with(&h.ctx, 0);
    eprintln!("dropped connections: {dropped}");
    assert!(
        dropped > 0,
        "connections were dropped: {:?}",
        h.ctx.clients.stats().calls()
    );
    delete_all(&h).await;
    let (_, remotes) = assert_invariants(&h, &Expect::default(), "dropped POSTs: deleted").await;
    assert_eq!(remotes, 0);
}

/// The classic duplicate trap: Scaleway carries the create out, the answer never comes back
/// (the client gives up at its 300 ms time limit). The next reconcile must find the created
/// resource by name and take it, not create another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_answers_make_no_duplicates() {
    let h = support::start(Options {
        retry_max: Some(Duration::from_secs(2)),
        request_timeout: Some(Duration::from_millis(300)),
        seed: 14,
        saboteur: true,
        ..Options::default()
    })
    .await;
    let saboteur = h.saboteur.as_ref().unwrap_or_else(|| panic!("no saboteur"));
    // The first 6 creates: the namespace's and 5 containers' (in whatever order they come).
    saboteur.arm(Sabotage {
        method: "POST",
        path_contains: "",
        mode: Mode::LoseAnswer,
        count: 6,
    });
    create_fleet(&h, &CONTAINERS, &TRIGGERS).await;
    assert_invariants(&h, &Expect::default(), "lost create answers").await;
    assert_eq!(saboteur.done(), 6, "six answers were lost");
    // An event is published just after its object's status write: the last one may land a
    // moment after the invariants hold.
    let expected = 1 + CONTAINERS.len() + TRIGGERS.len() - 6;
    let created = h
        .until("the Created events", || async {
            let created = h.count_events("Created").await;
            if created >= expected {
                Ok(created)
            } else {
                Err(format!("{created} of {expected}"))
            }
        })
        .await;
    assert_eq!(
        created, expected,
        "the six creates whose answer was lost were taken back, not made again"
    );
    assert_eq!(
        h.calls(POST_CONTAINERS),
        CONTAINERS.len() as u64,
        "one create call per container: {:?}",
        h.emulator.emulator.request_counts()
    );

    // Lost answers of redeploys and trigger creates too.
    saboteur.arm(Sabotage {
        method: "POST",
        path_contains: "/redeploy",
        mode: Mode::LoseAnswer,
        count: 2,
    });
    redeploy_fleet(&h, &["c2", "c3"], "2026-11-22T11:00:00Z").await;
    saboteur.arm(Sabotage {
        method: "POST",
        path_contains: "/triggers",
        mode: Mode::LoseAnswer,
        count: 2,
    });
    h.apply::<ServerlessTrigger>(&trigger_yaml("t2", "c2"))
        .await;
    h.apply::<ServerlessTrigger>(&trigger_yaml("t3", "c3"))
        .await;
    assert_invariants(&h, &Expect::default(), "lost redeploy and trigger answers").await;
    assert_eq!(saboteur.done(), 2);
    eprintln!(
        "redeploy calls for 2 redeploys with 2 lost answers: {}",
        h.calls(REDEPLOY)
    );
    delete_all(&h).await;
    let (_, remotes) = assert_invariants(&h, &Expect::default(), "lost answers: deleted").await;
    assert_eq!(remotes, 0);
}

/// The same trap, harder: the create is carried out only after the operator has listed
/// again and found nothing (a request held up on the way), so the retry makes a second one
/// unless Scaleway refuses the name. Container and namespace names are unique at Scaleway;
/// trigger names are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_carried_out_after_the_retry_makes_no_duplicate() {
    let h = support::start(Options {
        retry_max: Some(Duration::from_secs(2)),
        request_timeout: Some(Duration::from_millis(200)),
        seed: 15,
        saboteur: true,
        ..Options::default()
    })
    .await;
    create_fleet(&h, &["c0"], &[]).await;
    assert_invariants(&h, &Expect::default(), "before").await;
    // The first trigger create reaches Scaleway after 2.5 s: the reconcile gives up after
    // 200 ms, lists again about 1 s later (nothing yet), and creates again.
    let saboteur = h.saboteur.as_ref().unwrap_or_else(|| panic!("no saboteur"));
    saboteur.arm(Sabotage {
        method: "POST",
        path_contains: "/triggers",
        mode: Mode::Late(Duration::from_millis(2500)),
        count: 1,
    });
    h.apply::<ServerlessTrigger>(&trigger_yaml("t0", "c0"))
        .await;
    h.condition::<ServerlessTrigger>("t0", "Ready", "True")
        .await;
    // Wait until the late create has certainly been carried out.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(saboteur.done(), 1);
    assert_invariants(&h, &Expect::default(), "late trigger create").await;
}

// ---------------------------------------------------------------------------------------
// The operator killed, restarted, replicated
// ---------------------------------------------------------------------------------------

/// Waits 0–400 ms (seeded), then kills the operator and starts a new one.
async fn kill_after(h: &mut Harness, rng: &mut fastrand::Rng) {
    tokio::time::sleep(Duration::from_millis(rng.u64(0..=400))).await;
    h.restart().await;
}

/// One seeded run: the fleet is created, updated and partly deleted while the operator is
/// killed and started again after random delays. Returns the objects checked.
async fn killed_and_restarted(seed: u64) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut h = fault_harness(seed, Duration::from_secs(60)).await;
    let label = format!("seed {seed}");
    let containers = ["c0", "c1", "c2", "c3"];
    create_fleet(&h, &containers, &[("t0", "c0"), ("t1", "c1")]).await;
    for _ in 0..3 {
        kill_after(&mut h, &mut rng).await;
    }
    update_fleet(&h, &containers, 2, 4).await;
    for _ in 0..2 {
        kill_after(&mut h, &mut rng).await;
    }
    delete::<ServerlessTrigger>(&h, "t1").await;
    delete::<ServerlessContainer>(&h, "c3").await;
    for _ in 0..2 {
        kill_after(&mut h, &mut rng).await;
    }
    patch_spec::<ServerlessContainer>(&h, "c1", serde_json::json!({"maxScale": 7})).await;
    kill_after(&mut h, &mut rng).await;
    let (objects, _) = assert_invariants(&h, &Expect::default(), &label).await;
    assert_eq!(h.starts, 9, "[{label}] 8 kills");
    objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_killed_at_random_points_seeds_1_to_4() {
    let runs = futures::future::join_all((1..=4).map(killed_and_restarted)).await;
    // Left in each run: the namespace, c0, c1, c2 and t0.
    assert_eq!(runs, vec![5; 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_killed_at_random_points_seeds_5_to_8() {
    let runs = futures::future::join_all((5..=8).map(killed_and_restarted)).await;
    assert_eq!(runs, vec![5; 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "unsupported set-up (the chart enables leader election with replicas > 1): both replicas create a trigger; the owned duplicate is deleted at the next resync List, later than this deadline"]
async fn two_replicas_without_leader_election_make_no_duplicates() {
    let mut h = fault_harness(21, Duration::from_secs(60)).await;
    h.start_replica(None);
    let faults = Faults {
        server_error_rate: 0.2,
        max_faults: Some(10),
        ..Faults::default()
    };
    life_cycle_under(&h, &faults, "two replicas").await;
    let second = &h.replicas[0].ctx;
    assert!(
        second.clients.stats().total() > 0 && h.ctx.clients.stats().total() > 0,
        "both replicas worked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_leader_election_and_a_failover() {
    let mut h = fault_harness(22, Duration::from_secs(60)).await;
    h.restart_with_lease(lease_settings("pod-a")).await;
    // Let pod-a take the Lease first, then start the standby.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = h.api();
    let holder = |leases: Api<k8s_openapi::api::coordination::v1::Lease>| async move {
        leases
            .get_opt("scaleway-serverless-operator")
            .await
            .ok()
            .flatten()
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity)
    };
    h.until("pod-a to lead", || async {
        match holder(leases.clone()).await {
            Some(name) if name == "pod-a" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    h.start_replica(Some(lease_settings("pod-b")));
    create_fleet(&h, &CONTAINERS, &TRIGGERS).await;
    assert_invariants(&h, &Expect::default(), "leader a").await;
    let transitions = leases
        .get("scaleway-serverless-operator")
        .await
        .ok()
        .and_then(|l| l.spec)
        .and_then(|s| s.lease_transitions);
    assert_eq!(
        (
            transitions,
            h.replicas[0].ctx.clients.stats().total(),
            h.operator.is_finished()
        ),
        (Some(0), 0, false),
        "pod-a kept the Lease and kept running; the standby made no Scaleway call"
    );

    // The leader dies without releasing: the standby takes over once the Lease expires.
    h.operator.abort();
    update_fleet(&h, &CONTAINERS, 3, 6).await;
    delete::<ServerlessTrigger>(&h, "t1").await;
    delete::<ServerlessContainer>(&h, "c5").await;
    assert_invariants(&h, &Expect::default(), "leader b").await;
    assert_eq!(holder(leases.clone()).await.as_deref(), Some("pod-b"));
    assert!(
        h.replicas[0].ctx.clients.stats().total() > 0,
        "pod-b took over"
    );
}

// ---------------------------------------------------------------------------------------
// Kubernetes side: conflicting writes, lost watches
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_writes_converge_to_the_last_spec() {
    let h = fault_harness(31, Duration::from_secs(60)).await;
    let containers = ["c0", "c1", "c2", "c3"];
    create_fleet(&h, &containers, &[("t0", "c0")]).await;
    assert_invariants(&h, &Expect::default(), "before").await;
    let c0 = status_of(
        &h.api::<ServerlessContainer>()
            .get("c0")
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .id
    .unwrap_or_default();

    // A writer changes spec and labels of every container as fast as the API lets it, with
    // optimistic concurrency (read, change, replace: a 409 means the operator wrote status
    // or finalizers in between), while someone else's rollout keeps c0 busy at Scaleway now
    // and then (the operator's updates then get 409 transient_state).
    let api = h.api::<ServerlessContainer>();
    let mut conflicts = 0;
    let rounds: u32 = 25;
    for round in 0..rounds {
        let busy = round % 8 < 3 && round < rounds - 2;
        h.emulator
            .emulator
            .set_resource_status(&c0, if busy { "updating" } else { "ready" }, None);
        for name in containers {
            loop {
                let mut object = api.get(name).await.unwrap_or_else(|e| panic!("{e}"));
                // Leave the operator time to write in between.
                tokio::time::sleep(Duration::from_millis(30)).await;
                object.spec.max_scale = Some(1 + (round % 9));
                object.spec.image = format!("rg.fr-par.scw.cloud/demo/{name}:{}", round % 4).into();
                object
                    .metadata
                    .labels
                    .get_or_insert_default()
                    .insert("round".into(), round.to_string());
                match api.replace(name, &PostParams::default(), &object).await {
                    Ok(_) => break,
                    Err(kube::Error::Api(status)) if status.code == 409 => conflicts += 1,
                    Err(error) => panic!("replace {name}: {error}"),
                }
            }
        }
    }
    assert_invariants(&h, &Expect::default(), "after the writer").await;
    for name in containers {
        let object = api.get(name).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(object.spec.max_scale, Some(1 + ((rounds - 1) % 9)));
    }
    let busy_answers = answers_with(&h.ctx, 409);
    eprintln!(
        "conflicting writes: {conflicts} conflicts seen by the writer, {busy_answers} Scaleway 409s seen by the operator"
    );
}

/// Watches end (as when an API server restarts or a load balancer drops connections) while
/// specs change: they resume from their last resourceVersion and lose nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_watches_lose_no_change() {
    let h = fault_harness(41, Duration::from_secs(3600)).await;
    let server = h.apiserver.server.clone();
    let containers = ["c0", "c1", "c2", "c3"];
    create_fleet(&h, &containers, &[("t0", "c0")]).await;
    assert_invariants(&h, &Expect::default(), "before").await;
    for round in 0..4u32 {
        server.close_watches();
        let name = containers[round as usize];
        patch_spec::<ServerlessContainer>(&h, name, serde_json::json!({"maxScale": 4 + round}))
            .await;
        if round == 1 {
            delete::<ServerlessTrigger>(&h, "t0").await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.close_watches();
    update_fleet(&h, &containers, 2, 8).await;
    h.apply::<ServerlessTrigger>(&trigger_yaml("t1", "c1"))
        .await;
    // The resync period is an hour and the operator is never restarted: only the resumed
    // watches can have brought these changes.
    assert_invariants(&h, &Expect::default(), "closed watches").await;
    assert_eq!(h.starts, 1, "the same operator throughout");
}

/// The watch history is compacted, then the watches end: each watch resumes from a
/// resourceVersion the server no longer has (410 Expired) and lists again. The changes made
/// meanwhile must arrive within a few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_watch_history_delays_no_change_for_long() {
    let h = fault_harness(42, Duration::from_secs(3600)).await;
    let server = h.apiserver.server.clone();
    let containers = ["c0", "c1", "c2", "c3"];
    create_fleet(&h, &containers, &[("t0", "c0")]).await;
    assert_invariants(&h, &Expect::default(), "before").await;
    server.compact_history();
    server.close_watches();
    update_fleet(&h, &containers, 2, 6).await;
    delete::<ServerlessTrigger>(&h, "t0").await;
    // A 150 ms Scaleway transition and 1-2 s of relisting: 10 s is generous.
    assert_invariants_within(&h, &Expect::default(), "compacted", Duration::from_secs(10)).await;
    assert_eq!(h.starts, 1, "the same operator throughout");
}

// ---------------------------------------------------------------------------------------
// Out of band
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_changes_behind_the_operators_back_are_corrected() {
    let h = fault_harness(51, Duration::from_millis(500)).await;
    let containers = ["c0", "c1", "c2", "c3"];
    create_fleet(&h, &containers, &[("t0", "c0")]).await;
    assert_invariants(&h, &Expect::default(), "before").await;
    let id_of = |name: &'static str| {
        let api = h.api::<ServerlessContainer>();
        async move {
            let object = api.get(name).await.unwrap_or_else(|e| panic!("{e}"));
            status_of(&object).id.map(String::from).unwrap_or_default()
        }
    };
    let region = h.scaleway.region("fr-par");

    // Deleted at Scaleway: created again (its trigger goes with it, and comes back too).
    let c0 = id_of("c0").await;
    region
        .delete_container(&c0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Changed at Scaleway: put back.
    let c1 = id_of("c1").await;
    region
        .update_container(
            &c1,
            &UpdateContainerRequest {
                image: Some("rg.fr-par.scw.cloud/demo/tampered:1".into()),
                settings: ContainerSettings {
                    max_scale: Some(9),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("c0 created again", || async {
        let now = id_of("c0").await;
        if now != c0 && !now.is_empty() {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await;
    assert_invariants(&h, &Expect::default(), "deleted and changed remotely").await;

    // In error at Scaleway: Ready=False, Stalled=True, RemoteError with Scaleway's message.
    let emulator = &h.emulator.emulator;
    let (c2, c3) = (id_of("c2").await, id_of("c3").await);
    assert!(emulator.set_resource_status(&c2, "error", Some("image pull failed (injected)")));
    assert!(emulator.set_resource_status(&c3, "error", Some("out of memory (injected)")));
    let expect = Expect::default()
        .failing("c2", &["RemoteError"], true)
        .failing("c3", &["RemoteError"], true);
    assert_invariants(&h, &expect, "remote error").await;
    let c2_object = h
        .api::<ServerlessContainer>()
        .get("c2")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stalled = status_of(&c2_object)
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap_or_else(|| panic!("no Stalled condition"));
    assert!(
        stalled.message.contains("image pull failed (injected)"),
        "{stalled:?}"
    );
    // Recovery: c2 set back to ready and redeployed; c3 left in error, its spec changed.
    assert!(emulator.set_resource_status(&c2, "ready", None));
    redeploy_fleet(&h, &["c2"], "2026-11-22T12:00:00Z").await;
    patch_spec::<ServerlessContainer>(&h, "c3", serde_json::json!({"maxScale": 6})).await;
    assert_invariants(&h, &Expect::default(), "recovered").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_secret_or_parent_is_reported_and_recovered() {
    let h = fault_harness(52, Duration::from_secs(60)).await;
    h.secret("app", "password", "first").await;
    create_fleet(&h, &["c1"], &[]).await;
    h.apply::<ServerlessContainer>(&container_yaml(
        "c0",
        "  secretEnvironmentVariables:\n    - name: DB_PASSWORD\n      secretKeyRef:\n        name: app\n        key: password\n",
    ))
    .await;
    assert_invariants(&h, &Expect::default(), "before").await;

    // The referenced Secret is deleted: SecretNotFound (waiting, not stalled).
    let secrets: Api<Secret> = h.api();
    secrets
        .delete("app", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expect = Expect::default().failing("c0", &["SecretNotFound"], false);
    assert_invariants(&h, &expect, "secret deleted").await;
    h.secret("app", "password", "second").await;
    assert_invariants(&h, &Expect::default(), "secret recreated").await;

    // The ServerlessNamespace is deleted while containers reference it: it waits for them,
    // and its Scaleway namespace stays until they are gone.
    delete::<ServerlessNamespace>(&h, "demo").await;
    let waiting = h
        .until("the namespace waiting for its containers", || async {
            let object = h
                .api::<ServerlessNamespace>()
                .get("demo")
                .await
                .map_err(|e| e.to_string())?;
            let ready = object
                .status
                .clone()
                .unwrap_or_default()
                .conditions
                .into_iter()
                .find(|c| c.type_ == "Ready");
            match ready {
                Some(c)
                    if c.reason == "Deleting" && c.message.contains("2 ServerlessContainer") =>
                {
                    Ok(c)
                }
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    assert_eq!(waiting.status, "False");
    let child = h
        .api::<ServerlessContainer>()
        .get("c0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let child_ready = status_of(&child)
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status, c.reason));
    eprintln!("while its namespace waits to be deleted, c0 is Ready={child_ready:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        (h.remote_count("namespaces"), h.remote_count("containers")),
        (1, 2),
        "nothing deleted at Scaleway while containers use the namespace"
    );
    delete::<ServerlessContainer>(&h, "c0").await;
    delete::<ServerlessContainer>(&h, "c1").await;
    h.gone::<ServerlessNamespace>("demo").await;
    let (objects, remotes) = assert_invariants(&h, &Expect::default(), "parent deleted").await;
    assert_eq!((objects, remotes), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_credentials_are_reported_and_recovered() {
    const TENANT_KEY: &str = "tenant-key-c0ffee";
    let h = support::start(Options {
        retry_max: Some(Duration::from_secs(2)),
        seed: 53,
        credentials: Some(vec![TOKEN.into(), TENANT_KEY.into()]),
        ..Options::default()
    })
    .await;
    h.secret("tenant", "SCW_SECRET_KEY", TENANT_KEY).await;
    h.secret("tenant", "SCW_DEFAULT_PROJECT_ID", PROJECT).await;
    let namespace = NAMESPACE_YAML.replace(
        "spec:\n",
        "spec:\n  credentialsSecretRef:\n    name: tenant\n",
    );
    h.apply::<ServerlessNamespace>(&namespace).await;
    for name in ["c0", "c1"] {
        h.apply::<ServerlessContainer>(&container_yaml(name, ""))
            .await;
    }
    assert_invariants(&h, &Expect::default(), "before").await;

    // The key is revoked (Scaleway answers 403): every object says so, nothing is created
    // or deleted meanwhile.
    h.secret("tenant", "SCW_SECRET_KEY", "revoked-key").await;
    let denied = ["ScalewayForbidden", "ScalewayUnauthorized"];
    // A container may say so itself, or report its namespace as not Ready for that reason.
    let denied_child = [
        "ScalewayForbidden",
        "ScalewayUnauthorized",
        "DependencyNotReady",
    ];
    let expect = Expect::default()
        .failing("demo", &denied, false)
        .failing("c0", &denied_child, false)
        .failing("c1", &denied_child, false);
    assert_invariants(&h, &expect, "key revoked").await;
    // The key is removed: invalid credentials, said without calling Scaleway.
    let secrets: Api<Secret> = h.api();
    let mut tenant = secrets
        .get("tenant")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(data) = tenant.data.as_mut() {
        data.remove("SCW_SECRET_KEY");
    }
    secrets
        .replace("tenant", &PostParams::default(), &tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let invalid_child = ["InvalidCredentials", "DependencyNotReady"];
    let expect = Expect::default()
        .failing("demo", &["InvalidCredentials"], false)
        .failing("c0", &invalid_child, false)
        .failing("c1", &invalid_child, false);
    assert_invariants(&h, &expect, "key removed").await;

    // Fixed: everything recovers, a change made meanwhile included.
    patch_spec::<ServerlessContainer>(&h, "c1", serde_json::json!({"maxScale": 5})).await;
    h.secret("tenant", "SCW_SECRET_KEY", TENANT_KEY).await;
    assert_invariants(&h, &Expect::default(), "key fixed").await;
}

// ---------------------------------------------------------------------------------------
// Secrets never leak
// ---------------------------------------------------------------------------------------

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_leaks_under_faults_and_restarts() {
    // The tenant's key, a secret env value before and after rotation, an SQS secret key.
    const VALUES: [&str; 4] = [
        "tenant-key-5ab0d1f3",
        "db-password-91c4e2",
        "db-password-rotated-07fa",
        "sqs-secret-6d3b8e",
    ];
    // Every crate's logs at TRACE, from every thread (a global subscriber: this binary has
    // no other).
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .unwrap_or_else(|e| panic!("a global subscriber was already set: {e}"));

    let mut h = fault_harness(61, Duration::from_secs(60)).await;
    h.secret("tenant", "SCW_SECRET_KEY", VALUES[0]).await;
    h.secret("tenant", "SCW_DEFAULT_PROJECT_ID", PROJECT).await;
    h.secret("app", "password", VALUES[1]).await;
    h.secret("queue", "secret", VALUES[3]).await;
    h.faults(Faults {
        server_error_rate: 0.3,
        rate_limit_rate: 0.2,
        retry_after_seconds: 1,
        drop_rate: 0.1,
        max_faults: Some(25),
        ..Faults::default()
    });
    let namespace = NAMESPACE_YAML.replace(
        "spec:\n",
        "spec:\n  credentialsSecretRef:\n    name: tenant\n  secretEnvironmentVariables:\n    - name: SHARED\n      secretKeyRef:\n        name: app\n        key: password\n",
    );
    h.apply::<ServerlessNamespace>(&namespace).await;
    let secret_env = "  secretEnvironmentVariables:\n    - name: DB_PASSWORD\n      secretKeyRef:\n        name: app\n        key: password\n";
    h.apply::<ServerlessContainer>(&container_yaml("web", secret_env))
        .await;
    h.apply::<ServerlessContainer>(&container_yaml("api", secret_env))
        .await;
    // A failure whose message names the Secret.
    h.apply::<ServerlessContainer>(&container_yaml(
        "broken",
        "  secretEnvironmentVariables:\n    - name: MISSING\n      secretKeyRef:\n        name: app\n        key: no-such-key\n",
    ))
    .await;
    h.apply::<ServerlessTrigger>("apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessTrigger\nmetadata:\n  name: jobs\nspec:\n  containerRef:\n    name: web\n  sqs:\n    region: fr-par\n    endpoint: https://sqs.mnq.fr-par.scaleway.com\n    queueUrl: https://sqs.mnq.fr-par.scaleway.com/project-x/jobs\n    accessKeyId: AKIAEXAMPLE\n    secretAccessKeyRef:\n      name: queue\n      key: secret\n").await;
    let expect = Expect::default().failing("broken", &["SecretNotFound"], false);
    assert_invariants(&h, &expect, "secrets: created").await;

    // Rotation under faults, with the operator killed on the way (a new process resends
    // every secret once).
    h.faults(Faults {
        server_error_rate: 0.5,
        max_faults: Some(10),
        ..Faults::default()
    });
    h.secret("app", "password", VALUES[2]).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut metrics = h.ctx.metrics.encode();
    h.restart().await;
    h.secret("queue", "secret", &format!("{}-2", VALUES[3]))
        .await;
    assert_invariants(&h, &expect, "secrets: rotated").await;
    assert!(
        h.calls(PATCH_CONTAINER) > 0,
        "the rotated value was sent to Scaleway"
    );

    // Everything written while the objects exist.
    let mut written = String::new();
    for values in [
        list_json::<ServerlessNamespace>(&h).await,
        list_json::<ServerlessContainer>(&h).await,
        list_json::<ServerlessTrigger>(&h).await,
    ] {
        written.push_str(&serde_json::to_string(&values.unwrap_or_default()).unwrap_or_default());
    }
    assert!(written.contains("secretsDigest"), "statuses captured");
    assert!(written.contains("no-such-key"), "the failure is in status");
    delete_all(&h).await;
    assert_invariants(&h, &Expect::default(), "secrets: deleted").await;

    let mut events = String::new();
    let new_events: Api<k8s_openapi::api::events::v1::Event> = Api::all(h.kube.clone());
    let core_events: Api<k8s_openapi::api::core::v1::Event> = Api::all(h.kube.clone());
    let listed = new_events.list(&Default::default()).await;
    events.push_str(
        &serde_json::to_string(&listed.map(|l| l.items).unwrap_or_default()).unwrap_or_default(),
    );
    let listed = core_events.list(&Default::default()).await;
    events.push_str(
        &serde_json::to_string(&listed.map(|l| l.items).unwrap_or_default()).unwrap_or_default(),
    );
    assert!(events.contains("Created"), "events captured");
    assert!(events.contains("SecretNotFound"), "warning events captured");
    metrics.push_str(&h.ctx.metrics.encode());
    assert!(metrics.contains("reconciles_total"), "metrics captured");
    h.operator.abort();
    let logs = logs.text();
    assert!(
        logs.contains(" TRACE ") && logs.contains(" DEBUG "),
        "trace-level lines captured"
    );
    assert!(
        logs.len() > 10_000,
        "a whole life cycle: {} bytes",
        logs.len()
    );

    // Sanity: the values are where they belong, so the search below can find them.
    let stored: Api<Secret> = h.api();
    let stored = serde_json::to_string(
        &stored
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let rotated = k8s_openapi::ByteString(VALUES[2].as_bytes().to_vec());
    let rotated = serde_json::to_string(&rotated).unwrap_or_default();
    assert!(
        stored.contains(rotated.trim_matches('"')),
        "the rotated value is in the Kubernetes Secret"
    );

    let queue_rotated = format!("{}-2", VALUES[3]);
    // The operator's own key too.
    for secret in VALUES
        .iter()
        .copied()
        .chain([queue_rotated.as_str(), TOKEN])
    {
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
