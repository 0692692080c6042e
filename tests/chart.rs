//! The install side, checked without a cluster: the Helm chart (strict lint, values schema,
//! renders for several value sets validated against the Kubernetes 1.33 schemas, RBAC equal to
//! what the code uses, a hardened pod whose environment the binary accepts), the static
//! `deploy/install.yaml` (a fresh render), the Dockerfile (hadolint and its agreed shape) and
//! the scripts (shellcheck).
//!
//! The tools come from `scripts/install-tools.sh`: `.tools/bin/helm` (or `$HELM`) and
//! `.tools/venv/bin/{kubernetes-validate,hadolint,shellcheck}`. A test whose tool is missing
//! prints `SKIPPED: ...` and passes, except when `CI` is set, where it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::{CommandFactory, Parser};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EnvVar};
use scaleway_serverless_operator::cli::Cli;
use scaleway_serverless_operator::controller::rbac::PERMISSIONS;
use scaleway_serverless_operator::crd;
use serde_json::Value;

const CHART: &str = "charts/scaleway-serverless-operator";
const RELEASE: &str = "scaleway-serverless-operator";
const NAMESPACE: &str = "ops";
const INSTALL_NAMESPACE: &str = "scaleway-serverless-operator";
const PROJECT: &str = "11111111-2222-3333-4444-555555555555";

/// The value sets every render check goes through: (label, `--set` arguments).
const VALUE_SETS: &[(&str, &[&str])] = &[
    ("defaults", &[]),
    ("watch-namespace", &["watchNamespace=apps"]),
    (
        "ha-monitored",
        &[
            "replicas=3",
            "serviceMonitor.enabled=true",
            "serviceMonitor.labels.release=prometheus",
        ],
    ),
    ("existing-secret", &["credentials.existingSecret=my-creds"]),
    (
        "inline-credentials",
        &[
            "credentials.secretKey=00000000-0000-0000-0000-000000000000",
            "credentials.accessKey=SCWXXXXXXXXXXXXXXXXX",
            "credentials.projectId=11111111-2222-3333-4444-555555555555",
        ],
    ),
    (
        "single-unelected",
        &[
            "leaderElection.enabled=false",
            "defaultProjectId=11111111-2222-3333-4444-555555555555",
            "logFormat=text",
            "region=nl-ams",
            "resyncPeriod=1h30m",
            "admin.port=9090",
        ],
    ),
    (
        "layered-policies",
        &[
            "resyncPeriodByKind.ServerlessTrigger=30m",
            "resyncPeriodByKind.ServerlessContainer=2m",
            "defaultDeletionPolicy=Orphan",
        ],
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether `tool` is installed. When it is not: fails under CI, else prints SKIPPED.
fn installed(tool: &Path, what: &str) -> bool {
    if tool.is_file() {
        return true;
    }
    assert!(
        !in_ci(),
        "{what} is not installed at {}: CI must run scripts/install-tools.sh first",
        tool.display()
    );
    println!("SKIPPED: {what} not installed (run scripts/install-tools.sh)");
    false
}

fn venv_tool(name: &str) -> Option<PathBuf> {
    let path = root().join(".tools/venv/bin").join(name);
    installed(&path, name).then_some(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A directory under the target dir for one test, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chart-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// helm, with its cache, config and data homes (and an empty kubeconfig) in a scratch dir.
struct Helm {
    bin: PathBuf,
    scratch: Scratch,
}

impl Helm {
    fn find(test: &str) -> Option<Helm> {
        let bin = std::env::var_os("HELM")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join(".tools/bin/helm"));
        if !installed(&bin, "helm") {
            return None;
        }
        let scratch = Scratch::new(test);
        std::fs::write(scratch.0.join("kubeconfig"), "").unwrap_or_else(|e| panic!("{e}"));
        Some(Helm { bin, scratch })
    }

    fn dir(&self) -> &Path {
        &self.scratch.0
    }

    fn run(&self, args: &[&str], sets: &[&str]) -> Output {
        let dir = self.dir();
        let mut command = Command::new(&self.bin);
        command
            .current_dir(root())
            .args(args)
            .env("HELM_CACHE_HOME", dir.join("cache"))
            .env("HELM_CONFIG_HOME", dir.join("config"))
            .env("HELM_DATA_HOME", dir.join("data"))
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .env_remove("HELM_NAMESPACE");
        for set in sets {
            command.args(["--set", set]);
        }
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()))
    }

    fn template_output(&self, sets: &[&str]) -> Output {
        self.run(
            &[
                "template",
                RELEASE,
                CHART,
                "--namespace",
                NAMESPACE,
                "--include-crds",
            ],
            sets,
        )
    }

    /// `helm template` that must succeed.
    fn template(&self, sets: &[&str]) -> Rendered {
        let out = self.template_output(sets);
        assert!(
            out.status.success(),
            "helm template {sets:?} failed: {}",
            text(&out.stderr)
        );
        Rendered::parse(&text(&out.stdout))
    }
}

/// One YAML document of a render: its text and its value.
struct Doc {
    text: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        self.value["metadata"]["namespace"].as_str()
    }
    /// A built-in kind (its group is core, has no dot, or ends in `.k8s.io`), which the
    /// bundled Kubernetes schemas cover; everything else is a custom resource.
    fn is_builtin(&self) -> bool {
        let api_version = self.value["apiVersion"].as_str().unwrap_or_default();
        match api_version.split_once('/') {
            None => true,
            Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
        }
    }
}

