//! Layered controls: the deletion policy, credentials and resync period of an object are
//! resolved from the most specific level down (the object, its parent, its Kubernetes
//! Namespace's annotations, the operator's flags); ownership marks tell our Scaleway
//! resources from others', so that adoption is explicit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, ResourceExt};

use super::clients::Scoped;
use super::context::Context;
use super::error::Error;
use super::observe::RemoteObject;
use super::reconciler::Managed;
use super::secrets::SecretReader;
use crate::crd::{
    AdoptionPolicy, DeletionPolicy, EffectivePolicies, ManagementPolicy, PolicySource, units,
};

/// Namespace annotation: default deletion policy (`Delete` or `Orphan`) of every object in it.
pub const DELETION_POLICY_ANNOTATION: &str = "serverless.scaleway.com/deletion-policy";
/// Namespace annotation: default credentials Secret (in that Namespace) of every object in it.
pub const CREDENTIALS_ANNOTATION: &str = "serverless.scaleway.com/credentials-secret";
/// Object annotation: its resync period (a duration such as `2m`), bounded by
/// [`MIN_RESYNC`] and [`MAX_RESYNC`].
pub const RESYNC_ANNOTATION: &str = "serverless.scaleway.com/resync-period";
/// Prefix of the tag that marks a Scaleway resource as created for (or adopted by) the
/// Kubernetes object with that UID.
pub const OWNER_TAG_PREFIX: &str = "serverless.scaleway.com/owner-uid=";
/// Marks a Scaleway resource that has a description but no tags (function tokens and
/// triggers) as created for the Kubernetes object with this UID: `[k8s-owner-uid=<uid>]`.
const OWNER_MARK: &str = "[k8s-owner-uid=";
/// No object can ask to be compared with Scaleway more often than this.
pub const MIN_RESYNC: Duration = Duration::from_secs(30);
/// Nor less often than this.
pub const MAX_RESYNC: Duration = Duration::from_secs(24 * 3600);
/// How long the annotations of a Kubernetes Namespace are reused before being read again.
const NAMESPACE_TTL: Duration = Duration::from_secs(30);

/// The annotations of Kubernetes Namespaces, read with one GET per Namespace every 30 s at
/// most (a GET works with a namespaced Role too, where a watch of Namespaces would not).
pub struct NamespaceDefaults {
    kube: kube::Client,
    cache: Mutex<HashMap<String, ReadAnnotations>>,
}

/// Annotations and when they were read.
type ReadAnnotations = (Instant, BTreeMap<String, String>);

