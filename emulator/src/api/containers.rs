//! Container operations (ListContainers … RedeployContainer).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde_json::Value;

use super::body::{QueryParams, json_body};
use super::list::Paging;
use super::{check_region, ensure_mutable, ensure_usable_parent, find, find_mut};
use crate::emulator::{Emulator, Settings};
use crate::error::{ApiError, Problems, Reason};
use crate::ids::is_uuid;
use crate::limits;
use crate::secret::SecretHasher;
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::{ContainerRecord, ContainerSpec, Meta, ProbeCheck, ProbeSpec, Scaling};
use crate::validate::{
    check_env_map, check_name, check_range, check_uuid, duration_in, required_text,
};
use crate::wire::common::ListBody;
use crate::wire::container::{
    Container, CreateContainerRequest, ProbeInput, ScalingOptionInput, UpdateContainerRequest,
};
use crate::wire::enums::{Privacy, Protocol, Sandbox, Status, parse_enum};

/// ListContainers: filters `organization_id`, `project_id` (through the namespace),
/// `namespace_id` and `name` (exact match).
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Container>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, Some("name"));
    let organization_id = query.uuid(&mut problems, "organization_id");
    let project_id = query.uuid(&mut problems, "project_id");
    let namespace_id = query.uuid(&mut problems, "namespace_id");
    let name = query.get("name");
    problems.finish()?;

    let store = emulator.store(Now::capture());
    let matching = store
        .containers
        .values()
        .filter(|c| c.meta.region == region)
        .filter(|c| namespace_id.as_ref().is_none_or(|id| *id == c.namespace_id))
        .filter(|c| name.is_none_or(|name| name == c.name))
        .filter(|c| {
            let namespace = store.namespace_of(c);
            organization_id
                .as_ref()
                .is_none_or(|id| namespace.is_some_and(|ns| ns.organization_id == *id))
                && project_id
                    .as_ref()
                    .is_none_or(|id| namespace.is_some_and(|ns| ns.project_id == *id))
        })
        .collect();
    let (page, total) = paging.apply(matching, |c: &ContainerRecord| c.name.as_str());
    let items: Vec<Container> = page.into_iter().map(ContainerRecord::to_wire).collect();
    Ok(Json(ListBody {
        plural: "containers",
        items,
        total_count: total,
    }))
}

/// CreateContainer: `namespace_id`, `name`, `image` required; the namespace must exist in
/// this region (else 400 on `namespace_id`) and be `ready`; the name is unique in it.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Container>, ApiError> {
    check_region(&region)?;
    let mut request: CreateContainerRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let namespace_id = required_text(&mut problems, "namespace_id", request.namespace_id.take());
    if !namespace_id.is_empty() {
        check_uuid(&mut problems, "namespace_id", &namespace_id);
    }
    let name = required_text(&mut problems, "name", request.name.take());
    if !name.is_empty() {
        check_name(&mut problems, "name", &name);
    }
    if request.image.as_deref().is_none_or(str::is_empty) {
        problems.required("image");
    }
    let mut spec = ContainerSpec::default();
    apply_patch(
        &mut spec,
        ContainerPatch::from(request),
        &mut problems,
        emulator.hasher(),
    );
    problems.finish()?;

    let now = Now::capture();
    let settings = emulator.settings();
    let mut store = emulator.store(now);
    let namespace = store
        .namespaces
        .get(&namespace_id)
        .filter(|ns| ns.meta.region == region)
        .ok_or_else(|| {
            ApiError::invalid(
                "namespace_id",
                Reason::Constraint,
                format!("namespace {namespace_id} does not exist in region {region}"),
            )
        })?;
    ensure_usable_parent(namespace)?;
    let public_endpoint = format!(
        "https://{}-{name}.functions.fnc.{region}.scw.cloud",
        namespace.endpoint_prefix
    );
    if let Some(existing) = store
        .containers
        .values()
        .find(|c| c.namespace_id == namespace_id && c.name == name)
    {
        return Err(ApiError::AlreadyExists {
            resource: "container",
            resource_id: existing.meta.id.clone(),
            help_message: format!(
                "a container named {name:?} already exists in namespace {namespace_id}"
            ),
        });
    }
    if let Some(quota) = settings.container_quota {
        let current = store.containers.len();
        if current >= quota {
            return Err(ApiError::QuotasExceeded {
                resource: "containers",
                quota,
                current,
            });
        }
    }
    let (id, seq) = store.next_identity();
    let outcome = rollout_outcome(settings, &spec.image);
    let record = ContainerRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::start(now, Status::Creating, settings.transition_delay, outcome),
        },
        namespace_id,
        name,
        public_endpoint,
        spec,
    };
    let wire = record.to_wire();
    store.containers.insert(id, record);
    Ok(Json(wire))
}