struct Rendered {
    docs: Vec<Doc>,
}

impl Rendered {
    /// Splits on `---` lines (what helm prints) and parses each non-empty document.
    fn parse(all: &str) -> Self {
        let mut docs = Vec::new();
        let mut current = String::new();
        for line in all.lines().chain(std::iter::once("---")) {
            if line.trim_end() == "---" {
                let meaningful = current
                    .lines()
                    .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
                if meaningful {
                    let value: Value = serde_saphyr::from_str(&current)
                        .unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}\n{current}"));
                    docs.push(Doc {
                        text: std::mem::take(&mut current),
                        value,
                    });
                }
                current.clear();
            } else {
                current.push_str(line);
                current.push('\n');
            }
        }
        Rendered { docs }
    }

    fn all(&self, kind: &str) -> Vec<&Doc> {
        self.docs.iter().filter(|d| d.kind() == kind).collect()
    }

    fn one(&self, kind: &str) -> &Doc {
        let found = self.all(kind);
        assert_eq!(found.len(), 1, "expected one {kind}, got {}", found.len());
        found[0]
    }

    fn named(&self, kind: &str, name: &str) -> Option<&Doc> {
        self.docs
            .iter()
            .find(|d| d.kind() == kind && d.name() == name)
    }

    fn deployment(&self) -> Deployment {
        serde_json::from_value(self.one("Deployment").value.clone())
            .unwrap_or_else(|e| panic!("the Deployment does not parse: {e}"))
    }

    fn kinds(&self) -> BTreeSet<String> {
        self.docs.iter().map(|d| d.kind().to_owned()).collect()
    }
}

fn container(deployment: &Deployment) -> Container {
    let pod = deployment
        .spec
        .template
        .spec
        .clone()
        .unwrap_or_else(|| panic!("the Deployment has no pod spec"));
    assert_eq!(pod.containers.len(), 1, "one container");
    pod.containers[0].clone()
}

fn env(deployment: &Deployment) -> Vec<EnvVar> {
    container(deployment).env.unwrap_or_default()
}

fn env_value(deployment: &Deployment, name: &str) -> Option<String> {
    env(deployment)
        .into_iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value)
}

/// (Secret name, key) an environment variable is read from.
fn env_secret(deployment: &Deployment, name: &str) -> Option<(String, String)> {
    env(deployment)
        .into_iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value_from)
        .and_then(|from| from.secret_key_ref)
        .map(|selector| (selector.name, selector.key))
}

/// Validates the built-in kinds of a render with kubernetes-validate (strict, Kubernetes
/// 1.33, the oldest version kube 5 supports); custom resources are skipped.
fn validate(rendered: &Rendered, dir: &Path, label: &str) {
    let Some(validator) = venv_tool("kubernetes-validate") else {
        return;
    };
    let builtin: Vec<&Doc> = rendered.docs.iter().filter(|d| d.is_builtin()).collect();
    let file = dir.join(format!("{label}.yaml"));
    let joined: Vec<&str> = builtin.iter().map(|d| d.text.as_str()).collect();
    std::fs::write(&file, joined.join("---\n")).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&validator)
        .args(["--strict", "-k", "1.33"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubernetes-validate: {e}"));
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "{label}: kubernetes-validate failed:\n{report}"
    );
    let passed = report.matches(" passed for resource ").count();
    assert_eq!(
        passed,
        builtin.len(),
        "{label}: every built-in document must be checked against a schema:\n{report}"
    );
}

#[test]
fn chart_passes_helm_lint_strict_for_every_value_set() {
    let Some(helm) = Helm::find("lint") else {
        return;
    };
    for (label, sets) in VALUE_SETS {
        let out = helm.run(&["lint", "--strict", CHART], sets);
        let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            out.status.success(),
            "{label}: helm lint --strict failed:\n{report}"
        );
        assert!(!report.contains("[WARNING]"), "{label}: {report}");
        assert!(!report.contains("[ERROR]"), "{label}: {report}");
    }
}

