//! Wire types shared by several Functions resources: secrets and the creation-date order.

use serde::{Deserialize, Serialize};

use crate::scaleway::SecretString;

/// A secret environment variable in a request (`scaleway.functions.v1beta1.Secret`).
///
/// Unlike Containers v1 (a map), Functions sends secrets as a list. On update, keys not listed
/// stay unchanged, a key with a value is set or overwritten, and a key without a value
/// (`{"key": "K"}`) is deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Secret {
    /// Variable name.
    pub key: String,
    /// Clear value; `None` deletes the variable on update. Redacted in `Debug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretString>,
}

impl Secret {
    /// Sets (or overwrites) `key` to `value`.
    pub fn set(key: impl Into<String>, value: SecretString) -> Self {
        Self {
            key: key.into(),
            value: Some(value),
        }
    }

    /// Deletes `key` (an update only; meaningless on create).
    pub fn delete(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: None,
        }
    }
}

/// A secret environment variable as the server echoes it
/// (`scaleway.functions.v1beta1.SecretHashedValue`): a hash, never the clear value. The hash
/// algorithm is not documented.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct SecretHashedValue {
    /// Variable name.
    #[serde(default)]
    pub key: String,
    /// Hash of the value.
    #[serde(default)]
    pub hashed_value: String,
}

/// Sort orders of the lists that only sort by creation date (ListCrons, ListTokens,
/// ListTriggers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CreatedOrder {
    /// Oldest first (the API's default).
    #[default]
    CreatedAtAsc,
    /// Newest first.
    CreatedAtDesc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_set_and_delete_on_the_wire() {
        let body = serde_json::to_value([
            Secret::set("API_KEY", SecretString::new("clear-secret-value")),
            Secret::delete("OLD"),
        ])
        .unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!([{"key": "API_KEY", "value": "clear-secret-value"}, {"key": "OLD"}])
        );
    }

    #[test]
    fn debug_of_a_secret_never_shows_the_value() {
        let secret = Secret::set("API_KEY", SecretString::new("clear-secret-value"));
        let shown = format!("{secret:?} {:?}", vec![secret.clone()]);
        assert!(!shown.contains("clear-secret-value"), "{shown}");
        assert!(shown.contains("API_KEY"));
    }

    #[test]
    fn hashed_values_read_with_missing_fields() {
        let hashed: Vec<SecretHashedValue> =
            serde_json::from_str(r#"[{"key":"A","hashed_value":"$argon2id$x"},{"key":"B"}]"#)
                .unwrap_or_default();
        assert_eq!(hashed.len(), 2);
        assert_eq!(hashed[0].hashed_value, "$argon2id$x");
        assert_eq!(hashed[1].hashed_value, "");
    }

    #[test]
    fn created_order_wire_values() {
        let wire = serde_json::to_value([CreatedOrder::CreatedAtAsc, CreatedOrder::CreatedAtDesc])
            .unwrap_or_default();
        assert_eq!(
            wire,
            serde_json::json!(["created_at_asc", "created_at_desc"])
        );
    }
}
