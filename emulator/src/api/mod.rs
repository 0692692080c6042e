//! The Containers v1 routes and the checks every handler shares.

pub(crate) mod body;
mod containers;
mod domains;
pub(crate) mod list;
mod namespaces;
mod service_info;
mod triggers;

use std::collections::BTreeMap;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::emulator::Emulator;
use crate::error::{ApiError, Reason};
use crate::limits::REGIONS;
use crate::middleware;
use crate::store::records::Record;
use crate::wire::enums::{Status, WireEnum};

/// Prefix of every API route.
const BASE: &str = "/containers/v1/regions/{region}";

/// The API routes (with counting, faults and auth) merged with the admin routes.
pub(crate) fn router(emulator: Emulator) -> Router {
    let api = Router::new()
        .route(BASE, get(service_info::get))
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
            &format!("{BASE}/containers"),
            get(containers::list).post(containers::create),
        )
        .route(
            &format!("{BASE}/containers/{{container_id}}"),
            get(containers::get)
                .patch(containers::update)
                .delete(containers::delete),
        )
        .route(
            &format!("{BASE}/containers/{{container_id}}/redeploy"),
            post(containers::redeploy),
        )
        .route(
            &format!("{BASE}/domains"),
            get(domains::list).post(domains::create),
        )
        .route(
            &format!("{BASE}/domains/{{domain_id}}"),
            get(domains::get)
                .patch(domains::update)
                .delete(domains::delete),
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
        .merge(crate::functions_api::api_routes())
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .route_layer(from_fn_with_state(emulator.clone(), middleware::auth))
        .route_layer(from_fn_with_state(emulator.clone(), middleware::faults))
        .route_layer(from_fn_with_state(emulator.clone(), middleware::count));
    // Presigned URLs carry their own credential: counted and subject to faults, no token.
    let storage = crate::functions_api::storage_routes()
        .route_layer(from_fn_with_state(emulator.clone(), middleware::faults))
        .route_layer(from_fn_with_state(emulator.clone(), middleware::count));
    Router::new()
        .merge(api)
        .merge(storage)
        .nest("/__emulator", crate::admin::router())
        .fallback(middleware::unknown_route)
        .with_state(emulator)
}

/// The path region, if it is one of the spec's enum (else 400 on `region`).
pub(crate) fn check_region(region: &str) -> Result<(), ApiError> {
    if REGIONS.contains(&region) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "region",
            Reason::Constraint,
            format!(
                "unknown region {region:?}; expected one of {}",
                REGIONS.join(", ")
            ),
        ))
    }
}

/// The record with this ID in this region, else 404.
pub(crate) fn find<'a, R: Record>(
    table: &'a BTreeMap<String, R>,
    region: &str,
    id: &str,
) -> Result<&'a R, ApiError> {
    table
        .get(id)
        .filter(|record| record.region() == region)
        .ok_or_else(|| ApiError::not_found(R::KIND, id))
}

/// The record with this ID in this region, mutable, else 404.
pub(crate) fn find_mut<'a, R: Record>(
    table: &'a mut BTreeMap<String, R>,
    region: &str,
    id: &str,
) -> Result<&'a mut R, ApiError> {
    table
        .get_mut(id)
        .filter(|record| record.region() == region)
        .ok_or_else(|| ApiError::not_found(R::KIND, id))
}

/// A resource can be modified (PATCH, redeploy, DELETE) unless it is transient (409
/// `transient_state`) or locked (409 `locked`).
pub(crate) fn ensure_mutable<R: Record>(record: &R) -> Result<(), ApiError> {
    let status = record.life().status();
    if status.is_transient() {
        return Err(ApiError::TransientState {
            resource: R::KIND,
            resource_id: record.id().to_owned(),
            current_state: status.as_str(),
        });
    }
    if status == Status::Locked {
        return Err(ApiError::Locked {
            resource: R::KIND,
            resource_id: record.id().to_owned(),
        });
    }
    Ok(())
}

/// DeleteX of a resource without children, in any table: 404 when absent, 409 while busy,
/// else `deleting` now and gone after the delete delay. Answers its API representation.
pub(crate) fn delete_leaf<R: Record, W>(
    emulator: &Emulator,
    region: &str,
    id: &str,
    table: impl FnOnce(&mut crate::store::Store) -> &mut BTreeMap<String, R>,
    wire: impl FnOnce(&R) -> W,
) -> Result<axum::Json<W>, ApiError> {
    check_region(region)?;
    let now = crate::store::lifecycle::Now::capture();
    let delay = emulator.settings().delete_delay;
    let mut store = emulator.store(now);
    let record = find_mut(table(&mut store), region, id)?;
    ensure_mutable(record)?;
    record.life_mut().begin(
        now,
        Status::Deleting,
        delay,
        crate::store::lifecycle::Outcome::Gone,
    );
    Ok(axum::Json(wire(record)))
}

/// A parent can take a new child only when `ready`: transient → 409 `transient_state`,
/// locked → 409 `locked`, error → 412 `precondition_failed`.
pub(crate) fn ensure_usable_parent<R: Record>(record: &R) -> Result<(), ApiError> {
    ensure_mutable(record)?;
    if record.life().status() == Status::Error {
        return Err(ApiError::PreconditionFailed {
            precondition: "resource_not_usable",
            help_message: format!("{} {} is in error status", R::KIND, record.id()),
        });
    }
    Ok(())
}