#[test]
fn every_value_set_renders_manifests_valid_for_kubernetes_1_33() {
    let Some(helm) = Helm::find("validate") else {
        return;
    };
    let expected_crds: BTreeSet<String> = crd::all_crds()
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    for (label, sets) in VALUE_SETS {
        let rendered = helm.template(sets);
        let crds: BTreeSet<String> = rendered
            .all("CustomResourceDefinition")
            .iter()
            .map(|d| d.name().to_owned())
            .collect();
        assert_eq!(
            crds, expected_crds,
            "{label}: --include-crds renders the CRDs"
        );
        for doc in &rendered.docs {
            if doc.kind() == "ServiceMonitor" {
                continue;
            }
            assert!(
                doc.is_builtin(),
                "{label}: unexpected custom resource {}",
                doc.kind()
            );
        }
        validate(&rendered, helm.dir(), label);
    }
}

#[test]
fn value_sets_render_what_they_ask_for() {
    let Some(helm) = Helm::find("value-sets") else {
        return;
    };
    let defaults = helm.template(&[]);
    let kinds = defaults.kinds();
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
    ] {
        assert!(kinds.contains(kind), "defaults render a {kind}");
    }
    assert!(!kinds.contains("Secret"), "no credentials given, no Secret");
    assert!(!kinds.contains("ServiceMonitor"), "ServiceMonitor is off");
    let deployment = defaults.deployment();
    assert_eq!(deployment.spec.replicas, Some(1), "one replica by default");
    assert_eq!(
        env_value(&deployment, "LEADER_ELECT").as_deref(),
        Some("true")
    );
    assert_eq!(env_value(&deployment, "WATCH_NAMESPACE"), None);
    for name in ["SCW_SECRET_KEY", "SCW_ACCESS_KEY", "SCW_DEFAULT_PROJECT_ID"] {
        assert!(
            !env(&deployment).iter().any(|e| e.name == name),
            "{name} is not set without credentials"
        );
    }

    let watched = helm.template(&["watchNamespace=apps"]);
    assert!(watched.all("ClusterRole").is_empty());
    assert!(watched.all("ClusterRoleBinding").is_empty());
    let role = watched
        .named("Role", RELEASE)
        .unwrap_or_else(|| panic!("a Role for the watched namespace"));
    assert_eq!(role.namespace(), Some("apps"));
    let binding = watched
        .named("RoleBinding", RELEASE)
        .unwrap_or_else(|| panic!("a RoleBinding for the watched namespace"));
    assert_eq!(binding.namespace(), Some("apps"));
    assert_eq!(
        env_value(&watched.deployment(), "WATCH_NAMESPACE").as_deref(),
        Some("apps")
    );

    let ha = helm.template(&[
        "replicas=3",
        "serviceMonitor.enabled=true",
        "serviceMonitor.labels.release=prometheus",
    ]);
    let deployment = ha.deployment();
    assert_eq!(deployment.spec.replicas, Some(3));
    assert_eq!(
        env_value(&deployment, "LEADER_ELECT").as_deref(),
        Some("true")
    );
    let monitor = &ha.one("ServiceMonitor").value;
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");

    let existing = helm.template(&["credentials.existingSecret=my-creds"]);
    assert!(
        existing.all("Secret").is_empty(),
        "an existing Secret is not rendered"
    );
    let deployment = existing.deployment();
    for name in ["SCW_SECRET_KEY", "SCW_ACCESS_KEY", "SCW_DEFAULT_PROJECT_ID"] {
        assert_eq!(
            env_secret(&deployment, name),
            Some(("my-creds".to_owned(), name.to_owned())),
            "{name} comes from the existing Secret"
        );
    }

    let inline = helm.template(&[
        "credentials.secretKey=00000000-0000-0000-0000-000000000000",
        "credentials.projectId=11111111-2222-3333-4444-555555555555",
    ]);
    let secret = inline.one("Secret");
    let secret_name = format!("{RELEASE}-credentials");
    assert_eq!(secret.name(), secret_name);
    assert_eq!(secret.namespace(), Some(NAMESPACE));
    let data = &secret.value["stringData"];
    assert_eq!(
        data["SCW_SECRET_KEY"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(data["SCW_DEFAULT_PROJECT_ID"], PROJECT);
    assert!(data.get("SCW_ACCESS_KEY").is_none(), "only the keys given");
    let deployment = inline.deployment();
    assert_eq!(
        env_secret(&deployment, "SCW_SECRET_KEY"),
        Some((secret_name.clone(), "SCW_SECRET_KEY".to_owned()))
    );
    let annotations = deployment
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    assert!(
        annotations.contains_key("checksum/credentials"),
        "the pod rolls when inline credentials change"
    );

    let unelected = helm.template(&[
        "leaderElection.enabled=false",
        "defaultProjectId=11111111-2222-3333-4444-555555555555",
        "credentials.existingSecret=my-creds",
    ]);
    assert!(
        unelected
            .named("Role", &format!("{RELEASE}-leader-election"))
            .is_none(),
        "no Lease permissions without leader election"
    );
    let deployment = unelected.deployment();
    assert_eq!(
        env_value(&deployment, "LEADER_ELECT").as_deref(),
        Some("false")
    );
    assert_eq!(
        env_value(&deployment, "SCW_DEFAULT_PROJECT_ID").as_deref(),
        Some(PROJECT),
        "defaultProjectId wins over the Secret's project"
    );
}

#[test]
fn bad_values_fail_to_render() {
    let Some(helm) = Helm::find("bad-values") else {
        return;
    };
    let cases: &[(&[&str], &str)] = &[
        (&["logFormat=xml"], "/logFormat"),
        (&["replicas=two"], "/replicas"),
        (&["region=us-east-1"], "/region"),
        (&["resyncPeriod=soon"], "/resyncPeriod"),
        (&["image.pullPolicy=Sometimes"], "/image/pullPolicy"),
        (&["watchNamespace=Not_A_Namespace"], "/watchNamespace"),
        (&["defaultProjectId=my-project"], "/defaultProjectId"),
        (&["admin.port=0"], "/admin/port"),
        (
            &["serviceMonitor.interval=often"],
            "/serviceMonitor/interval",
        ),
        (&["loglevel=debug"], "loglevel"),
        (&["credentials.secret=x"], "secret"),
        (
            &[
                "credentials.existingSecret=a",
                "credentials.secretKey=00000000-0000-0000-0000-000000000000",
            ],
            "not both",
        ),
        (
            &["serviceAccount.create=false"],
            "serviceAccount.name is required",
        ),
    ];
    for (sets, expected) in cases {
        let out = helm.template_output(sets);
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success(),
            "helm template {sets:?} must fail, rendered:\n{}",
            text(&out.stdout)
        );
        assert!(
            stderr.contains(expected),
            "helm template {sets:?}: expected {expected:?} in:\n{stderr}"
        );
    }
}

