//! The README walkthrough, driven by the real `kubectl`: apply `examples/`, wait for Ready,
//! read the endpoint, edit the image, delete, and an invalid object rejected at apply time;
//! the emulator's state is checked at every step.
//!
//! By default the whole operator runs in this process as `scaleway-serverless-operator
//! sandbox` does (loopback API server + emulator + controllers). When `KUBECONFIG` is set, the
//! same steps run against that cluster instead: the CRDs are applied server-side, the
//! controllers run in this process watching a fresh namespace, Scaleway is the emulator on
//! loopback.
//!
//! kubectl comes from `KUBECTL`, else `.tools/bin/kubectl` (`scripts/install-kubectl.sh`).
//! Without it the tests say SKIPPED, except under CI (`CI` set), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use scaleway_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use scaleway_serverless_operator::controller::clients::ClientPool;
use scaleway_serverless_operator::controller::{self, Context, OperatorConfig, Scope};
use scaleway_serverless_operator::crd;
use scaleway_serverless_operator::sandbox::{Sandbox, SandboxConfig};
use scaleway_serverless_operator::scaleway::{ClientConfig, SecretString};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

const DEADLINE: Duration = Duration::from_secs(60);

/// Where the controllers and the API server come from.
enum Backend {
    /// Everything in this process, as `sandbox` runs it.
    Sandbox { _running: Box<Sandbox> },
    /// The cluster of `KUBECONFIG`; controllers and emulator in this process.
    Cluster {
        _emulator: RunningEmulator,
        operator: tokio::task::JoinHandle<Result<(), controller::StartError>>,
    },
}

/// One test's world: kubectl pointed at a fresh Kubernetes namespace, and the emulator.
struct World {
    kubectl: PathBuf,
    /// `Some` for the sandbox (its kubeconfig); `None` uses the caller's `KUBECONFIG`.
    kubeconfig: Option<PathBuf>,
    scratch: PathBuf,
    namespace: String,
    emulator: Emulator,
    backend: Backend,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Backend::Cluster { operator, .. } = &self.backend {
            operator.abort();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn find_kubectl() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(path));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/kubectl");
    local.exists().then_some(local)
}

