//! `crds/` (and the Helm chart's copy, once it exists) must equal what the code generates.
//! Run with `UPDATE_CRDS=1` to rewrite them.

use std::path::Path;

use scaleway_serverless_operator::crd;

#[test]
fn checked_in_crds_match_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("UPDATE_CRDS").is_some();
    let mut targets = vec![root.join("crds")];
    let chart_crds = root.join("charts/scaleway-serverless-operator/crds");
    if chart_crds.exists() {
        targets.push(chart_crds);
    }
    let mut stale = Vec::new();
    for directory in &targets {
        for definition in crd::all_crds() {
            let path = directory.join(crd::file_name(&definition));
            let expected =
                crd::to_yaml(&definition).unwrap_or_else(|e| panic!("cannot render CRD: {e}"));
            if update {
                std::fs::create_dir_all(directory).unwrap_or_else(|e| panic!("{e}"));
                std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("{e}"));
                continue;
            }
            let actual = std::fs::read_to_string(&path).unwrap_or_default();
            if actual != expected {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "CRD YAML out of date: {stale:?}. Regenerate with `UPDATE_CRDS=1 cargo nextest run --test crds_in_sync`"
    );
}

#[test]
fn checked_in_crds_parse_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    for definition in crd::all_crds() {
        let text =
            std::fs::read_to_string(root.join(crd::file_name(&definition))).unwrap_or_default();
        let parsed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.spec.names.kind, definition.spec.names.kind);
    }
}

#[test]
fn the_field_reference_matches_the_schemas() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/crd-reference.md");
    let expected = crd::reference::markdown(&crd::all_crds());
    if std::env::var_os("UPDATE_CRDS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("{e}"));
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/crd-reference.md is out of date: UPDATE_CRDS=1 cargo nextest run --test crds_in_sync"
    );
    for field in [
        "spec.namespaceRef.name",
        "spec.memory",
        "spec.cron.schedule",
        "status.publicEndpoint",
    ] {
        assert!(
            expected.contains(&format!("`{field}`")),
            "{field} missing from the reference"
        );
    }
}
