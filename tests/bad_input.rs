//! Bad input, field by field.
//!
//! 1. Apply time: every spec field of every kind against the in-memory API server with the
//!    operator's CRDs (OpenAPI schema and CEL rules): each documented limit (accepted) and
//!    just past it (422 naming the field), wrong JSON types, unknown enum values, missing
//!    required fields, the one-of rules, unknown fields (pruned), and each immutable field
//!    changed after create. Driven by the tables in `apply_time_cases` and `update_cases`.
//! 2. Controller time: what the schema cannot express (quantities, durations, Scaleway's own
//!    limits, missing references, unusable credentials) through the whole operator and the
//!    Scaleway emulator: a clear condition, and a bounded number of Scaleway calls (none
//!    when the operator can tell by itself, one failing call, not a loop, when only Scaleway
//!    can), then the fixed spec converges.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use scaleway_serverless_operator::crd::{
    self, ServerlessContainer, ServerlessDomain, ServerlessNamespace, ServerlessTrigger,
};
use scaleway_serverless_operator::sandbox::apiserver::ApiServer;
use serde_json::{Value, json};
use support::*;

// ---------------------------------------------------------------------------------------
// Part 1: apply time.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Namespace,
    Container,
    Trigger,
    Domain,
}

use Kind::{Container as C, Domain as D, Namespace as N, Trigger as T};

impl Kind {
    fn name(self) -> &'static str {
        match self {
            N => "ServerlessNamespace",
            C => "ServerlessContainer",
            T => "ServerlessTrigger",
            D => "ServerlessDomain",
        }
    }

    /// The smallest valid spec: each case changes one thing in it.
    fn base(self) -> Value {
        match self {
            N => json!({}),
            C => json!({"namespaceRef": {"name": "demo"}, "image": "nginx:1"}),
            T => json!({"containerRef": {"name": "web"}, "cron": {"schedule": "0 3 * * *"}}),
            D => json!({"containerRef": {"name": "web"}, "hostname": "api.example.com"}),
        }
    }

    fn api(self, client: &kube::Client) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(crd::GROUP, "v1alpha1", self.name());
        let plural = format!("{}s", self.name().to_lowercase());
        Api::namespaced_with(
            client.clone(),
            NS,
            &ApiResource::from_gvk_with_plural(&gvk, &plural),
        )
    }
}

#[derive(Clone, Debug)]
enum Expect {
    /// Created, and stored as sent.
    Accepted,
    /// Created, without the field (unknown fields are pruned).
    Pruned,
    /// 422 with a cause on this field whose message contains this text.
    Rejected {
        field: String,
        message: &'static str,
    },
}

/// One row: in the base spec of `kind`, set each `(path, value)` (dotted path under `spec`;
/// `null` removes), create, and expect `expect`.
#[derive(Clone, Debug)]
struct Case {
    kind: Kind,
    sets: Vec<(&'static str, Value)>,
    expect: Expect,
}

impl Case {
    /// One more field set in the same object (for the rules that involve several fields).
    fn and(mut self, path: &'static str, value: Value) -> Self {
        self.sets.push((path, value));
        self
    }

    fn field(&self) -> &'static str {
        self.sets[0].0
    }
}

/// Accepted and stored as sent.
fn ok(kind: Kind, path: &'static str, value: Value) -> Case {
    Case {
        kind,
        sets: vec![(path, value)],
        expect: Expect::Accepted,
    }
}

/// Rejected with a cause on `spec.<path>` whose message contains `message`.
fn bad(kind: Kind, path: &'static str, value: Value, message: &'static str) -> Case {
    bad_at(kind, path, value, &format!("spec.{path}"), message)
}

/// Rejected with a cause on `field` (a list item, a map entry, the object a CEL rule is on).
fn bad_at(
    kind: Kind,
    path: &'static str,
    value: Value,
    field: &str,
    message: &'static str,
) -> Case {
    Case {
        kind,
        sets: vec![(path, value)],
        expect: Expect::Rejected {
            field: field.to_owned(),
            message,
        },
    }
}

/// Accepted, but the unknown field is dropped.
fn pruned(kind: Kind, path: &'static str, value: Value) -> Case {
    Case {
        kind,
        sets: vec![(path, value)],
        expect: Expect::Pruned,
    }
}

const TYPE_STRING: &str = "must be of type string";
const TYPE_INT: &str = "must be of type integer";
const TYPE_OBJECT: &str = "must be of type object";
const TYPE_ARRAY: &str = "must be of type array";
const TYPE_BOOL: &str = "must be of type boolean";
const TYPE_INT_OR_STRING: &str = "must be of type integer or string";
const UNSUPPORTED: &str = "Unsupported value";
const PATTERN: &str = "should match";
const TOO_SHORT: &str = "should be at least 1 chars long";
const TOO_LONG: &str = "Too long";
const REQUIRED: &str = "Required value";
const ABOVE: &str = "should be less than or equal to";
const BELOW: &str = "should be greater than or equal to";

/// A DNS-label name of `len` characters (the Scaleway name pattern).
fn label(len: usize) -> Value {
    json!(format!("a{}", "b".repeat(len - 1)))
}

fn chars(len: usize) -> Value {
    json!("x".repeat(len))
}

/// The cases every kind shares: the three policies, tags and (for the children) the region.
#[rustfmt::skip]
fn policy_cases(kind: Kind) -> Vec<Case> {
    let mut cases = vec![
        ok(kind, "deletionPolicy", json!("Delete")),
        ok(kind, "deletionPolicy", json!("Orphan")),
        bad(kind, "deletionPolicy", json!("Retain"), UNSUPPORTED),
        bad(kind, "deletionPolicy", json!("delete"), UNSUPPORTED),
        bad(kind, "deletionPolicy", json!(1), TYPE_STRING),
        ok(kind, "managementPolicy", json!("Manage")),
        ok(kind, "managementPolicy", json!("Observe")),
        ok(kind, "managementPolicy", json!("Paused")),
        bad(kind, "managementPolicy", json!("Pause"), UNSUPPORTED),
        bad(kind, "managementPolicy", json!(true), TYPE_STRING),
        ok(kind, "adoptionPolicy", json!("Never")),
        ok(kind, "adoptionPolicy", json!("Adopt")),
        bad(kind, "adoptionPolicy", json!("Always"), UNSUPPORTED),
        bad(kind, "adoptionPolicy", json!(["Adopt"]), TYPE_STRING),
        ok(kind, "tags", json!([])),
        ok(kind, "tags", json!(["team=web", ""])),
        bad(kind, "tags", json!("team=web"), TYPE_ARRAY),
        bad(kind, "tags", json!({"team": "web"}), TYPE_ARRAY),
        bad_at(kind, "tags", json!([1]), "spec.tags[0]", TYPE_STRING),
        ok(kind, "region", json!("fr-par")),
        ok(kind, "region", json!("nl-ams")),
        ok(kind, "region", json!("pl-waw")),
        bad(kind, "region", json!("fr-mrs"), PATTERN),
        bad(kind, "region", json!("FR-PAR"), PATTERN),
        bad(kind, "region", json!("fr-par "), PATTERN),
        bad(kind, "region", json!(""), PATTERN),
        bad(kind, "region", json!(33), TYPE_STRING),
        pruned(kind, "colour", json!("blue")),
    ];
    if kind != D {
        cases.push(ok(kind, "description", json!("")));
        cases.push(ok(kind, "description", chars(4096)));
        cases.push(bad(kind, "description", json!(7), TYPE_STRING));
    }
    cases
}