/// The world, or `None` (after printing SKIPPED) when kubectl is missing outside CI.
async fn world(test: &str) -> Option<World> {
    let Some(kubectl) = find_kubectl() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: kubectl not found (set KUBECTL or run scripts/install-kubectl.sh)"
        );
        println!(
            "SKIPPED: {test} needs kubectl (KUBECTL or .tools/bin/kubectl; scripts/install-kubectl.sh installs it)"
        );
        return None;
    };
    scaleway_serverless_operator::install_crypto_provider();
    let scratch = std::env::temp_dir().join(format!("sso-e2e-{test}-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| panic!("{e}"));
    let namespace = format!("e2e-{}", fastrand::u32(..));
    let emulator_config = EmulatorConfig {
        transition_delay: Duration::from_millis(300),
        delete_delay: Duration::from_millis(300),
        ..EmulatorConfig::default()
    };

    let (kubeconfig, emulator, backend) = if std::env::var_os("KUBECONFIG").is_some() {
        let kube = kube::Client::try_default()
            .await
            .unwrap_or_else(|e| panic!("KUBECONFIG is set but unusable: {e}"));
        let crds: Api<CustomResourceDefinition> = Api::all(kube.clone());
        for definition in crd::all_crds() {
            crds.patch(
                &definition.name_any(),
                &PatchParams::apply("scaleway-serverless-operator-e2e").force(),
                &Patch::Apply(&definition),
            )
            .await
            .unwrap_or_else(|e| panic!("apply CRD: {e}"));
        }
        let running = Emulator::start(emulator_config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let config = OperatorConfig {
            poll_initial: Duration::from_millis(100),
            poll_max: Duration::from_millis(500),
            ..OperatorConfig::default()
        };
        let clients = ClientPool::new(
            ClientConfig::new(SecretString::new("e2e")).with_api_url(running.url()),
            Some("11111111-2222-4333-8444-555555555555".into()),
            true,
            config.digest_key.clone(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ctx = Arc::new(Context::new(kube, clients, config));
        let operator = tokio::spawn(controller::run(ctx, Scope::Namespace(namespace.clone())));
        let emulator = running.emulator.clone();
        (
            None,
            emulator,
            Backend::Cluster {
                _emulator: running,
                operator,
            },
        )
    } else {
        let path = scratch.join("kubeconfig");
        let sandbox = Sandbox::start(SandboxConfig {
            kubeconfig: Some(path.clone()),
            emulator: emulator_config,
            ..SandboxConfig::for_tests()
        })
        .await
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
        let emulator = sandbox.emulator().clone();
        (
            Some(path),
            emulator,
            Backend::Sandbox {
                _running: Box::new(sandbox),
            },
        )
    };
    let world = World {
        kubectl,
        kubeconfig,
        scratch,
        namespace,
        emulator,
        backend,
    };
    world.ok(&["create", "namespace", &world.namespace]).await;
    Some(world)
}

impl World {
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.kubectl);
        command
            .args(args)
            .arg("--namespace")
            .arg(&self.namespace)
            .env("KUBECACHEDIR", self.scratch.join("kube-cache"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(path) = &self.kubeconfig {
            command.env("KUBECONFIG", path);
        }
        command
    }

    async fn run_with(&self, args: &[&str], stdin: Option<&str>, editor: Option<&str>) -> Output {
        let mut command = self.command(args);
        if let Some(editor) = editor {
            command.env("KUBE_EDITOR", editor);
        }
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.kubectl.display()));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let output =
            tokio::time::timeout(DEADLINE + Duration::from_secs(30), child.wait_with_output())
                .await
                .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish"))
                .unwrap_or_else(|e| panic!("{e}"));
        println!(
            "$ kubectl {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Runs kubectl and returns its stdout, failing the test when it fails.
    async fn ok(&self, args: &[&str]) -> String {
        let output = self.run_with(args, None, None).await;
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The emulator's resources of one kind (`namespaces`, `containers`, `triggers`).
    fn remote(&self, kind: &str) -> Vec<Value> {
        self.emulator.state()[kind]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls `check` until it returns `Ok`, failing with its last error after the deadline.
    async fn until<T>(&self, what: &str, mut check: impl AsyncFnMut() -> Result<T, String>) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match check().await {
                Ok(value) => return value,
                Err(last) if Instant::now() > deadline => {
                    panic!("timed out waiting for {what}; last seen: {last}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    async fn cleanup(self) {
        let _ = self
            .run_with(
                &["delete", "namespace", &self.namespace, "--wait=false"],
                None,
                None,
            )
            .await;
    }
}

fn example_image() -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/02-container.yaml"),
    )
    .unwrap_or_default();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .unwrap_or_else(|| panic!("examples/02-container.yaml has no image"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walkthrough_with_kubectl() {
    let Some(w) = world("readme_walkthrough_with_kubectl").await else {
        return;
    };
    let image = example_image();

    // kubectl apply -f examples/
    let applied = w.ok(&["apply", "-f", "examples/"]).await;
    for object in [
        "serverlessnamespace.serverless.scaleway.com/demo created",
        "secret/web-secrets created",
        "serverlesscontainer.serverless.scaleway.com/web created",
        "serverlesstrigger.serverless.scaleway.com/nightly created",
        "serverlessdomain.serverless.scaleway.com/api created",
        "configmap/hello-code created",
        "serverlessnamespace.serverless.scaleway.com/fns created",
        "serverlessfunction.serverless.scaleway.com/hello created",
        "serverlessfunctiontoken.serverless.scaleway.com/hello-caller created",
        "serverlessfunctioncron.serverless.scaleway.com/hello-nightly created",
        "serverlessfunctiontrigger.serverless.scaleway.com/hello-jobs created",
    ] {
        assert!(applied.contains(object), "{applied}");
    }

    // kubectl wait --for=condition=Ready
    w.ok(&[
        "wait",
        "--for=condition=Ready",
        "serverlessnamespace/demo",
        "serverlesscontainer/web",
        "serverlesstrigger/nightly",
        "serverlessdomain/api",
        "serverlessnamespace/fns",
        "serverlessfunction/hello",
        "serverlessfunctiontoken/hello-caller",
        "serverlessfunctioncron/hello-nightly",
        "serverlessfunctiontrigger/hello-jobs",
        "--timeout=60s",
    ])
    .await;
    // The function's code was uploaded and deployed; the token's value is in its Secret.
    let functions = w.emulator.state()["functions_api"]["functions"].clone();
    assert_eq!(functions[0]["name"], "hello", "{functions}");
    assert_eq!(functions[0]["status"], "ready", "{functions}");
    assert!(
        functions[0]["deployed_archive_sha256"].is_string(),
        "{functions}"
    );
    let token_id = w
        .ok(&[
            "get",
            "secret",
            "hello-token",
            "-o",
            "jsonpath={.metadata.annotations.serverless\\.scaleway\\.com/token-id}",
        ])
        .await;
    assert_eq!(
        token_id,
        w.ok(&["get", "slft", "hello-caller", "-o", "jsonpath={.status.id}"])
            .await
    );
    let crons = w.emulator.state()["functions_api"]["crons"].clone();
    assert_eq!(crons[0]["args"]["job"], "nightly-report", "{crons}");
    let triggers = w.emulator.state()["functions_api"]["function_triggers"].clone();
    assert_eq!(triggers[0]["scw_sqs_config"]["queue"], "jobs", "{triggers}");
    let containers = w.remote("containers");
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0]["name"], "web");
    assert_eq!(containers[0]["image"], image.as_str());
    assert_eq!(containers[0]["status"], "ready");
    assert_eq!(containers[0]["max_scale"], 5);
    assert_eq!(w.remote("namespaces").len(), 1);
    assert_eq!(w.remote("namespaces")[0]["name"], "demo");
    assert_eq!(w.remote("triggers").len(), 1);
    let domains = w.remote("domains");
    assert_eq!(domains.len(), 1, "{domains:?}");
    assert_eq!(domains[0]["hostname"], "api.example.com");

    // The endpoint, with -o jsonpath, is the one Scaleway reports.
    let endpoint = w
        .ok(&[
            "get",
            "slc",
            "web",
            "-o",
            "jsonpath={.status.publicEndpoint}",
        ])
        .await;
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    assert_eq!(containers[0]["public_endpoint"], endpoint.as_str());
    let id = w
        .ok(&["get", "slc", "web", "-o", "jsonpath={.status.id}"])
        .await;
    assert_eq!(containers[0]["id"], id.as_str());

    // The printer columns and the category.
    let listed = w.ok(&["get", "serverless"]).await;
    assert!(
        listed.contains("READY") && listed.contains("ENDPOINT"),
        "{listed}"
    );
    assert!(
        listed.contains("serverlesscontainer.serverless.scaleway.com/web")
            && listed.contains(&endpoint),
        "{listed}"
    );
    let wide = w.ok(&["get", "slc", "-o", "wide"]).await;
    assert!(wide.contains(&image) && wide.contains(&id), "{wide}");
    let described = w.ok(&["describe", "slc", "web"]).await;
    assert!(
        described.contains("Events:") && described.contains("Created"),
        "{described}"
    );
    let events = w.ok(&["get", "events"]).await;
    assert!(events.contains("serverlesscontainer/web"), "{events}");
    let explained = w.ok(&["explain", "serverlesscontainer.spec"]).await;
    assert!(explained.contains("namespaceRef"), "{explained}");

    // Edit the image: one update reaches Scaleway, same container, no duplicate.
    let new_image = format!("{image}-edited");
    let editor = format!("sed -i s#image:\\ {image}\\$#image:\\ {new_image}#");
    let edited = w
        .run_with(&["edit", "slc", "web"], None, Some(&editor))
        .await;
    assert!(
        edited.status.success(),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
    let generation = w
        .ok(&["get", "slc", "web", "-o", "jsonpath={.metadata.generation}"])
        .await;
    assert_eq!(generation, "2");
    w.until("the edited image at Scaleway", async || {
        let seen = w
            .ok(&[
                "get",
                "slc",
                "web",
                "-o",
                "jsonpath={.status.observedGeneration} {.status.remoteStatus} {.status.conditions[?(@.type==\"Ready\")].status}",
            ])
            .await;
        let remote = w.remote("containers");
        let image_at_scaleway = remote.first().map(|c| c["image"].clone());
        if seen == "2 ready True" && image_at_scaleway == Some(Value::from(new_image.as_str())) {
            Ok(())
        } else {
            Err(format!("{seen}; remote {image_at_scaleway:?}"))
        }
    })
    .await;
    let containers = w.remote("containers");
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0]["id"], id.as_str());

    // kubectl delete -f examples/ waits until the finalizers are gone; Scaleway is empty.
    w.ok(&["delete", "-f", "examples/", "--timeout=60s"]).await;
    let left = w.ok(&["get", "serverless", "-o", "name"]).await;
    assert_eq!(left.trim(), "", "{left}");
    w.until("Scaleway to be empty", async || {
        let counts = [
            w.emulator.count_resources("namespaces"),
            w.emulator.count_resources("containers"),
            w.emulator.count_resources("triggers"),
            w.emulator.count_resources("domains"),
            w.emulator.count_resources("function_namespaces"),
            w.emulator.count_resources("functions"),
            w.emulator.count_resources("tokens"),
        ];
        if counts == [0; 7] {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
    w.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_objects_are_rejected_at_apply_time() {
    let Some(w) = world("invalid_objects_are_rejected_at_apply_time").await else {
        return;
    };
    let both_refs_and_bad_scale = "apiVersion: serverless.scaleway.com/v1alpha1
kind: ServerlessContainer
metadata:
  name: bad
spec:
  namespaceRef:
    name: demo
  namespaceId: 11111111-2222-4333-8444-555555555555
  image: nginx:1
  minScale: 5
  maxScale: 2
";
    let output = w
        .run_with(&["apply", "-f", "-"], Some(both_refs_and_bad_scale), None)
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("The ServerlessContainer \"bad\" is invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("namespaceRef and namespaceId"), "{stderr}");
    assert!(stderr.contains("minScale"), "{stderr}");

    let out_of_range = "apiVersion: serverless.scaleway.com/v1alpha1
kind: ServerlessContainer
metadata:
  name: bad
spec:
  namespaceRef:
    name: demo
  image: nginx:1
  maxScale: 5000
  privacy: Secret
";
    let output = w
        .run_with(&["apply", "-f", "-"], Some(out_of_range), None)
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("spec.maxScale"), "{stderr}");
    assert!(stderr.contains("spec.privacy"), "{stderr}");

    let unknown_field = "apiVersion: serverless.scaleway.com/v1alpha1
kind: ServerlessNamespace
metadata:
  name: typo
spec:
  descripton: misspelt
";
    let output = w
        .run_with(&["apply", "-f", "-"], Some(unknown_field), None)
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("unknown field \"spec.descripton\""),
        "{stderr}"
    );

    // A defaulted immutable field cannot be set once the Scaleway resource exists.
    w.ok(&["apply", "-f", "examples/01-namespace.yaml"]).await;
    w.ok(&[
        "wait",
        "--for=condition=Ready",
        "serverlessnamespace/demo",
        "--timeout=60s",
    ])
    .await;
    let output = w
        .run_with(
            &[
                "patch",
                "sns",
                "demo",
                "--type",
                "merge",
                "-p",
                r#"{"spec":{"name":"renamed"}}"#,
            ],
            None,
            None,
        )
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("is invalid")
            && stderr.contains("immutable")
            && stderr.contains("once the Scaleway resource exists"),
        "{stderr}"
    );

    let missing = w.run_with(&["get", "slc", "bad"], None, None).await;
    assert!(!missing.status.success());
    assert_eq!(w.emulator.count_resources("containers"), 0);
    w.ok(&[
        "delete",
        "-f",
        "examples/01-namespace.yaml",
        "--timeout=60s",
    ])
    .await;
    w.until("the namespace to leave Scaleway", async || {
        match w.emulator.count_resources("namespaces") {
            0 => Ok(()),
            n => Err(n.to_string()),
        }
    })
    .await;
    w.cleanup().await;
}
