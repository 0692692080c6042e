//! The fault decision engine: which request gets which fault, drawn from a seeded generator.

use std::time::Duration;

use crate::config::Faults;

/// Mixed into the emulator seed so fault rolls and resource IDs use different sequences.
const FAULT_SEED_SALT: u64 = 0x6661_756c_7473_2121;

/// What happens to one request instead of (or before) normal handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultAction {
    /// Normal handling.
    None,
    /// Close the connection without any HTTP response.
    Drop,
    /// 503 with a Scaleway-shaped body.
    ServerError,
    /// 429 with `Retry-After: <seconds>`.
    RateLimit { retry_after_seconds: u64 },
}

/// The decision for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    /// Delay before anything else happens.
    pub latency: Option<Duration>,
    /// What to do after the delay.
    pub action: FaultAction,
}

impl FaultPlan {
    const NONE: Self = Self {
        latency: None,
        action: FaultAction::None,
    };
}

/// Current fault settings, the seeded generator and the number of faults injected so far.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    faults: Faults,
    seed: u64,
    rng: fastrand::Rng,
    injected: u64,
}

impl FaultEngine {
    /// An engine with `faults` active, seeded from the emulator seed.
    pub(crate) fn new(seed: u64, faults: Faults) -> Self {
        let seed = seed ^ FAULT_SEED_SALT;
        Self {
            faults,
            seed,
            rng: fastrand::Rng::with_seed(seed),
            injected: 0,
        }
    }

    /// Replaces the settings. The generator restarts from the seed and the `max_faults`
    /// budget is refilled, so the fault sequence after a `set` only depends on the requests
    /// that follow it.
    pub(crate) fn set(&mut self, faults: Faults) {
        self.faults = faults;
        self.rng = fastrand::Rng::with_seed(self.seed);
        self.injected = 0;
    }

    /// Current settings.
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// True while pending life-cycle transitions must not complete.
    pub(crate) fn frozen(&self) -> bool {
        self.faults.stuck_transient
    }

    /// Decides the fate of one API request.
    pub(crate) fn decide(&mut self, method: &str, path: &str) -> FaultPlan {
        let faults = &self.faults;
        let method_ok = faults
            .methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m.eq_ignore_ascii_case(method)));
        let path_ok = faults
            .path_contains
            .as_ref()
            .is_none_or(|needle| path.contains(needle.as_str()));
        let budget_left = faults.max_faults.is_none_or(|max| self.injected < max);
        if !(method_ok && path_ok && budget_left) {
            return FaultPlan::NONE;
        }
        let roll = self.rng.f64();
        let drop = clamp(faults.drop_rate);
        let server_error = drop + clamp(faults.server_error_rate);
        let rate_limit = server_error + clamp(faults.rate_limit_rate);
        let action = if roll < drop {
            FaultAction::Drop
        } else if roll < server_error {
            FaultAction::ServerError
        } else if roll < rate_limit {
            FaultAction::RateLimit {
                retry_after_seconds: faults.retry_after_seconds,
            }
        } else {
            FaultAction::None
        };
        let latency = (faults.latency_ms > 0).then(|| Duration::from_millis(faults.latency_ms));
        let plan = FaultPlan { latency, action };
        if plan != FaultPlan::NONE {
            self.injected += 1;
        }
        plan
    }
}

fn clamp(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(faults: Faults) -> FaultEngine {
        FaultEngine::new(42, faults)
    }

    #[test]
    fn no_faults_by_default() {
        let mut engine = engine(Faults::default());
        for _ in 0..100 {
            assert_eq!(engine.decide("GET", "/x"), FaultPlan::NONE);
        }
    }

    #[test]
    fn filters_and_cap() {
        let mut engine = engine(Faults {
            server_error_rate: 1.0,
            methods: Some(vec!["patch".into()]),
            path_contains: Some("/containers/".into()),
            max_faults: Some(2),
            ..Faults::default()
        });
        assert_eq!(
            engine.decide("GET", "/containers/1").action,
            FaultAction::None
        );
        assert_eq!(
            engine.decide("PATCH", "/namespaces/1").action,
            FaultAction::None
        );
        assert_eq!(
            engine.decide("PATCH", "/containers/1").action,
            FaultAction::ServerError
        );
        assert_eq!(
            engine.decide("PATCH", "/containers/1").action,
            FaultAction::ServerError
        );
        assert_eq!(
            engine.decide("PATCH", "/containers/1").action,
            FaultAction::None
        );
    }

    #[test]
    fn same_seed_same_sequence_and_set_restarts_it() {
        let faults = Faults {
            drop_rate: 0.2,
            server_error_rate: 0.2,
            rate_limit_rate: 0.2,
            ..Faults::default()
        };
        let mut a = engine(faults.clone());
        let mut b = engine(faults.clone());
        let first: Vec<FaultPlan> = (0..50).map(|_| a.decide("GET", "/")).collect();
        let second: Vec<FaultPlan> = (0..50).map(|_| b.decide("GET", "/")).collect();
        assert_eq!(first, second);
        assert!(first.iter().any(|p| p.action == FaultAction::Drop));
        assert!(first.iter().any(|p| p.action == FaultAction::ServerError));
        assert!(
            first
                .iter()
                .any(|p| matches!(p.action, FaultAction::RateLimit { .. }))
        );
        assert!(first.iter().any(|p| p.action == FaultAction::None));
        a.set(faults);
        let again: Vec<FaultPlan> = (0..50).map(|_| a.decide("GET", "/")).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn latency_counts_against_the_cap() {
        let mut engine = engine(Faults {
            latency_ms: 5,
            max_faults: Some(1),
            ..Faults::default()
        });
        assert_eq!(
            engine.decide("GET", "/").latency,
            Some(Duration::from_millis(5))
        );
        assert_eq!(engine.decide("GET", "/"), FaultPlan::NONE);
    }
}