/// The `secretEnvironmentVariables` list of a namespace or container.
#[rustfmt::skip]
fn secret_env_cases(kind: Kind) -> Vec<Case> {
    let item = |name: Value, secret: Value, key: Value| json!([{"name": name, "secretKeyRef": {"name": secret, "key": key}}]);
    let s = "secretEnvironmentVariables";
    vec![
        ok(kind, s, json!([])),
        ok(kind, s, item(json!("A"), json!("s"), json!("k"))),
        ok(kind, s, item(chars(255), chars(253), chars(253))),
        bad_at(kind, s, item(chars(256), json!("s"), json!("k")), "spec.secretEnvironmentVariables[0].name", TOO_LONG),
        bad_at(kind, s, item(json!(""), json!("s"), json!("k")), "spec.secretEnvironmentVariables[0].name", TOO_SHORT),
        bad_at(kind, s, item(json!("A"), chars(254), json!("k")), "spec.secretEnvironmentVariables[0].secretKeyRef.name", TOO_LONG),
        bad_at(kind, s, item(json!("A"), json!(""), json!("k")), "spec.secretEnvironmentVariables[0].secretKeyRef.name", TOO_SHORT),
        bad_at(kind, s, item(json!("A"), json!("s"), chars(254)), "spec.secretEnvironmentVariables[0].secretKeyRef.key", TOO_LONG),
        bad_at(kind, s, item(json!("A"), json!("s"), json!("")), "spec.secretEnvironmentVariables[0].secretKeyRef.key", TOO_SHORT),
        bad_at(kind, s, item(json!("A"), json!("s"), json!(5)), "spec.secretEnvironmentVariables[0].secretKeyRef.key", TYPE_STRING),
        bad_at(kind, s, json!([{"name": "A"}]), "spec.secretEnvironmentVariables[0].secretKeyRef", REQUIRED),
        bad_at(kind, s, json!([{"secretKeyRef": {"name": "s", "key": "k"}}]), "spec.secretEnvironmentVariables[0].name", REQUIRED),
        bad_at(kind, s, json!([{"name": "A", "secretKeyRef": {"name": "s"}}]), "spec.secretEnvironmentVariables[0].secretKeyRef.key", REQUIRED),
        bad_at(kind, s, json!([{"name": "A", "secretKeyRef": "s/k"}]), "spec.secretEnvironmentVariables[0].secretKeyRef", TYPE_OBJECT),
        bad(kind, s, json!({"A": {"name": "s", "key": "k"}}), TYPE_ARRAY),
        bad_at(kind, s, json!(["A"]), "spec.secretEnvironmentVariables[0]", TYPE_OBJECT),
    ]
}

#[rustfmt::skip]
fn env_cases(kind: Kind) -> Vec<Case> {
    let e = "environmentVariables";
    vec![
        ok(kind, e, json!({})),
        ok(kind, e, json!({"LOG_LEVEL": "info", "EMPTY": ""})),
        bad_at(kind, e, json!({"PORT": 8080}), "spec.environmentVariables.PORT", TYPE_STRING),
        bad_at(kind, e, json!({"ON": true}), "spec.environmentVariables.ON", TYPE_STRING),
        bad(kind, e, json!(["LOG_LEVEL=info"]), TYPE_OBJECT),
        bad(kind, e, json!("LOG_LEVEL=info"), TYPE_OBJECT),
    ]
}

/// A `{name}` reference (namespaceRef, containerRef, credentialsSecretRef).
#[rustfmt::skip]
fn reference_cases(kind: Kind, path: &'static str) -> Vec<Case> {
    let name = |p: &str| format!("spec.{p}.name");
    vec![
        ok(kind, path, json!({"name": "x"})),
        ok(kind, path, json!({"name": "x".repeat(253)})),
        bad_at(kind, path, json!({"name": "x".repeat(254)}), &name(path), TOO_LONG),
        bad_at(kind, path, json!({"name": ""}), &name(path), TOO_SHORT),
        bad_at(kind, path, json!({}), &name(path), REQUIRED),
        bad_at(kind, path, json!({"name": 3}), &name(path), TYPE_STRING),
        bad(kind, path, json!("x"), TYPE_OBJECT),
        bad(kind, path, json!(["x"]), TYPE_OBJECT),
    ]
}

#[rustfmt::skip]
fn probe_cases(path: &'static str) -> Vec<Case> {
    let at = |p: &str| format!("spec.{path}.{p}");
    vec![
        ok(C, path, json!({"tcp": {}})),
        ok(C, path, json!({"http": {"path": "/"}, "failureThreshold": 1, "interval": "10s", "timeout": "1s"})),
        bad_at(C, path, json!({"tcp": {}, "failureThreshold": 4_294_967_296_u64}), &at("failureThreshold"), ABOVE),
        ok(C, path, json!({"tcp": {}, "failureThreshold": 100})),
        bad_at(C, path, json!({"tcp": {}, "failureThreshold": 101}), &at("failureThreshold"), ABOVE),
        bad_at(C, path, json!({"tcp": {}, "failureThreshold": 0}), &at("failureThreshold"), BELOW),
        bad_at(C, path, json!({"tcp": {}, "failureThreshold": "3"}), &at("failureThreshold"), TYPE_INT),
        bad_at(C, path, json!({"tcp": {}, "failureThreshold": 1.5}), &at("failureThreshold"), TYPE_INT),
        bad_at(C, path, json!({"tcp": {}, "interval": 10}), &at("interval"), TYPE_STRING),
        bad_at(C, path, json!({"tcp": {}, "timeout": 1}), &at("timeout"), TYPE_STRING),
        bad_at(C, path, json!({"http": {"path": "healthz"}}), &at("http.path"), PATTERN),
        bad_at(C, path, json!({"http": {}}), &at("http.path"), REQUIRED),
        bad_at(C, path, json!({"http": "/healthz"}), &at("http"), TYPE_OBJECT),
        bad_at(C, path, json!({"tcp": true}), &at("tcp"), TYPE_OBJECT),
        bad_at(C, path, json!({}), &format!("spec.{path}"), "set exactly one of tcp and http"),
        bad_at(C, path, json!({"tcp": {}, "http": {"path": "/"}}), &format!("spec.{path}"), "set exactly one of tcp and http"),
        bad(C, path, json!("tcp"), TYPE_OBJECT),
    ]
}

#[rustfmt::skip]
fn quantity_cases(path: &'static str) -> Vec<Case> {
    vec![
        ok(C, path, json!("512Mi")),
        ok(C, path, json!(1)),
        // Any string passes the schema; the controller converts it (part 2).
        ok(C, path, json!("lots")),
        bad(C, path, json!(1.5), TYPE_INT_OR_STRING),
        bad(C, path, json!(true), TYPE_INT_OR_STRING),
        bad(C, path, json!({"value": "1Gi"}), TYPE_INT_OR_STRING),
        bad(C, path, json!(["1Gi"]), TYPE_INT_OR_STRING),
    ]
}

#[rustfmt::skip]
fn string_list_cases(kind: Kind, path: &'static str) -> Vec<Case> {
    vec![
        ok(kind, path, json!([])),
        ok(kind, path, json!(["a", "b"])),
        bad(kind, path, json!("a b"), TYPE_ARRAY),
        bad_at(kind, path, json!([1]), &format!("spec.{path}[0]"), TYPE_STRING),
    ]
}

#[rustfmt::skip]
fn uint_range_cases(path: &'static str, min: u64, max: Option<u64>) -> Vec<Case> {
    let mut cases = vec![
        ok(C, path, json!(min)),
        bad(C, path, json!(format!("{min}")), TYPE_INT),
        bad(C, path, json!(min as f64 + 0.5), TYPE_INT),
    ];
    if min > 0 {
        cases.push(bad(C, path, json!(min - 1), BELOW));
    } else {
        cases.push(bad(C, path, json!(-1), BELOW));
    }
    if let Some(max) = max {
        cases.push(ok(C, path, json!(max)));
        cases.push(bad(C, path, json!(max + 1), ABOVE));
    }
    cases
}

#[rustfmt::skip]
fn namespace_cases() -> Vec<Case> {
    let mut cases = vec![
        ok(N, "name", json!("a")),
        ok(N, "name", json!("web-1")),
        ok(N, "name", label(63)),
        bad(N, "name", label(64), PATTERN),
        bad(N, "name", json!(""), PATTERN),
        bad(N, "name", json!("Web"), PATTERN),
        bad(N, "name", json!("1web"), PATTERN),
        bad(N, "name", json!("web-"), PATTERN),
        bad(N, "name", json!("web_1"), PATTERN),
        bad(N, "name", json!("web.1"), PATTERN),
        bad(N, "name", json!(42), TYPE_STRING),
        ok(N, "projectId", json!(PROJECT)),
        bad(N, "projectId", json!(1234), TYPE_STRING),
        bad(N, "projectId", json!({"id": PROJECT}), TYPE_STRING),
        // A typo is an unknown field: pruned as a real API server does (kubectl's strict
        // field validation would refuse it).
        pruned(N, "projectID", json!(PROJECT)),
    ];
    cases.extend(policy_cases(N));
    cases.extend(env_cases(N));
    cases.extend(secret_env_cases(N));
    cases.extend(reference_cases(N, "credentialsSecretRef"));
    cases.push(bad_at(N, "spec", json!("demo"), "spec", TYPE_OBJECT));
    cases
}

