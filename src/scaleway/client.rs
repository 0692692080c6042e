//! The HTTP core of the Scaleway client: authentication, timeouts, retries with backoff and
//! jitter for idempotent calls, error mapping, and call accounting by route template.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::error::{self, Error, Route};
use super::rate_limit::RateLimiter;
use super::{DEFAULT_API_URL, SecretString};

/// How failed idempotent calls are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time (full jitter applied).
    pub base_delay: Duration,
    /// Longest single backoff, and longest `Retry-After` the client will sleep through; a
    /// longer one is returned to the caller as `RateLimited` instead.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential backoff before retry number `retry` (1-based).
    fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Settings of a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// API base URL, without trailing slash.
    pub api_url: String,
    /// Secret key sent as `X-Auth-Token`.
    pub secret_key: SecretString,
    /// Time limit of one HTTP attempt, connection included.
    pub request_timeout: Duration,
    /// Time limit to open a connection.
    pub connect_timeout: Duration,
    /// Retries of idempotent calls.
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// Settings for the public API with the given secret key.
    pub fn new(secret_key: SecretString) -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            secret_key,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }

    /// The same settings against another base URL (an emulator, a proxy).
    pub fn with_api_url(mut self, api_url: impl Into<String>) -> Self {
        self.api_url = api_url.into().trim_end_matches('/').to_owned();
        self
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The HTTP client could not be set up (TLS provider missing, bad proxy settings).
    #[error("cannot build the HTTP client for Scaleway")]
    Http(#[source] reqwest::Error),
}

/// Counts of calls made, by route template and outcome, for tests, benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CallStats {
    calls: Mutex<BTreeMap<(Route, u16), u64>>,
    retries: Mutex<BTreeMap<Route, u64>>,
}

impl CallStats {
    fn record(&self, route: Route, status: u16) {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry((route, status)).or_default() += 1;
        }
    }

    fn record_retry(&self, route: Route) {
        if let Ok(mut retries) = self.retries.lock() {
            *retries.entry(route).or_default() += 1;
        }
    }

    /// Attempts by route template and HTTP status (0 = no answer).
    pub fn calls(&self) -> BTreeMap<(Route, u16), u64> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// All attempts made, retries included.
    pub fn total(&self) -> u64 {
        self.calls().values().sum()
    }

    /// Attempts on one route template, any status.
    pub fn on_route(&self, route: &str) -> u64 {
        self.calls()
            .iter()
            .filter(|((r, _), _)| *r == route)
            .map(|(_, n)| n)
            .sum()
    }

    /// Retries by route template.
    pub fn retries(&self) -> BTreeMap<Route, u64> {
        self.retries.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// A Scaleway API client. Cheap to clone: clones share the connection pool, the stats and
/// the rate limiter.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    api_url: Arc<str>,
    secret_key: SecretString,
    request_timeout: Duration,
    retry: RetryPolicy,
    stats: Arc<CallStats>,
    limiter: RateLimiter,
}

/// A request: its route template, the concrete path, its query and its body.
pub(crate) struct Call<'a, B: Serialize> {
    pub method: Method,
    pub route: Route,
    pub path: String,
    pub query: Option<&'a (dyn erased::Query + Sync)>,
    pub body: Option<&'a B>,
}

/// An upload to a presigned object-storage URL: not a Scaleway API call, so no
/// `X-Auth-Token` and no API rate limit.
pub(crate) struct PresignedPut<'a> {
    /// Route template it is accounted under.
    pub route: Route,
    /// The presigned URL, signature included. Never logged or put in an error.
    pub url: &'a str,
    /// Headers the URL was signed with.
    pub headers: reqwest::header::HeaderMap,
    /// The bytes to store (cheap to clone for a retry).
    pub body: bytes::Bytes,
}

/// Upload throughput assumed when sizing the time limit of a presigned PUT: 1 MiB/s on top
/// of the request timeout (a 100 MiB archive gets 100 s more).
const UPLOAD_BYTES_PER_SEC: u64 = 1 << 20;

