//! The verbs (get, list, create, update, patch, delete) applied to the store.
//!
//! These functions hold the API semantics: server-set metadata, optimistic concurrency,
//! status-subresource separation, generation bumps, finalizers and deletion. They run with the
//! state lock held and never block, except the `prepare_*` halves of PUT and PATCH, which
//! run without it on a copy of the stored object (as the real server's optimistic
//! `GuaranteedUpdate`): admission, the costly part of a write, then runs on every core.

mod create;
mod delete;
mod update;

use std::cell::RefCell;

use serde_json::{Value, json};

use super::error::{ApiError, ErrorSubject};
use super::object::set_meta;
use super::patch::PatchFormat;
use super::registry::Served;
use super::selector::Selectors;
use super::store::{ObjectKey, State};
use super::validation::{self, FieldValidation, Rejection};

pub use create::create;
pub use delete::{delete, delete_collection};
pub use update::{Prepared, finish, prepare_patch, prepare_replace, replace, server_side_apply};

/// Which part of an object a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The object itself.
    Main,
    /// `/status`.
    Status,
}

impl Subresource {
    /// Reads the subresource segment of a path; only `status` (where enabled) exists.
    pub fn parse(served: &Served, segment: Option<&str>) -> Result<Self, ApiError> {
        match segment {
            None => Ok(Self::Main),
            Some("status") if served.status_subresource => Ok(Self::Status),
            Some(_) => Err(ApiError::UnknownResource),
        }
    }
}

/// A resource as addressed by a request, with the namespace from the path.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource and the version the client used.
    pub served: Served,
    /// Namespace from the path (`None` for cluster-scoped resources or all-namespace lists).
    pub namespace: Option<String>,
    /// How unknown fields in the request body are treated (`fieldValidation`).
    pub field_validation: FieldValidation,
    /// Warnings collected while serving the request (sent as `Warning` headers).
    pub warnings: RefCell<Vec<String>>,
}

impl Target {
    /// A target with the default field validation (`Warn`).
    pub fn new(served: Served, namespace: Option<String>) -> Self {
        Self {
            served,
            namespace,
            field_validation: FieldValidation::default(),
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// The same resource in another namespace (for collection deletes).
    fn in_namespace(&self, namespace: Option<String>) -> Self {
        Self {
            namespace,
            ..self.clone()
        }
    }

    fn key(&self, name: &str) -> ObjectKey {
        (self.namespace.clone().unwrap_or_default(), name.to_owned())
    }

    fn subject(&self, name: &str) -> ErrorSubject {
        ErrorSubject::new(&self.served.def.group, &self.served.def.plural, name)
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound(self.subject(name))
    }

    fn invalid(&self, name: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            subject: self.subject(name),
            message: message.into(),
        }
    }

    fn conflict(&self, name: &str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            subject: self.subject(name),
            message: message.into(),
        }
    }

    /// A stored object as this request sees it.
    fn present(&self, obj: &Value) -> Value {
        self.served.present(obj)
    }

    /// Whether the addressed object is still `read` (same resourceVersion): a prepared update
    /// of `read` may then be committed.
    pub fn unchanged(&self, state: &State, name: &str, read: &Value) -> bool {
        let resource = self.served.def.storage_resource();
        state
            .get(&resource, &self.key(name))
            .is_some_and(|current| {
                current.pointer("/metadata/resourceVersion")
                    == read.pointer("/metadata/resourceVersion")
            })
    }

    /// A copy of the stored form of the addressed object.
    pub fn stored(&self, state: &State, name: &str) -> Result<Value, ApiError> {
        let resource = self.served.def.storage_resource();
        state
            .get(&resource, &self.key(name))
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    /// Prunes, defaults and validates a custom resource (served form) against its CRD's
    /// schema; other resources pass unchanged. `old` is the current object on updates.
    fn admit(&self, name: &str, obj: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
        let Some(version) = self.served.version_def() else {
            return Ok(());
        };
        let spec_unchanged = old.is_some_and(|old| old.get("spec") == obj.get("spec"));
        let schema = match &version.schema_for_unchanged_spec {
            Some(schema) if spec_unchanged => schema.clone(),
            _ => match &version.schema {
                Some(schema) => schema.clone(),
                None => return Ok(()),
            },
        };
        let def = &self.served.def;
        match validation::admit(&schema, obj, old, self.field_validation) {
            Ok(warnings) => {
                self.warnings.borrow_mut().extend(warnings);
                Ok(())
            }
            Err(Rejection::UnknownFields(fields)) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| format!("unknown field \"{f}\""))
                    .collect();
                Err(ApiError::BadRequest(format!(
                    "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                    fields.join(", "),
                    kind = def.kind,
                    version = self.served.version,
                )))
            }
            Err(Rejection::Invalid(causes)) => Err(ApiError::InvalidFields {
                kind: def.kind.clone(),
                group: def.group.clone(),
                name: name.to_owned(),
                causes,
            }),
        }
    }
}

