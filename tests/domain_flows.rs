//! ServerlessDomain through the real controllers, against the Scaleway emulator and the
//! in-memory Kubernetes API: create with the CNAME target in status, a tag change as one
//! PATCH, a container deletion that waits for its domain, a hostname already taken at
//! Scaleway, and deletion leaving nothing behind.

mod support;

use kube::api::{DeleteParams, Patch, PatchParams};
use scaleway_serverless_operator::crd::{
    ServerlessContainer, ServerlessDomain, ServerlessFunction, ServerlessNamespace,
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
    assert_eq!(
        status.container_id.as_deref(),
        status_of(&container).id.as_deref()
    );
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
            container_id: foreign.to_string(),
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

const POST_FUNCTION_DOMAINS: &str = "POST /functions/v1beta1/regions/{region}/domains";

fn function_domain_yaml(name: &str, hostname: &str, extra: &str) -> String {
    format!(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessDomain\nmetadata:\n  name: {name}\nspec:\n  functionRef:\n    name: hello\n  hostname: {hostname}\n{extra}"
    )
}

fn function_domains(h: &Harness) -> Vec<serde_json::Value> {
    h.emulator.emulator.state()["functions_api"]["function_domains"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_domain_is_created_recovered_adopted_and_deleted() {
    let h = harness().await;
    let function = h.ready_function().await;
    let function_status = function.status.clone().unwrap_or_default();
    let function_id = function_status.id.clone().unwrap_or_default();

    // Create: one POST; status has the URL, the function and the CNAME target.
    h.apply::<ServerlessDomain>(&function_domain_yaml("fn-api", "fn.example.com", ""))
        .await;
    let domain = h
        .condition::<ServerlessDomain>("fn-api", "Ready", "True")
        .await;
    let status = domain.status.clone().unwrap_or_default();
    let remote = function_domains(&h);
    assert_eq!(remote.len(), 1, "{remote:?}");
    assert_eq!(remote[0]["hostname"], "fn.example.com");
    assert_eq!(remote[0]["function_id"], function_id.as_str());
    assert_eq!(status.id.as_deref(), remote[0]["id"].as_str());
    assert_eq!(status.function_id.as_deref(), Some(function_id.as_str()));
    assert_eq!(status.container_id, None);
    assert_eq!(status.url.as_deref(), Some("https://fn.example.com"));
    let endpoint = function_status.public_endpoint.unwrap_or_default();
    assert_eq!(
        status.cname_target.as_deref(),
        endpoint.strip_prefix("https://")
    );
    assert_eq!(status.create_requested, None);
    assert_eq!(h.calls(POST_FUNCTION_DOMAINS), 1);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        h.calls(POST_FUNCTION_DOMAINS),
        1,
        "nothing more once settled"
    );

    // Tags: function domains have none, and the API server says so.
    let refused = h
        .api::<ServerlessDomain>()
        .patch(
            "fn-api",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({"spec": {"tags": ["a"]}})),
        )
        .await;
    assert!(
        format!("{refused:?}").contains("function domains have no tags"),
        "{refused:?}"
    );

    // A create whose status write was lost: the intent names the hostname, so the domain is
    // taken, not created again.
    let api = h.scaleway.functions("fr-par");
    let create = |hostname: &str| {
        scaleway_serverless_operator::scaleway::functions::types::CreateDomainRequest {
            hostname: hostname.into(),
            function_id: function_id.clone(),
        }
    };
    let lost = api
        .create_domain(&create("lost.example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessDomain>(&function_domain_yaml(
        "lost",
        "lost.example.com",
        "  managementPolicy: Paused\n",
    ))
    .await;
    h.api::<ServerlessDomain>()
        .patch_status(
            "lost",
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({"status": {"createRequested": "lost.example.com"}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let manage = serde_json::json!({"spec": {"managementPolicy": "Manage"}});
    h.api::<ServerlessDomain>()
        .patch("lost", &PatchParams::default(), &Patch::Merge(&manage))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let found = h
        .condition::<ServerlessDomain>("lost", "Ready", "True")
        .await;
    let found = found.status.unwrap_or_default();
    assert_eq!(found.id, Some(lost.id.clone()));
    assert_eq!(found.create_requested, None);
    assert_eq!(
        h.calls(POST_FUNCTION_DOMAINS),
        2,
        "only the test's own create"
    );

    // Someone else's domain with the hostname on this function: refused, then adopted.
    let foreign = api
        .create_domain(&create("foreign.example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessDomain>(&function_domain_yaml("foreign", "foreign.example.com", ""))
        .await;
    h.until("foreign Ready=False AdoptionRequired", || async {
        let object = h
            .api::<ServerlessDomain>()
            .get("foreign")
            .await
            .map_err(|e| e.to_string())?;
        let conditions = object.status.clone().unwrap_or_default().conditions;
        conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.reason == "AdoptionRequired")
            .then_some(())
            .ok_or_else(|| format!("{conditions:?}"))
    })
    .await;
    assert_eq!(
        h.calls(POST_FUNCTION_DOMAINS),
        3,
        "nothing created beside it"
    );
    let adopt = serde_json::json!({"spec": {"adoptionPolicy": "Adopt"}});
    h.api::<ServerlessDomain>()
        .patch("foreign", &PatchParams::default(), &Patch::Merge(&adopt))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let adopted = h
        .condition::<ServerlessDomain>("foreign", "Ready", "True")
        .await;
    assert_eq!(adopted.status.and_then(|s| s.id), Some(foreign.id.clone()));

    // The function waits for its domains; deleting them all lets it go.
    h.api::<ServerlessFunction>()
        .delete("hello", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for name in ["fn-api", "lost", "foreign"] {
        h.api::<ServerlessDomain>()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for name in ["fn-api", "lost", "foreign"] {
        h.gone::<ServerlessDomain>(name).await;
    }
    h.gone::<ServerlessFunction>("hello").await;
    assert!(
        function_domains(&h).is_empty(),
        "{:?}",
        function_domains(&h)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_domain_keeps_a_pending_tag_change_unsynced_until_it_settles() {
    // A long resync: the snapshot keeps saying `ready` while Scaleway is busy.
    let h = harness_with(std::time::Duration::from_secs(3600)).await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("web", ""))
        .await;
    h.apply::<ServerlessDomain>(&domain_yaml("api", "web", "api.example.com"))
        .await;
    let domain = h
        .condition::<ServerlessDomain>("api", "Ready", "True")
        .await;
    let id = domain.status.and_then(|s| s.id).unwrap_or_default();
    let region = h.scaleway.region("fr-par");
    let team_tags = || async {
        let remote = region.get_domain(&id).await.map_err(|e| e.to_string())?;
        let teams: Vec<&str> = remote
            .tags
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with("team-"))
            .collect();
        Ok(teams.join(","))
    };
    h.busy_change_lands_once_settled::<ServerlessDomain, _, _>(
        BusyChange {
            name: "api",
            remote_id: &id,
            busy_status: "pending",
            spec_patch: serde_json::json!({"tags": ["team-b"]}),
            field: "tags",
            write_route: PATCH_DOMAIN,
            before: "team-a".into(),
            after: "team-b".into(),
        },
        team_tags,
    )
    .await;
}
