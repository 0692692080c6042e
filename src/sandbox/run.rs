//! `sandbox`: the whole operator on one machine. One process runs the Scaleway emulator, the
//! loopback Kubernetes-compatible API server and the real controllers against both, and writes
//! a kubeconfig so that the ordinary `kubectl` drives it. A test and demo harness: in
//! production the operator runs on a real cluster.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scaleway_emulator::{Emulator, EmulatorConfig};
use tokio::task::JoinHandle;

use super::apiserver::{ApiServer, ApiServerConfig, RunningApiServer};
use super::kubeconfig;
use crate::controller::clients::ClientPool;
use crate::controller::{self, Context, OperatorConfig, Scope};
use crate::scaleway::{ClientConfig, SecretString};

/// Scaleway project that sandbox namespaces go to (the emulator accepts any UUID).
pub const PROJECT_ID: &str = "5a4db0c5-0000-4000-8000-000000000001";
/// Secret key the operator sends to the emulator (which accepts any non-empty token).
pub const SECRET_KEY: &str = "sandbox";
/// Kubernetes namespace of the kubeconfig's context.
pub const NAMESPACE: &str = "default";

/// How often a changed state is written to `--state-file` while running.
const SAVE_EVERY: Duration = Duration::from_secs(5);
/// How long in-flight reconciles get to finish on shutdown.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Flags of `sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Where to write the kubeconfig of the sandbox (rewritten at every start).
    #[arg(
        long,
        env = "SANDBOX_KUBECONFIG",
        default_value = "target/sandbox/kubeconfig"
    )]
    pub kubeconfig: PathBuf,
    /// Address of the Kubernetes API server (loopback only; port 0 picks a free port).
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Address of the Scaleway emulator (loopback only; port 0 picks a free port).
    #[arg(long, env = "SANDBOX_EMULATOR_LISTEN", default_value = "127.0.0.1:0")]
    pub emulator_listen: SocketAddr,
    /// Keep the Kubernetes objects in this file: loaded at start, saved every few seconds
    /// and at shutdown. The emulator's state is not kept.
    #[arg(long, env = "SANDBOX_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// Time a Scaleway resource spends in `creating` / `updating` before it settles.
    #[arg(long, env = "SANDBOX_TRANSITION_DELAY_MS", default_value_t = 2000)]
    pub transition_delay_ms: u64,
    /// Time a Scaleway resource spends in `deleting` before it is gone.
    #[arg(long, env = "SANDBOX_DELETE_DELAY_MS", default_value_t = 1000)]
    pub delete_delay_ms: u64,
    /// How often every object is compared with the emulator again, e.g. 30s.
    #[arg(long, env = "SANDBOX_RESYNC_PERIOD", default_value = "30s", value_parser = parse_duration)]
    pub resync_period: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::crd::units::duration("resync-period", text).map_err(|e| e.to_string())
}

/// Everything a [`Sandbox`] needs to start.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address of the Kubernetes API server (must be loopback).
    pub listen: SocketAddr,
    /// Address of the Scaleway emulator (must be loopback).
    pub emulator_listen: SocketAddr,
    /// Where the kubeconfig goes; `None` writes none.
    pub kubeconfig: Option<PathBuf>,
    /// Snapshot file of the Kubernetes objects; `None` keeps them in memory only.
    pub state_file: Option<PathBuf>,
    /// The emulator's behaviour.
    pub emulator: EmulatorConfig,
    /// The controllers' timing.
    pub operator: OperatorConfig,
}

impl SandboxConfig {
    /// Loopback on free ports, no files, quick transitions: for tests.
    pub fn for_tests() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            emulator_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig: None,
            state_file: None,
            emulator: EmulatorConfig {
                transition_delay: Duration::from_millis(200),
                delete_delay: Duration::from_millis(200),
                ..EmulatorConfig::default()
            },
            operator: OperatorConfig {
                resync_period: Duration::from_secs(30),
                poll_initial: Duration::from_millis(50),
                poll_max: Duration::from_millis(500),
                ..OperatorConfig::default()
            },
        }
    }
}