/// Every (group, resource, verb) a role grants; panics on wildcards and non-resource URLs.
fn grants(role: &Doc) -> BTreeSet<(String, String, String)> {
    let mut granted = BTreeSet::new();
    let rules = role.value["rules"].as_array().cloned().unwrap_or_default();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for rule in &rules {
        assert!(
            rule.get("nonResourceURLs").is_none(),
            "{}: no non-resource URLs",
            role.name()
        );
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    for field in [&group, &resource, &verb] {
                        assert!(!field.contains('*'), "{}: wildcard in {rule}", role.name());
                    }
                    granted.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    granted
}

#[test]
fn rbac_grants_exactly_what_the_code_uses() {
    let Some(helm) = Helm::find("rbac") else {
        return;
    };
    let expected: BTreeSet<(String, String, String)> = PERMISSIONS
        .iter()
        .flat_map(|p| {
            p.verbs.iter().map(|verb| {
                (
                    p.api_group.to_owned(),
                    p.resource.to_owned(),
                    (*verb).to_owned(),
                )
            })
        })
        .collect();
    for (label, sets, kind) in [
        ("cluster-wide", &[][..], "ClusterRole"),
        ("one namespace", &["watchNamespace=apps"][..], "Role"),
    ] {
        let rendered = helm.template(sets);
        let role = rendered
            .named(kind, RELEASE)
            .unwrap_or_else(|| panic!("{label}: no {kind} {RELEASE}"));
        let granted = grants(role);
        let missing: Vec<_> = expected.difference(&granted).collect();
        let extra: Vec<_> = granted.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{label}: the {kind} must grant exactly src/controller/rbac.rs PERMISSIONS; \
             missing {missing:?}, extra {extra:?}"
        );
        let no_names = role.value["rules"]
            .as_array()
            .is_some_and(|rules| rules.iter().all(|r| r.get("resourceNames").is_none()));
        assert!(no_names, "{label}: the objects are not known in advance");
        check_bindings(&rendered, label);
    }
}