impl NamespaceDefaults {
    /// An empty cache.
    pub fn new(kube: kube::Client) -> Self {
        Self {
            kube,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The annotations of Namespace `name` (empty when it cannot be read: the operator's
    /// defaults then apply, and the reason is logged).
    pub async fn annotations(&self, name: &str) -> BTreeMap<String, String> {
        if let Ok(cache) = self.cache.lock()
            && let Some((read_at, annotations)) = cache.get(name)
            && read_at.elapsed() < NAMESPACE_TTL
        {
            return annotations.clone();
        }
        let api: Api<Namespace> = Api::all(self.kube.clone());
        let annotations = match api.get_opt(name).await {
            Ok(namespace) => namespace
                .map(|n| n.annotations().clone())
                .unwrap_or_default(),
            Err(error) => {
                tracing::debug!(namespace = name, %error, "could not read Namespace annotations");
                BTreeMap::new()
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(name.to_owned(), (Instant::now(), annotations.clone()));
        }
        annotations
    }
}

/// The deletion policy in force: the object's, else its Namespace's annotation, else the
/// operator's. An annotation value that is neither `Delete` nor `Orphan` is ignored.
pub fn deletion_policy(
    object: Option<DeletionPolicy>,
    namespace_annotations: &BTreeMap<String, String>,
    operator: DeletionPolicy,
) -> (DeletionPolicy, PolicySource) {
    if let Some(policy) = object {
        return (policy, PolicySource::Object);
    }
    let annotated = namespace_annotations
        .get(DELETION_POLICY_ANNOTATION)
        .and_then(|value| match value.trim() {
            "Delete" | "delete" => Some(DeletionPolicy::Delete),
            "Orphan" | "orphan" => Some(DeletionPolicy::Orphan),
            _ => None,
        });
    match annotated {
        Some(policy) => (policy, PolicySource::Namespace),
        None => (operator, PolicySource::Operator),
    }
}

/// The resync period in force: the object's annotation, bounded to [`MIN_RESYNC`,
/// `MAX_RESYNC`] so that no object can make the operator hammer the API, else the
/// operator's for the kind (the operator's own flags are trusted as they are). An
/// unparsable annotation is ignored.
pub fn resync_period(
    object_annotations: &BTreeMap<String, String>,
    kind_default: Duration,
) -> Duration {
    object_annotations
        .get(RESYNC_ANNOTATION)
        .and_then(|text| units::duration(RESYNC_ANNOTATION, text).ok())
        .map(|period| period.clamp(MIN_RESYNC, MAX_RESYNC))
        .unwrap_or(kind_default)
}

/// A duration the way Kubernetes prints them (`1h2m3s`, `5m0s`, `30s`).
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// Credentials in force for an object.
pub struct Credentials {
    /// The client.
    pub scope: Scoped,
    /// The Secret they come from ("" for the operator's own).
    pub secret: String,
    /// Where that choice came from.
    pub from: PolicySource,
}

/// Resolves credentials: `explicit` (the object's or its parent's Secret), else the
/// Namespace annotation, else the operator's own.
pub async fn credentials(
    ctx: &Context,
    secrets: &mut SecretReader,
    namespace: &str,
    explicit: Option<(&str, PolicySource)>,
) -> Result<Credentials, Error> {
    let annotated;
    let chosen = match explicit {
        Some(chosen) => Some(chosen),
        None => {
            annotated = ctx
                .namespace_defaults
                .annotations(namespace)
                .await
                .get(CREDENTIALS_ANNOTATION)
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty());
            annotated
                .as_deref()
                .map(|name| (name, PolicySource::Namespace))
        }
    };
    match chosen {
        Some((secret, from)) => Ok(Credentials {
            scope: ctx.clients.from_secret(secrets, secret).await?,
            secret: secret.to_owned(),
            from,
        }),
        None => Ok(Credentials {
            scope: ctx.clients.default_scope()?,
            secret: String::new(),
            from: PolicySource::Operator,
        }),
    }
}

/// The credentials an object last used, from what its status recorded: for a deletion whose
/// parent is gone or being deleted (so no longer resolves), the Secret in
/// `status.effective`, else the layered default.
pub async fn recorded_credentials(
    ctx: &Context,
    secrets: &mut SecretReader,
    namespace: &str,
    effective: Option<&EffectivePolicies>,
) -> Result<Credentials, Error> {
    let explicit = effective
        .filter(|e| !e.credentials_secret.is_empty())
        .map(|e| (e.credentials_secret.as_str(), e.credentials_from));
    credentials(ctx, secrets, namespace, explicit).await
}

/// The deletion policy in force for `object`.
pub async fn effective_deletion<K: Managed>(
    ctx: &Context,
    object: &K,
) -> (DeletionPolicy, PolicySource) {
    let annotations = ctx
        .namespace_defaults
        .annotations(&object.namespace().unwrap_or_default())
        .await;
    deletion_policy(
        object.deletion_policy(),
        &annotations,
        ctx.config.default_deletion_policy,
    )
}

/// The resync period in force for `object`.
pub fn effective_resync<K: Managed>(ctx: &Context, object: &K) -> Duration {
    resync_period(object.annotations(), ctx.config.resync_for(K::KIND))
}

/// Everything in force for `object`, for its status.
pub async fn effective<K: Managed>(
    ctx: &Context,
    object: &K,
    credentials: &Credentials,
) -> EffectivePolicies {
    let (deletion_policy, deletion_policy_from) = effective_deletion(ctx, object).await;
    EffectivePolicies {
        deletion_policy,
        deletion_policy_from,
        credentials_secret: credentials.secret.as_str().into(),
        credentials_from: credentials.from,
        resync_period: format_duration(effective_resync(ctx, object)).into(),
    }
}

/// The ownership tag for the object with `uid`.
pub fn owner_tag(uid: &str) -> String {
    format!("{OWNER_TAG_PREFIX}{uid}")
}

/// The UID a remote resource's tags mark it as belonging to, if any.
pub fn owner_of(tags: &[String]) -> Option<&str> {
    tags.iter().find_map(|t| t.strip_prefix(OWNER_TAG_PREFIX))
}

/// The description to send for a resource without tags: the spec's, then the owner mark.
pub fn marked_description(description: Option<&str>, uid: &str) -> String {
    let mark = format!("{OWNER_MARK}{uid}]");
    match description.filter(|d| !d.is_empty()) {
        Some(description) => format!("{description} {mark}"),
        None => mark,
    }
}

/// The UID in a description's owner mark, if it has one.
pub fn description_owner(description: &str) -> Option<&str> {
    let start = description.rfind(OWNER_MARK)? + OWNER_MARK.len();
    description[start..].strip_suffix(']')
}

/// A description without its owner mark (what a user wrote).
pub fn description_without_mark(description: &str) -> &str {
    match description.rfind(OWNER_MARK) {
        Some(start) if description_owner(description).is_some() => description[..start].trim_end(),
        _ => description,
    }
}

/// The tags to keep on a resource we own: the spec's (or, when the spec leaves tags
/// unmanaged, the remote's), without any ownership tag, then ours.
pub fn owned_tags(spec: Option<&[String]>, remote: Option<&[String]>, uid: &str) -> Vec<String> {
    let base = spec.or(remote).unwrap_or_default();
    let mut tags: Vec<String> = base
        .iter()
        .filter(|t| !t.starts_with(OWNER_TAG_PREFIX))
        .cloned()
        .collect();
    tags.push(owner_tag(uid));
    tags
}

/// How an object stands to a remote resource it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Its status already records the resource.
    Recorded,
    /// The resource carries its ownership tag (created by it; the status write was lost).
    Owned,
    /// Taken over now, as its policies allow (a `Adopted` event says so).
    Adopted,
}

/// Decides whether `object` may take `remote` (found by name, or recorded in status).
/// `what` names the resource for messages, e.g. `Scaleway container web (1f3…)`.
pub fn claim(
    what: &str,
    recorded_id: Option<&str>,
    remote_id: &str,
    remote_owner: Option<&str>,
    uid: &str,
    management: ManagementPolicy,
    adoption: AdoptionPolicy,
) -> Result<Claim, Error> {
    if recorded_id == Some(remote_id) {
        return Ok(Claim::Recorded);
    }
    match remote_owner {
        Some(owner) if owner == uid => Ok(Claim::Owned),
        // Reading someone else's resource is harmless.
        _ if management == ManagementPolicy::Observe => Ok(Claim::Adopted),
        Some(owner) => Err(Error::NameConflict(format!(
            "{what} already exists and belongs to another Kubernetes object (uid {owner}): choose another spec.name"
        ))),
        None if adoption == AdoptionPolicy::Adopt => Ok(Claim::Adopted),
        None => Err(Error::AdoptionRequired(format!(
            "{what} already exists and was not created for this object: set spec.adoptionPolicy: Adopt to manage it, spec.managementPolicy: Observe to only report it, or choose another spec.name"
        ))),
    }
}

/// Checks that `object` may take the remote object it found (see [`claim`]); returns the
/// `Adopted` event to publish when it was taken over now.
pub fn check_claim<K: Managed, T: RemoteObject>(
    object: &K,
    remote: Option<&T>,
) -> Result<Option<(&'static str, String)>, Error> {
    let Some(found) = remote else {
        return Ok(None);
    };
    let what = format!(
        "Scaleway {} {} ({})",
        K::KIND.trim_start_matches("Serverless").to_lowercase(),
        found.name(),
        found.id()
    );
    let claimed = claim(
        &what,
        object.remote_id().as_deref(),
        found.id(),
        found.owner(),
        &object.uid().unwrap_or_default(),
        object.management(),
        object.adoption(),
    )?;
    Ok((claimed == Claim::Adopted).then(|| ("Adopted", format!("adopted existing {what}"))))
}

/// Whether a deletion may delete a remote resource found by name (no ID in status): only
/// when it is ours, never someone else's that happens to have the name.
pub fn may_delete_found(remote_tags: &[String], uid: &str) -> bool {
    owner_of(remote_tags) == Some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_mark_round_trips() {
        let uid = "8e0c2a6e-1111-4222-8333-444455556666";
        let description = marked_description(Some("for CI"), uid);
        assert_eq!(description, format!("for CI [k8s-owner-uid={uid}]"));
        assert_eq!(description_owner(&description), Some(uid));
        assert_eq!(description_owner(&marked_description(None, uid)), Some(uid));
        assert_eq!(description_owner("someone else's token"), None);
        assert_eq!(description_owner("[k8s-owner-uid=abc"), None);
        assert_eq!(description_without_mark(&description), "for CI");
        assert_eq!(description_without_mark(&marked_description(None, uid)), "");
        assert_eq!(description_without_mark("by hand"), "by hand");
    }

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn deletion_policy_is_resolved_from_the_most_specific_level() {
        let orphan_ns = annotations(&[(DELETION_POLICY_ANNOTATION, "Orphan")]);
        assert_eq!(
            deletion_policy(
                Some(DeletionPolicy::Delete),
                &orphan_ns,
                DeletionPolicy::Orphan
            ),
            (DeletionPolicy::Delete, PolicySource::Object)
        );
        assert_eq!(
            deletion_policy(None, &orphan_ns, DeletionPolicy::Delete),
            (DeletionPolicy::Orphan, PolicySource::Namespace)
        );
        assert_eq!(
            deletion_policy(None, &BTreeMap::new(), DeletionPolicy::Orphan),
            (DeletionPolicy::Orphan, PolicySource::Operator)
        );
        let garbage = annotations(&[(DELETION_POLICY_ANNOTATION, "Keep")]);
        assert_eq!(
            deletion_policy(None, &garbage, DeletionPolicy::Delete),
            (DeletionPolicy::Delete, PolicySource::Operator),
            "an unknown value falls through"
        );
    }

    #[test]
    fn resync_is_bounded_so_no_object_can_hammer_the_api() {
        let default = Duration::from_secs(300);
        assert_eq!(resync_period(&BTreeMap::new(), default), default);
        let fast = annotations(&[(RESYNC_ANNOTATION, "1s")]);
        assert_eq!(resync_period(&fast, default), MIN_RESYNC);
        let slow = annotations(&[(RESYNC_ANNOTATION, "1000h")]);
        assert_eq!(resync_period(&slow, default), MAX_RESYNC);
        let two = annotations(&[(RESYNC_ANNOTATION, "2m")]);
        assert_eq!(resync_period(&two, default), Duration::from_secs(120));
        let bad = annotations(&[(RESYNC_ANNOTATION, "soon")]);
        assert_eq!(resync_period(&bad, default), default);
        assert_eq!(
            resync_period(&BTreeMap::new(), Duration::from_secs(1)),
            Duration::from_secs(1),
            "the operator's own flag is trusted"
        );
    }

    #[test]
    fn durations_print_like_kubernetes() {
        assert_eq!(format_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(3723)), "1h2m3s");
    }

    #[test]
    fn owned_tags_keep_the_users_and_carry_exactly_one_marker() {
        let spec = vec!["team=a".to_owned(), owner_tag("old")];
        assert_eq!(
            owned_tags(Some(&spec), None, "u1"),
            ["team=a".to_owned(), owner_tag("u1")]
        );
        let remote = vec!["console=x".to_owned()];
        assert_eq!(
            owned_tags(None, Some(&remote), "u1"),
            ["console=x".to_owned(), owner_tag("u1")],
            "unmanaged tags are kept as they are"
        );
        assert_eq!(owned_tags(None, None, "u1"), [owner_tag("u1")]);
    }

    #[test]
    fn adoption_is_explicit() {
        use AdoptionPolicy::{Adopt, Never};
        use ManagementPolicy::{Manage, Observe};
        let ours = [owner_tag("me")];
        let theirs = [owner_tag("other")];
        let nobody: [String; 0] = [];
        let claim = |recorded, tags: &[String], m, a| {
            claim("x", recorded, "id", owner_of(tags), "me", m, a)
        };
        assert_eq!(
            claim(Some("id"), &nobody, Manage, Never).ok(),
            Some(Claim::Recorded)
        );
        assert_eq!(claim(None, &ours, Manage, Never).ok(), Some(Claim::Owned));
        assert_eq!(
            claim(None, &nobody, Manage, Adopt).ok(),
            Some(Claim::Adopted)
        );
        assert_eq!(
            claim(None, &nobody, Observe, Never).ok(),
            Some(Claim::Adopted)
        );
        assert_eq!(
            claim(None, &theirs, Observe, Never).ok(),
            Some(Claim::Adopted)
        );
        let refused = claim(None, &nobody, Manage, Never)
            .err()
            .map(|e| e.reason());
        assert_eq!(refused, Some("AdoptionRequired"));
        let conflict = claim(None, &theirs, Manage, Adopt)
            .err()
            .map(|e| e.reason());
        assert_eq!(
            conflict,
            Some("NameConflict"),
            "Adopt never steals another object's"
        );
        assert!(may_delete_found(&ours, "me"));
        assert!(!may_delete_found(&nobody, "me") && !may_delete_found(&theirs, "me"));
    }
}