/// Query strings of any serialisable filter, behind one object-safe trait.
pub(crate) mod erased {
    /// A value that can be appended to a URL as a query string.
    pub trait Query {
        /// Appends `self` to the request's query.
        fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder;
    }

    impl<T: serde::Serialize> Query for T {
        fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
            request.query(self)
        }
    }
}

impl Client {
    /// Builds a client. The process must have installed a rustls crypto provider first
    /// (`crate::install_crypto_provider`).
    pub fn new(config: ClientConfig) -> Result<Self, BuildError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(32)
            .user_agent(concat!(
                "scaleway-serverless-operator/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(BuildError::Http)?;
        Ok(Self {
            http,
            api_url: config.api_url.trim_end_matches('/').into(),
            secret_key: config.secret_key,
            request_timeout: config.request_timeout,
            retry: config.retry,
            stats: Arc::default(),
            limiter: RateLimiter::unlimited(),
        })
    }

    /// The base URL calls go to.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Call accounting shared by this client and its clones.
    pub fn stats(&self) -> &Arc<CallStats> {
        &self.stats
    }

    /// The same client, counting its calls into `stats` (to share one account between the
    /// clients of several credentials).
    pub fn with_stats(mut self, stats: Arc<CallStats>) -> Self {
        self.stats = stats;
        self
    }

    /// The rate limiter this client's calls wait for.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The same client, under `limiter` (to share one limit between the clients of several
    /// credentials). A client is unlimited until given one.
    pub fn with_rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = limiter;
        self
    }

