//! Whole flows through the real controllers, against the Scaleway emulator and the in-memory
//! Kubernetes API over loopback: create, update, redeploy, drift, out-of-band delete,
//! deletion with both policies, missing references, bad input, remote errors, adoption and
//! Secret changes. Every wait has a deadline; the remote side is checked for leaks and
//! duplicates.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace as KubeNamespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use scaleway_serverless_operator::crd::{
    self, ServerlessContainer, ServerlessNamespace, ServerlessTrigger,
};
use scaleway_serverless_operator::scaleway::types::{
    ContainerFilter, ContainerSettings, Status, UpdateContainerRequest,
};
use serde_json::json;
use support::*;

/// A create's status write and `Created` event wait for the object's next look
/// (`poll_initial` later, 5 s here): until then the status has no ID; then every fact is read
/// back from Scaleway and the event follows. A deletion in that window finds the container
/// by its owner mark and deletes it, and still publishes the held event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_is_recorded_at_the_next_look_and_a_deletion_before_it_leaks_nothing() {
    let h = start(Options {
        poll_initial: Some(Duration::from_secs(5)),
        ..Options::default()
    })
    .await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("kept", ""))
        .await;
    h.apply::<ServerlessContainer>(&container_yaml("dropped", ""))
        .await;
    h.until_for("both creates", Duration::from_secs(30), || async {
        match h.calls(POST_CONTAINERS) {
            2 => Ok(()),
            n => Err(format!("{n} creates")),
        }
    })
    .await;
    let _ = h
        .api::<ServerlessContainer>()
        .delete("dropped", &DeleteParams::default())
        .await;
    let kept = h
        .api::<ServerlessContainer>()
        .get("kept")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        status_of(&kept).id,
        None,
        "the create's status write waits for the next look"
    );

    let kept = h
        .condition::<ServerlessContainer>("kept", "Ready", "True")
        .await;
    let status = status_of(&kept);
    let remote = h
        .scaleway
        .region("fr-par")
        .get_container(status.id.as_deref().unwrap_or_default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&*remote.name, "kept");
    assert_eq!(status.remote_status.as_deref(), Some("ready"));
    h.gone::<ServerlessContainer>("dropped").await;
    h.until("the dropped container deleted at Scaleway", || async {
        match h.remote_count("containers") {
            1 => Ok(()),
            n => Err(format!("{n} containers")),
        }
    })
    .await;
    h.until("one Created event per create", || async {
        let events = h.events().await;
        let created: Vec<&String> = events
            .iter()
            .filter(|e| e.starts_with("Created created Scaleway container "))
            .collect();
        let named = |name: &str| {
            created
                .iter()
                .any(|e| e.contains(&format!("container {name} (")))
        };
        if created.len() == 2 && named("kept") && named("dropped") {
            Ok(())
        } else {
            Err(format!("{created:?}"))
        }
    })
    .await;
    assert_eq!(h.calls(POST_CONTAINERS), 2, "no second create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_redeploy_and_delete_end_to_end() {
    let h = harness().await;
    h.secret("web-secrets", "password", "first-password").await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml(
        "web",
        "  secretEnvironmentVariables:\n    - name: DB_PASSWORD\n      secretKeyRef:\n        name: web-secrets\n        key: password\n",
    ))
    .await;
    h.apply::<ServerlessTrigger>("apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessTrigger\nmetadata:\n  name: nightly\nspec:\n  containerRef:\n    name: web\n  cron:\n    schedule: \"0 3 * * *\"\n    timezone: Europe/Paris\n").await;

    let namespace = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    let container = h
        .condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    let trigger = h
        .condition::<ServerlessTrigger>("nightly", "Ready", "True")
        .await;
    let status = status_of(&container);
    assert!(
        namespace
            .status
            .as_ref()
            .and_then(|s| s.id.clone())
            .is_some()
    );
    assert!(
        status
            .public_endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("https://")),
        "{status:?}"
    );
    assert_eq!(status.remote_status.as_deref(), Some("ready"));
    assert_eq!(
        trigger
            .status
            .as_ref()
            .and_then(|s| s.source_type.clone())
            .as_deref(),
        Some("cron")
    );
    assert_eq!(
        (
            h.remote_count("namespaces"),
            h.remote_count("containers"),
            h.remote_count("triggers")
        ),
        (1, 1, 1)
    );
    let region = h.scaleway.region("fr-par");
    let remote = region
        .get_container(status.id.as_deref().unwrap_or_default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(remote.memory_limit_bytes, 512 * 1024 * 1024);
    assert_eq!(remote.mvcpu_limit, 500);
    assert_eq!(remote.max_scale, 3);
    assert!(
        remote
            .secret_environment_variables
            .contains_key("DB_PASSWORD")
    );
    assert_eq!(h.calls(POST_CONTAINERS), 1, "exactly one create");

    // Change the image: one PATCH, no redeploy.
    let patch = serde_json::json!({"spec": {"image": "rg.fr-par.scw.cloud/demo/web:2"}});
    h.api::<ServerlessContainer>()
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("the new image at Scaleway", || async {
        let remote = region
            .get_container(status.id.as_deref().unwrap_or_default())
            .await
            .map_err(|e| e.to_string())?;
        if remote.image.ends_with(":2") && remote.status == Status::Ready {
            Ok(())
        } else {
            Err(format!("{} {}", remote.image, remote.status))
        }
    })
    .await;
    h.condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    assert_eq!(
        h.calls(PATCH_CONTAINER),
        1,
        "{:?}",
        h.emulator.emulator.request_counts()
    );
    assert_eq!(h.calls(REDEPLOY), 0);

    // Ask for a redeploy: exactly one redeploy call.
    let patch = serde_json::json!({"spec": {"redeployRequestedAt": "2026-11-22T10:00:00Z"}});
    h.api::<ServerlessContainer>()
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("one redeploy", || async {
        if h.calls(REDEPLOY) == 1 {
            Ok(())
        } else {
            Err(format!("{}", h.calls(REDEPLOY)))
        }
    })
    .await;
    h.condition::<ServerlessContainer>("web", "Ready", "True")
        .await;

    // A new Secret value is pushed.
    let before = h.calls(PATCH_CONTAINER);
    h.secret("web-secrets", "password", "second-password").await;
    h.until("the new secret value sent", || async {
        if h.calls(PATCH_CONTAINER) > before {
            Ok(())
        } else {
            Err("no PATCH yet".into())
        }
    })
    .await;
    assert_eq!(h.calls(REDEPLOY), 1, "no second redeploy");

    let events = h.events().await.join("\n");
    for reason in ["Created", "Updated", "Redeployed"] {
        assert!(
            events.contains(reason),
            "missing {reason} event in:\n{events}"
        );
    }
    for secret in ["first-password", "second-password", TOKEN] {
        assert!(!events.contains(secret));
        let stored = serde_json::to_string(&h.api::<ServerlessContainer>().get("web").await.ok())
            .unwrap_or_default();
        assert!(!stored.contains(secret), "secret in the object or status");
    }

    // Delete everything at once: the trigger, then the container, then the namespace go.
    let delete = DeleteParams::default();
    let _ = h.api::<ServerlessNamespace>().delete("demo", &delete).await;
    let _ = h.api::<ServerlessContainer>().delete("web", &delete).await;
    let _ = h
        .api::<ServerlessTrigger>()
        .delete("nightly", &delete)
        .await;
    h.gone::<ServerlessTrigger>("nightly").await;
    h.gone::<ServerlessContainer>("web").await;
    h.gone::<ServerlessNamespace>("demo").await;
    h.until("no remote resources left", || async {
        let counts = (
            h.remote_count("namespaces"),
            h.remote_count("containers"),
            h.remote_count("triggers"),
        );
        if counts == (0, 0, 0) {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_and_out_of_band_deletion_are_corrected() {
    let h = harness_with(Duration::from_millis(500)).await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("api", ""))
        .await;
    let container = h
        .condition::<ServerlessContainer>("api", "Ready", "True")
        .await;
    let id = status_of(&container).id.unwrap_or_default();
    let region = h.scaleway.region("fr-par");

    let drift = UpdateContainerRequest {
        settings: ContainerSettings {
            max_scale: Some(9),
            ..Default::default()
        },
        ..Default::default()
    };
    region
        .update_container(&id, &drift)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("max_scale restored to 3", || async {
        let remote = region.get_container(&id).await.map_err(|e| e.to_string())?;
        if remote.max_scale == 3 {
            Ok(())
        } else {
            Err(format!("{}", remote.max_scale))
        }
    })
    .await;

    h.until(
        "the container ready before the out-of-band delete",
        || async {
            let remote = region.get_container(&id).await.map_err(|e| e.to_string())?;
            if remote.status == Status::Ready {
                Ok(())
            } else {
                Err(remote.status.to_string())
            }
        },
    )
    .await;
    region
        .delete_container(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let recreated = h
        .until("a new remote container", || async {
            let object = h
                .api::<ServerlessContainer>()
                .get("api")
                .await
                .map_err(|e| e.to_string())?;
            let status = status_of(&object);
            let ready = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            match status.id {
                Some(new) if new != id && ready => Ok(new),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    assert_ne!(recreated, id);
    assert_eq!(h.remote_count("containers"), 1, "no duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_policy_keeps_the_remote_container() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("keep", "  deletionPolicy: Orphan\n"))
        .await;
    h.condition::<ServerlessContainer>("keep", "Ready", "True")
        .await;
    h.api::<ServerlessContainer>()
        .delete("keep", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessContainer>("keep").await;
    assert_eq!(h.remote_count("containers"), 1);
    assert_eq!(
        h.calls("DELETE /containers/v1/regions/{region}/containers/{container_id}"),
        0
    );
    assert!(h.events().await.join("\n").contains("Orphaned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_reference_waits_then_converges() {
    let h = harness().await;
    h.apply::<ServerlessContainer>(&container_yaml("early", ""))
        .await;
    let waiting = h
        .condition::<ServerlessContainer>("early", "Ready", "False")
        .await;
    let ready = status_of(&waiting)
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready");
    assert_eq!(
        ready.as_ref().map(|c| c.reason.as_str()),
        Some("DependencyNotReady"),
        "{ready:?}"
    );
    assert!(ready.is_some_and(|c| c.message.contains("demo")));
    assert_eq!(h.calls(POST_CONTAINERS), 0);
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.condition::<ServerlessContainer>("early", "Ready", "True")
        .await;
    assert_eq!(h.calls(POST_CONTAINERS), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_stalls_without_calling_the_api_in_a_loop() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    let mut bad: ServerlessContainer =
        serde_saphyr::from_str(&container_yaml("bad", "")).unwrap_or_else(|e| panic!("{e}"));
    bad.spec.memory = Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
        "lots".into(),
    ));
    h.api::<ServerlessContainer>()
        .create(&PostParams::default(), &bad)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stalled = h
        .condition::<ServerlessContainer>("bad", "Stalled", "True")
        .await;
    let message = status_of(&stalled)
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .map(|c| c.message.to_string())
        .unwrap_or_default();
    assert!(message.contains("memory"), "{message}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.calls(POST_CONTAINERS),
        0,
        "an invalid spec never reaches Scaleway"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_error_is_reported_with_scalewarys_message() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    let yaml = container_yaml("broken", "").replace("demo/broken:1", "demo/unpullable:1");
    h.apply::<ServerlessContainer>(&yaml).await;
    let failed = h
        .condition::<ServerlessContainer>("broken", "Stalled", "True")
        .await;
    let status = status_of(&failed);
    assert_eq!(status.remote_status.as_deref(), Some("error"));
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .cloned();
    assert!(
        ready
            .as_ref()
            .is_some_and(|c| c.status == "False" && c.reason == "RemoteError"),
        "{ready:?}"
    );
    assert!(status.error_message.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_is_explicit_and_a_lost_create_is_recovered() {
    let h = harness().await;
    let namespace_id = h.demo_namespace_id().await;
    let region = h.scaleway.region("fr-par");
    let filter = ContainerFilter {
        namespace_id: Some(namespace_id.clone()),
        ..Default::default()
    };
    // Someone else's container with the name we want.
    let existing = h
        .remote_container(&namespace_id, "adopted", "x:1", None)
        .await;
    let creates = h.calls(POST_CONTAINERS);
    h.apply::<ServerlessContainer>(&container_yaml("adopted", ""))
        .await;
    let refused = h
        .condition::<ServerlessContainer>("adopted", "Stalled", "True")
        .await;
    let ready = status_of(&refused)
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap_or_else(|| panic!("no Ready condition"));
    assert_eq!(ready.reason, "AdoptionRequired", "{ready:?}");
    assert!(ready.message.contains("adoptionPolicy: Adopt"), "{ready:?}");
    assert_eq!(status_of(&refused).id, None);
    assert_eq!(h.calls(POST_CONTAINERS), creates, "no duplicate created");
    assert_eq!(
        h.calls(PATCH_CONTAINER),
        0,
        "someone else's container untouched"
    );

    h.api::<ServerlessContainer>()
        .patch(
            "adopted",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"adoptionPolicy": "Adopt"}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let adopted = h
        .until("the container adopted and Ready", || async {
            let object = h
                .api::<ServerlessContainer>()
                .get("adopted")
                .await
                .map_err(|e| e.to_string())?;
            let status = status_of(&object);
            let ready = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            match (ready, status.id.as_deref()) {
                (true, Some(id)) if id == &*existing.id => Ok(object),
                _ => Err(format!("{status:?}")),
            }
        })
        .await;
    let uid = adopted.metadata.uid.clone().unwrap_or_default();
    let all = region
        .list_all_containers(&filter)
        .await
        .unwrap_or_default();
    assert_eq!(all.len(), 1, "no duplicate");
    assert_eq!(
        all[0].image, "rg.fr-par.scw.cloud/demo/adopted:1",
        "adopted and brought to spec"
    );
    assert!(
        all[0]
            .tags
            .contains(&format!("serverless.scaleway.com/owner-uid={uid}")),
        "marked as ours: {:?}",
        all[0].tags
    );
    assert!(h.events().await.join("\n").contains("Adopted"));

    // A create whose status write was lost: the remote container carries our mark, so it
    // is taken back without any adoption policy. (Paused first, to know the UID.)
    let lost = h
        .apply::<ServerlessContainer>(&container_yaml("lost", "  managementPolicy: Paused\n"))
        .await;
    h.condition::<ServerlessContainer>("lost", "Paused", "True")
        .await;
    let lost_uid = lost.metadata.uid.clone().unwrap_or_default();
    let orphan = h
        .remote_container(
            &namespace_id,
            "lost",
            "rg.fr-par.scw.cloud/demo/lost:1",
            Some(vec![format!(
                "serverless.scaleway.com/owner-uid={lost_uid}"
            )]),
        )
        .await;
    h.api::<ServerlessContainer>()
        .patch(
            "lost",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"managementPolicy": "Manage"}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let recovered = h
        .condition::<ServerlessContainer>("lost", "Ready", "True")
        .await;
    assert_eq!(status_of(&recovered).id.as_deref(), Some(&*orphan.id));
    // (A create from a snapshot that did not know the container yet is refused by Scaleway
    // as a duplicate name; the operator then lists again and finds it.)
    let all = region
        .list_all_containers(&filter)
        .await
        .unwrap_or_default();
    assert_eq!(all.len(), 2, "no duplicate: {all:?}");
    let events = h.events().await.join("\n");
    assert!(
        !events.contains("adopted existing Scaleway container lost"),
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_only_reports_and_never_writes() {
    let h = harness().await;
    let namespace_id = h.demo_namespace_id().await;
    let region = h.scaleway.region("fr-par");
    let existing = h
        .remote_container(&namespace_id, "watched", "console:7", None)
        .await;
    let creates = h.calls(POST_CONTAINERS);
    h.apply::<ServerlessContainer>(&container_yaml("watched", "  managementPolicy: Observe\n"))
        .await;
    let watched = h
        .condition::<ServerlessContainer>("watched", "Ready", "True")
        .await;
    let status = status_of(&watched);
    assert_eq!(status.id.as_deref(), Some(&*existing.id));
    let synced = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Synced")
        .cloned()
        .unwrap_or_else(|| panic!("no Synced condition"));
    assert_eq!(
        (synced.status.as_str(), synced.reason.as_str()),
        ("True", "ObserveOnly")
    );
    assert!(
        synced.message.contains("image") && synced.message.contains("max_scale"),
        "the drift is reported: {synced:?}"
    );
    assert!(status.public_endpoint.is_some(), "{status:?}");

    // Observing something that does not exist creates nothing.
    h.apply::<ServerlessContainer>(&container_yaml("ghost", "  managementPolicy: Observe\n"))
        .await;
    let ghost = h
        .condition::<ServerlessContainer>("ghost", "Ready", "False")
        .await;
    let reason = status_of(&ghost)
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.reason);
    assert_eq!(reason.as_deref(), Some("RemoteNotFound"));

    // Deleting an observed object leaves the remote one alone.
    h.api::<ServerlessContainer>()
        .delete("watched", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.gone::<ServerlessContainer>("watched").await;
    let remote = region
        .get_container(&existing.id)
        .await
        .unwrap_or_else(|e| panic!("the observed container must survive: {e}"));
    assert_eq!(remote.image, "console:7", "never written");
    assert_eq!(h.calls(POST_CONTAINERS), creates, "nothing created");
    assert_eq!(h.calls(PATCH_CONTAINER), 0, "nothing updated");
    assert_eq!(
        h.calls("DELETE /containers/v1/regions/{region}/containers/{container_id}"),
        0,
        "nothing deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_policy_and_credentials_come_from_the_namespace_annotations() {
    let h = harness().await;
    // Before any reconcile: the operator reads Namespace annotations at most every 30 s.
    h.secret("team-credentials", "SCW_SECRET_KEY", TOKEN).await;
    h.secret("team-credentials", "SCW_DEFAULT_PROJECT_ID", PROJECT)
        .await;
    let namespaces: Api<KubeNamespace> = Api::all(h.kube.clone());
    namespaces
        .patch(
            NS,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"annotations": {
                "serverless.scaleway.com/deletion-policy": "Orphan",
                "serverless.scaleway.com/credentials-secret": "team-credentials",
            }}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    let namespace = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    let effective = namespace
        .status
        .and_then(|s| s.effective)
        .unwrap_or_else(|| panic!("status.effective"));
    assert_eq!(effective.credentials_secret, "team-credentials");
    assert_eq!(effective.credentials_from, crd::PolicySource::Namespace);
    assert_eq!(effective.deletion_policy, crd::DeletionPolicy::Orphan);
    assert_eq!(effective.deletion_policy_from, crd::PolicySource::Namespace);
    assert_eq!(effective.resync_period, "1m0s");

    h.apply::<ServerlessContainer>(&container_yaml("inherits", ""))
        .await;
    h.apply::<ServerlessContainer>(&container_yaml("explicit", "  deletionPolicy: Delete\n"))
        .await;
    let mut ids = Vec::new();
    for (name, policy, from) in [
        (
            "inherits",
            crd::DeletionPolicy::Orphan,
            crd::PolicySource::Namespace,
        ),
        (
            "explicit",
            crd::DeletionPolicy::Delete,
            crd::PolicySource::Object,
        ),
    ] {
        let container = h
            .condition::<ServerlessContainer>(name, "Ready", "True")
            .await;
        let status = status_of(&container);
        let effective = status
            .effective
            .unwrap_or_else(|| panic!("{name}: effective"));
        assert_eq!(
            (effective.deletion_policy, effective.deletion_policy_from),
            (policy, from)
        );
        assert_eq!(effective.credentials_secret, "team-credentials", "{name}");
        ids.push(status.id.unwrap_or_default());
    }
    for name in ["inherits", "explicit"] {
        h.api::<ServerlessContainer>()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        h.gone::<ServerlessContainer>(name).await;
    }
    let region = h.scaleway.region("fr-par");
    assert!(
        region.get_container(&ids[0]).await.is_ok(),
        "the Namespace's Orphan policy left the container in place"
    );
    h.until("the explicitly deleted container to be gone", || async {
        match region.get_container(&ids[1]).await {
            Err(error) if error.is_not_found() => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        h.events()
            .await
            .join("\n")
            .contains("deletionPolicy: Orphan, from Namespace"),
        "the orphaning says where the policy came from"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_remote_object_is_waited_for_then_changed() {
    // A long resync: the snapshot keeps saying `ready` while Scaleway is busy.
    let h = harness_with(Duration::from_secs(3600)).await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("busy", ""))
        .await;
    let container = h
        .condition::<ServerlessContainer>("busy", "Ready", "True")
        .await;
    let id = status_of(&container).id.unwrap_or_default();
    // Someone else's rollout is under way (and stays so until the test ends it).
    assert!(
        h.emulator
            .emulator
            .set_resource_status(&id, "updating", None)
    );
    h.api::<ServerlessContainer>()
        .patch(
            "busy",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"maxScale": 7}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let waiting = h
        .until("the 409 reported as waiting", || async {
            let object = h
                .api::<ServerlessContainer>()
                .get("busy")
                .await
                .map_err(|e| e.to_string())?;
            let status = status_of(&object);
            let synced = status.conditions.iter().find(|c| c.type_ == "Synced");
            match synced {
                // Held until the container settles: the change is not applied yet.
                Some(c) if c.reason == "WaitingForRemote" && c.status == "False" => Ok(status),
                _ => Err(format!("{status:?}")),
            }
        })
        .await;
    assert!(
        !waiting
            .conditions
            .iter()
            .any(|c| c.type_ == "Stalled" && c.status == "True"),
        "a busy object is not a failure: {waiting:?}"
    );
    let patches_while_busy = h.calls(PATCH_CONTAINER);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        h.calls(PATCH_CONTAINER) <= patches_while_busy + 1,
        "no PATCH loop against a busy object"
    );
    assert!(h.emulator.emulator.set_resource_status(&id, "ready", None));
    let region = h.scaleway.region("fr-par");
    h.until("the change applied once the container settled", || async {
        let remote = region.get_container(&id).await.map_err(|e| e.to_string())?;
        if remote.max_scale == 7 {
            Ok(())
        } else {
            Err(format!("{} {}", remote.status, remote.max_scale))
        }
    })
    .await;
    h.condition::<ServerlessContainer>("busy", "Ready", "True")
        .await;
}

/// Waits until the remote namespace `id` has `LOG_LEVEL=level`.
async fn remote_log_level(h: &Harness, id: &str, level: &str) {
    let region = h.scaleway.region("fr-par");
    h.until(&format!("LOG_LEVEL={level} at Scaleway"), || async {
        let remote = region.get_namespace(id).await.map_err(|e| e.to_string())?;
        match remote.environment_variables.get("LOG_LEVEL") {
            Some(found) if found == level => Ok(()),
            other => Err(format!("{} {other:?}", remote.status)),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_namespace_keeps_a_pending_change_unsynced_until_it_settles() {
    // A long resync: the snapshot keeps saying `ready` while Scaleway is busy.
    let h = harness_with(Duration::from_secs(3600)).await;
    let id = h.demo_namespace_id().await;
    // Someone else's change is under way: polls see the namespace still busy, the change is
    // not applied, and Synced must not say it was.
    let region = h.scaleway.region("fr-par");
    let log_level = || async {
        let remote = region.get_namespace(&id).await.map_err(|e| e.to_string())?;
        Ok(remote
            .environment_variables
            .get("LOG_LEVEL")
            .cloned()
            .unwrap_or_default())
    };
    h.busy_change_lands_once_settled::<ServerlessNamespace, _, _>(
        BusyChange {
            name: "demo",
            remote_id: &id,
            busy_status: "updating",
            spec_patch: json!({"environmentVariables": {"LOG_LEVEL": "debug"}}),
            field: "environment_variables",
            write_route: PATCH_NAMESPACE,
            before: "info".into(),
            after: "debug".into(),
        },
        log_level,
    )
    .await;
}

const PATCH_NAMESPACE: &str = "PATCH /containers/v1/regions/{region}/namespaces/{namespace_id}";
const PATCH_TRIGGER: &str = "PATCH /containers/v1/regions/{region}/triggers/{trigger_id}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_namespace_reports_a_pending_change_as_not_applied() {
    let h = harness_with(Duration::from_secs(3600)).await;
    let id = h.demo_namespace_id().await;
    assert!(h.emulator.emulator.set_resource_status(&id, "locked", None));
    // The snapshot still says `ready`: the PATCH this change causes is answered 409
    // `locked`, and the next look must report the lock instead of writing again.
    h.merge_spec::<ServerlessNamespace>(
        "demo",
        json!({"environmentVariables": {"LOG_LEVEL": "debug"}}),
    )
    .await;
    h.until(
        "the change reported as not applicable while locked",
        || async {
            let synced = h
                .condition_now::<ServerlessNamespace>("demo", "Synced")
                .await;
            let stalled = h
                .condition_now::<ServerlessNamespace>("demo", "Stalled")
                .await;
            if condition_is(&synced, "False", "RemoteLocked", "")
                && condition_is(&stalled, "True", "RemoteLocked", "")
            {
                Ok(())
            } else {
                Err(format!("{synced:?} {stalled:?}"))
            }
        },
    )
    .await;
    let patches = h.calls(PATCH_NAMESPACE);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        h.calls(PATCH_NAMESPACE) <= patches + 1,
        "no PATCH loop against a locked namespace"
    );
    assert!(h.emulator.emulator.set_resource_status(&id, "ready", None));
    // Unlocked: nothing wakes a stalled object but a change or its resync; a spec change
    // does.
    h.merge_spec::<ServerlessNamespace>(
        "demo",
        json!({"environmentVariables": {"LOG_LEVEL": "trace"}}),
    )
    .await;
    remote_log_level(&h, &id, "trace").await;
    h.condition::<ServerlessNamespace>("demo", "Synced", "True")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_trigger_keeps_a_pending_change_unsynced_until_it_settles() {
    // A long resync: the snapshot keeps saying `ready` while Scaleway is busy.
    let h = harness_with(Duration::from_secs(3600)).await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("web", ""))
        .await;
    h.apply::<ServerlessTrigger>(
        "apiVersion: serverless.scaleway.com/v1alpha1\nkind: ServerlessTrigger\nmetadata:\n  name: nightly\nspec:\n  containerRef:\n    name: web\n  description: first\n  cron:\n    schedule: \"0 3 * * *\"\n",
    )
    .await;
    let trigger = h
        .condition::<ServerlessTrigger>("nightly", "Ready", "True")
        .await;
    let id = trigger.status.and_then(|s| s.id).unwrap_or_default();
    let region = h.scaleway.region("fr-par");
    let description = || async {
        let remote = region.get_trigger(&id).await.map_err(|e| e.to_string())?;
        Ok(remote.description)
    };
    h.busy_change_lands_once_settled::<ServerlessTrigger, _, _>(
        BusyChange {
            name: "nightly",
            remote_id: &id,
            busy_status: "pending",
            spec_patch: json!({"description": "second"}),
            field: "description",
            write_route: PATCH_TRIGGER,
            before: "first".into(),
            after: "second".into(),
        },
        description,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_keep_a_configmap_and_a_secret_up_to_date() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml(
        "web",
        "  exports:\n    - kind: ConfigMap\n      name: web-outputs\n    - kind: Secret\n      name: web-outputs\n",
    ))
    .await;
    let web = h
        .condition::<ServerlessContainer>("web", "Ready", "True")
        .await;
    let status = status_of(&web);
    let endpoint = status.public_endpoint.clone().unwrap_or_default();
    assert!(!endpoint.is_empty());
    let config_maps: Api<ConfigMap> = h.api();
    let exported = h
        .until("the ConfigMap export with the endpoint", || async {
            let found = config_maps
                .get_opt("web-outputs")
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no ConfigMap yet")?;
            let data = found.data.clone().unwrap_or_default();
            if data.get("url") == Some(&format!("https://{endpoint}")) {
                Ok(found)
            } else {
                Err(format!("{data:?}"))
            }
        })
        .await;
    let data = exported.data.clone().unwrap_or_default();
    assert_eq!(data.get("id").map(String::as_str), status.id.as_deref());
    assert_eq!(data.get("region").map(String::as_str), Some("fr-par"));
    let owners = exported
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].uid, web.metadata.uid.clone().unwrap_or_default());
    let secrets: Api<Secret> = h.api();
    let secret = secrets
        .get("web-outputs")
        .await
        .unwrap_or_else(|e| panic!("the Secret export: {e}"));
    let endpoint_bytes = secret
        .data
        .unwrap_or_default()
        .get("endpoint")
        .map(|b| b.0.clone());
    assert_eq!(endpoint_bytes, Some(endpoint.as_bytes().to_vec()));

    // Nothing changes: no further writes. Deleted by someone: written again.
    let writes = |name: &'static str| {
        let config_maps = config_maps.clone();
        async move {
            config_maps
                .get(name)
                .await
                .ok()
                .and_then(|c| c.metadata.resource_version)
        }
    };
    let version = writes("web-outputs").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        writes("web-outputs").await,
        version,
        "no write when in line"
    );
    config_maps
        .delete("web-outputs", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.until("the deleted export written again", || async {
        match config_maps.get_opt("web-outputs").await {
            Ok(Some(found)) if found.data.as_ref().is_some_and(|d| d.contains_key("url")) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_costs_no_call_per_object() {
    let h = harness_with(Duration::from_secs(3600)).await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    for index in 0..5 {
        h.apply::<ServerlessContainer>(&container_yaml(&format!("c{index}"), ""))
            .await;
    }
    for index in 0..5 {
        h.condition::<ServerlessContainer>(&format!("c{index}"), "Ready", "True")
            .await;
    }
    // The Ready gauge reads the controller's own store, which may trail the API by an event.
    let ready_gauge =
        "scaleway_serverless_operator_objects{kind=\"ServerlessContainer\",ready=\"True\"} 5";
    h.until("the Ready gauge to count 5 containers", || async {
        let metrics = h.ctx.metrics.encode();
        if metrics.contains(ready_gauge) {
            Ok(())
        } else {
            Err(metrics)
        }
    })
    .await;
    let metrics = h.ctx.metrics.encode();
    for expected in [
        "scaleway_serverless_operator_reconciles_total{kind=\"ServerlessContainer\",result=\"success\"}",
        "scaleway_serverless_operator_scaleway_requests_total{route=\"POST /containers/v1/regions/{region}/containers\",code=\"200\"} 5",
        "scaleway_serverless_operator_objects{kind=\"ServerlessContainer\",ready=\"True\"} 5",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in:\n{metrics}"
        );
    }
    let settled = h.emulator.emulator.total_requests();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        h.emulator.emulator.total_requests(),
        settled,
        "no calls once everything is Ready: {:?}",
        h.emulator.emulator.request_counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reapplying_right_after_a_delete_creates_new_remote_objects() {
    let h = harness().await;
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("again", ""))
        .await;
    let first = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    h.condition::<ServerlessContainer>("again", "Ready", "True")
        .await;
    let first_id = first.status.and_then(|s| s.id).unwrap_or_default();
    let delete = DeleteParams::default();
    let _ = h
        .api::<ServerlessContainer>()
        .delete("again", &delete)
        .await;
    let _ = h.api::<ServerlessNamespace>().delete("demo", &delete).await;
    h.gone::<ServerlessContainer>("again").await;
    h.gone::<ServerlessNamespace>("demo").await;

    // Well within the resync period (60 s): no snapshot may still show the deleted ones.
    h.apply::<ServerlessNamespace>(NAMESPACE_YAML).await;
    h.apply::<ServerlessContainer>(&container_yaml("again", ""))
        .await;
    let second = h
        .condition::<ServerlessNamespace>("demo", "Ready", "True")
        .await;
    h.condition::<ServerlessContainer>("again", "Ready", "True")
        .await;
    assert_ne!(
        second.status.and_then(|s| s.id),
        Some(first_id),
        "a deleted namespace was adopted"
    );
    assert_eq!(
        (h.remote_count("namespaces"), h.remote_count("containers")),
        (1, 1)
    );
}
