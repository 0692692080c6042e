//! Function operations (ListFunctions … GetFunctionDownloadURL).
//!
//! Life cycle chosen here (seed 002 lists the statuses, not the transitions): a new function
//! is `created` (it has no code); DeployFunction puts it in `pending` (with a
//! `build_message`) and, after the transition delay, in `ready` (`ready_at` set) or in
//! `error` when there is no uploaded archive, the archive is not a zip file or no runtime is
//! set. UpdateFunction redeploys the same way a function that was deployed before, unless the
//! request says `redeploy: false`; a function never deployed stays `created`.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;

use super::records::{Archive, FunctionRecord, FunctionSpec, HttpOption, Rollout};
use super::storage::{Grant, base_url, presign};
use super::wire::{
    CreateFunctionRequest, Function, FunctionSettings, PresignedUrl, UpdateFunctionRequest,
};
use super::{runtimes, secrets};
use crate::api::body::{QueryParams, json_body};
use crate::api::list::Paging;
use crate::api::{check_region, ensure_mutable, ensure_usable_parent, find, find_mut};
use crate::emulator::Emulator;
use crate::error::{ApiError, Problems, Reason};
use crate::limits;
use crate::secret::SecretHasher;
use crate::store::lifecycle::{Lifecycle, Now, Outcome};
use crate::store::records::Meta;
use crate::validate::{
    check_env_map, check_name, check_range, check_uuid, duration_in, required_text,
};
use crate::wire::common::{ListBody, seconds};
use crate::wire::enums::{Privacy, Sandbox, Status, parse_enum};

impl Default for FunctionSpec {
    /// Server defaults (see `limits.rs`).
    fn default() -> Self {
        Self {
            env: BTreeMap::new(),
            secret_env: BTreeMap::new(),
            min_scale: limits::DEFAULT_MIN_SCALE,
            max_scale: limits::DEFAULT_FUNCTION_MAX_SCALE,
            runtime: None,
            memory_limit_mb: limits::DEFAULT_FUNCTION_MEMORY_MB,
            timeout_nanos: seconds(limits::DEFAULT_TIMEOUT_SECONDS),
            handler: None,
            privacy: Privacy::Public,
            description: None,
            http_option: HttpOption::Enabled,
            sandbox: Sandbox::V2,
            tags: Vec::new(),
            private_network_id: None,
        }
    }
}

