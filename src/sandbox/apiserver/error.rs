//! Errors the API server returns to clients, rendered as Kubernetes `Status` objects.
//!
//! kube-client turns a non-2xx response with a `Status` body into `kube::Error::Api`, so the
//! reason and code here are what a controller under test sees.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::validation::Cause;

/// The resource an error is about: group, plural and (when known) object name.
///
/// This is what the real API server puts in `Status.details`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorSubject {
    /// API group ("" for the core group).
    pub group: String,
    /// Plural resource name, e.g. `configmaps`.
    pub plural: String,
    /// Object name, empty when the request named none.
    pub name: String,
}

impl ErrorSubject {
    /// A subject for one named object of a resource.
    pub fn new(group: &str, plural: &str, name: &str) -> Self {
        Self {
            group: group.to_owned(),
            plural: plural.to_owned(),
            name: name.to_owned(),
        }
    }

    /// `plural.group` (or just `plural` for the core group), as Kubernetes prints it.
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// A failed API request. Each variant maps to one HTTP code and one `Status.reason`.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ApiError {
    /// The object (or the namespace it should live in) does not exist.
    #[error("{} \"{}\" not found", .0.qualified(), .0.name)]
    NotFound(ErrorSubject),
    /// The URL names no resource this server serves.
    #[error("the server could not find the requested resource")]
    UnknownResource,
    /// A create named an object that already exists.
    #[error("{} \"{}\" already exists", .0.qualified(), .0.name)]
    AlreadyExists(ErrorSubject),
    /// A resourceVersion or uid precondition did not hold, or server-side apply found a field
    /// owned by another manager.
    #[error("Operation cannot be fulfilled on {} \"{}\": {message}", .subject.qualified(), .subject.name)]
    Conflict {
        /// The object concerned.
        subject: ErrorSubject,
        /// Why the operation could not be fulfilled.
        message: String,
    },
    /// The request was understood but the result would be invalid (also: a failed JSON-patch `test`).
    #[error("{} \"{}\" is invalid: {message}", .subject.qualified(), .subject.name)]
    Invalid {
        /// The object concerned.
        subject: ErrorSubject,
        /// What is wrong with it.
        message: String,
    },
    /// Schema or CEL validation failed: one cause per field, in `Status.details.causes`, as a
    /// real server reports them (`kubectl` prints `The Kind "name" is invalid: ...`).
    #[error("{}{} \"{name}\" is invalid: {}", .kind, if .group.is_empty() { String::new() } else { format!(".{}", .group) }, causes_text(.causes))]
    InvalidFields {
        /// Kind of the object.
        kind: String,
        /// Its API group.
        group: String,
        /// Its name.
        name: String,
        /// What is wrong, field by field.
        causes: Vec<Cause>,
    },
    /// The request itself is malformed (bad JSON, bad selector, mismatched name or namespace).
    #[error("{0}")]
    BadRequest(String),
    /// The HTTP method is not supported on this path.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// The patch content type is not one Kubernetes knows.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
    )]
    UnsupportedMediaType,
    /// A request body in a format this server does not read (most protobuf).
    #[error("{0}")]
    UnsupportedBody(String),
    /// A watch asked for a resourceVersion older than the kept history.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The resourceVersion the client asked for.
        requested: u64,
        /// The oldest resourceVersion a watch can still start from.
        oldest: u64,
    },
}

impl ApiError {
    /// HTTP status code of this error.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound(_) | Self::UnknownResource => 404,
            Self::AlreadyExists(_) | Self::Conflict { .. } => 409,
            Self::Invalid { .. } | Self::InvalidFields { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::MethodNotAllowed => 405,
            Self::UnsupportedMediaType | Self::UnsupportedBody(_) => 415,
            Self::Expired { .. } => 410,
        }
    }

    /// `Status.reason` of this error, as the real API server spells it.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound(_) | Self::UnknownResource => "NotFound",
            Self::AlreadyExists(_) => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid { .. } | Self::InvalidFields { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::UnsupportedMediaType | Self::UnsupportedBody(_) => "UnsupportedMediaType",
            Self::Expired { .. } => "Expired",
        }
    }

    fn subject(&self) -> Option<&ErrorSubject> {
        match self {
            Self::NotFound(s) | Self::AlreadyExists(s) => Some(s),
            Self::Conflict { subject, .. } | Self::Invalid { subject, .. } => Some(subject),
            _ => None,
        }
    }

    /// The `Status` object sent to the client.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if let Self::InvalidFields {
            kind,
            group,
            name,
            causes,
        } = self
        {
            let causes: Vec<Value> = causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect();
            let mut details = json!({"name": name, "kind": kind, "causes": causes});
            if !group.is_empty() {
                details["group"] = json!(group);
            }
            status["details"] = details;
        } else if let Some(subject) = self.subject() {
            let mut details = json!({ "kind": subject.plural });
            if !subject.name.is_empty() {
                details["name"] = json!(subject.name);
            }
            if !subject.group.is_empty() {
                details["group"] = json!(subject.group);
            }
            status["details"] = details;
        }
        status
    }
}

/// `a: x` for one cause, `[a: x, b: y]` for several, as Kubernetes aggregates field errors.
fn causes_text(causes: &[Cause]) -> String {
    let one = |c: &Cause| {
        if c.field.is_empty() {
            c.message.clone()
        } else {
            format!("{}: {}", c.field, c.message)
        }
    };
    match causes {
        [single] => one(single),
        many => format!("[{}]", many.iter().map(one).collect::<Vec<_>>().join(", ")),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.to_status())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_matches_the_real_shape() {
        let err = ApiError::NotFound(ErrorSubject::new("", "configmaps", "cm1"));
        let status = err.to_status();
        assert_eq!(status["code"], 404);
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["message"], "configmaps \"cm1\" not found");
        assert_eq!(
            status["details"],
            json!({"kind": "configmaps", "name": "cm1"})
        );
    }

    #[test]
    fn field_causes_are_listed_like_a_real_server() {
        let err = ApiError::InvalidFields {
            kind: "Widget".into(),
            group: "example.com".into(),
            name: "w".into(),
            causes: vec![
                Cause {
                    reason: "FieldValueRequired".into(),
                    field: "spec.a".into(),
                    message: "Required value".into(),
                },
                Cause {
                    reason: "FieldValueInvalid".into(),
                    field: "spec".into(),
                    message: "Invalid value: \"object\": bad".into(),
                },
            ],
        };
        assert_eq!(
            err.to_string(),
            "Widget.example.com \"w\" is invalid: [spec.a: Required value, spec: Invalid value: \"object\": bad]"
        );
        let status = err.to_status();
        assert_eq!(status["code"], 422);
        assert_eq!(status["details"]["kind"], "Widget");
        assert_eq!(status["details"]["causes"][0]["field"], "spec.a");
    }

    #[test]
    fn group_is_part_of_the_message() {
        let err = ApiError::AlreadyExists(ErrorSubject::new("example.com", "widgets", "w"));
        assert_eq!(err.to_string(), "widgets.example.com \"w\" already exists");
        assert_eq!(err.code(), 409);
    }
}