/// Every binding refers to a rendered role and to the Deployment's ServiceAccount.
fn check_bindings(rendered: &Rendered, label: &str) {
    let deployment = rendered.deployment();
    let account = deployment
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|p| p.service_account_name.clone())
        .unwrap_or_else(|| panic!("{label}: the pod names its ServiceAccount"));
    assert!(
        rendered.named("ServiceAccount", &account).is_some(),
        "{label}: ServiceAccount {account} is rendered"
    );
    let bindings: Vec<&Doc> = rendered
        .docs
        .iter()
        .filter(|d| d.kind() == "RoleBinding" || d.kind() == "ClusterRoleBinding")
        .collect();
    assert!(!bindings.is_empty(), "{label}: bindings");
    for binding in bindings {
        let role_kind = binding.value["roleRef"]["kind"]
            .as_str()
            .unwrap_or_default();
        let role_name = binding.value["roleRef"]["name"]
            .as_str()
            .unwrap_or_default();
        let role = rendered
            .named(role_kind, role_name)
            .unwrap_or_else(|| panic!("{label}: {} refers to a missing role", binding.name()));
        assert_eq!(
            role.namespace(),
            binding.namespace(),
            "{label}: same namespace"
        );
        let subjects = binding.value["subjects"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(subjects.len(), 1, "{label}: one subject");
        assert_eq!(subjects[0]["kind"], "ServiceAccount");
        assert_eq!(subjects[0]["name"], account.as_str());
        assert_eq!(subjects[0]["namespace"], NAMESPACE);
    }
}

#[test]
fn leader_election_role_covers_only_the_lease() {
    let Some(helm) = Helm::find("lease") else {
        return;
    };
    let rendered = helm.template(&["replicas=3"]);
    let role = rendered
        .named("Role", &format!("{RELEASE}-leader-election"))
        .unwrap_or_else(|| panic!("no leader-election Role"));
    assert_eq!(
        role.namespace(),
        Some(NAMESPACE),
        "the Lease lives in the release namespace"
    );
    let lease_name = env_value(&rendered.deployment(), "LEASE_NAME")
        .unwrap_or_else(|| panic!("LEASE_NAME is set"));
    assert_eq!(lease_name, RELEASE);
    let granted = grants(role);
    // lease.rs reads (get), creates, and renews with a resourceVersion-checked replace (update).
    let expected: BTreeSet<(String, String, String)> = ["get", "create", "update"]
        .iter()
        .map(|v| {
            (
                "coordination.k8s.io".to_owned(),
                "leases".to_owned(),
                (*v).to_owned(),
            )
        })
        .collect();
    assert_eq!(granted, expected, "Lease verbs");
    for rule in role.value["rules"].as_array().cloned().unwrap_or_default() {
        let verbs = rule["verbs"].as_array().cloned().unwrap_or_default();
        if verbs.iter().any(|v| v != "create") {
            assert_eq!(
                rule["resourceNames"],
                serde_json::json!([lease_name]),
                "get and update are limited to the release's Lease"
            );
        }
    }
    check_bindings(&rendered, "leader election");
}

#[test]
fn pod_is_hardened_and_probed() {
    let Some(helm) = Helm::find("pod") else {
        return;
    };
    let chart: Value = serde_saphyr::from_str(&read(&root().join(CHART).join("Chart.yaml")))
        .unwrap_or_else(|e| panic!("Chart.yaml: {e}"));
    assert_eq!(chart["apiVersion"], "v2");
    let app_version = chart["appVersion"].as_str().unwrap_or_default();
    assert_eq!(
        app_version,
        env!("CARGO_PKG_VERSION"),
        "appVersion = crate version"
    );

    let deployment = helm.template(&[]).deployment();
    let spec = deployment.spec.clone();
    assert_eq!(
        spec.strategy.and_then(|s| s.type_).as_deref(),
        Some("Recreate"),
        "a new pod cannot become ready while the old one holds the Lease"
    );
    let pod = spec.template.spec.unwrap_or_default();
    assert_eq!(pod.termination_grace_period_seconds, Some(30));
    for (what, set) in [
        ("hostNetwork", pod.host_network),
        ("hostPID", pod.host_pid),
        ("hostIPC", pod.host_ipc),
    ] {
        assert_ne!(set, Some(true), "{what}");
    }
    assert!(
        pod.volumes
            .unwrap_or_default()
            .iter()
            .all(|v| v.host_path.is_none())
    );
    let pod_security = pod.security_context.unwrap_or_default();
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(pod_security.run_as_user, Some(65532));
    assert_eq!(
        pod_security.seccomp_profile.map(|p| p.type_).as_deref(),
        Some("RuntimeDefault")
    );

    let container = container(&deployment);
    assert_eq!(
        container.image.as_deref(),
        Some(format!("scaleway-serverless-operator:{app_version}").as_str()),
        "the image tag defaults to appVersion"
    );
    assert_eq!(container.args, Some(vec!["run".to_owned()]));
    let security = container.security_context.clone().unwrap_or_default();
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.run_as_user, Some(65532));
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_ne!(security.privileged, Some(true));
    let capabilities = security.capabilities.unwrap_or_default();
    assert_eq!(capabilities.drop, Some(vec!["ALL".to_owned()]));
    assert!(capabilities.add.unwrap_or_default().is_empty());
    assert_eq!(
        security.seccomp_profile.map(|p| p.type_).as_deref(),
        Some("RuntimeDefault")
    );

    let resources = container.resources.clone().unwrap_or_default();
    for (what, set) in [
        ("requests", resources.requests),
        ("limits", resources.limits),
    ] {
        let set: BTreeMap<_, _> = set.unwrap_or_default();
        for key in ["cpu", "memory"] {
            assert!(set.contains_key(key), "resources.{what}.{key} is set");
        }
    }

    let ports = container.ports.clone().unwrap_or_default();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].name.as_deref(), Some("admin"));
    assert_eq!(ports[0].container_port, 8080);
    assert_eq!(
        env_value(&deployment, "ADMIN_LISTEN").as_deref(),
        Some("0.0.0.0:8080")
    );
    for (what, probe, path) in [
        ("liveness", container.liveness_probe.clone(), "/healthz"),
        ("readiness", container.readiness_probe.clone(), "/readyz"),
    ] {
        let get = probe
            .and_then(|p| p.http_get)
            .unwrap_or_else(|| panic!("{what} probe is an HTTP GET"));
        assert_eq!(get.path.as_deref(), Some(path), "{what} path");
        assert_eq!(
            serde_json::to_value(&get.port).unwrap_or_default(),
            "admin",
            "{what} port"
        );
    }
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        let from = env(&deployment)
            .into_iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value_from)
            .and_then(|f| f.field_ref)
            .map(|f| f.field_path);
        assert_eq!(from.as_deref(), Some(field), "{name} from the downward API");
    }
}

