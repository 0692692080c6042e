//! Wire types shared by every resource: string enums with a catch-all, statuses, durations.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a wire enum that serialises as its snake_case string and keeps any value it does
/// not know in `Unknown(String)`, so that a new server value never breaks deserialisation.
/// The first variant is the `unknown_*` member: the default, and what `""` reads as (as in
/// the SDKs).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident {
        $(#[$dmeta:meta])* $default:ident => $dwire:literal,
        $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[$dmeta])* $default,
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know (newer server), kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    Self::$default => $dwire,
                    $(Self::$variant => $wire,)+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $dwire | "" => Self::$default,
                    $($wire => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        /// The `unknown_*` value, which the API treats as "not set".
        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = String::deserialize(d)?;
                Ok(Self::from(value.as_str()))
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// Life-cycle status of a namespace, container, domain or trigger. The four resources
    /// declare the same nine values in different orders (digest §9.4); never rely on order.
    Status {
        /// The server sent no status (`unknown_status`, or an empty string).
        UnknownStatus => "unknown_status",
        Creating => "creating",
        Updating => "updating",
        Deleting => "deleting",
        Locking => "locking",
        Ready => "ready",
        Error => "error",
        Locked => "locked",
        Upgrading => "upgrading",
        /// Functions API only: a build or deployment is queued or running.
        Pending => "pending",
        /// Functions API only: the function exists but no code was deployed yet.
        Created => "created",
    }
}

impl Status {
    /// The statuses the official SDK wait helpers poll through: the resource will move on
    /// by itself, and the API refuses changes meanwhile.
    pub fn is_transient(&self) -> bool {
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
}

/// Deserialises a status, mapping `null` and `""` to `unknown_status` as the SDKs do.
pub(crate) fn status_or_unknown<'de, D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
    let value = Option::<String>::deserialize(d)?.unwrap_or_default();
    Ok(Status::from(value.as_str()))
}

/// A duration as the API encodes it: a decimal number of seconds with an `s` suffix
/// (`"300s"`, `"2.5s"`). Kept at millisecond precision, which is finer than any API limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiDuration(pub Duration);

impl ApiDuration {
    /// Parses the wire form (`"300s"`, `"2.5s"`, `"0.100s"`).
    pub fn parse(text: &str) -> Option<Self> {
        let number = text.trim().strip_suffix('s')?;
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs: u64 = whole.parse().ok()?;
        let mut nanos: u32 = 0;
        for (index, digit) in fraction.bytes().take(9).enumerate() {
            nanos += u32::from(digit - b'0') * 10u32.pow(8 - index as u32);
        }
        Some(Self(Duration::new(secs, nanos)))
    }
}

impl fmt::Display for ApiDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let millis = self.0.subsec_millis();
        if millis == 0 {
            write!(f, "{secs}s")
        } else {
            let fraction = format!("{millis:03}");
            write!(f, "{secs}.{}s", fraction.trim_end_matches('0'))
        }
    }
}

impl Serialize for ApiDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ApiDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid duration {text:?}")))
    }
}

/// Deserialises `null` (or a missing field, with `#[serde(default)]`) as the type's default,
/// the way the SDKs treat absent maps and arrays.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One page of a list call, with the server's total count across all pages.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match the filters across every page.
    pub total_count: u64,
}

/// Sort orders accepted by ListNamespaces, ListContainers and ListTriggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Oldest first (the API's default).
    #[default]
    CreatedAtAsc,
    /// Newest first.
    CreatedAtDesc,
    /// By name, A to Z.
    NameAsc,
    /// By name, Z to A.
    NameDesc,
}

/// Sort orders accepted by ListDomains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DomainListOrder {
    /// Oldest first (the API's default).
    #[default]
    CreatedAtAsc,
    /// Newest first.
    CreatedAtDesc,
    /// By hostname, A to Z.
    HostnameAsc,
    /// By hostname, Z to A.
    HostnameDesc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept() {
        let status: Status = serde_json::from_str("\"hibernating\"").unwrap_or_default();
        assert_eq!(status, Status::Unknown("hibernating".into()));
        assert_eq!(
            serde_json::to_string(&status).unwrap_or_default(),
            "\"hibernating\""
        );
        let ready: Status = serde_json::from_str("\"ready\"").unwrap_or_default();
        assert_eq!(ready, Status::Ready);
    }

    #[test]
    fn transient_statuses_match_the_sdk_waiters() {
        for transient in ["creating", "updating", "deleting", "locking", "upgrading"] {
            assert!(Status::from(transient).is_transient(), "{transient}");
        }
        for terminal in ["ready", "error", "locked", "unknown_status", "new_thing"] {
            assert!(!Status::from(terminal).is_transient(), "{terminal}");
        }
    }

    #[test]
    fn durations_round_trip_in_the_wire_form() {
        let cases = [
            ("300s", Duration::from_secs(300)),
            ("2.5s", Duration::from_millis(2500)),
            ("0.125s", Duration::from_millis(125)),
            ("0s", Duration::ZERO),
        ];
        for (wire, duration) in cases {
            assert_eq!(
                ApiDuration::parse(wire),
                Some(ApiDuration(duration)),
                "{wire}"
            );
            assert_eq!(ApiDuration(duration).to_string(), wire);
        }
        assert_eq!(
            ApiDuration::parse("2.50s"),
            Some(ApiDuration(Duration::from_millis(2500)))
        );
        for bad in ["", "s", "300", "-1s", "1.2.3s", "abcs", "1ms"] {
            assert_eq!(ApiDuration::parse(bad), None, "{bad}");
        }
    }
}
