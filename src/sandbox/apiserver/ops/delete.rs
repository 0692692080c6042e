//! DELETE on objects and collections: finalizers hold an object until they are removed.

use serde_json::{Value, json};

use super::super::builtin::{self, Committed};
use super::super::error::ApiError;
use super::super::object::{finalizers, is_deleting, meta_str, now_rfc3339, set_meta};
use super::super::selector::Selectors;
use super::super::store::State;
use super::{DeleteOptions, Target, bump_generation};

/// DELETE of one object: marks it deleting while finalizers remain, removes it otherwise.
pub fn delete(
    state: &mut State,
    target: &Target,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Value, ApiError> {
    let old = target.stored(state, name)?;
    if let Some(uid) = &opts.uid
        && Some(uid.as_str()) != meta_str(&old, "uid")
    {
        return Err(target.conflict(
            name,
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta_str(&old, "uid").unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = &opts.resource_version
        && Some(rv.as_str()) != meta_str(&old, "resourceVersion")
    {
        return Err(target.conflict(
            name,
            format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta_str(&old, "resourceVersion").unwrap_or_default()
            ),
        ));
    }
    let resource = target.served.def.storage_resource();
    if !finalizers(&old).is_empty() {
        if is_deleting(&old) {
            return Ok(target.present(&old));
        }
        let mut marked = old.clone();
        set_meta(&mut marked, "deletionTimestamp", json!(now_rfc3339()));
        set_meta(&mut marked, "deletionGracePeriodSeconds", json!(0));
        if target.served.def.tracks_generation {
            bump_generation(&mut marked);
        }
        if opts.dry_run {
            return Ok(target.present(&marked));
        }
        let stored = state.put(&resource, marked);
        builtin::after_commit(state, &resource, Committed::Stored(&stored));
        return Ok(target.present(&stored));
    }
    if opts.dry_run {
        return Ok(target.present(&old));
    }
    let removed = state.remove_as(&resource, old);
    builtin::after_commit(state, &resource, Committed::Removed(&removed));
    Ok(target.present(&removed))
}

/// DELETE on a collection: deletes every matching object; returns them as a list.
pub fn delete_collection(
    state: &mut State,
    target: &Target,
    selectors: &Selectors,
    opts: &DeleteOptions,
) -> Result<Value, ApiError> {
    let def = &target.served.def;
    let names: Vec<(String, String)> = state
        .list(&def.storage_resource(), target.namespace.as_deref())
        .filter(|obj| selectors.matches(&target.present(obj)))
        .map(|obj| {
            (
                meta_str(obj, "namespace").unwrap_or_default().to_owned(),
                meta_str(obj, "name").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut items = Vec::new();
    for (namespace, name) in names {
        let one = target.in_namespace((!namespace.is_empty()).then_some(namespace));
        items.push(delete(state, &one, &name, opts)?);
    }
    Ok(json!({
        "apiVersion": target.served.api_version(),
        "kind": def.list_kind,
        "metadata": {"resourceVersion": state.resource_version().to_string()},
        "items": items,
    }))
}