/// Environment variable names of `run`'s flags (and the global ones), with each flag's name.
fn run_flag_envs() -> BTreeMap<String, String> {
    let command = Cli::command();
    let run = command
        .find_subcommand("run")
        .unwrap_or_else(|| panic!("no run subcommand"))
        .clone();
    command
        .get_arguments()
        .chain(run.get_arguments())
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?.to_owned();
            Some((env, arg.get_long()?.to_owned()))
        })
        .collect()
}

#[test]
fn environment_reaches_the_binary_and_parses() {
    let Some(helm) = Helm::find("env") else {
        return;
    };
    let flags = run_flag_envs();
    // Read by the credentials loader (src/scaleway/credentials.rs), not by clap.
    let credentials = [
        "SCW_SECRET_KEY",
        "SCW_ACCESS_KEY",
        "SCW_DEFAULT_ORGANIZATION_ID",
    ];
    // Flags the chart leaves to their defaults on purpose.
    let not_set: [&str; 0] = [];
    let mut seen = BTreeSet::new();
    for (label, sets) in VALUE_SETS {
        let deployment = helm.template(sets).deployment();
        let vars = env(&deployment);
        let mut names = BTreeSet::new();
        let mut argv = vec!["scaleway-serverless-operator".to_owned(), "run".to_owned()];
        for var in &vars {
            assert!(
                names.insert(var.name.clone()),
                "{label}: {} is set twice",
                var.name
            );
            assert!(
                flags.contains_key(&var.name) || credentials.contains(&var.name.as_str()),
                "{label}: the binary reads no {} (src/cli.rs)",
                var.name
            );
            if let (Some(long), Some(value)) = (flags.get(&var.name), &var.value) {
                argv.push(format!("--{long}={value}"));
            }
        }
        seen.extend(names);
        // The values the chart sets are ones `run` accepts (durations, addresses, enums, bools).
        if let Err(error) = Cli::try_parse_from(&argv) {
            panic!("{label}: the binary rejects the chart's environment {argv:?}: {error}");
        }
    }
    for (env, long) in &flags {
        assert!(
            seen.contains(env) || not_set.contains(&env.as_str()),
            "flag --{long} ({env}) is not wired into the chart (templates/deployment.yaml)"
        );
    }
}

#[test]
fn service_and_service_monitor_point_at_the_admin_port() {
    let Some(helm) = Helm::find("service") else {
        return;
    };
    let rendered = helm.template(&["serviceMonitor.enabled=true"]);
    let service = &rendered.one("Service").value;
    let pod_labels = rendered
        .deployment()
        .spec
        .template
        .metadata
        .and_then(|m| m.labels)
        .unwrap_or_default();
    let selector = service["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(!selector.is_empty());
    for (key, value) in &selector {
        assert_eq!(
            pod_labels.get(key).map(String::as_str),
            value.as_str(),
            "the Service selects the operator's pods ({key})"
        );
    }
    let port = &service["spec"]["ports"][0];
    assert_eq!(port["name"], "admin");
    assert_eq!(port["targetPort"], "admin");
    let monitor = &rendered.one("ServiceMonitor").value;
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "admin");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "30s");
    assert_eq!(
        monitor["spec"]["namespaceSelector"]["matchNames"],
        serde_json::json!([NAMESPACE])
    );
    let service_labels = service["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        assert_eq!(
            service_labels.get(&key),
            Some(&value),
            "the ServiceMonitor selects the Service ({key})"
        );
    }
}

