//! Request bodies and query strings, with errors in the Scaleway format.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Problems, Reason};
use crate::ids::is_uuid;

/// Parses a JSON request body. Like the real API's gateway, which falls back to its JSON
/// marshaler for any media type, the `Content-Type` header is not checked (so
/// `application/json; charset=utf-8`, a missing header or curl's default all work). An empty
/// body counts as `{}`; unknown fields are ignored and `null` means absent. A body that does
/// not fit the schema is a 400 naming the JSON path of the offending field (or `body`).
pub(crate) fn json_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    let Some(first) = body.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Ok(T::default());
    };
    // serde's derived structs also accept JSON arrays (fields by position): refuse them.
    if *first != b'{' {
        return Err(ApiError::invalid(
            "body",
            Reason::Format,
            "the request body must be a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let argument = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        ApiError::invalid(argument, Reason::Format, error.into_inner().to_string())
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::invalid("body", Reason::Format, error.to_string()))?;
    Ok(value)
}

/// Decoded query parameters. An empty value counts as absent, like an unset proto field.
#[derive(Debug, Default)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// From axum's query extractor; a malformed query string is a 400.
    pub(crate) fn new(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    ) -> Result<Self, ApiError> {
        match query {
            Ok(Query(pairs)) => Ok(Self(pairs)),
            Err(rejection) => Err(ApiError::invalid(
                "query",
                Reason::Format,
                rejection.body_text(),
            )),
        }
    }

    /// Last non-empty value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(name, value)| name == key && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// An ID filter; it must be a UUID when present.
    pub(crate) fn uuid(&self, problems: &mut Problems, key: &str) -> Option<String> {
        let value = self.get(key)?;
        if is_uuid(value) {
            Some(value.to_owned())
        } else {
            problems.push(key, Reason::Format, format!("{key} must be a UUID"));
            None
        }
    }
}
