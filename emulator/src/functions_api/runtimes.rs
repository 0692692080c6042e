//! The runtime catalogue (`GET .../runtimes`) and runtime checks.
//!
//! Seed 002 lists 35 runtime names and nothing about their life cycle; the statuses below are
//! this emulator's choice (old language versions past their end of life, current ones
//! available). The official Python SDK 2.12.0 knows seven newer names (`node24`, `node26`,
//! `go125`, `go126`, `php85`, `python314`, `rust196`), which the live API already returns:
//! they are served too. A runtime at `end_of_life` cannot be set on a function.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::wire::Runtime;
use crate::api::check_region;
use crate::emulator::Emulator;
use crate::error::ApiError;

/// One catalogue entry: name, language, version, status.
struct Entry(&'static str, &'static str, &'static str, &'static str);

const CATALOGUE: &[Entry] = &[
    Entry("golang", "Go", "1.x", "end_of_life"),
    Entry("python", "Python", "2.7", "end_of_life"),
    Entry("python3", "Python", "3.x", "end_of_life"),
    Entry("node8", "Node.js", "8", "end_of_life"),
    Entry("node10", "Node.js", "10", "end_of_life"),
    Entry("node14", "Node.js", "14", "end_of_life"),
    Entry("node16", "Node.js", "16", "end_of_support"),
    Entry("node17", "Node.js", "17", "end_of_life"),
    Entry("python37", "Python", "3.7", "end_of_life"),
    Entry("python38", "Python", "3.8", "end_of_support"),
    Entry("python39", "Python", "3.9", "deprecated"),
    Entry("python310", "Python", "3.10", "available"),
    Entry("go113", "Go", "1.13", "end_of_life"),
    Entry("go117", "Go", "1.17", "end_of_life"),
    Entry("go118", "Go", "1.18", "end_of_support"),
    Entry("node18", "Node.js", "18", "deprecated"),
    Entry("rust165", "Rust", "1.65", "end_of_support"),
    Entry("go119", "Go", "1.19", "end_of_support"),
    Entry("python311", "Python", "3.11", "available"),
    Entry("php82", "PHP", "8.2", "available"),
    Entry("node19", "Node.js", "19", "end_of_life"),
    Entry("go120", "Go", "1.20", "deprecated"),
    Entry("node20", "Node.js", "20", "available"),
    Entry("go121", "Go", "1.21", "deprecated"),
    Entry("node22", "Node.js", "22", "available"),
    Entry("python312", "Python", "3.12", "available"),
    Entry("php83", "PHP", "8.3", "available"),
    Entry("go122", "Go", "1.22", "available"),
    Entry("rust179", "Rust", "1.79", "available"),
    Entry("go123", "Go", "1.23", "available"),
    Entry("go124", "Go", "1.24", "available"),
    Entry("python313", "Python", "3.13", "available"),
    Entry("rust185", "Rust", "1.85", "available"),
    Entry("php84", "PHP", "8.4", "available"),
    Entry("node24", "Node.js", "24", "available"),
    Entry("node26", "Node.js", "26", "beta"),
    Entry("go125", "Go", "1.25", "available"),
    Entry("go126", "Go", "1.26", "beta"),
    Entry("php85", "PHP", "8.5", "beta"),
    Entry("python314", "Python", "3.14", "beta"),
    Entry("rust196", "Rust", "1.96", "beta"),
];

/// What a function needs to know of its runtime.
pub(crate) struct RuntimeInfo {
    /// Handler used when a function sets none.
    pub default_handler: &'static str,
    /// `end_of_life` runtimes cannot be set.
    pub usable: bool,
}

fn language_defaults(language: &str) -> (&'static str, &'static str, &'static str) {
    // (default handler, file extension, code sample)
    match language {
        "Go" => (".", ".go", "package main\n\nfunc Handle() {}\n"),
        "Rust" => (".", ".rs", "pub async fn handler() {}\n"),
        "PHP" => ("handler.handle", ".php", "<?php function handle() {}\n"),
        "Python" => (
            "handler.handle",
            ".py",
            "def handle(event, context):\n    return {}\n",
        ),
        _ => (
            "handler.handle",
            ".js",
            "module.exports.handle = (event, context, callback) => {};\n",
        ),
    }
}

/// The runtime named `name`, if the catalogue has it.
pub(crate) fn find(name: &str) -> Option<RuntimeInfo> {
    CATALOGUE
        .iter()
        .find(|entry| entry.0 == name)
        .map(|entry| RuntimeInfo {
            default_handler: language_defaults(entry.1).0,
            usable: entry.3 != "end_of_life",
        })
}

/// Names of the runtimes a function may use, for error messages.
pub(crate) fn usable_names() -> String {
    CATALOGUE
        .iter()
        .filter(|entry| entry.3 != "end_of_life")
        .map(|entry| entry.0)
        .collect::<Vec<_>>()
        .join(", ")
}

/// ListFunctionRuntimes: the whole catalogue, not paginated.
pub(crate) async fn list(
    State(_emulator): State<Emulator>,
    Path(region): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_region(&region)?;
    let runtimes: Vec<Runtime> = CATALOGUE
        .iter()
        .map(|Entry(name, language, version, status)| {
            let (default_handler, extension, code_sample) = language_defaults(language);
            Runtime {
                name,
                language,
                version,
                default_handler,
                code_sample,
                status,
                status_message: "",
                extension,
                implementation: language,
                logo_url: "",
            }
        })
        .collect();
    Ok(Json(
        json!({ "runtimes": runtimes, "total_count": runtimes.len() }),
    ))
}
