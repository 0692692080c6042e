//! Function trigger operations (ListTriggers … DeleteTrigger): messages from a Scaleway
//! Messaging and Queuing SQS queue or NATS subject (seed 002), or from any SQS queue
//! (`sqs_config`, known from the SDKs only). The function and the source cannot change; a
//! PATCH renames, re-describes, or (for `sqs`) rotates the queue credentials.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::attachable_function;
use super::records::{FnTriggerRecord, FnTriggerSource};
use super::wire::{
    CreateTriggerRequest, MnqNatsConfig, MnqNatsInput, MnqSqsConfig, MnqSqsInput, SqsInput,
    Trigger, UpdateTriggerRequest,
};
use crate::api::body::{QueryParams, json_body};
use crate::api::list::Paging;
use crate::api::{check_region, delete_leaf, ensure_mutable, find, find_mut};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems, Reason};
use crate::limits::MNQ_REGIONS;
use crate::secret::SecretHasher;
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::Meta;
use crate::validate::{check_name, check_uuid, is_http_url, required_text};
use crate::wire::common::ListBody;
use crate::wire::enums::Status;

fn check_mnq_region(problems: &mut Problems, field: &str, region: &str) {
    if !MNQ_REGIONS.contains(&region) {
        problems.push(
            field,
            Reason::Constraint,
            format!(
                "Messaging and Queuing is available in {} only",
                MNQ_REGIONS.join(", ")
            ),
        );
    }
}

fn scw_sqs(problems: &mut Problems, input: MnqSqsInput) -> FnTriggerSource {
    let queue = required_text(problems, "scw_sqs_config.queue", input.queue);
    let project = required_text(
        problems,
        "scw_sqs_config.mnq_project_id",
        input.mnq_project_id,
    );
    if !project.is_empty() {
        check_uuid(problems, "scw_sqs_config.mnq_project_id", &project);
    }
    let region = required_text(problems, "scw_sqs_config.mnq_region", input.mnq_region);
    if !region.is_empty() {
        check_mnq_region(problems, "scw_sqs_config.mnq_region", &region);
    }
    FnTriggerSource::ScwSqs(MnqSqsConfig {
        queue,
        mnq_project_id: project,
        mnq_region: region,
        mnq_credential_id: None,
    })
}

fn scw_nats(problems: &mut Problems, input: MnqNatsInput) -> FnTriggerSource {
    let subject = required_text(problems, "scw_nats_config.subject", input.subject);
    let account = required_text(
        problems,
        "scw_nats_config.mnq_nats_account_id",
        input.mnq_nats_account_id,
    );
    let region = required_text(problems, "scw_nats_config.mnq_region", input.mnq_region);
    if !region.is_empty() {
        check_mnq_region(problems, "scw_nats_config.mnq_region", &region);
    }
    let project = input.mnq_project_id.unwrap_or_default();
    if !project.is_empty() {
        check_uuid(problems, "scw_nats_config.mnq_project_id", &project);
    }
    FnTriggerSource::ScwNats(MnqNatsConfig {
        subject,
        mnq_nats_account_id: account,
        mnq_project_id: project,
        mnq_region: region,
        mnq_credential_id: None,
    })
}

fn sqs(problems: &mut Problems, input: SqsInput, hasher: &SecretHasher) -> FnTriggerSource {
    let endpoint = required_text(problems, "sqs_config.endpoint", input.endpoint);
    let queue_url = required_text(problems, "sqs_config.queue_url", input.queue_url);
    for (field, url) in [
        ("sqs_config.endpoint", &endpoint),
        ("sqs_config.queue_url", &queue_url),
    ] {
        if !url.is_empty() && !is_http_url(url) {
            problems.push(field, Reason::Format, "must be an http(s) URL");
        }
    }
    let access_key = required_text(problems, "sqs_config.access_key", input.access_key);
    let secret_key = required_text(problems, "sqs_config.secret_key", input.secret_key);
    FnTriggerSource::Sqs {
        endpoint,
        queue_url,
        access_key,
        secret_key_hash: hasher.hash(&secret_key),
    }
}

/// ListTriggers: at most one of `function_id`, `namespace_id`, `project_id` (the SDKs'
/// one-of `scope`; seed 002 declares no filter).
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Trigger>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, None);
    let function_id = query.uuid(&mut problems, "function_id");
    let namespace_id = query.uuid(&mut problems, "namespace_id");
    let project_id = query.uuid(&mut problems, "project_id");
    let scopes = [&function_id, &namespace_id, &project_id]
        .iter()
        .filter(|scope| scope.is_some())
        .count();
    if scopes > 1 {
        problems.push(
            "scope",
            Reason::Constraint,
            "only one of function_id, namespace_id or project_id may be set",
        );
    }
    problems.finish()?;
    let store = emulator.store(Now::capture());
    let tables = &store.functions;
    let matching = tables
        .triggers
        .values()
        .filter(|t| t.meta.region == region)
        .filter(|t| function_id.as_ref().is_none_or(|id| *id == t.function_id))
        .filter(|t| {
            let function = tables.functions.get(&t.function_id);
            let namespace = function.and_then(|f| tables.namespaces.get(&f.namespace_id));
            namespace_id
                .as_ref()
                .is_none_or(|id| function.is_some_and(|f| f.namespace_id == *id))
                && project_id
                    .as_ref()
                    .is_none_or(|id| namespace.is_some_and(|ns| ns.project_id == *id))
        })
        .collect();
    let (page, total) = paging.apply(matching, |t: &FnTriggerRecord| t.name.as_str());
    Ok(Json(ListBody {
        plural: "triggers",
        items: page.into_iter().map(FnTriggerRecord::to_wire).collect(),
        total_count: total,
    }))
}

