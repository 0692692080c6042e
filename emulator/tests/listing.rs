//! Pagination, ordering and filters of the four list operations.

mod common;

use common::{Api, OTHER_PROJECT, PROJECT, argument_names, id};
use serde_json::{Value, json};

fn names(body: &Value, plural: &str, field: &str) -> Vec<String> {
    body[plural]
        .as_array()
        .unwrap_or_else(|| panic!("no {plural} array: {body}"))
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn namespaces_page_order_and_filter() {
    let api = Api::with_delays(10, 10).await;
    for name in ["charlie", "alpha", "bravo"] {
        api.create_namespace(name).await;
    }
    let other = api
        .post(
            "/namespaces",
            json!({ "name": "delta", "project_id": OTHER_PROJECT }),
        )
        .await;
    assert_eq!(other.status, 200);

    let all = api.get("/namespaces").await;
    assert_eq!(all.body["total_count"], 4);
    assert_eq!(
        names(&all.body, "namespaces", "name"),
        ["charlie", "alpha", "bravo", "delta"],
        "created_at_asc by default"
    );

    let page = api
        .get(&format!(
            "/namespaces?project_id={PROJECT}&order_by=name_asc&page_size=2&page=2"
        ))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["total_count"], 3);
    assert_eq!(names(&page.body, "namespaces", "name"), ["charlie"]);

    let desc = api.get("/namespaces?order_by=name_desc").await;
    assert_eq!(
        names(&desc.body, "namespaces", "name"),
        ["delta", "charlie", "bravo", "alpha"]
    );
    let created_desc = api
        .get("/namespaces?order_by=created_at_desc&page_size=1")
        .await;
    assert_eq!(names(&created_desc.body, "namespaces", "name"), ["delta"]);

    let past_end = api.get("/namespaces?page=9&page_size=2").await;
    assert_eq!(past_end.status, 200);
    assert_eq!(past_end.body["namespaces"], json!([]));
    assert_eq!(past_end.body["total_count"], 4);

    let exact = api.get("/namespaces?name=alph").await;
    assert_eq!(exact.body["total_count"], 0, "name is an exact match");
    let exact = api.get("/namespaces?name=alpha").await;
    assert_eq!(names(&exact.body, "namespaces", "name"), ["alpha"]);

    let org = api
        .get(&format!(
            "/namespaces?organization_id={}",
            scaleway_emulator::DEFAULT_ORGANIZATION_ID
        ))
        .await;
    assert_eq!(org.body["total_count"], 4);
    let empty_filter = api.get("/namespaces?name=&project_id=").await;
    assert_eq!(
        empty_filter.body["total_count"], 4,
        "empty values mean unset"
    );
}

#[tokio::test]
async fn paging_parameters_are_validated() {
    let api = Api::with_delays(10, 10).await;
    let too_big = api.get("/namespaces?page_size=101").await;
    assert_eq!(too_big.status, 400);
    assert_eq!(argument_names(&too_big.body), ["page_size"]);
    assert_eq!(api.get("/namespaces?page_size=100").await.status, 200);
    let bad = api
        .get("/containers?page=-1&order_by=hostname_asc&project_id=x")
        .await;
    let mut names = argument_names(&bad.body);
    names.sort();
    assert_eq!(names, ["order_by", "page", "project_id"]);
    assert_eq!(api.get("/domains?order_by=hostname_desc").await.status, 200);
    assert_eq!(api.get("/domains?order_by=name_asc").await.status, 400);
    assert_eq!(api.get("/triggers?page=abc").await.status, 400);
}

#[tokio::test]
async fn default_page_size_is_twenty() {
    let api = Api::with_delays(10, 10).await;
    for i in 0..21 {
        api.create_namespace(&format!("ns-{i:02}")).await;
    }
    let first = api.get("/namespaces").await;
    assert_eq!(first.body["namespaces"].as_array().unwrap().len(), 20);
    assert_eq!(first.body["total_count"], 21);
    let second = api.get("/namespaces?page=2").await;
    assert_eq!(names(&second.body, "namespaces", "name"), ["ns-20"]);
}

#[tokio::test]
async fn child_lists_filter_through_the_parent_chain() {
    let api = Api::with_delays(10, 10).await;
    let (ns1, c1) = api.ready_container("one", "web").await;
    let ns2 = api
        .post(
            "/namespaces",
            json!({ "name": "two", "project_id": OTHER_PROJECT }),
        )
        .await
        .body;
    api.wait_status(&format!("/namespaces/{}", id(&ns2)), "ready")
        .await;
    let c2 = api.create_container(&id(&ns2), "web", "nginx").await;
    api.wait_status(&format!("/containers/{}", id(&c2)), "ready")
        .await;
    let c3 = api.create_container(&id(&ns1), "api", "nginx").await;
    api.wait_status(&format!("/containers/{}", id(&c3)), "ready")
        .await;
    for (container, trigger, host) in [
        (&c1, "t-one", "one.example.com"),
        (&c2, "t-two", "two.example.com"),
    ] {
        api.create_cron_trigger(&id(container), trigger).await;
        let domain = api
            .post(
                "/domains",
                json!({ "container_id": id(container), "hostname": host }),
            )
            .await;
        assert_eq!(domain.status, 200);
    }

    let by_project = api
        .get(&format!(
            "/containers?project_id={PROJECT}&order_by=name_asc"
        ))
        .await;
    assert_eq!(
        names(&by_project.body, "containers", "name"),
        ["api", "web"]
    );
    let by_namespace = api
        .get(&format!("/containers?namespace_id={}", id(&ns2)))
        .await;
    assert_eq!(names(&by_namespace.body, "containers", "id"), [id(&c2)]);
    let by_name = api.get("/containers?name=web").await;
    assert_eq!(by_name.body["total_count"], 2);

    let triggers = api
        .get(&format!("/triggers?project_id={OTHER_PROJECT}"))
        .await;
    assert_eq!(names(&triggers.body, "triggers", "name"), ["t-two"]);
    let triggers = api
        .get(&format!("/triggers?namespace_id={}", id(&ns1)))
        .await;
    assert_eq!(names(&triggers.body, "triggers", "name"), ["t-one"]);
    let triggers = api
        .get(&format!("/triggers?container_id={}", id(&c3)))
        .await;
    assert_eq!(triggers.body["total_count"], 0);

    let domains = api.get(&format!("/domains?project_id={PROJECT}")).await;
    assert_eq!(
        names(&domains.body, "domains", "hostname"),
        ["one.example.com"]
    );
    let domains = api.get("/domains?order_by=hostname_desc").await;
    assert_eq!(
        names(&domains.body, "domains", "hostname"),
        ["two.example.com", "one.example.com"]
    );
    let domains = api.get(&format!("/domains?container_id={}", id(&c2))).await;
    assert_eq!(
        names(&domains.body, "domains", "hostname"),
        ["two.example.com"]
    );
    let org = format!(
        "/domains?organization_id={}",
        scaleway_emulator::DEFAULT_ORGANIZATION_ID
    );
    assert_eq!(api.get(&org).await.body["total_count"], 2);
}
