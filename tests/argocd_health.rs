//! The Argo CD health check in deploy/argocd/health.lua, run in a real Lua 5.1 (Argo CD's
//! gopher-lua speaks 5.1) the way Argo CD runs it: a fresh state with only the base, table
//! and package libraries (no string library), the object as the global `obj`, converted from
//! JSON as Argo CD's `decodeValue` does, and the returned table read as `{status, message}`.
//! Also checks that deploy/argocd/argocd-cm.yaml embeds the script verbatim.

use mlua::{Lua, LuaOptions, StdLib, Value};
use serde_json::{Value as Json, json};

const SCRIPT: &str = include_str!("../deploy/argocd/health.lua");
const CONFIG_MAP: &str = include_str!("../deploy/argocd/argocd-cm.yaml");
const GROUP: &str = "serverless.scaleway.com";
const KINDS: [&str; 8] = [
    "ServerlessNamespace",
    "ServerlessContainer",
    "ServerlessTrigger",
    "ServerlessDomain",
    "ServerlessFunction",
    "ServerlessFunctionToken",
    "ServerlessFunctionCron",
    "ServerlessFunctionTrigger",
];

/// What Argo CD reads from the script: `hs.status` and `hs.message`.
#[derive(Debug, PartialEq)]
struct Health {
    status: String,
    message: Option<String>,
}

impl Health {
    fn message(&self) -> &str {
        self.message.as_deref().unwrap_or("")
    }
}

/// JSON to Lua as Argo CD's `decodeValue` (util/lua/lua.go) does it: every number is a Lua
/// number, `null` is nil, an array is a 1-indexed table built with gopher-lua's `Append`
/// (which skips nil, so nulls in an array close up), an object is a table whose null
/// members are absent.
fn to_lua(lua: &Lua, value: &Json) -> mlua::Result<Value> {
    Ok(match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.as_f64().expect("a JSON number fits an f64")),
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for item in items {
                let item = to_lua(lua, item)?;
                if !item.is_nil() {
                    table.raw_push(item)?;
                }
            }
            Value::Table(table)
        }
        Json::Object(members) => {
            let table = lua.create_table_with_capacity(0, members.len())?;
            for (key, member) in members {
                table.raw_set(key.as_str(), to_lua(lua, member)?)?;
            }
            Value::Table(table)
        }
    })
}

/// A Lua state with what Argo CD opens for a custom health check when
/// `useOpenLibs` is not set: base, table and package (and a safe os, unused here).
fn argo_lua() -> Lua {
    Lua::new_with(StdLib::TABLE | StdLib::PACKAGE, LuaOptions::default()).expect("Lua state")
}

/// Runs `script` on `object` and reads the result as Argo CD does.
fn run(script: &str, object: &Json) -> Health {
    let lua = argo_lua();
    let obj = to_lua(&lua, object).expect("convert the object");
    lua.globals().set("obj", obj).expect("set obj");
    let returned: Value = lua
        .load(script)
        .set_name("health.lua")
        .call(())
        .unwrap_or_else(|e| panic!("health.lua failed: {e}"));
    let Value::Table(hs) = returned else {
        panic!("health.lua must return a table, not {returned:?}");
    };
    let status = match hs.get::<Value>("status").expect("hs.status") {
        Value::String(s) => s.to_str().expect("UTF-8 status").to_string(),
        other => panic!("hs.status must be a string, not {other:?}"),
    };
    // Anything else makes Argo CD report Unknown ("Lua returned an invalid health status").
    assert!(
        [
            "Healthy",
            "Progressing",
            "Degraded",
            "Suspended",
            "Missing",
            "Unknown"
        ]
        .contains(&status.as_str()),
        "invalid health status {status:?}"
    );
    // Argo CD decodes the table into a Go struct whose message is a string.
    let message = match hs.get::<Value>("message").expect("hs.message") {
        Value::Nil => None,
        Value::String(s) => Some(s.to_str().expect("UTF-8 message").to_string()),
        other => panic!("hs.message must be a string or nil, not {other:?}"),
    };
    Health { status, message }
}