#[rustfmt::skip]
fn container_cases() -> Vec<Case> {
    let mut cases = vec![
        // One of namespaceRef and namespaceId.
        ok(C, "namespaceRef", Value::Null).and("namespaceId", json!(PROJECT)),
        bad_at(C, "namespaceRef", Value::Null, "spec", "set exactly one of namespaceRef and namespaceId"),
        bad_at(C, "namespaceId", json!(PROJECT), "spec", "set exactly one of namespaceRef and namespaceId"),
        bad(C, "namespaceId", json!(12), TYPE_STRING).and("namespaceRef", Value::Null),
        // Name at Scaleway.
        ok(C, "name", json!("a")),
        ok(C, "name", label(63)),
        bad(C, "name", label(64), PATTERN),
        bad(C, "name", json!(""), PATTERN),
        bad(C, "name", json!("Web"), PATTERN),
        bad(C, "name", json!("-web"), PATTERN),
        bad(C, "name", json!("web-"), PATTERN),
        bad(C, "name", json!(["web"]), TYPE_STRING),
        // Image.
        ok(C, "image", json!("x")),
        ok(C, "image", json!(format!("rg.fr-par.scw.cloud/ns/{}:1", "a".repeat(200)))),
        bad(C, "image", json!(""), TOO_SHORT),
        bad(C, "image", Value::Null, REQUIRED),
        bad(C, "image", json!(7), TYPE_STRING),
        bad(C, "image", json!({"name": "nginx"}), TYPE_STRING),
        // Scale.
        ok(C, "minScale", json!(1000)).and("maxScale", json!(1000)),
        bad(C, "minScale", json!(1001), ABOVE),
        ok(C, "minScale", json!(3)).and("maxScale", json!(3)),
        bad_at(C, "minScale", json!(4), "spec", "minScale must not exceed maxScale").and("maxScale", json!(3)),
        bad_at(C, "minScale", json!(0), "spec.maxScale", BELOW).and("maxScale", json!(0)),
        // Resources: int-or-string quantities.
        // Timeout: a string, converted by the controller.
        ok(C, "timeout", json!("15m")),
        ok(C, "timeout", json!("soon")),
        bad(C, "timeout", json!(300), TYPE_STRING),
        // Enums.
        ok(C, "privacy", json!("Public")),
        ok(C, "privacy", json!("Private")),
        bad(C, "privacy", json!("public"), UNSUPPORTED),
        bad(C, "privacy", json!("Internal"), UNSUPPORTED),
        bad(C, "privacy", json!(false), TYPE_STRING),
        ok(C, "protocol", json!("HTTP1")),
        ok(C, "protocol", json!("H2C")),
        bad(C, "protocol", json!("HTTP2"), UNSUPPORTED),
        bad(C, "protocol", json!("http1"), UNSUPPORTED),
        bad(C, "protocol", json!("Http1"), UNSUPPORTED),
        bad(C, "protocol", json!(1), TYPE_STRING),
        ok(C, "sandbox", json!("V1")),
        ok(C, "sandbox", json!("V2")),
        bad(C, "sandbox", json!("V3"), UNSUPPORTED),
        bad(C, "sandbox", json!("v2"), UNSUPPORTED),
        bad(C, "sandbox", json!(2), TYPE_STRING),
        // Port.
        ok(C, "port", json!(1)),
        ok(C, "port", json!(65535)),
        bad(C, "port", json!(0), BELOW),
        bad(C, "port", json!(65536), ABOVE),
        bad(C, "port", json!(-80), BELOW),
        bad(C, "port", json!("8080"), TYPE_INT),
        bad(C, "port", json!(80.5), TYPE_INT),
        // HTTPS only.
        ok(C, "httpsOnly", json!(true)),
        ok(C, "httpsOnly", json!(false)),
        bad(C, "httpsOnly", json!("yes"), TYPE_BOOL),
        bad(C, "httpsOnly", json!(1), TYPE_BOOL),
        // Scaling: at most one threshold, each in range.
        ok(C, "scaling", json!({})),
        ok(C, "scaling", json!({"concurrentRequestsThreshold": 1})),
        ok(C, "scaling", json!({"concurrentRequestsThreshold": 1000})),
        bad_at(C, "scaling", json!({"concurrentRequestsThreshold": 1001}), "spec.scaling.concurrentRequestsThreshold", ABOVE),
        bad_at(C, "scaling", json!({"concurrentRequestsThreshold": 4_294_967_296_u64}), "spec.scaling.concurrentRequestsThreshold", ABOVE),
        ok(C, "scaling", json!({"cpuUsageThreshold": 1})),
        ok(C, "scaling", json!({"cpuUsageThreshold": 100})),
        ok(C, "scaling", json!({"memoryUsageThreshold": 1})),
        ok(C, "scaling", json!({"memoryUsageThreshold": 100})),
        bad_at(C, "scaling", json!({"concurrentRequestsThreshold": 0}), "spec.scaling.concurrentRequestsThreshold", BELOW),
        bad_at(C, "scaling", json!({"cpuUsageThreshold": 0}), "spec.scaling.cpuUsageThreshold", BELOW),
        bad_at(C, "scaling", json!({"cpuUsageThreshold": 101}), "spec.scaling.cpuUsageThreshold", ABOVE),
        bad_at(C, "scaling", json!({"memoryUsageThreshold": 0}), "spec.scaling.memoryUsageThreshold", BELOW),
        bad_at(C, "scaling", json!({"memoryUsageThreshold": 101}), "spec.scaling.memoryUsageThreshold", ABOVE),
        bad_at(C, "scaling", json!({"cpuUsageThreshold": "50%"}), "spec.scaling.cpuUsageThreshold", TYPE_INT),
        bad_at(C, "scaling", json!({"cpuUsageThreshold": 50, "memoryUsageThreshold": 50}), "spec.scaling", "set at most one scaling threshold"),
        bad_at(C, "scaling", json!({"concurrentRequestsThreshold": 5, "cpuUsageThreshold": 50}), "spec.scaling", "set at most one scaling threshold"),
        bad(C, "scaling", json!(50), TYPE_OBJECT),
        // Free strings.
        ok(C, "privateNetworkId", json!(PROJECT)),
        bad(C, "privateNetworkId", json!(1), TYPE_STRING),
        ok(C, "redeployRequestedAt", json!("2026-01-01T00:00:00Z")),
        bad(C, "redeployRequestedAt", json!(1_700_000_000), TYPE_STRING),
        // Exports: at most 8, each a ConfigMap or Secret with a name.
        ok(C, "exports", json!([])),
        ok(C, "exports", json!((0..8).map(|i| json!({"kind": "ConfigMap", "name": format!("e{i}")})).collect::<Vec<_>>())),
        bad(C, "exports", json!((0..9).map(|i| json!({"kind": "Secret", "name": format!("e{i}")})).collect::<Vec<_>>()), "Too many"),
        ok(C, "exports", json!([{"kind": "Secret", "name": "x".repeat(253)}])),
        bad_at(C, "exports", json!([{"kind": "Secret", "name": "x".repeat(254)}]), "spec.exports[0].name", TOO_LONG),
        bad_at(C, "exports", json!([{"kind": "Secret", "name": ""}]), "spec.exports[0].name", TOO_SHORT),
        bad_at(C, "exports", json!([{"kind": "Deployment", "name": "x"}]), "spec.exports[0].kind", UNSUPPORTED),
        bad_at(C, "exports", json!([{"kind": "secret", "name": "x"}]), "spec.exports[0].kind", UNSUPPORTED),
        bad_at(C, "exports", json!([{"name": "x"}]), "spec.exports[0].kind", REQUIRED),
        bad_at(C, "exports", json!([{"kind": "Secret"}]), "spec.exports[0].name", REQUIRED),
        bad(C, "exports", json!({"kind": "Secret", "name": "x"}), TYPE_ARRAY),
        pruned(C, "maxscale", json!(3)),
    ];
    cases.extend(uint_range_cases("minScale", 0, Some(1000)));
    cases.extend(uint_range_cases("maxScale", 1, Some(1000)));
    for path in ["memory", "cpu", "localStorage"] {
        cases.extend(quantity_cases(path));
    }
    for path in ["livenessProbe", "startupProbe"] {
        cases.extend(probe_cases(path));
    }
    for path in ["command", "args"] {
        cases.extend(string_list_cases(C, path));
    }
    cases.extend(reference_cases(C, "namespaceRef"));
    cases.extend(policy_cases(C));
    cases.extend(env_cases(C));
    cases.extend(secret_env_cases(C));
    cases
}

