//! `meta.k8s.io/v1` `Table` output, what `kubectl get` asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Custom resources get their CRD's
//! printer columns (or `Age` when it declares none); the built-ins the sandbox serves get the
//! columns a real server prints for them.

use serde_json::{Value, json};

use super::jsonpath::JsonPath;
use super::object::meta_str;
use super::registry::{PrinterColumn, Served};

/// What `rows[].object` holds (`includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// A `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

/// How to render a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableOptions {
    /// `includeObject`.
    pub include_object: IncludeObject,
    /// Leave out `columnDefinitions` (later events of a watch).
    pub no_headers: bool,
}

impl TableOptions {
    /// Reads `includeObject` (absent: `Metadata`).
    pub fn parse(include_object: Option<&str>) -> Result<Self, String> {
        let include_object = match include_object {
            None | Some("" | "Metadata") => IncludeObject::Metadata,
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            Some(other) => return Err(format!("includeObject: unsupported value {other:?}")),
        };
        Ok(Self {
            include_object,
            no_headers: false,
        })
    }
}

/// Whether an `Accept` header asks for a `Table` (v1 or v1beta1) before plain JSON.
pub fn wanted(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        let media: String = first.chars().filter(|c| !c.is_whitespace()).collect();
        let media = media.to_ascii_lowercase();
        media.contains("as=table") && media.contains("g=meta.k8s.io")
    })
}

/// One column: its definition and how to compute a cell.
struct Column {
    name: &'static str,
    type_: &'static str,
    format: &'static str,
    priority: i32,
    description: &'static str,
    cell: fn(&Value) -> Value,
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

fn name_cell(obj: &Value) -> Value {
    json!(meta_str(obj, "name").unwrap_or_default())
}

fn age_cell(obj: &Value) -> Value {
    json!(age(meta_str(obj, "creationTimestamp")))
}

const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    priority: 0,
    description: NAME_DESCRIPTION,
    cell: name_cell,
};

const AGE: Column = Column {
    name: "Age",
    type_: "string",
    format: "",
    priority: 0,
    description: AGE_DESCRIPTION,
    cell: age_cell,
};

/// The built-in columns of a resource the sandbox serves without a CRD.
fn builtin_columns(group: &str, plural: &str) -> Vec<Column> {
    fn text(pointer: &'static str) -> impl Fn(&Value) -> Value {
        move |obj| obj.pointer(pointer).cloned().unwrap_or(Value::Null)
    }
    match (group, plural) {
        ("", "namespaces") => vec![
            NAME,
            Column {
                name: "Status",
                type_: "string",
                format: "",
                priority: 0,
                description: "The status of the namespace",
                cell: |o| text("/status/phase")(o),
            },
            AGE,
        ],
        ("", "secrets") => vec![
            NAME,
            Column {
                name: "Type",
                type_: "string",
                format: "",
                priority: 0,
                description: "Used to facilitate programmatic handling of secret data.",
                cell: |o| text("/type")(o),
            },
            Column {
                name: "Data",
                type_: "string",
                format: "",
                priority: 0,
                description: "Data contains the secret data.",
                cell: |o| {
                    json!(
                        o.get("data")
                            .and_then(Value::as_object)
                            .map_or(0, |d| d.len())
                    )
                },
            },
            AGE,
        ],
        ("", "configmaps") => vec![
            NAME,
            Column {
                name: "Data",
                type_: "string",
                format: "",
                priority: 0,
                description: "Data contains the configuration data.",
                cell: |o| {
                    let count = |key| o.get(key).and_then(Value::as_object).map_or(0, |d| d.len());
                    json!(count("data") + count("binaryData"))
                },
            },
            AGE,
        ],
        ("", "events") => event_columns(),
        ("coordination.k8s.io", "leases") => vec![
            NAME,
            Column {
                name: "Holder",
                type_: "string",
                format: "",
                priority: 0,
                description: "holderIdentity contains the identity of the holder of a current lease.",
                cell: |o| text("/spec/holderIdentity")(o),
            },
            AGE,
        ],
        ("apiextensions.k8s.io", "customresourcedefinitions") => vec![
            NAME,
            // A timestamp, not an age, as the real server prints it.
            Column {
                name: "Created At",
                type_: "string",
                format: "",
                priority: 0,
                description: AGE_DESCRIPTION,
                cell: |o| text("/metadata/creationTimestamp")(o),
            },
        ],
        _ => vec![NAME, AGE],
    }
}

