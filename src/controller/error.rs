//! Errors of a reconcile, each with a stable reason and a decision: retry soon, wait for a
//! dependency, or wait for the user to change something.

use std::time::Duration;

use crate::scaleway;

/// A failed reconcile step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Scaleway call failed.
    #[error("Scaleway {action} failed: {source}")]
    Scaleway {
        /// What we were doing (`create container`, `list containers`).
        action: &'static str,
        /// The classified API error.
        #[source]
        source: scaleway::Error,
    },
    /// A Kubernetes API call failed.
    #[error("Kubernetes {action} failed: {source}")]
    Kube {
        /// What we were doing.
        action: &'static str,
        /// The client error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The spec cannot be sent as it is; the user must change it.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// Something this object needs does not exist or is not ready yet.
    #[error("{0}")]
    DependencyNotReady(String),
    /// The object this one belongs to (its namespace, container or function) exists but is
    /// not Ready yet: progress, not a failure. Same reason as `DependencyNotReady`, but no
    /// Warning event (the condition says it, and the parent's own watch wakes this object).
    #[error("{0}")]
    ParentNotReady(String),
    /// A referenced Secret or key does not exist.
    #[error("{0}")]
    SecretNotFound(String),
    /// The credentials Secret is unusable.
    #[error("invalid credentials: {0}")]
    Credentials(String),
    /// A remote object with the wanted name belongs to another Kubernetes object.
    #[error("{0}")]
    NameConflict(String),
    /// A remote object with the wanted name exists, was not created for this object, and
    /// the adoption policy does not allow taking it over.
    #[error("{0}")]
    AdoptionRequired(String),
    /// The hostname of a domain is bound at Scaleway to something this object does not own
    /// (hostnames are unique across Scaleway).
    #[error("{0}")]
    HostnameTaken(String),
    /// Observe-only: the remote object to report does not exist.
    #[error("{0}")]
    RemoteNotFound(String),
    /// Writing an export target (ConfigMap or Secret) failed.
    #[error("could not write the export to {target}: {source}")]
    Export {
        /// `ConfigMap name` or `Secret name`.
        target: String,
        /// The client error (a conflict when another manager owns the keys).
        #[source]
        source: Box<kube::Error>,
    },
    /// Deletion is under way; the finalizer stays until it is done.
    #[error("{0}")]
    Deleting(String),
}

/// The spec field an API request field comes from: the same name in camelCase, except
/// where the spec uses Kubernetes units or another name. In a nested path the first segment
/// is renamed the same way and the rest is camelCased
/// (`cron_config.schedule` → `cron.schedule`, `liveness_probe.failure_threshold` →
/// `livenessProbe.failureThreshold`).
pub fn spec_field(api_field: &str) -> String {
    const RENAMED: &[(&str, &str)] = &[
        ("memory_limit_bytes", "memory"),
        ("memory_limit", "memory"),
        ("mvcpu_limit", "cpu"),
        ("local_storage_limit_bytes", "localStorage"),
        ("https_connection_only", "httpsOnly"),
        ("https_connections_only", "httpsOnly"),
        ("scaling_option", "scaling"),
        ("name", "name (metadata.name when spec.name is unset)"),
        ("container_id", "containerRef/containerId"),
        ("namespace_id", "namespaceRef/namespaceId"),
        ("function_id", "functionRef/functionId"),
        ("scw_sqs_config", "sqs"),
        ("scw_nats_config", "nats"),
        ("cron_config", "cron"),
        ("sqs_config", "sqs"),
        ("nats_config", "nats"),
        ("destination_config", "destination"),
        ("sqs_config.secret_access_key", "sqs.secretAccessKeyRef"),
        (
            "nats_config.credentials_file_content",
            "nats.credentialsRef",
        ),
    ];
    let renamed = |api: &str| {
        RENAMED
            .iter()
            .find(|(name, _)| *name == api)
            .map(|(_, spec)| (*spec).to_owned())
    };
    if let Some(spec) = renamed(api_field) {
        return spec;
    }
    let mut segments = api_field.split('.');
    let first = segments.next().unwrap_or_default();
    let first = renamed(first)
        .filter(|_| api_field.contains('.'))
        .unwrap_or_else(|| camel_case(first));
    std::iter::once(first)
        .chain(segments.map(camel_case))
        .collect::<Vec<_>>()
        .join(".")
}