#[test]
fn notes_explain_credentials_and_crd_upgrades() {
    let Some(helm) = Helm::find("notes") else {
        return;
    };
    let install = [
        "install",
        RELEASE,
        CHART,
        "--namespace",
        NAMESPACE,
        "--dry-run=client",
    ];
    for (sets, expected) in [
        (&[][..], "WARNING: no default Scaleway credentials"),
        (
            &["credentials.existingSecret=my-creds"][..],
            "create secret generic my-creds",
        ),
        (
            &["credentials.secretKey=00000000-0000-0000-0000-000000000000"][..],
            "from Secret scaleway-serverless-operator-credentials",
        ),
        (&["watchNamespace=apps"][..], "It watches namespace apps"),
        (&["replicas=2"][..], "the others stand by"),
    ] {
        let out = helm.run(&install, sets);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "helm install --dry-run=client {sets:?}: {}",
            text(&out.stderr)
        );
        let notes = stdout
            .split_once("NOTES:")
            .map(|(_, notes)| notes)
            .unwrap_or_else(|| panic!("no NOTES in:\n{stdout}"));
        assert!(
            notes.contains(expected),
            "{sets:?}: expected {expected:?} in NOTES:\n{notes}"
        );
        assert!(
            notes.contains("kubectl apply --server-side --force-conflicts -f"),
            "the CRD upgrade step"
        );
        assert!(
            !notes.contains("00000000-0000"),
            "NOTES never print credentials"
        );
    }
}

