//! Trigger operations (ListTriggers … DeleteTrigger).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::body::{QueryParams, json_body};
use super::list::Paging;
use super::{check_region, delete_leaf, ensure_mutable, ensure_usable_parent, find, find_mut};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems, Reason};
use crate::limits;
use crate::secret::SecretHasher;
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::{Destination, Meta, TriggerRecord, TriggerSource};
use crate::validate::{check_cron_schedule, check_name, check_uuid, is_http_url, required_text};
use crate::wire::common::ListBody;
use crate::wire::enums::{HttpMethod, Status, parse_enum};
use crate::wire::trigger::{
    CreateTriggerRequest, CronInput, DestinationInput, NatsInput, SqsInput, Trigger,
    UpdateTriggerRequest,
};

/// ListTriggers: filters `organization_id`, `project_id`, `namespace_id` (through the
/// container and its namespace) and `container_id`.
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Trigger>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, Some("name"));
    let organization_id = query.uuid(&mut problems, "organization_id");
    let project_id = query.uuid(&mut problems, "project_id");
    let namespace_id = query.uuid(&mut problems, "namespace_id");
    let container_id = query.uuid(&mut problems, "container_id");
    problems.finish()?;

    let store = emulator.store(Now::capture());
    let matching = store
        .triggers
        .values()
        .filter(|t| t.meta.region == region)
        .filter(|t| container_id.as_ref().is_none_or(|id| *id == t.container_id))
        .filter(|t| {
            let container = store.containers.get(&t.container_id);
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
    let (page, total) = paging.apply(matching, |t: &TriggerRecord| t.name.as_str());
    let items: Vec<Trigger> = page.into_iter().map(TriggerRecord::to_wire).collect();
    Ok(Json(ListBody {
        plural: "triggers",
        items,
        total_count: total,
    }))
}

/// CreateTrigger: `container_id`, `name` and exactly one source config required; the
/// container must exist in this region (else 400 on `container_id`) and be `ready`.
/// `source_type` is derived from the config. Without `destination_config` the trigger
/// POSTs to `/`.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Trigger>, ApiError> {
    check_region(&region)?;
    let request: CreateTriggerRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let container_id = required_text(&mut problems, "container_id", request.container_id);
    if !container_id.is_empty() {
        check_uuid(&mut problems, "container_id", &container_id);
    }
    let name = required_text(&mut problems, "name", request.name);
    if !name.is_empty() {
        check_name(&mut problems, "name", &name);
    }
    let default_destination = Destination {
        http_path: limits::DEFAULT_TRIGGER_HTTP_PATH.to_owned(),
        http_method: HttpMethod::Post,
    };
    let destination = match request.destination_config {
        Some(input) => destination_from(&mut problems, None, input),
        None => default_destination,
    };
    let sources = SourceInputs {
        cron: request.cron_config,
        sqs: request.sqs_config,
        nats: request.nats_config,
    };
    let source = source_from(&mut problems, None, sources, emulator.hasher());
    problems.finish()?;
    let Some(source) = source else {
        return Err(ApiError::invalid(
            "source_config",
            Reason::Required,
            SOURCE_HELP,
        ));
    };

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
    let (id, seq) = store.next_identity();
    let record = TriggerRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(now, Status::Creating, delay, Outcome::Ready),
        },
        container_id,
        name,
        description: request.description.unwrap_or_default(),
        tags: request.tags.unwrap_or_default(),
        destination,
        source,
    };
    let wire = record.to_wire();
    store.triggers.insert(id, record);
    Ok(Json(wire))
}

/// GetTrigger.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Trigger>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(find(&store.triggers, &region, &id)?.to_wire()))
}

/// UpdateTrigger: present fields replace the stored ones; inside `destination_config` and the
/// source config each present sub-field replaces the stored one. The source type cannot
/// change. The trigger goes `updating`, then `ready`.
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
    let trigger = find_mut(&mut store.triggers, &region, &id)?;
    ensure_mutable(trigger)?;
    let mut problems = Problems::default();
    if let Some(name) = &request.name {
        check_name(&mut problems, "name", name);
    }
    let destination = match request.destination_config {
        Some(input) => destination_from(&mut problems, Some(&trigger.destination), input),
        None => trigger.destination.clone(),
    };
    let sources = SourceInputs {
        cron: request.cron_config,
        sqs: request.sqs_config,
        nats: request.nats_config,
    };
    let source = source_from(
        &mut problems,
        Some(&trigger.source),
        sources,
        emulator.hasher(),
    );
    problems.finish()?;
    if let Some(source) = source {
        trigger.source = source;
    }
    if let Some(name) = request.name {
        trigger.name = name;
    }
    if let Some(description) = request.description {
        trigger.description = description;
    }
    if let Some(tags) = request.tags {
        trigger.tags = tags;
    }
    trigger.destination = destination;
    trigger
        .meta
        .life
        .begin(now, Status::Updating, delay, Outcome::Ready);
    Ok(Json(trigger.to_wire()))
}

