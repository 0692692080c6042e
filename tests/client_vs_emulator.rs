//! The Scaleway client against the emulator over real loopback HTTP: every endpoint, every
//! error class, paging, retries under injected faults, and redaction of secrets.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scaleway_emulator::{Emulator, EmulatorConfig, Faults, RunningEmulator};
use scaleway_serverless_operator::scaleway::types::*;
use scaleway_serverless_operator::scaleway::{
    Client, ClientConfig, Error, ErrorClass, PageRequest, RetryPolicy, SecretString,
};

const REGION: &str = "fr-par";
const PROJECT: &str = "11111111-2222-4333-8444-555555555555";
const TOKEN: &str = "3f1c2a9e-token-value-never-logged";
const DELAY: Duration = Duration::from_millis(100);

async fn emulator_with(config: EmulatorConfig) -> RunningEmulator {
    match Emulator::start(config).await {
        Ok(running) => running,
        Err(error) => panic!("emulator did not start: {error}"),
    }
}

fn test_config() -> EmulatorConfig {
    EmulatorConfig {
        transition_delay: DELAY,
        delete_delay: DELAY,
        ..EmulatorConfig::default()
    }
}

fn client_for(url: &str, token: &str) -> Client {
    scaleway_serverless_operator::install_crypto_provider();
    let mut config = ClientConfig::new(SecretString::new(token)).with_api_url(url);
    config.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
    };
    config.request_timeout = Duration::from_secs(5);
    match Client::new(config) {
        Ok(client) => client,
        Err(error) => panic!("client did not build: {error}"),
    }
}

async fn setup() -> (RunningEmulator, Client) {
    let running = emulator_with(test_config()).await;
    let client = client_for(&running.url(), TOKEN);
    (running, client)
}

fn ok<T>(result: Result<T, Error>) -> T {
    result.unwrap_or_else(|error| panic!("call failed: {error}"))
}

async fn ready_namespace(client: &Client, name: &str) -> Namespace {
    let api = client.region(REGION);
    let created = ok(api
        .create_namespace(&CreateNamespaceRequest {
            project_id: PROJECT.into(),
            name: name.into(),
            ..Default::default()
        })
        .await);
    wait_until(
        || async { ok(api.get_namespace(&created.id).await) },
        |ns| ns.status == Status::Ready,
    )
    .await
}

