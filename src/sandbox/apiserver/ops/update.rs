//! PUT and PATCH (including simplified server-side apply) on objects and their status.

use serde_json::{Value, json};

use super::super::apply::{self, ApplyError, ApplyRequest, ApplyScope};
use super::super::builtin::{self, Committed};
use super::super::error::ApiError;
use super::super::object::{
    copy_meta, finalizers, is_deleting, meta_str, normalize, now_rfc3339, set_meta, spec_view,
};
use super::super::patch::{
    JsonPatchError, PatchFormat, apply_json_patch, apply_merge_patch, apply_strategic_merge_patch,
};
use super::super::store::State;
use super::create::create_object;
use super::{
    MODIFIED_MESSAGE, PatchRequest, Subresource, Target, Via, bump_generation, check_type,
    copy_top_level,
};

/// What an update computed from the stored object it read (see [`prepare_replace`] and
/// [`prepare_patch`]): the work before the commit, which needs no lock.
#[derive(Debug)]
pub enum Prepared {
    /// Nothing to store: a no-op write or a dry run; this is the answer.
    Answer(Value),
    /// The new object, in storage form, to store in place of the one read.
    Commit(Value),
}

/// PUT on an object or its status.
pub fn replace(
    state: &mut State,
    target: &Target,
    name: &str,
    sub: Subresource,
    body: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let old = target.stored(state, name)?;
    let prepared = prepare_replace(target, &old, sub, body, dry_run)?;
    Ok(finish(state, target, prepared))
}

/// PUT, up to the commit: `old` is the stored object the body replaces.
pub fn prepare_replace(
    target: &Target,
    old: &Value,
    sub: Subresource,
    body: Value,
    dry_run: bool,
) -> Result<Prepared, ApiError> {
    prepare_update(target, old, body, sub, Via::Update, dry_run)
}

/// A JSON, merge or strategic merge PATCH, up to the commit: `old` is the stored object
/// patched. (Server-side apply, which may create, runs under the lock: [`server_side_apply`].)
pub fn prepare_patch(
    target: &Target,
    name: &str,
    old: &Value,
    sub: Subresource,
    req: PatchRequest<'_>,
    dry_run: bool,
) -> Result<Prepared, ApiError> {
    let candidate = match req.format {
        PatchFormat::Json => {
            apply_json_patch(&target.present(old), req.body).map_err(|e| match e {
                JsonPatchError::Malformed(m) => ApiError::BadRequest(m),
                other => target.invalid(name, other.to_string()),
            })?
        }
        PatchFormat::Merge | PatchFormat::Strategic => {
            let patch: Value = serde_json::from_slice(req.body)
                .map_err(|e| ApiError::BadRequest(format!("invalid merge patch: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::BadRequest(
                    "a merge patch must be a JSON object".to_owned(),
                ));
            }
            let current = target.present(old);
            if req.format == PatchFormat::Strategic {
                apply_strategic_merge_patch(&current, &patch)
            } else {
                apply_merge_patch(&current, &patch)
            }
        }
        PatchFormat::Apply => {
            return Err(ApiError::BadRequest(
                "server-side apply is not prepared outside the store lock".to_owned(),
            ));
        }
    };
    prepare_update(target, old, candidate, sub, Via::Update, dry_run)
}

/// Stores a prepared update (the caller holds the lock and has checked that the object read
/// is still the stored one).
pub fn finish(state: &mut State, target: &Target, prepared: Prepared) -> Value {
    let new = match prepared {
        Prepared::Answer(answer) => return answer,
        Prepared::Commit(new) => new,
    };
    let resource = target.served.def.storage_resource();
    if is_deleting(&new) && finalizers(&new).is_empty() {
        let removed = state.remove_as(&resource, new);
        builtin::after_commit(state, &resource, Committed::Removed(&removed));
        return target.present(&removed);
    }
    let stored = state.put(&resource, new);
    builtin::after_commit(state, &resource, Committed::Stored(&stored));
    target.present(&stored)
}

