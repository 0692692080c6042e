//! The ServerlessFunctionToken reconciler. Scaleway shows a token's value once, in the answer
//! to its creation, and tokens cannot be changed: so the operator creates a token, writes its
//! value to the Secret at once, and only then revokes the token it replaces. A crash between
//! those steps leaves at most a token whose value nobody has: tokens carry the object's UID in
//! their description, and any such token that is neither in status nor in the Secret is
//! revoked at the next reconcile.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::requeue::Action;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};

use super::conditions::Assessment;
use super::context::Context;
use super::error::Error;
use super::exports::{MANAGED_BY, MANAGED_BY_LABEL};
use super::function_target::{self, FunctionChoice};
use super::namespace_target::{self, NamespaceChoice, Parent};
use super::observe::Lookup;
use super::policy;
use super::reconciler::{self, Managed, Report, StatusWrite, object_key};
use super::remote_status::{assess, requeue_for};
use super::secrets::SecretReader;
use crate::crd::{
    AdoptionPolicy, DeletionPolicy, ManagementPolicy, NamespaceType, ServerlessFunctionToken,
    ServerlessFunctionTokenStatus,
};
use crate::scaleway::functions::types::{CreateTokenRequest, Token, TokenFilter, TokenScope};
use crate::scaleway::types::Status;

/// Annotation on the Secret: the ID of the token whose value it holds.
pub const TOKEN_ID_ANNOTATION: &str = "serverless.scaleway.com/token-id";
/// Annotation on the Secret: what that token was issued for (see [`issued_for`]).
pub const ISSUED_FOR_ANNOTATION: &str = "serverless.scaleway.com/issued-for";
/// Field manager of the Secret writes.
const FIELD_MANAGER: &str = "scaleway-serverless-operator";

impl Managed for ServerlessFunctionToken {
    type Status = ServerlessFunctionTokenStatus;
    const KIND: &'static str = "ServerlessFunctionToken";
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn set_status(&mut self, status: Self::Status) {
        self.status = Some(status);
    }
    fn conditions(status: &Self::Status) -> &[crate::crd::Condition] {
        &status.conditions
    }
    fn set_conditions(
        status: &mut Self::Status,
        conditions: Vec<crate::crd::Condition>,
        generation: Option<i64>,
    ) {
        status.conditions = conditions;
        status.observed_generation = generation;
    }
    fn management(&self) -> ManagementPolicy {
        self.spec.management_policy
    }
    /// A token's value cannot be read, so a token not created for this object is useless.
    fn adoption(&self) -> AdoptionPolicy {
        AdoptionPolicy::Never
    }
    fn deletion_policy(&self) -> Option<DeletionPolicy> {
        self.spec.deletion_policy
    }
    fn remote_id(&self) -> Option<String> {
        self.status.as_ref().and_then(|s| s.id.clone())
    }
    fn region(&self) -> Option<String> {
        self.status.as_ref().and_then(|s| s.region.clone())
    }
}

/// Entry point for the Controller.
pub async fn reconcile(
    object: Arc<ServerlessFunctionToken>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    reconciler::reconcile(object, ctx, apply, cleanup).await
}

/// What a token is issued for: when this changes, a new token replaces the old one.
pub fn issued_for(object: &ServerlessFunctionToken) -> String {
    let spec = &object.spec;
    format!(
        "description={:?} expiresAt={:?} rotationRequestedAt={:?}",
        spec.description.as_deref().unwrap_or_default(),
        spec.expires_at.as_deref().unwrap_or_default(),
        spec.rotation_requested_at.as_deref().unwrap_or_default()
    )
}

/// `name/key` of the Secret the value goes to.
fn secret_target(object: &ServerlessFunctionToken) -> (String, String) {
    let secret = &object.spec.secret;
    (
        secret.name.clone(),
        secret.key.clone().unwrap_or_else(|| "token".to_owned()),
    )
}

/// Whether `expires_at` (RFC 3339) is in the past; an unparsable value is a spec error.
fn expired(expires_at: Option<&str>) -> Result<bool, Error> {
    let Some(text) = expires_at else {
        return Ok(false);
    };
    let at: k8s_openapi::jiff::Timestamp = text.parse().map_err(|e| {
        Error::InvalidSpec(format!(
            "expiresAt {text:?} is not an RFC 3339 date-time: {e}"
        ))
    })?;
    Ok(at <= k8s_openapi::jiff::Timestamp::now())
}

