//! ServerlessDomain through the real controllers, against the Scaleway emulator and the
//! in-memory Kubernetes API: create with the CNAME target in status, a tag change as one
//! PATCH, a container deletion that waits for its domain, a hostname already taken at
//! Scaleway, and deletion leaving nothing behind.

mod support;

use kube::api::{DeleteParams, Patch, PatchParams};
use scaleway_serverless_operator::crd::{
    ServerlessContainer, ServerlessDomain, ServerlessNamespace,
};
use scaleway_serverless_operator::scaleway::types::CreateDomainRequest;
use support::*;

const POST_DOMAINS: &str = "POST /containers/v1/regions/{region}/domains";
const PATCH_DOMAIN: &str = "PATCH /containers/v1/regions/{region}/domains/{domain_id}";

fn domain_yaml(name: &str, container: &str, hostname: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessDomain\nmetadata:\n  name: {name}\nspec:\n  containerRef:\n    name: {container}\n  hostname: {hostname}\n  tags: [team-a]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_is_created_updated_waited_for_and_deleted() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("web", ""))
        .await;
    h.apply::<ServerlessDomain>(&domain_yaml("api", "web", "api.example.com"))
        .await;

    let domain = h
        .condition::<ServerlessDomain>("api", "Ready", "True")
        .await;
    let container = h
        .condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    let status = domain.status.clone().unwrap_or_default();
    let endpoint = status_of(&container).public_endpoint.unwrap_or_default();
    assert_eq!(status.url.as_deref(), Some("https://api.example.com"));
    assert_eq!(status.remote_status.as_deref(), Some("ready"));
    let cname = status.cname_target.clone().unwrap_or_default();
    assert!(
        !cname.is_empty() && endpoint.contains(&cname) && !cname.contains('/'),
        "CNAME target {cname:?} is the host of {endpoint:?}"
    );
    assert_eq!(status.container_id, status_of(&container).id);
    assert_eq!(h.remote_count("domains"), 1);
    assert_eq!(h.calls(POST_DOMAINS), 1, "exactly one create");
    let region = h.scaleway.region("fr-par");
    let remote = region
        .get_domain(status.id.as_deref().unwrap_or_default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(remote.hostname, "api.example.com");
    assert!(
        remote.tags.contains(&"team-a".to_owned()),
        "{:?}",
        remote.tags
    );
    assert!(
        remote
            .tags
            .iter()
            .any(|t| t.starts_with("serverless.scaleway.com/owner-uid=")),
        "owner tag: {:?}",
        remote.tags
    );

    // A tag change is one PATCH.
    let patch = serde_json::json!({"spec": {"tags": ["team-b"]}});
    h.api::<ServerlessDomain>()
        .patch("api", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("the new tag at Scaleway", || async {
        let remote = region
            .get_domain(status.id.as_deref().unwrap_or_default())
            .await
            .map_err(|e| e.to_string())?;
        if remote.tags.contains(&"team-b".to_owned()) {
            Ok(())
        } else {
            Err(format!("{:?}", remote.tags))
        }
    })
    .await;
    assert_eq!(h.calls(PATCH_DOMAIN), 1);

    // Deleting the container first: it waits for the domain that references it.
    h.api::<ServerlessContainer>()
        .delete("web", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("the container to say it waits for its domain", || async {
        let container = h
            .api::<ServerlessContainer>()
            .get("web")
            .await
            .map_err(|e| e.to_string())?;
        let text = serde_json::to_string(&container.status).unwrap_or_default();
        if text.contains("ServerlessDomain") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    assert_eq!(h.remote_count("containers"), 1);
    h.api::<ServerlessDomain>()
        .delete("api", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessDomain>("api").await;
    h.gone::<ServerlessContainer>("web").await;
    assert_eq!(
        (h.remote_count("domains"), h.remote_count("containers")),
        (0, 0)
    );
    assert_eq!(h.calls(POST_DOMAINS), 1, "no second create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostname_taken_at_scaleway_is_reported_and_not_retried_in_a_loop() {
    let h = harness().await;
    let namespace_id = h.demo_namespace_id().await;
    // Someone else's container already owns the hostname.
    let foreign = h
        .remote_container(&namespace_id, "someone-else", "nginx:1", None)
        .await
        .id;
    h.until("the foreign container to be ready", || async {
        let c = h
            .scaleway
            .region("fr-par")
            .get_container(&foreign)
            .await
            .map_err(|e| e.to_string())?;
        (c.status.to_string() == "ready")
            .then_some(())
            .ok_or(c.status.to_string())
    })
    .await;
    h.scaleway
        .region("fr-par")
        .create_domain(&CreateDomainRequest {
            container_id: foreign.clone(),
            hostname: "shop.example.com".into(),
            tags: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessContainer>(&container_yaml("web", ""))
        .await;
    h.apply::<ServerlessDomain>(&domain_yaml("shop", "web", "shop.example.com"))
        .await;
    let ready = h
        .until("Ready=False reason HostnameTaken", || async {
            let domain = h
                .api::<ServerlessDomain>()
                .get("shop")
                .await
                .map_err(|e| e.to_string())?;
            let ready = domain
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready").cloned());
            match ready {
                Some(ready) if ready.reason == "HostnameTaken" => Ok(ready),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    assert_eq!(ready.status, "False");
    assert!(
        ready.message.contains("shop.example.com is already bound"),
        "{ready:?}"
    );
    let posts = h.calls(POST_DOMAINS);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        h.calls(POST_DOMAINS) <= posts + 1,
        "a terminal error is not retried in a loop: {} then {}",
        posts,
        h.calls(POST_DOMAINS)
    );
    assert_eq!(
        h.remote_count("domains"),
        1,
        "the foreign domain is untouched"
    );
}
