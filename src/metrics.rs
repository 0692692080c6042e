//! Prometheus metrics, in the text exposition format, under the
//! `scaleway_serverless_operator_` prefix. Labels are bounded (kind, result, route, code,
//! ready); object names never become labels.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::scaleway::{CallStats, RateLimiter};

const PREFIX: &str = "scaleway_serverless_operator";
/// Upper bounds of the reconcile duration histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// Counts of objects of one kind by Ready condition (`True`, `False`, `Unknown`).
pub type ReadySource = Box<dyn Fn() -> BTreeMap<&'static str, u64> + Send + Sync>;

/// The operator's metrics.
#[derive(Default)]
pub struct Metrics {
    reconciles: Mutex<BTreeMap<(&'static str, String), u64>>,
    durations: Mutex<BTreeMap<&'static str, Histogram>>,
    scaleway: Mutex<Option<Arc<CallStats>>>,
    limiter: Mutex<Option<RateLimiter>>,
    ready: Mutex<Vec<(&'static str, ReadySource)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records one reconcile of `kind`: `result` is `success` or an error reason.
    pub fn reconciled(&self, kind: &'static str, result: &str, took: Duration) {
        if let Ok(mut reconciles) = self.reconciles.lock() {
            *reconciles.entry((kind, result.to_owned())).or_default() += 1;
        }
        if let Ok(mut durations) = self.durations.lock() {
            durations
                .entry(kind)
                .or_default()
                .observe(took.as_secs_f64());
        }
    }

    /// Exports the Scaleway calls counted in `stats`.
    pub fn watch_scaleway(&self, stats: Arc<CallStats>) {
        if let Ok(mut slot) = self.scaleway.lock() {
            *slot = Some(stats);
        }
    }

    /// Exports the state of the shared Scaleway rate limiter.
    pub fn watch_rate_limiter(&self, limiter: RateLimiter) {
        if let Ok(mut slot) = self.limiter.lock() {
            *slot = Some(limiter);
        }
    }

    /// Exports objects of `kind` by Ready condition, counted by `source` at scrape time.
    pub fn watch_ready(&self, kind: &'static str, source: ReadySource) {
        if let Ok(mut sources) = self.ready.lock() {
            sources.push((kind, source));
        }
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_reconciles_total Reconciles by kind and result (success or error reason)."
        );
        let _ = writeln!(out, "# TYPE {PREFIX}_reconciles_total counter");
        for ((kind, result), count) in self
            .reconciles
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
        {
            let _ = writeln!(
                out,
                "{PREFIX}_reconciles_total{{kind=\"{kind}\",result=\"{}\"}} {count}",
                escape(&result)
            );
        }
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_reconcile_duration_seconds Time spent in one reconcile."
        );
        let _ = writeln!(out, "# TYPE {PREFIX}_reconcile_duration_seconds histogram");
        for (kind, histogram) in self.durations.lock().map(|d| d.clone()).unwrap_or_default() {
            for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                let _ = writeln!(
                    out,
                    "{PREFIX}_reconcile_duration_seconds_bucket{{kind=\"{kind}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "{PREFIX}_reconcile_duration_seconds_bucket{{kind=\"{kind}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "{PREFIX}_reconcile_duration_seconds_sum{{kind=\"{kind}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "{PREFIX}_reconcile_duration_seconds_count{{kind=\"{kind}\"}} {}",
                histogram.count
            );
        }
        // Samples only when a limiter is in force (`--scaleway-rate-limit 0` = unlimited);
        // 429 answers are also counted by `scaleway_requests_total{code="429"}`.
        let limiter = self
            .limiter
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .filter(RateLimiter::is_limited);
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_scaleway_rate_limit_current Requests per second the shared Scaleway rate limiter allows now (halved on a 429, recovered gradually)."
        );
        let _ = writeln!(out, "# TYPE {PREFIX}_scaleway_rate_limit_current gauge");
        if let Some(rate) = limiter.as_ref().and_then(RateLimiter::current_rate) {
            let _ = writeln!(out, "{PREFIX}_scaleway_rate_limit_current {rate}");
        }
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_scaleway_throttled_total 429 answers from Scaleway reported to the shared rate limiter."
        );
        let _ = writeln!(out, "# TYPE {PREFIX}_scaleway_throttled_total counter");
        if let Some(limiter) = &limiter {
            let _ = writeln!(
                out,
                "{PREFIX}_scaleway_throttled_total {}",
                limiter.throttled_total()
            );
        }
        let stats = self.scaleway.lock().ok().and_then(|s| s.clone());
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_scaleway_requests_total Scaleway API attempts by route template and HTTP status (0 = no answer)."
        );
        let _ = writeln!(out, "# TYPE {PREFIX}_scaleway_requests_total counter");
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_scaleway_retries_total Scaleway API retries by route template."
        );
        let _ = writeln!(out, "# TYPE {PREFIX}_scaleway_retries_total counter");
        if let Some(stats) = stats {
            for ((route, code), count) in stats.calls() {
                let _ = writeln!(
                    out,
                    "{PREFIX}_scaleway_requests_total{{route=\"{}\",code=\"{code}\"}} {count}",
                    escape(route)
                );
            }
            for (route, count) in stats.retries() {
                let _ = writeln!(
                    out,
                    "{PREFIX}_scaleway_retries_total{{route=\"{}\"}} {count}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_objects Objects by kind and Ready condition."
        );
        let _ = writeln!(out, "# TYPE {PREFIX}_objects gauge");
        if let Ok(sources) = self.ready.lock() {
            for (kind, source) in sources.iter() {
                for (ready, count) in source() {
                    let _ = writeln!(
                        out,
                        "{PREFIX}_objects{{kind=\"{kind}\",ready=\"{ready}\"}} {count}"
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_counters_histograms_and_gauges() {
        let metrics = Metrics::default();
        metrics.reconciled("ServerlessContainer", "success", Duration::from_millis(30));
        metrics.reconciled(
            "ServerlessContainer",
            "ScalewayServerError",
            Duration::from_secs(2),
        );
        metrics.watch_ready(
            "ServerlessContainer",
            Box::new(|| [("True", 3), ("False", 1)].into()),
        );
        let text = metrics.encode();
        assert!(text.contains("scaleway_serverless_operator_reconciles_total{kind=\"ServerlessContainer\",result=\"success\"} 1"));
        assert!(text.contains(
            "reconcile_duration_seconds_bucket{kind=\"ServerlessContainer\",le=\"0.05\"} 1"
        ));
        assert!(text.contains(
            "reconcile_duration_seconds_bucket{kind=\"ServerlessContainer\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains(
            "scaleway_serverless_operator_objects{kind=\"ServerlessContainer\",ready=\"True\"} 3"
        ));
        assert!(
            text.contains("# TYPE scaleway_serverless_operator_scaleway_requests_total counter")
        );
        assert!(
            !text.contains("\nscaleway_serverless_operator_scaleway_rate_limit_current "),
            "no sample without a limiter"
        );
    }

    #[tokio::test]
    async fn exposition_has_the_rate_limiter() {
        let metrics = Metrics::default();
        let limiter = RateLimiter::new(20.0, 40);
        metrics.watch_rate_limiter(limiter.clone());
        let text = metrics.encode();
        assert!(
            text.contains("# TYPE scaleway_serverless_operator_scaleway_rate_limit_current gauge")
        );
        assert!(text.contains("\nscaleway_serverless_operator_scaleway_rate_limit_current 20\n"));
        assert!(text.contains("\nscaleway_serverless_operator_scaleway_throttled_total 0\n"));
        let permit = limiter.acquire().await;
        limiter.throttled(&permit, None);
        let text = metrics.encode();
        assert!(
            text.contains("\nscaleway_serverless_operator_scaleway_rate_limit_current 10\n"),
            "{text}"
        );
        assert!(text.contains("\nscaleway_serverless_operator_scaleway_throttled_total 1\n"));
        metrics.watch_rate_limiter(RateLimiter::unlimited());
        assert!(
            !metrics
                .encode()
                .contains("\nscaleway_serverless_operator_scaleway_rate_limit_current ")
        );
    }
}
