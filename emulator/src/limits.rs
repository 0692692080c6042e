//! Every bound and server default the emulator enforces, in one place.
//!
//! The Containers v1 spec states no min/max for any field (it delegates to the "Containers
//! Limitation documentation") and no server defaults except "new containers are public". The
//! values below are this emulator's documented choices, close to what Scaleway publishes for
//! Serverless Containers; `README.md` repeats them in a table.

use std::ops::RangeInclusive;

/// Regions accepted in the `{region}` path segment (the enum of the spec).
pub const REGIONS: [&str; 3] = ["fr-par", "nl-ams", "pl-waw"];

/// Longest namespace, container or trigger name. Names are 1 to 63 characters: lowercase
/// letters, digits and `-`, starting with a letter and not ending with `-` (a DNS label, which
/// is what the public endpoint hostname embeds).
pub const NAME_MAX_LEN: usize = 63;
/// Longest custom domain hostname (RFC 1035).
pub const HOSTNAME_MAX_LEN: usize = 253;

/// Default page size of every list.
pub const PAGE_SIZE_DEFAULT: u32 = 20;
/// Largest accepted `page_size`; larger values are rejected with 400 `invalid_arguments`
/// rather than silently capped, so a client that relies on a bigger page notices.
pub const PAGE_SIZE_MAX: u32 = 100;

/// `min_scale` bounds (instances).
pub const MIN_SCALE: RangeInclusive<u32> = 0..=50;
/// `max_scale` bounds (instances).
pub const MAX_SCALE: RangeInclusive<u32> = 1..=50;
/// `memory_limit_bytes` bounds: 128 MiB to 4 GiB.
pub const MEMORY_LIMIT_BYTES: RangeInclusive<u64> = 128 * MIB..=4 * GIB;
/// `mvcpu_limit` bounds (milli-vCPU): 70 to 6000.
pub const MVCPU_LIMIT: RangeInclusive<u32> = 70..=6000;
/// `local_storage_limit_bytes` bounds: 100 MB to 50 GB.
pub const LOCAL_STORAGE_LIMIT_BYTES: RangeInclusive<u64> = 100_000_000..=50_000_000_000;
/// `port` bounds.
pub const PORT: RangeInclusive<u32> = 1..=65535;
/// `timeout` bounds in seconds (1 s to 15 min).
pub const TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=900;
/// Probe `interval` and `timeout` bounds in seconds.
pub const PROBE_DURATION_SECONDS: RangeInclusive<u64> = 1..=300;
/// Probe `failure_threshold` bounds.
pub const PROBE_FAILURE_THRESHOLD: RangeInclusive<u32> = 1..=100;
/// `scaling_option.concurrent_requests_threshold` bounds.
pub const CONCURRENT_REQUESTS_THRESHOLD: RangeInclusive<u32> = 1..=1000;
/// `scaling_option.cpu_usage_threshold` / `memory_usage_threshold` bounds (percent).
pub const USAGE_THRESHOLD_PERCENT: RangeInclusive<u32> = 1..=100;
/// Most entries in one `environment_variables` or `secret_environment_variables` map.
pub const ENV_VARS_MAX: usize = 100;
/// Longest environment variable name.
pub const ENV_KEY_MAX_LEN: usize = 255;

/// Server default `min_scale`.
pub const DEFAULT_MIN_SCALE: u32 = 0;
/// Server default `max_scale`.
pub const DEFAULT_MAX_SCALE: u32 = 5;
/// Server default `memory_limit_bytes` (2 GiB).
pub const DEFAULT_MEMORY_LIMIT_BYTES: u64 = 2 * GIB;
/// Server default `mvcpu_limit` (1 vCPU).
pub const DEFAULT_MVCPU_LIMIT: u32 = 1000;
/// Server default `local_storage_limit_bytes` (1 GB).
pub const DEFAULT_LOCAL_STORAGE_LIMIT_BYTES: u64 = 1_000_000_000;
/// Server default `timeout` in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
/// Server default `port`.
pub const DEFAULT_PORT: u32 = 8080;
/// Server default `scaling_option.concurrent_requests_threshold`.
pub const DEFAULT_CONCURRENT_REQUESTS_THRESHOLD: u32 = 50;
/// Server default probe `interval` in seconds.
pub const DEFAULT_PROBE_INTERVAL_SECONDS: u64 = 10;
/// Server default probe `timeout` in seconds.
pub const DEFAULT_PROBE_TIMEOUT_SECONDS: u64 = 1;
/// Server default liveness probe `failure_threshold`.
pub const DEFAULT_LIVENESS_FAILURE_THRESHOLD: u32 = 3;
/// Server default startup probe `failure_threshold`.
pub const DEFAULT_STARTUP_FAILURE_THRESHOLD: u32 = 30;
/// Trigger destination used when a create request carries no `destination_config`.
pub const DEFAULT_TRIGGER_HTTP_PATH: &str = "/";

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Functions v1beta1: accepted `memory_limit` values in MB (the memory/vCPU steps of
/// Scaleway's published table; vCPU follows memory, see `cpu_for_memory`).
pub const FUNCTION_MEMORY_LIMITS_MB: [u32; 7] = [128, 256, 512, 1024, 2048, 3072, 4096];
/// Functions v1beta1: server default `memory_limit` in MB.
pub const DEFAULT_FUNCTION_MEMORY_MB: u32 = 256;
/// Functions v1beta1: server default `max_scale` (seed 002).
pub const DEFAULT_FUNCTION_MAX_SCALE: u32 = 20;
/// Largest function archive (zip) accepted by the upload URL: 100 MiB (Scaleway docs).
pub const ARCHIVE_MAX_BYTES: u64 = 100 * MIB;
/// Lifetime of presigned upload and download URLs, in seconds.
pub const PRESIGNED_URL_TTL_SECONDS: i64 = 3600;
/// Message regions accepted by `mnq_region` of function triggers (seed 002).
pub const MNQ_REGIONS: [&str; 2] = ["fr-par", "nl-ams"];
