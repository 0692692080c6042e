//! Every error the emulator answers, and its Scaleway JSON body.
//!
//! Bodies follow the shapes the official SDKs parse (JS SDK `errors/standard/*.fromJSON`):
//! every body has `message` and `type`, plus the payload fields of its type. Status codes are
//! this emulator's choice where the spec is silent (see `README.md`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// Why an argument was rejected (`details[].reason` of `invalid_arguments`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A required argument is missing or empty.
    Required,
    /// The argument is malformed (UUID, name, duration, JSON type, ...).
    Format,
    /// The argument is well-formed but out of range or inconsistent with another one.
    Constraint,
}

/// One entry of an `invalid_arguments` error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArgumentProblem {
    /// Name (or JSON path) of the offending argument, e.g. `liveness_probe.failure_threshold`.
    pub argument_name: String,
    /// Category of the problem.
    pub reason: Reason,
    /// Human-readable explanation.
    pub help_message: String,
}

/// An error answered by the emulated API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: one or more arguments are missing, malformed or out of range.
    #[error("invalid argument(s): {}", describe(.0))]
    InvalidArguments(Vec<ArgumentProblem>),
    /// 401: no token, or an empty one.
    #[error("denied authentication: missing or empty X-Auth-Token")]
    DeniedAuthentication,
    /// 403: the token is not one of the configured credentials.
    #[error("insufficient permissions: {action} {resource}")]
    PermissionsDenied {
        /// Resource kind of the route.
        resource: &'static str,
        /// `read`, `write` or `delete`.
        action: &'static str,
    },
    /// 404: the resource named in the path does not exist (or is gone).
    #[error("resource {resource} with ID {resource_id} is not found")]
    NotFound {
        /// Resource kind, e.g. `container`.
        resource: &'static str,
        /// The ID from the path.
        resource_id: String,
    },
    /// 404: no route matches the request path.
    #[error("no route for {method} {path}")]
    UnknownRoute {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
    },
    /// 405: the route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: a resource with the same unique key already exists.
    #[error("resource {resource} with ID {resource_id} already exists: {help_message}")]
    AlreadyExists {
        /// Resource kind.
        resource: &'static str,
        /// ID of the existing resource.
        resource_id: String,
        /// What collided.
        help_message: String,
    },
    /// 409: the resource (or the parent it needs) is in a transient status.
    #[error("resource {resource} with ID {resource_id} is in a transient state: {current_state}")]
    TransientState {
        /// Resource kind.
        resource: &'static str,
        /// Resource ID.
        resource_id: String,
        /// The transient status, e.g. `creating`.
        current_state: &'static str,
    },
    /// 409: the resource (or the parent it needs) is `locked` and cannot be modified.
    #[error("resource {resource} with ID {resource_id} is locked")]
    Locked {
        /// Resource kind.
        resource: &'static str,
        /// Resource ID.
        resource_id: String,
    },
    /// 412: the parent resource is in `error` and cannot take new children.
    #[error("precondition failed: {precondition}, {help_message}")]
    PreconditionFailed {
        /// Scaleway precondition name.
        precondition: &'static str,
        /// What to fix.
        help_message: String,
    },
    /// 403: an organization quota would be exceeded.
    #[error("quota exceeded for {resource}: {current} of {quota}")]
    QuotasExceeded {
        /// Resource kind whose quota is reached, e.g. `containers`.
        resource: &'static str,
        /// The quota.
        quota: usize,
        /// How many exist now.
        current: usize,
    },
    /// 429: injected rate limiting.
    #[error("too many requests")]
    TooManyRequests {
        /// `Retry-After` header value in seconds.
        retry_after_seconds: u64,
    },
    /// 503: injected server error.
    #[error("service unavailable (injected fault)")]
    ServiceUnavailable,
}

impl ApiError {
    /// One `invalid_arguments` problem.
    pub fn invalid(
        argument_name: impl Into<String>,
        reason: Reason,
        help: impl Into<String>,
    ) -> Self {
        Self::InvalidArguments(vec![ArgumentProblem {
            argument_name: argument_name.into(),
            reason,
            help_message: help.into(),
        }])
    }

