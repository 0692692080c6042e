//! Typed calls of the Functions API v1beta1, one per operation, bound to a region.

use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, HOST, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use super::types::*;
use crate::scaleway::api::{PageRequest, Scope, list_response};
use crate::scaleway::client::{Client, PresignedPut, segment};
use crate::scaleway::error::Error;

use super::routes::*;

list_response!(NamespaceList, Namespace, namespaces);
list_response!(FunctionList, Function, functions);
list_response!(CronList, Cron, crons);
list_response!(DomainList, Domain, domains);
list_response!(TokenList, Token, tokens);
list_response!(TriggerList, Trigger, triggers);
list_response!(RuntimeList, Runtime, runtimes);

/// Query of GetFunctionUploadURL.
#[derive(Serialize)]
struct UploadUrlQuery {
    content_length: u64,
}

/// The Functions client bound to one region: every path starts
/// `/functions/v1beta1/regions/{region}`.
#[derive(Clone, Debug)]
pub struct Functions<'a> {
    scope: Scope<'a>,
}

impl Client {
    /// Functions API calls in `region` (`fr-par`, `nl-ams`, `pl-waw`).
    pub fn functions(&self, region: &str) -> Functions<'_> {
        Functions {
            scope: Scope::new(
                self,
                format!("/functions/v1beta1/regions/{}", segment(region)),
            ),
        }
    }
}