fn health(object: &Json) -> Health {
    run(SCRIPT, object)
}

fn assert_health(object: &Json, status: &str, message: &str) {
    let got = health(object);
    assert_eq!(
        got,
        Health {
            status: status.to_string(),
            message: Some(message.to_string()),
        },
        "object: {object:#}"
    );
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, generation: i64) -> Json {
    json!({
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": "2026-11-20T10:00:00Z",
    })
}

/// An object of `kind` at `generation` whose status observed `generation` and holds
/// `conditions`.
fn object(kind: &str, generation: i64, conditions: Vec<Json>) -> Json {
    json!({
        "apiVersion": format!("{GROUP}/v1alpha1"),
        "kind": kind,
        "metadata": {
            "name": "web",
            "namespace": "default",
            "generation": generation,
        },
        "spec": {},
        "status": {
            "observedGeneration": generation,
            "conditions": conditions,
        },
    })
}

fn container(generation: i64, conditions: Vec<Json>) -> Json {
    object("ServerlessContainer", generation, conditions)
}

fn ready(generation: i64) -> Vec<Json> {
    vec![
        condition(
            "Ready",
            "True",
            "UpToDate",
            "Scaleway reports the container ready",
            generation,
        ),
        condition(
            "Synced",
            "True",
            "Synced",
            "the last reconcile applied the spec",
            generation,
        ),
    ]
}

fn failed(reason: &str, message: &str, stalled: bool, generation: i64) -> Vec<Json> {
    let extra = if stalled { "Stalled" } else { "Reconciling" };
    vec![
        condition("Ready", "False", reason, message, generation),
        condition("Synced", "False", reason, message, generation),
        condition(extra, "True", reason, message, generation),
    ]
}

const WAITING: &str = "Waiting for the operator to observe the latest spec";

