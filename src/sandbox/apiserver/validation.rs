//! Admission of custom resources against their CRD's `openAPIV3Schema`, in the order a real
//! API server follows: unknown fields are rejected (`fieldValidation=Strict`), reported
//! (`Warn`, the default) or silently dropped (`Ignore`); `null` in a non-nullable field is
//! dropped; defaults are filled in; then the structural rules (types, enums, required fields,
//! bounds, patterns, list types) and the CEL rules (`x-kubernetes-validations`, evaluated by
//! kube's client-side CEL) are checked, and every failure is reported as a field cause.
//!
//! Simplifications: formats other than `date-time`, `int32` and `int64` are not checked;
//! validation ratcheting (1.30+: unchanged invalid fields pass) applies to CEL transition
//! rules only; a rule kube's CEL cannot compile or evaluate is skipped with a log line.

use std::cell::RefCell;
use std::sync::Arc;

use kube::core::cel::{CompiledSchema, ErrorKind, Validator, apply_defaults, cel, compile_schema};
use serde_json::{Map, Value};

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Unknown or duplicate fields fail the request (400).
    Strict,
    /// Unknown fields are dropped and reported in `Warning` headers (the default).
    #[default]
    Warn,
    /// Unknown fields are dropped silently.
    Ignore,
}

impl FieldValidation {
    /// Reads the query parameter (absent: `Warn`).
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value {
            None | Some("") => Ok(Self::Warn),
            Some("Strict") => Ok(Self::Strict),
            Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some(other) => Err(format!(
                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
            )),
        }
    }
}

/// One field-level failure, as in `Status.details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, ...
    pub reason: String,
    /// Dotted path, e.g. `spec.maxScale`.
    pub field: String,
    /// What is wrong, e.g. `Required value`.
    pub message: String,
}

impl Cause {
    fn new(reason: &str, field: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Why an object was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Unknown fields under `fieldValidation=Strict` (400 BadRequest).
    UnknownFields(Vec<String>),
    /// Schema or CEL violations (422 Invalid).
    Invalid(Vec<Cause>),
}

/// Prunes, defaults and validates `obj` (the whole object, in served form) against `schema`.
/// `old` is the stored object on updates (for CEL transition rules). Returns the warnings
/// to send back.
pub fn admit(
    schema: &Arc<Value>,
    obj: &mut Value,
    old: Option<&Value>,
    mode: FieldValidation,
) -> Result<Vec<String>, Rejection> {
    let mut unknown = Vec::new();
    prune(schema, obj, "", true, &mut unknown);
    let mut warnings = Vec::new();
    match mode {
        FieldValidation::Strict if !unknown.is_empty() => {
            return Err(Rejection::UnknownFields(unknown));
        }
        FieldValidation::Warn => {
            warnings.extend(unknown.iter().map(|f| format!("unknown field \"{f}\"")));
        }
        _ => {}
    }
    drop_null_without_nullable(schema, obj);
    *obj = apply_defaults(schema, obj);

    let mut causes = Vec::new();
    check(schema, obj, "", &mut causes);
    if causes.is_empty() {
        causes = cel_causes(schema, obj, old);
    }
    if causes.is_empty() {
        Ok(warnings)
    } else {
        Err(Rejection::Invalid(causes))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool) == Some(true)
}

/// Removes fields the schema does not declare, recording their paths. At the root,
/// `apiVersion`, `kind` and `metadata` are always kept (they are not part of a CRD schema).
fn prune(schema: &Value, value: &mut Value, path: &str, root: bool, unknown: &mut Vec<String>) {
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag(schema, "x-kubernetes-embedded-resource");
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            let mut removed = Vec::new();
            for (key, child) in map.iter_mut() {
                let child_path = join(path, key);
                if let Some(child_schema) = properties.and_then(|p| p.get(key)) {
                    prune(child_schema, child, &child_path, false, unknown);
                } else if let Some(child_schema) = additional.filter(|a| a.is_object()) {
                    prune(child_schema, child, &child_path, false, unknown);
                } else if preserve
                    || additional == Some(&Value::Bool(true))
                    || ((root || embedded)
                        && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
                {
                } else {
                    removed.push(key.clone());
                    unknown.push(child_path);
                }
            }
            for key in removed {
                map.remove(&key);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item_schema, item, &format!("{path}[{i}]"), false, unknown);
                }
            }
        }
        _ => {}
    }
}