/// DeleteTrigger: `deleting`, then gone.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Trigger>, ApiError> {
    delete_leaf(
        &emulator,
        &region,
        &id,
        |s| &mut s.triggers,
        TriggerRecord::to_wire,
    )
}

const SOURCE_HELP: &str = "exactly one of cron_config, sqs_config or nats_config is required";

/// A destination from its request form, over `base` (update) or from scratch (create, where
/// both sub-fields are required).
fn destination_from(
    problems: &mut Problems,
    base: Option<&Destination>,
    input: DestinationInput,
) -> Destination {
    let method = parse_enum::<HttpMethod>(
        problems,
        "destination_config.http_method",
        input.http_method.as_deref(),
    );
    let http_method = match (method, base) {
        (Some(method), _) => method,
        (None, Some(base)) => base.http_method,
        (None, None) => {
            problems.required("destination_config.http_method");
            HttpMethod::Post
        }
    };
    let http_path = match (input.http_path, base) {
        (Some(path), _) => {
            if path.is_empty() {
                problems.required("destination_config.http_path");
            } else if !path.starts_with('/') {
                problems.push(
                    "destination_config.http_path",
                    Reason::Format,
                    "http_path must start with '/'",
                );
            }
            path
        }
        (None, Some(base)) => base.http_path.clone(),
        (None, None) => {
            problems.required("destination_config.http_path");
            String::new()
        }
    };
    Destination {
        http_path,
        http_method,
    }
}

/// The three `source_config` candidates of a request.
struct SourceInputs {
    cron: Option<CronInput>,
    sqs: Option<SqsInput>,
    nats: Option<NatsInput>,
}

/// The source from the request's configs, over `base` on update. Returns `None` when the
/// request carries no config (no change on update; a recorded problem on create).
fn source_from(
    problems: &mut Problems,
    base: Option<&TriggerSource>,
    inputs: SourceInputs,
    hasher: &SecretHasher,
) -> Option<TriggerSource> {
    let present = [
        inputs.cron.is_some().then_some("cron_config"),
        inputs.sqs.is_some().then_some("sqs_config"),
        inputs.nats.is_some().then_some("nats_config"),
    ];
    let present: Vec<&str> = present.into_iter().flatten().collect();
    match present.as_slice() {
        [] => {
            if base.is_none() {
                problems.push("source_config", Reason::Required, SOURCE_HELP);
            }
            return None;
        }
        [field] => {
            if let Some(base) = base {
                let current = format!("{}_config", base.source_type());
                if current != *field {
                    problems.push(
                        *field,
                        Reason::Constraint,
                        format!(
                            "the source type of a trigger cannot change (it is {})",
                            base.source_type()
                        ),
                    );
                    return None;
                }
            }
        }
        _ => {
            problems.push("source_config", Reason::Constraint, SOURCE_HELP);
            return None;
        }
    }
    if let Some(input) = inputs.cron {
        return Some(cron_from(problems, base, input));
    }
    if let Some(input) = inputs.sqs {
        return Some(sqs_from(problems, base, input, hasher));
    }
    inputs
        .nats
        .map(|input| nats_from(problems, base, input, hasher))
}