#[test]
fn the_harness_has_no_string_library_like_argo_cd() {
    let lua = argo_lua();
    let globals = lua.globals();
    for library in ["string", "io", "debug"] {
        assert!(
            globals.get::<Value>(library).unwrap().is_nil(),
            "{library} is loaded"
        );
    }
    for present in ["table", "ipairs", "pairs", "tonumber", "tostring", "type"] {
        assert!(
            !globals.get::<Value>(present).unwrap().is_nil(),
            "{present} missing"
        );
    }
    // So a script calling string.* fails here as it would in Argo CD.
    let err = lua
        .load(r#"return string.format("%d", 1)"#)
        .exec()
        .unwrap_err();
    assert!(err.to_string().contains("string"), "{err}");
}

#[test]
fn no_status_is_progressing() {
    let mut object = container(1, vec![]);
    object.as_object_mut().unwrap().remove("status");
    assert_health(&object, "Progressing", WAITING);
}

#[test]
fn status_without_conditions_is_progressing() {
    assert_health(&container(1, vec![]), "Progressing", WAITING);
    let mut object = container(1, vec![]);
    object["status"] = json!({});
    assert_health(&object, "Progressing", WAITING);
    object["status"] = json!({"observedGeneration": 1, "conditions": null});
    assert_health(&object, "Progressing", WAITING);
}

#[test]
fn stale_observed_generation_is_progressing() {
    let mut object = container(3, failed("RemoteError", "boom", true, 2));
    object["status"]["observedGeneration"] = json!(2);
    // Conditions without observedGeneration: only status.observedGeneration says stale.
    for condition in object["status"]["conditions"].as_array_mut().unwrap() {
        condition
            .as_object_mut()
            .unwrap()
            .remove("observedGeneration");
    }
    assert_health(
        &object,
        "Progressing",
        &format!("{WAITING} (generation 3, observed 2)"),
    );
}

#[test]
fn ready_but_stale_observed_generation_is_progressing() {
    let mut object = container(5, ready(4));
    object["status"]["observedGeneration"] = json!(4);
    assert_health(
        &object,
        "Progressing",
        &format!("{WAITING} (generation 5, observed 4)"),
    );
}

#[test]
fn ready_condition_of_an_older_generation_is_progressing() {
    // status.observedGeneration current, but the Ready condition describes generation 1.
    let object = json!({
        "apiVersion": "serverless.scaleway.com/v1alpha1",
        "kind": "ServerlessContainer",
        "metadata": {"name": "web", "generation": 2},
        "status": {
            "observedGeneration": 2,
            "conditions": [
                condition("Ready", "True", "UpToDate", "old news", 1),
                condition("Synced", "True", "Synced", "applied", 2),
            ],
        },
    });
    assert_health(&object, "Progressing", WAITING);
}

#[test]
fn deleting_is_progressing() {
    let mut object = container(2, ready(2));
    object["metadata"]["deletionTimestamp"] = json!("2026-11-20T10:05:00Z");
    assert_health(&object, "Progressing", "Deleting");

    let mut object = container(
        2,
        vec![
            condition(
                "Ready",
                "False",
                "Deleting",
                "Scaleway is deleting the container",
                2,
            ),
            condition("Synced", "True", "Synced", "applied", 2),
            condition(
                "Reconciling",
                "True",
                "Deleting",
                "Scaleway is deleting the container",
                2,
            ),
        ],
    );
    object["metadata"]["deletionTimestamp"] = json!("2026-11-20T10:05:00Z");
    assert_health(
        &object,
        "Progressing",
        "Deleting: Scaleway is deleting the container",
    );
}

#[test]
fn deleting_wins_over_stalled_and_missing_status() {
    let mut object = container(2, failed("RemoteError", "cannot delete", true, 2));
    object["metadata"]["deletionTimestamp"] = json!("2026-11-20T10:05:00Z");
    assert_health(&object, "Progressing", "Deleting: cannot delete");

    object.as_object_mut().unwrap().remove("status");
    assert_health(&object, "Progressing", "Deleting");
}

#[test]
fn paused_is_suspended_with_its_message() {
    let message = "managementPolicy is Paused: changes are not applied and Scaleway is not read";
    let object = container(
        2,
        vec![
            condition("Ready", "False", "Paused", message, 2),
            condition("Synced", "False", "Paused", message, 2),
            condition("Paused", "True", "Paused", message, 2),
        ],
    );
    assert_health(&object, "Suspended", message);
}

#[test]
fn paused_wins_over_ready() {
    let message = "managementPolicy is Paused: changes are not applied and Scaleway is not read";
    let mut conditions = ready(2);
    conditions.push(condition("Paused", "True", "Paused", message, 2));
    assert_health(&container(2, conditions), "Suspended", message);
}

#[test]
fn paused_wins_over_deleting() {
    // The operator keeps a paused object's finalizer: the deletion waits for the user.
    let message = "managementPolicy is Paused: the deletion waits; set it to Manage to delete the Scaleway resource, or to Observe to leave it in place";
    let mut conditions = ready(2);
    conditions.push(condition("Paused", "True", "Paused", message, 2));
    let mut object = container(2, conditions);
    object["metadata"]["deletionTimestamp"] = json!("2026-11-20T10:05:00Z");
    assert_health(&object, "Suspended", message);
}

#[test]
fn unpausing_is_progressing_until_observed() {
    // managementPolicy changed from Paused (generation 2) to Manage (generation 3).
    let message = "managementPolicy is Paused: changes are not applied and Scaleway is not read";
    let mut conditions = ready(2);
    conditions.push(condition("Paused", "True", "Paused", message, 2));
    let mut object = container(3, conditions);
    object["status"]["observedGeneration"] = json!(2);
    assert_health(
        &object,
        "Progressing",
        &format!("{WAITING} (generation 3, observed 2)"),
    );
}

#[test]
fn paused_false_is_ignored() {
    let mut conditions = ready(1);
    conditions.push(condition("Paused", "False", "Managed", "", 1));
    assert_health(
        &container(1, conditions),
        "Healthy",
        "Scaleway reports the container ready",
    );
}

#[test]
fn stalled_is_degraded_with_its_message() {
    let message = "spec.port: must be between 1 and 65535";
    assert_health(
        &container(4, failed("InvalidSpec", message, true, 4)),
        "Degraded",
        message,
    );
}

#[test]
fn stalled_wins_over_reconciling() {
    let mut conditions = failed("RemoteError", "image pull failed", true, 1);
    conditions.push(condition(
        "Reconciling",
        "True",
        "Retrying",
        "retrying in 30s",
        1,
    ));
    assert_health(&container(1, conditions), "Degraded", "image pull failed");
}

#[test]
fn ready_is_healthy_with_its_message() {
    assert_health(
        &container(7, ready(7)),
        "Healthy",
        "Scaleway reports the container ready",
    );
}

#[test]
fn not_ready_and_reconciling_is_progressing_with_its_message() {
    assert_health(
        &container(
            1,
            failed("Creating", "Scaleway is creating the container", false, 1),
        ),
        "Progressing",
        "Scaleway is creating the container",
    );
    // Waiting for a dependency: Ready=False, Reconciling=True.
    assert_health(
        &container(
            1,
            failed(
                "DependencyNotReady",
                "waiting for ServerlessNamespace demo",
                false,
                1,
            ),
        ),
        "Progressing",
        "waiting for ServerlessNamespace demo",
    );
}

#[test]
fn not_ready_otherwise_is_degraded_with_its_message() {
    let object = container(
        1,
        vec![
            condition(
                "Ready",
                "False",
                "AdoptionRequired",
                "a Scaleway container named web exists",
                1,
            ),
            condition(
                "Synced",
                "False",
                "AdoptionRequired",
                "a Scaleway container named web exists",
                1,
            ),
        ],
    );
    assert_health(&object, "Degraded", "a Scaleway container named web exists");
}

#[test]
fn empty_messages_fall_back_to_reason_then_error_message() {
    assert_health(
        &container(1, vec![condition("Ready", "False", "RemoteLocked", "", 1)]),
        "Degraded",
        "RemoteLocked",
    );
    let mut object = container(
        1,
        vec![json!({"type": "Ready", "status": "False", "observedGeneration": 1})],
    );
    object["status"]["errorMessage"] = json!("quota exceeded");
    assert_health(&object, "Degraded", "quota exceeded");
    assert_health(
        &container(1, vec![condition("Stalled", "True", "InvalidSpec", "", 1)]),
        "Degraded",
        "InvalidSpec",
    );
}

#[test]
fn ready_unknown_is_progressing() {
    assert_health(
        &container(
            1,
            vec![condition(
                "Ready",
                "Unknown",
                "Checking",
                "checking Scaleway",
                1,
            )],
        ),
        "Progressing",
        "checking Scaleway",
    );
}

#[test]
fn conditions_without_ready_are_progressing() {
    assert_health(
        &container(1, vec![condition("Synced", "True", "Synced", "applied", 1)]),
        "Progressing",
        WAITING,
    );
}

#[test]
fn every_kind_and_a_future_one_use_the_same_check() {
    for kind in KINDS.into_iter().chain(["ServerlessFunctionDomain"]) {
        let message = format!("Scaleway reports the {kind} ready");
        let conditions = vec![condition("Ready", "True", "UpToDate", &message, 1)];
        assert_health(&object(kind, 1, conditions), "Healthy", &message);
        assert_health(
            &object(kind, 1, failed("RemoteError", "broken", true, 1)),
            "Degraded",
            "broken",
        );
    }
}

#[test]
fn json_nulls_and_arrays_convert_like_argo_cd() {
    let mut object = container(1, ready(1));
    // null members are absent: a null deletionTimestamp is not a deletion.
    object["metadata"]["deletionTimestamp"] = Json::Null;
    // nulls in an array close up (gopher-lua's Append skips nil); the rest stays 1-indexed.
    object["status"]["conditions"]
        .as_array_mut()
        .unwrap()
        .insert(0, Json::Null);
    assert_health(&object, "Healthy", "Scaleway reports the container ready");

    let probe = r#"
        local c = obj.status.conditions
        return { status = "Healthy", message = tostring(#c) .. " " .. c[1].type .. " "
            .. tostring(c[0] == nil) .. " " .. type(obj.metadata.generation) .. " "
            .. tostring(obj.metadata.deletionTimestamp == nil) }
    "#;
    assert_eq!(run(probe, &object).message(), "2 Ready true number true");
}

/// A ServerlessContainer as the API server returns it, with what Argo CD and the operator
/// add around the spec and status.
fn realistic_container() -> Json {
    json!({
        "apiVersion": "serverless.scaleway.com/v1alpha1",
        "kind": "ServerlessContainer",
        "metadata": {
            "name": "web",
            "namespace": "demo",
            "uid": "5b0f6c7e-3d1a-4f0e-9a57-2f8c1d2b9e10",
            "resourceVersion": "184467",
            "generation": 3,
            "creationTimestamp": "2026-11-20T09:58:12Z",
            "finalizers": ["serverless.scaleway.com/finalizer"],
            "labels": {"app.kubernetes.io/instance": "demo"},
            "annotations": {
                "argocd.argoproj.io/tracking-id": "demo:serverless.scaleway.com/ServerlessContainer:demo/web",
            },
            "managedFields": [
                {
                    "apiVersion": "serverless.scaleway.com/v1alpha1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {".": {}, "f:conditions": {}, "f:id": {}}},
                    "manager": "scaleway-serverless-operator",
                    "operation": "Apply",
                    "subresource": "status",
                    "time": "2026-11-20T10:01:40Z",
                },
            ],
        },
        "spec": {
            "namespaceRef": {"name": "demo"},
            "image": "rg.fr-par.scw.cloud/demo/web:1.0",
            "port": 8080,
            "memory": "512Mi",
            "cpu": "500m",
            "timeout": "5m",
            "minScale": 0,
            "maxScale": 5,
            "privacy": "Public",
            "httpsOnly": true,
            "environmentVariables": {"MODE": "production"},
            "secretEnvironmentVariables": [
                {"name": "DATABASE_PASSWORD", "secretKeyRef": {"name": "web-secrets", "key": "database-password"}},
            ],
            "scaling": {"concurrentRequestsThreshold": 50},
            "livenessProbe": {"http": {"path": "/healthz"}, "interval": "10s", "failureThreshold": 3},
            "managementPolicy": "Manage",
            "adoptionPolicy": "Never",
        },
        "status": {
            "observedGeneration": 3,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "UpToDate",
                    "message": "Scaleway reports the container ready",
                    "observedGeneration": 3,
                    "lastTransitionTime": "2026-11-20T10:01:40Z",
                },
                {
                    "type": "Synced",
                    "status": "True",
                    "reason": "Synced",
                    "message": "the last reconcile applied the spec",
                    "observedGeneration": 3,
                    "lastTransitionTime": "2026-11-20T09:58:13Z",
                },
            ],
            "effective": {
                "deletionPolicy": "Delete",
                "deletionPolicyFrom": "Operator",
                "credentialsFrom": "Operator",
                "resyncPeriod": "5m0s",
            },
            "id": "0f5c2a4e-8f5b-4c1e-b1a9-6e3d2c1b0a99",
            "remoteStatus": "ready",
            "publicEndpoint": "https://demoXXXXXX-web.functions.fnc.fr-par.scw.cloud",
            "region": "fr-par",
            "namespaceId": "2c1b0a99-0f5c-4c1e-8f5b-6e3d2a4eb1a9",
            "secretsDigest": "hmac-sha256:3f0a",
        },
    })
}

