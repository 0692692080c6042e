//! ServerlessFunctionToken through the real controllers, against the emulator's Functions API
//! and the in-memory Kubernetes API: the value goes to a Secret (never to status or events),
//! rotation writes the new token before revoking the old one, a deleted Secret gets a new
//! token, tokens left behind by a crash are revoked, a foreign Secret is never overwritten,
//! and deletion revokes everything.

mod support;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use scaleway_serverless_operator::crd::ServerlessFunctionToken;
use scaleway_serverless_operator::scaleway::functions::types::{CreateTokenRequest, TokenScope};
use serde_json::json;
use support::*;

const POST_TOKENS: &str = "POST /functions/v1beta1/regions/{region}/tokens";
fn token_yaml(name: &str, scope: &str, secret: &str, extra: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessFunctionToken\nmetadata:\n  name: {name}\nspec:\n{scope}  secret:\n    name: {secret}\n  description: for the billing job\n{extra}"
    )
}

const FUNCTION_SCOPE: &str = "  functionRef:\n    name: hello\n";
const NAMESPACE_SCOPE: &str = "  namespaceRef:\n    name: fns\n";

/// The token ID and value in Secret `name`.
async fn secret_token(h: &Harness, name: &str) -> Option<(String, String)> {
    let secret = h.api::<Secret>().get_opt(name).await.ok().flatten()?;
    let id = secret
        .metadata
        .annotations
        .as_ref()?
        .get("serverless.scaleway.com/token-id")?
        .clone();
    let value = secret.data.as_ref()?.get("token")?;
    Some((id, String::from_utf8_lossy(&value.0).into_owned()))
}

