//! A loopback emulator of the Scaleway Serverless Containers API v1, for tests and demos.
//!
//! It speaks the 22 operations of the spec under `/containers/v1/regions/{region}/...` with
//! the exact wire format of the official SDKs, keeps its state in memory, runs resource life
//! cycles on configurable delays, injects deterministic faults, and exposes an admin API under
//! `/__emulator/`. It is an independent witness of the wire format: it shares no types with
//! any client. `README.md` lists what it imitates and the choices made where the spec is
//! silent.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use scaleway_emulator::{Emulator, EmulatorConfig};
//! let running = Emulator::start(EmulatorConfig::default()).await?;
//! println!("API at {}", running.url());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin;
mod api;
mod config;
mod emulator;
mod error;
mod faults;
mod functions_api;
mod ids;
mod limits;
mod middleware;
mod secret;
mod server;
mod store;
mod validate;
mod wire;

pub use config::{DEFAULT_ORGANIZATION_ID, EmulatorConfig, Faults};
pub use emulator::{Emulator, RunningEmulator};
