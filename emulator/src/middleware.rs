//! Layers around every API route, outermost first: request counting and logging, fault
//! injection, authentication. Admin routes have none of them.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::emulator::Emulator;
use crate::error::ApiError;
use crate::faults::FaultAction;
use crate::server::DropConnection;

/// Header carrying the API key (header names are case-insensitive).
const AUTH_HEADER: &str = "x-auth-token";
/// Paths of the admin API, never counted.
const ADMIN_PREFIX: &str = "/__emulator/";

/// Counts the request under `"METHOD route-template"` and logs one debug line (method, route,
/// status, duration; never headers or bodies).
pub(crate) async fn count(
    State(emulator): State<Emulator>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = matched_route(&request);
    emulator.record_request(format!("{method} {route}"));
    let response = next.run(request).await;
    tracing::debug!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "scaleway emulator request"
    );
    response
}

/// Applies the configured faults: latency, then a dropped connection, a 503 or a 429.
pub(crate) async fn faults(
    State(emulator): State<Emulator>,
    request: Request,
    next: Next,
) -> Response {
    let plan = emulator.decide_fault(request.method().as_str(), request.uri().path());
    if let Some(latency) = plan.latency {
        tokio::time::sleep(latency).await;
    }
    match plan.action {
        FaultAction::None => next.run(request).await,
        FaultAction::Drop => {
            // Served by `server::serve`, this marker closes the connection without a response;
            // under another server the client gets this 503 instead.
            let mut response = ApiError::ServiceUnavailable.into_response();
            response.extensions_mut().insert(DropConnection);
            response
        }
        FaultAction::ServerError => ApiError::ServiceUnavailable.into_response(),
        FaultAction::RateLimit {
            retry_after_seconds,
        } => ApiError::TooManyRequests {
            retry_after_seconds,
        }
        .into_response(),
    }
}

/// Checks `X-Auth-Token`: missing or empty → 401; when credentials are configured, a token
/// outside them → 403.
pub(crate) async fn auth(
    State(emulator): State<Emulator>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(AUTH_HEADER)
        .map(|value| value.to_str().unwrap_or_default().trim())
        .unwrap_or_default();
    if token.is_empty() {
        return ApiError::DeniedAuthentication.into_response();
    }
    if let Some(allowed) = &emulator.settings().credentials
        && !allowed.iter().any(|credential| credential == token)
    {
        let route = matched_route(&request);
        return ApiError::PermissionsDenied {
            resource: resource_of(&route),
            action: action_of(request.method()),
        }
        .into_response();
    }
    next.run(request).await
}

/// Fallback for paths that match no route: counted (unless under the admin prefix), then a
/// JSON 404.
pub(crate) async fn unknown_route(State(emulator): State<Emulator>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if !path.starts_with(ADMIN_PREFIX) {
        emulator.record_request(format!("{method} <unmatched>"));
    }
    tracing::debug!(method = %method, path = %path, status = 404, "scaleway emulator unmatched request");
    ApiError::UnknownRoute {
        method: method.to_string(),
        path,
    }
    .into_response()
}

/// Fallback for a known path with an unsupported method: a JSON 405.
pub(crate) async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

fn matched_route(request: &Request) -> String {
    request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |path| path.as_str().to_owned(),
    )
}

/// Resource kind named by a route template, for `permissions_denied` details.
fn resource_of(route: &str) -> &'static str {
    let collection = route.split('/').nth(5).unwrap_or_default();
    match collection {
        "namespaces" => "namespace",
        "containers" => "container",
        "domains" => "domain",
        "triggers" => "trigger",
        "functions" => "function",
        "crons" => "cron",
        "tokens" => "token",
        "runtimes" => "runtime",
        _ => "service_info",
    }
}

fn action_of(method: &Method) -> &'static str {
    match *method {
        Method::GET | Method::HEAD => "read",
        Method::DELETE => "delete",
        _ => "write",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_and_action_from_route() {
        assert_eq!(
            resource_of("/containers/v1/regions/{region}/containers/{container_id}"),
            "container"
        );
        assert_eq!(
            resource_of("/containers/v1/regions/{region}/namespaces"),
            "namespace"
        );
        assert_eq!(
            resource_of("/containers/v1/regions/{region}"),
            "service_info"
        );
        assert_eq!(action_of(&Method::GET), "read");
        assert_eq!(action_of(&Method::PATCH), "write");
        assert_eq!(action_of(&Method::DELETE), "delete");
    }
}