/// Where the `managedFields` of an updated object come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Updates and non-apply patches keep the stored `managedFields`.
    Update,
    /// Server-side apply computed new ones.
    Apply,
}

/// A patch request body and its parameters.
#[derive(Debug, Clone, Copy)]
pub struct PatchRequest<'a> {
    /// Format, from `Content-Type`.
    pub format: PatchFormat,
    /// Raw body.
    pub body: &'a [u8],
    /// `fieldManager` query parameter.
    pub field_manager: Option<&'a str>,
    /// `force` query parameter.
    pub force: bool,
}

/// Preconditions and options of a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `dryRun: ["All"]` or `?dryRun=All`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` body (missing or empty body: no options).
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?;
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(Self {
            uid: text("/preconditions/uid"),
            resource_version: text("/preconditions/resourceVersion"),
            dry_run: value
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| v == "All")),
        })
    }
}

/// GET of one object.
pub fn get(state: &State, target: &Target, name: &str) -> Result<Value, ApiError> {
    target.stored(state, name).map(|obj| target.present(&obj))
}

/// One page of a LIST: at most `limit` items, after the key a continue token names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Largest number of items to return (`limit`; 0 or absent: all).
    pub limit: usize,
    /// Where the previous page stopped: its list resourceVersion and last key.
    pub after: Option<(u64, String, String)>,
}

impl ListPage {
    /// Parses `limit` and `continue`.
    pub fn parse(limit: Option<&String>, token: Option<&String>) -> Result<Self, ApiError> {
        let limit = match limit.filter(|l| !l.is_empty()) {
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| ApiError::BadRequest(format!("invalid limit {text:?}")))?,
            None => 0,
        };
        let after = match token.filter(|t| !t.is_empty()) {
            Some(token) => Some(decode_continue(token).ok_or_else(|| {
                ApiError::BadRequest(format!("invalid continue token {token:?}"))
            })?),
            None => None,
        };
        Ok(Self { limit, after })
    }
}

