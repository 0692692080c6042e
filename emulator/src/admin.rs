//! The admin API under `/__emulator/` (a prefix the real API never uses). It needs no token,
//! is never faulted and is not counted.
//!
//! | route | effect |
//! |---|---|
//! | `GET /__emulator/faults` | current [`Faults`] |
//! | `PUT /__emulator/faults` | replace them (absent fields take their defaults) |
//! | `GET /__emulator/requests` | `{"total": N, "routes": {"METHOD /template": n}}` |
//! | `GET /__emulator/state` | every resource, secrets hashed |
//! | `POST /__emulator/reset` | clear resources and request counts |
//! | `PATCH /__emulator/resources/{id}` | `{"status": "...", "error_message": "..."}` out of band |

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::body::json_body;
use crate::config::Faults;
use crate::emulator::Emulator;
use crate::error::{ApiError, Reason};
use crate::wire::enums::Status;

/// The admin routes, to be nested under `/__emulator`.
pub(crate) fn router() -> Router<Emulator> {
    Router::new()
        .route("/faults", get(get_faults).put(put_faults))
        .route("/requests", get(requests))
        .route("/state", get(state))
        .route("/reset", post(reset))
        .route("/resources/{id}", patch(patch_resource))
}

async fn get_faults(State(emulator): State<Emulator>) -> Json<Faults> {
    Json(emulator.faults())
}

async fn put_faults(
    State(emulator): State<Emulator>,
    body: Bytes,
) -> Result<Json<Faults>, ApiError> {
    let faults: Faults = json_body(&body)?;
    if let Some(field) = faults.invalid_rate() {
        return Err(ApiError::invalid(
            field,
            Reason::Constraint,
            "rates must be between 0 and 1",
        ));
    }
    emulator.set_faults(faults);
    Ok(Json(emulator.faults()))
}

async fn requests(State(emulator): State<Emulator>) -> Json<Value> {
    Json(json!({
        "total": emulator.total_requests(),
        "routes": emulator.request_counts(),
    }))
}

async fn state(State(emulator): State<Emulator>) -> Json<Value> {
    Json(emulator.state())
}

async fn reset(State(emulator): State<Emulator>) -> Json<Value> {
    emulator.reset();
    Json(json!({}))
}

/// Body of `PATCH /__emulator/resources/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResourcePatch {
    status: Option<String>,
    error_message: Option<String>,
}

async fn patch_resource(
    State(emulator): State<Emulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let patch: ResourcePatch = json_body(&body)?;
    let text = patch.status.unwrap_or_default();
    let Some(status) = Status::parse(&text) else {
        return Err(ApiError::invalid(
            "status",
            Reason::Constraint,
            "status must be one of updating, deleting, locking, ready, error, locked, creating, upgrading",
        ));
    };
    emulator
        .force_status(&id, status, patch.error_message)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("resource", id))
}