#[rustfmt::skip]
fn trigger_cases() -> Vec<Case> {
    let sqs = || {
        json!({"region": "fr-par", "endpoint": "https://sqs.mnq.fr-par.scaleway.com",
               "queueUrl": "https://sqs.mnq.fr-par.scaleway.com/q", "accessKeyId": "AK",
               "secretAccessKeyRef": {"name": "sqs", "key": "secret"}})
    };
    let nats = || {
        json!({"serverUrls": ["nats://nats.mnq.fr-par.scaleway.com:4222"], "subject": "jobs",
               "credentialsRef": {"name": "nats", "key": "creds"}})
    };
    let without = |mut source: Value, field: &str| {
        if let Some(map) = source.as_object_mut() {
            map.remove(field);
        }
        source
    };
    let one_source = "set exactly one of cron, sqs and nats";
    let mut cases = vec![
        // One of containerRef and containerId.
        ok(T, "containerRef", Value::Null).and("containerId", json!(PROJECT)),
        bad_at(T, "containerRef", Value::Null, "spec", "set exactly one of containerRef and containerId"),
        bad_at(T, "containerId", json!(PROJECT), "spec", "set exactly one of containerRef and containerId"),
        bad(T, "containerId", json!(7), TYPE_STRING).and("containerRef", Value::Null),
        // Name: 1 to 63 characters, the Scaleway name format.
        ok(T, "name", json!("a")),
        ok(T, "name", label(63)),
        bad(T, "name", label(64), "63"),
        bad(T, "name", json!(""), TOO_SHORT),
        bad(T, "name", json!("Nightly_Job"), PATTERN),
        bad(T, "name", json!("nightly job"), PATTERN),
        bad(T, "name", json!(5), TYPE_STRING),
        // Destination.
        ok(T, "destination", json!({"httpPath": "/", "httpMethod": "GET"})),
        ok(T, "destination", json!({"httpPath": "/jobs/nightly?x=1", "httpMethod": "DELETE"})),
        bad_at(T, "destination", json!({"httpPath": "jobs", "httpMethod": "POST"}), "spec.destination.httpPath", PATTERN),
        bad_at(T, "destination", json!({"httpPath": "", "httpMethod": "POST"}), "spec.destination.httpPath", PATTERN),
        bad_at(T, "destination", json!({"httpPath": "/", "httpMethod": "post"}), "spec.destination.httpMethod", UNSUPPORTED),
        bad_at(T, "destination", json!({"httpPath": "/", "httpMethod": "HEAD"}), "spec.destination.httpMethod", UNSUPPORTED),
        bad_at(T, "destination", json!({"httpPath": "/", "httpMethod": 1}), "spec.destination.httpMethod", TYPE_STRING),
        bad_at(T, "destination", json!({"httpPath": "/"}), "spec.destination.httpMethod", REQUIRED),
        bad_at(T, "destination", json!({"httpMethod": "POST"}), "spec.destination.httpPath", REQUIRED),
        bad(T, "destination", json!("POST /"), TYPE_OBJECT),
        // Cron.
        ok(T, "cron", json!({"schedule": "*/5 * * * *", "timezone": "Europe/Paris", "body": "{}", "headers": {"X-A": "b"}})),
        ok(T, "cron", json!({"schedule": "0  3 * * mon-fri"})),
        bad_at(T, "cron", json!({"schedule": "0 3 * *"}), "spec.cron.schedule", PATTERN),
        bad_at(T, "cron", json!({"schedule": "0 3 * * * *"}), "spec.cron.schedule", PATTERN),
        bad_at(T, "cron", json!({"schedule": "@daily"}), "spec.cron.schedule", PATTERN),
        bad_at(T, "cron", json!({"schedule": ""}), "spec.cron.schedule", PATTERN),
        bad_at(T, "cron", json!({"schedule": " 0 3 * * *"}), "spec.cron.schedule", PATTERN),
        bad_at(T, "cron", json!({"schedule": 3}), "spec.cron.schedule", TYPE_STRING),
        bad_at(T, "cron", json!({}), "spec.cron.schedule", REQUIRED),
        bad_at(T, "cron", json!({"schedule": "0 3 * * *", "timezone": 1}), "spec.cron.timezone", TYPE_STRING),
        bad_at(T, "cron", json!({"schedule": "0 3 * * *", "body": {"a": 1}}), "spec.cron.body", TYPE_STRING),
        bad_at(T, "cron", json!({"schedule": "0 3 * * *", "headers": {"X-N": 1}}), "spec.cron.headers.X-N", TYPE_STRING),
        bad_at(T, "cron", json!({"schedule": "0 3 * * *", "headers": ["X-A: b"]}), "spec.cron.headers", TYPE_OBJECT),
        bad(T, "cron", json!("0 3 * * *"), TYPE_OBJECT),
        // Exactly one source.
        ok(T, "cron", Value::Null).and("sqs", sqs()),
        ok(T, "cron", Value::Null).and("nats", nats()),
        bad_at(T, "cron", Value::Null, "spec", one_source),
        bad_at(T, "sqs", sqs(), "spec", one_source),
        bad_at(T, "nats", nats(), "spec", one_source),
        bad_at(T, "cron", Value::Null, "spec", one_source).and("sqs", sqs()).and("nats", nats()),
        // SQS: every field required.
        bad_at(T, "sqs", without(sqs(), "region"), "spec.sqs.region", REQUIRED).and("cron", Value::Null),
        bad_at(T, "sqs", without(sqs(), "endpoint"), "spec.sqs.endpoint", REQUIRED).and("cron", Value::Null),
        bad_at(T, "sqs", without(sqs(), "queueUrl"), "spec.sqs.queueUrl", REQUIRED).and("cron", Value::Null),
        bad_at(T, "sqs", without(sqs(), "accessKeyId"), "spec.sqs.accessKeyId", REQUIRED).and("cron", Value::Null),
        bad_at(T, "sqs", without(sqs(), "secretAccessKeyRef"), "spec.sqs.secretAccessKeyRef", REQUIRED).and("cron", Value::Null),
        bad_at(T, "sqs", json!({"region": "fr-par", "endpoint": "e", "queueUrl": "q", "accessKeyId": "a", "secretAccessKeyRef": {"name": "s"}}), "spec.sqs.secretAccessKeyRef.key", REQUIRED).and("cron", Value::Null),
        bad_at(T, "sqs", json!({"region": "fr-par", "endpoint": "e", "queueUrl": "q", "accessKeyId": "a", "secretAccessKeyRef": {"name": "s", "key": ""}}), "spec.sqs.secretAccessKeyRef.key", TOO_SHORT).and("cron", Value::Null),
        bad_at(T, "sqs", json!({"region": "fr-par", "endpoint": "e", "queueUrl": 1, "accessKeyId": "a", "secretAccessKeyRef": {"name": "s", "key": "k"}}), "spec.sqs.queueUrl", TYPE_STRING).and("cron", Value::Null),
        // NATS.
        bad_at(T, "nats", json!({"serverUrls": [], "subject": "s", "credentialsRef": {"name": "n", "key": "k"}}), "spec.nats.serverUrls", "at least 1 items").and("cron", Value::Null),
        bad_at(T, "nats", json!({"serverUrls": "nats://n:4222", "subject": "s", "credentialsRef": {"name": "n", "key": "k"}}), "spec.nats.serverUrls", TYPE_ARRAY).and("cron", Value::Null),
        bad_at(T, "nats", json!({"serverUrls": ["nats://n:4222"], "subject": "", "credentialsRef": {"name": "n", "key": "k"}}), "spec.nats.subject", TOO_SHORT).and("cron", Value::Null),
        bad_at(T, "nats", without(nats(), "subject"), "spec.nats.subject", REQUIRED).and("cron", Value::Null),
        bad_at(T, "nats", without(nats(), "serverUrls"), "spec.nats.serverUrls", REQUIRED).and("cron", Value::Null),
        bad_at(T, "nats", without(nats(), "credentialsRef"), "spec.nats.credentialsRef", REQUIRED).and("cron", Value::Null),
        bad_at(T, "nats", json!({"serverUrls": ["n"], "subject": "s", "credentialsRef": {"name": "x".repeat(254), "key": "k"}}), "spec.nats.credentialsRef.name", TOO_LONG).and("cron", Value::Null),
    ];
    cases.extend(reference_cases(T, "containerRef"));
    cases.extend(policy_cases(T));
    cases
}