/// GetContainer.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Container>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(find(&store.containers, &region, &id)?.to_wire()))
}

/// UpdateContainer: every present field replaces the stored one; the container goes
/// `updating`, then `ready` (or `error` for a failing image).
pub(crate) async fn update(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Container>, ApiError> {
    check_region(&region)?;
    let request: UpdateContainerRequest = json_body(&body)?;
    let now = Now::capture();
    let settings = emulator.settings();
    let mut store = emulator.store(now);
    let container = find_mut(&mut store.containers, &region, &id)?;
    ensure_mutable(container)?;
    let mut problems = Problems::default();
    if request.image.as_deref() == Some("") {
        problems.push("image", Reason::Format, "image must not be empty");
    }
    let mut spec = container.spec.clone();
    apply_patch(
        &mut spec,
        ContainerPatch::from(request),
        &mut problems,
        emulator.hasher(),
    );
    problems.finish()?;
    let outcome = rollout_outcome(settings, &spec.image);
    container.spec = spec;
    container
        .meta
        .life
        .begin(now, Status::Updating, settings.transition_delay, outcome);
    Ok(Json(container.to_wire()))
}

/// DeleteContainer: the container and its domains and triggers go `deleting`, then disappear.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Container>, ApiError> {
    check_region(&region)?;
    let now = Now::capture();
    let delay = emulator.settings().delete_delay;
    let mut store = emulator.store(now);
    ensure_mutable(find(&store.containers, &region, &id)?)?;
    store.delete_container(&id, now, delay);
    Ok(Json(find(&store.containers, &region, &id)?.to_wire()))
}