/// Polls `get` until `done` holds, failing after a deadline (never a bare sleep).
async fn wait_until<T, F, Fut>(mut get: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = get().await;
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached within 10s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn container_request(namespace_id: &str, name: &str) -> CreateContainerRequest {
    CreateContainerRequest {
        namespace_id: namespace_id.into(),
        name: name.into(),
        image: "rg.fr-par.scw.cloud/demo/web:1.0".into(),
        https_connections_only: Some(true),
        settings: ContainerSettings {
            min_scale: Some(0),
            max_scale: Some(5),
            memory_limit_bytes: Some(512 * 1024 * 1024),
            mvcpu_limit: Some(500),
            port: Some(8080),
            timeout: Some(ApiDuration(Duration::from_secs(300))),
            privacy: Some(Privacy::Public),
            protocol: Some(Protocol::Http1),
            sandbox: Some(Sandbox::V2),
            environment_variables: Some(BTreeMap::from([("MODE".into(), "prod".into())])),
            secret_environment_variables: Some(BTreeMap::from([(
                "DB_PASSWORD".into(),
                SecretString::new("hunter2-db-password"),
            )])),
            scaling_option: Some(ScalingOption {
                concurrent_requests_threshold: Some(50),
                ..Default::default()
            }),
            liveness_probe: Some(Probe {
                failure_threshold: 3,
                interval: Some(ApiDuration(Duration::from_secs(10))),
                timeout: Some(ApiDuration(Duration::from_secs(1))),
                http: Some(HttpProbe {
                    path: "/healthz".into(),
                }),
                tcp: None,
            }),
            tags: Some(vec!["team=web".into()]),
            command: Some(vec!["/app".into()]),
            args: Some(vec!["--serve".into()]),
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn service_info_answers() {
    let (_emulator, client) = setup().await;
    let info = ok(client.region(REGION).service_info().await);
    assert!(!info.name.is_empty());
}

#[tokio::test]
async fn namespace_life_cycle_list_filter_and_paging() {
    let (emulator, client) = setup().await;
    let api = client.region(REGION);
    let created = ok(api
        .create_namespace(&CreateNamespaceRequest {
            project_id: PROJECT.into(),
            name: "team-a".into(),
            description: Some("first".into()),
            environment_variables: Some(BTreeMap::from([("A".into(), "1".into())])),
            secret_environment_variables: Some(BTreeMap::from([(
                "S".into(),
                SecretString::new("namespace-secret-value"),
            )])),
            tags: Some(vec!["x".into()]),
        })
        .await);
    assert_eq!(created.status, Status::Creating);
    assert_eq!(created.region, REGION);
    assert_eq!(created.project_id, PROJECT);
    assert_ne!(
        created
            .secret_environment_variables
            .get("S")
            .map(String::as_str),
        Some("namespace-secret-value")
    );
    let ready = wait_until(
        || async { ok(api.get_namespace(&created.id).await) },
        |ns| ns.status == Status::Ready,
    )
    .await;
    assert_eq!(
        ready.environment_variables.get("A").map(String::as_str),
        Some("1")
    );

    let updated = ok(api
        .update_namespace(
            &created.id,
            &UpdateNamespaceRequest {
                description: Some("second".into()),
                ..Default::default()
            },
        )
        .await);
    assert_eq!(updated.description, "second");
    assert_eq!(
        updated.environment_variables.get("A").map(String::as_str),
        Some("1"),
        "PATCH keeps absent fields"
    );

    for index in 0..4 {
        ready_namespace(&client, &format!("extra-{index}")).await;
    }
    let page = ok(api
        .list_namespaces(
            &NamespaceFilter::default(),
            PageRequest {
                page: 2,
                page_size: 2,
                order_by: ListOrder::NameAsc,
            },
        )
        .await);
    assert_eq!(page.total_count, 5);
    assert_eq!(page.items.len(), 2);
    let past_the_end = ok(api
        .list_namespaces(
            &NamespaceFilter::default(),
            PageRequest {
                page: 9,
                page_size: 2,
                order_by: ListOrder::NameAsc,
            },
        )
        .await);
    assert!(past_the_end.items.is_empty());
    let all = ok(api.list_all_namespaces(&NamespaceFilter::default()).await);
    assert_eq!(all.len(), 5);
    let by_name = ok(api
        .list_all_namespaces(&NamespaceFilter {
            name: Some("team-a".into()),
            ..Default::default()
        })
        .await);
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].id, created.id);

    let wait_ready = wait_until(
        || async { ok(api.get_namespace(&created.id).await) },
        |ns| ns.status == Status::Ready,
    )
    .await;
    assert_eq!(wait_ready.description, "second");
    let deleting = ok(api.delete_namespace(&created.id).await);
    assert_eq!(deleting.status, Status::Deleting);
    let gone = wait_until(
        || async { api.get_namespace(&created.id).await },
        |r| r.is_err(),
    )
    .await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
    assert_eq!(emulator.emulator.count_resources("namespaces"), 4);
}

#[tokio::test]
async fn list_all_walks_every_page_at_the_maximum_size() {
    let (emulator, client) = setup().await;
    let namespace = ready_namespace(&client, "big").await;
    let api = client.region(REGION);
    for index in 0..230 {
        let mut request = container_request(&namespace.id, &format!("c-{index:03}"));
        request.settings = ContainerSettings::default();
        ok(api.create_container(&request).await);
    }
    let before = client
        .stats()
        .on_route("GET /containers/v1/regions/{region}/containers");
    let all = ok(api
        .list_all_containers(&ContainerFilter {
            namespace_id: Some(namespace.id.clone()),
            ..Default::default()
        })
        .await);
    let pages = client
        .stats()
        .on_route("GET /containers/v1/regions/{region}/containers")
        - before;
    assert_eq!(all.len(), 230);
    assert_eq!(pages, 3, "230 items at 100 per page is 3 calls");
    assert_eq!(emulator.emulator.count_resources("containers"), 230);
}

#[tokio::test]
async fn container_create_update_redeploy_delete() {
    let (_emulator, client) = setup().await;
    let namespace = ready_namespace(&client, "apps").await;
    let api = client.region(REGION);
    let created = ok(api
        .create_container(&container_request(&namespace.id, "web"))
        .await);
    assert_eq!(created.status, Status::Creating);
    assert_eq!(created.memory_limit_bytes, 512 * 1024 * 1024);
    assert_eq!(created.timeout, Some(ApiDuration(Duration::from_secs(300))));
    assert!(created.https_connections_only);
    assert!(
        created.public_endpoint.starts_with("https://apps"),
        "{}",
        created.public_endpoint
    );
    assert!(
        created
            .public_endpoint
            .ends_with("-web.functions.fnc.fr-par.scw.cloud"),
        "{}",
        created.public_endpoint
    );
    let echoed = created
        .secret_environment_variables
        .get("DB_PASSWORD")
        .cloned()
        .unwrap_or_default();
    assert!(
        !echoed.contains("hunter2"),
        "secret echoed in clear: {echoed}"
    );

    let busy = api
        .update_container(
            &created.id,
            &UpdateContainerRequest {
                image: Some("x:2".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(&busy, Err(Error::TransientState { current_state, .. }) if current_state == "creating"),
        "{busy:?}"
    );
    assert_eq!(
        busy.as_ref().map_err(Error::class).err(),
        Some(ErrorClass::Transient)
    );

    wait_until(
        || async { ok(api.get_container(&created.id).await) },
        |c| c.status == Status::Ready,
    )
    .await;
    let updated = ok(api
        .update_container(
            &created.id,
            &UpdateContainerRequest {
                image: Some("rg.fr-par.scw.cloud/demo/web:2.0".into()),
                https_connections_only: Some(false),
                settings: ContainerSettings {
                    max_scale: Some(7),
                    ..Default::default()
                },
            },
        )
        .await);
    assert_eq!(updated.status, Status::Updating);
    assert_eq!(updated.max_scale, 7);
    assert_eq!(updated.min_scale, 0);
    assert!(
        !updated.https_connections_only,
        "the singular PATCH field was applied"
    );
    wait_until(
        || async { ok(api.get_container(&created.id).await) },
        |c| c.status == Status::Ready,
    )
    .await;

    let redeployed = ok(api.redeploy_container(&created.id).await);
    assert_eq!(redeployed.status, Status::Updating);
    wait_until(
        || async { ok(api.get_container(&created.id).await) },
        |c| c.status == Status::Ready,
    )
    .await;

    let by_name = ok(api
        .list_all_containers(&ContainerFilter {
            namespace_id: Some(namespace.id.clone()),
            name: Some("web".into()),
            ..Default::default()
        })
        .await);
    assert_eq!(by_name.len(), 1);

    let deleting = ok(api.delete_container(&created.id).await);
    assert_eq!(deleting.status, Status::Deleting);
    let gone = wait_until(
        || async { api.get_container(&created.id).await },
        |r| r.is_err(),
    )
    .await;
    assert!(matches!(gone, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn an_unpullable_image_ends_in_error_with_a_message() {
    let (_emulator, client) = setup().await;
    let namespace = ready_namespace(&client, "broken").await;
    let api = client.region(REGION);
    let mut request = container_request(&namespace.id, "bad");
    request.image = "rg.fr-par.scw.cloud/demo/unpullable:1".into();
    let created = ok(api.create_container(&request).await);
    let settled = wait_until(
        || async { ok(api.get_container(&created.id).await) },
        |c| !c.status.is_transient(),
    )
    .await;
    assert_eq!(settled.status, Status::Error);
    assert!(settled.error_message.is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn triggers_of_every_source_and_domains() {
    let (_emulator, client) = setup().await;
    let namespace = ready_namespace(&client, "events").await;
    let api = client.region(REGION);
    let container = ok(api
        .create_container(&container_request(&namespace.id, "worker"))
        .await);
    wait_until(
        || async { ok(api.get_container(&container.id).await) },
        |c| c.status == Status::Ready,
    )
    .await;
    let destination = DestinationConfig {
        http_path: "/hook".into(),
        http_method: HttpMethod::Post,
    };

    let cron = ok(api
        .create_trigger(&CreateTriggerRequest {
            container_id: container.id.to_string(),
            name: "nightly".into(),
            destination_config: Some(destination.clone()),
            cron_config: Some(CronConfig {
                schedule: "0 3 * * *".into(),
                timezone: "Europe/Paris".into(),
                body: Some("{}".into()),
                headers: Some(BTreeMap::from([("X-Job".into(), "nightly".into())])),
            }),
            ..Default::default()
        })
        .await);
    assert_eq!(cron.source_type, SourceType::Cron);
    let sqs = ok(api
        .create_trigger(&CreateTriggerRequest {
            container_id: container.id.to_string(),
            name: "queue".into(),
            destination_config: Some(destination.clone()),
            sqs_config: Some(SqsConfigRequest {
                region: Some("fr-par".into()),
                endpoint: Some("https://sqs.mnq.fr-par.scaleway.com".into()),
                access_key_id: Some("AKIDEXAMPLE".into()),
                secret_access_key: Some(SecretString::new("sqs-secret-access-key")),
                queue_url: Some("https://sqs.mnq.fr-par.scaleway.com/project/queue".into()),
            }),
            ..Default::default()
        })
        .await);
    assert_eq!(sqs.source_type, SourceType::Sqs);
    let nats = ok(api
        .create_trigger(&CreateTriggerRequest {
            container_id: container.id.to_string(),
            name: "stream".into(),
            destination_config: Some(destination),
            nats_config: Some(NatsConfigRequest {
                server_urls: Some(vec!["nats://nats.mnq.fr-par.scaleway.com:4222".into()]),
                subject: Some("orders".into()),
                credentials_file_content: Some(SecretString::new("nats-creds-file-content")),
            }),
            ..Default::default()
        })
        .await);
    assert_eq!(nats.source_type, SourceType::Nats);
    let raw = serde_json::to_string(&ok(api.list_all_triggers(&TriggerFilter::default()).await))
        .unwrap_or_default();
    assert!(!raw.contains("sqs-secret-access-key") && !raw.contains("nats-creds-file-content"));

    let by_container = ok(api
        .list_all_triggers(&TriggerFilter {
            container_id: Some(container.id.to_string()),
            ..Default::default()
        })
        .await);
    assert_eq!(by_container.len(), 3);
    let by_namespace = ok(api
        .list_triggers(
            &TriggerFilter {
                namespace_id: Some(namespace.id.clone()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await);
    assert_eq!(by_namespace.total_count, 3);

    wait_until(
        || async { ok(api.get_trigger(&cron.id).await) },
        |t| t.status == Status::Ready,
    )
    .await;
    let renamed = ok(api
        .update_trigger(
            &cron.id,
            &UpdateTriggerRequest {
                name: Some("nightly-2".into()),
                cron_config: Some(CronConfig {
                    schedule: "0 4 * * *".into(),
                    timezone: "UTC".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await);
    assert_eq!(renamed.name, "nightly-2");
    wait_until(
        || async { ok(api.get_trigger(&cron.id).await) },
        |t| t.status == Status::Ready,
    )
    .await;
    let switch_source = api
        .update_trigger(
            &cron.id,
            &UpdateTriggerRequest {
                nats_config: Some(NatsConfigRequest {
                    subject: Some("x".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(switch_source, Err(Error::InvalidArgument { .. })),
        "{switch_source:?}"
    );

    let domain = ok(api
        .create_domain(&CreateDomainRequest {
            container_id: container.id.to_string(),
            hostname: "api.example.com".into(),
            tags: None,
        })
        .await);
    assert_eq!(domain.hostname, "api.example.com");
    wait_until(
        || async { ok(api.get_domain(&domain.id).await) },
        |d| d.status == Status::Ready,
    )
    .await;
    let tagged = ok(api
        .update_domain(
            &domain.id,
            &UpdateDomainRequest {
                tags: Some(vec!["t".into()]),
            },
        )
        .await);
    assert_eq!(tagged.tags, ["t"]);
    let domains = ok(api
        .list_all_domains(&DomainFilter {
            container_id: Some(container.id.to_string()),
            ..Default::default()
        })
        .await);
    assert_eq!(domains.len(), 1);
    let page = ok(api
        .list_domains(&DomainFilter::default(), PageRequest::default())
        .await);
    assert_eq!(page.total_count, 1);
    wait_until(
        || async { ok(api.get_domain(&domain.id).await) },
        |d| d.status == Status::Ready,
    )
    .await;
    ok(api.delete_domain(&domain.id).await);
    ok(api.delete_trigger(&sqs.id).await);
    let gone = wait_until(|| async { api.get_trigger(&sqs.id).await }, |r| r.is_err()).await;
    assert!(matches!(gone, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn error_classes_map_from_the_emulator() {
    let (_emulator, client) = setup().await;
    let api = client.region(REGION);
    let missing = api
        .get_container("00000000-0000-4000-8000-000000000000")
        .await;
    assert!(
        matches!(&missing, Err(Error::NotFound { resource, .. }) if resource == "container"),
        "{missing:?}"
    );

    let namespace = ready_namespace(&client, "errs").await;
    let duplicate = api
        .create_namespace(&CreateNamespaceRequest {
            project_id: PROJECT.into(),
            name: "errs".into(),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(duplicate, Err(Error::AlreadyExists { .. })),
        "{duplicate:?}"
    );

    let mut bad = container_request(&namespace.id, "bad-scale");
    bad.settings.min_scale = Some(9);
    bad.settings.max_scale = Some(2);
    let invalid = api.create_container(&bad).await;
    match &invalid {
        Err(Error::InvalidArgument { details, .. }) => {
            assert!(
                details.iter().any(|d| d.argument_name.contains("scale")),
                "{details:?}"
            );
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert_eq!(
        invalid.map_err(|e| e.class()).err(),
        Some(ErrorClass::Terminal)
    );

    let unknown_region = client.region("mars-1").service_info().await;
    assert!(
        matches!(
            unknown_region,
            Err(Error::InvalidArgument { .. } | Error::NotFound { .. })
        ),
        "{unknown_region:?}"
    );
}

#[tokio::test]
async fn a_quota_answers_quota_exceeded() {
    let running = emulator_with(EmulatorConfig {
        container_quota: Some(1),
        ..test_config()
    })
    .await;
    let client = client_for(&running.url(), TOKEN);
    let namespace = ready_namespace(&client, "quota").await;
    let api = client.region(REGION);
    ok(api
        .create_container(&container_request(&namespace.id, "one"))
        .await);
    let refused = api
        .create_container(&container_request(&namespace.id, "two"))
        .await;
    assert!(
        matches!(&refused, Err(Error::QuotaExceeded { .. })),
        "{refused:?}"
    );
    assert_eq!(
        refused.map_err(|e| e.reason()).err(),
        Some("ScalewayQuotaExceeded")
    );
}

#[tokio::test]
async fn wrong_or_empty_credentials_are_refused() {
    let running = emulator_with(EmulatorConfig {
        credentials: Some(vec![TOKEN.into()]),
        ..test_config()
    })
    .await;
    let wrong = client_for(&running.url(), "not-the-right-token");
    let refused = wrong
        .region(REGION)
        .list_namespaces(&NamespaceFilter::default(), PageRequest::default())
        .await;
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    let empty = client_for(&running.url(), "");
    let denied = empty
        .region(REGION)
        .list_namespaces(&NamespaceFilter::default(), PageRequest::default())
        .await;
    assert!(
        matches!(denied, Err(Error::Unauthorized { .. })),
        "{denied:?}"
    );
    let right = client_for(&running.url(), TOKEN);
    ok(right
        .region(REGION)
        .list_namespaces(&NamespaceFilter::default(), PageRequest::default())
        .await);
}

fn fault(configure: impl FnOnce(&mut Faults)) -> Faults {
    let mut faults = Faults::default();
    configure(&mut faults);
    faults
}

#[tokio::test]
async fn idempotent_calls_are_retried_through_5xx_bursts_and_dropped_connections() {
    let (emulator, client) = setup().await;
    let namespace = ready_namespace(&client, "retry").await;
    let api = client.region(REGION);
    emulator.emulator.set_faults(fault(|f| {
        f.server_error_rate = 1.0;
        f.max_faults = Some(2);
        f.methods = Some(vec!["GET".into()]);
    }));
    ok(api.get_namespace(&namespace.id).await);
    assert_eq!(client.stats().retries().values().sum::<u64>(), 2);

    emulator.emulator.set_faults(fault(|f| {
        f.drop_rate = 1.0;
        f.max_faults = Some(1);
        f.methods = Some(vec!["PATCH".into()]);
    }));
    ok(api
        .update_namespace(
            &namespace.id,
            &UpdateNamespaceRequest {
                description: Some("d".into()),
                ..Default::default()
            },
        )
        .await);
    assert_eq!(client.stats().retries().values().sum::<u64>(), 3);
}

#[tokio::test]
async fn a_create_is_never_retried_blindly() {
    let (emulator, client) = setup().await;
    let api = client.region(REGION);
    emulator.emulator.set_faults(fault(|f| {
        f.drop_rate = 1.0;
        f.max_faults = Some(1);
        f.methods = Some(vec!["POST".into()]);
    }));
    let dropped = api
        .create_namespace(&CreateNamespaceRequest {
            project_id: PROJECT.into(),
            name: "once".into(),
            ..Default::default()
        })
        .await;
    let error = dropped
        .err()
        .unwrap_or_else(|| panic!("a dropped connection must fail the create"));
    assert!(error.outcome_unknown(), "{error:?}");
    emulator.emulator.set_faults(fault(|f| {
        f.server_error_rate = 1.0;
        f.max_faults = Some(1);
        f.methods = Some(vec!["POST".into()]);
    }));
    let failed = api
        .create_namespace(&CreateNamespaceRequest {
            project_id: PROJECT.into(),
            name: "once".into(),
            ..Default::default()
        })
        .await;
    assert!(matches!(failed, Err(Error::Server { .. })), "{failed:?}");
    assert!(
        client.stats().retries().is_empty(),
        "{:?}",
        client.stats().retries()
    );
    let posts = emulator
        .emulator
        .request_counts()
        .get("POST /containers/v1/regions/{region}/namespaces")
        .copied();
    assert_eq!(posts, Some(2), "{:?}", emulator.emulator.request_counts());
}

#[tokio::test]
async fn rate_limits_honour_retry_after() {
    let (emulator, client) = setup().await;
    let api = client.region(REGION);
    emulator.emulator.set_faults(fault(|f| {
        f.rate_limit_rate = 1.0;
        f.retry_after_seconds = 1;
        f.max_faults = Some(1);
    }));
    let started = Instant::now();
    ok(api
        .list_namespaces(&NamespaceFilter::default(), PageRequest::default())
        .await);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried before Retry-After: {:?}",
        started.elapsed()
    );

    let impatient = {
        let mut config = ClientConfig::new(SecretString::new(TOKEN)).with_api_url(emulator.url());
        config.retry.max_attempts = 1;
        ok(Client::new(config).map_err(|_| Error::Timeout { route: "build" }))
    };
    emulator.emulator.set_faults(fault(|f| {
        f.rate_limit_rate = 1.0;
        f.retry_after_seconds = 7;
        f.max_faults = Some(1);
    }));
    let limited = impatient
        .region(REGION)
        .list_namespaces(&NamespaceFilter::default(), PageRequest::default())
        .await;
    let class = limited.map_err(|e| e.class()).err();
    assert_eq!(
        class,
        Some(ErrorClass::Throttled(Some(Duration::from_secs(7))))
    );
}

#[tokio::test]
async fn slow_answers_time_out() {
    scaleway_serverless_operator::install_crypto_provider();
    let running = emulator_with(test_config()).await;
    running.emulator.set_faults(fault(|f| f.latency_ms = 1500));
    let mut config = ClientConfig::new(SecretString::new(TOKEN)).with_api_url(running.url());
    config.request_timeout = Duration::from_millis(200);
    config.retry.max_attempts = 1;
    let client = ok(Client::new(config).map_err(|_| Error::Timeout { route: "build" }));
    let slow = client.region(REGION).service_info().await;
    assert!(matches!(slow, Err(Error::Timeout { .. })), "{slow:?}");
}

/// A `MakeWriter` that keeps everything logged, to search it afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut sink) = self.0.lock() {
            sink.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_never_reach_logs_errors_or_debug_output() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (emulator, client) = setup().await;
    let namespace = ready_namespace(&client, "secrets").await;
    let api = client.region(REGION);
    let mut request = container_request(&namespace.id, "vault");
    let debug_of_request = format!("{request:?}");
    let created = ok(api.create_container(&request).await);
    request.name = "vault".into();
    let duplicate = api.create_container(&request).await;
    emulator.emulator.set_faults(fault(|f| {
        f.server_error_rate = 1.0;
        f.max_faults = Some(1);
    }));
    let failed = api.get_container(&created.id).await;
    let errors = format!(
        "{duplicate:?} {failed:?} {:?} {client:?}",
        failed.as_ref().err().map(ToString::to_string)
    );

    let logs = String::from_utf8_lossy(&captured.0.lock().map(|l| l.clone()).unwrap_or_default())
        .to_string();
    assert!(
        !logs.is_empty(),
        "nothing was captured, the test would prove nothing"
    );
    for secret in [TOKEN, "hunter2-db-password"] {
        assert!(!logs.contains(secret), "secret in logs");
        assert!(!errors.contains(secret), "secret in errors: {errors}");
        assert!(!debug_of_request.contains(secret), "secret in Debug");
    }
}
