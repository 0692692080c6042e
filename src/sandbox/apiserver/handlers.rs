//! HTTP: turns requests into verbs on the store and results into responses.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Shared;
use super::discovery;
use super::error::ApiError;
use super::openapi;
use super::ops::{self, DeleteOptions, PatchRequest, Subresource, Target};
use super::partial;
use super::patch::PatchFormat;
use super::protobuf;
use super::route::{self, Route};
use super::selector::{FieldSelector, LabelSelector, Selectors};
use super::table::{self, TableOptions};
use super::validation::FieldValidation;
use super::watch::{self, WatchRequest};

type Params = HashMap<String, String>;

/// The parts of a request the verbs need.
struct Request<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    params: Params,
}

/// The single entry point for every request.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match dispatch(&shared, &method, &uri, &headers, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    tracing::debug!(%method, path = uri.path(), status = response.status().as_u16(), "sandbox apiserver");
    response
}

fn dispatch(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let params: Params = Query::<Params>::try_from_uri(uri)
        .map(|Query(p)| p)
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let req = Request {
        method,
        headers,
        body,
        params,
    };
    let route = shared.read(|state| {
        route::parse(uri.path(), |g, v, p| {
            state
                .registry
                .resolve(g, v, p)
                .is_some_and(|s| s.def.namespaced)
        })
    });
    let Some(route) = route else {
        return Err(ApiError::UnknownResource);
    };
    match route {
        Route::Collection {
            group,
            version,
            plural,
            namespace,
        } => {
            let mut target = resolve(shared, &group, &version, &plural, namespace, true)?;
            target.field_validation = field_validation(&req.params)?;
            collection(shared, &req, target)
        }
        Route::Object {
            group,
            version,
            plural,
            namespace,
            name,
            subresource,
        } => {
            let mut target = resolve(shared, &group, &version, &plural, namespace, false)?;
            target.field_validation = field_validation(&req.params)?;
            let sub = Subresource::parse(&target.served, subresource.as_deref())?;
            object(shared, &req, &target, &name, sub)
        }
        Route::Health => Ok((StatusCode::OK, "ok").into_response()),
        Route::OpenApiIndex => Ok(json(
            StatusCode::OK,
            &shared.read(|state| openapi::index(&state.registry)),
        )),
        Route::OpenApi { group, version } => {
            let doc = shared.read(|state| openapi::gv_document(&state.registry, &group, &version));
            doc.map(|doc| json(StatusCode::OK, &doc))
                .ok_or(ApiError::UnknownResource)
        }
        discovery_route => {
            if *req.method != Method::GET {
                return Err(ApiError::MethodNotAllowed);
            }
            discover(shared, req.headers, discovery_route)
        }
    }
}

/// Finds the resource and checks that the namespace in the path fits its scope.
fn resolve(
    shared: &Shared,
    group: &str,
    version: &str,
    plural: &str,
    namespace: Option<String>,
    collection: bool,
) -> Result<Target, ApiError> {
    let served = shared
        .read(|state| state.registry.resolve(group, version, plural))
        .ok_or(ApiError::UnknownResource)?;
    let fits = match (served.def.namespaced, namespace.is_some()) {
        (true, true) | (false, false) => true,
        // All-namespace list, watch and delete-collection.
        (true, false) => collection,
        (false, true) => false,
    };
    if !fits {
        return Err(ApiError::UnknownResource);
    }
    Ok(Target::new(served, namespace))
}

