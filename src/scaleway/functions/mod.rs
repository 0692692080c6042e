//! Client of the Scaleway Serverless Functions API v1beta1.
//!
//! It shares the transport of the Containers client (auth, retries, rate limit, errors,
//! call accounting): `Client::functions(region)` gives the typed calls of one region, and
//! `types` holds the wire structs exactly as the spec spells them.

mod api;
pub mod routes;
pub mod types;

pub use api::Functions;
