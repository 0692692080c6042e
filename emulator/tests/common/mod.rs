//! Shared helpers of the emulator integration tests: a started emulator and a small JSON
//! client over plain HTTP.
#![allow(dead_code)] // each test binary uses a different subset

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use scaleway_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};

/// A project ID used by most tests.
pub const PROJECT: &str = "11111111-2222-4333-8444-555555555555";
/// Another project ID.
pub const OTHER_PROJECT: &str = "99999999-2222-4333-8444-555555555555";
/// Token sent by [`Api`].
pub const TOKEN: &str = "test-secret-key";
/// Generous deadline for any wait (the machine may be busy compiling).
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A started emulator and a client for it.
pub struct Api {
    pub running: RunningEmulator,
    pub client: reqwest::Client,
    pub token: Option<String>,
    /// API prefix of [`Api::url`].
    pub prefix: &'static str,
}

/// Prefix of the Containers v1 API in region fr-par.
pub const CONTAINERS: &str = "/containers/v1/regions/fr-par";
/// Prefix of the Functions v1beta1 API in region fr-par.
pub const FUNCTIONS: &str = "/functions/v1beta1/regions/fr-par";

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Api {
    /// An emulator with the given delays (other settings default).
    pub async fn with_delays(transition_ms: u64, delete_ms: u64) -> Self {
        Self::start(EmulatorConfig {
            transition_delay: Duration::from_millis(transition_ms),
            delete_delay: Duration::from_millis(delete_ms),
            ..EmulatorConfig::default()
        })
        .await
    }

    /// An emulator with this configuration.
    pub async fn start(config: EmulatorConfig) -> Self {
        let running = Emulator::start(config).await.expect("emulator starts");
        // Already installed is fine (several tests per process).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().build().expect("client builds");
        Self {
            running,
            client,
            token: Some(TOKEN.to_owned()),
            prefix: CONTAINERS,
        }
    }

    /// The same emulator, addressed through the Functions v1beta1 API.
    pub fn functions(mut self) -> Self {
        self.prefix = FUNCTIONS;
        self
    }

    pub fn emulator(&self) -> &Emulator {
        &self.running.emulator
    }

    /// `http://127.0.0.1:PORT` + the API prefix (Containers v1 in fr-par unless
    /// [`Api::functions`]) + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.running.url(), self.prefix)
    }

    /// Sends a request to an absolute URL; panics on transport errors.
    pub async fn send_url(&self, method: Method, url: &str, body: Option<Value>) -> Answer {
        self.try_send_url(method, url, body)
            .await
            .expect("request gets an answer")
    }

    /// Sends a request to an absolute URL.
    pub async fn try_send_url(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> reqwest::Result<Answer> {
        let mut request = self.client.request(method, url);
        if let Some(token) = &self.token {
            request = request.header("X-Auth-Token", token);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json; charset=utf-8")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// A request to `url(path)`.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send_url(method, &self.url(path), body).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    /// An admin request (no token needed).
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let url = format!("{}/__emulator{path}", self.running.url());
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("admin answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Creates a namespace and returns its body (status 200 asserted).
    pub async fn create_namespace(&self, name: &str) -> Value {
        let answer = self
            .post(
                "/namespaces",
                json!({ "name": name, "project_id": PROJECT }),
            )
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }

    /// Creates a container and returns its body (status 200 asserted).
    pub async fn create_container(&self, namespace_id: &str, name: &str, image: &str) -> Value {
        let body = json!({ "namespace_id": namespace_id, "name": name, "image": image });
        let answer = self.post("/containers", body).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }

    /// Creates a cron trigger and returns its body.
    pub async fn create_cron_trigger(&self, container_id: &str, name: &str) -> Value {
        let body = json!({
            "container_id": container_id,
            "name": name,
            "cron_config": { "schedule": "*/5 * * * *", "timezone": "Europe/Paris" },
        });
        let answer = self.post("/triggers", body).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }

    /// Polls `path` until its `status` is `wanted` (returns the body) or panics at the deadline.
    pub async fn wait_status(&self, path: &str, wanted: &str) -> Value {
        let started = Instant::now();
        loop {
            let answer = self.get(path).await;
            if answer.status == 200 && answer.body["status"] == wanted {
                return answer.body;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{path} never reached {wanted}: {:?}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `path` until it answers 404 or panics at the deadline.
    pub async fn wait_gone(&self, path: &str) {
        let started = Instant::now();
        loop {
            let answer = self.get(path).await;
            if answer.status == 404 {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{path} never disappeared: {:?}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A ready namespace and a ready container in it: `(namespace, container)`.
    pub async fn ready_container(&self, namespace: &str, container: &str) -> (Value, Value) {
        let ns = self.create_namespace(namespace).await;
        let ns_id = id(&ns);
        self.wait_status(&format!("/namespaces/{ns_id}"), "ready")
            .await;
        let c = self
            .create_container(&ns_id, container, "nginx:latest")
            .await;
        let c_id = id(&c);
        let c = self
            .wait_status(&format!("/containers/{c_id}"), "ready")
            .await;
        (ns, c)
    }
}

/// The `id` field of a resource body.
pub fn id(body: &Value) -> String {
    body["id"].as_str().expect("body has an id").to_owned()
}

/// The `argument_name`s of an `invalid_arguments` body.
pub fn argument_names(body: &Value) -> Vec<String> {
    assert_eq!(body["type"], "invalid_arguments", "{body}");
    assert_eq!(body["message"], "invalid argument(s)", "{body}");
    body["details"]
        .as_array()
        .expect("details array")
        .iter()
        .map(|d| {
            d["argument_name"]
                .as_str()
                .expect("argument_name")
                .to_owned()
        })
        .collect()
}

/// The `reason` given for `argument` in an `invalid_arguments` body.
pub fn reason_for(body: &Value, argument: &str) -> String {
    body["details"]
        .as_array()
        .expect("details array")
        .iter()
        .find(|d| d["argument_name"] == argument)
        .and_then(|d| d["reason"].as_str())
        .unwrap_or_else(|| panic!("no detail for {argument}: {body}"))
        .to_owned()
}