#[test]
fn realistic_serverless_container() {
    let object = realistic_container();
    assert_health(&object, "Healthy", "Scaleway reports the container ready");

    // Scaleway moves it to error: Ready=False, Synced=True, Stalled=True.
    let mut broken = object.clone();
    let message = "Scaleway reports the container in error: image pull failed";
    broken["status"]["remoteStatus"] = json!("error");
    broken["status"]["errorMessage"] = json!("image pull failed");
    broken["status"]["conditions"] = json!([
        condition("Ready", "False", "RemoteError", message, 3),
        condition(
            "Synced",
            "True",
            "Synced",
            "the last reconcile applied the spec",
            3
        ),
        condition("Stalled", "True", "RemoteError", message, 3),
    ]);
    assert_health(&broken, "Degraded", message);

    // The user pushes a fixed image: generation 4, not yet observed.
    broken["metadata"]["generation"] = json!(4);
    broken["spec"]["image"] = json!("rg.fr-par.scw.cloud/demo/web:1.1");
    assert_health(
        &broken,
        "Progressing",
        &format!("{WAITING} (generation 4, observed 3)"),
    );
}

/// The `data` of argocd-cm.yaml.
fn config_map_data() -> serde_json::Map<String, Json> {
    let config_map: Json = serde_saphyr::from_str(CONFIG_MAP).expect("argocd-cm.yaml parses");
    assert_eq!(config_map["apiVersion"], "v1");
    assert_eq!(config_map["kind"], "ConfigMap");
    assert_eq!(config_map["metadata"]["name"], "argocd-cm");
    assert_eq!(config_map["metadata"]["namespace"], "argocd");
    assert_eq!(
        config_map["metadata"]["labels"]["app.kubernetes.io/part-of"],
        "argocd"
    );
    config_map["data"]
        .as_object()
        .expect("argocd-cm.yaml has data")
        .clone()
}

