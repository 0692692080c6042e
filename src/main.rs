use std::process::ExitCode;

use clap::Parser;
use scaleway_serverless_operator::cli::{Cli, Command};
use scaleway_serverless_operator::{install_crypto_provider, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log_level);
    install_crypto_provider();
    let result = match cli.command {
        Command::Emulator(_args) => Err(String::from("emulator: not wired yet")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