impl Functions<'_> {
    // --- namespaces -------------------------------------------------------------------

    /// ListNamespaces, one page.
    pub async fn list_namespaces(
        &self,
        filter: &NamespaceFilter,
        page: PageRequest<ListOrder>,
    ) -> Result<Page<Namespace>, Error> {
        let path = self.scope.path("/namespaces");
        self.scope
            .list::<NamespaceList, _, _, _>(LIST_NAMESPACES, path, filter, page)
            .await
    }

    /// ListNamespaces, every page.
    pub async fn list_all_namespaces(
        &self,
        filter: &NamespaceFilter,
    ) -> Result<Vec<Namespace>, Error> {
        let path = self.scope.path("/namespaces");
        self.scope
            .list_all::<NamespaceList, _, _, _>(
                LIST_NAMESPACES,
                &path,
                filter,
                ListOrder::default(),
            )
            .await
    }

    /// CreateNamespace. Never retried: on an unknown outcome, look the namespace up by name.
    pub async fn create_namespace(
        &self,
        request: &CreateNamespaceRequest,
    ) -> Result<Namespace, Error> {
        let path = self.scope.path("/namespaces");
        self.scope
            .write(Method::POST, CREATE_NAMESPACE, path, request)
            .await
    }

    /// GetNamespace.
    pub async fn get_namespace(&self, id: &str) -> Result<Namespace, Error> {
        let path = self.scope.item("namespaces", id);
        self.scope.get(GET_NAMESPACE, path).await
    }

    /// UpdateNamespace.
    pub async fn update_namespace(
        &self,
        id: &str,
        request: &UpdateNamespaceRequest,
    ) -> Result<Namespace, Error> {
        let path = self.scope.item("namespaces", id);
        self.scope
            .write(Method::PATCH, UPDATE_NAMESPACE, path, request)
            .await
    }

    /// DeleteNamespace (destroys its functions and crons, presumably its triggers, domains
    /// and tokens too).
    pub async fn delete_namespace(&self, id: &str) -> Result<Namespace, Error> {
        let path = self.scope.item("namespaces", id);
        self.scope.delete(DELETE_NAMESPACE, path).await
    }

    // --- functions --------------------------------------------------------------------

    /// ListFunctions, one page (`namespace_id` is required).
    pub async fn list_functions(
        &self,
        filter: &FunctionFilter,
        page: PageRequest<ListOrder>,
    ) -> Result<Page<Function>, Error> {
        let path = self.scope.path("/functions");
        self.scope
            .list::<FunctionList, _, _, _>(LIST_FUNCTIONS, path, filter, page)
            .await
    }

    /// ListFunctions, every page.
    pub async fn list_all_functions(
        &self,
        filter: &FunctionFilter,
    ) -> Result<Vec<Function>, Error> {
        let path = self.scope.path("/functions");
        self.scope
            .list_all::<FunctionList, _, _, _>(LIST_FUNCTIONS, &path, filter, ListOrder::default())
            .await
    }

    /// CreateFunction. Never retried: on an unknown outcome, look the function up by name.
    /// The new function holds no code: upload an archive, then deploy.
    pub async fn create_function(
        &self,
        request: &CreateFunctionRequest,
    ) -> Result<Function, Error> {
        let path = self.scope.path("/functions");
        self.scope
            .write(Method::POST, CREATE_FUNCTION, path, request)
            .await
    }

    /// GetFunction.
    pub async fn get_function(&self, id: &str) -> Result<Function, Error> {
        let path = self.scope.item("functions", id);
        self.scope.get(GET_FUNCTION, path).await
    }

    /// UpdateFunction (redeploys unless `redeploy: Some(false)`).
    pub async fn update_function(
        &self,
        id: &str,
        request: &UpdateFunctionRequest,
    ) -> Result<Function, Error> {
        let path = self.scope.item("functions", id);
        self.scope
            .write(Method::PATCH, UPDATE_FUNCTION, path, request)
            .await
    }

    /// DeleteFunction.
    pub async fn delete_function(&self, id: &str) -> Result<Function, Error> {
        let path = self.scope.item("functions", id);
        self.scope.delete(DELETE_FUNCTION, path).await
    }

    /// DeployFunction: builds and rolls out the last uploaded archive (body `{}`); poll
    /// until `ready` or `error`. Not retried (POST).
    pub async fn deploy_function(&self, id: &str) -> Result<Function, Error> {
        let path = format!("{}/deploy", self.scope.item("functions", id));
        let empty = serde_json::Map::new();
        self.scope
            .write(Method::POST, DEPLOY_FUNCTION, path, &empty)
            .await
    }

    /// GetFunctionUploadURL: where to PUT an archive of exactly `content_length` bytes.
    pub async fn upload_url(
        &self,
        function_id: &str,
        content_length: u64,
    ) -> Result<UploadUrl, Error> {
        let path = format!("{}/upload-url", self.scope.item("functions", function_id));
        self.scope
            .get_with_query(UPLOAD_URL, path, &UploadUrlQuery { content_length })
            .await
    }

    /// GetFunctionDownloadURL: where to GET the function's current archive.
    pub async fn download_url(&self, function_id: &str) -> Result<DownloadUrl, Error> {
        let path = format!("{}/download-url", self.scope.item("functions", function_id));
        self.scope.get(DOWNLOAD_URL, path).await
    }

    /// PUTs a zip archive to the presigned URL of [`Functions::upload_url`], with the
    /// headers it came with and without the API key (it goes to object storage). Retried on
    /// 5xx, 429, transport errors and timeouts (a PUT of the same bytes is idempotent). A
    /// non-2xx answer becomes the [`Error`] variant of its status (403 `Forbidden` for an
    /// expired or bad signature). The URL's query string never appears in errors or logs.
    ///
    /// Fails before sending when the URL was issued for another `content-length` than the
    /// archive's, since the signature would not match.
    pub async fn upload_archive(
        &self,
        upload: &UploadUrl,
        archive: impl Into<bytes::Bytes>,
    ) -> Result<(), Error> {
        let body = archive.into();
        let headers = presigned_headers(upload, body.len() as u64)?;
        self.scope
            .client()
            .put_presigned(PresignedPut {
                route: UPLOAD_ARCHIVE,
                url: upload.url.expose(),
                headers,
                body,
            })
            .await
    }

    /// ListFunctionRuntimes (not paginated).
    pub async fn list_runtimes(&self) -> Result<Vec<Runtime>, Error> {
        let path = self.scope.path("/runtimes");
        let list: RuntimeList = self.scope.get(LIST_RUNTIMES, path).await?;
        Ok(list.runtimes)
    }

    // --- crons ------------------------------------------------------------------------

    /// ListCrons, one page (`function_id` is required).
    pub async fn list_crons(
        &self,
        filter: &CronFilter,
        page: PageRequest<CreatedOrder>,
    ) -> Result<Page<Cron>, Error> {
        let path = self.scope.path("/crons");
        self.scope
            .list::<CronList, _, _, _>(LIST_CRONS, path, filter, page)
            .await
    }

    /// ListCrons, every page.
    pub async fn list_all_crons(&self, filter: &CronFilter) -> Result<Vec<Cron>, Error> {
        let path = self.scope.path("/crons");
        self.scope
            .list_all::<CronList, _, _, _>(LIST_CRONS, &path, filter, CreatedOrder::default())
            .await
    }

    /// CreateCron. Never retried.
    pub async fn create_cron(&self, request: &CreateCronRequest) -> Result<Cron, Error> {
        let path = self.scope.path("/crons");
        self.scope
            .write(Method::POST, CREATE_CRON, path, request)
            .await
    }

    /// GetCron.
    pub async fn get_cron(&self, id: &str) -> Result<Cron, Error> {
        let path = self.scope.item("crons", id);
        self.scope.get(GET_CRON, path).await
    }

    /// UpdateCron (every field can change, the function included).
    pub async fn update_cron(&self, id: &str, request: &UpdateCronRequest) -> Result<Cron, Error> {
        let path = self.scope.item("crons", id);
        self.scope
            .write(Method::PATCH, UPDATE_CRON, path, request)
            .await
    }

    /// DeleteCron.
    pub async fn delete_cron(&self, id: &str) -> Result<Cron, Error> {
        let path = self.scope.item("crons", id);
        self.scope.delete(DELETE_CRON, path).await
    }

    // --- domains ----------------------------------------------------------------------

    /// ListDomains, one page (`function_id` is required).
    pub async fn list_domains(
        &self,
        filter: &DomainFilter,
        page: PageRequest<DomainListOrder>,
    ) -> Result<Page<Domain>, Error> {
        let path = self.scope.path("/domains");
        self.scope
            .list::<DomainList, _, _, _>(LIST_DOMAINS, path, filter, page)
            .await
    }

    /// ListDomains, every page.
    pub async fn list_all_domains(&self, filter: &DomainFilter) -> Result<Vec<Domain>, Error> {
        let path = self.scope.path("/domains");
        self.scope
            .list_all::<DomainList, _, _, _>(
                LIST_DOMAINS,
                &path,
                filter,
                DomainListOrder::default(),
            )
            .await
    }

    /// CreateDomain. Never retried. Domains have no update.
    pub async fn create_domain(&self, request: &CreateDomainRequest) -> Result<Domain, Error> {
        let path = self.scope.path("/domains");
        self.scope
            .write(Method::POST, CREATE_DOMAIN, path, request)
            .await
    }

    /// GetDomain.
    pub async fn get_domain(&self, id: &str) -> Result<Domain, Error> {
        let path = self.scope.item("domains", id);
        self.scope.get(GET_DOMAIN, path).await
    }

    /// DeleteDomain.
    pub async fn delete_domain(&self, id: &str) -> Result<Domain, Error> {
        let path = self.scope.item("domains", id);
        self.scope.delete(DELETE_DOMAIN, path).await
    }

    // --- tokens -----------------------------------------------------------------------

    /// ListTokens, one page. Listed tokens never carry their value.
    pub async fn list_tokens(
        &self,
        filter: &TokenFilter,
        page: PageRequest<CreatedOrder>,
    ) -> Result<Page<Token>, Error> {
        let path = self.scope.path("/tokens");
        self.scope
            .list::<TokenList, _, _, _>(LIST_TOKENS, path, filter, page)
            .await
    }

    /// ListTokens, every page.
    pub async fn list_all_tokens(&self, filter: &TokenFilter) -> Result<Vec<Token>, Error> {
        let path = self.scope.path("/tokens");
        self.scope
            .list_all::<TokenList, _, _, _>(LIST_TOKENS, &path, filter, CreatedOrder::default())
            .await
    }

    /// CreateToken. **Deprecated upstream** in favour of IAM authentication (an IAM API
    /// key in `X-Auth-Token` also calls private functions); kept for existing setups.
    /// The answer is the only one that carries the token value (`Token::token`): it cannot
    /// be read again. Never retried: a lost answer leaves a token nobody can read, which
    /// the caller should find (by description) and delete.
    pub async fn create_token(&self, request: &CreateTokenRequest) -> Result<Token, Error> {
        let path = self.scope.path("/tokens");
        self.scope
            .write(Method::POST, CREATE_TOKEN, path, request)
            .await
    }

    /// GetToken (without the value).
    pub async fn get_token(&self, id: &str) -> Result<Token, Error> {
        let path = self.scope.item("tokens", id);
        self.scope.get(GET_TOKEN, path).await
    }

    /// DeleteToken: revokes the token. Tokens have no update.
    pub async fn delete_token(&self, id: &str) -> Result<Token, Error> {
        let path = self.scope.item("tokens", id);
        self.scope.delete(DELETE_TOKEN, path).await
    }

    // --- triggers ---------------------------------------------------------------------

    /// ListTriggers, one page.
    pub async fn list_triggers(
        &self,
        filter: &TriggerFilter,
        page: PageRequest<CreatedOrder>,
    ) -> Result<Page<Trigger>, Error> {
        let path = self.scope.path("/triggers");
        self.scope
            .list::<TriggerList, _, _, _>(LIST_TRIGGERS, path, filter, page)
            .await
    }

    /// ListTriggers, every page.
    pub async fn list_all_triggers(&self, filter: &TriggerFilter) -> Result<Vec<Trigger>, Error> {
        let path = self.scope.path("/triggers");
        self.scope
            .list_all::<TriggerList, _, _, _>(LIST_TRIGGERS, &path, filter, CreatedOrder::default())
            .await
    }

    /// CreateTrigger. Never retried: on an unknown outcome, look the trigger up by name.
    pub async fn create_trigger(&self, request: &CreateTriggerRequest) -> Result<Trigger, Error> {
        let path = self.scope.path("/triggers");
        self.scope
            .write(Method::POST, CREATE_TRIGGER, path, request)
            .await
    }

    /// GetTrigger.
    pub async fn get_trigger(&self, id: &str) -> Result<Trigger, Error> {
        let path = self.scope.item("triggers", id);
        self.scope.get(GET_TRIGGER, path).await
    }

    /// UpdateTrigger (name and description only).
    pub async fn update_trigger(
        &self,
        id: &str,
        request: &UpdateTriggerRequest,
    ) -> Result<Trigger, Error> {
        let path = self.scope.item("triggers", id);
        self.scope
            .write(Method::PATCH, UPDATE_TRIGGER, path, request)
            .await
    }

    /// DeleteTrigger.
    pub async fn delete_trigger(&self, id: &str) -> Result<Trigger, Error> {
        let path = self.scope.item("triggers", id);
        self.scope.delete(DELETE_TRIGGER, path).await
    }
}

