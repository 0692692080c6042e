//! Cron operations (ListCrons … DeleteCron). A cron is created `creating`, changed
//! `pending`, and settles `ready`; nothing about it is immutable (a PATCH may re-point it to
//! another function).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde_json::Value;

use super::attachable_function;
use super::records::CronRecord;
use super::wire::{Cron, CronRequest};
use crate::api::body::{QueryParams, json_body};
use crate::api::list::Paging;
use crate::api::{check_region, delete_leaf, ensure_mutable, find, find_mut};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems, Reason};
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::Meta;
use crate::validate::{check_cron_schedule, check_name, check_uuid, required_text};
use crate::wire::common::ListBody;
use crate::wire::enums::Status;

/// `args` must be a JSON object (`null` means absent).
fn check_args(problems: &mut Problems, args: Option<Value>) -> Option<Value> {
    match args {
        None | Some(Value::Null) => None,
        Some(object @ Value::Object(_)) => Some(object),
        Some(_) => {
            problems.push("args", Reason::Format, "args must be a JSON object");
            None
        }
    }
}

/// ListCrons: `function_id` required.
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Cron>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, None);
    if query.get("function_id").is_none() {
        problems.required("function_id");
    }
    let function_id = query.uuid(&mut problems, "function_id");
    problems.finish()?;
    let store = emulator.store(Now::capture());
    let matching = store
        .functions
        .crons
        .values()
        .filter(|c| c.meta.region == region && Some(&c.function_id) == function_id.as_ref())
        .collect();
    let (page, total) = paging.apply(matching, |c: &CronRecord| c.name.as_str());
    Ok(Json(ListBody {
        plural: "crons",
        items: page.into_iter().map(CronRecord::to_wire).collect(),
        total_count: total,
    }))
}

/// CreateCron: `function_id` and `schedule` required; `name` defaults to `cron-<random>`.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Cron>, ApiError> {
    check_region(&region)?;
    let request: CronRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let function_id = required_text(&mut problems, "function_id", request.function_id);
    if !function_id.is_empty() {
        check_uuid(&mut problems, "function_id", &function_id);
    }
    let schedule = required_text(&mut problems, "schedule", request.schedule);
    if !schedule.is_empty() {
        check_cron_schedule(&mut problems, "schedule", &schedule);
    }
    let args = check_args(&mut problems, request.args);
    let name = request.name.filter(|name| !name.is_empty());
    if let Some(name) = &name {
        check_name(&mut problems, "name", name);
    }
    problems.finish()?;

    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    attachable_function(&store, &region, &function_id)?;
    let (id, seq) = store.next_identity();
    let name = name.unwrap_or_else(|| format!("cron-{}", store.endpoint_suffix()));
    let record = CronRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(now, Status::Creating, delay, Outcome::Ready),
        },
        function_id,
        schedule,
        args: args.unwrap_or_else(|| Value::Object(Default::default())),
        name,
    };
    let wire = record.to_wire();
    store.functions.crons.insert(id, record);
    Ok(Json(wire))
}

/// GetCron.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Cron>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(find(&store.functions.crons, &region, &id)?.to_wire()))
}

/// UpdateCron: any present field replaces the stored one; the cron goes `pending`.
pub(crate) async fn update(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Cron>, ApiError> {
    check_region(&region)?;
    let request: CronRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let function_id = request.function_id.filter(|id| !id.is_empty());
    if let Some(function_id) = &function_id {
        check_uuid(&mut problems, "function_id", function_id);
    }
    let schedule = request.schedule.filter(|s| !s.is_empty());
    if let Some(schedule) = &schedule {
        check_cron_schedule(&mut problems, "schedule", schedule);
    }
    let args = check_args(&mut problems, request.args);
    let name = request.name.filter(|name| !name.is_empty());
    if let Some(name) = &name {
        check_name(&mut problems, "name", name);
    }
    problems.finish()?;

    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    ensure_mutable(find(&store.functions.crons, &region, &id)?)?;
    if let Some(function_id) = &function_id {
        attachable_function(&store, &region, function_id)?;
    }
    let cron = find_mut(&mut store.functions.crons, &region, &id)?;
    if let Some(function_id) = function_id {
        cron.function_id = function_id;
    }
    if let Some(schedule) = schedule {
        cron.schedule = schedule;
    }
    if let Some(args) = args {
        cron.args = args;
    }
    if let Some(name) = name {
        cron.name = name;
    }
    cron.meta
        .life
        .begin(now, Status::Pending, delay, Outcome::Ready);
    Ok(Json(cron.to_wire()))
}

/// DeleteCron.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Cron>, ApiError> {
    delete_leaf(
        &emulator,
        &region,
        &id,
        |s| &mut s.functions.crons,
        CronRecord::to_wire,
    )
}
