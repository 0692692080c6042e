//! Client of the Scaleway Serverless Containers API v1 and Functions API v1beta1.
//!
//! `Client` is the transport (auth, retries, errors, accounting); `Client::region` gives the
//! typed Containers calls of one region and `Client::functions` the Functions calls;
//! `types` and `functions::types` hold the wire structs exactly as the specs spell them.

mod api;
mod client;
mod credentials;
mod error;
pub mod functions;
mod rate_limit;
mod secret;
pub mod types;

pub use api::{MAX_PAGE_SIZE, PageRequest, Regional, ServiceInfo};
pub use client::{BuildError, CallStats, Client, ClientConfig, RetryPolicy};
pub use credentials::{Credentials, CredentialsError, DEFAULT_API_URL, REGIONS, check_region};
pub use error::{Error, ErrorClass, InvalidArgument, Route};
pub use functions::Functions;
pub use rate_limit::{DEFAULT_RECOVERY_PERIOD, MAX_PAUSE, MIN_RATE, Permit, RateLimiter};
pub use secret::{REDACTED, SecretString};