    /// 404 for a resource named in the path.
    pub fn not_found(resource: &'static str, resource_id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            resource_id: resource_id.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidArguments(_) => StatusCode::BAD_REQUEST,
            Self::DeniedAuthentication => StatusCode::UNAUTHORIZED,
            Self::PermissionsDenied { .. } | Self::QuotasExceeded { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::UnknownRoute { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::AlreadyExists { .. } | Self::TransientState { .. } | Self::Locked { .. } => {
                StatusCode::CONFLICT
            }
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON body, with `message`, `type` and the payload fields of the type.
    pub fn body(&self) -> Value {
        match self {
            Self::InvalidArguments(details) => json!({
                "message": "invalid argument(s)",
                "type": "invalid_arguments",
                "details": details,
            }),
            Self::DeniedAuthentication => json!({
                "message": "authentication is denied",
                "type": "denied_authentication",
                "method": "api_key",
                "reason": "invalid_argument",
            }),
            Self::PermissionsDenied { resource, action } => json!({
                "message": "insufficient permissions",
                "type": "permissions_denied",
                "details": [{ "resource": resource, "action": action }],
            }),
            Self::NotFound {
                resource,
                resource_id,
            } => json!({
                "message": "resource is not found",
                "type": "not_found",
                "resource": resource,
                "resource_id": resource_id,
            }),
            Self::UnknownRoute { method, path } => json!({
                "message": format!("no route for {method} {path}"),
                "type": "not_found",
                "resource": "route",
                "resource_id": path,
            }),
            Self::QuotasExceeded {
                resource,
                quota,
                current,
            } => json!({
                "message": "quota(s) exceeded for this resource",
                "type": "quotas_exceeded",
                "details": [{ "resource": resource, "quota": quota, "current": current,
                              "organization_id": null }],
            }),
            Self::MethodNotAllowed => json!({
                "message": "method not allowed",
                "type": "method_not_allowed",
            }),
            Self::AlreadyExists {
                resource,
                resource_id,
                help_message,
            } => json!({
                "message": "resource already exists",
                "type": "already_exists",
                "resource": resource,
                "resource_id": resource_id,
                "help_message": help_message,
            }),
            Self::TransientState {
                resource,
                resource_id,
                current_state,
            } => json!({
                "message": "resource is in a transient state",
                "type": "transient_state",
                "resource": resource,
                "resource_id": resource_id,
                "current_state": current_state,
            }),
            Self::Locked {
                resource,
                resource_id,
            } => json!({
                "message": "resource is locked",
                "type": "locked",
                "resource": resource,
                "resource_id": resource_id,
            }),
            Self::PreconditionFailed {
                precondition,
                help_message,
            } => json!({
                "message": "precondition failed",
                "type": "precondition_failed",
                "precondition": precondition,
                "help_message": help_message,
            }),
            Self::TooManyRequests {
                retry_after_seconds,
            } => json!({
                "message": "too many requests",
                "type": "too_many_requests",
                "help_message": format!("rate limit reached, retry in {retry_after_seconds} seconds"),
                "reset_seconds": retry_after_seconds,
            }),
            Self::ServiceUnavailable => json!({
                "message": "service temporarily unavailable",
                "type": "service_unavailable",
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Self::TooManyRequests {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

/// Collects argument problems so that one 400 reports all of them.
#[derive(Debug, Default)]
pub struct Problems(Vec<ArgumentProblem>);

impl Problems {
    /// Records a problem.
    pub fn push(
        &mut self,
        argument_name: impl Into<String>,
        reason: Reason,
        help: impl Into<String>,
    ) {
        self.0.push(ArgumentProblem {
            argument_name: argument_name.into(),
            reason,
            help_message: help.into(),
        });
    }

    /// Records a `required` problem.
    pub fn required(&mut self, argument_name: &str) {
        self.push(
            argument_name,
            Reason::Required,
            format!("{argument_name} is required"),
        );
    }

    /// `Ok` when nothing was recorded, else the 400 error listing every problem.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArguments(self.0))
        }
    }
}

fn describe(details: &[ArgumentProblem]) -> String {
    details
        .iter()
        .map(|d| format!("{} ({:?}): {}", d.argument_name, d.reason, d.help_message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_has_message_and_type() {
        let errors = [
            ApiError::invalid("name", Reason::Required, "name is required"),
            ApiError::DeniedAuthentication,
            ApiError::PermissionsDenied {
                resource: "container",
                action: "read",
            },
            ApiError::not_found("container", "x"),
            ApiError::UnknownRoute {
                method: "GET".into(),
                path: "/x".into(),
            },
            ApiError::MethodNotAllowed,
            ApiError::AlreadyExists {
                resource: "namespace",
                resource_id: "x".into(),
                help_message: "h".into(),
            },
            ApiError::TransientState {
                resource: "container",
                resource_id: "x".into(),
                current_state: "creating",
            },
            ApiError::Locked {
                resource: "container",
                resource_id: "x".into(),
            },
            ApiError::PreconditionFailed {
                precondition: "resource_not_usable",
                help_message: "h".into(),
            },
            ApiError::TooManyRequests {
                retry_after_seconds: 3,
            },
            ApiError::ServiceUnavailable,
        ];
        for error in errors {
            let body = error.body();
            assert!(body["message"].is_string(), "{body}");
            assert!(body["type"].is_string(), "{body}");
            assert!(error.status().as_u16() >= 400);
        }
    }

    #[test]
    fn retry_after_header_is_set_on_429() {
        let response = ApiError::TooManyRequests {
            retry_after_seconds: 7,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn problems_collects_all() {
        let mut problems = Problems::default();
        assert!(Problems::default().finish().is_ok());
        problems.required("name");
        problems.push("port", Reason::Constraint, "too big");
        let Err(ApiError::InvalidArguments(details)) = problems.finish() else {
            panic!("expected invalid arguments");
        };
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].reason, Reason::Required);
    }
}