impl From<&SandboxArgs> for SandboxConfig {
    fn from(args: &SandboxArgs) -> Self {
        Self {
            listen: args.listen,
            emulator_listen: args.emulator_listen,
            kubeconfig: Some(args.kubeconfig.clone()),
            state_file: args.state_file.clone(),
            emulator: EmulatorConfig {
                transition_delay: Duration::from_millis(args.transition_delay_ms),
                delete_delay: Duration::from_millis(args.delete_delay_ms),
                ..EmulatorConfig::default()
            },
            operator: OperatorConfig {
                resync_period: args.resync_period,
                poll_initial: Duration::from_millis(200),
                poll_max: Duration::from_secs(2),
                retry_max: Duration::from_secs(30),
                ..OperatorConfig::default()
            },
        }
    }
}

/// Why the sandbox could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A listen address is not on loopback.
    #[error("{what} must listen on a loopback address (it has no authentication), not {addr}")]
    NotLoopback {
        /// Which server.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
    },
    /// A socket could not be bound.
    #[error("cannot listen on {addr} for the {what}")]
    Bind {
        /// Which server.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The state file could not be read, parsed or written.
    #[error("state file {}", .path.display())]
    StateFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The kubeconfig could not be written.
    #[error("cannot write the kubeconfig {}", .path.display())]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The controllers could not be set up.
    #[error("cannot start the controllers: {0}")]
    Operator(String),
}

/// A running sandbox. Dropping it stops the servers and the controllers without saving;
/// [`Sandbox::stop`] saves the state first.
pub struct Sandbox {
    apiserver: RunningApiServer,
    emulator: Emulator,
    emulator_addr: SocketAddr,
    emulator_task: JoinHandle<()>,
    operator: Option<JoinHandle<Result<(), controller::StartError>>>,
    saver: Option<JoinHandle<()>>,
    state_file: Option<PathBuf>,
    kubeconfig: Option<PathBuf>,
    started_in: Duration,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("api", &self.apiserver.addr)
            .field("emulator", &self.emulator_addr)
            .field("state_file", &self.state_file)
            .finish()
    }
}