    /// Sends a call, retrying it when it is idempotent and the failure allows, and decodes
    /// the answer.
    pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        call: Call<'_, B>,
    ) -> Result<T, Error> {
        // POST is the only non-idempotent method the API uses (create and redeploy): a lost
        // answer to a create must not become two resources, so it is never retried here.
        let idempotent = call.method != Method::POST;
        let span = tracing::debug_span!(
            "scaleway",
            route = call.route,
            status = tracing::field::Empty
        );
        async {
            let mut attempt = 1;
            loop {
                // Every attempt, retries included, waits for the shared limiter; a 429
                // slows it down for every client of the operator.
                let permit = self.limiter.acquire().await;
                let result = self.attempt(&call).await;
                let Err(error) = result else { return result };
                if let Error::RateLimited { retry_after, .. } = &error {
                    self.limiter.throttled(&permit, *retry_after);
                }
                let Some(delay) = self.retry_delay(&error, idempotent, attempt) else {
                    return Err(error);
                };
                tracing::debug!(
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    reason = error.reason(),
                    "retrying"
                );
                self.stats.record_retry(call.route);
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
        .instrument(span)
        .await
    }

    /// How long to wait before retrying, or `None` to give up.
    fn retry_delay(&self, error: &Error, idempotent: bool, attempt: u32) -> Option<Duration> {
        if !idempotent || attempt >= self.retry.max_attempts {
            return None;
        }
        match error {
            Error::RateLimited {
                retry_after: Some(after),
                ..
            } => (*after <= self.retry.max_delay).then_some(*after),
            Error::RateLimited {
                retry_after: None, ..
            }
            | Error::Server { .. }
            | Error::Transport { .. }
            | Error::Timeout { .. } => Some(self.retry.backoff(attempt)),
            _ => None,
        }
    }

    /// PUTs bytes to a presigned URL. Retried like an idempotent API call (PUT of the same
    /// bytes to the same key is idempotent): 5xx, 429, transport errors and timeouts, until
    /// the URL expires (then 403, terminal). Neither the URL nor its query string appears in
    /// logs or errors. The API rate limiter is not consulted: object storage is another
    /// service with its own limits.
    pub(crate) async fn put_presigned(&self, put: PresignedPut<'_>) -> Result<(), Error> {
        let route = put.route;
        let url = reqwest::Url::parse(put.url).map_err(|_| Error::UnexpectedResponse {
            route,
            status: 0,
            detail: "the presigned URL is not a valid URL".into(),
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(Error::UnexpectedResponse {
                route,
                status: 0,
                detail: format!("the presigned URL has scheme {:?}", url.scheme()),
            });
        }
        let secrets: Vec<String> = url.query_pairs().map(|(_, v)| v.into_owned()).collect();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let size = put.body.len() as u64;
        let timeout =
            self.request_timeout + Duration::from_secs(size.div_ceil(UPLOAD_BYTES_PER_SEC));
        let span = tracing::debug_span!(
            "scaleway",
            route,
            bytes = size,
            status = tracing::field::Empty
        );
        async {
            let mut attempt = 1;
            loop {
                let request = self
                    .http
                    .put(url.clone())
                    .headers(put.headers.clone())
                    .timeout(timeout)
                    .body(put.body.clone());
                let result = self.put_attempt(route, request, &secrets).await;
                let Err(error) = result else { return result };
                let Some(delay) = self.retry_delay(&error, true, attempt) else {
                    return Err(error);
                };
                tracing::debug!(
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    reason = error.reason(),
                    "retrying"
                );
                self.stats.record_retry(route);
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
        .instrument(span)
        .await
    }

    async fn put_attempt(
        &self,
        route: Route,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<(), Error> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(source) => {
                self.stats.record(route, 0);
                return Err(if source.is_timeout() {
                    Error::Timeout { route }
                } else {
                    Error::Transport {
                        route,
                        source: source.without_url(),
                    }
                });
            }
        };
        let status = response.status().as_u16();
        self.stats.record(route, status);
        tracing::Span::current().record("status", status);
        if (200..300).contains(&status) {
            return Ok(());
        }
        let retry_after = error::parse_retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        // The body only feeds the error message: an unreadable one is no reason to hide
        // the status.
        let bytes = response.bytes().await.unwrap_or_default();
        Err(error::from_storage_response(
            route,
            status,
            retry_after,
            &bytes,
            secrets,
        ))
    }

    async fn attempt<B: Serialize, T: DeserializeOwned>(
        &self,
        call: &Call<'_, B>,
    ) -> Result<T, Error> {
        let route = call.route;
        let url = format!("{}{}", self.api_url, call.path);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .header("X-Auth-Token", self.secret_key.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(query) = call.query {
            request = query.apply(request);
        }
        if let Some(body) = call.body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(source) => {
                self.stats.record(route, 0);
                return Err(if source.is_timeout() {
                    Error::Timeout { route }
                } else {
                    Error::Transport {
                        route,
                        source: source.without_url(),
                    }
                });
            }
        };
        let status = response.status().as_u16();
        self.stats.record(route, status);
        tracing::Span::current().record("status", status);
        let retry_after = error::parse_retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(source) if source.is_timeout() => return Err(Error::Timeout { route }),
            Err(source) => {
                return Err(Error::Transport {
                    route,
                    source: source.without_url(),
                });
            }
        };
        if !(200..300).contains(&status) {
            return Err(error::from_response(route, status, retry_after, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::UnexpectedResponse {
            route,
            status,
            detail: format!("cannot decode the body: {e}"),
        })
    }
}

/// Percent-encodes one path segment (IDs and regions are plain, but a user-supplied value
/// must never be able to change the path).
pub(crate) fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..200 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(3) <= Duration::from_millis(400));
            assert!(policy.backoff(30) <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(segment("fr-par"), "fr-par");
        assert_eq!(segment("../x/y?z"), "..%2Fx%2Fy%3Fz");
    }

    #[test]
    fn debug_of_a_client_does_not_show_the_key() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::new(ClientConfig::new(SecretString::new("very-secret-key")));
        let shown = format!("{client:?}");
        assert!(!shown.contains("very-secret-key"), "{shown}");
    }
}
