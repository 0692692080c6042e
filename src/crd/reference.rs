//! A Markdown reference of every CRD field, generated from the CRD schemas (the same text
//! `kubectl explain` shows).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};

fn type_of(schema: &JSONSchemaProps) -> String {
    if schema.x_kubernetes_int_or_string == Some(true) {
        return "quantity (int or string)".into();
    }
    match schema.type_.as_deref() {
        Some("array") => {
            let item = schema.items.as_ref().and_then(|items| match items {
                k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(s) => Some(type_of(s)),
                _ => None,
            });
            format!("[]{}", item.unwrap_or_else(|| "any".into()))
        }
        Some("object") if schema.additional_properties.is_some() => "map[string]string".into(),
        Some(other) => other.into(),
        None => "any".into(),
    }
}

fn constraints(schema: &JSONSchemaProps) -> String {
    let mut parts = Vec::new();
    if let Some(values) = &schema.enum_ {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.0.to_string().trim_matches('"').to_owned())
            .collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    if let Some(min) = schema.minimum {
        parts.push(format!("≥ {min}"));
    }
    if let Some(max) = schema.maximum {
        parts.push(format!("≤ {max}"));
    }
    if let Some(pattern) = &schema.pattern {
        parts.push(format!("pattern `{pattern}`"));
    }
    for rule in schema.x_kubernetes_validations.iter().flatten() {
        parts.push(rule.message.clone().unwrap_or_else(|| rule.rule.clone()));
    }
    parts.join("; ")
}

fn walk(path: &str, schema: &JSONSchemaProps, required: bool, rows: &mut Vec<String>) {
    let description = schema
        .description
        .clone()
        .unwrap_or_default()
        .replace('\n', " ")
        .replace('|', "\\|");
    let extra = constraints(schema).replace('|', "\\|");
    rows.push(format!(
        "| `{path}` | {} | {} | {description}{} |",
        type_of(schema),
        if required { "yes" } else { "" },
        if extra.is_empty() {
            String::new()
        } else {
            format!(" ({extra})")
        }
    ));
    let nested = match (&schema.properties, &schema.items) {
        (Some(properties), _) => Some((properties, schema.required.clone().unwrap_or_default(), path.to_owned())),
        (None, Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(item))) => {
            item.properties.as_ref().map(|p| (p, item.required.clone().unwrap_or_default(), format!("{path}[]")))
        }
        _ => None,
    };
    if let Some((properties, required, prefix)) = nested {
        for (name, child) in properties {
            walk(
                &format!("{prefix}.{name}"),
                child,
                required.contains(name),
                rows,
            );
        }
    }
}

/// The reference of all CRDs, as Markdown.
pub fn markdown(crds: &[CustomResourceDefinition]) -> String {
    let mut out = String::from(
        "# CRD field reference\n\nGenerated from the CRD schemas by `scaleway-serverless-operator crd --reference`; do not edit.\n",
    );
    for crd in crds {
        let names = &crd.spec.names;
        let Some(schema) = crd
            .spec
            .versions
            .first()
            .and_then(|v| v.schema.as_ref())
            .and_then(|s| s.open_api_v3_schema.as_ref())
        else {
            continue;
        };
        out.push_str(&format!(
            "\n## {} (`{}`, short name `{}`)\n\n",
            names.kind,
            crd.spec.group,
            names.short_names.clone().unwrap_or_default().join(", ")
        ));
        if let Some(description) = &schema.description {
            out.push_str(&format!("{description}\n\n"));
        }
        for rule in schema
            .properties
            .as_ref()
            .and_then(|p| p.get("spec"))
            .and_then(|s| s.x_kubernetes_validations.clone())
            .unwrap_or_default()
        {
            out.push_str(&format!("- rule: {}\n", rule.message.unwrap_or(rule.rule)));
        }
        out.push_str("\n| field | type | required | description |\n|---|---|---|---|\n");
        let mut rows = Vec::new();
        for part in ["spec", "status"] {
            if let Some(child) = schema.properties.as_ref().and_then(|p| p.get(part)) {
                let required = schema
                    .required
                    .clone()
                    .unwrap_or_default()
                    .contains(&part.to_owned());
                walk(part, child, required, &mut rows);
            }
        }
        out.push_str(&rows.join("\n"));
        out.push('\n');
    }
    out
}
