use std::process::ExitCode;

use clap::Parser;
use scaleway_serverless_operator::bench::{self, BenchConfig};
use scaleway_serverless_operator::cli::{BenchArgs, Cli, Command};
use scaleway_serverless_operator::{
    crd, emulator_cmd, install_crypto_provider, run_cmd, sandbox, telemetry,
};

/// jemalloc: a smaller resident set than with glibc's malloc (README, Performance).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log_level);
    install_crypto_provider();
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args).await.map_err(|e| error_chain(&e)),
        Command::Bench(args) => run_bench(args).await,
        Command::Crd { reference: false } => print_crds(),
        Command::Crd { reference: true } => {
            print!("{}", crd::reference::markdown(&crd::all_crds()));
            Ok(())
        }
        Command::Emulator(args) => emulator_cmd::run(args).await.map_err(|e| e.to_string()),
        Command::Sandbox(args) => sandbox::run::run(args).await.map_err(|e| error_chain(&e)),
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
async fn run_soak(args: BenchArgs, duration: std::time::Duration) -> Result<(), String> {
    let config = bench::soak::SoakConfig {
        objects: args.objects,
        namespaces: args.namespaces.unwrap_or(args.objects.div_ceil(100)).max(1),
        duration,
        transition_delay: std::time::Duration::from_millis(args.transition_delay_ms),
        resync_period: args.resync_period,
        seed: args.seed,
        timeout: args.timeout,
        apply_with: args.apply_with,
    };
    let report = bench::soak::run(config)
        .await
        .map_err(|e| error_chain(&e))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", report.table());
    }
    if report.passed() {
        Ok(())
    } else {
        Err("the soak found leaked, duplicated, missing or unconverged objects".into())
    }
}

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

async fn run_bench(args: BenchArgs) -> Result<(), String> {
    if let Some(duration) = args.soak {
        return run_soak(args, duration).await;
    }
    let config = BenchConfig {
        objects: args.objects,
        namespaces: args.namespaces.unwrap_or(args.objects.div_ceil(100)).max(1),
        transition_delay: std::time::Duration::from_millis(args.transition_delay_ms),
        resync_period: args.resync_period,
        steady_periods: args.steady_periods,
        timeout: args.timeout,
        apply_with: args.apply_with,
    };
    let report = bench::run(config).await.map_err(|e| error_chain(&e))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
