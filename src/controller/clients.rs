//! Scaleway clients by credentials: the operator's own, and one per credentials Secret
//! (multi-tenant clusters), each reused so that connections are pooled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::error::Error;
use super::secrets::SecretReader;
use crate::scaleway::{CallStats, Client, ClientConfig, RateLimiter, SecretString};

/// Keys read from a credentials Secret.
pub const SECRET_KEY: &str = "SCW_SECRET_KEY";
/// Optional project key of a credentials Secret.
pub const PROJECT_KEY: &str = "SCW_DEFAULT_PROJECT_ID";

/// A client plus the project it defaults to.
#[derive(Clone, Debug)]
pub struct Scoped {
    /// The client.
    pub client: Client,
    /// Project new namespaces go to when a spec names none.
    pub default_project_id: Option<String>,
    /// A short stable identity of the credentials, to key caches (never the key itself).
    pub identity: String,
}

/// Builds and keeps clients.
#[derive(Debug)]
pub struct ClientPool {
    default: Option<Scoped>,
    template: ClientConfig,
    digest_key: Vec<u8>,
    by_key: Mutex<HashMap<String, Client>>,
    stats: Arc<CallStats>,
    limiter: RateLimiter,
}

impl ClientPool {
    /// A pool whose default client uses `template` (None when the operator has no default
    /// credentials, so every ServerlessNamespace must name a credentials Secret).
    pub fn new(
        template: ClientConfig,
        default_project_id: Option<String>,
        has_default: bool,
        digest_key: Vec<u8>,
    ) -> Result<Self, Error> {
        let stats = Arc::new(CallStats::default());
        let default = if has_default {
            let client = Client::new(template.clone())
                .map_err(|e| Error::Credentials(e.to_string()))?
                .with_stats(stats.clone());
            Some(Scoped {
                client,
                default_project_id,
                identity: "default".into(),
            })
        } else {
            None
        };
        Ok(Self {
            default,
            template,
            digest_key,
            by_key: Mutex::new(HashMap::new()),
            stats,
            limiter: RateLimiter::unlimited(),
        })
    }

    /// The same pool, every client of it (the default one and those built for credentials
    /// Secrets) under one shared `limiter`: one limit for the whole operator process. A pool
    /// is unlimited until given one.
    pub fn with_rate_limiter(mut self, limiter: RateLimiter) -> Self {
        if let Some(default) = self.default.as_mut() {
            default.client = default.client.clone().with_rate_limiter(limiter.clone());
        }
        if let Ok(clients) = self.by_key.get_mut() {
            for client in clients.values_mut() {
                *client = client.clone().with_rate_limiter(limiter.clone());
            }
        }
        self.limiter = limiter;
        self
    }

    /// The limiter every client of the pool shares.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The operator's own credentials.
    pub fn default_scope(&self) -> Result<Scoped, Error> {
        self.default.clone().ok_or_else(|| {
            Error::Credentials("the operator has no default Scaleway credentials (SCW_SECRET_KEY); name a credentials Secret in the ServerlessNamespace".into())
        })
    }

    /// The credentials of a Secret (keys `SCW_SECRET_KEY`, optional `SCW_DEFAULT_PROJECT_ID`).
    pub async fn from_secret(
        &self,
        reader: &mut SecretReader,
        secret_name: &str,
    ) -> Result<Scoped, Error> {
        let secret_key = reader
            .optional(secret_name, SECRET_KEY)
            .await?
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                Error::Credentials(format!("Secret {secret_name} has no {SECRET_KEY} key"))
            })?;
        let project = reader
            .optional(secret_name, PROJECT_KEY)
            .await?
            .map(|p| p.expose().to_owned());
        let identity = self.identity_of(&secret_key);
        let client = {
            let mut clients = self
                .by_key
                .lock()
                .map_err(|_| Error::Credentials("client pool poisoned".into()))?;
            if let Some(client) = clients.get(&identity) {
                client.clone()
            } else {
                let mut config = self.template.clone();
                config.secret_key = secret_key;
                let client = Client::new(config)
                    .map_err(|e| Error::Credentials(e.to_string()))?
                    .with_stats(self.stats.clone())
                    .with_rate_limiter(self.limiter.clone());
                clients.insert(identity.clone(), client.clone());
                client
            }
        };
        Ok(Scoped {
            client,
            default_project_id: project,
            identity,
        })
    }

    /// Scaleway calls made by every client of the pool.
    pub fn stats(&self) -> &Arc<CallStats> {
        &self.stats
    }

    fn identity_of(&self, secret_key: &SecretString) -> String {
        let values = [("key".to_owned(), secret_key.clone())]
            .into_iter()
            .collect();
        super::secrets::digest(&self.digest_key, &values).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_client_of_the_pool_shares_one_limiter() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let template = ClientConfig::new(SecretString::new("default-key"));
        let unlimited = ClientPool::new(template.clone(), None, true, b"digest".to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !unlimited.rate_limiter().is_limited(),
            "unlimited by default"
        );
        let pool = ClientPool::new(template, None, true, b"digest".to_vec())
            .unwrap_or_else(|e| panic!("{e}"))
            .with_rate_limiter(RateLimiter::new(10.0, 1));
        let default = pool.default_scope().unwrap_or_else(|e| panic!("{e}"));
        let permit = default.client.rate_limiter().acquire().await;
        default.client.rate_limiter().throttled(&permit, None);
        assert_eq!(pool.rate_limiter().current_rate(), Some(5.0));
        assert_eq!(pool.rate_limiter().throttled_total(), 1);
    }
}