/// Waits until the only token at Scaleway is `id` (every other one revoked).
async fn only_token(h: &Harness, what: &str, id: &str) {
    h.until(what, || async {
        let ids: Vec<String> = remote_tokens(h)
            .iter()
            .map(|t| t["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        (ids == [id])
            .then_some(())
            .ok_or_else(|| format!("{ids:?}"))
    })
    .await;
}

fn remote_tokens(h: &Harness) -> Vec<serde_json::Value> {
    h.emulator.emulator.state()["functions_api"]["tokens"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until the object is Ready with a status ID different from `not`, and the Secret
/// holds that token; returns (id, value).
async fn issued(h: &Harness, name: &str, secret: &str, not: Option<&str>) -> (String, String) {
    h.until("a token issued and written", || async {
        let object = h
            .api::<ServerlessFunctionToken>()
            .get(name)
            .await
            .map_err(|e| e.to_string())?;
        let status = object.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let id = status.id.clone().unwrap_or_default();
        match secret_token(h, secret).await {
            Some((held, value)) if ready && held == id && Some(id.as_str()) != not => {
                Ok((id, value))
            }
            other => Err(format!("{status:?} / secret {other:?}")),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_written_to_its_secret_rotated_and_revoked() {
    let h = harness().await;
    h.ready_function().await;
    h.apply::<ServerlessFunctionToken>(&token_yaml("billing", FUNCTION_SCOPE, "billing-token", ""))
        .await;
    let (first, value) = issued(&h, "billing", "billing-token", None).await;
    assert!(value.len() >= 32, "a real value: {} chars", value.len());
    let tokens = remote_tokens(&h);
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0]["id"], first);
    let description = tokens[0]["description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with("for the billing job [k8s-owner-uid="),
        "{description}"
    );
    let object = h
        .api::<ServerlessFunctionToken>()
        .get("billing")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = serde_json::to_string(&object.status).unwrap_or_default();
    assert!(!status.contains(&value), "the value is never in status");
    assert!(
        !h.events().await.iter().any(|e| e.contains(&value)),
        "nor in events"
    );
    assert!(status.contains("billing-token/token"), "{status}");
    assert_eq!(h.calls(POST_TOKENS), 1);

    // Rotation: the new token is written, then the old one revoked.
    let patch = json!({"spec": {"rotationRequestedAt": "2026-11-23T10:00:00Z"}});
    h.api::<ServerlessFunctionToken>()
        .patch("billing", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (second, new_value) = issued(&h, "billing", "billing-token", Some(&first)).await;
    assert_ne!(new_value, value);
    only_token(&h, "the old token revoked", &second).await;
    assert_eq!(h.calls(POST_TOKENS), 2);

    // A status one write behind (as when the Secret's own watch event wakes a reconcile before
    // the status write reaches the cache, or after a crash between the two writes): the
    // Secret says which token is in force, so nothing is issued and status catches up.
    let stale = json!({"status": {"id": first, "issuedFor": "stale"}});
    h.api::<ServerlessFunctionToken>()
        .patch_status("billing", &PatchParams::default(), &Patch::Merge(&stale))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let touch = json!({"metadata": {"annotations": {"touched": "1"}}});
    h.api::<Secret>()
        .patch(
            "billing-token",
            &PatchParams::default(),
            &Patch::Merge(&touch),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let caught_up = issued(&h, "billing", "billing-token", Some(&first)).await;
    assert_eq!(caught_up.0, second, "status back on the token in force");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        h.calls(POST_TOKENS),
        2,
        "no token issued for a stale status"
    );

    // The Secret deleted by someone: the value is lost, so a new token replaces the old.
    h.api::<Secret>()
        .delete("billing-token", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (third, _) = issued(&h, "billing", "billing-token", Some(&second)).await;
    only_token(&h, "only the newest token left", &third).await;

    // Deleting the object revokes the token.
    h.api::<ServerlessFunctionToken>()
        .delete("billing", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessFunctionToken>("billing").await;
    assert_eq!(h.remote_count("tokens"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_left_by_a_crash_are_revoked_and_foreign_secrets_kept() {
    let mut h = harness().await;
    let function = h.ready_function().await;
    h.apply::<ServerlessFunctionToken>(&token_yaml("ns-wide", NAMESPACE_SCOPE, "ns-token", ""))
        .await;
    let (first, _) = issued(&h, "ns-wide", "ns-token", None).await;
    let object = h
        .api::<ServerlessFunctionToken>()
        .get("ns-wide")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let namespace_id = object
        .status
        .as_ref()
        .and_then(|s| s.namespace_id.clone())
        .unwrap_or_default();
    assert_eq!(
        function
            .status
            .as_ref()
            .and_then(|s| s.namespace_id.clone()),
        Some(namespace_id.clone())
    );
    // As if the operator had died right after a create: a token with this object's mark
    // that neither status nor the Secret knows.
    let uid = object.metadata.uid.clone().unwrap_or_default();
    let orphan = h
        .scaleway
        .functions("fr-par")
        .create_token(&CreateTokenRequest {
            scope: TokenScope::NamespaceId(namespace_id),
            description: Some(format!("lost [k8s-owner-uid={uid}]")),
            expires_at: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // ... and the operator comes back as a new process (empty caches).
    h.restart().await;
    let patch = json!({"spec": {"description": "namespace-wide"}});
    h.api::<ServerlessFunctionToken>()
        .patch("ns-wide", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (second, _) = issued(&h, "ns-wide", "ns-token", Some(&first)).await;
    only_token(&h, "the lost and the replaced tokens revoked", &second).await;
    assert!(
        !remote_tokens(&h)
            .iter()
            .any(|t| t["id"] == orphan.id.as_str()),
        "the lost token is revoked"
    );

    // A Secret that someone else made is never overwritten.
    h.secret("taken", "token", "keep-me").await;
    h.apply::<ServerlessFunctionToken>(&token_yaml("clash", FUNCTION_SCOPE, "taken", ""))
        .await;
    let clash = h
        .condition::<ServerlessFunctionToken>("clash", "Ready", "False")
        .await;
    let message = clash
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.message.to_string())
        .unwrap_or_default();
    let message = if message.contains("Secret taken") {
        message
    } else {
        h.until("the Secret conflict reported", || async {
            let object = h
                .api::<ServerlessFunctionToken>()
                .get("clash")
                .await
                .map_err(|e| e.to_string())?;
            let message = object
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                .map(|c| c.message.to_string())
                .unwrap_or_default();
            if message.contains("Secret taken") {
                Ok(message)
            } else {
                Err(message)
            }
        })
        .await
    };
    assert!(message.contains("not created for this"), "{message}");
    let secret = h
        .api::<Secret>()
        .get("taken")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        secret.data.and_then(|d| d.get("token").cloned()),
        Some(ByteString(b"keep-me".to_vec()))
    );
    assert_eq!(h.calls(POST_TOKENS), 3, "no token created for the clash");

    // An expiry in the past is refused before any call.
    h.apply::<ServerlessFunctionToken>(&token_yaml(
        "stale",
        FUNCTION_SCOPE,
        "stale-token",
        "  expiresAt: \"2001-01-01T00:00:00Z\"\n",
    ))
    .await;
    h.condition::<ServerlessFunctionToken>("stale", "Ready", "False")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(h.calls(POST_TOKENS), 3);
}

fn ready_reason(object: &ServerlessFunctionToken) -> (String, String) {
    object
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| (c.status.to_string(), c.reason.to_string()))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_reported_and_a_later_date_or_orphan_deletion_is_honoured() {
    let h = harness_with(std::time::Duration::from_secs(2)).await;
    h.ready_function().await;
    let soon = k8s_openapi::jiff::Timestamp::now()
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(4))
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessFunctionToken>(&token_yaml(
        "short",
        FUNCTION_SCOPE,
        "short-token",
        &format!("  expiresAt: \"{}\"\n", soon.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ))
    .await;
    let (first, _) = issued(&h, "short", "short-token", None).await;
    h.until("the expiry reported", || async {
        let object = h
            .api::<ServerlessFunctionToken>()
            .get("short")
            .await
            .map_err(|e| e.to_string())?;
        match ready_reason(&object) {
            (status, reason) if status == "False" && reason == "Expired" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(
        h.calls(POST_TOKENS),
        1,
        "an expired token is not replaced by itself"
    );

    // A later date: a new token, and the expired one revoked.
    let patch = json!({"spec": {"expiresAt": "2099-01-01T00:00:00Z"}});
    h.api::<ServerlessFunctionToken>()
        .patch("short", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (second, _) = issued(&h, "short", "short-token", Some(&first)).await;
    only_token(&h, "only the new token left", &second).await;

    // Orphan: the token stays valid at Scaleway and the Secret stays, released.
    let patch = json!({"spec": {"deletionPolicy": "Orphan"}});
    h.api::<ServerlessFunctionToken>()
        .patch("short", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.api::<ServerlessFunctionToken>()
        .delete("short", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessFunctionToken>("short").await;
    assert_eq!(h.remote_count("tokens"), 1);
    let secret = h
        .api::<Secret>()
        .get("short-token")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        secret
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty(),
        "released from the deleted object"
    );
    assert!(secret.data.is_some_and(|d| d.contains_key("token")));
}