/// Core events as `kubectl get events` prints them (also used for `events.k8s.io`, whose
/// objects are shown in their core form here).
fn event_columns() -> Vec<Column> {
    fn last_seen(o: &Value) -> Value {
        let series = o
            .pointer("/series/lastObservedTime")
            .and_then(Value::as_str);
        let last = o.get("lastTimestamp").and_then(Value::as_str);
        json!(age(series.or(last).or_else(|| first_time(o))))
    }
    fn first_time(o: &Value) -> Option<&str> {
        o.get("firstTimestamp")
            .and_then(Value::as_str)
            .or_else(|| o.get("eventTime").and_then(Value::as_str))
    }
    fn object(o: &Value) -> Value {
        let kind = o
            .pointer("/involvedObject/kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        match o.pointer("/involvedObject/name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => json!(format!("{kind}/{name}")),
            _ => json!(kind),
        }
    }
    fn source(o: &Value) -> Value {
        let component = o
            .pointer("/source/component")
            .and_then(Value::as_str)
            .or_else(|| o.get("reportingComponent").and_then(Value::as_str))
            .unwrap_or_default();
        let host = o
            .pointer("/source/host")
            .and_then(Value::as_str)
            .or_else(|| o.get("reportingInstance").and_then(Value::as_str))
            .unwrap_or_default();
        if host.is_empty() {
            json!(component)
        } else {
            json!(format!("{component}, {host}"))
        }
    }
    fn count(o: &Value) -> Value {
        let n = o
            .pointer("/series/count")
            .or_else(|| o.get("count"))
            .and_then(Value::as_i64)
            .filter(|n| *n > 0)
            .unwrap_or(1);
        json!(n)
    }
    fn column(name: &'static str, priority: i32, cell: fn(&Value) -> Value) -> Column {
        Column {
            name,
            type_: "string",
            format: "",
            priority,
            description: "",
            cell,
        }
    }
    vec![
        column("Last Seen", 0, last_seen),
        column("Type", 0, |o| o.get("type").cloned().unwrap_or(Value::Null)),
        column("Reason", 0, |o| {
            o.get("reason").cloned().unwrap_or(Value::Null)
        }),
        column("Object", 0, object),
        column("Subobject", 1, |o| {
            o.pointer("/involvedObject/fieldPath")
                .cloned()
                .unwrap_or(json!(""))
        }),
        column("Source", 1, source),
        column("Message", 0, |o| {
            json!(
                o.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim()
            )
        }),
        column("First Seen", 1, |o| json!(age(first_time(o)))),
        column("Count", 1, count),
        Column {
            format: "name",
            ..column("Name", 1, name_cell)
        },
    ]
}

/// A table of `objects` (already in the form the client asked for).
pub fn render(
    served: &Served,
    objects: &[Value],
    resource_version: Option<String>,
    options: TableOptions,
) -> Value {
    // Custom resources (the only resources besides CRDs that track generations here).
    let is_custom = served.def.tracks_generation && served.def.group != "apiextensions.k8s.io";
    let (definitions, rows): (Vec<Value>, Vec<Value>) = if is_custom {
        let columns = served
            .version_def()
            .map(|v| v.columns.clone())
            .unwrap_or_default();
        crd_table(columns, objects, options)
    } else {
        let columns = builtin_columns(&served.def.group, &served.def.plural);
        let storage_view: Vec<Value> = objects
            .iter()
            .map(|o| super::convert::to_storage(&served.def, o.clone()))
            .collect();
        let definitions = columns.iter().map(definition).collect();
        let rows = objects
            .iter()
            .zip(&storage_view)
            .map(|(obj, view)| {
                let cells: Vec<Value> = columns.iter().map(|c| (c.cell)(view)).collect();
                row(cells, obj, options.include_object)
            })
            .collect();
        (definitions, rows)
    };
    let mut table = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "rows": rows,
    });
    if let Some(rv) = resource_version {
        table["metadata"]["resourceVersion"] = json!(rv);
    }
    if !options.no_headers {
        table["columnDefinitions"] = json!(definitions);
    }
    table
}

fn definition(column: &Column) -> Value {
    json!({
        "name": column.name,
        "type": column.type_,
        "format": column.format,
        "description": column.description,
        "priority": column.priority,
    })
}