fn cron_from(
    problems: &mut Problems,
    base: Option<&TriggerSource>,
    input: CronInput,
) -> TriggerSource {
    let (mut schedule, mut timezone, mut body, mut headers) = match base {
        Some(TriggerSource::Cron {
            schedule,
            timezone,
            body,
            headers,
        }) => (
            schedule.clone(),
            timezone.clone(),
            body.clone(),
            headers.clone(),
        ),
        _ => (String::new(), String::new(), String::new(), BTreeMap::new()),
    };
    overlay(&mut schedule, input.schedule);
    overlay(&mut timezone, input.timezone);
    if let Some(new_body) = input.body {
        body = new_body;
    }
    if let Some(new_headers) = input.headers {
        headers = new_headers;
    }
    if schedule.is_empty() {
        problems.required("cron_config.schedule");
    } else {
        check_cron_schedule(problems, "cron_config.schedule", &schedule);
    }
    if timezone.is_empty() {
        problems.required("cron_config.timezone");
    } else if jiff::tz::db().get(&timezone).is_err() {
        problems.push(
            "cron_config.timezone",
            Reason::Format,
            format!("{timezone:?} is not a tz database time zone (e.g. Europe/Paris)"),
        );
    }
    TriggerSource::Cron {
        schedule,
        timezone,
        body,
        headers,
    }
}

fn sqs_from(
    problems: &mut Problems,
    base: Option<&TriggerSource>,
    input: SqsInput,
    hasher: &SecretHasher,
) -> TriggerSource {
    let (mut region, mut endpoint, mut access_key_id, mut secret_hash, mut queue_url) = match base {
        Some(TriggerSource::Sqs {
            region,
            endpoint,
            access_key_id,
            secret_access_key_hash,
            queue_url,
        }) => (
            region.clone(),
            endpoint.clone(),
            access_key_id.clone(),
            secret_access_key_hash.clone(),
            queue_url.clone(),
        ),
        _ => Default::default(),
    };
    overlay(&mut region, input.region);
    overlay(&mut endpoint, input.endpoint);
    overlay(&mut access_key_id, input.access_key_id);
    overlay(&mut queue_url, input.queue_url);
    if let Some(secret) = input.secret_access_key.filter(|s| !s.is_empty())
        && secret != secret_hash
    {
        secret_hash = hasher.hash(&secret);
    }
    for (field, value) in [
        ("sqs_config.region", &region),
        ("sqs_config.endpoint", &endpoint),
        ("sqs_config.access_key_id", &access_key_id),
        ("sqs_config.secret_access_key", &secret_hash),
        ("sqs_config.queue_url", &queue_url),
    ] {
        if value.is_empty() {
            problems.required(field);
        }
    }
    for (field, value) in [
        ("sqs_config.endpoint", &endpoint),
        ("sqs_config.queue_url", &queue_url),
    ] {
        if !value.is_empty() && !is_http_url(value) {
            problems.push(field, Reason::Format, "must be an http:// or https:// URL");
        }
    }
    TriggerSource::Sqs {
        region,
        endpoint,
        access_key_id,
        secret_access_key_hash: secret_hash,
        queue_url,
    }
}

fn nats_from(
    problems: &mut Problems,
    base: Option<&TriggerSource>,
    input: NatsInput,
    hasher: &SecretHasher,
) -> TriggerSource {
    let (mut server_urls, mut subject, mut credentials_hash) = match base {
        Some(TriggerSource::Nats {
            server_urls,
            subject,
            credentials_file_content_hash,
        }) => (
            server_urls.clone(),
            subject.clone(),
            credentials_file_content_hash.clone(),
        ),
        _ => Default::default(),
    };
    if let Some(urls) = input.server_urls {
        server_urls = urls;
    }
    overlay(&mut subject, input.subject);
    if let Some(content) = input.credentials_file_content.filter(|c| !c.is_empty())
        && content != credentials_hash
    {
        credentials_hash = hasher.hash(&content);
    }
    if server_urls.is_empty() {
        problems.required("nats_config.server_urls");
    }
    for url in &server_urls {
        let valid = url
            .split_once("://")
            .is_some_and(|(scheme, host)| !scheme.is_empty() && !host.is_empty());
        if !valid {
            problems.push(
                "nats_config.server_urls",
                Reason::Format,
                format!(
                    "{url:?} is not a server URL such as nats://nats.mnq.fr-par.scaleway.com:4222"
                ),
            );
        }
    }
    if subject.is_empty() {
        problems.required("nats_config.subject");
    }
    if credentials_hash.is_empty() {
        problems.required("nats_config.credentials_file_content");
    }
    TriggerSource::Nats {
        server_urls,
        subject,
        credentials_file_content_hash: credentials_hash,
    }
}

/// Replaces `target` with a present, non-empty `value`.
fn overlay(target: &mut String, value: Option<String>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        *target = value;
    }
}
