//! The manifests in `examples/` parse into the operator's types and pass the CRDs' CEL rules.

use std::path::Path;

use kube::core::cel::validate_cel;
use scaleway_serverless_operator::crd::{
    ServerlessContainer, ServerlessDomain, ServerlessFunction, ServerlessFunctionCron,
    ServerlessFunctionToken, ServerlessFunctionTrigger, ServerlessNamespace, ServerlessTrigger,
};

fn documents() -> Vec<(String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        out.extend(docs.into_iter().map(|d| (file.display().to_string(), d)));
    }
    out
}

#[test]
fn examples_are_valid_objects_of_our_kinds() {
    let mut kinds = Vec::new();
    for (file, doc) in documents() {
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        let result = match kind.as_str() {
            "ServerlessNamespace" => serde_json::from_value::<ServerlessNamespace>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "ServerlessContainer" => serde_json::from_value::<ServerlessContainer>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "ServerlessTrigger" => serde_json::from_value::<ServerlessTrigger>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "ServerlessDomain" => serde_json::from_value::<ServerlessDomain>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "ServerlessFunction" => serde_json::from_value::<ServerlessFunction>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "ServerlessFunctionToken" => serde_json::from_value::<ServerlessFunctionToken>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "ServerlessFunctionCron" => serde_json::from_value::<ServerlessFunctionCron>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "ServerlessFunctionTrigger" => serde_json::from_value::<ServerlessFunctionTrigger>(doc)
                .map(|o| validate_cel(&o).map_err(|e| format!("{e:?}"))),
            "Secret" | "ConfigMap" => Ok(Ok(())),
            other => panic!("{file}: unexpected kind {other}"),
        };
        match result {
            Ok(Ok(())) => kinds.push(kind),
            Ok(Err(rules)) => panic!("{file}: {kind} breaks a CRD rule: {rules}"),
            Err(error) => panic!("{file}: {kind} does not parse: {error}"),
        }
    }
    for kind in [
        "ServerlessNamespace",
        "ServerlessContainer",
        "ServerlessTrigger",
        "ServerlessDomain",
        "ServerlessFunction",
        "ServerlessFunctionToken",
        "ServerlessFunctionCron",
        "ServerlessFunctionTrigger",
        "Secret",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "examples/ has no {kind}");
    }
}
