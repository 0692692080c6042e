//! The errors of a Scaleway API call, classified so that a controller knows what to do.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// The route template of a call (`"PATCH /containers/v1/regions/{region}/containers/{container_id}"`).
/// Errors, spans and metrics carry the template, never a URL with IDs in it.
pub type Route = &'static str;

/// Longest server message kept in an error; the rest is cut.
const MAX_MESSAGE_LEN: usize = 1024;

/// One field the server rejected (`invalid_arguments` details).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct InvalidArgument {
    /// The request field, e.g. `max_scale`.
    pub argument_name: String,
    /// `required`, `format`, `constraint` or `unknown`.
    #[serde(default)]
    pub reason: String,
    /// What the server says about it.
    #[serde(default)]
    pub help_message: Option<String>,
}

/// What a controller should do about an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retrying later can succeed on its own (5xx, transport, resource busy).
    Transient,
    /// The server asked us to slow down; retry after the delay when it gave one.
    Throttled(Option<Duration>),
    /// Retrying the same call cannot succeed until something changes (the spec, the
    /// credentials, a quota, or the remote object).
    Terminal,
}

/// A failed Scaleway API call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The resource does not exist (404, `not_found`).
    #[error("{route}: {resource} {resource_id} not found")]
    NotFound {
        /// Route template.
        route: Route,
        /// Resource kind, as the server names it.
        resource: String,
        /// Resource ID, as the server names it.
        resource_id: String,
    },
    /// A resource with that name already exists (`already_exists`).
    #[error("{route}: already exists: {message}")]
    AlreadyExists {
        /// Route template.
        route: Route,
        /// Server message.
        message: String,
    },
    /// The resource is busy in a transient status and refuses changes (409 `transient_state`).
    #[error("{route}: {resource} {resource_id} is in transient state {current_state}")]
    TransientState {
        /// Route template.
        route: Route,
        /// Resource kind.
        resource: String,
        /// Resource ID.
        resource_id: String,
        /// Status it is in (`creating`, `updating`, ...).
        current_state: String,
    },
    /// The server rejected the request's content (400, `invalid_arguments`).
    #[error("{route}: invalid argument: {}", describe_arguments(.message, .details))]
    InvalidArgument {
        /// Route template.
        route: Route,
        /// Server message.
        message: String,
        /// The fields at fault.
        details: Vec<InvalidArgument>,
    },
    /// The credentials are missing, malformed or unknown (401, `denied_authentication`).
    #[error("{route}: authentication denied: {message}")]
    Unauthorized {
        /// Route template.
        route: Route,
        /// Server message.
        message: String,
    },
    /// The credentials do not allow this call (403, `permissions_denied`).
    #[error("{route}: permission denied: {message}")]
    Forbidden {
        /// Route template.
        route: Route,
        /// Server message.
        message: String,
    },
    /// An organization quota would be exceeded (`quotas_exceeded`).
    #[error("{route}: quota exceeded: {message}")]
    QuotaExceeded {
        /// Route template.
        route: Route,
        /// Server message.
        message: String,
    },
    /// Too many requests (429); retry after the delay when the server gave one.
    #[error("{route}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// Route template.
        route: Route,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The resource is locked, or another precondition does not hold (`locked`,
    /// `precondition_failed`, `expired`, or another 409/412/423).
    #[error("{route}: {kind} ({status}): {message}")]
    Conflict {
        /// Route template.
        route: Route,
        /// HTTP status.
        status: u16,
        /// The server's error `type`.
        kind: String,
        /// Server message.
        message: String,
    },
    /// The server failed (5xx, or `out_of_stock`).
    #[error("{route}: server error {status}: {message}")]
    Server {
        /// Route template.
        route: Route,
        /// HTTP status.
        status: u16,
        /// Server message.
        message: String,
    },
    /// No answer: connection refused, reset or closed. For a create, the request may have
    /// reached the server; look the resource up by name before trying again.
    #[error("{route}: transport error")]
    Transport {
        /// Route template.
        route: Route,
        /// What the HTTP client reported.
        #[source]
        source: reqwest::Error,
    },
    /// No answer within the request timeout. Same caveat as `Transport`.
    #[error("{route}: timed out")]
    Timeout {
        /// Route template.
        route: Route,
    },
    /// An answer this client cannot read (unexpected status or body).
    #[error("{route}: unexpected response {status}: {detail}")]
    UnexpectedResponse {
        /// Route template.
        route: Route,
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
}

fn describe_arguments(message: &str, details: &[InvalidArgument]) -> String {
    if details.is_empty() {
        return message.to_owned();
    }
    let fields: Vec<String> = details
        .iter()
        .map(|d| match &d.help_message {
            Some(help) if !help.is_empty() => format!("{} ({}): {help}", d.argument_name, d.reason),
            _ => format!("{} ({})", d.argument_name, d.reason),
        })
        .collect();
    fields.join("; ")
}

impl Error {
    /// What a controller should do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::RateLimited { retry_after, .. } => ErrorClass::Throttled(*retry_after),
            Self::TransientState { .. }
            | Self::AlreadyExists { .. }
            | Self::Server { .. }
            | Self::Transport { .. }
            | Self::Timeout { .. }
            | Self::UnexpectedResponse { .. } => ErrorClass::Transient,
            Self::NotFound { .. }
            | Self::InvalidArgument { .. }
            | Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::QuotaExceeded { .. }
            | Self::Conflict { .. } => ErrorClass::Terminal,
        }
    }

    /// A stable CamelCase reason, used as condition reason, event reason and metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "ScalewayNotFound",
            Self::AlreadyExists { .. } => "ScalewayAlreadyExists",
            Self::TransientState { .. } => "ScalewayTransientState",
            Self::InvalidArgument { .. } => "ScalewayInvalidArgument",
            Self::Unauthorized { .. } => "ScalewayUnauthorized",
            Self::Forbidden { .. } => "ScalewayForbidden",
            Self::QuotaExceeded { .. } => "ScalewayQuotaExceeded",
            Self::RateLimited { .. } => "ScalewayRateLimited",
            Self::Conflict { .. } => "ScalewayConflict",
            Self::Server { .. } => "ScalewayServerError",
            Self::Transport { .. } => "ScalewayUnreachable",
            Self::Timeout { .. } => "ScalewayTimeout",
            Self::UnexpectedResponse { .. } => "ScalewayUnexpectedResponse",
        }
    }

    /// Whether the error says the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether the request may have reached the server without our seeing the answer.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Transport { .. } | Self::Timeout { .. })
    }
}

