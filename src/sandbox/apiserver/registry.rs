//! Which resources the server serves: the built-in ones and those defined by CRDs.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use super::convert;

/// The group of `CustomResourceDefinition` objects.
pub const CRD_GROUP: &str = "apiextensions.k8s.io";
/// The plural of `CustomResourceDefinition` objects.
pub const CRD_PLURAL: &str = "customresourcedefinitions";

/// Identifies a resource independently of its version: objects of every served version of a
/// resource share one storage, as in the real API server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupResource {
    /// API group, "" for the core group.
    pub group: String,
    /// Plural resource name.
    pub plural: String,
}

impl GroupResource {
    /// Builds a key from a group and a plural.
    pub fn new(group: &str, plural: &str) -> Self {
        Self {
            group: group.to_owned(),
            plural: plural.to_owned(),
        }
    }
}

/// One served version of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionDef {
    /// Version name, e.g. `v1`.
    pub name: String,
    /// Whether `{plural}/status` is a separate subresource in this version.
    pub status_subresource: bool,
    /// The CRD's `additionalPrinterColumns` (empty for built-ins, which have their own).
    pub columns: Vec<PrinterColumn>,
    /// The CRD's `openAPIV3Schema`: objects are pruned, defaulted and validated against it.
    /// `None` for built-ins (not validated) and CRDs without a schema.
    pub schema: Option<Arc<Value>>,
    /// `schema` with the spec taken as stored, for updates that leave the spec as it was
    /// (status writes, finalizer and label changes): the spec passed every rule when it was
    /// written, and a 1.30+ server ratchets validation of unchanged fields, so walking it
    /// again (most of the cost of a status write) can only repeat the verdict.
    pub schema_for_unchanged_spec: Option<Arc<Value>>,
}

impl VersionDef {
    /// A version with no status subresource, printer columns or schema.
    pub fn plain(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            status_subresource: false,
            columns: Vec::new(),
            schema: None,
            schema_for_unchanged_spec: None,
        }
    }
}

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// Optional format hint (`name`, `int32`, ...).
    pub format: String,
    /// Column description (shown by nothing but kept, as the server does).
    pub description: String,
    /// 0 for `kubectl get`, more for `-o wide` only.
    pub priority: i32,
    /// Simple JSONPath evaluated against each object, e.g. `.status.id`.
    pub json_path: String,
}

/// Everything the server needs to know to serve a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group, "" for the core group.
    pub group: String,
    /// Served versions; the first is the preferred and storage version.
    pub versions: Vec<VersionDef>,
    /// Plural name used in URLs.
    pub plural: String,
    /// Singular name (discovery only).
    pub singular: String,
    /// Kind of one object.
    pub kind: String,
    /// Kind of a list, normally `{kind}List`.
    pub list_kind: String,
    /// Namespaced (true) or cluster-scoped (false).
    pub namespaced: bool,
    /// Short names for discovery (`kubectl get cm`).
    pub short_names: Vec<String>,
    /// Categories for discovery (`kubectl get all`).
    pub categories: Vec<String>,
    /// Whether objects carry `metadata.generation` (custom resources and CRDs do).
    pub tracks_generation: bool,
    /// Objects live in another resource's storage and are converted on the way in and out
    /// (`events.k8s.io` events are core events, as on a real server). `None`: their own.
    pub storage: Option<GroupResource>,
}

impl ResourceDef {
    /// The key of this resource.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// The key its objects are stored under (shared with another resource for `events`).
    pub fn storage_resource(&self) -> GroupResource {
        self.storage
            .clone()
            .unwrap_or_else(|| self.group_resource())
    }

    /// A served version by name.
    pub fn version(&self, name: &str) -> Option<&VersionDef> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// `apiVersion` for a version of this resource (`v1` for core, `group/version` otherwise).
    pub fn api_version(&self, version: &str) -> String {
        api_version(&self.group, version)
    }

    /// `apiVersion` objects are stored with.
    pub fn storage_api_version(&self) -> String {
        let version = self.versions.first().map_or("v1", |v| v.name.as_str());
        self.api_version(version)
    }