/// Where the token lives and what it grants access to.
struct Target {
    parent: Parent,
    scope: TokenScope,
}

async fn target(
    object: &ServerlessFunctionToken,
    ctx: &Context,
    secrets: &mut SecretReader,
) -> Result<Target, Error> {
    let k8s_namespace = object.namespace().unwrap_or_default();
    let spec = &object.spec;
    if let Some(reference) = &spec.namespace_ref {
        let choice = NamespaceChoice {
            reference: Some(reference),
            id: None,
            region: None,
            type_: NamespaceType::Functions,
            kind: "ServerlessFunctionToken",
        };
        let parent = namespace_target::resolve(ctx, secrets, &k8s_namespace, choice).await?;
        let scope = TokenScope::NamespaceId(parent.namespace_id.clone());
        return Ok(Target { parent, scope });
    }
    let reference = spec.function_ref.as_ref().ok_or_else(|| {
        Error::InvalidSpec("set exactly one of functionRef and namespaceRef".into())
    })?;
    let choice = FunctionChoice {
        reference: Some(reference),
        id: None,
        region: None,
    };
    let function = function_target::resolve(ctx, secrets, &k8s_namespace, choice).await?;
    let parent = Parent {
        credentials: function.credentials,
        region: function.region,
        namespace_id: function.namespace_id.unwrap_or_default(),
    };
    Ok(Target {
        parent,
        scope: TokenScope::FunctionId(function.function_id),
    })
}

impl Target {
    /// The snapshot scope: tokens are listed per function or per namespace.
    fn cache_scope(&self) -> String {
        let (kind, id) = match &self.scope {
            TokenScope::FunctionId(id) => ("function", id),
            TokenScope::NamespaceId(id) => ("namespace", id),
        };
        format!(
            "{}|{}|{kind}:{id}",
            self.parent.credentials.scope.identity, self.parent.region
        )
    }
}

/// The tokens of `target`'s scope created for the object with `uid`, from the scope's
/// snapshot; the ones Scaleway is still working on are read again with a GET.
async fn observe(
    ctx: &Context,
    api: &crate::scaleway::Functions<'_>,
    target: &Target,
    uid: &str,
    max_age: std::time::Duration,
) -> Result<Vec<Token>, Error> {
    let cache_scope = target.cache_scope();
    let filter = filter_for(&target.scope);
    let lookup = Lookup {
        id: None,
        name: uid,
        max_age,
    };
    ctx.tokens
        .find(&cache_scope, lookup, || api.list_all_tokens(&filter))
        .await
        .map_err(Error::scaleway("list tokens"))?;
    let mut ours = ctx.tokens.named(&cache_scope, uid).await;
    for token in &mut ours {
        if !token.status.is_transient() {
            continue;
        }
        match api.get_token(&token.id).await {
            Ok(fresh) => {
                ctx.tokens.put(&cache_scope, &fresh).await;
                *token = fresh;
            }
            Err(error) if error.is_not_found() => {
                ctx.tokens.remove(&cache_scope, &token.id).await;
                token.id.clear();
            }
            Err(error) => return Err(Error::scaleway("get token")(error)),
        }
    }
    ours.retain(|t| !t.id.is_empty());
    Ok(ours)
}

fn filter_for(scope: &TokenScope) -> TokenFilter {
    match scope {
        TokenScope::FunctionId(id) => TokenFilter {
            function_id: Some(id.clone()),
            ..Default::default()
        },
        TokenScope::NamespaceId(id) => TokenFilter {
            namespace_id: Some(id.clone()),
            ..Default::default()
        },
    }
}

/// What the Secret holds, when it exists, is ours and has a value: the token ID and what it
/// was issued for. The Secret, not status, is the truth about the token in force: status
/// can be one write behind (a crash, or a reconcile woken by the Secret's own watch event
/// before the status write reached the controller's cache).
fn secret_holds(secret: Option<&Secret>, key: &str, uid: &str) -> Option<(String, String)> {
    let secret = secret?;
    let owned = secret
        .owner_references()
        .iter()
        .any(|owner| owner.uid == uid);
    let has_value = secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .is_some_and(|value| !value.0.is_empty());
    if !(owned && has_value) {
        return None;
    }
    let annotations = secret.annotations();
    let id = annotations.get(TOKEN_ID_ANNOTATION)?.clone();
    let issued_for = annotations
        .get(ISSUED_FOR_ANNOTATION)
        .cloned()
        .unwrap_or_default();
    Some((id, issued_for))
}

