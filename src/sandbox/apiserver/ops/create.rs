//! POST: creating objects.

use serde_json::{Value, json};

use super::super::builtin::{self, Committed};
use super::super::error::{ApiError, ErrorSubject};
use super::super::object::{
    generate_suffix, meta_mut, meta_str, new_uid, normalize, now_rfc3339, set_meta, validate_name,
};
use super::super::store::State;
use super::{Target, Via, check_type};

/// POST: creates an object.
pub fn create(
    state: &mut State,
    target: &Target,
    body: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    create_object(state, target, body, Via::Update, dry_run)
}

pub(super) fn create_object(
    state: &mut State,
    target: &Target,
    mut obj: Value,
    via: Via,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".to_owned(),
        ));
    }
    check_type(target, &obj)?;
    let def = &target.served.def;
    let resource = def.storage_resource();

    if def.namespaced {
        let Some(ns) = target.namespace.as_deref() else {
            return Err(ApiError::MethodNotAllowed);
        };
        if let Some(body_ns) = meta_str(&obj, "namespace")
            && body_ns != ns
        {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
                    .to_owned(),
            ));
        }
        if !builtin::namespace_exists(state, ns) {
            return Err(ApiError::NotFound(ErrorSubject::new("", "namespaces", ns)));
        }
        set_meta(&mut obj, "namespace", json!(ns));
    } else if let Some(meta) = meta_mut(&mut obj) {
        meta.remove("namespace");
    }

    let name = match (meta_str(&obj, "name"), meta_str(&obj, "generateName")) {
        (Some(name), _) => name.to_owned(),
        (None, Some(prefix)) => {
            let prefix = prefix.to_owned();
            let free = (0..16)
                .map(|_| format!("{prefix}{}", generate_suffix()))
                .find(|candidate| state.get(&resource, &target.key(candidate)).is_none());
            free.ok_or_else(|| ApiError::AlreadyExists(target.subject(&prefix)))?
        }
        (None, None) => {
            return Err(target.invalid(
                "",
                "metadata.name: Required value: name or generateName is required",
            ));
        }
    };
    validate_name(&name).map_err(|m| target.invalid(&name, m))?;
    set_meta(&mut obj, "name", json!(name));
    if state.get(&resource, &target.key(&name)).is_some() {
        return Err(ApiError::AlreadyExists(target.subject(&name)));
    }

    if let Some(meta) = meta_mut(&mut obj) {
        for field in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            meta.remove(field);
        }
        if via == Via::Update {
            meta.remove("managedFields");
        }
        meta.insert("uid".to_owned(), json!(new_uid()));
        meta.insert("creationTimestamp".to_owned(), json!(now_rfc3339()));
        if def.tracks_generation {
            meta.insert("generation".to_owned(), json!(1));
        }
    }
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".to_owned(), json!(def.storage_api_version()));
        map.insert("kind".to_owned(), json!(def.kind));
        if target.served.status_subresource {
            map.remove("status");
        }
    }
    target.admit(&name, &mut obj, None)?;
    builtin::prepare(def, &mut obj, true).map_err(|m| target.invalid(&name, m))?;
    normalize(&mut obj);
    let obj = target.served.to_storage(obj);
    if dry_run {
        return Ok(target.present(&obj));
    }
    let stored = state.put(&resource, obj);
    builtin::after_commit(state, &resource, Committed::Stored(&stored));
    Ok(target.present(&stored))
}
