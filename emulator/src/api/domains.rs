//! Custom domain operations (ListDomains … DeleteDomain).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::body::{QueryParams, json_body};
use super::list::Paging;
use super::{check_region, delete_leaf, ensure_mutable, ensure_usable_parent, find, find_mut};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems, Reason};
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::{DomainRecord, Meta};
use crate::validate::{check_hostname, check_uuid, required_text};
use crate::wire::common::ListBody;
use crate::wire::domain::{CreateDomainRequest, Domain, UpdateDomainRequest};
use crate::wire::enums::Status;

/// ListDomains: filters `organization_id`, `project_id`, `namespace_id` (through the
/// container and its namespace) and `container_id`; ordered by `created_at` or `hostname`.
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Domain>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, Some("hostname"));
    let organization_id = query.uuid(&mut problems, "organization_id");
    let project_id = query.uuid(&mut problems, "project_id");
    let namespace_id = query.uuid(&mut problems, "namespace_id");
    let container_id = query.uuid(&mut problems, "container_id");
    problems.finish()?;

    let store = emulator.store(Now::capture());
    let matching = store
        .domains
        .values()
        .filter(|d| d.meta.region == region)
        .filter(|d| container_id.as_ref().is_none_or(|id| *id == d.container_id))
        .filter(|d| {
            let container = store.containers.get(&d.container_id);
            let namespace = container.and_then(|c| store.namespace_of(c));
            namespace_id
                .as_ref()
                .is_none_or(|id| container.is_some_and(|c| c.namespace_id == *id))
                && organization_id
                    .as_ref()
                    .is_none_or(|id| namespace.is_some_and(|ns| ns.organization_id == *id))
                && project_id
                    .as_ref()
                    .is_none_or(|id| namespace.is_some_and(|ns| ns.project_id == *id))
        })
        .collect();
    let (page, total) = paging.apply(matching, |d: &DomainRecord| d.hostname.as_str());
    let items: Vec<Domain> = page.into_iter().map(DomainRecord::to_wire).collect();
    Ok(Json(ListBody {
        plural: "domains",
        items,
        total_count: total,
    }))
}

/// CreateDomain: `container_id` and `hostname` required; the container must exist in this
/// region (else 400 on `container_id`) and be `ready`; hostnames are unique across the
/// emulator (409 `already_exists`).
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Domain>, ApiError> {
    check_region(&region)?;
    let request: CreateDomainRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let container_id = required_text(&mut problems, "container_id", request.container_id);
    if !container_id.is_empty() {
        check_uuid(&mut problems, "container_id", &container_id);
    }
    let hostname = required_text(&mut problems, "hostname", request.hostname);
    if !hostname.is_empty() {
        check_hostname(&mut problems, "hostname", &hostname);
    }
    problems.finish()?;

    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    let container = store
        .containers
        .get(&container_id)
        .filter(|c| c.meta.region == region)
        .ok_or_else(|| {
            ApiError::invalid(
                "container_id",
                Reason::Constraint,
                format!("container {container_id} does not exist in region {region}"),
            )
        })?;
    ensure_usable_parent(container)?;
    store.ensure_hostname_free(&hostname)?;
    let (id, seq) = store.next_identity();
    let record = DomainRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(now, Status::Creating, delay, Outcome::Ready),
        },
        container_id,
        hostname,
        tags: request.tags.unwrap_or_default(),
    };
    let wire = record.to_wire();
    store.domains.insert(id, record);
    Ok(Json(wire))
}

/// GetDomain.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Domain>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(find(&store.domains, &region, &id)?.to_wire()))
}

/// UpdateDomain: only `tags`, applied at once (no status change: nothing is redeployed).
pub(crate) async fn update(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Domain>, ApiError> {
    check_region(&region)?;
    let request: UpdateDomainRequest = json_body(&body)?;
    let now = Now::capture();
    let mut store = emulator.store(now);
    let domain = find_mut(&mut store.domains, &region, &id)?;
    ensure_mutable(domain)?;
    if let Some(tags) = request.tags {
        domain.tags = tags;
    }
    domain.meta.life.touch(now);
    Ok(Json(domain.to_wire()))
}

/// DeleteDomain: `deleting`, then gone.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Domain>, ApiError> {
    delete_leaf(
        &emulator,
        &region,
        &id,
        |s| &mut s.domains,
        DomainRecord::to_wire,
    )
}