/// CreateTrigger: `name`, `function_id` and exactly one source config required.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Trigger>, ApiError> {
    check_region(&region)?;
    let request: CreateTriggerRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let name = required_text(&mut problems, "name", request.name);
    if !name.is_empty() {
        check_name(&mut problems, "name", &name);
    }
    let function_id = required_text(&mut problems, "function_id", request.function_id);
    if !function_id.is_empty() {
        check_uuid(&mut problems, "function_id", &function_id);
    }
    let mut sources = Vec::new();
    if let Some(input) = request.scw_sqs_config {
        sources.push(scw_sqs(&mut problems, input));
    }
    if let Some(input) = request.scw_nats_config {
        sources.push(scw_nats(&mut problems, input));
    }
    if let Some(input) = request.sqs_config {
        sources.push(sqs(&mut problems, input, emulator.hasher()));
    }
    let mut source = match <[FnTriggerSource; 1]>::try_from(sources) {
        Ok([source]) => source,
        Err(sources) => {
            let reason = if sources.is_empty() {
                Reason::Required
            } else {
                Reason::Constraint
            };
            return Err(ApiError::invalid(
                "config",
                reason,
                "exactly one of scw_sqs_config, scw_nats_config or sqs_config is required",
            ));
        }
    };
    problems.finish()?;

    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    let project_id = {
        let function = attachable_function(&store, &region, &function_id)?;
        store
            .functions
            .namespaces
            .get(&function.namespace_id)
            .map(|ns| ns.project_id.clone())
            .unwrap_or_default()
    };
    // The platform creates the MnQ credential it reads the queue with.
    let credential = store.random_uuid();
    match &mut source {
        FnTriggerSource::ScwSqs(config) => config.mnq_credential_id = Some(credential),
        FnTriggerSource::ScwNats(config) => {
            config.mnq_credential_id = Some(credential);
            if config.mnq_project_id.is_empty() {
                config.mnq_project_id = project_id;
            }
        }
        FnTriggerSource::Sqs { .. } => {}
    }
    let (id, seq) = store.next_identity();
    let record = FnTriggerRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(now, Status::Creating, delay, Outcome::Ready),
        },
        function_id,
        name,
        description: request.description.unwrap_or_default(),
        source,
    };
    let wire = record.to_wire();
    store.functions.triggers.insert(id, record);
    Ok(Json(wire))
}

/// GetTrigger.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Trigger>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(
        find(&store.functions.triggers, &region, &id)?.to_wire(),
    ))
}

/// UpdateTrigger: `name`, `description`, and for an `sqs` trigger its `access_key` /
/// `secret_key`; the trigger goes `pending`, then `ready`.
pub(crate) async fn update(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Trigger>, ApiError> {
    check_region(&region)?;
    let request: UpdateTriggerRequest = json_body(&body)?;
    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    let trigger = find_mut(&mut store.functions.triggers, &region, &id)?;
    ensure_mutable(trigger)?;
    let mut problems = Problems::default();
    let name = request.name.filter(|name| !name.is_empty());
    if let Some(name) = &name {
        check_name(&mut problems, "name", name);
    }
    let mut source = trigger.source.clone();
    if let Some(input) = request.sqs_config {
        match &mut source {
            FnTriggerSource::Sqs {
                access_key,
                secret_key_hash,
                ..
            } => {
                if let Some(key) = input.access_key.filter(|key| !key.is_empty()) {
                    *access_key = key;
                }
                if let Some(secret) = input.secret_key.filter(|secret| !secret.is_empty()) {
                    *secret_key_hash = emulator.hasher().hash(&secret);
                }
            }
            _ => problems.push(
                "sqs_config",
                Reason::Constraint,
                format!(
                    "the source of a trigger cannot change (this one is {})",
                    trigger.source.input_type()
                ),
            ),
        }
    }
    problems.finish()?;
    if let Some(name) = name {
        trigger.name = name;
    }
    if let Some(description) = request.description {
        trigger.description = description;
    }
    trigger.source = source;
    trigger
        .meta
        .life
        .begin(now, Status::Pending, delay, Outcome::Ready);
    Ok(Json(trigger.to_wire()))
}

/// DeleteTrigger.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Trigger>, ApiError> {
    delete_leaf(
        &emulator,
        &region,
        &id,
        |s| &mut s.functions.triggers,
        FnTriggerRecord::to_wire,
    )
}