impl Sandbox {
    /// Starts the emulator, the API server (with our CRDs and the `default` namespace) and
    /// the controllers, and writes the kubeconfig. Returns once all are serving.
    pub async fn start(config: SandboxConfig) -> Result<Self, SandboxError> {
        let started = Instant::now();
        crate::install_crypto_provider();
        for (what, addr) in [
            ("Kubernetes API server", config.listen),
            ("Scaleway emulator", config.emulator_listen),
        ] {
            if !addr.ip().is_loopback() {
                return Err(SandboxError::NotLoopback { what, addr });
            }
        }

        let emulator_listener = tokio::net::TcpListener::bind(config.emulator_listen)
            .await
            .map_err(|source| SandboxError::Bind {
                what: "Scaleway emulator",
                addr: config.emulator_listen,
                source,
            })?;
        let emulator_addr =
            emulator_listener
                .local_addr()
                .map_err(|source| SandboxError::Bind {
                    what: "Scaleway emulator",
                    addr: config.emulator_listen,
                    source,
                })?;
        let emulator = Emulator::new(config.emulator.clone());
        let serving = emulator.clone();
        let emulator_task = tokio::spawn(async move {
            if let Err(error) = serving.serve(emulator_listener).await {
                tracing::error!(%error, "Scaleway emulator stopped");
            }
        });

        let server = match &config.state_file {
            Some(path) if path.exists() => load_state(path)?,
            _ => ApiServer::new(),
        };
        server.register_operator_crds();
        server
            .ensure_namespace(NAMESPACE)
            .map_err(|e| SandboxError::Operator(e.to_string()))?;
        let apiserver =
            server
                .start_at(config.listen)
                .await
                .map_err(|source| SandboxError::Bind {
                    what: "Kubernetes API server",
                    addr: config.listen,
                    source,
                })?;
        if let Some(path) = &config.kubeconfig {
            let text = kubeconfig::render(&apiserver.url(), NAMESPACE);
            kubeconfig::write_private(path, &text).map_err(|source| SandboxError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
        }

        let kube = apiserver
            .client()
            .map_err(|e| SandboxError::Operator(e.to_string()))?;
        let scaleway = ClientConfig::new(SecretString::new(SECRET_KEY))
            .with_api_url(format!("http://{emulator_addr}"));
        let clients = ClientPool::new(
            scaleway,
            Some(PROJECT_ID.to_owned()),
            true,
            config.operator.digest_key.clone(),
        )
        .map_err(|e| SandboxError::Operator(e.to_string()))?;
        let ctx = Arc::new(Context::new(kube, clients, config.operator.clone()));
        let operator = tokio::spawn(controller::run(ctx, Scope::Cluster));

        let saver = config.state_file.clone().map(|path| {
            let server = apiserver.server.clone();
            tokio::spawn(save_periodically(server, path))
        });
        Ok(Self {
            apiserver,
            emulator,
            emulator_addr,
            emulator_task,
            operator: Some(operator),
            saver,
            state_file: config.state_file,
            kubeconfig: config.kubeconfig,
            started_in: started.elapsed(),
        })
    }

    /// Base URL of the Kubernetes API server, e.g. `http://127.0.0.1:41234`.
    pub fn api_url(&self) -> String {
        self.apiserver.url()
    }

    /// Base URL of the Scaleway emulator (the `api_url` of any Scaleway SDK).
    pub fn emulator_url(&self) -> String {
        format!("http://{}", self.emulator_addr)
    }

    /// The API server's state, for inspection.
    pub fn apiserver(&self) -> &ApiServer {
        &self.apiserver.server
    }

    /// The emulator's state, for inspection (`state()`, `count_resources`).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// A kube client for the API server.
    pub fn client(&self) -> Result<kube::Client, kube::Error> {
        self.apiserver.client()
    }

    /// Where the kubeconfig was written.
    pub fn kubeconfig(&self) -> Option<&Path> {
        self.kubeconfig.as_deref()
    }

    /// How long [`Sandbox::start`] took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Waits until the controllers stop by themselves (on SIGINT/SIGTERM, or on an error).
    pub async fn controllers_stopped(&mut self) -> Result<(), SandboxError> {
        match self.operator.as_mut() {
            Some(task) => {
                let outcome = task.await;
                self.operator = None;
                match outcome {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(SandboxError::Operator(error.to_string())),
                    Err(error) => Err(SandboxError::Operator(error.to_string())),
                }
            }
            None => Ok(()),
        }
    }

    /// Stops the controllers (giving in-flight reconciles a moment), saves the state file and
    /// stops both servers.
    pub async fn stop(mut self) -> Result<(), SandboxError> {
        if let Some(task) = self.operator.take() {
            // The controllers end on SIGINT/SIGTERM by themselves; otherwise stop them here.
            if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                tracing::warn!("controllers did not stop in time");
            }
        }
        if let Some(saver) = self.saver.take() {
            saver.abort();
        }
        let saved = match &self.state_file {
            Some(path) => save_state(&self.apiserver.server, path),
            None => Ok(()),
        };
        self.emulator_task.abort();
        saved
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(task) = self.operator.take() {
            task.abort();
        }
        if let Some(saver) = self.saver.take() {
            saver.abort();
        }
        self.emulator_task.abort();
    }
}

/// `sandbox`: starts, prints what to do next, runs until SIGINT/SIGTERM, saves and stops.
pub async fn run(args: SandboxArgs) -> Result<(), SandboxError> {
    let mut sandbox = Sandbox::start(SandboxConfig::from(&args)).await?;
    println!("{}", next_steps(&sandbox, &args));
    tracing::info!(
        api = %sandbox.api_url(),
        emulator = %sandbox.emulator_url(),
        started_in_ms = sandbox.started_in().as_millis() as u64,
        "sandbox started"
    );
    tokio::select! {
        outcome = sandbox.controllers_stopped() => outcome?,
        () = shutdown_signal() => tracing::info!("interrupted, stopping the sandbox"),
    }
    sandbox.stop().await?;
    if let Some(path) = &args.state_file {
        println!("state saved to {}", path.display());
    }
    Ok(())
}