#[test]
fn argocd_cm_embeds_health_lua_verbatim() {
    let data = config_map_data();
    let mut expected: Vec<String> = KINDS
        .iter()
        .map(|kind| format!("resource.customizations.health.{GROUP}_{kind}"))
        .collect();
    for key in &expected {
        let value = data[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing"));
        assert!(
            value == SCRIPT,
            "{key} differs from deploy/argocd/health.lua"
        );
    }

    // The wildcard: only the legacy resource.customizations key accepts one.
    let customizations = data["resource.customizations"]
        .as_str()
        .expect("resource.customizations missing");
    let customizations: Json =
        serde_saphyr::from_str(customizations).expect("resource.customizations parses");
    let wildcard = format!("{GROUP}/*");
    let script = customizations[&wildcard]["health.lua"]
        .as_str()
        .unwrap_or_else(|| panic!("{wildcard} health.lua missing"));
    assert!(
        script == SCRIPT,
        "{wildcard} differs from deploy/argocd/health.lua"
    );
    assert_eq!(
        customizations.as_object().unwrap().len(),
        1,
        "resource.customizations holds only {wildcard}"
    );

    expected.push("resource.customizations".to_string());
    let mut keys: Vec<String> = data.keys().cloned().collect();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
}

#[test]
fn argocd_cm_keys_are_valid_configmap_keys() {
    // The API server rejects keys outside [-._a-zA-Z0-9]+ (so no '*' in a split key).
    for key in config_map_data().keys() {
        assert!(
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')),
            "invalid ConfigMap key {key:?}"
        );
    }
}

#[test]
fn health_lua_is_plain_lua_5_1() {
    // Argo CD's gopher-lua is Lua 5.1: this state is Lua 5.1 and compiles the script.
    let lua = argo_lua();
    let version: String = lua.globals().get("_VERSION").unwrap();
    assert_eq!(version, "Lua 5.1");
    lua.load(SCRIPT)
        .into_function()
        .unwrap_or_else(|e| panic!("health.lua does not compile as Lua 5.1: {e}"));
    // One trailing newline, so YAML block scalars (`|`) reproduce it byte for byte.
    assert!(
        SCRIPT.ends_with("return hs\n") && !SCRIPT.ends_with("\n\n"),
        "{SCRIPT:?}"
    );
    assert!(!SCRIPT.contains('\t') && !SCRIPT.contains('\r'));
    assert!(SCRIPT.lines().all(|line| line == line.trim_end()));
}