/// Applies the present settings to `spec`, recording every problem.
fn apply_settings(
    spec: &mut FunctionSpec,
    settings: FunctionSettings,
    problems: &mut Problems,
    hasher: &SecretHasher,
    creating: bool,
) {
    if let Some(env) = settings.environment_variables {
        check_env_map(problems, "environment_variables", &env);
        spec.env = env;
    }
    if let Some(incoming) = settings.secret_environment_variables {
        spec.secret_env = secrets::apply(
            problems,
            "secret_environment_variables",
            incoming,
            &spec.secret_env,
            hasher,
            creating,
        );
    }
    if let Some(min_scale) = settings.min_scale {
        check_range(problems, "min_scale", min_scale, &limits::MIN_SCALE);
        spec.min_scale = min_scale;
    }
    if let Some(max_scale) = settings.max_scale {
        check_range(problems, "max_scale", max_scale, &limits::MAX_SCALE);
        spec.max_scale = max_scale;
    }
    if spec.min_scale > spec.max_scale {
        problems.push(
            "min_scale",
            Reason::Constraint,
            "min_scale must not exceed max_scale",
        );
    }
    match settings.runtime.as_deref() {
        None | Some("" | "unknown_runtime") => {}
        Some(name) => match runtimes::find(name) {
            Some(runtime) if runtime.usable => spec.runtime = Some(name.to_owned()),
            found => problems.push(
                "runtime",
                Reason::Constraint,
                format!(
                    "runtime {name:?} {}; use one of {}",
                    if found.is_some() {
                        "has reached its end of life"
                    } else {
                        "does not exist"
                    },
                    runtimes::usable_names()
                ),
            ),
        },
    }
    if let Some(memory) = settings.memory_limit.filter(|memory| *memory != 0) {
        if limits::FUNCTION_MEMORY_LIMITS_MB.contains(&memory) {
            spec.memory_limit_mb = memory;
        } else {
            problems.push(
                "memory_limit",
                Reason::Constraint,
                format!(
                    "memory_limit must be one of {:?} (MB)",
                    limits::FUNCTION_MEMORY_LIMITS_MB
                ),
            );
        }
    }
    if let Some(timeout) = settings.timeout.filter(|text| !text.is_empty())
        && let Some(nanos) = duration_in(problems, "timeout", &timeout, &limits::TIMEOUT_SECONDS)
    {
        spec.timeout_nanos = nanos;
    }
    if let Some(handler) = settings.handler.filter(|handler| !handler.is_empty()) {
        if handler.len() > 256 || handler.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.push(
                "handler",
                Reason::Format,
                "handler must be at most 256 characters without spaces, e.g. handler.handle",
            );
        }
        spec.handler = Some(handler);
    }
    if let Some(privacy) = parse_enum::<Privacy>(problems, "privacy", settings.privacy.as_deref()) {
        spec.privacy = privacy;
    }
    if let Some(option) =
        parse_enum::<HttpOption>(problems, "http_option", settings.http_option.as_deref())
    {
        spec.http_option = option;
    }
    if let Some(sandbox) = parse_enum::<Sandbox>(problems, "sandbox", settings.sandbox.as_deref()) {
        spec.sandbox = sandbox;
    }
    if let Some(description) = settings.description {
        spec.description = Some(description);
    }
    if let Some(tags) = settings.tags {
        spec.tags = tags;
    }
    if let Some(network) = settings.private_network_id {
        if network.is_empty() {
            spec.private_network_id = None;
        } else {
            check_uuid(problems, "private_network_id", &network);
            spec.private_network_id = Some(network);
        }
    }
}

/// Where a deploy of `archive` ends.
fn deploy_outcome(spec: &FunctionSpec, archive: Option<&Archive>) -> Outcome {
    const ZIP_MAGIC: [&[u8]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];
    match archive {
        None => Outcome::Error(
            "no code to deploy: upload a zip archive to the function's upload URL first".into(),
        ),
        Some(archive)
            if !ZIP_MAGIC
                .iter()
                .any(|magic| archive.bytes.starts_with(magic)) =>
        {
            Outcome::Error("build failed: the uploaded archive is not a zip file".into())
        }
        Some(_) if spec.runtime.is_none() => {
            Outcome::Error("build failed: the function has no runtime".into())
        }
        Some(_) => Outcome::Ready,
    }
}

/// Starts a rollout of the last uploaded archive.
fn start_rollout(function: &mut FunctionRecord, now: Now, delay: std::time::Duration) {
    let outcome = deploy_outcome(&function.spec, function.uploaded.as_ref());
    function.rollout = Some(Rollout {
        archive: function.uploaded.clone(),
        ready_at: now.wall.checked_add(delay).unwrap_or(now.wall),
    });
    function
        .meta
        .life
        .begin(now, Status::Pending, delay, outcome);
}

/// ListFunctions: `namespace_id` required; filters `name`, `organization_id`, `project_id`.
pub(crate) async fn list(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListBody<Function>>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let paging = Paging::parse(&query, &mut problems, Some("name"));
    let namespace_id = query.uuid(&mut problems, "namespace_id");
    if query.get("namespace_id").is_none() {
        problems.required("namespace_id");
    }
    let organization_id = query.uuid(&mut problems, "organization_id");
    let project_id = query.uuid(&mut problems, "project_id");
    let name = query.get("name");
    problems.finish()?;

    let store = emulator.store(Now::capture());
    let namespace = namespace_id
        .as_ref()
        .and_then(|id| store.functions.namespaces.get(id));
    let namespace_matches = namespace.is_some_and(|ns| {
        organization_id
            .as_ref()
            .is_none_or(|id| *id == ns.organization_id)
            && project_id.as_ref().is_none_or(|id| *id == ns.project_id)
    });
    let matching = store
        .functions
        .functions
        .values()
        .filter(|f| namespace_matches && Some(&f.namespace_id) == namespace_id.as_ref())
        .filter(|f| f.meta.region == region)
        .filter(|f| name.is_none_or(|name| name == f.name))
        .collect();
    let (page, total) = paging.apply(matching, |f: &FunctionRecord| f.name.as_str());
    Ok(Json(ListBody {
        plural: "functions",
        items: page.into_iter().map(FunctionRecord::to_wire).collect(),
        total_count: total,
    }))
}

