//! The Functions v1beta1 API: life cycles, the upload → deploy flow through presigned URLs,
//! validation, secrets, tokens, crons, domains, triggers and cascading deletes.

mod common;

use common::{Api, PROJECT, argument_names, id};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A minimal zip archive (an empty one: end-of-central-directory record only).
const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

async fn api() -> Api {
    Api::with_delays(150, 150).await.functions()
}

async fn ready_namespace(api: &Api, name: &str) -> Value {
    let answer = api
        .post(
            "/namespaces",
            json!({"name": name, "project_id": PROJECT,
                   "secret_environment_variables": [{"key": "DB_PASSWORD", "value": "hunter2"}]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "creating");
    api.wait_status(&format!("/namespaces/{}", id(&answer.body)), "ready")
        .await
}

async fn new_function(api: &Api, namespace_id: &str, name: &str) -> Value {
    let answer = api
        .post(
            "/functions",
            json!({"name": name, "namespace_id": namespace_id, "runtime": "python312",
                   "memory_limit": 512, "timeout": "30s"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

/// GET upload-url, then PUT `archive` to it without a token; returns the PUT status.
async fn upload(api: &Api, function_id: &str, archive: &[u8]) -> StatusCode {
    let answer = api
        .get(&format!(
            "/functions/{function_id}/upload-url?content_length={}",
            archive.len()
        ))
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["headers"]["content-length"],
        json!([archive.len().to_string()])
    );
    let url = answer.body["url"].as_str().expect("url");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    api.client
        .put(url)
        .header("Content-Type", "application/octet-stream")
        .body(archive.to_vec())
        .send()
        .await
        .expect("PUT answers")
        .status()
}

#[tokio::test]
async fn upload_deploy_and_redeploy_a_function() {
    let api = api().await;
    let namespace = ready_namespace(&api, "fns").await;
    assert_eq!(
        namespace["secret_environment_variables"][0]["key"],
        "DB_PASSWORD"
    );
    assert!(!namespace.to_string().contains("hunter2"));
    let function = new_function(&api, &id(&namespace), "hello").await;
    assert_eq!(function["status"], "created", "{function:?}");
    assert_eq!(function["memory_limit"], 512);
    assert_eq!(function["cpu_limit"], 280);
    assert_eq!(function["handler"], "handler.handle", "runtime default");
    assert_eq!(function["ready_at"], Value::Null);
    let domain_name = function["domain_name"].as_str().unwrap();
    assert!(domain_name.starts_with("fns") && domain_name.contains("-hello.functions.fnc.fr-par."));
    let fid = id(&function);
    let path = format!("/functions/{fid}");

    // Deploy without code: error, and says why.
    let answer = api.post(&format!("{path}/deploy"), json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "pending");
    let failed = api.wait_status(&path, "error").await;
    assert!(
        failed["error_message"]
            .as_str()
            .unwrap()
            .contains("no code")
    );

    assert_eq!(upload(&api, &fid, EMPTY_ZIP).await, StatusCode::OK);
    let answer = api.post(&format!("{path}/deploy"), json!({})).await;
    assert_eq!(answer.body["status"], "pending");
    assert!(answer.body["build_message"].is_string());
    // Busy while pending.
    let busy = api.patch(&path, json!({"description": "x"})).await;
    assert_eq!(busy.status, 409, "{:?}", busy.body);
    assert_eq!(busy.body["type"], "transient_state");
    let ready = api.wait_status(&path, "ready").await;
    assert!(ready["ready_at"].is_string());
    assert_eq!(ready["error_message"], Value::Null);
    let state = api.admin(Method::GET, "/state", None).await.body;
    let stored = &state["functions_api"]["functions"][0];
    assert_eq!(
        stored["deployed_archive_sha256"],
        stored["uploaded_archive_sha256"]
    );

    // The download URL serves the archive back.
    let answer = api.get(&format!("{path}/download-url")).await;
    let bytes = api
        .client
        .get(answer.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], EMPTY_ZIP);

    // A settings change redeploys, unless redeploy is false.
    let answer = api
        .patch(&path, json!({"redeploy": false, "min_scale": 1}))
        .await;
    assert_eq!(answer.body["status"], "ready");
    assert_eq!(answer.body["min_scale"], 1);
    let answer = api.patch(&path, json!({"max_scale": 3})).await;
    assert_eq!(answer.body["status"], "pending");
    api.wait_status(&path, "ready").await;

    // New code that is not a zip: the build fails.
    assert_eq!(upload(&api, &fid, b"not a zip").await, StatusCode::OK);
    api.post(&format!("{path}/deploy"), json!({})).await;
    let failed = api.wait_status(&path, "error").await;
    assert!(
        failed["error_message"]
            .as_str()
            .unwrap()
            .contains("not a zip")
    );
}

#[tokio::test]
async fn presigned_urls_accept_only_what_they_were_issued_for() {
    let api = api().await;
    let namespace = ready_namespace(&api, "urls").await;
    let fid = id(&new_function(&api, &id(&namespace), "f").await);
    let answer = api
        .get(&format!("/functions/{fid}/upload-url?content_length=22"))
        .await;
    let url = answer.body["url"].as_str().unwrap().to_owned();
    let put = |url: String, body: Vec<u8>| {
        let client = api.client.clone();
        async move { client.put(url).body(body).send().await.unwrap() }
    };
    // Another length than declared.
    let wrong = put(url.clone(), vec![b'P'; 23]).await;
    assert_eq!(wrong.status(), 403);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("SignatureDoesNotMatch")
    );
    // A tampered signature.
    let tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(put(tampered, EMPTY_ZIP.to_vec()).await.status(), 403);
    // Another function's object.
    let other = url.replace(&fid, "00000000-0000-4000-8000-000000000000");
    assert_eq!(put(other, EMPTY_ZIP.to_vec()).await.status(), 403);
    // The right one.
    assert_eq!(put(url, EMPTY_ZIP.to_vec()).await.status(), 200);
    // Size limits of the upload URL itself.
    for (length, reason) in [
        ("0", "constraint"),
        ("104857601", "constraint"),
        ("x", "format"),
    ] {
        let answer = api
            .get(&format!(
                "/functions/{fid}/upload-url?content_length={length}"
            ))
            .await;
        assert_eq!(answer.status, 400, "{length}");
        assert_eq!(common::reason_for(&answer.body, "content_length"), reason);
    }
    let answer = api.get(&format!("/functions/{fid}/upload-url")).await;
    assert_eq!(argument_names(&answer.body), ["content_length"]);
    // Requests are counted per route, storage included.
    let counts = api.admin(Method::GET, "/requests", None).await.body;
    assert_eq!(
        counts["routes"]["PUT /__storage/functions/{region}/{function_id}/archive.zip"],
        4
    );
}

#[tokio::test]
async fn function_settings_are_validated_field_by_field() {
    let api = api().await;
    let namespace = ready_namespace(&api, "valid").await;
    let nsid = id(&namespace);
    let answer = api
        .post(
            "/functions",
            json!({"name": "Bad_Name", "namespace_id": nsid, "runtime": "node8",
                   "memory_limit": 300, "timeout": "901s", "min_scale": 5, "max_scale": 2,
                   "privacy": "secret", "http_option": "always",
                   "secret_environment_variables": [{"key": "K"}]}),
        )
        .await;
    assert_eq!(answer.status, 400);
    let mut names = argument_names(&answer.body);
    names.sort();
    assert_eq!(
        names,
        [
            "http_option",
            "memory_limit",
            "min_scale",
            "name",
            "privacy",
            "runtime",
            "secret_environment_variables[0].value",
            "timeout"
        ]
    );
    let answer = api.get("/functions").await;
    assert_eq!(argument_names(&answer.body), ["namespace_id"]);
    let answer = api
        .post("/functions", json!({"name": "f", "namespace_id": PROJECT}))
        .await;
    assert_eq!(argument_names(&answer.body), ["namespace_id"]);
    new_function(&api, &nsid, "twice").await;
    let answer = api
        .post("/functions", json!({"name": "twice", "namespace_id": nsid}))
        .await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.body["type"], "already_exists");
    let runtimes = api.get("/runtimes").await.body;
    assert!(runtimes["total_count"].as_u64().unwrap() >= 35);
    assert!(
        runtimes["runtimes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "python312" && r["status"] == "available")
    );
}

#[tokio::test]
async fn secrets_are_set_replaced_and_deleted_per_key() {
    let api = api().await;
    let namespace = ready_namespace(&api, "secrets").await;
    let answer = api
        .post(
            "/functions",
            json!({"name": "s", "namespace_id": id(&namespace),
                   "secret_environment_variables": [{"key": "A", "value": "alpha"},
                                                    {"key": "B", "value": "beta"}]}),
        )
        .await;
    let path = format!("/functions/{}", id(&answer.body));
    let before = answer.body["secret_environment_variables"].clone();
    assert!(!before.to_string().contains("alpha"));
    let answer = api
        .patch(
            &path,
            json!({"secret_environment_variables": [{"key": "A"}, {"key": "C", "value": "gamma"}]}),
        )
        .await;
    let after = &answer.body["secret_environment_variables"];
    let keys: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["B", "C"]);
    assert_eq!(after[0], before[1], "B untouched");
    assert!(
        after[1]["hashed_value"]
            .as_str()
            .unwrap()
            .starts_with("$sha256$")
    );
}

#[tokio::test]
async fn tokens_show_their_value_once() {
    let api = api().await;
    let namespace = ready_namespace(&api, "tok").await;
    let fid = id(&new_function(&api, &id(&namespace), "f").await);
    let answer = api
        .post(
            "/tokens",
            json!({"function_id": fid, "description": "ci", "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let value = answer.body["token"].as_str().unwrap().to_owned();
    assert!(value.len() >= 64);
    let path = format!("/tokens/{}", id(&answer.body));
    let ready = api.wait_status(&path, "ready").await;
    assert_eq!(ready["token"], Value::Null);
    assert_eq!(ready["expires_at"], "2099-01-01T00:00:00Z");
    let listed = api.get(&format!("/tokens?function_id={fid}")).await.body;
    assert_eq!(listed["total_count"], 1);
    assert_eq!(
        listed["tokens"][0]["token"],
        Value::Null,
        "not in lists either"
    );
    let state = api.admin(Method::GET, "/state", None).await.body;
    assert!(!state.to_string().contains(&value), "never stored in clear");
    for (body, argument) in [
        (json!({}), "scope"),
        (
            json!({"function_id": fid, "namespace_id": id(&namespace)}),
            "scope",
        ),
        (
            json!({"function_id": fid, "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"function_id": fid, "expires_at": "tomorrow"}),
            "expires_at",
        ),
    ] {
        let answer = api.post("/tokens", body.clone()).await;
        assert_eq!(argument_names(&answer.body), [argument], "{body}");
        assert_eq!(answer.status, 400, "{body}");
    }
    let ns_token = api
        .post("/tokens", json!({"namespace_id": id(&namespace)}))
        .await;
    assert_eq!(ns_token.status, 200);
    api.delete(&path).await;
    api.wait_gone(&path).await;
}

#[tokio::test]
async fn crons_domains_and_triggers_and_the_cascade() {
    let api = api().await;
    let namespace = ready_namespace(&api, "kids").await;
    let nsid = id(&namespace);
    let fid = id(&new_function(&api, &nsid, "f").await);

    let cron = api
        .post(
            "/crons",
            json!({"function_id": fid, "schedule": "*/5 * * * *", "args": {"k": 1}, "name": "every-5"}),
        )
        .await;
    assert_eq!(cron.status, 200, "{:?}", cron.body);
    assert_eq!(cron.body["status"], "creating");
    let cron_path = format!("/crons/{}", id(&cron.body));
    api.wait_status(&cron_path, "ready").await;
    let patched = api
        .patch(&cron_path, json!({"schedule": "0 3 * * *"}))
        .await;
    assert_eq!(patched.body["status"], "pending");
    assert_eq!(patched.body["args"], json!({"k": 1}));
    let bad = api
        .post(
            "/crons",
            json!({"function_id": fid, "schedule": "61 25 * * *", "args": [1]}),
        )
        .await;
    let mut names = argument_names(&bad.body);
    names.sort();
    assert_eq!(names, ["args", "schedule"]);
    assert_eq!(
        argument_names(&api.get("/crons").await.body),
        ["function_id"]
    );

    let domain = api
        .post(
            "/domains",
            json!({"hostname": "fn.example.com", "function_id": fid}),
        )
        .await;
    assert_eq!(domain.status, 200);
    assert_eq!(domain.body["url"], "https://fn.example.com");
    let taken = api
        .post(
            "/domains",
            json!({"hostname": "fn.example.com", "function_id": fid}),
        )
        .await;
    assert_eq!(taken.status, 409);
    assert_eq!(
        api.patch(&format!("/domains/{}", id(&domain.body)), json!({}))
            .await
            .status,
        405,
        "no PATCH on function domains"
    );

    let trigger = api
        .post(
            "/triggers",
            json!({"name": "orders", "function_id": fid,
                   "scw_sqs_config": {"queue": "orders", "mnq_project_id": PROJECT, "mnq_region": "fr-par"}}),
        )
        .await;
    assert_eq!(trigger.status, 200, "{:?}", trigger.body);
    assert_eq!(trigger.body["input_type"], "scw_sqs");
    assert!(trigger.body["scw_sqs_config"]["mnq_credential_id"].is_string());
    let sqs = api
        .post(
            "/triggers",
            json!({"name": "ext", "function_id": fid,
                   "sqs_config": {"endpoint": "https://sqs.example.com", "queue_url": "https://sqs.example.com/q",
                                  "access_key": "AK", "secret_key": "very-secret"}}),
        )
        .await;
    assert_eq!(sqs.status, 200);
    assert_eq!(sqs.body["sqs_config"]["secret_key"], Value::Null);
    for body in [
        json!({"name": "none", "function_id": fid}),
        json!({"name": "two", "function_id": fid,
               "scw_sqs_config": {"queue": "q", "mnq_project_id": PROJECT, "mnq_region": "fr-par"},
               "scw_nats_config": {"subject": "s", "mnq_nats_account_id": "a", "mnq_region": "fr-par"}}),
        json!({"name": "region", "function_id": fid,
               "scw_nats_config": {"subject": "s", "mnq_nats_account_id": "a", "mnq_region": "pl-waw"}}),
    ] {
        assert_eq!(
            api.post("/triggers", body.clone()).await.status,
            400,
            "{body}"
        );
    }
    let listed = api
        .get(&format!("/triggers?namespace_id={nsid}"))
        .await
        .body;
    assert_eq!(listed["total_count"], 2);
    let state = api.admin(Method::GET, "/state", None).await.body;
    assert!(!state.to_string().contains("very-secret"));

    // Deleting the namespace takes everything with it: at once, every child is `deleting`.
    let ns_token = api.post("/tokens", json!({"namespace_id": nsid})).await;
    let fn_token = api.post("/tokens", json!({"function_id": fid})).await;
    let domain_path = format!("/domains/{}", id(&domain.body));
    let trigger_path = format!("/triggers/{}", id(&trigger.body));
    let ns_token_path = format!("/tokens/{}", id(&ns_token.body));
    let fn_token_path = format!("/tokens/{}", id(&fn_token.body));
    api.wait_status(&ns_token_path, "ready").await;
    api.wait_status(&format!("/namespaces/{nsid}"), "ready")
        .await;
    let deleted = api.delete(&format!("/namespaces/{nsid}")).await;
    assert_eq!(deleted.body["status"], "deleting");
    for path in [
        format!("/functions/{fid}"),
        cron_path.clone(),
        domain_path,
        trigger_path,
        ns_token_path,
        fn_token_path,
    ] {
        assert_eq!(api.get(&path).await.body["status"], "deleting", "{path}");
    }
    api.wait_gone(&format!("/namespaces/{nsid}")).await;
    api.wait_gone(&cron_path).await;
    for kind in [
        "function_namespaces",
        "functions",
        "crons",
        "function_domains",
        "tokens",
        "function_triggers",
    ] {
        assert_eq!(api.emulator().count_resources(kind), 0, "{kind}");
    }
}

#[tokio::test]
async fn deleting_a_function_takes_its_children_and_leaves_the_namespace() {
    let api = api().await;
    let namespace = ready_namespace(&api, "one").await;
    let nsid = id(&namespace);
    let fid = id(&new_function(&api, &nsid, "f").await);
    let cron = api
        .post(
            "/crons",
            json!({"function_id": fid, "schedule": "0 3 * * *"}),
        )
        .await;
    let token = api.post("/tokens", json!({"function_id": fid})).await;
    let ns_token = api.post("/tokens", json!({"namespace_id": nsid})).await;
    let cron_path = format!("/crons/{}", id(&cron.body));
    api.wait_status(&cron_path, "ready").await;
    let deleted = api.delete(&format!("/functions/{fid}")).await;
    assert_eq!(deleted.body["status"], "deleting");
    assert_eq!(api.get(&cron_path).await.body["status"], "deleting");
    let token_path = format!("/tokens/{}", id(&token.body));
    assert_eq!(api.get(&token_path).await.body["status"], "deleting");
    api.wait_gone(&format!("/functions/{fid}")).await;
    api.wait_gone(&cron_path).await;
    api.wait_gone(&token_path).await;
    assert_eq!(
        api.get(&format!("/namespaces/{nsid}")).await.body["status"],
        "ready"
    );
    let ns_token_path = format!("/tokens/{}", id(&ns_token.body));
    assert_eq!(
        api.get(&ns_token_path).await.status,
        200,
        "namespace token kept"
    );
}

#[tokio::test]
async fn an_explicit_redeploy_deploys_a_function_never_deployed() {
    let api = api().await;
    let namespace = ready_namespace(&api, "explicit").await;
    let fid = id(&new_function(&api, &id(&namespace), "f").await);
    let path = format!("/functions/{fid}");
    assert_eq!(upload(&api, &fid, EMPTY_ZIP).await, StatusCode::OK);
    let unset = api.patch(&path, json!({"min_scale": 1})).await;
    assert_eq!(
        unset.body["status"], "created",
        "never deployed: unset is no redeploy"
    );
    let asked = api
        .patch(&path, json!({"redeploy": true, "min_scale": 2}))
        .await;
    assert_eq!(asked.body["status"], "pending");
    api.wait_status(&path, "ready").await;
}

#[tokio::test]
async fn a_hostname_routes_to_one_container_or_function_across_both_apis() {
    let api = api().await;
    let namespace = ready_namespace(&api, "hosts").await;
    let fid = id(&new_function(&api, &id(&namespace), "f").await);
    let domain = api
        .post(
            "/domains",
            json!({"hostname": "shared.example.com", "function_id": fid}),
        )
        .await;
    assert_eq!(domain.status, 200);
    // The same emulator, through its Containers API.
    let mut same = api;
    same.prefix = common::CONTAINERS;
    let (_, container) = same.ready_container("cns", "web").await;
    let taken = same
        .post(
            "/domains",
            json!({"hostname": "shared.example.com", "container_id": id(&container)}),
        )
        .await;
    assert_eq!(taken.status, 409, "{:?}", taken.body);
    assert_eq!(taken.body["resource_id"], id(&domain.body));
}

#[tokio::test]
async fn both_apis_share_auth_faults_and_the_error_model() {
    let mut api = api().await;
    api.token = None;
    let answer = api.get("/namespaces").await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body["type"], "denied_authentication");
    api.token = Some(common::TOKEN.to_owned());
    let answer = api
        .get("/functions/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body["resource"], "function");
    let answer = api
        .send_url(
            Method::GET,
            &format!(
                "{}/functions/v1beta1/regions/mars/namespaces",
                api.running.url()
            ),
            None,
        )
        .await;
    assert_eq!(argument_names(&answer.body), ["region"]);
    // Faults apply to Functions routes like to Containers routes.
    api.emulator().set_faults(scaleway_emulator::Faults {
        server_error_rate: 1.0,
        path_contains: Some("/functions/v1beta1/".into()),
        ..Default::default()
    });
    assert_eq!(api.get("/namespaces").await.status, 503);
    let mut containers = api;
    containers.prefix = common::CONTAINERS;
    assert_eq!(containers.get("/namespaces").await.status, 200);
}

#[tokio::test]
async fn presigned_urls_cannot_be_forged_from_secret_hashes_or_swapped() {
    let api = api().await;
    let namespace = ready_namespace(&api, "forge").await;
    let fid = id(&new_function(&api, &id(&namespace), "f").await);
    // The canonical string an upload signature covers, stored as a secret value: its
    // `hashed_value` must not be a valid signature (URL keys differ from secret salts).
    let object = format!("/__storage/functions/fr-par/{fid}/archive.zip");
    let date = "20991231T000000Z";
    let canonical = format!("PUT\n{object}\n22\n{date}\n999999999");
    let answer = api
        .patch(
            &format!("/namespaces/{}", id(&namespace)),
            json!({"secret_environment_variables": [{"key": "X", "value": canonical}]}),
        )
        .await;
    let hashed = answer.body["secret_environment_variables"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["key"] == "X"))
        .and_then(|s| s["hashed_value"].as_str())
        .expect("the secret is listed")
        .trim_start_matches("$sha256$")
        .to_owned();
    let forged = format!(
        "{}{object}?X-Amz-Date={date}&X-Amz-Expires=999999999&X-Amz-Signature={hashed}",
        api.running.url()
    );
    let put = api
        .client
        .put(&forged)
        .body(EMPTY_ZIP.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403);
    // A download URL does not upload, and an upload URL does not download.
    assert_eq!(upload(&api, &fid, EMPTY_ZIP).await, StatusCode::OK);
    let download = api.get(&format!("/functions/{fid}/download-url")).await;
    let download_url = download.body["url"].as_str().unwrap().to_owned();
    let put = api
        .client
        .put(&download_url)
        .body(EMPTY_ZIP.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403);
    let upload_url = api
        .get(&format!("/functions/{fid}/upload-url?content_length=22"))
        .await
        .body["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        api.client.get(&upload_url).send().await.unwrap().status(),
        403
    );
}