fn collection(
    shared: &Arc<Shared>,
    req: &Request<'_>,
    target: Target,
) -> Result<Response, ApiError> {
    let (headers, body, params) = (req.headers, req.body, &req.params);
    let dry_run = dry_run(params);
    match *req.method {
        Method::GET if is_true(params.get("watch")) => {
            let mut watch = watch_request(shared, params)?;
            watch.table = table_options(headers, params)?;
            watch.metadata_only = watch.table.is_none() && partial::wanted(accept(headers));
            let body = Body::from_stream(watch::stream(Arc::clone(shared), target, watch));
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response())
        }
        Method::GET => {
            let selectors = selectors(params)?;
            let page = ops::ListPage::parse(params.get("limit"), params.get("continue"))?;
            let list = shared.read(|s| ops::list(s, &target, &selectors, &page));
            match table_options(headers, params)? {
                Some(options) => {
                    let items = list["items"].as_array().cloned().unwrap_or_default();
                    let rv = list["metadata"]["resourceVersion"]
                        .as_str()
                        .map(str::to_owned);
                    let mut table = table::render(&target.served, &items, rv, options);
                    // kubectl follows the continue token of a paged table (--chunk-size).
                    if let Some(next) = list["metadata"].get("continue") {
                        table["metadata"]["continue"] = next.clone();
                    }
                    Ok(json(StatusCode::OK, &table))
                }
                None if partial::wanted(accept(headers)) => {
                    Ok(json(StatusCode::OK, &partial::list(&list)))
                }
                None => Ok(json(StatusCode::OK, &list)),
            }
        }
        Method::POST => {
            shared.count_write();
            let obj = parse_body(headers, body)?;
            let created = shared.write(|s| ops::create(s, &target, obj, dry_run))?;
            Ok(with_warnings(json(StatusCode::CREATED, &created), &target))
        }
        Method::DELETE => {
            shared.count_write();
            let selectors = selectors(params)?;
            let mut opts = DeleteOptions::from_body(body)?;
            opts.dry_run |= dry_run;
            let deleted =
                shared.write(|s| ops::delete_collection(s, &target, &selectors, &opts))?;
            Ok(json(StatusCode::OK, &deleted))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn object(
    shared: &Arc<Shared>,
    req: &Request<'_>,
    target: &Target,
    name: &str,
    sub: Subresource,
) -> Result<Response, ApiError> {
    let (headers, body, params) = (req.headers, req.body, &req.params);
    let dry_run = dry_run(params);
    let result = match *req.method {
        Method::GET => {
            let found = shared.read(|s| ops::get(s, target, name))?;
            return Ok(match table_options(headers, params)? {
                Some(options) => json(
                    StatusCode::OK,
                    &table::render(&target.served, std::slice::from_ref(&found), None, options),
                ),
                None if partial::wanted(accept(headers)) => {
                    json(StatusCode::OK, &partial::object(&found))
                }
                None => json(StatusCode::OK, &found),
            });
        }
        Method::PUT => {
            shared.count_write();
            let obj = parse_body(headers, body)?;
            update_optimistically(shared, target, name, |old| {
                ops::prepare_replace(target, old, sub, obj.clone(), dry_run)
            })
        }
        Method::PATCH => {
            shared.count_write();
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let format = PatchFormat::from_content_type(content_type)
                .ok_or(ApiError::UnsupportedMediaType)?;
            let patch = PatchRequest {
                format,
                body,
                field_manager: params.get("fieldManager").map(String::as_str),
                force: is_true(params.get("force")),
            };
            if format == PatchFormat::Apply {
                shared.write(|s| ops::server_side_apply(s, target, name, sub, patch, dry_run))
            } else {
                update_optimistically(shared, target, name, |old| {
                    ops::prepare_patch(target, name, old, sub, patch, dry_run)
                })
            }
        }
        Method::DELETE if sub == Subresource::Main => {
            shared.count_write();
            let mut opts = DeleteOptions::from_body(body)?;
            opts.dry_run |= dry_run;
            shared.write(|s| ops::delete(s, target, name, &opts))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }?;
    let result = if partial::wanted(accept(headers)) {
        partial::object(&result)
    } else {
        result
    };
    Ok(with_warnings(json(StatusCode::OK, &result), target))
}

/// An update as the real server's `GuaranteedUpdate` does it: read the stored object, prepare
/// the new one without the lock (patching and admission, the costly part, then run on every
/// core), and commit only if the object did not change meanwhile; else start again from the
/// newer copy. After a few lost races the update runs under the lock, so it always ends.
fn update_optimistically(
    shared: &Arc<Shared>,
    target: &Target,
    name: &str,
    prepare: impl Fn(&Value) -> Result<ops::Prepared, ApiError>,
) -> Result<Value, ApiError> {
    const OPTIMISTIC_ATTEMPTS: usize = 4;
    for _ in 0..OPTIMISTIC_ATTEMPTS {
        target.warnings.borrow_mut().clear();
        let old = shared.read(|s| target.stored(s, name))?;
        let prepared = match prepare(&old)? {
            ops::Prepared::Answer(answer) => return Ok(answer),
            commit => commit,
        };
        let committed = shared.write(|s| {
            target
                .unchanged(s, name, &old)
                .then(|| ops::finish(s, target, prepared))
        });
        if let Some(result) = committed {
            return Ok(result);
        }
    }
    target.warnings.borrow_mut().clear();
    shared.write(|s| {
        let old = target.stored(s, name)?;
        let prepared = prepare(&old)?;
        Ok(ops::finish(s, target, prepared))
    })
}

/// Adds one `Warning: 299 - "..."` header per warning the request collected.
fn with_warnings(mut response: Response, target: &Target) -> Response {
    for warning in target.warnings.borrow().iter() {
        let text = format!("299 - {}", Value::String(warning.clone()));
        if let Ok(value) = header::HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

/// `fieldValidation` (absent: `Warn`).
fn field_validation(params: &Params) -> Result<FieldValidation, ApiError> {
    FieldValidation::parse(params.get("fieldValidation").map(String::as_str))
        .map_err(ApiError::BadRequest)
}

/// The request's `Accept` header ("" when absent).
fn accept(headers: &HeaderMap) -> &str {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Table options when the client asks for a `Table` (`kubectl get`), `None` for plain JSON.
fn table_options(headers: &HeaderMap, params: &Params) -> Result<Option<TableOptions>, ApiError> {
    if !table::wanted(accept(headers)) {
        return Ok(None);
    }
    TableOptions::parse(params.get("includeObject").map(String::as_str))
        .map(Some)
        .map_err(ApiError::BadRequest)
}

fn discover(shared: &Shared, headers: &HeaderMap, route: Route) -> Result<Response, ApiError> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let aggregated = discovery::aggregated_version(accept);
    let doc = shared.read(|state| {
        let registry = &state.registry;
        match (route, aggregated) {
            (Route::Version, _) => Some(discovery::version()),
            (Route::CoreVersions, Some(v)) => Some(discovery::aggregated(registry, true, v)),
            (Route::Groups, Some(v)) => Some(discovery::aggregated(registry, false, v)),
            (Route::CoreVersions, None) => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("127.0.0.1");
                Some(discovery::core_versions(host))
            }
            (Route::Groups, None) => Some(discovery::group_list(registry)),
            (Route::Group { group }, _) => discovery::group(registry, &group),
            (Route::ResourceList { group, version }, _) => {
                discovery::resource_list(registry, &group, &version)
            }
            _ => None,
        }
    });
    let doc = doc.ok_or(ApiError::UnknownResource)?;
    let is_aggregated = doc.get("kind").and_then(Value::as_str) == Some("APIGroupDiscoveryList");
    let mut response = json(StatusCode::OK, &doc);
    if let (true, Some(v)) = (is_aggregated, aggregated)
        && let Ok(value) = discovery::aggregated_content_type(v).parse()
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    Ok(response)
}

fn json(status: StatusCode, value: &Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// Request bodies are JSON, or YAML when the content type says so.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with(protobuf::MEDIA_TYPE) {
        return protobuf::decode(body).map_err(ApiError::UnsupportedBody);
    }
    if content_type.contains("yaml") {
        let text = std::str::from_utf8(body)
            .map_err(|e| ApiError::BadRequest(format!("body is not UTF-8: {e}")))?;
        return serde_saphyr::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("invalid YAML body: {e}")));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| v == "true" || v == "1")
}

fn dry_run(params: &Params) -> bool {
    params.get("dryRun").is_some_and(|v| v == "All")
}

fn selectors(params: &Params) -> Result<Selectors, ApiError> {
    let labels = match params.get("labelSelector") {
        Some(s) => LabelSelector::parse(s)
            .map_err(|e| ApiError::BadRequest(format!("unable to parse requirement: {e}")))?,
        None => LabelSelector::default(),
    };
    let fields = match params.get("fieldSelector") {
        Some(s) => FieldSelector::parse(s).map_err(ApiError::BadRequest)?,
        None => FieldSelector::default(),
    };
    Ok(Selectors { labels, fields })
}

fn watch_request(shared: &Shared, params: &Params) -> Result<WatchRequest, ApiError> {
    let resource_version = match params.get("resourceVersion").map(String::as_str) {
        None | Some("" | "0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resource version {rv:?}")))?,
        ),
    };
    let timeout = match params.get("timeoutSeconds") {
        Some(s) => Duration::from_secs(
            s.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid timeoutSeconds {s:?}")))?,
        ),
        None => shared.config.default_watch_timeout,
    };
    Ok(WatchRequest {
        resource_version,
        send_initial_events: is_true(params.get("sendInitialEvents")),
        allow_bookmarks: is_true(params.get("allowWatchBookmarks")),
        timeout,
        selectors: selectors(params)?,
        table: None,
        metadata_only: false,
    })
}