/// Scaleway's JSON error body. Every payload field of the standard error types is optional
/// here; the JS SDK's `*-error.js` parsers show which fields each type carries.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    current_state: Option<String>,
    #[serde(default)]
    help_message: Option<String>,
    #[serde(default)]
    details: Option<serde_json::Value>,
    /// Legacy validation shape (`message: "Validation Error"`), read by the Python SDK.
    #[serde(default)]
    fields: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    reset_seconds: Option<f64>,
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_MESSAGE_LEN {
        let mut cut = MAX_MESSAGE_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The longest `Retry-After` the client honours: a larger one (or one too large for a
/// `Duration`, which would have panicked) waits this long, then the call is tried again.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Reads a `Retry-After` header given in seconds (the HTTP-date form is not used by Scaleway),
/// at most [`MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let seconds: f64 = value?.trim().parse().ok()?;
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(seconds).map_or(MAX_RETRY_AFTER, |d| d.min(MAX_RETRY_AFTER)))
}

/// Builds the error for a non-success answer from its status, `Retry-After` and body.
pub(crate) fn from_response(
    route: Route,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let Some(body) = parsed else {
        return by_status(
            route,
            status,
            retry_after,
            String::from_utf8_lossy(body).into(),
        );
    };
    let message = truncate(
        body.message
            .clone()
            .or_else(|| body.help_message.clone())
            .unwrap_or_default(),
    );
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    match body.kind.as_deref() {
        Some("not_found") => Error::NotFound {
            route,
            resource: text(&body.resource),
            resource_id: text(&body.resource_id),
        },
        Some("already_exists") => Error::AlreadyExists { route, message },
        Some("transient_state") => Error::TransientState {
            route,
            resource: text(&body.resource),
            resource_id: text(&body.resource_id),
            current_state: text(&body.current_state),
        },
        Some("invalid_arguments") => Error::InvalidArgument {
            route,
            message,
            details: body
                .details
                .and_then(|d| serde_json::from_value(d).ok())
                .unwrap_or_default(),
        },
        Some("denied_authentication") => Error::Unauthorized { route, message },
        Some("permissions_denied") => Error::Forbidden { route, message },
        Some("quotas_exceeded") => Error::QuotaExceeded { route, message },
        Some("too_many_requests") => Error::RateLimited {
            route,
            retry_after: retry_after.or_else(|| {
                body.reset_seconds
                    .and_then(|s| parse_retry_after(Some(&s.to_string())))
            }),
        },
        Some("out_of_stock") => Error::Server {
            route,
            status,
            message,
        },
        Some(kind @ ("locked" | "precondition_failed" | "expired")) => Error::Conflict {
            route,
            status,
            kind: kind.to_owned(),
            message,
        },
        _ if message == "Validation Error" => Error::InvalidArgument {
            route,
            message,
            details: body
                .fields
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(name, helps)| {
                    helps.into_iter().map(move |help| InvalidArgument {
                        argument_name: name.clone(),
                        reason: "constraint".into(),
                        help_message: Some(help),
                    })
                })
                .collect(),
        },
        _ => by_status(route, status, retry_after, message),
    }
}