#[rustfmt::skip]
fn domain_cases() -> Vec<Case> {
    let mut cases = vec![
        ok(D, "containerRef", Value::Null).and("containerId", json!(PROJECT)),
        bad_at(D, "containerRef", Value::Null, "spec", "set exactly one of containerRef, containerId, functionRef and functionId"),
        bad_at(D, "containerId", json!(PROJECT), "spec", "set exactly one of containerRef, containerId, functionRef and functionId"),
        bad_at(D, "functionId", json!(PROJECT), "spec", "set exactly one of containerRef, containerId, functionRef and functionId"),
        bad(D, "containerId", json!(7), TYPE_STRING).and("containerRef", Value::Null),
        // Hostname: 4 to 253 characters, lower-case DNS labels of at most 63.
        ok(D, "hostname", json!("a.io")),
        ok(D, "hostname", json!(format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)))),
        bad(D, "hostname", json!(format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62))), TOO_LONG),
        bad(D, "hostname", json!("a.b"), "at least 4 chars"),
        ok(D, "hostname", json!(format!("{}.io", "a".repeat(63)))),
        bad(D, "hostname", json!(format!("{}.io", "a".repeat(64))), PATTERN),
        bad(D, "hostname", json!("API.example.com"), PATTERN),
        bad(D, "hostname", json!("localhost"), PATTERN),
        bad(D, "hostname", json!("api.example.com."), PATTERN),
        bad(D, "hostname", json!("-api.example.com"), PATTERN),
        bad(D, "hostname", json!("api_v1.example.com"), PATTERN),
        bad(D, "hostname", json!("https://api.example.com"), PATTERN),
        bad(D, "hostname", Value::Null, REQUIRED),
        bad(D, "hostname", json!(["api.example.com"]), TYPE_STRING),
    ];
    cases.extend(reference_cases(D, "containerRef"));
    cases.extend(policy_cases(D));
    cases
}

/// Every apply-time case, kind by kind.
fn apply_time_cases() -> Vec<Case> {
    let mut cases = namespace_cases();
    cases.extend(container_cases());
    cases.extend(trigger_cases());
    cases.extend(domain_cases());
    cases
}

/// An update: create with `before` set in the base spec, then merge-patch `after`.
struct Update {
    kind: Kind,
    field: &'static str,
    before: Vec<(&'static str, Value)>,
    after: Vec<(&'static str, Value)>,
    /// `None`: the update is accepted; else the message the 422 must contain.
    rejected: Option<&'static str>,
}

fn change(
    kind: Kind,
    field: &'static str,
    before: Value,
    after: Value,
    rejected: Option<&'static str>,
) -> Update {
    Update {
        kind,
        field,
        before: vec![(field, before)],
        after: vec![(field, after)],
        rejected,
    }
}

#[rustfmt::skip]
fn update_cases() -> Vec<Update> {
    let fr = json!("fr-par");
    let nl = json!("nl-ams");
    let other = "22222222-2222-4333-8444-555555555555";
    let sqs = json!({"region": "fr-par", "endpoint": "e", "queueUrl": "q", "accessKeyId": "a",
                     "secretAccessKeyRef": {"name": "s", "key": "k"}});
    let mut updates = Vec::new();
    for kind in [N, C, T, D] {
        updates.push(change(
            kind,
            "region",
            fr.clone(),
            nl.clone(),
            Some("region is immutable"),
        ));
        updates.push(change(
            kind,
            "region",
            fr.clone(),
            Value::Null,
            Some("region is immutable"),
        ));
        // Left unset at create, it may still be set while no Scaleway resource exists
        // (status.id unset; the CRD's root rules refuse it after that).
        updates.push(Update {
            kind,
            field: "region",
            before: vec![],
            after: vec![("region", nl.clone())],
            rejected: None,
        });
        // Mutable fields stay mutable.
        updates.push(change(kind, "tags", json!(["a"]), json!(["b"]), None));
        updates.push(change(
            kind,
            "deletionPolicy",
            json!("Delete"),
            json!("Orphan"),
            None,
        ));
        updates.push(change(
            kind,
            "managementPolicy",
            json!("Manage"),
            json!("Paused"),
            None,
        ));
        updates.push(change(
            kind,
            "adoptionPolicy",
            json!("Never"),
            json!("Adopt"),
            None,
        ));
    }
    updates.extend([
        change(N, "name", json!("apps"), json!("apps2"), Some("name is immutable")),
        change(N, "name", json!("apps"), Value::Null, Some("name is immutable")),
        Update {kind: N, field: "name", before: vec![], after: vec![("name", json!("late"))], rejected: None},
        Update {kind: C, field: "name", before: vec![], after: vec![("name", json!("late"))], rejected: None},
        Update {kind: N, field: "projectId", before: vec![], after: vec![("projectId", json!(other))], rejected: None},
        change(N, "projectId", json!(PROJECT), json!(other), Some("projectId is immutable")),
        change(N, "projectId", json!(PROJECT), Value::Null, Some("projectId is immutable")),
        change(N, "description", json!("a"), json!("b"), None),
        change(N, "credentialsSecretRef", json!({"name": "a"}), json!({"name": "b"}), None),
        change(C, "name", json!("web"), json!("web2"), Some("name is immutable")),
        change(C, "name", json!("web"), Value::Null, Some("name is immutable")),
        change(C, "namespaceRef", json!({"name": "demo"}), json!({"name": "other"}), Some("namespaceRef is immutable")),
        Update {kind: C, field: "namespaceRef", before: vec![], after: vec![("namespaceRef", Value::Null), ("namespaceId", json!(PROJECT))], rejected: Some("namespaceRef is immutable")},
        Update {kind: C, field: "namespaceId", before: vec![("namespaceRef", Value::Null), ("namespaceId", json!(PROJECT))], after: vec![("namespaceId", json!(other))], rejected: Some("namespaceId is immutable")},
        change(C, "image", json!("nginx:1"), json!("nginx:2"), None),
        change(C, "maxScale", json!(1), json!(1000), None),
        change(C, "memory", json!("512Mi"), json!("1Gi"), None),
        change(C, "redeployRequestedAt", json!("1"), json!("2"), None),
        change(T, "containerRef", json!({"name": "web"}), json!({"name": "api"}), Some("containerRef is immutable")),
        Update {kind: T, field: "containerId", before: vec![("containerRef", Value::Null), ("containerId", json!(PROJECT))], after: vec![("containerId", json!(other))], rejected: Some("containerId is immutable")},
        Update {kind: T, field: "cron", before: vec![], after: vec![("cron", Value::Null), ("sqs", sqs)], rejected: Some("the kind of source (cron, sqs, nats) is immutable")},
        change(T, "cron", json!({"schedule": "0 3 * * *"}), json!({"schedule": "0 4 * * *"}), None),
        change(T, "name", json!("nightly"), json!("nightly2"), None),
        change(D, "hostname", json!("api.example.com"), json!("www.example.com"), Some("hostname is immutable")),
        change(D, "containerRef", json!({"name": "web"}), json!({"name": "api"}), Some("containerRef is immutable")),
        Update {kind: D, field: "containerId", before: vec![("containerRef", Value::Null), ("containerId", json!(PROJECT))], after: vec![("containerId", json!(other))], rejected: Some("containerId is immutable")},
    ]);
    updates
}

/// Sets `value` at a dotted `path` in `spec` (creating objects on the way); `null` removes.
fn set(spec: &mut Value, path: &str, value: &Value) {
    if path == "spec" {
        *spec = value.clone();
        return;
    }
    let mut target = spec;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(map) = target.as_object_mut() else {
            panic!("{path}: not an object at {part}");
        };
        if parts.peek().is_none() {
            if value.is_null() {
                map.remove(part);
            } else {
                map.insert(part.to_owned(), value.clone());
            }
            return;
        }
        target = map.entry(part.to_owned()).or_insert_with(|| json!({}));
    }
}

fn get<'a>(spec: &'a Value, path: &str) -> Option<&'a Value> {
    if path == "spec" {
        return Some(spec);
    }
    path.split('.').try_fold(spec, |v, part| v.get(part))
}

fn object(kind: Kind, name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": format!("{}/v1alpha1", crd::GROUP),
        "kind": kind.name(),
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("fixture: {e}"))
}