/// `snake_case` → `snakeCase`.
fn camel_case(segment: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in segment.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// What to do after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Retry with backoff (5xx, transport, busy resource).
    Retry,
    /// Retry after this delay (the server asked for it).
    RetryAfter(Duration),
    /// Poll again later: a dependency may become ready by itself.
    WaitForDependency,
    /// Nothing will change until the spec, a Secret or the credentials change.
    Stalled,
    /// Work is under way (a deletion, a remote object in a transient state): poll.
    Poll,
    /// Look again at the object's resync period.
    Resync,
    /// Our copy of the object was behind the API server (a write's precondition failed):
    /// the watch brings the current one at once, so look again shortly (backoff from
    /// 100 ms instead of 1 s).
    Soon,
}

/// Whether a Kubernetes write failed only because it was made from an older copy of the
/// object than the server's: a 409 conflict, or a JSON patch whose `test` no longer holds
/// (kube-runtime adds the finalizer that way, and a reconcile started from a reflector
/// store that has not seen the finalizer yet fails so).
fn written_from_stale_copy(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => {
            status.code == 409 || (status.code == 422 && status.message.contains("testing value"))
        }
        _ => false,
    }
}

impl Error {
    /// The message for conditions and events: the error, and for a Scaleway validation
    /// error also the spec fields the rejected API fields come from (`max_scale` →
    /// `maxScale`, `mvcpu_limit` → `cpu`), so that users know what to change.
    pub fn user_message(&self) -> String {
        let text = self.to_string();
        let Self::Scaleway {
            source: scaleway::Error::InvalidArgument { details, .. },
            ..
        } = self
        else {
            return text;
        };
        let mut fields: Vec<String> = details
            .iter()
            .map(|d| spec_field(&d.argument_name))
            .collect();
        let mut seen = std::collections::HashSet::new();
        fields.retain(|field| seen.insert(field.clone()));
        if fields.is_empty() {
            text
        } else {
            format!("{text} (in the spec: {})", fields.join(", "))
        }
    }

    /// Wraps a Scaleway error with what we were doing.
    pub fn scaleway(action: &'static str) -> impl FnOnce(scaleway::Error) -> Error {
        move |source| Error::Scaleway { action, source }
    }

    /// Wraps a Kubernetes error with what we were doing.
    pub fn kube(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Kube {
            action,
            source: Box::new(source),
        }
    }