/// Builds the error for a non-success answer of object storage to a presigned request. The
/// body is S3's XML (`<Error><Code>…</Code><Message>…</Message></Error>`), or a Scaleway JSON
/// error when the URL points at the emulator; any other body (a proxy's HTML page) is
/// dropped, since it may echo the URL. Every value of the URL's query (`secrets`) is cut out
/// of what is kept: the signature must never reach an error.
pub(crate) fn from_storage_response(
    route: Route,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    secrets: &[&str],
) -> Error {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, super::REDACTED);
    }
    if serde_json::from_str::<ErrorBody>(&text).is_ok() {
        return from_response(route, status, retry_after, text.as_bytes());
    }
    let code = xml_element(&text, "Code");
    if code == Some("RequestTimeout") {
        return Error::Timeout { route };
    }
    let message = match (code, xml_element(&text, "Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, _) => String::new(),
    };
    by_status(route, status, retry_after, message)
}

/// The text of the first `<name>…</name>` element (no attributes, no nesting: enough for
/// S3's flat error document).
fn xml_element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(text[start..end].trim())
}

/// Classifies an answer by its status alone (no typed body).
fn by_status(route: Route, status: u16, retry_after: Option<Duration>, message: String) -> Error {
    let message = truncate(message);
    match status {
        400 => Error::InvalidArgument {
            route,
            message,
            details: Vec::new(),
        },
        401 => Error::Unauthorized { route, message },
        403 => Error::Forbidden { route, message },
        404 => Error::NotFound {
            route,
            resource: String::new(),
            resource_id: String::new(),
        },
        409 | 412 | 423 => Error::Conflict {
            route,
            status,
            kind: "conflict".into(),
            message,
        },
        429 => Error::RateLimited { route, retry_after },
        500..=599 => Error::Server {
            route,
            status,
            message,
        },
        _ => Error::UnexpectedResponse {
            route,
            status,
            detail: message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: Route = "GET /containers/v1/regions/{region}/containers/{container_id}";

    fn parse(status: u16, body: serde_json::Value) -> Error {
        from_response(ROUTE, status, None, body.to_string().as_bytes())
    }

    #[test]
    fn standard_error_types_map_to_variants() {
        let not_found = parse(
            404,
            serde_json::json!({"type": "not_found", "message": "resource is not found",
                "resource": "container", "resource_id": "abc"}),
        );
        assert!(
            matches!(&not_found, Error::NotFound { resource, resource_id, .. }
            if resource == "container" && resource_id == "abc")
        );
        assert_eq!(not_found.class(), ErrorClass::Terminal);

        let busy = parse(
            409,
            serde_json::json!({"type": "transient_state", "message": "resource is in a transient state",
                "resource": "container", "resource_id": "abc", "current_state": "updating"}),
        );
        assert!(
            matches!(&busy, Error::TransientState { current_state, .. } if current_state == "updating")
        );
        assert_eq!(busy.class(), ErrorClass::Transient);

        let invalid = parse(
            400,
            serde_json::json!({"type": "invalid_arguments", "message": "invalid argument(s)",
                "details": [{"argument_name": "max_scale", "reason": "constraint",
                             "help_message": "must be at least min_scale"}]}),
        );
        assert_eq!(invalid.reason(), "ScalewayInvalidArgument");
        assert!(
            invalid
                .to_string()
                .contains("max_scale (constraint): must be at least min_scale")
        );

        for (kind, status, reason) in [
            ("already_exists", 409, "ScalewayAlreadyExists"),
            ("denied_authentication", 401, "ScalewayUnauthorized"),
            ("permissions_denied", 403, "ScalewayForbidden"),
            ("quotas_exceeded", 403, "ScalewayQuotaExceeded"),
            ("locked", 423, "ScalewayConflict"),
            ("precondition_failed", 412, "ScalewayConflict"),
            ("out_of_stock", 503, "ScalewayServerError"),
        ] {
            let error = parse(status, serde_json::json!({"type": kind, "message": "m"}));
            assert_eq!(error.reason(), reason, "{kind}");
        }
    }

    #[test]
    fn rate_limit_carries_retry_after_from_header_or_body() {
        let from_header = from_response(
            ROUTE,
            429,
            Some(Duration::from_secs(3)),
            br#"{"type":"too_many_requests","help_message":"slow down"}"#,
        );
        assert_eq!(
            from_header.class(),
            ErrorClass::Throttled(Some(Duration::from_secs(3)))
        );
        let from_body = parse(
            429,
            serde_json::json!({"type": "too_many_requests", "help_message": "x", "reset_seconds": 2}),
        );
        assert_eq!(
            from_body.class(),
            ErrorClass::Throttled(Some(Duration::from_secs(2)))
        );
    }

    #[test]
    fn legacy_validation_error_and_untyped_bodies() {
        let legacy = parse(
            400,
            serde_json::json!({"message": "Validation Error", "fields": {"name": ["too long"]}}),
        );
        assert!(matches!(&legacy, Error::InvalidArgument { details, .. }
            if details[0].argument_name == "name"));
        let html = from_response(ROUTE, 502, None, b"<html>bad gateway</html>");
        assert!(matches!(html, Error::Server { status: 502, .. }));
        assert_eq!(html_class(), ErrorClass::Transient);
    }

    fn html_class() -> ErrorClass {
        from_response(ROUTE, 503, None, b"").class()
    }

    #[test]
    fn retry_after_header_parsing() {
        assert_eq!(parse_retry_after(Some("5")), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after(Some(" 0.5 ")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(parse_retry_after(Some("NaN")), None);
        assert_eq!(parse_retry_after(None), None);
        // Too large for a `Duration` (this panicked), or merely too long: capped.
        for huge in ["1e30", "inf", "86400"] {
            assert_eq!(
                parse_retry_after(Some(huge)),
                Some(MAX_RETRY_AFTER),
                "{huge}"
            );
        }
    }

    #[test]
    fn long_messages_are_truncated() {
        let error = parse(500, serde_json::json!({"message": "x".repeat(5000)}));
        assert!(error.to_string().len() < 1200);
    }

    #[test]
    fn storage_errors_keep_the_code_and_never_the_signature() {
        const ROUTE: Route = "PUT {upload_url}";
        let xml = b"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
            <Message>The request signature we calculated does not match</Message>\
            <StringToSign>AWS4 sig-0123456789abcdef</StringToSign></Error>";
        let error = from_storage_response(ROUTE, 403, None, xml, &["sig-0123456789abcdef"]);
        assert!(matches!(error, Error::Forbidden { .. }));
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("SignatureDoesNotMatch"), "{shown}");
        assert!(!shown.contains("sig-0123456789abcdef"), "{shown}");

        let expired =
            b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert_eq!(
            from_storage_response(ROUTE, 403, None, expired, &[]).reason(),
            "ScalewayForbidden"
        );
        let slow = b"<Error><Code>SlowDown</Code></Error>";
        assert_eq!(
            from_storage_response(ROUTE, 503, None, slow, &[]).class(),
            ErrorClass::Transient
        );
        let timeout = b"<Error><Code>RequestTimeout</Code></Error>";
        assert!(matches!(
            from_storage_response(ROUTE, 400, None, timeout, &[]),
            Error::Timeout { .. }
        ));
        let html =
            b"<html>bad gateway for https://s3/x?X-Amz-Signature=sig-0123456789abcdef</html>";
        let error = from_storage_response(ROUTE, 502, None, html, &[]);
        assert!(matches!(error, Error::Server { status: 502, .. }));
        assert!(!format!("{error} {error:?}").contains("sig-"));
        let json = br#"{"type":"not_found","resource":"function","resource_id":"f"}"#;
        assert!(from_storage_response(ROUTE, 404, None, json, &[]).is_not_found());
    }
}