/// `(field, message)` of each cause of a 422, or why it was not one.
fn causes(result: Result<DynamicObject, kube::Error>) -> Result<Vec<(String, String)>, String> {
    match result {
        Err(kube::Error::Api(status)) if status.code == 422 && status.reason == "Invalid" => {
            Ok(status
                .details
                .map(|d| d.causes.into_iter().map(|c| (c.field, c.message)).collect())
                .unwrap_or_default())
        }
        Err(other) => Err(format!("expected 422 Invalid, got {other}")),
        Ok(_) => Err("expected 422 Invalid, but it was accepted".into()),
    }
}

#[derive(Default)]
struct Tally {
    fields: std::collections::BTreeSet<&'static str>,
    accepted: usize,
    pruned: usize,
    rejected: usize,
    updates_accepted: usize,
    updates_rejected: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crds_reject_bad_values_field_by_field_at_apply_time() {
    let server = ApiServer::new();
    server.register_operator_crds();
    let running = server
        .start()
        .await
        .unwrap_or_else(|e| panic!("apiserver: {e}"));
    let client = running.client().unwrap_or_else(|e| panic!("client: {e}"));
    let pp = PostParams::default();
    let mut tally: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut failures = Vec::new();

    for (i, case) in apply_time_cases().into_iter().enumerate() {
        let mut spec = case.kind.base();
        for (path, value) in &case.sets {
            set(&mut spec, path, value);
        }
        let name = format!("case-{i}");
        let label = format!(
            "#{i} {} {} = {}",
            case.kind.name(),
            case.field(),
            serde_json::to_string(&case.sets[0].1).unwrap_or_default()
        );
        let result = case
            .kind
            .api(&client)
            .create(&pp, &object(case.kind, &name, spec))
            .await;
        let counts = tally.entry(case.kind).or_default();
        counts.fields.insert(case.field());
        match &case.expect {
            Expect::Accepted | Expect::Pruned => {
                let stored = match result {
                    Ok(stored) => stored.data["spec"].clone(),
                    Err(error) => {
                        failures.push(format!("{label}: expected accepted, got {error}"));
                        continue;
                    }
                };
                for (path, value) in &case.sets {
                    let found = get(&stored, path);
                    let expected = match (&case.expect, value.is_null()) {
                        (Expect::Pruned, _) | (_, true) => None,
                        _ => Some(value),
                    };
                    if found != expected {
                        failures.push(format!(
                            "{label}: stored {path} = {found:?}, expected {expected:?}"
                        ));
                    }
                }
                if matches!(case.expect, Expect::Pruned) {
                    counts.pruned += 1;
                } else {
                    counts.accepted += 1;
                }
            }
            Expect::Rejected { field, message } => {
                counts.rejected += 1;
                match causes(result) {
                    Ok(found) => {
                        let matched = found.iter().any(|(f, m)| f == field && m.contains(message));
                        if !matched {
                            failures.push(format!(
                                "{label}: expected a cause on {field} containing {message:?}, got {found:?}"
                            ));
                        }
                    }
                    Err(why) => failures.push(format!("{label}: {why}")),
                }
            }
        }
    }

    for (i, update) in update_cases().into_iter().enumerate() {
        let api = update.kind.api(&client);
        let mut spec = update.kind.base();
        for (path, value) in &update.before {
            set(&mut spec, path, value);
        }
        let name = format!("update-{i}");
        let label = format!("update #{i} {} {}", update.kind.name(), update.field);
        if let Err(error) = api.create(&pp, &object(update.kind, &name, spec)).await {
            failures.push(format!("{label}: create failed: {error}"));
            continue;
        }
        // A merge patch: null removes the field.
        let mut patch = json!({});
        for (path, value) in &update.after {
            let mut nested = value.clone();
            for part in path.rsplit('.') {
                nested = json!({ part: nested });
            }
            json_patch::merge(&mut patch, &nested);
            // merge drops nulls; keep them for the server to remove the field.
            if value.is_null() {
                set_null(&mut patch, path);
            }
        }
        let result = api
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": patch})),
            )
            .await;
        let counts = tally.entry(update.kind).or_default();
        match update.rejected {
            None => {
                counts.updates_accepted += 1;
                if let Err(error) = result {
                    failures.push(format!("{label}: expected accepted, got {error}"));
                }
            }
            Some(message) => {
                counts.updates_rejected += 1;
                match causes(result) {
                    Ok(found) => {
                        if !found
                            .iter()
                            .any(|(f, m)| f == "spec" && m.contains(message))
                        {
                            failures.push(format!(
                                "{label}: expected {message:?} on spec, got {found:?}"
                            ));
                        }
                    }
                    Err(why) => failures.push(format!("{label}: {why}")),
                }
            }
        }
    }

    println!("apply-time coverage (in-memory API server, operator CRDs):");
    println!(
        "{:<20} {:>7} {:>9} {:>7} {:>9} {:>15} {:>15}",
        "kind", "fields", "accepted", "pruned", "rejected", "updates-ok", "updates-refused"
    );
    let mut total = 0;
    for (kind, t) in &tally {
        println!(
            "{:<20} {:>7} {:>9} {:>7} {:>9} {:>15} {:>15}",
            kind.name(),
            t.fields.len(),
            t.accepted,
            t.pruned,
            t.rejected,
            t.updates_accepted,
            t.updates_rejected
        );
        total += t.accepted + t.pruned + t.rejected + t.updates_accepted + t.updates_rejected;
    }
    println!("{total} cases, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Puts an explicit `null` at `path` in a merge patch.
fn set_null(patch: &mut Value, path: &str) {
    let mut target = patch;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(map) = target.as_object_mut() else {
            return;
        };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), Value::Null);
            return;
        }
        target = map.entry(part.to_owned()).or_insert_with(|| json!({}));
    }
}

// ---------------------------------------------------------------------------------------
// Part 2: controller time.
// ---------------------------------------------------------------------------------------

const POST_NAMESPACES: &str = "POST /containers/v1/regions/{region}/namespaces";
const POST_TRIGGERS: &str = "POST /containers/v1/regions/{region}/triggers";

/// Every Scaleway call the emulator has answered so far.
fn all_calls(h: &Harness) -> u64 {
    h.emulator.emulator.request_counts().values().sum()
}