    /// A built-in resource with one version and no generation tracking.
    fn builtin(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        Self {
            group: group.to_owned(),
            versions: vec![VersionDef::plain(version)],
            plural: plural.to_owned(),
            singular: kind.to_ascii_lowercase(),
            kind: kind.to_owned(),
            list_kind: format!("{kind}List"),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            tracks_generation: false,
            storage: None,
        }
    }

    fn short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    fn with_status(mut self) -> Self {
        for v in &mut self.versions {
            v.status_subresource = true;
        }
        self
    }

    /// Reads the served part of a CRD. Versions with `served: false` are left out; the
    /// storage version is put first.
    pub fn from_crd(crd: &CustomResourceDefinition) -> Self {
        let spec = &crd.spec;
        let mut versions: Vec<(bool, VersionDef)> = spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| {
                let status = v.subresources.as_ref().is_some_and(|s| s.status.is_some());
                let columns = v
                    .additional_printer_columns
                    .iter()
                    .flatten()
                    .map(|c| PrinterColumn {
                        name: c.name.clone(),
                        type_: c.type_.clone(),
                        format: c.format.clone().unwrap_or_default(),
                        description: c.description.clone().unwrap_or_default(),
                        priority: c.priority.unwrap_or(0),
                        json_path: c.json_path.clone(),
                    })
                    .collect();
                let schema = v
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .and_then(|s| serde_json::to_value(s).ok())
                    .map(Arc::new);
                (
                    v.storage,
                    VersionDef {
                        name: v.name.clone(),
                        status_subresource: status,
                        columns,
                        schema_for_unchanged_spec: schema
                            .as_deref()
                            .map(|s| Arc::new(super::validation::with_spec_as_stored(s))),
                        schema,
                    },
                )
            })
            .collect();
        // Stable sort: the storage version first, the others in the CRD's order.
        versions.sort_by_key(|(storage, _)| !*storage);
        let names = &spec.names;
        Self {
            group: spec.group.clone(),
            versions: versions.into_iter().map(|(_, v)| v).collect(),
            plural: names.plural.clone(),
            singular: names
                .singular
                .clone()
                .unwrap_or_else(|| names.kind.to_ascii_lowercase()),
            kind: names.kind.clone(),
            list_kind: names
                .list_kind
                .clone()
                .unwrap_or_else(|| format!("{}List", names.kind)),
            namespaced: spec.scope == "Namespaced",
            short_names: names.short_names.clone().unwrap_or_default(),
            categories: names.categories.clone().unwrap_or_default(),
            tracks_generation: true,
            storage: None,
        }
    }

    /// The resources registered by [`Registry::with_builtins`].
    pub fn builtins() -> Vec<Self> {
        let mut namespaces = Self::builtin("", "v1", "namespaces", "Namespace", false)
            .short_names(&["ns"])
            .with_status();
        namespaces.singular = "namespace".to_owned();
        let mut crds = Self::builtin(
            CRD_GROUP,
            "v1",
            CRD_PLURAL,
            "CustomResourceDefinition",
            false,
        )
        .short_names(&["crd", "crds"])
        .with_status();
        crds.categories = vec!["api-extensions".to_owned()];
        crds.tracks_generation = true;
        vec![
            namespaces,
            Self::builtin("", "v1", "configmaps", "ConfigMap", true).short_names(&["cm"]),
            Self::builtin("", "v1", "secrets", "Secret", true),
            // Stored only (nothing routes traffic); served so that `kubectl cluster-info` works.
            Self::builtin("", "v1", "services", "Service", true).short_names(&["svc"]),
            Self::builtin("", "v1", "events", "Event", true).short_names(&["ev"]),
            Self {
                storage: Some(GroupResource::new("", "events")),
                ..Self::builtin("events.k8s.io", "v1", "events", "Event", true).short_names(&["ev"])
            },
            Self::builtin("coordination.k8s.io", "v1", "leases", "Lease", true),
            crds,
        ]
    }
}

/// `apiVersion` for a group and version.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// A resource as addressed by one request: its definition and the version the client used.
#[derive(Debug, Clone)]
pub struct Served {
    /// The resource.
    pub def: Arc<ResourceDef>,
    /// The version named in the URL.
    pub version: String,
    /// Whether that version has a status subresource.
    pub status_subresource: bool,
}