/// CreateFunction: `name` and `namespace_id` required; the namespace must exist in this
/// region (else 400 on `namespace_id`) and be `ready`; the name is unique in it.
pub(crate) async fn create(
    State(emulator): State<Emulator>,
    Path(region): Path<String>,
    body: Bytes,
) -> Result<Json<Function>, ApiError> {
    check_region(&region)?;
    let request: CreateFunctionRequest = json_body(&body)?;
    let mut problems = Problems::default();
    let namespace_id = required_text(&mut problems, "namespace_id", request.namespace_id);
    if !namespace_id.is_empty() {
        check_uuid(&mut problems, "namespace_id", &namespace_id);
    }
    let name = required_text(&mut problems, "name", request.name);
    if !name.is_empty() {
        check_name(&mut problems, "name", &name);
    }
    let mut spec = FunctionSpec::default();
    apply_settings(
        &mut spec,
        request.settings,
        &mut problems,
        emulator.hasher(),
        true,
    );
    problems.finish()?;

    let now = Now::capture();
    let mut store = emulator.store(now);
    let namespace = store
        .functions
        .namespaces
        .get(&namespace_id)
        .filter(|ns| ns.meta.region == region)
        .ok_or_else(|| {
            ApiError::invalid(
                "namespace_id",
                Reason::Constraint,
                format!("functions namespace {namespace_id} does not exist in region {region}"),
            )
        })?;
    ensure_usable_parent(namespace)?;
    let domain_name = format!(
        "{}-{name}.functions.fnc.{region}.scw.cloud",
        namespace.endpoint_prefix
    );
    if let Some(existing) = store
        .functions
        .functions
        .values()
        .find(|f| f.namespace_id == namespace_id && f.name == name)
    {
        return Err(ApiError::AlreadyExists {
            resource: "function",
            resource_id: existing.meta.id.clone(),
            help_message: format!(
                "a function named {name:?} already exists in namespace {namespace_id}"
            ),
        });
    }
    let (id, seq) = store.next_identity();
    let record = FunctionRecord {
        meta: Meta {
            id: id.clone(),
            seq,
            region,
            life: Lifecycle::settled(now, Status::Created),
        },
        namespace_id,
        name,
        domain_name,
        spec,
        uploaded: None,
        deployed: None,
        rollout: None,
        ready_at: None,
    };
    let wire = record.to_wire();
    store.functions.functions.insert(id, record);
    Ok(Json(wire))
}

/// GetFunction.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Function>, ApiError> {
    check_region(&region)?;
    let store = emulator.store(Now::capture());
    Ok(Json(
        find(&store.functions.functions, &region, &id)?.to_wire(),
    ))
}

