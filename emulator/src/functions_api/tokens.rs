//! Token operations (ListTokens, CreateToken, GetToken, DeleteToken; there is no PATCH).
//! CreateToken is deprecated upstream in favour of IAM, and still served. The token value is
//! in the answer to CreateToken only: the emulator keeps a salted hash of it (for the admin
//! dump), never the value.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use jiff::Timestamp;

use super::records::{TokenRecord, TokenScope};
use super::wire::{CreateTokenRequest, Token};
use crate::api::body::{QueryParams, json_body};
use crate::api::list::Paging;
use crate::api::{check_region, delete_leaf, ensure_usable_parent, find};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems, Reason};
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::Meta;
use crate::validate::check_uuid;
use crate::wire::common::ListBody;
use crate::wire::enums::Status;

/// Length of a token value.
const TOKEN_LEN: usize = 96;

/// A fresh token value from an unseeded generator (not reproducible from the emulator seed).
fn new_token_value() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = fastrand::Rng::new();
    (0..TOKEN_LEN)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect()
}

/// ListTokens: filters `function_id`, `namespace_id`.
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Token>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, None);
    let function_id = query.uuid(&mut problems, "function_id");
    let namespace_id = query.uuid(&mut problems, "namespace_id");
    problems.finish()?;
    let store = emulator.store(Now::capture());
    let matching = store
        .functions
        .tokens
        .values()
        .filter(|t| t.meta.region == region)
        .filter(|t| {
            function_id
                .as_ref()
                .is_none_or(|id| t.scope == TokenScope::Function(id.clone()))
        })
        .filter(|t| {
            namespace_id
                .as_ref()
                .is_none_or(|id| t.scope == TokenScope::Namespace(id.clone()))
        })
        .collect();
    let (page, total) = paging.apply(matching, |t: &TokenRecord| t.meta.id.as_str());
    Ok(Json(ListBody {
        plural: "tokens",
        items: page.into_iter().map(TokenRecord::to_wire).collect(),
        total_count: total,
    }))
}

/// CreateToken: exactly one of `function_id` / `namespace_id`; `expires_at` (RFC 3339)
/// must be in the future. The answer carries the token value, once.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Token>, ApiError> {
    check_region(&region)?;
    let request: CreateTokenRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let function_id = request.function_id.filter(|id| !id.is_empty());
    let namespace_id = request.namespace_id.filter(|id| !id.is_empty());
    let scope = match (function_id, namespace_id) {
        (Some(id), None) => {
            check_uuid(&mut problems, "function_id", &id);
            TokenScope::Function(id)
        }
        (None, Some(id)) => {
            check_uuid(&mut problems, "namespace_id", &id);
            TokenScope::Namespace(id)
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "scope",
                Reason::Required,
                "one of function_id or namespace_id is required",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "scope",
                Reason::Constraint,
                "only one of function_id or namespace_id may be set",
            ));
        }
    };
    let expires_at = match request.expires_at.filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => match text.parse::<Timestamp>() {
            Ok(at) if at > Timestamp::now() => Some(at),
            Ok(_) => {
                problems.push(
                    "expires_at",
                    Reason::Constraint,
                    "expires_at must be in the future",
                );
                None
            }
            Err(_) => {
                problems.push(
                    "expires_at",
                    Reason::Format,
                    "expires_at must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z",
                );
                None
            }
        },
    };
    problems.finish()?;

    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    match &scope {
        TokenScope::Function(id) => {
            super::attachable_function(&store, &region, id)?;
        }
        TokenScope::Namespace(id) => {
            let namespace = store
                .functions
                .namespaces
                .get(id)
                .filter(|ns| ns.meta.region == region)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "namespace_id",
                        Reason::Constraint,
                        format!("functions namespace {id} does not exist in region {region}"),
                    )
                })?;
            ensure_usable_parent(namespace)?;
        }
    }
    let value = new_token_value();
    let (id, seq) = store.next_identity();
    let record = TokenRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(now, Status::Creating, delay, Outcome::Ready),
        },
        scope,
        description: request.description,
        expires_at,
        value_hash: emulator.hasher().hash(&value),
    };
    let wire = record.to_wire_with(Some(value));
    store.functions.tokens.insert(id, record);
    Ok(Json(wire))
}

/// GetToken (without the value).
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Token>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(find(&store.functions.tokens, &region, &id)?.to_wire()))
}

/// DeleteToken: revokes the token.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Token>, ApiError> {
    delete_leaf(
        &emulator,
        &region,
        &id,
        |s| &mut s.functions.tokens,
        TokenRecord::to_wire,
    )
}
