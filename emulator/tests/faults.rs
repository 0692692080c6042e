//! Fault injection: 503, 429 + Retry-After, dropped connections, latency, filters, cap, seed.

mod common;

use std::time::{Duration, Instant};

use common::{Api, id};
use reqwest::Method;
use scaleway_emulator::{EmulatorConfig, Faults};
use serde_json::json;

#[tokio::test]
async fn the_next_two_patch_requests_get_503() {
    let api = Api::with_delays(10, 10).await;
    let (_, c) = api.ready_container("f", "web").await;
    let path = format!("/containers/{}", id(&c));
    api.emulator().set_faults(Faults {
        server_error_rate: 1.0,
        methods: Some(vec!["PATCH".into()]),
        max_faults: Some(2),
        ..Faults::default()
    });
    assert_eq!(api.get(&path).await.status, 200, "GET is not eligible");
    for _ in 0..2 {
        let answer = api.patch(&path, json!({ "description": "x" })).await;
        assert_eq!(answer.status, 503);
        assert!(answer.body["message"].is_string());
        assert!(answer.body["type"].is_string());
    }
    assert_eq!(
        api.get(&path).await.body["status"],
        "ready",
        "faulted requests change nothing"
    );
    let third = api.patch(&path, json!({ "description": "x" })).await;
    assert_eq!(third.status, 200);
    let counts = api.emulator().request_counts();
    assert_eq!(
        counts["PATCH /containers/v1/regions/{region}/containers/{container_id}"], 3,
        "faulted requests are counted"
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let api = Api::start(EmulatorConfig {
        faults: Faults {
            rate_limit_rate: 1.0,
            retry_after_seconds: 7,
            max_faults: Some(1),
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let limited = api.get("/namespaces").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "7");
    assert_eq!(limited.body["type"], "too_many_requests");
    assert!(limited.body["help_message"].is_string());
    assert!(limited.body["message"].is_string());
    assert_eq!(api.get("/namespaces").await.status, 200);
}

#[tokio::test]
async fn dropped_connections_get_no_http_response() {
    let api = Api::with_delays(10, 10).await;
    api.emulator().set_faults(Faults {
        drop_rate: 1.0,
        path_contains: Some("/namespaces".into()),
        max_faults: Some(1),
        ..Faults::default()
    });
    assert_eq!(api.get("").await.status, 200, "path filter");
    let error = api
        .try_send_url(Method::GET, &api.url("/namespaces"), None)
        .await
        .expect_err("the connection is closed without a response");
    assert!(!error.is_status(), "{error:?}");
    assert!(error.status().is_none());
    assert!(
        error.is_request() || error.is_connect() || error.is_body(),
        "{error:?}"
    );
    assert_eq!(api.get("/namespaces").await.status, 200, "cap reached");
    assert_eq!(api.emulator().total_requests(), 3);
}

#[tokio::test]
async fn raw_tcp_client_sees_eof_on_drop() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::start(EmulatorConfig {
        faults: Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(api.running.addr)
        .await
        .unwrap();
    let request = "GET /containers/v1/regions/fr-par/namespaces HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received)).await;
    match read.expect("the server closes the connection") {
        Ok(_) => assert!(
            received.is_empty(),
            "got {:?}",
            String::from_utf8_lossy(&received)
        ),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
}

#[tokio::test]
async fn latency_delays_eligible_requests() {
    let api = Api::with_delays(10, 10).await;
    api.emulator().set_faults(Faults {
        latency_ms: 1000,
        methods: Some(vec!["post".into()]),
        ..Faults::default()
    });
    let started = Instant::now();
    api.get("/namespaces").await;
    let get_time = started.elapsed();
    let started = Instant::now();
    api.create_namespace("slow").await;
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert!(
        get_time < Duration::from_millis(1000),
        "GET not delayed: {get_time:?}"
    );
}

/// Status of each of `count` GETs; dropped connections show as 0.
async fn pattern(api: &Api, count: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..count {
        let answer = api
            .try_send_url(Method::GET, &api.url("/namespaces"), None)
            .await;
        statuses.push(answer.map_or(0, |a| a.status.as_u16()));
    }
    statuses
}

#[tokio::test]
async fn faults_are_deterministic_under_a_seed() {
    let faults = Faults {
        drop_rate: 0.2,
        server_error_rate: 0.2,
        rate_limit_rate: 0.2,
        ..Faults::default()
    };
    let config = |seed| EmulatorConfig {
        seed,
        faults: faults.clone(),
        ..EmulatorConfig::default()
    };
    let a = Api::start(config(7)).await;
    let b = Api::start(config(7)).await;
    let c = Api::start(config(8)).await;
    let (pa, pb, pc) = (
        pattern(&a, 40).await,
        pattern(&b, 40).await,
        pattern(&c, 40).await,
    );
    assert_eq!(pa, pb);
    assert_ne!(pa, pc, "another seed gives another sequence");
    for status in [0, 200, 429, 503] {
        assert!(pa.contains(&status), "{status} never seen in {pa:?}");
    }
    // Setting the faults again restarts the sequence.
    a.emulator().set_faults(faults.clone());
    assert_eq!(pattern(&a, 40).await, pb);
}

#[tokio::test]
async fn admin_api_configures_faults_and_is_never_faulted() {
    let api = Api::with_delays(10, 10).await;
    let put = api
        .admin(
            Method::PUT,
            "/faults",
            Some(json!({ "server_error_rate": 1.0, "methods": ["GET"] })),
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.body["server_error_rate"], 1.0);
    assert_eq!(put.body["latency_ms"], 0);
    assert_eq!(
        api.emulator().faults().methods,
        Some(vec!["GET".to_owned()])
    );
    assert_eq!(api.get("/namespaces").await.status, 503);
    let fetched = api.admin(Method::GET, "/faults", None).await;
    assert_eq!(fetched.status, 200, "admin GETs are never faulted");
    assert_eq!(fetched.body, put.body);
    assert_eq!(api.admin(Method::GET, "/state", None).await.status, 200);

    let invalid = api
        .admin(Method::PUT, "/faults", Some(json!({ "drop_rate": 2.0 })))
        .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        api.emulator().faults().server_error_rate,
        1.0,
        "rejected settings are not applied"
    );
    api.admin(Method::PUT, "/faults", Some(json!({}))).await;
    assert_eq!(api.emulator().faults(), Faults::default());
    assert_eq!(api.get("/namespaces").await.status, 200);
}

#[tokio::test]
async fn stuck_transient_can_be_set_at_runtime() {
    let api = Api::with_delays(20, 20).await;
    let ns = api.create_namespace("stuck").await;
    let path = format!("/namespaces/{}", id(&ns));
    api.wait_status(&path, "ready").await;
    api.admin(
        Method::PUT,
        "/faults",
        Some(json!({ "stuck_transient": true })),
    )
    .await;
    api.delete(&path).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(api.get(&path).await.body["status"], "deleting");
    assert_eq!(api.emulator().count_resources("namespaces"), 1);
    api.admin(
        Method::PUT,
        "/faults",
        Some(json!({ "stuck_transient": false })),
    )
    .await;
    api.wait_gone(&path).await;
}