/// UpdateFunction: every present setting replaces the stored one (secrets per key). With
/// `redeploy` unset, a function deployed before (or in `error`) is redeployed; `true` always
/// redeploys, `false` never.
pub(crate) async fn update(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Function>, ApiError> {
    check_region(&region)?;
    let request: UpdateFunctionRequest = json_body(&body)?;
    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    let function = find_mut(&mut store.functions.functions, &region, &id)?;
    ensure_mutable(function)?;
    let mut problems = Problems::default();
    let mut spec = function.spec.clone();
    apply_settings(
        &mut spec,
        request.settings,
        &mut problems,
        emulator.hasher(),
        false,
    );
    problems.finish()?;
    function.spec = spec;
    // Unset: redeploy what was deployed (or failed to); an explicit value decides.
    let was_deployed = function.deployed.is_some() || function.meta.life.status() == Status::Error;
    if request.redeploy.unwrap_or(was_deployed) {
        start_rollout(function, now, delay);
    } else {
        function.meta.life.touch(now);
    }
    Ok(Json(function.to_wire()))
}

/// DeleteFunction: the function and its crons, domains, triggers and tokens go `deleting`
/// and disappear together.
pub(crate) async fn delete(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
) -> Result<Json<Function>, ApiError> {
    check_region(&region)?;
    let now = Now::capture();
    let delay = emulator.settings().delete_delay;
    let mut store = emulator.store(now);
    ensure_mutable(find(&store.functions.functions, &region, &id)?)?;
    store.functions.delete_function(&id, now, delay);
    Ok(Json(
        find(&store.functions.functions, &region, &id)?.to_wire(),
    ))
}

/// DeployFunction: body `{}`; builds and rolls out the last uploaded archive.
pub(crate) async fn deploy(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Function>, ApiError> {
    check_region(&region)?;
    let _: serde_json::Map<String, serde_json::Value> = json_body(&body)?;
    let now = Now::capture();
    let delay = emulator.settings().transition_delay;
    let mut store = emulator.store(now);
    let function = find_mut(&mut store.functions.functions, &region, &id)?;
    ensure_mutable(function)?;
    start_rollout(function, now, delay);
    Ok(Json(function.to_wire()))
}

/// GetFunctionUploadURL: `content_length` (the archive's size in bytes) required, at most
/// 100 MiB. The URL accepts one PUT of exactly that many bytes for an hour.
pub(crate) async fn upload_url(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<PresignedUrl>, ApiError> {
    check_region(&region)?;
    let query = QueryParams::new(query)?;
    let mut problems = Problems::default();
    let length = match query.get("content_length").map(str::parse::<u64>) {
        None => {
            problems.required("content_length");
            0
        }
        Some(Ok(length)) if (1..=limits::ARCHIVE_MAX_BYTES).contains(&length) => length,
        Some(Ok(_)) => {
            problems.push(
                "content_length",
                Reason::Constraint,
                format!(
                    "content_length must be between 1 and {} bytes (100 MiB)",
                    limits::ARCHIVE_MAX_BYTES
                ),
            );
            0
        }
        Some(Err(_)) => {
            problems.push(
                "content_length",
                Reason::Format,
                "content_length must be an unsigned integer",
            );
            0
        }
    };
    problems.finish()?;
    let now = Now::capture();
    let store = emulator.store(now);
    let function = find(&store.functions.functions, &region, &id)?;
    if function.meta.life.status() == Status::Deleting {
        ensure_mutable(function)?;
    }
    let url = presign(
        &emulator,
        &base_url(&headers),
        &region,
        &id,
        Grant::Upload(length),
        now.wall,
    );
    Ok(Json(PresignedUrl {
        url,
        headers: BTreeMap::from([
            ("content-length".to_owned(), vec![length.to_string()]),
            (
                "content-type".to_owned(),
                vec!["application/octet-stream".to_owned()],
            ),
        ]),
    }))
}

/// GetFunctionDownloadURL: a presigned GET of the last uploaded archive.
pub(crate) async fn download_url(
    State(emulator): State<Emulator>,
    Path((region, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<PresignedUrl>, ApiError> {
    check_region(&region)?;
    let now = Now::capture();
    let store = emulator.store(now);
    let function = find(&store.functions.functions, &region, &id)?;
    if function.uploaded.is_none() {
        return Err(ApiError::PreconditionFailed {
            precondition: "function_has_no_code",
            help_message: format!("function {id} has no uploaded archive"),
        });
    }
    let url = presign(
        &emulator,
        &base_url(&headers),
        &region,
        &id,
        Grant::Download,
        now.wall,
    );
    Ok(Json(PresignedUrl {
        url,
        headers: BTreeMap::new(),
    }))
}
