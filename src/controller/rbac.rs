//! The Kubernetes permissions the operator's code uses, in one table. The Helm chart's RBAC
//! is tested against it, so a verb the code needs but the chart lacks fails a test rather
//! than a user's install.

/// One RBAC rule the operator needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// API group (`""` for core).
    pub api_group: &'static str,
    /// Resource (with `/subresource` where relevant).
    pub resource: &'static str,
    /// Verbs.
    pub verbs: &'static [&'static str],
    /// Why the code needs it.
    pub why: &'static str,
}

/// Everything the controllers call.
pub const PERMISSIONS: &[Permission] = &[
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessnamespaces",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlesscontainers",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlesstriggers",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessdomains",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctions",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctiontokens",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctioncrons",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctiontriggers",
        verbs: &["get", "list", "watch", "patch"],
        why: "watch the kind; add and remove the finalizer (JSON patch)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessnamespaces/status",
        verbs: &["patch"],
        why: "write status",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlesscontainers/status",
        verbs: &["patch"],
        why: "write status",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlesstriggers/status",
        verbs: &["patch"],
        why: "write status",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessdomains/status",
        verbs: &["patch"],
        why: "write status",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctions/status",
        verbs: &["patch"],
        why: "write status",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctiontokens/status",
        verbs: &["patch"],
        why: "write status",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctioncrons/status",
        verbs: &["patch"],
        why: "write status (and, before a cron is created, the name it is created under)",
    },
    Permission {
        api_group: crate::crd::GROUP,
        resource: "serverlessfunctiontriggers/status",
        verbs: &["patch"],
        why: "write status",
    },
    Permission {
        api_group: "",
        resource: "secrets",
        verbs: &["get", "list", "watch", "create", "patch"],
        why: "read secret environment variables, trigger keys and credentials; re-sync when they change; write exports and function token values (server-side apply, authorized as create when the target is new; a merge patch releases an orphaned token Secret)",
    },
    Permission {
        api_group: "",
        resource: "configmaps",
        verbs: &["get", "list", "watch", "create", "patch"],
        why: "read a function's code archive and watch for changes to it (metadata only); write a container's exports (server-side apply, authorized as create when the target is new) and watch the labelled ones",
    },
    Permission {
        api_group: "",
        resource: "namespaces",
        verbs: &["get"],
        why: "read the layered defaults (deletion policy, credentials Secret) from Namespace annotations",
    },
    Permission {
        api_group: "events.k8s.io",
        resource: "events",
        verbs: &["create", "patch"],
        why: "publish events (a repeated warning is patched into a series)",
    },
];
