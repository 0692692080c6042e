//! String enums of the wire format.
//!
//! On input, the `unknown_*` member and `""` mean "not provided" (the Go SDK always sends the
//! enums of a container, set or not). Any other value outside the enum is a 400.

use crate::error::{Problems, Reason};

/// A closed set of strings with an `unknown_*` member.
pub(crate) trait WireEnum: Sized + Copy + PartialEq + 'static {
    /// The `unknown_*` member.
    const UNKNOWN: &'static str;
    /// Every other member with its text.
    const MEMBERS: &'static [(&'static str, Self)];

    /// Wire text of a member.
    fn as_str(self) -> &'static str {
        Self::MEMBERS
            .iter()
            .find(|(_, member)| *member == self)
            .map_or(Self::UNKNOWN, |(text, _)| text)
    }
}

/// Parses an optional enum field; `None`, `""` and the `unknown_*` member give `None`.
pub(crate) fn parse_enum<E: WireEnum>(
    problems: &mut Problems,
    field: &str,
    value: Option<&str>,
) -> Option<E> {
    let text = value?;
    if text.is_empty() || text == E::UNKNOWN {
        return None;
    }
    let found = E::MEMBERS
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, member)| *member);
    if found.is_none() {
        let allowed: Vec<&str> = E::MEMBERS.iter().map(|(name, _)| *name).collect();
        problems.push(
            field,
            Reason::Constraint,
            format!("{text:?} is not one of {}", allowed.join(", ")),
        );
    }
    found
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, unknown = $unknown:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name { $($(#[$vmeta])* $variant),+ }

        impl WireEnum for $name {
            const UNKNOWN: &'static str = $unknown;
            const MEMBERS: &'static [(&'static str, Self)] = &[$(($text, Self::$variant)),+];
        }
    };
}

wire_enum!(
    /// Life-cycle status shared by the four resources (the spec declares the same nine values
    /// in three orders; ordinals are never used).
    Status, unknown = "unknown_status", {
        /// Being redeployed to match the desired configuration.
        Updating => "updating",
        /// Being deleted; disappears afterwards.
        Deleting => "deleting",
        /// Being locked.
        Locking => "locking",
        /// Settled and usable.
        Ready => "ready",
        /// Settled in error (`error_message` says why).
        Error => "error",
        /// Cannot be modified.
        Locked => "locked",
        /// Being created.
        Creating => "creating",
        /// Planned maintenance.
        Upgrading => "upgrading",
        /// Functions v1beta1 only: being (re)deployed or updated.
        Pending => "pending",
        /// Functions v1beta1 only (functions): exists, never deployed.
        Created => "created",
    }
);

impl Status {
    /// The statuses the SDK waiters treat as transient; modifying a resource in one is a 409.
    pub(crate) fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Creating
                | Self::Updating
                | Self::Deleting
                | Self::Locking
                | Self::Upgrading
                | Self::Pending
        )
    }

    /// Parses any wire value except `unknown_status`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::MEMBERS
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, status)| *status)
    }
}

wire_enum!(
    /// `Container.privacy`.
    Privacy, unknown = "unknown_privacy", {
        /// Invocable without authentication (server default).
        Public => "public",
        /// Invocable with a token only.
        Private => "private",
    }
);

wire_enum!(
    /// `Container.protocol`.
    Protocol, unknown = "unknown_protocol", {
        /// HTTP/1 (server default).
        Http1 => "http1",
        /// HTTP/2 cleartext.
        H2c => "h2c",
    }
);

wire_enum!(
    /// `Container.sandbox`.
    Sandbox, unknown = "unknown_sandbox", {
        /// Legacy sandbox.
        V1 => "v1",
        /// Recommended sandbox (server default).
        V2 => "v2",
    }
);

wire_enum!(
    /// `destination_config.http_method` (lowercase only).
    HttpMethod, unknown = "unknown_http_method", {
        /// GET.
        Get => "get",
        /// POST (server default when no destination is given).
        Post => "post",
        /// PUT.
        Put => "put",
        /// PATCH.
        Patch => "patch",
        /// DELETE.
        Delete => "delete",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_empty_mean_absent() {
        let mut problems = Problems::default();
        assert_eq!(
            parse_enum::<Privacy>(&mut problems, "privacy", Some("unknown_privacy")),
            None
        );
        assert_eq!(
            parse_enum::<Privacy>(&mut problems, "privacy", Some("")),
            None
        );
        assert_eq!(parse_enum::<Privacy>(&mut problems, "privacy", None), None);
        assert_eq!(
            parse_enum::<Privacy>(&mut problems, "privacy", Some("private")),
            Some(Privacy::Private)
        );
        assert!(problems.finish().is_ok());
    }

    #[test]
    fn other_values_are_rejected() {
        let mut problems = Problems::default();
        assert_eq!(
            parse_enum::<HttpMethod>(&mut problems, "m", Some("POST")),
            None
        );
        assert!(problems.finish().is_err());
    }

    #[test]
    fn status_text_and_transience() {
        assert_eq!(Status::Creating.as_str(), "creating");
        assert_eq!(Status::parse("locked"), Some(Status::Locked));
        assert_eq!(Status::parse("unknown_status"), None);
        assert!(Status::Upgrading.is_transient());
        assert!(!Status::Error.is_transient());
        assert!(!Status::Locked.is_transient());
    }
}