impl Served {
    /// `apiVersion` of objects as this request sees them.
    pub fn api_version(&self) -> String {
        self.def.api_version(&self.version)
    }

    /// A stored object as this request sees it: converted from its storage form (events)
    /// and with `apiVersion` set to the requested version (all versions of a custom resource
    /// share one storage, as with the CRD conversion strategy `None`).
    pub fn present(&self, stored: &Value) -> Value {
        let mut out = convert::to_view(&self.def, stored);
        if let Some(map) = out.as_object_mut() {
            map.insert("apiVersion".to_owned(), Value::String(self.api_version()));
        }
        out
    }

    /// Whether a stored object is served as it is stored, apart from `apiVersion` (then
    /// [`present`](Self::present) is a copy that can be skipped).
    pub fn presents_as_stored(&self) -> bool {
        convert::serves_as_stored(&self.def)
    }

    /// An object in this request's form, converted to its storage form.
    pub fn to_storage(&self, obj: Value) -> Value {
        convert::to_storage(&self.def, obj)
    }

    /// This version's definition.
    pub fn version_def(&self) -> Option<&VersionDef> {
        self.def.version(&self.version)
    }
}

/// The set of served resources.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    resources: BTreeMap<GroupResource, Arc<ResourceDef>>,
}

impl Registry {
    /// A registry holding [`ResourceDef::builtins`].
    pub fn with_builtins() -> Self {
        let mut registry = Self::default();
        for def in ResourceDef::builtins() {
            registry.register(def);
        }
        registry
    }

    /// Adds or replaces a resource.
    pub fn register(&mut self, def: ResourceDef) {
        self.resources.insert(def.group_resource(), Arc::new(def));
    }

    /// Removes a resource; returns whether it was there.
    pub fn unregister(&mut self, key: &GroupResource) -> bool {
        self.resources.remove(key).is_some()
    }

    /// Looks up a resource by group, version and plural.
    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<Served> {
        let def = self.resources.get(&GroupResource::new(group, plural))?;
        let v = def.versions.iter().find(|v| v.name == version)?;
        Some(Served {
            def: Arc::clone(def),
            version: version.to_owned(),
            status_subresource: v.status_subresource,
        })
    }

    /// All resources, ordered by group then plural.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.resources.values()
    }

    /// Whether any resource is served in this group and version.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.all()
            .any(|d| d.group == group && d.versions.iter().any(|v| v.name == version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceDefinitionNames, CustomResourceDefinitionSpec,
        CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
        CustomResourceSubresources,
    };

    fn version(
        name: &str,
        served: bool,
        storage: bool,
        status: bool,
    ) -> CustomResourceDefinitionVersion {
        CustomResourceDefinitionVersion {
            name: name.to_owned(),
            served,
            storage,
            subresources: status.then(|| CustomResourceSubresources {
                status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
                scale: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn crd_versions_put_storage_first_and_skip_unserved() {
        let crd = CustomResourceDefinition {
            spec: CustomResourceDefinitionSpec {
                group: "example.com".into(),
                scope: "Cluster".into(),
                names: CustomResourceDefinitionNames {
                    plural: "widgets".into(),
                    kind: "Widget".into(),
                    ..Default::default()
                },
                versions: vec![
                    version("v1alpha1", true, false, false),
                    version("v1", true, true, true),
                    version("v0", false, false, false),
                ],
                ..Default::default()
            },
            ..Default::default()
        };
        let def = ResourceDef::from_crd(&crd);
        let names: Vec<_> = def.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["v1", "v1alpha1"]);
        assert!(!def.namespaced);
        assert_eq!(def.singular, "widget");
        assert_eq!(def.list_kind, "WidgetList");

        let mut registry = Registry::with_builtins();
        registry.register(def);
        let served = registry.resolve("example.com", "v1", "widgets");
        assert!(served.as_ref().is_some_and(|s| s.status_subresource));
        assert!(registry.resolve("example.com", "v0", "widgets").is_none());
    }

    #[test]
    fn core_api_version_has_no_group() {
        assert_eq!(api_version("", "v1"), "v1");
        assert_eq!(api_version("events.k8s.io", "v1"), "events.k8s.io/v1");
    }
}