fn typed<K: serde::de::DeserializeOwned>(kind: Kind, name: &str, spec: Value) -> K {
    serde_json::from_value(json!({
        "apiVersion": format!("{}/v1alpha1", crd::GROUP),
        "kind": kind.name(),
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A container in the `demo` namespace with `changes` merged into a valid spec.
fn container_spec(name: &str, changes: Value) -> Value {
    let mut spec = json!({"namespaceRef": {"name": "demo"},
        "image": format!("rg.fr-par.scw.cloud/demo/{name}:1"), "memory": "512Mi", "maxScale": 3});
    json_patch::merge(&mut spec, &changes);
    spec
}

async fn create<K>(h: &Harness, kind: Kind, name: &str, spec: Value)
where
    K: TestObject,
{
    h.api::<K>()
        .create(&PostParams::default(), &typed::<K>(kind, name, spec))
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
}

fn conditions<K: serde::Serialize>(object: &K) -> Vec<Condition> {
    let value = serde_json::to_value(object).unwrap_or_default();
    serde_json::from_value(value["status"]["conditions"].clone()).unwrap_or_default()
}

/// Waits until Ready=False with `reason` (and Stalled=True when `stalled`), and returns the
/// Ready condition.
async fn failed<K>(h: &Harness, name: &str, reason: &str, stalled: bool) -> Condition
where
    K: TestObject,
{
    let api = h.api::<K>();
    h.until(&format!("{name} Ready=False {reason}"), || async {
        let object = api.get(name).await.map_err(|e| e.to_string())?;
        let conditions = conditions(&object);
        let ready = conditions
            .iter()
            .find(|c| c.type_ == "Ready" && c.status == "False" && c.reason == reason);
        let is_stalled = conditions
            .iter()
            .any(|c| c.type_ == "Stalled" && c.status == "True");
        match ready {
            Some(ready) if is_stalled == stalled => Ok(ready.clone()),
            _ => Err(format!("{conditions:?}")),
        }
    })
    .await
}

/// One controller-time case: a container spec change, the reason and the words the Ready
/// message must contain, and the fix that makes it converge (if checked).
struct Bad {
    name: &'static str,
    changes: Value,
    reason: &'static str,
    words: &'static [&'static str],
    fix: Option<Value>,
}

fn bad_container(
    name: &'static str,
    changes: Value,
    reason: &'static str,
    words: &'static [&'static str],
    fix: Option<Value>,
) -> Bad {
    Bad {
        name,
        changes,
        reason,
        words,
        fix,
    }
}

/// Values the schema lets through and the operator refuses itself: Stalled, the field in the
/// message, and not one Scaleway call for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_operator_can_check_never_reach_scaleway() {
    let h = harness().await;
    h.demo_namespace_id().await;
    #[rustfmt::skip]
    let cases = [
        bad_container("mem-word", json!({"memory": "lots"}), "InvalidSpec", &["memory", "lots", "not a quantity"], Some(json!({"memory": "256Mi"}))),
        bad_container("mem-frac", json!({"memory": "1.5"}), "InvalidSpec", &["memory", "whole number"], None),
        bad_container("mem-neg", json!({"memory": "-512Mi"}), "InvalidSpec", &["memory", "-512Mi"], None),
        bad_container("mem-huge", json!({"memory": "100000000Ei"}), "InvalidSpec", &["memory", "too large"], None),
        bad_container("cpu-tiny", json!({"cpu": "0.0001"}), "InvalidSpec", &["cpu", "0.0001", "whole number"], Some(json!({"cpu": "250m"}))),
        bad_container("cpu-word", json!({"cpu": "fast"}), "InvalidSpec", &["cpu", "fast"], None),
        bad_container("disk-frac", json!({"localStorage": "0.5"}), "InvalidSpec", &["localStorage", "whole number"], None),
        bad_container("timeout-word", json!({"timeout": "soon"}), "InvalidSpec", &["timeout", "soon", "not a duration"], Some(json!({"timeout": "5m"}))),
        bad_container("timeout-neg", json!({"timeout": "-5s"}), "InvalidSpec", &["timeout", "-5s"], None),
        bad_container("probe-interval", json!({"livenessProbe": {"tcp": {}, "interval": "often"}}), "InvalidSpec", &["livenessProbe", "often"], None),
        bad_container("probe-timeout", json!({"startupProbe": {"tcp": {}, "timeout": "1x"}}), "InvalidSpec", &["startupProbe", "1x"], None),
    ];
    let posts = h.calls(POST_CONTAINERS);
    for case in &cases {
        create::<ServerlessContainer>(
            &h,
            C,
            case.name,
            container_spec(case.name, case.changes.clone()),
        )
        .await;
    }
    for case in &cases {
        let ready = failed::<ServerlessContainer>(&h, case.name, case.reason, true).await;
        for word in case.words {
            assert!(
                ready.message.contains(word),
                "{}: {word:?} not in {:?}",
                case.name,
                ready.message
            );
        }
    }
    // Stalled objects wait for a change: nothing is sent, not once, not later.
    let calls = all_calls(&h);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        h.calls(POST_CONTAINERS),
        posts,
        "an invalid spec never reaches Scaleway"
    );
    assert_eq!(h.remote_count("containers"), 0);
    assert_eq!(
        all_calls(&h),
        calls,
        "stalled objects make no Scaleway calls at all"
    );

    // Fixed, they converge.
    for case in cases.iter().filter(|c| c.fix.is_some()) {
        h.merge_spec::<ServerlessContainer>(case.name, case.fix.clone().unwrap_or_default())
            .await;
    }
    for case in cases.iter().filter(|c| c.fix.is_some()) {
        h.condition::<ServerlessContainer>(case.name, "Ready", "True")
            .await;
    }
    assert_eq!(
        h.remote_count("containers"),
        cases.iter().filter(|c| c.fix.is_some()).count()
    );
}

/// Values only Scaleway refuses (its own limits): one failing call, Stalled with Scaleway's
/// reason and the field, no retry loop; fixed, they converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_only_scaleway_refuses_fail_once_then_stall() {
    let h = harness().await;
    h.demo_namespace_id().await;
    let invalid = "ScalewayInvalidArgument";
    #[rustfmt::skip]
    let cases = [
        bad_container("mem-low", json!({"memory": "100Mi"}), invalid, &["memory_limit_bytes", "(in the spec: memory)"], Some(json!({"memory": "128Mi"}))),
        bad_container("mem-high", json!({"memory": "5Gi"}), invalid, &["memory_limit_bytes"], Some(json!({"memory": "4Gi"}))),
        bad_container("cpu-high", json!({"cpu": "6001m"}), invalid, &["mvcpu_limit", "(in the spec: cpu)"], Some(json!({"cpu": "6"}))),
        bad_container("cpu-low", json!({"cpu": "69m"}), invalid, &["mvcpu_limit"], None),
        bad_container("timeout-long", json!({"timeout": "901s"}), invalid, &["timeout"], Some(json!({"timeout": "15m"}))),
        bad_container("scale-high", json!({"maxScale": 51}), invalid, &["max_scale", "(in the spec: maxScale)"], None),
        bad_container("disk-low", json!({"localStorage": "50Mi"}), invalid, &["local_storage_limit_bytes"], None),
        // Without maxScale, Scaleway's default (5) is below minScale: only Scaleway knows.
        bad_container("scale-min", json!({"minScale": 10, "maxScale": null}), invalid, &["min_scale", "max_scale"], Some(json!({"maxScale": 10}))),
        // A probe without failureThreshold: Scaleway's default applies once the interval is fixed.
        bad_container("probe-interval", json!({"livenessProbe": {"tcp": {}, "interval": "301s"}}), invalid, &["liveness_probe.interval", "livenessProbe.interval"], Some(json!({"livenessProbe": {"interval": "30s"}}))),
        bad_container("probe-timeout", json!({"startupProbe": {"http": {"path": "/"}, "timeout": "5m1s"}}), invalid, &["startup_probe.timeout"], None),
        // metadata.name is a valid Kubernetes name but not a Scaleway name; spec.name fixes it.
        bad_container("web.v2", json!({}), invalid, &["name"], Some(json!({"name": "web-v2"}))),
        bad_container("image-space", json!({"image": "nginx 1"}), invalid, &["image"], None),
    ];
    let mut observed = Vec::new();
    for case in &cases {
        let before = h.calls(POST_CONTAINERS);
        create::<ServerlessContainer>(
            &h,
            C,
            case.name,
            container_spec(case.name, case.changes.clone()),
        )
        .await;
        let ready = failed::<ServerlessContainer>(&h, case.name, case.reason, true).await;
        for word in case.words {
            assert!(
                ready.message.contains(word),
                "{}: {word:?} not in {:?}",
                case.name,
                ready.message
            );
        }
        let posts = h.calls(POST_CONTAINERS) - before;
        assert!(
            (1..=2).contains(&posts),
            "{}: {posts} failing creates",
            case.name
        );
        observed.push((case.name, posts, ready.message));
    }
    // No loop: nothing more is sent while nothing changes.
    let posts = h.calls(POST_CONTAINERS);
    let calls = all_calls(&h);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(h.calls(POST_CONTAINERS), posts, "no retry loop on a 400");
    assert!(
        all_calls(&h) - calls <= 2,
        "stalled objects stay quiet: {} calls",
        all_calls(&h) - calls
    );
    assert_eq!(h.remote_count("containers"), 0);
    for (name, posts, message) in &observed {
        println!("{name}: {posts} failing create(s); Ready=False: {message}");
    }

    let fixed: Vec<&Bad> = cases.iter().filter(|c| c.fix.is_some()).collect();
    for case in &fixed {
        h.merge_spec::<ServerlessContainer>(case.name, case.fix.clone().unwrap_or_default())
            .await;
    }
    for case in &fixed {
        h.condition::<ServerlessContainer>(case.name, "Ready", "True")
            .await;
    }
    assert_eq!(h.remote_count("containers"), fixed.len());
}

