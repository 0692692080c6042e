//! Runs the emulator on a loopback port, like the operator's `emulator` subcommand.
//!
//! `cargo run -p scaleway-emulator --example serve -- --listen 127.0.0.1:0 --transition-delay-ms 200`
//!
//! Flags: `--listen ADDR`, `--seed N`, `--transition-delay-ms MS`, `--delete-delay-ms MS`,
//! `--credentials TOKEN[,TOKEN...]`, `--failing-image SUBSTRING` (repeatable). Prints
//! `scaleway emulator listening on http://ADDR` once bound.

use std::process::ExitCode;
use std::time::Duration;

use scaleway_emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut config = EmulatorConfig::default();
    let mut listen = String::from("127.0.0.1:0");
    let mut failing_images = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--seed" => config.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--transition-delay-ms" => config.transition_delay = millis(&value()?)?,
            "--delete-delay-ms" => config.delete_delay = millis(&value()?)?,
            "--credentials" => {
                config.credentials = Some(value()?.split(',').map(str::to_owned).collect());
            }
            "--failing-image" => failing_images.push(value()?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !failing_images.is_empty() {
        config.failing_image_substrings = failing_images;
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("scaleway emulator listening on http://{addr}");
    Emulator::new(config)
        .serve(listener)
        .await
        .map_err(|e| e.to_string())
}

fn millis(text: &str) -> Result<Duration, String> {
    text.parse()
        .map(Duration::from_millis)
        .map_err(|e| format!("{text:?}: {e}"))
}
