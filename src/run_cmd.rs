//! `run`: the controllers against a real cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::coordination::v1::Lease;

use crate::admin::{self, AdminState};
use crate::cli::RunArgs;
use crate::controller::clients::ClientPool;
use crate::controller::{self, Context, OperatorConfig, Scope};
use crate::lease::{LeaderElector, LeaseSettings};
use crate::scaleway::{ClientConfig, Credentials, RateLimiter, SecretString, check_region};
use kube::Api;

/// Why `run` stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("cannot reach Kubernetes: {0}")]
    Kube(#[source] kube::Error),
    /// A bad flag or environment value.
    #[error("{0}")]
    Config(String),
    /// The controllers could not start.
    #[error(transparent)]
    Start(#[from] controller::StartError),
}

/// Starts the controllers with the current kubeconfig or in-cluster config.
pub async fn run(args: RunArgs) -> Result<(), RunError> {
    check_region(&args.region).map_err(|e| RunError::Config(e.to_string()))?;
    let kube = kube::Client::try_default().await.map_err(RunError::Kube)?;
    let credentials = match Credentials::from_environment() {
        Ok(credentials) => Some(credentials),
        Err(error) => {
            tracing::warn!(%error, "no default Scaleway credentials: only ServerlessNamespaces with a credentials Secret will work");
            None
        }
    };
    let secret_key = credentials
        .as_ref()
        .map(|c| c.secret_key.clone())
        .unwrap_or_else(|| SecretString::new(""));
    let api_url = credentials
        .as_ref()
        .and_then(|c| c.api_url.clone())
        .unwrap_or(args.api_url);
    let project = args.default_project_id.or_else(|| {
        credentials
            .as_ref()
            .and_then(|c| c.default_project_id.clone())
    });
    let config = OperatorConfig {
        default_region: args.region,
        resync_period: args.resync_period,
        kind_resync_periods: args.kind_resync_period.into_iter().collect(),
        default_deletion_policy: args.default_deletion_policy,
        concurrency: args.concurrency.max(1),
        ..OperatorConfig::default()
    };
    let clients = ClientPool::new(
        ClientConfig::new(secret_key).with_api_url(api_url),
        project,
        credentials.is_some(),
        config.digest_key.clone(),
    )
    .map_err(|e| RunError::Config(e.to_string()))?
    .with_rate_limiter(RateLimiter::new(
        args.scaleway_rate_limit,
        args.scaleway_burst,
    ));
    let scope = args
        .watch_namespace
        .map(Scope::Namespace)
        .unwrap_or_default();
    let ctx = Arc::new(Context::new(kube.clone(), clients, config));
    let ready = Arc::new(AtomicBool::new(false));
    let admin_state = AdminState {
        metrics: ctx.metrics.clone(),
        ready: ready.clone(),
    };
    let admin_addr = args.admin_listen;
    let admin = tokio::spawn(async move {
        if let Err(error) = admin::serve(admin_addr, admin_state).await {
            tracing::error!(%error, "admin server stopped");
        }
    });

    // Ready means able to work: a standby waiting for the Lease is ready too, so rolling
    // updates and `helm --wait` proceed while only the leader reconciles.
    ready.store(true, Ordering::SeqCst);
    let mut leading = None;
    if args.leader_elect {
        let settings = LeaseSettings::with_defaults(
            args.lease_name,
            args.lease_namespace.clone(),
            args.pod_name
                .unwrap_or_else(|| format!("scaleway-serverless-operator-{}", fastrand::u32(..))),
        );
        let leases: Api<Lease> = Api::namespaced(kube, &args.lease_namespace);
        let mut elector = LeaderElector::new(leases.clone(), settings.clone());
        tokio::select! {
            () = elector.acquire() => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        // Renewals run in a task of their own, so that busy controllers cannot delay them.
        let held = tokio::spawn(async move { elector.hold().await });
        leading = Some((held, LeaderElector::new(leases, settings)));
    }

    let controllers = controller::run(ctx, scope);
    let outcome = match leading.as_mut() {
        // Leading ends when the Lease is lost: the controllers are dropped mid-flight (every
        // step is idempotent), before a standby may start.
        Some((held, _)) => tokio::select! {
            result = controllers => result.map_err(RunError::from),
            lost = held => Err(RunError::Config(format!(
                "lost the leader lease ({}); exiting so that Kubernetes restarts this replica",
                lost.map_or_else(|e| e.to_string(), |lost| format!("{lost:?}"))
            ))),
        },
        None => controllers.await.map_err(RunError::from),
    };
    if let Some((held, releaser)) = leading {
        held.abort();
        let _ = held.await;
        releaser.release().await;
    }
    admin.abort();
    outcome
}