/// A continue token: hex of `<rv>/<namespace>/<name>` (opaque to clients).
fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    format!("{rv}/{namespace}/{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(token: &str) -> Option<(u64, String, String)> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let mut parts = text.splitn(3, '/');
    let rv = parts.next()?.parse().ok()?;
    Some((rv, parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// LIST: a `{Kind}List` of the matching objects, in pages of `page.limit` (with a continue
/// token while more remain). Every page carries the resourceVersion of the first, so a watch
/// started from it sees every change made while the pages were read (an object changed
/// between two pages may then be seen twice, which watchers tolerate).
pub fn list(state: &State, target: &Target, selectors: &Selectors, page: &ListPage) -> Value {
    let def = &target.served.def;
    let rv = page
        .after
        .as_ref()
        .map_or_else(|| state.resource_version(), |(rv, _, _)| *rv);
    let mut matching = state
        .list(&def.storage_resource(), target.namespace.as_deref())
        .filter(|obj| match &page.after {
            Some((_, namespace, name)) => {
                let key = (object_text(obj, "namespace"), object_text(obj, "name"));
                key > (namespace.as_str(), name.as_str())
            }
            None => true,
        })
        .filter(|obj| selectors.matches_stored(obj, |o| target.present(o)));
    let limit = if page.limit == 0 {
        usize::MAX
    } else {
        page.limit
    };
    let mut items = Vec::new();
    let mut last = None;
    for obj in matching.by_ref().take(limit) {
        last = Some((object_text(obj, "namespace"), object_text(obj, "name")));
        items.push(target.present(obj));
    }
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some((namespace, name)) = last
        && matching.next().is_some()
    {
        metadata["continue"] = Value::String(encode_continue(rv, namespace, name));
    }
    json!({
        "apiVersion": target.served.api_version(),
        "kind": def.list_kind,
        "metadata": metadata,
        "items": items,
    })
}

fn object_text<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

const MODIFIED_MESSAGE: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// Rejects a body whose kind or API group is not the addressed resource's.
fn check_type(target: &Target, obj: &Value) -> Result<(), ApiError> {
    let def = &target.served.def;
    if let Some(kind) = obj
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        && kind != def.kind
    {
        return Err(ApiError::BadRequest(format!(
            "the kind of the object ({kind}) does not match the resource's kind ({})",
            def.kind
        )));
    }
    if let Some(api_version) = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
    {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        if group != def.group {
            return Err(ApiError::BadRequest(format!(
                "the API version of the object ({api_version}) does not match the resource's group ({:?})",
                def.group
            )));
        }
    }
    Ok(())
}

fn bump_generation(obj: &mut Value) {
    let next = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        + 1;
    set_meta(obj, "generation", json!(next));
}

/// Copies a top-level field, removing it from `to` when `from` lacks it.
fn copy_top_level(from: &Value, to: &mut Value, field: &str) {
    let value = from.get(field).cloned();
    if let Some(map) = to.as_object_mut() {
        match value {
            Some(v) => map.insert(field.to_owned(), v),
            None => map.remove(field),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::super::builtin;
    use super::super::registry::Registry;
    use super::*;

    fn state() -> State {
        let mut state = State::new(Registry::with_builtins(), 100);
        let namespaces = target(&state, "", "namespaces", None);
        let created = create(&mut state, &namespaces, builtin::namespace("ns"), false);
        assert!(created.is_ok());
        state
    }

    fn target(state: &State, group: &str, plural: &str, namespace: Option<&str>) -> Target {
        let served = state.registry.resolve(group, "v1", plural);
        Target::new(
            served.unwrap_or_else(|| panic!("{plural} is served")),
            namespace.map(str::to_owned),
        )
    }

    fn cm(name: &str) -> Value {
        json!({"metadata": {"name": name}, "data": {"k": "v"}})
    }

    #[test]
    fn dry_run_writes_nothing() {
        let mut state = state();
        let cms = target(&state, "", "configmaps", Some("ns"));
        let before = state.resource_version();
        let out = create(&mut state, &cms, cm("a"), true);
        assert_eq!(out.map(|o| o["metadata"]["name"].clone()), Ok(json!("a")));
        assert_eq!(state.resource_version(), before);
        assert!(matches!(get(&state, &cms, "a"), Err(ApiError::NotFound(_))));
    }

    #[test]
    fn delete_preconditions_are_checked() {
        let mut state = state();
        let cms = target(&state, "", "configmaps", Some("ns"));
        assert!(create(&mut state, &cms, cm("a"), false).is_ok());
        let wrong_uid = DeleteOptions {
            uid: Some("nope".into()),
            ..Default::default()
        };
        assert_eq!(
            delete(&mut state, &cms, "a", &wrong_uid).map_err(|e| e.code()),
            Err(409)
        );
        let wrong_rv = DeleteOptions {
            resource_version: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(
            delete(&mut state, &cms, "a", &wrong_rv).map_err(|e| e.code()),
            Err(409)
        );
        assert!(delete(&mut state, &cms, "a", &DeleteOptions::default()).is_ok());
    }

    #[test]
    fn names_kinds_and_namespaces_are_validated() {
        let mut state = state();
        let cms = target(&state, "", "configmaps", Some("ns"));
        let code = |r: Result<Value, ApiError>| r.map_err(|e| e.code()).map(|_| ());
        assert_eq!(
            code(create(&mut state, &cms, cm("Bad_Name"), false)),
            Err(422)
        );
        assert_eq!(
            code(create(&mut state, &cms, json!({"metadata": {}}), false)),
            Err(422)
        );
        let wrong_kind = json!({"kind": "Secret", "metadata": {"name": "x"}});
        assert_eq!(code(create(&mut state, &cms, wrong_kind, false)), Err(400));
        let other_ns = json!({"metadata": {"name": "x", "namespace": "other"}});
        assert_eq!(code(create(&mut state, &cms, other_ns, false)), Err(400));
        let missing_ns = target(&state, "", "configmaps", Some("missing"));
        assert_eq!(
            code(create(&mut state, &missing_ns, cm("x"), false)),
            Err(404)
        );
    }

    #[test]
    fn deleting_a_crd_stops_serving_its_resource() {
        let mut state = state();
        let crds = target(
            &state,
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            None,
        );
        let crd = json!({"metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "subresources": {"status": {}}}]}});
        assert!(create(&mut state, &crds, crd, false).is_ok());
        let widgets = target(&state, "example.com", "widgets", Some("ns"));
        assert!(widgets.served.status_subresource);
        assert!(
            create(
                &mut state,
                &widgets,
                json!({"metadata": {"name": "w"}}),
                false
            )
            .is_ok()
        );
        let opts = DeleteOptions::default();
        assert!(delete(&mut state, &crds, "widgets.example.com", &opts).is_ok());
        assert!(
            state
                .registry
                .resolve("example.com", "v1", "widgets")
                .is_none()
        );
        assert_eq!(
            state
                .list(&widgets.served.def.storage_resource(), None)
                .count(),
            0
        );
    }
}