fn crd_table(
    columns: Vec<PrinterColumn>,
    objects: &[Value],
    options: TableOptions,
) -> (Vec<Value>, Vec<Value>) {
    // A CRD that declares no columns gets Age, as on a real server.
    let columns = if columns.is_empty() {
        vec![PrinterColumn {
            name: "Age".to_owned(),
            type_: "date".to_owned(),
            format: String::new(),
            description: AGE_DESCRIPTION.to_owned(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".to_owned(),
        }]
    } else {
        columns
    };
    let mut definitions = vec![definition(&NAME)];
    definitions.extend(columns.iter().map(|c| {
        let description = if c.description.is_empty() {
            format!(
                "Custom resource definition column (in JSONPath format): {}",
                c.json_path
            )
        } else {
            c.description.clone()
        };
        json!({
            "name": c.name,
            "type": c.type_,
            "format": c.format,
            "description": description,
            "priority": c.priority,
        })
    }));
    let paths: Vec<Option<JsonPath>> = columns
        .iter()
        .map(|c| JsonPath::parse(&c.json_path).ok())
        .collect();
    let rows = objects
        .iter()
        .map(|obj| {
            let mut cells = vec![name_cell(obj)];
            for (column, path) in columns.iter().zip(&paths) {
                let found = path.as_ref().and_then(|p| p.find(obj).into_iter().next());
                cells.push(match found {
                    None => Value::Null,
                    Some(value) => crd_cell(&column.type_, value),
                });
            }
            row(cells, obj, options.include_object)
        })
        .collect();
    (definitions, rows)
}

/// A cell as the real server's CRD table convertor computes it.
fn crd_cell(type_: &str, value: &Value) -> Value {
    match (type_, value) {
        ("string", Value::String(s)) => json!(s),
        ("string", Value::Null) => Value::Null,
        ("string", other) => json!(other.to_string()),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(|f| json!(f as i64)))
            .unwrap_or(Value::Null),
        ("number", Value::Number(n)) => json!(n.as_f64()),
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(s)) => json!(age(Some(s))),
        _ => Value::Null,
    }
}

fn row(cells: Vec<Value>, obj: &Value, include: IncludeObject) -> Value {
    let mut row = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
            });
        }
        IncludeObject::Object => row["object"] = obj.clone(),
    }
    row
}

/// Time since an RFC 3339 timestamp, as `kubectl` prints ages (`5s`, `3m2s`, `4h`, `2d`).
pub fn age(timestamp: Option<&str>) -> String {
    let Some(then) = timestamp.and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok()) else {
        return "<unknown>".to_owned();
    };
    let elapsed = k8s_openapi::jiff::Timestamp::now().as_second() - then.as_second();
    human_duration(elapsed)
}

/// Kubernetes' `duration.HumanDuration` for a number of seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::super::registry::{Registry, ResourceDef};
    use super::*;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    #[test]
    fn accept_header_asks_for_a_table() {
        assert!(wanted(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wanted("application/json"));
        assert!(!wanted(
            "application/json, application/json;as=Table;v=v1;g=meta.k8s.io"
        ));
    }

    #[test]
    fn durations_read_like_kubectl() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (185, "3m5s"),
            (600, "10m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60 * 5, "3h5m"),
            (30 * 3600, "30h"),
            (3 * 86400 + 3600, "3d1h"),
            (40 * 86400, "40d"),
        ];
        for (seconds, text) in cases {
            assert_eq!(human_duration(seconds), text, "{seconds}");
        }
    }

    fn crd() -> CustomResourceDefinition {
        serde_json::from_value(json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                    "additionalPrinterColumns": [
                        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                        {"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn crd_printer_columns_become_cells() {
        let mut registry = Registry::with_builtins();
        registry.register(ResourceDef::from_crd(&crd()));
        let served = registry
            .resolve("example.com", "v1", "widgets")
            .unwrap_or_else(|| panic!("served"));
        let widget = json!({"metadata": {"name": "w", "creationTimestamp": "2000-01-01T00:00:00Z"},
            "spec": {"size": 3}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let table = render(
            &served,
            &[widget],
            Some("7".into()),
            TableOptions::default(),
        );
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .map(|c| c.iter().filter_map(|d| d["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["Name", "Ready", "Size", "Age"]);
        assert_eq!(table["columnDefinitions"][2]["priority"], 1);
        let cells = &table["rows"][0]["cells"];
        assert_eq!(cells[0], "w");
        assert_eq!(cells[1], "True");
        assert_eq!(cells[2], 3);
        assert!(
            cells[3].as_str().is_some_and(|a| a.ends_with('y')),
            "{cells}"
        );
        assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(table["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn events_print_object_and_message() {
        let registry = Registry::with_builtins();
        let served = registry
            .resolve("", "v1", "events")
            .unwrap_or_else(|| panic!("served"));
        let event = json!({"metadata": {"name": "e"}, "type": "Normal", "reason": "Created",
            "involvedObject": {"kind": "ServerlessContainer", "name": "web"}, "message": " made \n"});
        let table = render(&served, &[event], None, TableOptions::default());
        let cells = &table["rows"][0]["cells"];
        assert_eq!(cells[1], "Normal");
        assert_eq!(cells[3], "serverlesscontainer/web");
        assert_eq!(cells[6], "made");
        assert_eq!(cells[8], 1);
    }
}