/// Writes the token value to the Secret (server-side apply; owned by the token object).
async fn write_secret(
    object: &ServerlessFunctionToken,
    ctx: &Context,
    name: &str,
    key: &str,
    token_id: &str,
    issued_for: &str,
    value: &crate::scaleway::SecretString,
) -> Result<(), Error> {
    let namespace = object.namespace().unwrap_or_default();
    let owner = OwnerReference {
        api_version: ServerlessFunctionToken::api_version(&()).into_owned(),
        kind: ServerlessFunctionToken::kind(&()).into_owned(),
        name: object.name_any(),
        uid: object.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.clone()),
            labels: Some([(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned())].into()),
            annotations: Some(
                [
                    (TOKEN_ID_ANNOTATION.to_owned(), token_id.to_owned()),
                    (ISSUED_FOR_ANNOTATION.to_owned(), issued_for.to_owned()),
                ]
                .into(),
            ),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            key.to_owned(),
            ByteString(value.expose().as_bytes().to_vec()),
        )])),
        type_: Some("Opaque".to_owned()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(ctx.kube.clone(), &namespace)
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret),
        )
        .await
        .map_err(|source| Error::Export {
            target: format!("Secret {name}"),
            source: Box::new(source),
        })?;
    Ok(())
}

async fn apply(object: Arc<ServerlessFunctionToken>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = apply_steps(&object, &ctx).await;
    reconciler::finish(object.as_ref(), &ctx, outcome).await
}

