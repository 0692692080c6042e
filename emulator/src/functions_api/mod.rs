//! The Functions API v1beta1 (seed 002, 32 operations under
//! `/functions/v1beta1/regions/{region}/...`) and the object storage behind its presigned
//! upload and download URLs.
//!
//! It shares the store, the life-cycle engine, authentication, fault injection, request
//! counting, pagination and the error model with the Containers v1 routes, and keeps its own
//! wire shapes: the two APIs differ in secret encoding, statuses and field names (see the
//! table in `../../shared/design/api-functions.md` §5 and `README.md`).

mod crons;
mod domains;
mod functions;
mod namespaces;
pub(crate) mod records;
mod runtimes;
mod secrets;
mod storage;
pub(crate) mod tables;
mod tokens;
mod triggers;
mod wire;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::api::find;
use crate::emulator::Emulator;
use crate::error::{ApiError, Reason};
use crate::limits;
use crate::store::Store;
use crate::store::records::Record;
use crate::wire::enums::{Status, WireEnum};
use records::FunctionRecord;

/// Prefix of every Functions API route.
const BASE: &str = "/functions/v1beta1/regions/{region}";

/// The Functions API routes (authentication and the other layers are added by the caller).
pub(crate) fn api_routes() -> Router<Emulator> {
    Router::new()
        .route(
            &format!("{BASE}/namespaces"),
            get(namespaces::list).post(namespaces::create),
        )
        .route(
            &format!("{BASE}/namespaces/{{namespace_id}}"),
            get(namespaces::get)
                .patch(namespaces::update)
                .delete(namespaces::delete),
        )
        .route(
            &format!("{BASE}/functions"),
            get(functions::list).post(functions::create),
        )
        .route(
            &format!("{BASE}/functions/{{function_id}}"),
            get(functions::get)
                .patch(functions::update)
                .delete(functions::delete),
        )
        .route(
            &format!("{BASE}/functions/{{function_id}}/deploy"),
            post(functions::deploy),
        )
        .route(
            &format!("{BASE}/functions/{{function_id}}/upload-url"),
            get(functions::upload_url),
        )
        .route(
            &format!("{BASE}/functions/{{function_id}}/download-url"),
            get(functions::download_url),
        )
        .route(&format!("{BASE}/runtimes"), get(runtimes::list))
        .route(
            &format!("{BASE}/crons"),
            get(crons::list).post(crons::create),
        )
        .route(
            &format!("{BASE}/crons/{{cron_id}}"),
            get(crons::get).patch(crons::update).delete(crons::delete),
        )
        .route(
            &format!("{BASE}/domains"),
            get(domains::list).post(domains::create),
        )
        .route(
            &format!("{BASE}/domains/{{domain_id}}"),
            get(domains::get).delete(domains::delete),
        )
        .route(
            &format!("{BASE}/tokens"),
            get(tokens::list).post(tokens::create),
        )
        .route(
            &format!("{BASE}/tokens/{{token_id}}"),
            get(tokens::get).delete(tokens::delete),
        )
        .route(
            &format!("{BASE}/triggers"),
            get(triggers::list).post(triggers::create),
        )
        .route(
            &format!("{BASE}/triggers/{{trigger_id}}"),
            get(triggers::get)
                .patch(triggers::update)
                .delete(triggers::delete),
        )
}

/// The presigned-URL object routes: no `X-Auth-Token` (the URL's signature is the
/// credential), archives up to 100 MiB.
pub(crate) fn storage_routes() -> Router<Emulator> {
    let limit = usize::try_from(limits::ARCHIVE_MAX_BYTES).unwrap_or(usize::MAX);
    Router::new()
        .route(storage::OBJECT_ROUTE, put(storage::put).get(storage::get))
        .layer(DefaultBodyLimit::max(limit))
}

/// The function a cron, domain, trigger or token is attached to: it must exist in this
/// region (else 400 on `function_id`, like any body reference to a missing resource) and
/// neither be `deleting` (409 `transient_state`) nor `locked` (409 `locked`). Unlike a
/// container's children, these may be attached to a function that is not deployed yet.
pub(crate) fn attachable_function<'a>(
    store: &'a Store,
    region: &str,
    function_id: &str,
) -> Result<&'a FunctionRecord, ApiError> {
    let function = find(&store.functions.functions, region, function_id).map_err(|_| {
        ApiError::invalid(
            "function_id",
            Reason::Constraint,
            format!("function {function_id} does not exist in region {region}"),
        )
    })?;
    match function.life().status() {
        Status::Deleting => Err(ApiError::TransientState {
            resource: FunctionRecord::KIND,
            resource_id: function_id.to_owned(),
            current_state: Status::Deleting.as_str(),
        }),
        Status::Locked => Err(ApiError::Locked {
            resource: FunctionRecord::KIND,
            resource_id: function_id.to_owned(),
        }),
        _ => Ok(function),
    }
}
