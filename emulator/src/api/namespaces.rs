//! Namespace operations (ListNamespaces … DeleteNamespace).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::body::{QueryParams, json_body};
use super::list::Paging;
use super::{check_region, ensure_mutable, find, find_mut};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems};
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::{Meta, NamespaceRecord};
use crate::validate::{check_env_map, check_name, check_uuid, required_text};
use crate::wire::common::ListBody;
use crate::wire::enums::Status;
use crate::wire::namespace::{CreateNamespaceRequest, Namespace, UpdateNamespaceRequest};

/// ListNamespaces: filters `organization_id`, `project_id`, `name` (exact match).
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Namespace>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, Some("name"));
    let organization_id = query.uuid(&mut problems, "organization_id");
    let project_id = query.uuid(&mut problems, "project_id");
    let name = query.get("name");
    problems.finish()?;

    let store = emulator.store(Now::capture());
    let matching = store
        .namespaces
        .values()
        .filter(|ns| ns.meta.region == region)
        .filter(|ns| {
            organization_id
                .as_ref()
                .is_none_or(|id| *id == ns.organization_id)
        })
        .filter(|ns| project_id.as_ref().is_none_or(|id| *id == ns.project_id))
        .filter(|ns| name.is_none_or(|name| name == ns.name))
        .collect();
    let (page, total) = paging.apply(matching, |ns: &NamespaceRecord| ns.name.as_str());
    let items: Vec<Namespace> = page.into_iter().map(NamespaceRecord::to_wire).collect();
    Ok(Json(ListBody {
        plural: "namespaces",
        items,
        total_count: total,
    }))
}

/// CreateNamespace: `project_id` and `name` required; name unique per project and region.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Namespace>, ApiError> {
    check_region(&region)?;
    let request: CreateNamespaceRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let name = required_text(&mut problems, "name", request.name);
    if !name.is_empty() {
        check_name(&mut problems, "name", &name);
    }
    let project_id = required_text(&mut problems, "project_id", request.project_id);
    if !project_id.is_empty() {
        check_uuid(&mut problems, "project_id", &project_id);
    }
    let env = request.environment_variables.unwrap_or_default();
    let secret_env = request.secret_environment_variables.unwrap_or_default();
    check_env_map(&mut problems, "environment_variables", &env);
    check_env_map(&mut problems, "secret_environment_variables", &secret_env);
    problems.finish()?;

    let now = Now::capture();
    let settings = emulator.settings();
    let mut store = emulator.store(now);
    if let Some(existing) = store
        .namespaces
        .values()
        .find(|ns| ns.meta.region == region && ns.project_id == project_id && ns.name == name)
    {
        return Err(ApiError::AlreadyExists {
            resource: "namespace",
            resource_id: existing.meta.id.clone(),
            help_message: format!(
                "a namespace named {name:?} already exists in project {project_id}"
            ),
        });
    }
    let (id, seq) = store.next_identity();
    let endpoint_prefix = format!("{name}{}", store.endpoint_suffix());
    let record = NamespaceRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(
                now,
                Status::Creating,
                settings.transition_delay,
                Outcome::Ready,
            ),
        },
        name,
        project_id,
        organization_id: settings.organization_id.clone(),
        description: request.description.unwrap_or_default(),
        env,
        secret_env: emulator.hasher().hash_map(&secret_env, &Default::default()),
        tags: request.tags.unwrap_or_default(),
        endpoint_prefix,
    };
    let wire = record.to_wire();
    store.namespaces.insert(id, record);
    Ok(Json(wire))
}

/// GetNamespace.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Namespace>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(find(&store.namespaces, &region, &id)?.to_wire()))
}

/// UpdateNamespace: description, environment variables (whole maps) and tags; the namespace
/// goes `updating` then `ready`.
pub(crate) async fn update(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Namespace>, ApiError> {
    check_region(&region)?;
    let request: UpdateNamespaceRequest = json_body(&body)?;
    let mut problems = Problems::default();
    if let Some(env) = &request.environment_variables {
        check_env_map(&mut problems, "environment_variables", env);
    }
    if let Some(secret_env) = &request.secret_environment_variables {
        check_env_map(&mut problems, "secret_environment_variables", secret_env);
    }

    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    let namespace = find_mut(&mut store.namespaces, &region, &id)?;
    ensure_mutable(namespace)?;
    problems.finish()?;
    if let Some(description) = request.description {
        namespace.description = description;
    }
    if let Some(env) = request.environment_variables {
        namespace.env = env;
    }
    if let Some(secret_env) = request.secret_environment_variables {
        namespace.secret_env = emulator
            .hasher()
            .hash_map(&secret_env, &namespace.secret_env);
    }
    if let Some(tags) = request.tags {
        namespace.tags = tags;
    }
    namespace
        .meta
        .life
        .begin(now, Status::Updating, delay, Outcome::Ready);
    Ok(Json(namespace.to_wire()))
}

/// DeleteNamespace: the namespace, its containers and their domains and triggers go
/// `deleting` and disappear together.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Namespace>, ApiError> {
    check_region(&region)?;
    let now = Now::capture();
    let delay = emulator.settings().delete_delay;
    let mut store = emulator.store(now);
    ensure_mutable(find(&store.namespaces, &region, &id)?)?;
    store.delete_namespace(&id, now, delay);
    Ok(Json(find(&store.namespaces, &region, &id)?.to_wire()))
}