#[test]
fn install_yaml_is_a_fresh_render_of_the_chart() {
    let Some(helm) = Helm::find("install-yaml") else {
        return;
    };
    let fresh = helm.dir().join("install.yaml");
    let out = Command::new("bash")
        .arg(root().join("scripts/render-install.sh"))
        .arg(&fresh)
        .env("HELM", &helm.bin)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/render-install.sh: {e}"));
    assert!(
        out.status.success(),
        "scripts/render-install.sh failed: {}",
        text(&out.stderr)
    );
    let fresh = read(&fresh);
    let committed = read(&root().join("deploy/install.yaml"));
    assert!(
        committed == fresh,
        "deploy/install.yaml is stale: run `bash scripts/render-install.sh` and commit it"
    );

    let rendered = Rendered::parse(&committed);
    let namespace = &rendered.docs[0];
    assert_eq!(namespace.kind(), "Namespace", "the Namespace comes first");
    assert_eq!(namespace.name(), INSTALL_NAMESPACE);
    assert_eq!(
        namespace.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    for definition in crd::all_crds() {
        let file = root().join("crds").join(crd::file_name(&definition));
        let expected: Value = serde_saphyr::from_str(&read(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = definition.metadata.name.clone().unwrap_or_default();
        let found = rendered
            .named("CustomResourceDefinition", &name)
            .unwrap_or_else(|| panic!("install.yaml lacks CRD {name}"));
        assert_eq!(found.value, expected, "CRD {name} equals crds/");
    }
    for doc in &rendered.docs {
        let cluster_scoped = matches!(
            doc.kind(),
            "Namespace" | "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding"
        );
        if !cluster_scoped {
            assert_eq!(
                doc.namespace(),
                Some(INSTALL_NAMESPACE),
                "{} {} is in the operator's namespace",
                doc.kind(),
                doc.name()
            );
        }
        assert!(
            !doc.text.contains("managed-by: Helm") && !doc.text.contains("helm.sh/chart"),
            "{} {}: no Helm bookkeeping labels in a kubectl manifest",
            doc.kind(),
            doc.name()
        );
    }
    let kinds = rendered.kinds();
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    ] {
        assert!(kinds.contains(kind), "install.yaml has a {kind}");
    }
    assert!(
        !kinds.contains("Secret"),
        "credentials are never in install.yaml"
    );
    assert_eq!(
        env_secret(&rendered.deployment(), "SCW_SECRET_KEY"),
        Some((
            "scaleway-credentials".to_owned(),
            "SCW_SECRET_KEY".to_owned()
        ))
    );
    validate(&rendered, helm.dir(), "install");
}

/// Dockerfile instructions with line continuations joined.
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .map(|line| {
            let (op, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            (op.to_uppercase(), rest.trim().to_owned())
        })
        .collect()
}

#[test]
fn dockerfile_has_the_agreed_shape() {
    let dockerfile = read(&root().join("Dockerfile"));
    let steps = instructions(&dockerfile);
    let froms: Vec<&String> = steps
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, rest)| rest)
        .collect();
    assert_eq!(froms.len(), 2, "two stages: {froms:?}");
    let builder = froms[0].split_whitespace().next().unwrap_or_default();
    let tag = builder
        .strip_prefix("rust:")
        .unwrap_or_else(|| panic!("the builder is the rust image: {builder}"));
    let version: Vec<u32> = tag
        .split('-')
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("pinned Rust version: {tag}"))
        })
        .collect();
    let msrv: Vec<u32> = env!("CARGO_PKG_RUST_VERSION")
        .split('.')
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    assert!(
        version.len() >= 2 && version >= msrv,
        "rust:{tag} is pinned and at least rust-version {msrv:?}"
    );
    assert!(
        tag.ends_with("-bookworm"),
        "same Debian as the runtime image"
    );
    assert!(
        froms[0].to_lowercase().contains(" as build"),
        "named build stage"
    );
    assert_eq!(
        froms[1].as_str(),
        "gcr.io/distroless/cc-debian12:nonroot",
        "distroless runtime with CA roots, non-root"
    );
    let runs: Vec<&String> = steps
        .iter()
        .filter(|(op, _)| op == "RUN")
        .map(|(_, r)| r)
        .collect();
    assert!(
        runs.iter()
            .any(|r| r.contains("cargo build --release --locked")),
        "a locked release build"
    );
    let runtime: Vec<&(String, String)> = steps
        .iter()
        .skip_while(|(op, rest)| !(op == "FROM" && rest == froms[1]))
        .collect();
    let value = |op: &str| {
        runtime
            .iter()
            .rev()
            .find(|(o, _)| o == op)
            .map(|(_, rest)| rest.clone())
            .unwrap_or_default()
    };
    assert!(
        ["65532", "65532:65532", "nonroot", "nonroot:nonroot"].contains(&value("USER").as_str()),
        "runs as the non-root user 65532"
    );
    assert!(
        value("COPY").starts_with("--from=build "),
        "copies only the binary"
    );
    assert_eq!(
        value("ENTRYPOINT"),
        r#"["/usr/local/bin/scaleway-serverless-operator"]"#
    );
    assert_eq!(value("CMD"), r#"["run"]"#);
    assert!(
        runtime.iter().all(|(op, _)| op != "RUN"),
        "nothing runs in the distroless stage"
    );

    let ignored: BTreeSet<String> = read(&root().join(".dockerignore"))
        .lines()
        .map(|l| l.trim().trim_end_matches('/').to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for entry in ["target", ".git", ".tools", ".venv"] {
        assert!(ignored.contains(entry), ".dockerignore lists {entry}");
    }
}

#[test]
fn dockerfile_passes_hadolint() {
    let Some(hadolint) = venv_tool("hadolint") else {
        return;
    };
    let out = Command::new(hadolint)
        .current_dir(root())
        .args(["--no-color", "--failure-threshold", "style", "Dockerfile"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run hadolint: {e}"));
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn scripts_pass_shellcheck() {
    let Some(shellcheck) = venv_tool("shellcheck") else {
        return;
    };
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(root().join("scripts"))
        .unwrap_or_else(|e| panic!("scripts/: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    let out = Command::new(shellcheck)
        .args(&scripts)
        .output()
        .unwrap_or_else(|e| panic!("cannot run shellcheck: {e}"));
    assert!(
        out.status.success(),
        "shellcheck:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Leaf paths of values.yaml; the objects in `whole` are documented as one entry.
fn value_paths(value: &Value, prefix: &str, whole: &[&str], out: &mut Vec<String>) {
    match value.as_object() {
        Some(map) if !map.is_empty() && !whole.contains(&prefix) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                value_paths(child, &path, whole, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

#[test]
fn chart_readme_documents_every_value() {
    let chart = root().join(CHART);
    let values: Value = serde_saphyr::from_str(&read(&chart.join("values.yaml")))
        .unwrap_or_else(|e| panic!("values.yaml: {e}"));
    let readme = read(&chart.join("README.md"));
    let mut paths = Vec::new();
    let whole = [
        "resources",
        "podSecurityContext",
        "securityContext",
        "strategy",
    ];
    value_paths(&values, "", &whole, &mut paths);
    assert!(paths.len() > 20, "values.yaml parsed: {paths:?}");
    let missing: Vec<&String> = paths
        .iter()
        .filter(|p| !readme.contains(&format!("| `{p}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "charts/scaleway-serverless-operator/README.md lacks a values-table row for {missing:?}"
    );
    // Every documented value exists (schema properties mirror values.yaml).
    let schema: Value = serde_json::from_str(&read(&chart.join("values.schema.json")))
        .unwrap_or_else(|e| panic!("values.schema.json: {e}"));
    for path in &paths {
        let mut node = &schema;
        for key in path.split('.') {
            node = &node["properties"][key];
        }
        assert!(
            node.is_object(),
            "values.schema.json does not describe {path}"
        );
    }
}
