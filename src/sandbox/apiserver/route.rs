//! Turns a request path into the thing it addresses.
//!
//! Kubernetes paths are not a fixed tree: `/api/v1/namespaces/{ns}/configmaps` is a collection of
//! config maps in a namespace, while `/api/v1/namespaces/{ns}/status` is the status subresource
//! of a namespace. The parser therefore asks the caller whether a name is a namespaced resource.

/// Where a resource path points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/healthz`, `/livez`, `/readyz`
    Health,
    /// `/openapi/v3`
    OpenApiIndex,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/{group}/{version}`
    OpenApi {
        /// Group ("" for core).
        group: String,
        /// Version.
        version: String,
    },
    /// `/apis/{group}`
    Group {
        /// The group.
        group: String,
    },
    /// `/api/v1`, `/apis/{group}/{version}`
    ResourceList {
        /// Group ("" for core).
        group: String,
        /// Version.
        version: String,
    },
    /// A collection: all objects of a resource, optionally within one namespace.
    Collection {
        /// Group ("" for core).
        group: String,
        /// Version.
        version: String,
        /// Plural resource name.
        plural: String,
        /// The namespace in the path, if any.
        namespace: Option<String>,
    },
    /// One object, or one of its subresources.
    Object {
        /// Group ("" for core).
        group: String,
        /// Version.
        version: String,
        /// Plural resource name.
        plural: String,
        /// The namespace in the path, if any.
        namespace: Option<String>,
        /// Object name.
        name: String,
        /// Subresource (e.g. `status`), if any.
        subresource: Option<String>,
    },
}

/// Parses a path. `namespaced(group, version, plural)` tells whether a resource is namespaced.
/// Returns `None` for paths that address nothing.
pub fn parse(path: &str, namespaced: impl Fn(&str, &str, &str) -> bool) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz" | "livez" | "readyz"] => Some(Route::Health),
        ["openapi", "v3"] => Some(Route::OpenApiIndex),
        ["openapi", "v3", "api", version] => Some(Route::OpenApi {
            group: String::new(),
            version: (*version).to_owned(),
        }),
        ["openapi", "v3", "apis", group, version] => Some(Route::OpenApi {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        }),
        ["api"] => Some(Route::CoreVersions),
        ["apis"] => Some(Route::Groups),
        ["apis", group] => Some(Route::Group {
            group: (*group).to_owned(),
        }),
        ["api", version, rest @ ..] => resource_path("", version, rest, &namespaced),
        ["apis", group, version, rest @ ..] => resource_path(group, version, rest, &namespaced),
        _ => None,
    }
}

fn resource_path(
    group: &str,
    version: &str,
    rest: &[&str],
    namespaced: &impl Fn(&str, &str, &str) -> bool,
) -> Option<Route> {
    if rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    let group = group.to_owned();
    let version = version.to_owned();
    let collection = |namespace: Option<&str>, plural: &str| Route::Collection {
        group: group.clone(),
        version: version.clone(),
        plural: plural.to_owned(),
        namespace: namespace.map(str::to_owned),
    };
    let object =
        |namespace: Option<&str>, plural: &str, name: &str, sub: Option<&str>| Route::Object {
            group: group.clone(),
            version: version.clone(),
            plural: plural.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            subresource: sub.map(str::to_owned),
        };
    let route = match rest {
        [] => Route::ResourceList {
            group: group.clone(),
            version: version.clone(),
        },
        [plural] => collection(None, plural),
        ["namespaces", ns, plural] if namespaced(&group, &version, plural) => {
            collection(Some(ns), plural)
        }
        [plural, name] => object(None, plural, name, None),
        [plural, name, sub] => object(None, plural, name, Some(sub)),
        ["namespaces", ns, plural, name] => object(Some(ns), plural, name, None),
        ["namespaces", ns, plural, name, sub] => object(Some(ns), plural, name, Some(sub)),
        _ => return None,
    };
    Some(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// configmaps and widgets are namespaced resources; nothing else is.
    fn core_namespaced(_group: &str, _version: &str, plural: &str) -> bool {
        matches!(plural, "configmaps" | "widgets")
    }

    fn parse_core(path: &str) -> Option<Route> {
        parse(path, core_namespaced)
    }

    #[test]
    fn namespaced_collection_and_object() {
        assert_eq!(
            parse_core("/api/v1/namespaces/default/configmaps"),
            Some(Route::Collection {
                group: "".into(),
                version: "v1".into(),
                plural: "configmaps".into(),
                namespace: Some("default".into()),
            })
        );
        assert_eq!(
            parse_core("/apis/example.com/v1/namespaces/ns1/widgets/w1/status"),
            Some(Route::Object {
                group: "example.com".into(),
                version: "v1".into(),
                plural: "widgets".into(),
                namespace: Some("ns1".into()),
                name: "w1".into(),
                subresource: Some("status".into()),
            })
        );
    }

    #[test]
    fn namespace_status_is_a_subresource_not_a_collection() {
        assert_eq!(
            parse_core("/api/v1/namespaces/ns1/status"),
            Some(Route::Object {
                group: "".into(),
                version: "v1".into(),
                plural: "namespaces".into(),
                namespace: None,
                name: "ns1".into(),
                subresource: Some("status".into()),
            })
        );
        assert!(matches!(
            parse_core("/api/v1/namespaces/ns1"),
            Some(Route::Object { ref plural, ref name, namespace: None, .. }) if plural == "namespaces" && name == "ns1"
        ));
    }

    #[test]
    fn cluster_wide_collection_and_discovery() {
        assert!(matches!(
            parse_core("/apis/example.com/v1/widgets"),
            Some(Route::Collection {
                namespace: None,
                ..
            })
        ));
        assert_eq!(
            parse_core("/apis/example.com/v1"),
            Some(Route::ResourceList {
                group: "example.com".into(),
                version: "v1".into()
            })
        );
        assert_eq!(parse_core("/api"), Some(Route::CoreVersions));
        assert_eq!(parse_core("/apis/"), Some(Route::Groups));
        assert_eq!(parse_core("/version"), Some(Route::Version));
        assert_eq!(parse_core("/api/v1/namespaces/a/b/c/d/e"), None);
        assert_eq!(parse_core("/healthz"), Some(Route::Health));
        assert_eq!(parse_core("/openapi/v3"), Some(Route::OpenApiIndex));
        assert_eq!(
            parse_core("/openapi/v3/apis/example.com/v1"),
            Some(Route::OpenApi {
                group: "example.com".into(),
                version: "v1".into()
            })
        );
        assert_eq!(parse_core("/openapi/v2"), None);
        assert_eq!(parse_core("/api/v1//x"), None);
    }
}
