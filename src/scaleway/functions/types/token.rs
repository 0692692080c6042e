//! Token wire types (`scaleway.functions.v1beta1.Token` and its request): credentials to
//! call private functions. Tokens have no update; revoking one means deleting it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::scaleway::SecretString;
use crate::scaleway::types::{null_as_default, string_enum};

string_enum! {
    /// Life-cycle status of a token.
    TokenStatus {
        /// The server sent no status (`unknown`, an empty string or `null`).
        UnknownStatus => "unknown",
        Ready => "ready",
        Deleting => "deleting",
        Error => "error",
        Creating => "creating",
    }
}

impl TokenStatus {
    /// The statuses the official SDK waiters poll through (`creating`, `deleting`).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting)
    }
}

/// Reads the token value: `null`, a missing field and `""` all mean "not shown".
fn token_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.filter(|v| !v.is_empty()).map(SecretString::new))
}

/// A token as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct Token {
    /// Token ID (UUID).
    pub id: String,
    /// The token itself: present only in the answer to CreateToken (the server does not
    /// keep it, so it cannot be read again). Redacted in `Debug`, and never serialised
    /// back out.
    #[serde(default, deserialize_with = "token_value", skip_serializing)]
    pub token: Option<SecretString>,
    /// Function the token grants access to (one-of `scope` with `namespace_id`).
    #[serde(default)]
    pub function_id: Option<String>,
    /// Namespace the token grants access to (one-of `scope` with `function_id`).
    #[serde(default)]
    pub namespace_id: Option<String>,
    /// Deprecated upstream.
    #[serde(default)]
    pub public_key: Option<String>,
    /// Life-cycle status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: TokenStatus,
    /// Description (`null` reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Expiry time (RFC 3339); `None` never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
}

impl Token {
    /// What the token grants access to, when the server said.
    pub fn scope(&self) -> Option<TokenScope> {
        match (&self.function_id, &self.namespace_id) {
            (Some(function), _) if !function.is_empty() => {
                Some(TokenScope::FunctionId(function.clone()))
            }
            (_, Some(namespace)) if !namespace.is_empty() => {
                Some(TokenScope::NamespaceId(namespace.clone()))
            }
            _ => None,
        }
    }
}

/// What a token grants access to (one-of `scope`): exactly one function or one namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// One function (`function_id`).
    FunctionId(String),
    /// Every function of one namespace (`namespace_id`).
    NamespaceId(String),
}

/// Body of CreateToken. The API deprecates CreateToken in favour of IAM authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreateTokenRequest {
    /// The function or namespace the token is for (sent as `function_id` or
    /// `namespace_id`).
    #[serde(flatten)]
    pub scope: TokenScope,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Expiry time (RFC 3339; the field is `expires_at`, not the quickstart's `expire_at`).
    /// Without it the token never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// Filters of ListTokens (both optional).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct TokenFilter {
    /// Only tokens of this function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    /// Only tokens of this namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "eyJhbGciOiJSUzI1NiJ9.token-clear-value";

    fn read(json: serde_json::Value) -> Token {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_create_answer_carries_the_value_and_debug_hides_it() {
        let token = read(serde_json::json!({
            "id": "t", "token": VALUE, "function_id": "f", "namespace_id": null,
            "public_key": "pk", "status": "ready", "description": null,
            "expires_at": "2030-01-01T00:00:00Z"
        }));
        assert_eq!(token.token.as_ref().map(SecretString::expose), Some(VALUE));
        assert_eq!(token.scope(), Some(TokenScope::FunctionId("f".into())));
        assert_eq!(token.status, TokenStatus::Ready);
        let shown = format!("{token:?} {:?}", vec![token.clone()]);
        assert!(!shown.contains(VALUE), "{shown}");
        let json = serde_json::to_string(&token).unwrap_or_default();
        assert!(!json.contains(VALUE), "{json}");
        let again = read(serde_json::from_str(&json).unwrap_or_default());
        assert_eq!(again.token, None);
        assert_eq!(
            Token {
                token: None,
                ..token
            },
            again
        );
    }

    #[test]
    fn get_answers_without_a_value_and_unknown_status() {
        for value in [serde_json::json!(null), serde_json::json!("")] {
            let token = read(serde_json::json!({"id": "t", "token": value, "namespace_id": "n"}));
            assert_eq!(token.token, None);
            assert_eq!(token.scope(), Some(TokenScope::NamespaceId("n".into())));
        }
        let token = read(serde_json::json!({"id": "t", "status": "revoked"}));
        assert_eq!(token.token, None);
        assert_eq!(token.scope(), None);
        assert_eq!(token.status, TokenStatus::Unknown("revoked".into()));
        assert!(TokenStatus::Creating.is_transient());
        assert!(!TokenStatus::from("pending").is_transient());
    }

    #[test]
    fn create_body_sends_exactly_one_scope() {
        let request = CreateTokenRequest {
            scope: TokenScope::NamespaceId("n".into()),
            description: None,
            expires_at: Some("2030-01-01T00:00:00Z".into()),
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap_or_default(),
            serde_json::json!({"namespace_id": "n", "expires_at": "2030-01-01T00:00:00Z"})
        );
        let request = CreateTokenRequest {
            scope: TokenScope::FunctionId("f".into()),
            description: Some("ci".into()),
            expires_at: None,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap_or_default(),
            serde_json::json!({"function_id": "f", "description": "ci"})
        );
    }
}