#[allow(clippy::too_many_lines)]
async fn apply_steps(
    object: &ServerlessFunctionToken,
    ctx: &Context,
) -> Result<Report<ServerlessFunctionTokenStatus>, Error> {
    if object.spec.management_policy == ManagementPolicy::Observe {
        return Err(Error::InvalidSpec(
            "managementPolicy Observe is not supported for tokens: their value cannot be read"
                .into(),
        ));
    }
    let k8s_namespace = object.namespace().unwrap_or_default();
    let uid = object.uid().unwrap_or_default();
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let target = target(object, ctx, &mut secrets).await?;
    let api = target
        .parent
        .credentials
        .scope
        .client
        .functions(&target.parent.region);
    let previous = object.status.clone().unwrap_or_default();
    let (secret_name, secret_key) = secret_target(object);
    let wanted_secret = format!("{secret_name}/{secret_key}");
    let wanted_issue = issued_for(object);
    let mut status = ServerlessFunctionTokenStatus {
        region: Some(target.parent.region.clone()),
        function_id: match &target.scope {
            TokenScope::FunctionId(id) => Some(id.clone()),
            TokenScope::NamespaceId(_) => None,
        },
        namespace_id: Some(target.parent.namespace_id.clone()),
        effective: Some(policy::effective(ctx, object, &target.parent.credentials).await),
        ..previous.clone()
    };
    let resync = policy::effective_resync(ctx, object);
    let mut events = Vec::new();

    let cache_scope = target.cache_scope();
    // A Kubernetes GET, not a Scaleway call: the reflector of labelled Secrets could trail
    // the API by a write, and deciding from an old Secret could revoke the token in force.
    let secret = Api::<Secret>::namespaced(ctx.kube.clone(), &k8s_namespace)
        .get_opt(&secret_name)
        .await
        .map_err(Error::kube("read the token Secret"))?;
    let held = secret_holds(secret.as_ref(), &secret_key, &uid);
    // Every token of ours in the scope, from the scope's snapshot (one List per scope and
    // resync period, shared by all tokens of the same function or namespace).
    let ours = observe(ctx, &api, &target, &uid, resync).await?;
    // The token in force is the one whose value the Secret holds, if Scaleway still has it.
    let current = held.as_ref().and_then(|(id, issued)| {
        ours.iter()
            .find(|t| t.id == *id && t.status.as_str() != "deleting")
            .map(|t| (t, issued))
    });
    let needs_new = match current {
        None => true,
        Some((token, issued)) => token.status.as_str() == "error" || *issued != wanted_issue,
    };
    let current = current.map(|(token, _)| token);
    let is_expired = expired(object.spec.expires_at.as_deref())?;

    let mut current: Option<Token> = current.cloned();
    if needs_new {
        if is_expired {
            return Err(Error::InvalidSpec(format!(
                "expiresAt {} is in the past: set a later date",
                object.spec.expires_at.as_deref().unwrap_or_default()
            )));
        }
        if let Some(existing) = &secret
            && !existing
                .owner_references()
                .iter()
                .any(|owner| owner.uid == uid)
        {
            return Err(Error::NameConflict(format!(
                "Secret {secret_name} already exists and was not created for this \
                 ServerlessFunctionToken: choose another spec.secret.name"
            )));
        }
        let request = CreateTokenRequest {
            scope: target.scope.clone(),
            description: Some(policy::marked_description(
                object.spec.description.as_deref(),
                &uid,
            )),
            expires_at: object.spec.expires_at.clone(),
        };
        let created = match api.create_token(&request).await {
            Ok(created) => created,
            Err(error) => {
                ctx.tokens.invalidate(&cache_scope).await;
                return Err(Error::scaleway("create token")(error));
            }
        };
        ctx.tokens.put(&cache_scope, &created).await;
        let Some(value) = created.token.clone() else {
            let _ = api.delete_token(&created.id).await;
            return Err(Error::RemoteNotFound(
                "Scaleway created a token without showing its value; it was revoked".into(),
            ));
        };
        if let Err(error) = write_secret(
            object,
            ctx,
            &secret_name,
            &secret_key,
            &created.id,
            &wanted_issue,
            &value,
        )
        .await
        {
            // A token nobody can read is useless: revoke it now (and, if this fails too,
            // at the next reconcile, which finds it by its owner mark).
            let _ = api.delete_token(&created.id).await;
            return Err(error);
        }
        events.push((
            "Issued",
            format!(
                "issued Scaleway token {} and wrote it to Secret {wanted_secret}",
                created.id
            ),
        ));
        current = Some(created);
    }
    status.issued_for = Some(wanted_issue.clone());
    status.secret = Some(wanted_secret.clone());
    let Some(current) = current else {
        return Err(Error::RemoteNotFound("no token".into()));
    };

    // Revoke every other token of ours: the one just replaced, and any left by a crash.
    for stale in ours
        .iter()
        .filter(|t| t.id != current.id && !t.status.is_transient())
    {
        match api.delete_token(&stale.id).await {
            Ok(revoked) => {
                ctx.tokens.put(&cache_scope, &revoked).await;
                events.push(("Revoked", format!("revoked Scaleway token {}", stale.id)));
            }
            Err(error) if error.is_not_found() => ctx.tokens.remove(&cache_scope, &stale.id).await,
            Err(error) => {
                ctx.tokens.after_failed_write(&cache_scope, &error).await;
                return Err(Error::scaleway("revoke a replaced token")(error));
            }
        }
    }

    status.id = Some(current.id.clone());
    status.remote_status = Some(current.status.to_string());
    let remote_status = Status::from(current.status.as_str());
    let mut assessment = assess("token", &remote_status, None);
    if is_expired {
        assessment = Assessment::failed(
            "Expired",
            format!(
                "the token expired at {}: set a later spec.expiresAt to get a new one",
                object.spec.expires_at.as_deref().unwrap_or_default()
            ),
            true,
        );
    } else if remote_status == Status::Ready {
        assessment = Assessment::ready(format!(
            "Scaleway reports the token ready; its value is in Secret {wanted_secret}"
        ));
    }
    let action = requeue_for(&remote_status, &object_key(object), ctx, resync);
    Ok(Report {
        status,
        assessment,
        action,
        events,
        status_write: StatusWrite::Now,
    })
}