/// Drops `null` values of object fields whose schema is not `nullable` (a default then fills
/// them in), as the real server does before validation.
fn drop_null_without_nullable(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            map.retain(|key, child| {
                let child_schema = properties.and_then(|p| p.get(key)).or(additional);
                match child_schema {
                    Some(s) if child.is_null() => flag(s, "nullable"),
                    _ => true,
                }
            });
            for (key, child) in map.iter_mut() {
                if let Some(s) = properties.and_then(|p| p.get(key)).or(additional) {
                    drop_null_without_nullable(s, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    drop_null_without_nullable(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

/// How Kubernetes prints a value after "Invalid value: ".
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "\"null\"".to_owned(),
        Value::Array(_) => "\"array\"".to_owned(),
        Value::Object(_) => "\"object\"".to_owned(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A bound from the schema, printed as Go prints it (`1000`, not `1000.0`).
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => is_integer(value),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    }
}

/// Structural validation of one value; appends causes.
fn check(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    let field = if path.is_empty() { "<root>" } else { path };
    if value.is_null() {
        if !flag(schema, "nullable") && schema.get("type").is_some() {
            causes.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"null\": {field} in body must be of type {}: \"null\"",
                    schema["type"].as_str().unwrap_or("object")
                ),
            ));
        }
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(is_integer(value) || value.is_string()) {
            causes.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"{t}\": {field} in body must be of type integer or string: \"{t}\"",
                    t = type_name(value)
                ),
            ));
            return;
        }
    } else if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !type_matches(expected, value)
    {
        causes.push(Cause::new(
            "FieldValueTypeInvalid",
            path,
            format!(
                "Invalid value: \"{t}\": {field} in body must be of type {expected}: \"{t}\"",
                t = type_name(value)
            ),
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        causes.push(Cause::new(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                value,
                list.join(", ")
            ),
        ));
    }
    match value {
        Value::String(text) => check_string(schema, text, value, path, causes),
        Value::Number(_) => check_number(schema, value, path, causes),
        Value::Array(items) => check_array(schema, items, value, path, causes),
        Value::Object(map) => check_object(schema, map, path, causes),
        _ => {}
    }
    check_junctors(schema, value, path, causes);
}

fn check_string(schema: &Value, text: &str, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    let length = text.chars().count() as u64;
    let invalid = |message: String| Cause::new("FieldValueInvalid", path, message);
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        causes.push(invalid(format!(
            "Invalid value: {}: {path} in body should be at least {min} chars long",
            shown(value)
        )));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        causes.push(Cause::new(
            "FieldValueTooLong",
            path,
            format!("Too long: may not be more than {max} bytes"),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && !matches_pattern(text, pattern)
    {
        causes.push(invalid(format!(
            "Invalid value: {}: {path} in body should match '{pattern}'",
            shown(value)
        )));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some("date-time") if text.parse::<k8s_openapi::jiff::Timestamp>().is_err() => {
            causes.push(invalid(format!(
                "Invalid value: {}: {path} in body must be of type date-time: {}",
                shown(value),
                shown(value)
            )));
        }
        _ => {}
    }
}

fn check_number(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    let Some(n) = value.as_f64() else {
        return;
    };
    let invalid = |message: String| {
        Cause::new(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {}: {path} in body {message}", shown(value)),
        )
    };
    let exclusive_min = flag(schema, "exclusiveMinimum");
    let exclusive_max = flag(schema, "exclusiveMaximum");
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if exclusive_min && n <= min {
            causes.push(invalid(format!("should be greater than {}", number(min))));
        } else if n < min {
            causes.push(invalid(format!(
                "should be greater than or equal to {}",
                number(min)
            )));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if exclusive_max && n >= max {
            causes.push(invalid(format!("should be less than {}", number(max))));
        } else if n > max {
            causes.push(invalid(format!(
                "should be less than or equal to {}",
                number(max)
            )));
        }
    }
    if let Some(step) = schema.get("multipleOf").and_then(Value::as_f64)
        && step > 0.0
        && (n / step).fract() != 0.0
    {
        causes.push(invalid(format!("should be a multiple of {}", number(step))));
    }
    let range = match schema.get("format").and_then(Value::as_str) {
        Some("int32") => Some((f64::from(i32::MIN), f64::from(i32::MAX))),
        Some("int64") => Some((i64::MIN as f64, i64::MAX as f64)),
        _ => None,
    };
    if let Some((low, high)) = range
        && (n < low || n > high)
    {
        causes.push(invalid(format!(
            "must be of type {}",
            schema["format"].as_str().unwrap_or_default()
        )));
    }
}

fn check_array(
    schema: &Value,
    items: &[Value],
    value: &Value,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let count = items.len() as u64;
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && count < min
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {count}: {path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && count > max
    {
        causes.push(Cause::new(
            "FieldValueTooMany",
            path,
            format!("Too many: {count}: must have at most {max} items"),
        ));
    }
    let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|k| k.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let identity = |item: &Value| -> Value {
        if list_type == Some("map") {
            let key: Map<String, Value> = keys
                .iter()
                .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect();
            Value::Object(key)
        } else {
            item.clone()
        }
    };
    if matches!(list_type, Some("set" | "map")) || flag(schema, "uniqueItems") {
        let mut seen: Vec<Value> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let id = identity(item);
            if seen.contains(&id) {
                causes.push(Cause::new(
                    "FieldValueDuplicate",
                    &format!("{path}[{i}]"),
                    format!("Duplicate value: {id}"),
                ));
            } else {
                seen.push(id);
            }
        }
    }
    let _ = value;
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{i}]"), causes);
        }
    }
}