/// RedeployContainer: body `{}` (an empty body is accepted too); `updating`, then `ready`
/// (or `error` for a failing image).
pub(crate) async fn redeploy(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Container>, ApiError> {
    check_region(&region)?;
    let _empty: serde_json::Map<String, Value> = json_body(&body)?;
    let now = Now::capture();
    let settings = emulator.settings();
    let mut store = emulator.store(now);
    let container = find_mut(&mut store.containers, &region, &id)?;
    ensure_mutable(container)?;
    let outcome = rollout_outcome(settings, &container.spec.image);
    container
        .meta
        .life
        .begin(now, Status::Updating, settings.transition_delay, outcome);
    Ok(Json(container.to_wire()))
}

/// `ready`, or `error` when the image matches the failing-image rule.
fn rollout_outcome(settings: &Settings, image: &str) -> Outcome {
    if settings.image_fails(image) {
        Outcome::Error(format!(
            "failed to pull image {image:?}: manifest unknown (emulated image pull failure)"
        ))
    } else {
        Outcome::Ready
    }
}

/// The configurable fields common to create and update bodies.
#[derive(Debug, Default)]
struct ContainerPatch {
    environment_variables: Option<BTreeMap<String, String>>,
    secret_environment_variables: Option<BTreeMap<String, String>>,
    min_scale: Option<u32>,
    max_scale: Option<u32>,
    memory_limit_bytes: Option<u64>,
    mvcpu_limit: Option<u32>,
    timeout: Option<String>,
    privacy: Option<String>,
    description: Option<String>,
    image: Option<String>,
    protocol: Option<String>,
    port: Option<u32>,
    https_connections_only: Option<bool>,
    sandbox: Option<String>,
    local_storage_limit_bytes: Option<u64>,
    scaling_option: Option<ScalingOptionInput>,
    liveness_probe: Option<ProbeInput>,
    startup_probe: Option<ProbeInput>,
    tags: Option<Vec<String>>,
    private_network_id: Option<String>,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
}

impl From<CreateContainerRequest> for ContainerPatch {
    fn from(r: CreateContainerRequest) -> Self {
        Self {
            environment_variables: r.environment_variables,
            secret_environment_variables: r.secret_environment_variables,
            min_scale: r.min_scale,
            max_scale: r.max_scale,
            memory_limit_bytes: r.memory_limit_bytes,
            mvcpu_limit: r.mvcpu_limit,
            timeout: r.timeout,
            privacy: r.privacy,
            description: r.description,
            image: r.image,
            protocol: r.protocol,
            port: r.port,
            https_connections_only: r.https_connections_only,
            sandbox: r.sandbox,
            local_storage_limit_bytes: r.local_storage_limit_bytes,
            scaling_option: r.scaling_option,
            liveness_probe: r.liveness_probe,
            startup_probe: r.startup_probe,
            tags: r.tags,
            private_network_id: r.private_network_id,
            command: r.command,
            args: r.args,
        }
    }
}

impl From<UpdateContainerRequest> for ContainerPatch {
    /// The update body spells the boolean `https_connection_only`; the resource's plural
    /// spelling is accepted too, the singular winning when both are present.
    fn from(r: UpdateContainerRequest) -> Self {
        Self {
            environment_variables: r.environment_variables,
            secret_environment_variables: r.secret_environment_variables,
            min_scale: r.min_scale,
            max_scale: r.max_scale,
            memory_limit_bytes: r.memory_limit_bytes,
            mvcpu_limit: r.mvcpu_limit,
            timeout: r.timeout,
            privacy: r.privacy,
            description: r.description,
            image: r.image,
            protocol: r.protocol,
            port: r.port,
            https_connections_only: r.https_connection_only.or(r.https_connections_only),
            sandbox: r.sandbox,
            local_storage_limit_bytes: r.local_storage_limit_bytes,
            scaling_option: r.scaling_option,
            liveness_probe: r.liveness_probe,
            startup_probe: r.startup_probe,
            tags: r.tags,
            private_network_id: r.private_network_id,
            command: r.command,
            args: r.args,
        }
    }
}

/// Validates `patch` and applies it to `spec`. Present maps and arrays replace the stored
/// ones whole; a present probe or scaling option replaces the stored one (absent sub-fields
/// take the server defaults). Problems are recorded, and the caller must discard `spec` if
/// any were.
fn apply_patch(
    spec: &mut ContainerSpec,
    patch: ContainerPatch,
    problems: &mut Problems,
    hasher: &SecretHasher,
) {
    if let Some(env) = patch.environment_variables {
        check_env_map(problems, "environment_variables", &env);
        spec.env = env;
    }
    if let Some(secret_env) = patch.secret_environment_variables {
        check_env_map(problems, "secret_environment_variables", &secret_env);
        spec.secret_env = hasher.hash_map(&secret_env, &spec.secret_env);
    }
    if let Some(min_scale) = patch.min_scale {
        check_range(problems, "min_scale", min_scale, &limits::MIN_SCALE);
        spec.min_scale = min_scale;
    }
    if let Some(max_scale) = patch.max_scale {
        check_range(problems, "max_scale", max_scale, &limits::MAX_SCALE);
        spec.max_scale = max_scale;
    }
    if spec.min_scale > spec.max_scale {
        problems.push(
            "min_scale",
            Reason::Constraint,
            format!(
                "min_scale ({}) must not exceed max_scale ({})",
                spec.min_scale, spec.max_scale
            ),
        );
    }
    if let Some(memory) = patch.memory_limit_bytes {
        check_range(
            problems,
            "memory_limit_bytes",
            memory,
            &limits::MEMORY_LIMIT_BYTES,
        );
        spec.memory_limit_bytes = memory;
    }
    if let Some(mvcpu) = patch.mvcpu_limit {
        check_range(problems, "mvcpu_limit", mvcpu, &limits::MVCPU_LIMIT);
        spec.mvcpu_limit = mvcpu;
    }
    if let Some(storage) = patch.local_storage_limit_bytes {
        check_range(
            problems,
            "local_storage_limit_bytes",
            storage,
            &limits::LOCAL_STORAGE_LIMIT_BYTES,
        );
        spec.local_storage_limit_bytes = storage;
    }
    if let Some(timeout) = patch.timeout
        && let Some(nanos) = duration_in(problems, "timeout", &timeout, &limits::TIMEOUT_SECONDS)
    {
        spec.timeout_nanos = nanos;
    }
    if let Some(privacy) = parse_enum::<Privacy>(problems, "privacy", patch.privacy.as_deref()) {
        spec.privacy = privacy;
    }
    if let Some(protocol) = parse_enum::<Protocol>(problems, "protocol", patch.protocol.as_deref())
    {
        spec.protocol = protocol;
    }
    if let Some(sandbox) = parse_enum::<Sandbox>(problems, "sandbox", patch.sandbox.as_deref()) {
        spec.sandbox = sandbox;
    }
    if let Some(description) = patch.description {
        spec.description = description;
    }
    if let Some(image) = patch.image.filter(|image| !image.is_empty()) {
        if image.chars().any(char::is_whitespace) {
            problems.push("image", Reason::Format, "image must not contain whitespace");
        }
        spec.image = image;
    }
    if let Some(port) = patch.port {
        check_range(problems, "port", port, &limits::PORT);
        spec.port = port;
    }
    if let Some(https_only) = patch.https_connections_only {
        spec.https_connections_only = https_only;
    }
    if let Some(scaling) = patch.scaling_option {
        spec.scaling = scaling_from(problems, scaling);
    }
    if let Some(probe) = patch.liveness_probe {
        spec.liveness = probe_from(
            problems,
            "liveness_probe",
            probe,
            limits::DEFAULT_LIVENESS_FAILURE_THRESHOLD,
        );
    }
    if let Some(probe) = patch.startup_probe {
        spec.startup = probe_from(
            problems,
            "startup_probe",
            probe,
            limits::DEFAULT_STARTUP_FAILURE_THRESHOLD,
        );
    }
    if let Some(tags) = patch.tags {
        spec.tags = tags;
    }
    if let Some(private_network_id) = patch.private_network_id {
        // An empty string detaches the container from its Private Network.
        if private_network_id.is_empty() {
            spec.private_network_id = None;
        } else {
            if !is_uuid(&private_network_id) {
                problems.push(
                    "private_network_id",
                    Reason::Format,
                    "private_network_id must be a UUID",
                );
            }
            spec.private_network_id = Some(private_network_id);
        }
    }
    if let Some(command) = patch.command {
        spec.command = command;
    }
    if let Some(args) = patch.args {
        spec.args = args;
    }
}

/// The `scaling_rule` one-of: at most one threshold; none gives the default rule. A `0`
/// threshold counts as unset (the Python SDK's `ContainerScalingOption` defaults every
/// threshold to 0, and no rule can scale on a zero threshold).
fn scaling_from(problems: &mut Problems, input: ScalingOptionInput) -> Scaling {
    let set = |value: Option<u32>| value.filter(|v| *v != 0);
    let candidates = [
        set(input.concurrent_requests_threshold).map(|v| {
            (
                "concurrent_requests_threshold",
                Scaling::ConcurrentRequests(v),
                v,
            )
        }),
        set(input.cpu_usage_threshold).map(|v| ("cpu_usage_threshold", Scaling::CpuUsage(v), v)),
        set(input.memory_usage_threshold)
            .map(|v| ("memory_usage_threshold", Scaling::MemoryUsage(v), v)),
    ];
    let chosen: Vec<_> = candidates.into_iter().flatten().collect();
    match chosen.as_slice() {
        [] => Scaling::ConcurrentRequests(limits::DEFAULT_CONCURRENT_REQUESTS_THRESHOLD),
        [(field, scaling, value)] => {
            let range = match scaling {
                Scaling::ConcurrentRequests(_) => &limits::CONCURRENT_REQUESTS_THRESHOLD,
                Scaling::CpuUsage(_) | Scaling::MemoryUsage(_) => &limits::USAGE_THRESHOLD_PERCENT,
            };
            check_range(problems, &format!("scaling_option.{field}"), *value, range);
            *scaling
        }
        _ => {
            problems.push(
                "scaling_option",
                Reason::Constraint,
                "set at most one of concurrent_requests_threshold, cpu_usage_threshold, memory_usage_threshold",
            );
            Scaling::ConcurrentRequests(limits::DEFAULT_CONCURRENT_REQUESTS_THRESHOLD)
        }
    }
}

/// A probe from its request form: at most one of `tcp` / `http` (none means TCP); `http`
/// needs a `path` starting with `/`.
fn probe_from(
    problems: &mut Problems,
    field: &str,
    input: ProbeInput,
    default_failure_threshold: u32,
) -> ProbeSpec {
    let mut probe = ProbeSpec::default_with(default_failure_threshold);
    if let Some(threshold) = input.failure_threshold {
        check_range(
            problems,
            &format!("{field}.failure_threshold"),
            threshold,
            &limits::PROBE_FAILURE_THRESHOLD,
        );
        probe.failure_threshold = threshold;
    }
    if let Some(interval) = input.interval {
        let name = format!("{field}.interval");
        if let Some(nanos) =
            duration_in(problems, &name, &interval, &limits::PROBE_DURATION_SECONDS)
        {
            probe.interval_nanos = nanos;
        }
    }
    if let Some(timeout) = input.timeout {
        let name = format!("{field}.timeout");
        if let Some(nanos) = duration_in(problems, &name, &timeout, &limits::PROBE_DURATION_SECONDS)
        {
            probe.timeout_nanos = nanos;
        }
    }
    match (input.tcp, input.http) {
        (Some(_), Some(_)) => {
            problems.push(field, Reason::Constraint, "set at most one of tcp or http");
        }
        (_, Some(http)) => {
            let path = http.path.unwrap_or_default();
            if path.is_empty() {
                problems.required(&format!("{field}.http.path"));
            } else if !path.starts_with('/') {
                problems.push(
                    format!("{field}.http.path"),
                    Reason::Format,
                    "path must start with '/'",
                );
            }
            probe.check = ProbeCheck::Http { path };
        }
        (_, None) => probe.check = ProbeCheck::Tcp,
    }
    probe
}
