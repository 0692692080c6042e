//! Local stand-ins for the parts of a Kubernetes cluster the operator talks to.
//!
//! [`apiserver`] is an in-memory, Kubernetes-compatible API server served over loopback HTTP.
//! Real kube-runtime controllers run against it unchanged, which is what the controller-flow
//! tests and the local sandbox need.

pub mod apiserver;