/// The headers of a presigned upload, as `reqwest` takes them. `host` and `content-length`
/// are left to the HTTP client (which derives both), after checking that the declared length
/// is the archive's.
fn presigned_headers(upload: &UploadUrl, size: u64) -> Result<HeaderMap, Error> {
    let invalid = |detail: String| Error::UnexpectedResponse {
        route: UPLOAD_URL,
        status: 200,
        detail,
    };
    let mut headers = HeaderMap::new();
    for (name, values) in &upload.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("invalid header name {name:?} in the upload URL")))?;
        let values = values.as_deref().unwrap_or_default();
        if header == CONTENT_LENGTH {
            if let Some(declared) = values.iter().find(|v| v.trim() != size.to_string()) {
                return Err(Error::InvalidArgument {
                    route: UPLOAD_ARCHIVE,
                    message: format!(
                        "the archive is {size} bytes but the upload URL was issued for {declared}"
                    ),
                    details: Vec::new(),
                });
            }
            continue;
        }
        if header == HOST {
            continue;
        }
        for value in values {
            let value = HeaderValue::from_str(value).map_err(|_| {
                invalid(format!(
                    "invalid value of header {name:?} in the upload URL"
                ))
            })?;
            headers.append(header.clone(), value);
        }
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::scaleway::{ClientConfig, RetryPolicy, Route, SecretString};

    const API_KEY: &str = "api-secret-key-value";

    /// One request as the test server saw it.
    #[derive(Clone, Debug)]
    struct Seen {
        method: String,
        path: String,
        query: String,
        headers: http::HeaderMap,
        body: Vec<u8>,
    }

    impl Seen {
        fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).unwrap_or_default()
        }
    }

    type Reply = Arc<dyn Fn(&Seen) -> (u16, String) + Send + Sync>;

    /// A loopback HTTP server that records every request and answers with `reply`.
    struct TestServer {
        url: String,
        seen: Arc<Mutex<Vec<Seen>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl TestServer {
        async fn start(reply: Reply) -> Self {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let record = seen.clone();
            let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
                let record = record.clone();
                let reply = reply.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = axum::body::to_bytes(body, usize::MAX)
                        .await
                        .unwrap_or_default();
                    let seen = Seen {
                        method: parts.method.to_string(),
                        path: parts.uri.path().to_owned(),
                        query: parts.uri.query().unwrap_or_default().to_owned(),
                        headers: parts.headers,
                        body: body.to_vec(),
                    };
                    let (status, text) = reply(&seen);
                    if let Ok(mut all) = record.lock() {
                        all.push(seen);
                    }
                    let content_type = if text.starts_with('<') {
                        "application/xml"
                    } else {
                        "application/json"
                    };
                    (
                        http::StatusCode::from_u16(status)
                            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
                        [(http::header::CONTENT_TYPE, content_type)],
                        text,
                    )
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Self {
                url: format!("http://{addr}"),
                seen,
                task,
            }
        }

        fn client(&self) -> Client {
            crate::install_crypto_provider();
            let mut config =
                ClientConfig::new(SecretString::new(API_KEY)).with_api_url(self.url.clone());
            config.retry = RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            };
            Client::new(config).unwrap_or_else(|e| panic!("{e}"))
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().map(|s| s.clone()).unwrap_or_default()
        }

        fn last(&self) -> Seen {
            self.seen()
                .pop()
                .unwrap_or_else(|| panic!("no request reached the server"))
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// One body every typed answer can read (unknown fields are ignored).
    fn any_resource(_: &Seen) -> (u16, String) {
        let body = serde_json::json!({"id": "x", "total_count": 0,
            "url": "http://127.0.0.1:1/bucket/fn.zip?X-Amz-Signature=s", "headers": {}});
        (200, body.to_string())
    }

    fn ok<T>(result: Result<T, Error>) -> T {
        result.unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn every_operation_uses_its_method_path_and_route() {
        let server = TestServer::start(Arc::new(any_resource)).await;
        let client = server.client();
        let api = client.functions("fr-par");
        let p = "/functions/v1beta1/regions/fr-par";
        let page = PageRequest::default();
        let checks: Vec<(&str, String, Route)> = vec![
            ("GET", format!("{p}/namespaces"), LIST_NAMESPACES),
            ("POST", format!("{p}/namespaces"), CREATE_NAMESPACE),
            ("GET", format!("{p}/namespaces/n%2F1"), GET_NAMESPACE),
            ("PATCH", format!("{p}/namespaces/n1"), UPDATE_NAMESPACE),
            ("DELETE", format!("{p}/namespaces/n1"), DELETE_NAMESPACE),
            ("GET", format!("{p}/functions"), LIST_FUNCTIONS),
            ("POST", format!("{p}/functions"), CREATE_FUNCTION),
            ("GET", format!("{p}/functions/f1"), GET_FUNCTION),
            ("PATCH", format!("{p}/functions/f1"), UPDATE_FUNCTION),
            ("DELETE", format!("{p}/functions/f1"), DELETE_FUNCTION),
            ("POST", format!("{p}/functions/f1/deploy"), DEPLOY_FUNCTION),
            ("GET", format!("{p}/functions/f1/upload-url"), UPLOAD_URL),
            (
                "GET",
                format!("{p}/functions/f1/download-url"),
                DOWNLOAD_URL,
            ),
            ("GET", format!("{p}/runtimes"), LIST_RUNTIMES),
            ("GET", format!("{p}/crons"), LIST_CRONS),
            ("POST", format!("{p}/crons"), CREATE_CRON),
            ("GET", format!("{p}/crons/c1"), GET_CRON),
            ("PATCH", format!("{p}/crons/c1"), UPDATE_CRON),
            ("DELETE", format!("{p}/crons/c1"), DELETE_CRON),
            ("GET", format!("{p}/domains"), LIST_DOMAINS),
            ("POST", format!("{p}/domains"), CREATE_DOMAIN),
            ("GET", format!("{p}/domains/d1"), GET_DOMAIN),
            ("DELETE", format!("{p}/domains/d1"), DELETE_DOMAIN),
            ("GET", format!("{p}/tokens"), LIST_TOKENS),
            ("POST", format!("{p}/tokens"), CREATE_TOKEN),
            ("GET", format!("{p}/tokens/t1"), GET_TOKEN),
            ("DELETE", format!("{p}/tokens/t1"), DELETE_TOKEN),
            ("GET", format!("{p}/triggers"), LIST_TRIGGERS),
            ("POST", format!("{p}/triggers"), CREATE_TRIGGER),
            ("GET", format!("{p}/triggers/g1"), GET_TRIGGER),
            ("PATCH", format!("{p}/triggers/g1"), UPDATE_TRIGGER),
            ("DELETE", format!("{p}/triggers/g1"), DELETE_TRIGGER),
        ];
        assert_eq!(checks.len(), 32, "the spec has 32 operations");

        ok(api.list_namespaces(&NamespaceFilter::default(), page).await);
        ok(api
            .create_namespace(&CreateNamespaceRequest::default())
            .await);
        ok(api.get_namespace("n/1").await);
        ok(api
            .update_namespace("n1", &UpdateNamespaceRequest::default())
            .await);
        ok(api.delete_namespace("n1").await);
        ok(api
            .list_functions(&FunctionFilter::in_namespace("n1"), page)
            .await);
        ok(api.create_function(&CreateFunctionRequest::default()).await);
        ok(api.get_function("f1").await);
        ok(api
            .update_function("f1", &UpdateFunctionRequest::default())
            .await);
        ok(api.delete_function("f1").await);
        ok(api.deploy_function("f1").await);
        ok(api.upload_url("f1", 675).await);
        ok(api.download_url("f1").await);
        ok(api.list_runtimes().await);
        ok(api
            .list_crons(&CronFilter::of_function("f1"), PageRequest::default())
            .await);
        ok(api.create_cron(&CreateCronRequest::default()).await);
        ok(api.get_cron("c1").await);
        ok(api.update_cron("c1", &UpdateCronRequest::default()).await);
        ok(api.delete_cron("c1").await);
        ok(api
            .list_domains(&DomainFilter::of_function("f1"), PageRequest::default())
            .await);
        ok(api.create_domain(&CreateDomainRequest::default()).await);
        ok(api.get_domain("d1").await);
        ok(api.delete_domain("d1").await);
        ok(api
            .list_tokens(&TokenFilter::default(), PageRequest::default())
            .await);
        let token = CreateTokenRequest {
            scope: TokenScope::FunctionId("f1".into()),
            description: None,
            expires_at: None,
        };
        ok(api.create_token(&token).await);
        ok(api.get_token("t1").await);
        ok(api.delete_token("t1").await);
        ok(api
            .list_triggers(&TriggerFilter::default(), PageRequest::default())
            .await);
        let trigger = CreateTriggerRequest {
            name: "t".into(),
            function_id: "f1".into(),
            description: None,
            config: TriggerConfig::ScwSqsConfig(ScwSqsConfigRequest::default()),
        };
        ok(api.create_trigger(&trigger).await);
        ok(api.get_trigger("g1").await);
        ok(api
            .update_trigger("g1", &UpdateTriggerRequest::default())
            .await);
        ok(api.delete_trigger("g1").await);

        let seen = server.seen();
        assert_eq!(seen.len(), checks.len());
        for (request, (method, path, route)) in seen.iter().zip(&checks) {
            assert_eq!((request.method.as_str(), &request.path), (*method, path));
            assert_eq!(
                request
                    .headers
                    .get("x-auth-token")
                    .and_then(|v| v.to_str().ok()),
                Some(API_KEY),
                "{path}"
            );
            assert_eq!(client.stats().on_route(route), 1, "{route}");
            let expected_prefix = format!("{method} /functions/v1beta1/regions/{{region}}/");
            assert!(route.starts_with(&expected_prefix), "{route}");
        }
        let deploy = &seen[10];
        assert_eq!(deploy.json(), serde_json::json!({}));
        assert_eq!(seen[11].query, "content_length=675");
        assert_eq!(seen[13].query, "");
        assert_eq!(
            seen[28].json(),
            serde_json::json!({"name": "t", "function_id": "f1",
                "scw_sqs_config": {"queue": "", "mnq_project_id": "", "mnq_region": ""}})
        );
    }

    fn query_of(seen: &Seen) -> Vec<(String, String)> {
        seen.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn list_queries_carry_required_filters_paging_and_order() {
        let server = TestServer::start(Arc::new(any_resource)).await;
        let client = server.client();
        let api = client.functions("nl-ams");

        let filter = FunctionFilter {
            name: Some("hello world".into()),
            ..FunctionFilter::in_namespace("ns-1")
        };
        let page = PageRequest {
            page: 2,
            page_size: 10,
            order_by: ListOrder::NameDesc,
        };
        ok(api.list_functions(&filter, page).await);
        assert_eq!(
            query_of(&server.last()),
            pairs(&[
                ("namespace_id", "ns-1"),
                ("name", "hello+world"),
                ("page", "2"),
                ("page_size", "10"),
                ("order_by", "name_desc"),
            ])
        );

        ok(api.list_all_crons(&CronFilter::of_function("f-1")).await);
        assert_eq!(
            query_of(&server.last()),
            pairs(&[
                ("function_id", "f-1"),
                ("page", "1"),
                ("page_size", "100"),
                ("order_by", "created_at_asc"),
            ])
        );

        let page = PageRequest {
            order_by: DomainListOrder::HostnameAsc,
            ..PageRequest::default()
        };
        ok(api
            .list_domains(&DomainFilter::of_function("f-2"), page)
            .await);
        assert_eq!(
            query_of(&server.last()),
            pairs(&[
                ("function_id", "f-2"),
                ("page", "1"),
                ("page_size", "100"),
                ("order_by", "hostname_asc"),
            ])
        );

        let tokens = TokenFilter {
            namespace_id: Some("ns-1".into()),
            ..TokenFilter::default()
        };
        let page = PageRequest {
            order_by: CreatedOrder::CreatedAtDesc,
            ..PageRequest::default()
        };
        ok(api.list_tokens(&tokens, page).await);
        assert_eq!(
            query_of(&server.last()),
            pairs(&[
                ("namespace_id", "ns-1"),
                ("page", "1"),
                ("page_size", "100"),
                ("order_by", "created_at_desc"),
            ])
        );

        let triggers = TriggerFilter {
            function_id: Some("f-3".into()),
            ..TriggerFilter::default()
        };
        ok(api.list_all_triggers(&triggers).await);
        assert_eq!(
            query_of(&server.last())[0],
            pairs(&[("function_id", "f-3")])[0]
        );

        ok(api.list_all_namespaces(&NamespaceFilter::default()).await);
        assert_eq!(
            query_of(&server.last()),
            pairs(&[
                ("page", "1"),
                ("page_size", "100"),
                ("order_by", "created_at_asc")
            ])
        );
        assert!(
            server
                .last()
                .path
                .starts_with("/functions/v1beta1/regions/nl-ams/")
        );
    }

    #[tokio::test]
    async fn list_all_walks_every_page() {
        let reply: Reply = Arc::new(|seen: &Seen| {
            let page: usize = query_of(seen)
                .iter()
                .find(|(k, _)| k == "page")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(1);
            let count = match page {
                1 | 2 => 100,
                3 => 30,
                _ => 0,
            };
            let functions: Vec<_> = (0..count)
                .map(|i| serde_json::json!({"id": format!("f-{page}-{i}"), "status": "ready"}))
                .collect();
            let body = serde_json::json!({"functions": functions, "total_count": 230});
            (200, body.to_string())
        });
        let server = TestServer::start(reply).await;
        let client = server.client();
        let all = ok(client
            .functions("fr-par")
            .list_all_functions(&FunctionFilter::in_namespace("ns"))
            .await);
        assert_eq!(all.len(), 230);
        assert_eq!(all[229].id, "f-3-29");
        assert_eq!(server.seen().len(), 3);
        assert_eq!(client.stats().on_route(LIST_FUNCTIONS), 3);
    }

    #[tokio::test]
    async fn token_value_is_read_from_the_create_answer_only() {
        let reply: Reply = Arc::new(|seen: &Seen| {
            let token = if seen.method == "POST" {
                "tok-clear-value"
            } else {
                ""
            };
            let body = serde_json::json!({"id": "t1", "token": token, "namespace_id": "n",
                "status": "ready", "expires_at": null});
            (200, body.to_string())
        });
        let server = TestServer::start(reply).await;
        let client = server.client();
        let api = client.functions("fr-par");
        let request = CreateTokenRequest {
            scope: TokenScope::NamespaceId("n".into()),
            description: Some("ci".into()),
            expires_at: None,
        };
        let created = ok(api.create_token(&request).await);
        assert_eq!(
            server.last().json(),
            serde_json::json!({"namespace_id": "n", "description": "ci"})
        );
        assert_eq!(
            created.token.as_ref().map(SecretString::expose),
            Some("tok-clear-value")
        );
        assert!(!format!("{created:?}").contains("tok-clear-value"));
        let read = ok(api.get_token("t1").await);
        assert_eq!(read.token, None);
    }

    // --- presigned upload -------------------------------------------------------------

    const SIGNATURE: &str = "f00dfeedsignature0123";

    async fn upload_url_for(server: &TestServer, size: usize) -> UploadUrl {
        UploadUrl {
            url: PresignedUrl::new(format!(
                "{}/bucket/fn.zip?X-Amz-Expires=3600&X-Amz-Signature={SIGNATURE}",
                server.url
            )),
            headers: PresignedHeaders::from([
                ("content-length".to_owned(), Some(vec![size.to_string()])),
                (
                    "content-type".to_owned(),
                    Some(vec!["application/octet-stream".to_owned()]),
                ),
                ("x-amz-meta-empty".to_owned(), None),
            ]),
        }
    }

    #[tokio::test]
    async fn upload_puts_the_bytes_with_the_signed_headers_and_no_api_key() {
        let server = TestServer::start(Arc::new(|_: &Seen| (200, String::new()))).await;
        let client = server.client();
        let archive = b"PK\x03\x04 a tiny zip".to_vec();
        let upload = upload_url_for(&server, archive.len()).await;
        ok(client
            .functions("fr-par")
            .upload_archive(&upload, archive.clone())
            .await);
        let seen = server.last();
        assert_eq!(seen.method, "PUT");
        assert_eq!(seen.path, "/bucket/fn.zip");
        assert!(seen.query.contains(SIGNATURE));
        assert_eq!(seen.body, archive);
        assert!(seen.headers.get("x-auth-token").is_none());
        assert_eq!(
            seen.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/octet-stream")
        );
        assert_eq!(
            seen.headers.get_all("content-length").iter().count(),
            1,
            "exactly one content-length"
        );
        assert_eq!(
            seen.headers
                .get("content-length")
                .and_then(|v| v.to_str().ok()),
            Some(archive.len().to_string().as_str())
        );
        assert_eq!(client.stats().on_route(UPLOAD_ARCHIVE), 1);
    }

    #[tokio::test]
    async fn upload_failures_map_to_errors_without_the_signature() {
        let xml = format!(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message>\
             <Resource>/bucket/fn.zip?X-Amz-Signature={SIGNATURE}</Resource></Error>"
        );
        let server = TestServer::start(Arc::new(move |_: &Seen| (403, xml.clone()))).await;
        let client = server.client();
        let upload = upload_url_for(&server, 3).await;
        let error = client
            .functions("fr-par")
            .upload_archive(&upload, b"zip".to_vec())
            .await
            .err()
            .unwrap_or_else(|| panic!("a 403 must fail"));
        assert!(
            matches!(
                error,
                Error::Forbidden {
                    route: UPLOAD_ARCHIVE,
                    ..
                }
            ),
            "{error:?}"
        );
        let shown = format!("{error} {error:?} {upload:?}");
        assert!(shown.contains("AccessDenied"), "{shown}");
        assert!(!shown.contains(SIGNATURE), "{shown}");
        assert!(!shown.contains("X-Amz-Expires"), "{shown}");
        assert_eq!(server.seen().len(), 1, "a 403 is not retried");
    }

    #[tokio::test]
    async fn upload_retries_transient_failures_with_the_same_bytes() {
        let calls = Arc::new(Mutex::new(0u32));
        let counter = calls.clone();
        let reply: Reply = Arc::new(move |_: &Seen| {
            let mut n = counter.lock().unwrap_or_else(|e| e.into_inner());
            *n += 1;
            if *n == 1 {
                (503, "<Error><Code>SlowDown</Code></Error>".to_owned())
            } else {
                (200, String::new())
            }
        });
        let server = TestServer::start(reply).await;
        let client = server.client();
        let upload = upload_url_for(&server, 5).await;
        ok(client
            .functions("fr-par")
            .upload_archive(&upload, b"bytes".to_vec())
            .await);
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|s| s.body == b"bytes"));
        assert_eq!(client.stats().retries().get(UPLOAD_ARCHIVE), Some(&1));
    }

    #[tokio::test]
    async fn upload_refuses_an_archive_of_another_size_before_sending() {
        let server = TestServer::start(Arc::new(any_resource)).await;
        let client = server.client();
        let upload = upload_url_for(&server, 10).await;
        let error = client
            .functions("fr-par")
            .upload_archive(&upload, b"short".to_vec())
            .await
            .err()
            .unwrap_or_else(|| panic!("a size mismatch must fail"));
        assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
        assert!(server.seen().is_empty());
        assert!(!error.to_string().contains(SIGNATURE));
    }

    #[tokio::test]
    async fn upload_transport_errors_never_show_the_url() {
        let server = TestServer::start(Arc::new(any_resource)).await;
        let client = server.client();
        // A port nothing listens on: bind one, note it, free it.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("{e}"));
        let upload = UploadUrl {
            url: PresignedUrl::new(format!(
                "http://{closed}/bucket/fn.zip?X-Amz-Signature={SIGNATURE}"
            )),
            headers: PresignedHeaders::new(),
        };
        let error = client
            .functions("fr-par")
            .upload_archive(&upload, b"zip".to_vec())
            .await
            .err()
            .unwrap_or_else(|| panic!("nothing listens there"));
        assert!(error.outcome_unknown(), "{error:?}");
        let mut shown = format!("{error} {error:?}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            shown.push_str(&format!(" {cause} {cause:?}"));
            source = cause.source();
        }
        assert!(!shown.contains(SIGNATURE), "{shown}");
        assert_eq!(client.stats().retries().get(UPLOAD_ARCHIVE), Some(&2));

        let bad = UploadUrl {
            url: PresignedUrl::new(format!("ftp://host/x?X-Amz-Signature={SIGNATURE}")),
            headers: PresignedHeaders::new(),
        };
        let error = client
            .functions("fr-par")
            .upload_archive(&bad, b"zip".to_vec())
            .await
            .err()
            .unwrap_or_else(|| panic!("ftp is refused"));
        assert!(!format!("{error} {error:?}").contains(SIGNATURE));
    }
}