/// Deletion: with Delete, revoke the token (the Secret goes with this object, which owns
/// it); with Orphan, leave the token and release the Secret from this object so that it
/// stays.
async fn cleanup(object: Arc<ServerlessFunctionToken>, ctx: Arc<Context>) -> Result<Action, Error> {
    let object = object.as_ref();
    let previous = object.status.clone().unwrap_or_default();
    let k8s_namespace = object.namespace().unwrap_or_default();
    let (policy, _) = policy::effective_deletion(&ctx, object).await;
    if policy == DeletionPolicy::Orphan {
        let (secret_name, _) = secret_target(object);
        let release = serde_json::json!({"metadata": {"ownerReferences": null}});
        let secrets: Api<Secret> = Api::namespaced(ctx.kube.clone(), &k8s_namespace);
        match secrets
            .patch(
                &secret_name,
                &PatchParams::default(),
                &Patch::Merge(&release),
            )
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(Error::kube("release the token Secret")(error)),
        }
    }
    if let Some(done) = reconciler::keep_remote(object, &ctx).await {
        return done;
    }
    let mut secrets = SecretReader::new(ctx.kube.clone(), &k8s_namespace);
    let uid = object.uid().unwrap_or_default();
    // The function or namespace may no longer resolve (gone, or being deleted and waiting
    // for this token): then the token status recorded is revoked, with the credentials
    // status recorded. One already gone went with its function or namespace (cascade).
    let (client, region, filter) = match target(object, &ctx, &mut secrets).await {
        Ok(target) => (
            target.parent.credentials.scope.client,
            target.parent.region,
            Some(filter_for(&target.scope)),
        ),
        Err(_) => {
            let (Some(_), Some(region)) = (&previous.id, previous.region.clone()) else {
                return Ok(Action::await_change());
            };
            let credentials = policy::recorded_credentials(
                &ctx,
                &mut secrets,
                &k8s_namespace,
                previous.effective.as_ref(),
            )
            .await?;
            (credentials.scope.client, region, None)
        }
    };
    let api = client.functions(&region);
    let tokens = match (filter, &previous.id) {
        (Some(filter), _) => api
            .list_all_tokens(&filter)
            .await
            .map_err(Error::scaleway("list tokens"))?,
        (None, Some(id)) => match api.get_token(id).await {
            Ok(token) => vec![token],
            Err(error) if error.is_not_found() => Vec::new(),
            Err(error) => return Err(Error::scaleway("get token")(error)),
        },
        (None, None) => Vec::new(),
    };
    let ours: Vec<Token> = tokens
        .into_iter()
        .filter(|t| {
            policy::description_owner(&t.description) == Some(uid.as_str())
                || previous.id.as_deref() == Some(&t.id)
        })
        .collect();
    let mut waiting = false;
    for token in &ours {
        waiting = true;
        if token.status.is_transient() {
            continue;
        }
        match api.delete_token(&token.id).await {
            Ok(_) => {}
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(Error::scaleway("revoke token")(error)),
        }
    }
    if !waiting {
        reconciler::publish(
            object,
            &ctx,
            super::events::EventType::Normal,
            "Deleted",
            "the Scaleway token is revoked".to_owned(),
        )
        .await;
        return Ok(Action::await_change());
    }
    let message = "waiting for Scaleway to revoke the token".to_owned();
    let deleting = ServerlessFunctionTokenStatus {
        remote_status: Some("deleting".into()),
        ..previous
    };
    reconciler::write_status(
        object,
        &ctx,
        deleting,
        &Assessment::progressing("Deleting", message.clone()),
    )
    .await?;
    Err(Error::Deleting(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_in_the_past_and_bad_dates() {
        assert!(!expired(None).unwrap_or(true));
        assert!(expired(Some("2001-01-01T00:00:00Z")).unwrap_or(false));
        assert!(!expired(Some("2999-01-01T00:00:00Z")).unwrap_or(true));
        assert!(expired(Some("tomorrow")).is_err());
    }

    #[test]
    fn a_secret_holds_a_token_only_when_ours_and_filled() {
        let uid = "u1";
        let secret = |owner: &str, value: &str| -> Secret {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "s", "annotations": {TOKEN_ID_ANNOTATION: "t1", ISSUED_FOR_ANNOTATION: "for"},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": owner}]},
                "data": {"token": ByteString(value.as_bytes().to_vec())}
            }))
            .unwrap_or_default()
        };
        assert_eq!(
            secret_holds(Some(&secret(uid, "v")), "token", uid),
            Some(("t1".to_owned(), "for".to_owned()))
        );
        assert_eq!(
            secret_holds(Some(&secret("other", "v")), "token", uid),
            None
        );
        assert_eq!(secret_holds(Some(&secret(uid, "")), "token", uid), None);
        assert_eq!(secret_holds(Some(&secret(uid, "v")), "other", uid), None);
        assert_eq!(secret_holds(None, "token", uid), None);
    }
}