fn check_object(schema: &Value, map: &Map<String, Value>, path: &str, causes: &mut Vec<Cause>) {
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(required) {
            causes.push(Cause::new(
                "FieldValueRequired",
                &join(path, required),
                "Required value",
            ));
        }
    }
    let count = map.len() as u64;
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
        && count < min
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {count}: {path} in body should have at least {min} properties"),
        ));
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
        && count > max
    {
        causes.push(Cause::new(
            "FieldValueTooMany",
            path,
            format!("Too many: {count}: must have at most {max} items"),
        ));
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (key, child) in map {
        let child_schema = properties.and_then(|p| p.get(key)).or(additional);
        if let Some(child_schema) = child_schema {
            check(child_schema, child, &join(path, key), causes);
        }
    }
}

/// `allOf`, `anyOf`, `oneOf` and `not` (value validation only, as in structural schemas).
fn check_junctors(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    let field = if path.is_empty() { "<root>" } else { path };
    let passes = |branch: &Value| {
        let mut found = Vec::new();
        check(branch, value, path, &mut found);
        found.is_empty()
    };
    for branch in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(branch, value, path, causes);
    }
    if let Some(branches) = schema.get("anyOf").and_then(Value::as_array)
        && !branches.iter().any(passes)
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {field} in body must validate at least one schema (anyOf)",
                shown(value)
            ),
        ));
    }
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array)
        && branches.iter().filter(|b| passes(b)).count() != 1
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {field} in body must validate one and only one schema (oneOf)",
                shown(value)
            ),
        ));
    }
    if let Some(branch) = schema.get("not")
        && passes(branch)
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {field} in body must not validate the schema (not)",
                shown(value)
            ),
        ));
    }
}

thread_local! {
    /// kube's CEL validator (all Kubernetes CEL functions registered once per thread).
    static VALIDATOR: Validator = Validator::new();
    /// Each schema's CEL rules, compiled once per thread (parsing a rule costs far more than
    /// evaluating it); keyed by the shared schema itself, which the entry keeps alive, so a
    /// lookup compares pointers, not whole schemas.
    static COMPILED: RefCell<Vec<(Arc<Value>, std::rc::Rc<CompiledSchema>)>> =
        const { RefCell::new(Vec::new()) };
    /// `value.matches(pattern)`, compiled once per thread; used for `pattern` so that schema
    /// patterns use the same RE2-style regex engine as CEL rules.
    static MATCHES: RefCell<Option<cel::Program>> = const { RefCell::new(None) };
}

/// Whether `text` matches the ECMA/RE2-style `pattern` (an invalid pattern matches nothing).
fn matches_pattern(text: &str, pattern: &str) -> bool {
    MATCHES.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = cel::Program::compile("value.matches(pattern)").ok();
        }
        let Some(program) = slot.as_ref() else {
            return true;
        };
        let mut context = cel::Context::default();
        context.add_variable_from_value("value", text.to_owned());
        context.add_variable_from_value("pattern", pattern.to_owned());
        matches!(program.execute(&context), Ok(cel::Value::Bool(true)))
    })
}

/// The value at a dotted path such as `spec.livenessProbe` (array indexes are not followed).
fn value_at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(obj);
    }
    path.split('.').try_fold(obj, |v, segment| {
        v.get(segment.split('[').next().unwrap_or(segment))
    })
}

/// `schema` for an update that leaves the spec as stored: `properties.spec` becomes an
/// object kept as it is (no pruning, defaults, structural checks or CEL rules below it), and
/// the rest (the root's rules, which may compare spec and status, and `status`) is kept.
/// The stored spec passed all of them when it was written, and a 1.30+ server ratchets
/// validation of unchanged fields, so walking it again could only repeat the verdict.
/// (A real server also prunes and defaults on read, so a CRD update that adds a default shows
/// on objects written before it; this server applies defaults on writes only.)
pub fn with_spec_as_stored(schema: &Value) -> Value {
    let mut out = schema.clone();
    if let Some(spec) = out.pointer_mut("/properties/spec") {
        *spec = serde_json::json!({
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
        });
    }
    out
}

