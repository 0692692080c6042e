//! Runtimes: the `runtime` enum of a function and the items of ListFunctionRuntimes.

use serde::{Deserialize, Serialize};

use crate::scaleway::types::{null_as_default, string_enum};

string_enum! {
    /// Language runtime of a function: the 35 values of the v1beta1 spec, in its order, then
    /// the ones the Python SDK 2.12.0 adds (the live API already returns some of them). Any
    /// other value is kept in `Unknown`.
    FunctionRuntime {
        /// Not set (`unknown_runtime`).
        UnknownRuntime => "unknown_runtime",
        Golang => "golang",
        Python => "python",
        Python3 => "python3",
        Node8 => "node8",
        Node10 => "node10",
        Node14 => "node14",
        Node16 => "node16",
        Node17 => "node17",
        Python37 => "python37",
        Python38 => "python38",
        Python39 => "python39",
        Python310 => "python310",
        Go113 => "go113",
        Go117 => "go117",
        Go118 => "go118",
        Node18 => "node18",
        Rust165 => "rust165",
        Go119 => "go119",
        Python311 => "python311",
        Php82 => "php82",
        Node19 => "node19",
        Go120 => "go120",
        Node20 => "node20",
        Go121 => "go121",
        Node22 => "node22",
        Python312 => "python312",
        Php83 => "php83",
        Go122 => "go122",
        Rust179 => "rust179",
        Go123 => "go123",
        Go124 => "go124",
        Python313 => "python313",
        Rust185 => "rust185",
        Php84 => "php84",
        /// SDK-only (not in the spec).
        Node24 => "node24",
        /// SDK-only (not in the spec).
        Node26 => "node26",
        /// SDK-only (not in the spec).
        Go125 => "go125",
        /// SDK-only (not in the spec).
        Go126 => "go126",
        /// SDK-only (not in the spec).
        Php85 => "php85",
        /// SDK-only (not in the spec).
        Python314 => "python314",
        /// SDK-only (not in the spec).
        Rust196 => "rust196",
    }
}

string_enum! {
    /// Support status of a runtime (`Runtime.Status`).
    RuntimeStatus {
        /// Not set (`unknown_status`).
        UnknownStatus => "unknown_status",
        Beta => "beta",
        Available => "available",
        Deprecated => "deprecated",
        EndOfSupport => "end_of_support",
        EndOfLife => "end_of_life",
    }
}

/// One runtime offered in a region (an item of ListFunctionRuntimes).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct Runtime {
    /// Runtime name, the value a function's `runtime` takes (`node22`); a string, not a
    /// [`FunctionRuntime`], so that the list shows exactly what the server offers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Language (`Node`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub language: String,
    /// Version (`22`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    /// Handler used when a function sets none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub default_handler: String,
    /// A sample of code.
    #[serde(default, deserialize_with = "null_as_default")]
    pub code_sample: String,
    /// Support status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: RuntimeStatus,
    /// Explanation of the status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status_message: String,
    /// File extension of the sources (`js`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub extension: String,
    /// Implementation (`node`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub implementation: String,
    /// Logo URL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub logo_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_and_sdk_runtimes_round_trip() {
        for wire in [
            "golang", "python3", "node22", "go124", "rust185", "php84", "node24", "rust196",
        ] {
            let runtime = FunctionRuntime::from(wire);
            assert!(!matches!(runtime, FunctionRuntime::Unknown(_)), "{wire}");
            let json = serde_json::to_string(&runtime).unwrap_or_default();
            assert_eq!(json, format!("\"{wire}\""));
            let back: FunctionRuntime = serde_json::from_str(&json).unwrap_or_default();
            assert_eq!(back, runtime);
        }
        let newer: FunctionRuntime = serde_json::from_str("\"zig014\"").unwrap_or_default();
        assert_eq!(newer, FunctionRuntime::Unknown("zig014".into()));
        assert_eq!(newer.as_str(), "zig014");
        assert_eq!(
            serde_json::from_str::<FunctionRuntime>("\"\"").unwrap_or(FunctionRuntime::Go113),
            FunctionRuntime::UnknownRuntime
        );
    }

    #[test]
    fn runtime_items_read_with_unknown_status_and_missing_fields() {
        let runtime: Runtime = serde_json::from_value(serde_json::json!({
            "name": "node22", "language": "Node", "version": "22",
            "default_handler": "handler.handle", "code_sample": "module.exports...",
            "status": "end_of_life", "status_message": null, "extension": "js",
            "implementation": "node", "logo_url": "https://example.invalid/node.png"
        }))
        .unwrap_or_default();
        assert_eq!(runtime.status, RuntimeStatus::EndOfLife);
        assert_eq!(runtime.status_message, "");
        let again: Runtime =
            serde_json::from_value(serde_json::to_value(&runtime).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(again, runtime);
        let sparse: Runtime =
            serde_json::from_str(r#"{"name":"python314","status":"sunset"}"#).unwrap_or_default();
        assert_eq!(sparse.status, RuntimeStatus::Unknown("sunset".into()));
        assert_eq!(sparse.language, "");
    }
}
