//! Start-up configuration of an emulator and the runtime-adjustable fault settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Organization ID reported on namespaces when none is configured.
pub const DEFAULT_ORGANIZATION_ID: &str = "8c3a6f0e-54b2-4d1e-9f7a-2b6c1d0e9a11";

/// How an [`crate::Emulator`] behaves. `Default` gives 2 s transitions, any non-empty token,
/// no faults and the failing-image rule `:fail` / `unpullable`.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Seed of the random generators (resource IDs, endpoint suffixes and fault rolls).
    /// Two emulators with the same seed and the same request sequence behave identically.
    pub seed: u64,
    /// Time a resource spends in `creating` or `updating` before it settles.
    pub transition_delay: Duration,
    /// Time a resource spends in `deleting` before it disappears.
    pub delete_delay: Duration,
    /// Accepted `X-Auth-Token` values. `None` accepts any non-empty token; `Some(list)` answers a
    /// non-empty token outside the list with 403 `permissions_denied`.
    pub credentials: Option<Vec<String>>,
    /// `organization_id` reported on every namespace.
    pub organization_id: String,
    /// A container whose image contains one of these substrings ends in `error` instead of
    /// `ready` after a create, an update or a redeploy.
    pub failing_image_substrings: Vec<String>,
    /// Faults active from the start (can be changed at runtime).
    pub faults: Faults,
    /// Organization quota of containers: creating one more answers 403 `quotas_exceeded`.
    /// `None` (the default) means no quota.
    pub container_quota: Option<usize>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            transition_delay: Duration::from_secs(2),
            delete_delay: Duration::from_secs(2),
            credentials: None,
            organization_id: DEFAULT_ORGANIZATION_ID.to_owned(),
            failing_image_substrings: vec![":fail".to_owned(), "unpullable".to_owned()],
            faults: Faults::default(),
            container_quota: None,
        }
    }
}

/// Fault injection settings, also the JSON body of `GET/PUT /__emulator/faults`.
///
/// A request is *eligible* when its method is in `methods` (if set, case-insensitive) and its
/// path contains `path_contains` (if set). Admin requests are never eligible. For each eligible
/// request one random number in `[0, 1)` is drawn from the seeded generator and compared with
/// the cumulative rates, in this order: `drop_rate`, `server_error_rate`, `rate_limit_rate`
/// (so their sum is the probability of any error fault). `latency_ms` delays every eligible
/// request. A request disturbed in any way (delayed, failed or dropped) consumes one unit of
/// `max_faults`; once `max_faults` units are spent no more faults are injected until the
/// faults are set again. `stuck_transient` ignores the filters and the cap: while it is on,
/// no resource leaves `creating`, `updating` or `deleting`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    /// Added latency for each eligible request, in milliseconds.
    pub latency_ms: u64,
    /// Probability of answering 503 with a Scaleway-shaped body.
    pub server_error_rate: f64,
    /// Probability of answering 429 `too_many_requests` with a `Retry-After` header.
    pub rate_limit_rate: f64,
    /// Value of the `Retry-After` header (seconds) on injected 429 answers.
    pub retry_after_seconds: u64,
    /// Probability of closing the TCP connection without any HTTP response.
    pub drop_rate: f64,
    /// Freeze every pending life-cycle transition while true.
    pub stuck_transient: bool,
    /// Only these HTTP methods are eligible (e.g. `["POST"]`); `None` = all.
    pub methods: Option<Vec<String>>,
    /// Only paths containing this substring are eligible; `None` = all.
    pub path_contains: Option<String>,
    /// Maximum number of disturbed requests; `None` = unlimited.
    pub max_faults: Option<u64>,
}

impl Faults {
    /// The name of the first rate outside `[0, 1]` (or not a number), if any.
    pub(crate) fn invalid_rate(&self) -> Option<&'static str> {
        [
            ("server_error_rate", self.server_error_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("drop_rate", self.drop_rate),
        ]
        .into_iter()
        .find(|(_, rate)| !(0.0..=1.0).contains(rate))
        .map(|(name, _)| name)
    }
}