/// The compiled form of `schema`, from the per-thread cache (at most 16 schemas are kept).
fn compiled(schema: &Arc<Value>) -> std::rc::Rc<CompiledSchema> {
    COMPILED.with(|cell| {
        let mut cache = cell.borrow_mut();
        if let Some((_, compiled)) = cache.iter().find(|(kept, _)| Arc::ptr_eq(kept, schema)) {
            return compiled.clone();
        }
        let compiled = std::rc::Rc::new(compile_schema(schema));
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((Arc::clone(schema), compiled.clone()));
        compiled
    })
}

/// The CEL rules' failures as causes.
fn cel_causes(schema: &Arc<Value>, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let compiled = compiled(schema);
    let result = VALIDATOR.with(|validator| validator.validate_compiled(&compiled, obj, old));
    let Err(errors) = result else {
        return Vec::new();
    };
    let mut causes = Vec::new();
    for error in errors {
        match error.kind {
            ErrorKind::ValidationFailure
            | ErrorKind::InvalidResult
            | ErrorKind::EvaluationError => {
                let shown_value = value_at(obj, &error.field_path).map_or_else(
                    || "\"object\"".to_owned(),
                    |v| format!("\"{}\"", type_name(v)),
                );
                causes.push(Cause::new(
                    error.reason.as_deref().unwrap_or("FieldValueInvalid"),
                    &error.field_path,
                    format!("Invalid value: {shown_value}: {}", error.message),
                ));
            }
            _ => {
                tracing::warn!(rule = %error.rule, error = %error.message, "CEL rule skipped: kube's CEL cannot evaluate it");
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "minLength": 1},
                        "port": {"type": "integer", "minimum": 1.0, "maximum": 65535.0, "nullable": true},
                        "privacy": {"type": "string", "enum": ["Public", "Private"], "nullable": true},
                        "policy": {"type": "string", "default": "Delete"},
                        "path": {"type": "string", "pattern": "^/"},
                        "cpu": {"x-kubernetes-int-or-string": true},
                        "env": {"type": "object", "additionalProperties": {"type": "string"}},
                        "at": {"type": "string", "format": "date-time"},
                        "items": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                        },
                        "minScale": {"type": "integer"},
                        "maxScale": {"type": "integer"},
                    },
                    "x-kubernetes-validations": [
                        {"rule": "!has(self.minScale) || !has(self.maxScale) || self.minScale <= self.maxScale",
                         "message": "minScale must not exceed maxScale"},
                        {"rule": "!has(oldSelf.path) || self.path == oldSelf.path", "message": "path is immutable"},
                    ],
                },
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            },
        })
    }

    #[test]
    fn schema_for_an_unchanged_spec_skips_the_spec_and_keeps_the_rest() {
        let mut full = schema();
        full["x-kubernetes-validations"] =
            json!([{"rule": "!has(self.status) || has(self.spec)", "message": "root"}]);
        full["properties"]["spec"]["properties"]["items"]["items"]["x-kubernetes-validations"] =
            json!([{"rule": "self.name != ''", "message": "nested"}]);
        let reduced = Arc::new(with_spec_as_stored(&full));
        let text = reduced.to_string();
        assert!(!text.contains("minScale must not exceed") && !text.contains("nested"));
        assert_eq!(reduced["x-kubernetes-validations"][0]["message"], "root");
        assert_eq!(
            reduced["properties"]["status"],
            full["properties"]["status"]
        );
        // A stored spec passes as it is: nothing below it is pruned, defaulted or checked.
        let stored = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
                            "spec": {"image": "i", "minScale": 1}, "status": {"a": 1}});
        let mut obj = stored.clone();
        admit(&reduced, &mut obj, Some(&stored), FieldValidation::Strict).expect("admitted");
        assert_eq!(obj, stored);
        // The root rule still runs.
        let mut without_spec = json!({"apiVersion": "x/v1", "kind": "X",
                                      "metadata": {"name": "a"}, "status": {"a": 1}});
        let rejected = admit(
            &reduced,
            &mut without_spec,
            Some(&stored),
            FieldValidation::Warn,
        );
        assert!(
            matches!(rejected, Err(Rejection::Invalid(_))),
            "{rejected:?}"
        );
    }

    fn causes(obj: Value, old: Option<&Value>) -> Vec<(String, String)> {
        let mut obj = obj;
        match admit(&Arc::new(schema()), &mut obj, old, FieldValidation::Warn) {
            Ok(_) => Vec::new(),
            Err(Rejection::Invalid(causes)) => {
                causes.into_iter().map(|c| (c.field, c.message)).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_rejected_warned_or_dropped() {
        let obj = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
                         "spec": {"image": "i", "bogus": 1, "items": [{"name": "a", "extra": 2}]},
                         "status": {"anything": true}});
        let mut strict = obj.clone();
        assert_eq!(
            admit(
                &Arc::new(schema()),
                &mut strict,
                None,
                FieldValidation::Strict
            ),
            Err(Rejection::UnknownFields(vec![
                "spec.bogus".into(),
                "spec.items[0].extra".into()
            ]))
        );
        let mut warned = obj.clone();
        let warnings = admit(
            &Arc::new(schema()),
            &mut warned,
            None,
            FieldValidation::Warn,
        );
        assert_eq!(
            warnings,
            Ok(vec![
                "unknown field \"spec.bogus\"".to_owned(),
                "unknown field \"spec.items[0].extra\"".to_owned()
            ])
        );
        assert!(warned["spec"].get("bogus").is_none());
        assert_eq!(warned["status"]["anything"], true);
        assert_eq!(warned["metadata"]["name"], "a");
        let mut ignored = obj;
        assert_eq!(
            admit(
                &Arc::new(schema()),
                &mut ignored,
                None,
                FieldValidation::Ignore
            ),
            Ok(vec![])
        );
    }

    #[test]
    fn defaults_fill_missing_and_null_fields() {
        let mut obj = json!({"spec": {"image": "i", "policy": null, "port": null}});
        assert_eq!(
            admit(&Arc::new(schema()), &mut obj, None, FieldValidation::Strict),
            Ok(vec![])
        );
        assert_eq!(obj["spec"]["policy"], "Delete");
        // nullable keeps its null.
        assert_eq!(obj["spec"]["port"], Value::Null);
    }

    #[test]
    fn structural_rules_name_the_field() {
        let found = causes(
            json!({"spec": {"image": "", "port": 70000, "privacy": "Secret", "path": "x",
                             "cpu": true, "env": {"a": 1}, "at": "yesterday",
                             "items": [{"name": "a"}, {"name": "a"}]}}),
            None,
        );
        let expected = [
            (
                "spec.at",
                "Invalid value: \"yesterday\": spec.at in body must be of type date-time: \"yesterday\"",
            ),
            (
                "spec.cpu",
                "Invalid value: \"boolean\": spec.cpu in body must be of type integer or string: \"boolean\"",
            ),
            (
                "spec.env.a",
                "Invalid value: \"integer\": spec.env.a in body must be of type string: \"integer\"",
            ),
            (
                "spec.image",
                "Invalid value: \"\": spec.image in body should be at least 1 chars long",
            ),
            ("spec.items[1]", "Duplicate value: {\"name\":\"a\"}"),
            (
                "spec.path",
                "Invalid value: \"x\": spec.path in body should match '^/'",
            ),
            (
                "spec.port",
                "Invalid value: 70000: spec.port in body should be less than or equal to 65535",
            ),
            (
                "spec.privacy",
                "Unsupported value: \"Secret\": supported values: \"Public\", \"Private\"",
            ),
        ];
        let mut found = found;
        found.sort();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
            .collect();
        assert_eq!(found, expected);
        assert_eq!(
            causes(json!({"spec": {}}), None),
            [("spec.image".to_owned(), "Required value".to_owned())]
        );
    }

    #[test]
    fn cel_rules_run_after_the_schema_and_see_the_old_object() {
        assert_eq!(
            causes(
                json!({"spec": {"image": "i", "minScale": 3, "maxScale": 1}}),
                None
            ),
            [(
                "spec".to_owned(),
                "Invalid value: \"object\": minScale must not exceed maxScale".to_owned()
            )]
        );
        let old = json!({"spec": {"image": "i", "path": "/a"}});
        assert_eq!(
            causes(json!({"spec": {"image": "i", "path": "/b"}}), Some(&old)),
            [(
                "spec".to_owned(),
                "Invalid value: \"object\": path is immutable".to_owned()
            )]
        );
        assert!(causes(json!({"spec": {"image": "i", "path": "/b"}}), None).is_empty());
    }

    #[test]
    fn field_validation_parses() {
        assert_eq!(FieldValidation::parse(None), Ok(FieldValidation::Warn));
        assert_eq!(
            FieldValidation::parse(Some("Strict")),
            Ok(FieldValidation::Strict)
        );
        assert!(FieldValidation::parse(Some("strict")).is_err());
    }
}
