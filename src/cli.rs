//! Command-line interface: one binary, one subcommand per job.

use std::net::SocketAddr;

use clap::{Parser, Subcommand, ValueEnum};

/// Kubernetes operator for Scaleway Serverless Containers.
#[derive(Debug, Parser)]
#[command(name = "scaleway-serverless-operator", version, about)]
pub struct Cli {
    /// Log output format.
    #[arg(long, global = true, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, in `RUST_LOG` syntax (e.g. `info,scaleway_serverless_operator=debug`).
    #[arg(long, global = true, env = "RUST_LOG", default_value = "info")]
    pub log_level: String,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controllers against the cluster of the current kubeconfig (or in-cluster).
    Run(RunArgs),
    /// Measure convergence time, API calls and memory for N objects (operator as a child
    /// process against the emulator and an in-memory Kubernetes API).
    Bench(BenchArgs),
    /// Print the CRDs as YAML (what `crds/` holds).
    Crd {
        /// Print the Markdown field reference instead (docs/crd-reference.md).
        #[arg(long)]
        reference: bool,
    },
    /// Run the Scaleway Serverless Containers API v1 emulator on loopback (for tests and demos).
    Emulator(EmulatorArgs),
    /// Run the whole operator on this machine for tests and demos: the Scaleway emulator, a
    /// loopback Kubernetes-compatible API server and the controllers; writes a kubeconfig.
    Sandbox(crate::sandbox::SandboxArgs),
}

/// Flags of `run`. Scaleway credentials come from `SCW_SECRET_KEY` (and `SCW_ACCESS_KEY`,
/// `SCW_DEFAULT_PROJECT_ID`), or the scw config file; never from a flag value.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Region used when a spec names none (fr-par, nl-ams, pl-waw).
    #[arg(long, env = "SCW_DEFAULT_REGION", default_value = "fr-par")]
    pub region: String,
    /// Scaleway API base URL.
    #[arg(long, env = "SCW_API_URL", default_value = crate::scaleway::DEFAULT_API_URL)]
    pub api_url: String,
    /// Project new namespaces go to when neither the spec nor a credentials Secret names one.
    #[arg(long, env = "SCW_DEFAULT_PROJECT_ID")]
    pub default_project_id: Option<String>,
    /// How often every object is compared with Scaleway again, e.g. 5m.
    #[arg(long, env = "RESYNC_PERIOD", default_value = "5m", value_parser = parse_duration)]
    pub resync_period: std::time::Duration,
    /// Resync period of one kind, overriding --resync-period: KIND=DURATION, e.g.
    /// ServerlessTrigger=30m (repeat the flag, or separate with commas). An object's
    /// `serverless.scaleway.com/resync-period` annotation overrides both, bounded to
    /// [30s, 24h].
    #[arg(long, env = "KIND_RESYNC_PERIODS", value_delimiter = ',', value_parser = parse_kind_duration)]
    pub kind_resync_period: Vec<(String, std::time::Duration)>,
    /// Deletion policy of objects whose spec and Kubernetes Namespace
    /// (`serverless.scaleway.com/deletion-policy` annotation) leave it unset.
    #[arg(long, env = "DEFAULT_DELETION_POLICY", default_value = "Delete", value_parser = parse_deletion_policy)]
    pub default_deletion_policy: crate::crd::DeletionPolicy,
    /// Requests per second to Scaleway, for the whole operator (every controller and every
    /// credentials Secret); halved on a 429, held until its Retry-After, recovered
    /// gradually. 0 = unlimited.
    #[arg(long, env = "SCALEWAY_RATE_LIMIT", default_value_t = 20.0, value_parser = parse_rate)]
    pub scaleway_rate_limit: f64,
    /// Requests that may leave at once before --scaleway-rate-limit spaces them.
    #[arg(long, env = "SCALEWAY_BURST", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    pub scaleway_burst: u32,
    /// Watch only this Kubernetes namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Reconciles running at once, per kind.
    #[arg(long, env = "CONCURRENCY", default_value_t = 32)]
    pub concurrency: u16,
    /// Address of the admin server: /metrics, /healthz, /readyz.
    #[arg(long, env = "ADMIN_LISTEN", default_value = "0.0.0.0:8080")]
    pub admin_listen: SocketAddr,
    /// Run controllers only while holding a coordination.k8s.io Lease (for several replicas).
    #[arg(long, env = "LEADER_ELECT", default_value_t = false, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Name of the leader Lease.
    #[arg(
        long,
        env = "LEASE_NAME",
        default_value = "scaleway-serverless-operator"
    )]
    pub lease_name: String,
    /// Namespace of the leader Lease (the operator's own; the chart sets it from the pod).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// This replica's identity in the Lease (the chart sets it to the pod name).
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::crd::units::duration("resync-period", text).map_err(|e| e.to_string())
}

