//! Links the release binary with the functions a run of the operator executes laid out first,
//! in the order of `link/symbol-order.txt` (written by `scripts/update-symbol-order.sh`).
//!
//! The kernel maps a binary's code 64 KiB at a time around each page fault, so code in use
//! that is spread over the whole text keeps most of the text resident: 16 of its 22 MB at
//! N = 1,000, of which about 4.5 MB is code that runs. Laid out together, that code takes
//! a few MiB (README, Performance: "The binary's pages").
//!
//! Only where the linker is LLD, which reads `--symbol-ordering-file`: rustc's own for
//! `x86_64-unknown-linux-gnu` since Rust 1.90, unless the build names another linker. Other
//! builds link as before. Symbols that the file names and the binary lacks (after a change of
//! code, dependency or compiler) are skipped; their functions go back to the default layout.

use std::path::Path;
use std::process::Command;

const ORDER_FILE: &str = "link/symbol-order.txt";

fn main() {
    println!("cargo::rerun-if-changed={ORDER_FILE}");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = Path::new(&manifest_dir).join(ORDER_FILE);
    if !order.is_file() || !links_with_rust_lld() {
        return;
    }
    println!(
        "cargo::rustc-link-arg-bin=scaleway-serverless-operator=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!(
        "cargo::rustc-link-arg-bin=scaleway-serverless-operator=-Wl,--no-warn-symbol-ordering"
    );
}

/// Whether this is a release build for `x86_64-unknown-linux-gnu` by a rustc that links with
/// its own LLD there (1.90 or later), with no other linker configured.
fn links_with_rust_lld() -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("PROFILE") != "release" || var("TARGET") != "x86_64-unknown-linux-gnu" {
        return false;
    }
    // Cargo sets RUSTC_LINKER when `target.<triple>.linker` is configured.
    if std::env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    if ["linker", "fuse-ld", "link-self-contained"]
        .iter()
        .any(|flag| flags.contains(flag))
    {
        return false;
    }
    rustc_minor_version().is_some_and(|minor| minor >= 90)
}

/// The minor version of the rustc that cargo runs (`1.95.0` gives 95).
fn rustc_minor_version() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC")?;
    let output = Command::new(rustc).arg("-vV").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let release = text
        .lines()
        .find_map(|line| line.strip_prefix("release: "))?;
    let mut parts = release.split('.');
    if parts.next()? != "1" {
        return None;
    }
    parts.next()?.parse().ok()
}