/// The text printed once the sandbox serves.
fn next_steps(sandbox: &Sandbox, args: &SandboxArgs) -> String {
    let kubeconfig = std::path::absolute(&args.kubeconfig).unwrap_or(args.kubeconfig.clone());
    let emulator = sandbox.emulator_url();
    let state = match &args.state_file {
        Some(path) => format!("Objects are kept in {}.\n", path.display()),
        None => String::new(),
    };
    format!(
        "Scaleway Serverless operator sandbox ready in {ms} ms (a test and demo harness, not a cluster).\n\
         \n\
         \x20 Kubernetes API    {api}  (kubeconfig: {kubeconfig})\n\
         \x20 Scaleway emulator {emulator}  (any X-Auth-Token is accepted)\n\
         {state}\
         \n\
         Next, in another terminal (from the repository root):\n\
         \n\
         \x20 export KUBECONFIG={kubeconfig}\n\
         \x20 kubectl apply -f examples/\n\
         \x20 kubectl wait --for=condition=Ready serverlesscontainer/web --timeout=60s\n\
         \x20 kubectl get serverless\n\
         \x20 kubectl get slc web -o jsonpath='{{.status.publicEndpoint}}{{\"\\n\"}}'\n\
         \x20 curl -s -H 'X-Auth-Token: {SECRET_KEY}' {emulator}/containers/v1/regions/fr-par/containers\n\
         \n\
         Ctrl-C stops the sandbox.",
        ms = sandbox.started_in().as_millis(),
        api = sandbox.api_url(),
        kubeconfig = kubeconfig.display(),
    )
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn load_state(path: &Path) -> Result<ApiServer, SandboxError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| SandboxError::StateFile {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(Box::new(e)))?;
    let snapshot: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(Box::new(e)))?;
    ApiServer::from_snapshot(ApiServerConfig::default(), &snapshot).map_err(|e| fail(Box::new(e)))
}

fn save_state(server: &ApiServer, path: &Path) -> Result<(), SandboxError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| SandboxError::StateFile {
        path: path.to_owned(),
        source,
    };
    let text = serde_json::to_string_pretty(&server.snapshot()).map_err(|e| fail(Box::new(e)))?;
    kubeconfig::write_private(path, &text).map_err(|e| fail(Box::new(e)))
}

async fn save_periodically(server: ApiServer, path: PathBuf) {
    let mut saved_at = server.resource_version();
    let mut tick = tokio::time::interval(SAVE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = server.resource_version();
        if now == saved_at {
            continue;
        }
        match save_state(&server, &path) {
            Ok(()) => saved_at = now,
            Err(error) => {
                tracing::warn!(error = %crate::sandbox::error_chain(&error), "state not saved")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_non_loopback_addresses() {
        let config = SandboxConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 0)),
            ..SandboxConfig::for_tests()
        };
        let error = Sandbox::start(config).await.err();
        assert!(
            matches!(error, Some(SandboxError::NotLoopback { .. })),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn state_file_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("sso-sandbox-{}", fastrand::u64(..)));
        let state = dir.join("state.json");
        let config = SandboxConfig {
            state_file: Some(state.clone()),
            ..SandboxConfig::for_tests()
        };
        let first = Sandbox::start(config.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let created = first.apiserver().ensure_namespace("kept");
        assert!(created.is_ok());
        let rv = first.apiserver().resource_version();
        assert!(first.stop().await.is_ok());

        let second = Sandbox::start(config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            second
                .apiserver()
                .object("", "namespaces", None, "kept")
                .is_some()
        );
        assert!(second.apiserver().resource_version() >= rv);
        let crds = second
            .apiserver()
            .objects("apiextensions.k8s.io", "customresourcedefinitions");
        assert_eq!(crds.len(), crate::crd::all_crds().len());
        drop(second);
        let _ = std::fs::remove_dir_all(dir);
    }
}