/// The kinds whose resync period can be set on their own.
const KINDS: [&str; 8] = [
    "ServerlessNamespace",
    "ServerlessContainer",
    "ServerlessTrigger",
    "ServerlessDomain",
    "ServerlessFunction",
    "ServerlessFunctionToken",
    "ServerlessFunctionCron",
    "ServerlessFunctionTrigger",
];

fn parse_kind_duration(text: &str) -> Result<(String, std::time::Duration), String> {
    let (kind, duration) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=DURATION, got {text:?}"))?;
    let kind = kind.trim();
    if !KINDS.contains(&kind) {
        return Err(format!(
            "unknown kind {kind:?}: one of {}",
            KINDS.join(", ")
        ));
    }
    Ok((kind.to_owned(), parse_duration(duration.trim())?))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "expected requests per second, a number >= 0 (0 = unlimited), got {text:?}"
        )),
    }
}

fn parse_deletion_policy(text: &str) -> Result<crate::crd::DeletionPolicy, String> {
    match text {
        "Delete" => Ok(crate::crd::DeletionPolicy::Delete),
        "Orphan" => Ok(crate::crd::DeletionPolicy::Orphan),
        _ => Err(format!("expected Delete or Orphan, got {text:?}")),
    }
}

/// Flags of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// ServerlessContainers to converge.
    #[arg(long, default_value_t = 100)]
    pub objects: usize,
    /// ServerlessNamespaces to spread them over (default: one per 100 containers).
    #[arg(long)]
    pub namespaces: Option<usize>,
    /// The emulator's life-cycle delay (creating → ready), in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub transition_delay_ms: u64,
    /// The operator's resync period during the run, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub resync_period: std::time::Duration,
    /// Resync periods to observe the steady state for.
    #[arg(long, default_value_t = 2)]
    pub steady_periods: u32,
    /// Give up when not converged after this long, e.g. 10m.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// How the fleet is written to Kubernetes: create (the manifest only),
    /// client-side-apply (as `kubectl apply` and Argo CD: plus the last-applied annotation) or
    /// server-side-apply (as `kubectl apply --server-side` and Flux: plus managedFields).
    #[arg(long, value_enum, default_value_t)]
    pub apply_with: crate::bench::ApplyWith,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Soak instead: churn of containers and functions (updates, deletes, creates), Scaleway
    /// fault windows and operator kills for this long, e.g. 2m; then check that nothing
    /// leaked, was duplicated or lost (the exit status is 1 if anything was).
    #[arg(long, value_parser = parse_duration)]
    pub soak: Option<std::time::Duration>,
    /// Seed of the soak's random schedule.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Flags of `emulator`.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on. Port 0 picks a free port; the address is printed on stdout.
    #[arg(long, env = "EMULATOR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seed of the fault-injection random generator (same seed, same faults).
    #[arg(long, env = "EMULATOR_SEED", default_value_t = 0)]
    pub seed: u64,
    /// Time a resource spends in `creating` / `updating` before it settles.
    #[arg(long, env = "EMULATOR_TRANSITION_DELAY_MS", default_value_t = 2000)]
    pub transition_delay_ms: u64,
    /// Time a resource spends in `deleting` before it is gone.
    #[arg(long, env = "EMULATOR_DELETE_DELAY_MS", default_value_t = 2000)]
    pub delete_delay_ms: u64,
    /// Accept only these secret keys (comma-separated); by default any non-empty token is
    /// accepted. Read from the environment, not the command line, to keep keys out of `ps`.
    #[arg(
        long,
        env = "EMULATOR_CREDENTIALS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub credentials: Vec<String>,
    /// An image reference containing this text fails to pull and ends in `error` (repeatable;
    /// replaces the defaults).
    #[arg(
        long = "failing-image",
        env = "EMULATOR_FAILING_IMAGES",
        value_delimiter = ','
    )]
    pub failing_images: Vec<String>,
    /// Added latency per request, in milliseconds.
    #[arg(long, env = "EMULATOR_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests (0..1) answered with a 5xx.
    #[arg(long, env = "EMULATOR_SERVER_ERROR_RATE", default_value_t = 0.0)]
    pub server_error_rate: f64,
    /// Fraction of requests (0..1) answered with 429 and `Retry-After`.
    #[arg(long, env = "EMULATOR_RATE_LIMIT_RATE", default_value_t = 0.0)]
    pub rate_limit_rate: f64,
    /// `Retry-After` seconds sent with a 429.
    #[arg(long, env = "EMULATOR_RETRY_AFTER_SECONDS", default_value_t = 1)]
    pub retry_after_seconds: u64,
    /// Organization quota of containers (creating more answers 403 quotas_exceeded).
    #[arg(long, env = "EMULATOR_CONTAINER_QUOTA")]
    pub container_quota: Option<usize>,
    /// Fraction of requests (0..1) whose connection is dropped without an answer.
    #[arg(long, env = "EMULATOR_DROP_RATE", default_value_t = 0.0)]
    pub drop_rate: f64,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_flags_parse_durations() {
        let cli = Cli::try_parse_from([
            "scaleway-serverless-operator",
            "run",
            "--resync-period",
            "90s",
        ]);
        let Ok(Cli {
            command: Command::Run(args),
            ..
        }) = cli
        else {
            panic!("run flags did not parse: {cli:?}");
        };
        assert_eq!(args.resync_period, std::time::Duration::from_secs(90));
        assert_eq!(
            args.default_deletion_policy,
            crate::crd::DeletionPolicy::Delete
        );
        assert_eq!(
            (args.scaleway_rate_limit, args.scaleway_burst),
            (20.0, 40),
            "rate limit defaults"
        );
        for (rate, burst, expected) in [("2.5", "5", (2.5, 5)), ("0", "1", (0.0, 1))] {
            let limited = Cli::try_parse_from([
                "scaleway-serverless-operator",
                "run",
                "--scaleway-rate-limit",
                rate,
                "--scaleway-burst",
                burst,
            ]);
            let Ok(Cli {
                command: Command::Run(limited),
                ..
            }) = limited
            else {
                panic!("rate limit flags did not parse: {limited:?}");
            };
            assert_eq!(
                (limited.scaleway_rate_limit, limited.scaleway_burst),
                expected
            );
        }
        let layered = Cli::try_parse_from([
            "scaleway-serverless-operator",
            "run",
            "--kind-resync-period",
            "ServerlessTrigger=30m,ServerlessContainer=2m",
            "--default-deletion-policy",
            "Orphan",
        ]);
        let Ok(Cli {
            command: Command::Run(layered),
            ..
        }) = layered
        else {
            panic!("layered flags did not parse: {layered:?}");
        };
        assert_eq!(
            layered.kind_resync_period,
            [
                (
                    "ServerlessTrigger".to_owned(),
                    std::time::Duration::from_secs(1800)
                ),
                (
                    "ServerlessContainer".to_owned(),
                    std::time::Duration::from_secs(120)
                ),
            ]
        );
        assert_eq!(
            layered.default_deletion_policy,
            crate::crd::DeletionPolicy::Orphan
        );
        for bad in [
            ["--kind-resync-period", "ServerlessThing=1m"],
            ["--kind-resync-period", "ServerlessTrigger"],
            ["--default-deletion-policy", "Keep"],
            ["--scaleway-rate-limit", "fast"],
            ["--scaleway-rate-limit", "-1"],
            ["--scaleway-rate-limit", "NaN"],
            ["--scaleway-burst", "0"],
        ] {
            assert!(
                Cli::try_parse_from(["scaleway-serverless-operator", "run", bad[0], bad[1]])
                    .is_err(),
                "{bad:?} must be refused"
            );
        }
        assert!(
            Cli::try_parse_from([
                "scaleway-serverless-operator",
                "run",
                "--resync-period",
                "soon"
            ])
            .is_err()
        );
        let elected = Cli::try_parse_from([
            "scaleway-serverless-operator",
            "run",
            "--leader-elect",
            "true",
        ]);
        assert!(matches!(
            elected,
            Ok(Cli {
                command: Command::Run(RunArgs {
                    leader_elect: true,
                    ..
                }),
                ..
            })
        ));
    }

    #[test]
    fn emulator_flags_parse() {
        let cli = Cli::try_parse_from([
            "scaleway-serverless-operator",
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--failing-image",
            "bad,worse",
            "--transition-delay-ms",
            "10",
        ]);
        let Ok(Cli {
            command: Command::Emulator(args),
            ..
        }) = cli
        else {
            panic!("emulator flags did not parse: {cli:?}");
        };
        assert_eq!(args.listen.port(), 0);
        assert_eq!(args.failing_images, ["bad", "worse"]);
        assert_eq!(args.transition_delay_ms, 10);
    }
}
