use std::process::ExitCode;

use clap::Parser;
use scaleway_serverless_operator::cli::{Cli, Command};
use scaleway_serverless_operator::{
    crd, emulator_cmd, install_crypto_provider, run_cmd, telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log_level);
    install_crypto_provider();
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args).await.map_err(|e| error_chain(&e)),
        Command::Crd { reference: false } => print_crds(),
        Command::Crd { reference: true } => {
            print!("{}", crd::reference::markdown(&crd::all_crds()));
            Ok(())
        }
        Command::Emulator(args) => emulator_cmd::run(args).await.map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn print_crds() -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for crd in crd::all_crds() {
        let yaml = crd::to_yaml(&crd).map_err(|e| e.to_string())?;
        match writeln!(out, "---\n{yaml}") {
            Ok(()) => {}
            // `crd | head` closes the pipe early: not an error.
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
