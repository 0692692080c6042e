//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/{group}`, `/api/v1` and
//! `/apis/{group}/{version}`, in the legacy form and, when the client asks for it through
//! `Accept`, the aggregated form (`apidiscovery.k8s.io/v2`, as kube's `Discovery::run_aggregated`
//! and kubectl request it).

use serde_json::{Value, json};

use super::registry::{Registry, ResourceDef, api_version};

/// Verbs every served resource supports.
const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// Which aggregated-discovery version a client accepts, from its `Accept` header.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    let accept: String = accept.chars().filter(|c| !c.is_whitespace()).collect();
    accept.split(',').find_map(|media| {
        let media = media.to_ascii_lowercase();
        if !media.contains("g=apidiscovery.k8s.io") || !media.contains("as=apigroupdiscoverylist") {
            return None;
        }
        if media.contains(";v=v2;") || media.ends_with(";v=v2") {
            Some("v2")
        } else if media.contains(";v=v2beta1") {
            Some("v2beta1")
        } else {
            None
        }
    })
}

/// Content type of an aggregated discovery response.
pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// The Kubernetes version the sandbox reports (the minor of the kubectl the project
/// installs, so that kubectl sees no version skew).
pub const GIT_VERSION: &str = "v1.35.0-sandbox";

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "35",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api` (legacy form).
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// Groups other than core, in registration order of first appearance, with their versions.
fn groups(registry: &Registry) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for def in registry.all().filter(|d| !d.group.is_empty()) {
        let entry = match out.iter_mut().position(|(g, _)| *g == def.group) {
            Some(i) => &mut out[i],
            None => {
                out.push((def.group.clone(), Vec::new()));
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        for v in &def.versions {
            if !entry.1.contains(&v.name) {
                entry.1.push(v.name.clone());
            }
        }
    }
    out
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": api_version(group, v), "version": v});
    json!({
        "name": group,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv).unwrap_or(Value::Null),
    })
}

/// `/apis` (legacy form).
pub fn group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = groups(registry)
        .iter()
        .map(|(g, versions)| group_json(g, versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, or `None` when the group is not served.
pub fn group(registry: &Registry, name: &str) -> Option<Value> {
    let (group, versions) = groups(registry).into_iter().find(|(g, _)| g == name)?;
    let mut doc = group_json(&group, &versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn defs_in<'a>(
    registry: &'a Registry,
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'a ResourceDef> + 'a {
    registry
        .all()
        .filter(move |d| d.group == group && d.versions.iter().any(|v| v.name == version))
        .map(|d| d.as_ref())
}

fn has_status(def: &ResourceDef, version: &str) -> bool {
    def.versions
        .iter()
        .any(|v| v.name == version && v.status_subresource)
}

/// `/api/v1` or `/apis/{group}/{version}`, or `None` when nothing is served there.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    if !registry.serves(group, version) {
        return None;
    }
    let mut resources = Vec::new();
    for def in defs_in(registry, group, version) {
        let mut entry = json!({
            "name": def.plural,
            "singularName": def.singular,
            "namespaced": def.namespaced,
            "kind": def.kind,
            "verbs": VERBS,
        });
        if !def.short_names.is_empty() {
            entry["shortNames"] = json!(def.short_names);
        }
        if !def.categories.is_empty() {
            entry["categories"] = json!(def.categories);
        }
        resources.push(entry);
        if has_status(def, version) {
            resources.push(json!({
                "name": format!("{}/status", def.plural),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version(group, version),
        "resources": resources,
    }))
}

fn aggregated_group(registry: &Registry, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = defs_in(registry, group, version)
                .map(|def| {
                    let kind = json!({"group": group, "version": version, "kind": def.kind});
                    let mut subresources = Vec::new();
                    if has_status(def, version) {
                        subresources.push(json!({
                            "subresource": "status",
                            "responseKind": kind,
                            "verbs": STATUS_VERBS,
                        }));
                    }
                    json!({
                        "resource": def.plural,
                        "responseKind": kind,
                        "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": def.singular,
                        "verbs": VERBS,
                        "shortNames": def.short_names,
                        "categories": def.categories,
                        "subresources": subresources,
                    })
                })
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({})
    } else {
        json!({"name": group})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// `/api` or `/apis` in aggregated form.
pub fn aggregated(registry: &Registry, core: bool, version: &str) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(registry, "", &["v1".to_owned()])]
    } else {
        groups(registry)
            .iter()
            .map(|(g, versions)| aggregated_group(registry, g, versions))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_selects_aggregated_discovery() {
        assert_eq!(
            aggregated_version(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
            ),
            Some("v2")
        );
        assert_eq!(
            aggregated_version(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            ),
            Some("v2beta1")
        );
        assert_eq!(aggregated_version("application/json"), None);
    }

    #[test]
    fn core_resource_list_has_status_subresource_entries() {
        let registry = Registry::with_builtins();
        let list = resource_list(&registry, "", "v1").unwrap_or_default();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
            .unwrap_or_default();
        assert!(names.contains(&"namespaces/status"), "{names:?}");
        assert!(names.contains(&"configmaps"));
        assert!(resource_list(&registry, "nope.io", "v1").is_none());
    }

    #[test]
    fn groups_list_every_group_once() {
        let registry = Registry::with_builtins();
        let list = group_list(&registry);
        let names: Vec<&str> = list["groups"]
            .as_array()
            .map(|a| a.iter().filter_map(|g| g["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            [
                "apiextensions.k8s.io",
                "coordination.k8s.io",
                "events.k8s.io"
            ]
        );
        assert!(group(&registry, "events.k8s.io").is_some());
    }
}