/// PATCH with server-side apply (simplified), on an object or its status: creates a missing
/// object, so it runs with the state lock held.
pub fn server_side_apply(
    state: &mut State,
    target: &Target,
    name: &str,
    sub: Subresource,
    req: PatchRequest<'_>,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let resource = target.served.def.storage_resource();
    let existing = state.get(&resource, &target.key(name)).cloned();
    let manager = req.field_manager.filter(|m| !m.is_empty()).ok_or_else(|| {
        target.invalid(
            name,
            "fieldManager: Required value: is required for apply patch",
        )
    })?;
    let config = parse_apply_body(req.body)?;
    if config
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        || config
            .get("kind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(ApiError::BadRequest(
            "apply patches must set apiVersion and kind".to_owned(),
        ));
    }
    check_type(target, &config)?;
    if let Some(body_name) = meta_str(&config, "name")
        && body_name != name
    {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let scope = match sub {
        Subresource::Status => ApplyScope::Status,
        Subresource::Main => ApplyScope::Main {
            status_is_subresource: target.served.status_subresource,
        },
    };
    let api_version = target.served.api_version();
    let now = now_rfc3339();
    let apply_req = ApplyRequest {
        manager,
        force: req.force,
        scope,
        api_version: &api_version,
        now: &now,
    };
    let to_conflict = |e: ApplyError| target.conflict(name, e.to_string());
    match existing {
        Some(old) => {
            if let Some(rv) = meta_str(&config, "resourceVersion")
                && Some(rv) != meta_str(&old, "resourceVersion")
            {
                return Err(target.conflict(name, MODIFIED_MESSAGE));
            }
            let candidate =
                apply::apply(&target.present(&old), &config, &apply_req).map_err(to_conflict)?;
            let prepared = prepare_update(target, &old, candidate, sub, Via::Apply, dry_run)?;
            Ok(finish(state, target, prepared))
        }
        None if sub == Subresource::Status => Err(target.not_found(name)),
        None => {
            let mut skeleton = json!({
                "apiVersion": api_version,
                "kind": target.served.def.kind,
                "metadata": {"name": name},
            });
            if let Some(ns) = &target.namespace {
                set_meta(&mut skeleton, "namespace", json!(ns));
            }
            let candidate = apply::apply(&skeleton, &config, &apply_req).map_err(to_conflict)?;
            create_object(state, target, candidate, Via::Apply, dry_run)
        }
    }
}

/// Apply bodies are YAML (kube sends JSON, which YAML readers accept too).
fn parse_apply_body(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Ok(value);
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("apply body is not UTF-8: {e}")))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::BadRequest(format!("invalid apply body: {e}")))
}

/// Shared part of PUT and PATCH before the commit: checks, subresource separation,
/// admission, generation.
fn prepare_update(
    target: &Target,
    stored_old: &Value,
    candidate: Value,
    sub: Subresource,
    via: Via,
    dry_run: bool,
) -> Result<Prepared, ApiError> {
    let def = &target.served.def;
    // Work on the object as the client sees it; convert back to storage form at the end.
    let old = &target.present(stored_old);
    let name = meta_str(old, "name").unwrap_or_default().to_owned();
    if !candidate.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".to_owned(),
        ));
    }
    check_type(target, &candidate)?;
    if let Some(body_name) = meta_str(&candidate, "name")
        && body_name != name
    {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(body_ns) = meta_str(&candidate, "namespace")
        && def.namespaced
        && Some(body_ns) != meta_str(old, "namespace")
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .to_owned(),
        ));
    }
    if let Some(rv) = meta_str(&candidate, "resourceVersion")
        && Some(rv) != meta_str(old, "resourceVersion")
    {
        return Err(target.conflict(&name, MODIFIED_MESSAGE));
    }

    let mut new = match sub {
        Subresource::Status => {
            let mut new = old.clone();
            copy_top_level(&candidate, &mut new, "status");
            new
        }
        Subresource::Main => {
            let mut new = candidate;
            if target.served.status_subresource {
                copy_top_level(old, &mut new, "status");
            }
            new
        }
    };
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "resourceVersion",
    ] {
        copy_meta(old, &mut new, field);
    }
    if via == Via::Update {
        copy_meta(old, &mut new, "managedFields");
    }
    copy_top_level(old, &mut new, "apiVersion");
    copy_top_level(old, &mut new, "kind");

    if is_deleting(old) {
        let before = finalizers(old);
        if finalizers(&new).iter().any(|f| !before.contains(f)) {
            return Err(target.invalid(
                &name,
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted",
            ));
        }
    }
    target.admit(&name, &mut new, Some(old))?;
    builtin::prepare(def, &mut new, false).map_err(|m| target.invalid(&name, m))?;
    normalize(&mut new);
    let mut new = target.served.to_storage(new);
    copy_top_level(stored_old, &mut new, "apiVersion");

    if new == *stored_old {
        // A no-op write: the real server neither bumps resourceVersion nor emits an event.
        return Ok(Prepared::Answer(old.clone()));
    }
    if def.tracks_generation
        && spec_view(stored_old, target.served.status_subresource)
            != spec_view(&new, target.served.status_subresource)
    {
        bump_generation(&mut new);
    }
    if dry_run {
        return Ok(Prepared::Answer(target.present(&new)));
    }
    Ok(Prepared::Commit(new))
}
