//! Links the release binary with the functions a run of the operator executes laid out first,
//! in the order of `link/symbol-order.txt` (written by `scripts/update-symbol-order.sh`).
//!
//! The kernel maps a binary's code 64 KiB at a time around each page fault, so code in use
//! that is spread over the whole text keeps most of the text resident: 16 of its 22 MB at
//! N = 1,000, of which about 4.5 MB is code that runs. Laid out together, that code takes
//! a few MiB (README, Performance: "The binary's pages").
//!
//! Only where the linker takes `--symbol-ordering-file` (LLD, as rustc uses on
//! `x86_64-unknown-linux-gnu` since Rust 1.90): a probe links an empty program with the flag,
//! the same rustc, target, linker and flags first. Elsewhere (GNU ld) the binary
//! links in the default order, and the build says so. Symbols the file names that the
//! binary lacks (after a change of code, dependency or compiler) are skipped; their functions
//! go back to the default layout (`bash scripts/update-symbol-order.sh --check` counts them).

use std::path::Path;
use std::process::{Command, Stdio};

const ORDER_FILE: &str = "link/symbol-order.txt";

fn main() {
    println!("cargo::rerun-if-changed={ORDER_FILE}");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        return;
    }
    let (Some(manifest_dir), Some(out_dir)) = (
        std::env::var_os("CARGO_MANIFEST_DIR"),
        std::env::var_os("OUT_DIR"),
    ) else {
        return;
    };
    let order = Path::new(&manifest_dir).join(ORDER_FILE);
    if !order.is_file() {
        return;
    }
    let flags = [
        format!("-Wl,--symbol-ordering-file={}", order.display()),
        "-Wl,--no-warn-symbol-ordering".to_owned(),
    ];
    if !linker_takes(&flags, Path::new(&out_dir)) {
        println!(
            "cargo::warning=the linker does not take --symbol-ordering-file: the binary is linked in the default order (README, Performance)"
        );
        return;
    }
    for flag in flags {
        println!("cargo::rustc-link-arg-bin=scaleway-serverless-operator={flag}");
    }
}

/// Whether an empty program links with `flags`, built as this crate's binary will be.
fn linker_takes(flags: &[String], out_dir: &Path) -> bool {
    let Some(rustc) = std::env::var_os("RUSTC") else {
        return false;
    };
    let source = out_dir.join("link_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut command = Command::new(rustc);
    command
        .arg("--crate-name=link_probe")
        .arg("--edition=2021")
        .arg(&source)
        .arg("-o")
        .arg(out_dir.join("link_probe"));
    if let Ok(target) = std::env::var("TARGET") {
        command.arg(format!("--target={target}"));
    }
    // Cargo passes the configured linker (`target.<triple>.linker`) here.
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        command.arg(format!("-Clinker={linker}"));
    }
    if let Ok(encoded) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        command.args(encoded.split('\x1f').filter(|flag| !flag.is_empty()));
    }
    command
        .args(flags.iter().map(|flag| format!("-Clink-arg={flag}")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
