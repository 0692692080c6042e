//! Function domain operations (ListDomains, CreateDomain, GetDomain, DeleteDomain; there is
//! no PATCH). A hostname is bound to one function or container at a time, across both APIs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::attachable_function;
use super::records::FnDomainRecord;
use super::wire::{CreateDomainRequest, Domain};
use crate::api::body::{QueryParams, json_body};
use crate::api::list::Paging;
use crate::api::{check_region, delete_leaf, find};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems};
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::Meta;
use crate::validate::{check_hostname, check_uuid, required_text};
use crate::wire::common::ListBody;
use crate::wire::enums::Status;

/// ListDomains: `function_id` required.
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Domain>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, Some("hostname"));
    if query.get("function_id").is_none() {
        problems.required("function_id");
    }
    let function_id = query.uuid(&mut problems, "function_id");
    problems.finish()?;
    let store = emulator.store(Now::capture());
    let matching = store
        .functions
        .domains
        .values()
        .filter(|d| d.meta.region == region && Some(&d.function_id) == function_id.as_ref())
        .collect();
    let (page, total) = paging.apply(matching, |d: &FnDomainRecord| d.hostname.as_str());
    Ok(Json(ListBody {
        plural: "domains",
        items: page.into_iter().map(FnDomainRecord::to_wire).collect(),
        total_count: total,
    }))
}

/// CreateDomain: `hostname` and `function_id` required; the hostname must be free.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Domain>, ApiError> {
    check_region(&region)?;
    let request: CreateDomainRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let hostname = required_text(&mut problems, "hostname", request.hostname);
    if !hostname.is_empty() {
        check_hostname(&mut problems, "hostname", &hostname);
    }
    let function_id = required_text(&mut problems, "function_id", request.function_id);
    if !function_id.is_empty() {
        check_uuid(&mut problems, "function_id", &function_id);
    }
    problems.finish()?;

    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    attachable_function(&store, &region, &function_id)?;
    store.ensure_hostname_free(&hostname)?;
    let (id, seq) = store.next_identity();
    let record = FnDomainRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(now, Status::Creating, delay, Outcome::Ready),
        },
        function_id,
        hostname,
    };
    let wire = record.to_wire();
    store.functions.domains.insert(id, record);
    Ok(Json(wire))
}

/// GetDomain.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Domain>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(
        find(&store.functions.domains, &region, &id)?.to_wire(),
    ))
}

/// DeleteDomain.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Domain>, ApiError> {
    delete_leaf(
        &emulator,
        &region,
        &id,
        |s| &mut s.functions.domains,
        FnDomainRecord::to_wire,
    )
}
