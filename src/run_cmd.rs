//! `run`: the controllers against a real cluster.

use std::sync::Arc;

use crate::cli::RunArgs;
use crate::controller::clients::ClientPool;
use crate::controller::{self, Context, OperatorConfig, Scope};
use crate::scaleway::{ClientConfig, Credentials, SecretString, check_region};

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
    let secret_key = credentials.as_ref().map(|c| c.secret_key.clone()).unwrap_or_else(|| SecretString::new(""));
    let api_url = credentials.as_ref().and_then(|c| c.api_url.clone()).unwrap_or(args.api_url);
    let project = args.default_project_id.or_else(|| credentials.as_ref().and_then(|c| c.default_project_id.clone()));
    let config = OperatorConfig { default_region: args.region, resync_period: args.resync_period, ..OperatorConfig::default() };
    let clients = ClientPool::new(
        ClientConfig::new(secret_key).with_api_url(api_url),
        project,
        credentials.is_some(),
        config.digest_key.clone(),
    )
    .map_err(|e| RunError::Config(e.to_string()))?;
    let scope = args.watch_namespace.map(Scope::Namespace).unwrap_or_default();
    let ctx = Arc::new(Context::new(kube, clients, config));
    controller::run(ctx, scope).await?;
    Ok(())
}
