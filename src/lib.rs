//! Kubernetes operator for Scaleway Serverless Containers.

pub mod admin;
pub mod bench;
pub mod cli;
pub mod controller;
pub mod crd;
pub mod emulator_cmd;
pub mod lease;
pub mod metrics;
pub mod run_cmd;
pub mod sandbox;
pub mod scaleway;
pub mod shared_str;
pub mod telemetry;

/// Installs the process-wide rustls crypto provider (ring) that kube and reqwest share.
/// Safe to call more than once.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
