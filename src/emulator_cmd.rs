//! `emulator`: the Scaleway emulator as a standalone server.

use std::time::Duration;

use scaleway_emulator::{Emulator, EmulatorConfig, Faults};

use crate::cli::EmulatorArgs;

/// Runs the emulator until interrupted. Prints `scaleway emulator listening on URL` once the
/// socket is bound, so scripts and tests can wait for it.
pub async fn run(args: EmulatorArgs) -> std::io::Result<()> {
    let defaults = EmulatorConfig::default();
    let config = EmulatorConfig {
        seed: args.seed,
        transition_delay: Duration::from_millis(args.transition_delay_ms),
        delete_delay: Duration::from_millis(args.delete_delay_ms),
        credentials: (!args.credentials.is_empty()).then_some(args.credentials),
        failing_image_substrings: if args.failing_images.is_empty() {
            defaults.failing_image_substrings.clone()
        } else {
            args.failing_images
        },
        faults: Faults {
            latency_ms: args.latency_ms,
            server_error_rate: args.server_error_rate,
            rate_limit_rate: args.rate_limit_rate,
            retry_after_seconds: args.retry_after_seconds,
            drop_rate: args.drop_rate,
            ..Faults::default()
        },
        container_quota: args.container_quota,
        ..defaults
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    println!("scaleway emulator listening on http://{addr}");
    tracing::info!(%addr, "scaleway emulator started");
    let emulator = Emulator::new(config);
    tokio::select! {
        served = emulator.serve(listener) => served,
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("interrupted, stopping");
            Ok(())
        }
    }
}