/// A cron schedule the CRD pattern lets through (five fields) and Scaleway refuses; and a
/// trigger name Scaleway refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_cron_schedule_fails_once_and_converges_when_fixed() {
    let h = harness().await;
    h.demo_namespace_id().await;
    create::<ServerlessContainer>(&h, C, "web", container_spec("web", json!({}))).await;
    h.condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    let before = h.calls(POST_TRIGGERS);
    create::<ServerlessTrigger>(
        &h,
        T,
        "nightly",
        json!({"containerRef": {"name": "web"}, "cron": {"schedule": "61 25 * * *"}}),
    )
    .await;
    let ready = failed::<ServerlessTrigger>(&h, "nightly", "ScalewayInvalidArgument", true).await;
    assert!(ready.message.contains("schedule"), "{}", ready.message);
    let posts = h.calls(POST_TRIGGERS) - before;
    assert!((1..=2).contains(&posts), "{posts} failing creates");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.calls(POST_TRIGGERS) - before, posts, "no retry loop");

    h.merge_spec::<ServerlessTrigger>("nightly", json!({"cron": {"schedule": "0 3 * * *"}}))
        .await;
    h.condition::<ServerlessTrigger>("nightly", "Ready", "True")
        .await;
    assert_eq!(h.remote_count("triggers"), 1);

    // A valid Kubernetes name that is not a valid Scaleway name (the default remote name):
    // one failing create naming the field, then spec.name fixes it.
    let before = h.calls(POST_TRIGGERS);
    create::<ServerlessTrigger>(
        &h,
        T,
        "nightly.v2",
        json!({"containerRef": {"name": "web"}, "cron": {"schedule": "0 4 * * *"}}),
    )
    .await;
    let ready =
        failed::<ServerlessTrigger>(&h, "nightly.v2", "ScalewayInvalidArgument", true).await;
    assert!(ready.message.contains("name"), "{}", ready.message);
    let posts = h.calls(POST_TRIGGERS) - before;
    assert!((1..=2).contains(&posts), "{posts} failing creates");
    h.merge_spec::<ServerlessTrigger>("nightly.v2", json!({"name": "nightly-v2"}))
        .await;
    h.condition::<ServerlessTrigger>("nightly.v2", "Ready", "True")
        .await;
    assert_eq!(h.remote_count("triggers"), 2);
}

/// Missing references: the object says which one, waits (with backoff, no Scaleway writes),
/// and converges once the reference exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_references_are_named_and_cost_no_scaleway_writes() {
    let h = harness().await;
    // A container whose ServerlessNamespace does not exist (yet).
    create::<ServerlessContainer>(
        &h,
        C,
        "orphan",
        container_spec("orphan", json!({"namespaceRef": {"name": "later"}})),
    )
    .await;
    // A container whose Secret does not exist, and one whose Secret lacks the key.
    h.demo_namespace_id().await;
    let secret_ref = |secret: &str| json!({"secretEnvironmentVariables": [{"name": "DB_PASSWORD", "secretKeyRef": {"name": secret, "key": "password"}}]});
    create::<ServerlessContainer>(
        &h,
        C,
        "no-secret",
        container_spec("no-secret", secret_ref("db")),
    )
    .await;
    h.secret("other", "user", "u").await;
    create::<ServerlessContainer>(
        &h,
        C,
        "no-key",
        container_spec("no-key", secret_ref("other")),
    )
    .await;
    // A trigger and a domain whose container does not exist.
    create::<ServerlessTrigger>(
        &h,
        T,
        "lost",
        json!({"containerRef": {"name": "ghost"}, "cron": {"schedule": "0 3 * * *"}}),
    )
    .await;
    create::<ServerlessDomain>(
        &h,
        D,
        "lost",
        json!({"containerRef": {"name": "ghost"}, "hostname": "api.example.com"}),
    )
    .await;
    // A trigger whose SQS secret does not exist, on a container that does.
    create::<ServerlessContainer>(&h, C, "web", container_spec("web", json!({}))).await;
    h.condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    create::<ServerlessTrigger>(
        &h,
        T,
        "queue",
        json!({"containerRef": {"name": "web"}, "sqs": {
        "region": "fr-par", "endpoint": "https://sqs.mnq.fr-par.scaleway.com",
        "queueUrl": "https://sqs.mnq.fr-par.scaleway.com/q", "accessKeyId": "AK",
        "secretAccessKeyRef": {"name": "sqs-creds", "key": "secret"}}}),
    )
    .await;

    #[rustfmt::skip]
    let waiting = [
        (C, "orphan", "DependencyNotReady", vec!["later"]),
        (C, "no-secret", "SecretNotFound", vec!["db"]),
        (C, "no-key", "SecretNotFound", vec!["other", "password"]),
        (T, "lost", "DependencyNotReady", vec!["ghost"]),
        (D, "lost", "DependencyNotReady", vec!["ghost"]),
        (T, "queue", "SecretNotFound", vec!["sqs-creds"]),
    ];
    for (kind, name, reason, words) in &waiting {
        let ready = match kind {
            C => failed::<ServerlessContainer>(&h, name, reason, false).await,
            T => failed::<ServerlessTrigger>(&h, name, reason, false).await,
            _ => failed::<ServerlessDomain>(&h, name, reason, false).await,
        };
        for word in words {
            assert!(
                ready.message.contains(word),
                "{name}: {word:?} not in {:?}",
                ready.message
            );
        }
    }
    // Waiting is cheap: no creates, and the backoff keeps the rest small.
    let writes = (h.calls(POST_CONTAINERS), h.calls(POST_TRIGGERS));
    let calls = all_calls(&h);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!((h.calls(POST_CONTAINERS), h.calls(POST_TRIGGERS)), writes);
    assert_eq!(h.remote_count("containers"), 1, "only web");
    assert_eq!(h.remote_count("triggers"), 0);
    let idle = all_calls(&h) - calls;
    assert_eq!(idle, 0, "{idle} Scaleway calls in 3 s while waiting");
    println!("Scaleway calls in 3 s while six objects wait for references: {idle}");

    // The references appear: everything converges.
    h.apply::<ServerlessNamespace>(&NAMESPACE_YAML.replace("name: demo", "name: later"))
        .await;
    h.secret("db", "password", "p").await;
    h.secret("other", "password", "p").await;
    h.secret("sqs-creds", "secret", "s").await;
    for name in ["orphan", "no-secret", "no-key"] {
        h.condition::<ServerlessContainer>(name, "Ready", "True")
            .await;
    }
    h.condition::<ServerlessTrigger>("queue", "Ready", "True")
        .await;
}

/// A credentials Secret that is missing, or lacks SCW_SECRET_KEY: reported, nothing created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_credentials_secrets_are_reported_without_calls() {
    let h = harness().await;
    create::<ServerlessNamespace>(
        &h,
        N,
        "no-creds",
        json!({"credentialsSecretRef": {"name": "scw"}}),
    )
    .await;
    let mut keys = Secret::default();
    keys.metadata.name = Some("partial".into());
    keys.string_data = Some(BTreeMap::from([(
        "SCW_ACCESS_KEY".to_owned(),
        "SCWXXXXXXXXXXXXXXXXX".to_owned(),
    )]));
    h.api::<Secret>()
        .create(&PostParams::default(), &keys)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    create::<ServerlessNamespace>(
        &h,
        N,
        "partial",
        json!({"credentialsSecretRef": {"name": "partial"}}),
    )
    .await;

    let missing = failed::<ServerlessNamespace>(&h, "no-creds", "SecretNotFound", false).await;
    assert!(missing.message.contains("scw"), "{}", missing.message);
    let partial = failed::<ServerlessNamespace>(&h, "partial", "InvalidCredentials", false).await;
    assert!(
        partial.message.contains("SCW_SECRET_KEY"),
        "{}",
        partial.message
    );
    let calls = all_calls(&h);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.calls(POST_NAMESPACES), 0);
    assert_eq!(all_calls(&h), calls, "no Scaleway call without credentials");
    assert_eq!(calls, 0);

    // A secret key but no project: the operator says where a project can come from, and
    // waits for the spec or the Secret to change (Stalled), still without calling Scaleway.
    h.secret("partial", "SCW_SECRET_KEY", TOKEN).await;
    let no_project = failed::<ServerlessNamespace>(&h, "partial", "InvalidSpec", true).await;
    assert!(
        no_project.message.contains("SCW_DEFAULT_PROJECT_ID"),
        "{}",
        no_project.message
    );
    assert_eq!(h.calls(POST_NAMESPACES), 0);
    // The Secret completed: a Secret change wakes the stalled object, and it converges.
    h.secret("partial", "SCW_DEFAULT_PROJECT_ID", PROJECT).await;
    h.condition::<ServerlessNamespace>("partial", "Ready", "True")
        .await;
    assert_eq!(h.remote_count("namespaces"), 1);
    assert_eq!(h.calls(POST_NAMESPACES), 1);
}
