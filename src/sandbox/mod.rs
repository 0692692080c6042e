//! Local stand-ins for the parts of a Kubernetes cluster the operator talks to, and the
//! `sandbox` subcommand that runs the whole operator on one machine.
//!
//! [`apiserver`] is an in-memory, Kubernetes-compatible API server served over loopback HTTP.
//! Real kube-runtime controllers and the real `kubectl` run against it unchanged, which is
//! what the controller-flow tests, the end-to-end suite and the sandbox need. [`run`] wires it
//! to the Scaleway emulator and the controllers.

pub mod apiserver;
pub mod kubeconfig;
pub mod run;

pub use run::{Sandbox, SandboxArgs, SandboxConfig, SandboxError};

/// An error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