    /// Stable CamelCase reason: condition reason, event reason and metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Scaleway { source, .. } => source.reason(),
            Self::Kube { .. } => "KubernetesApiError",
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::DependencyNotReady(_) | Self::ParentNotReady(_) => "DependencyNotReady",
            Self::SecretNotFound(_) => "SecretNotFound",
            Self::Credentials(_) => "InvalidCredentials",
            Self::NameConflict(_) => "NameConflict",
            Self::AdoptionRequired(_) => "AdoptionRequired",
            Self::RemoteNotFound(_) => "RemoteNotFound",
            Self::HostnameTaken(_) => "HostnameTaken",
            Self::Export { .. } => "ExportFailed",
            Self::Deleting(_) => "Deleting",
        }
    }

    /// Whether a user should be told with a Warning event, not only in the conditions.
    pub fn warrants_event(&self) -> bool {
        !matches!(self, Self::ParentNotReady(_))
    }

    /// What to do about it.
    pub fn recovery(&self) -> Recovery {
        match self {
            // Busy (409 transient state): poll until it settles, then apply.
            Self::Scaleway {
                source: scaleway::Error::TransientState { .. },
                ..
            } => Recovery::Poll,
            Self::Scaleway { source, .. } => match source.class() {
                scaleway::ErrorClass::Transient => Recovery::Retry,
                scaleway::ErrorClass::Throttled(Some(delay)) => Recovery::RetryAfter(delay),
                scaleway::ErrorClass::Throttled(None) => Recovery::Retry,
                // Credentials can be fixed in the Secret, a quota raised, a lock lifted: poll
                // slowly rather than wait for a spec change that may never come.
                scaleway::ErrorClass::Terminal => match source {
                    scaleway::Error::InvalidArgument { .. } => Recovery::Stalled,
                    _ => Recovery::WaitForDependency,
                },
            },
            Self::Kube { source, .. } if written_from_stale_copy(source) => Recovery::Soon,
            Self::Kube { .. } | Self::Export { .. } => Recovery::Retry,
            Self::InvalidSpec(_) | Self::NameConflict(_) | Self::AdoptionRequired(_) => {
                Recovery::Stalled
            }
            // Someone may create it; look again at the resync pace, not in a loop.
            Self::RemoteNotFound(_) => Recovery::Resync,
            // The other binding may be removed: look again slowly.
            Self::DependencyNotReady(_)
            | Self::ParentNotReady(_)
            | Self::SecretNotFound(_)
            | Self::Credentials(_)
            | Self::HostnameTaken(_) => Recovery::WaitForDependency,
            Self::Deleting(_) => Recovery::Poll,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_fields_are_named_as_in_the_spec() {
        assert_eq!(spec_field("max_scale"), "maxScale");
        assert_eq!(spec_field("mvcpu_limit"), "cpu");
        assert_eq!(spec_field("memory_limit_bytes"), "memory");
        assert_eq!(
            spec_field("liveness_probe.failure_threshold"),
            "livenessProbe.failureThreshold"
        );
        assert_eq!(spec_field("cron_config.schedule"), "cron.schedule");
        assert_eq!(spec_field("sqs_config.queue_url"), "sqs.queueUrl");
        assert_eq!(
            spec_field("sqs_config.secret_access_key"),
            "sqs.secretAccessKeyRef"
        );
        assert_eq!(
            spec_field("destination_config.http_path"),
            "destination.httpPath"
        );
        assert_eq!(
            spec_field("scaling_option.cpu_usage_threshold"),
            "scaling.cpuUsageThreshold"
        );
        let error = Error::Scaleway {
            action: "create container",
            source: scaleway::Error::InvalidArgument {
                route: "POST /containers",
                message: "invalid".into(),
                details: vec![
                    scaleway::InvalidArgument {
                        argument_name: "max_scale".into(),
                        reason: "constraint".into(),
                        help_message: Some("must be at most 50".into()),
                    },
                    scaleway::InvalidArgument {
                        argument_name: "mvcpu_limit".into(),
                        reason: "constraint".into(),
                        help_message: None,
                    },
                ],
            },
        };
        let message = error.user_message();
        assert!(
            message.contains("max_scale (constraint): must be at most 50")
                && message.ends_with("(in the spec: maxScale, cpu)"),
            "{message}"
        );
        let other = Error::InvalidSpec("x".into());
        assert_eq!(other.user_message(), other.to_string());
    }

    #[test]
    fn recovery_follows_the_error_class() {
        let busy = Error::Scaleway {
            action: "update container",
            source: scaleway::Error::TransientState {
                route: "r",
                resource: "container".into(),
                resource_id: "x".into(),
                current_state: "updating".into(),
            },
        };
        assert_eq!(busy.recovery(), Recovery::Poll);
        assert_eq!(busy.reason(), "ScalewayTransientState");
        let limited = Error::Scaleway {
            action: "list containers",
            source: scaleway::Error::RateLimited {
                route: "r",
                retry_after: Some(Duration::from_secs(4)),
            },
        };
        assert_eq!(
            limited.recovery(),
            Recovery::RetryAfter(Duration::from_secs(4))
        );
        let invalid = Error::Scaleway {
            action: "create container",
            source: scaleway::Error::InvalidArgument {
                route: "r",
                message: "m".into(),
                details: vec![],
            },
        };
        assert_eq!(invalid.recovery(), Recovery::Stalled);
        assert_eq!(Error::InvalidSpec("x".into()).recovery(), Recovery::Stalled);
        assert_eq!(
            Error::SecretNotFound("x".into()).recovery(),
            Recovery::WaitForDependency
        );
        let stale = |code: u16, message: &str| Error::Kube {
            action: "add finalizer",
            source: Box::new(kube::Error::Api(
                kube::core::Status::failure(message, "Invalid")
                    .with_code(code)
                    .boxed(),
            )),
        };
        assert_eq!(
            stale(
                422,
                "x is invalid: testing value /metadata/finalizers failed"
            )
            .recovery(),
            Recovery::Soon
        );
        assert_eq!(stale(409, "conflict").recovery(), Recovery::Soon);
        assert_eq!(
            stale(422, "spec.image: Required value").recovery(),
            Recovery::Retry
        );
        let waiting = Error::ParentNotReady("ServerlessNamespace demo is not Ready yet".into());
        assert_eq!(waiting.recovery(), Recovery::WaitForDependency);
        assert_eq!(waiting.reason(), "DependencyNotReady");
        assert!(!waiting.warrants_event());
        assert!(Error::DependencyNotReady("x not found".into()).warrants_event());
    }
}
