//! Logging setup: `tracing` to stderr, as text or JSON, filtered like `RUST_LOG`.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. An invalid filter falls back to `info` with a warning.
pub fn init(format: LogFormat, filter: &str) {
    let (filter, bad_filter) = match EnvFilter::try_new(filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if installed.is_err() {
        return;
    }
    if let Some(error) = bad_filter {
        tracing::warn!(%error, "invalid log filter, using info");
    }
}
