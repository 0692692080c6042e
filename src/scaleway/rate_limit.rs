//! A client-side limit on the rate of calls to Scaleway, shared by every client of the
//! operator (all controllers, all credentials): a token bucket whose rate halves on each
//! 429 (down to a floor), holds every call until the server's `Retry-After` has passed, and
//! climbs back to the configured ceiling after a quiet period. Under a 429 storm the operator
//! slows down instead of hammering.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The rate never drops below this (calls per second).
const FLOOR: f64 = 0.5;
/// Without a 429 for this long, the rate climbs by a tenth of the ceiling.
const RECOVERY_STEP: Duration = Duration::from_secs(5);

/// The bucket's arithmetic, with the clock passed in (tested without sleeping).
#[derive(Debug, Clone)]
struct Bucket {
    ceiling: f64,
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    paused_until: Option<Instant>,
    calm_since: Instant,
    throttled: u64,
}

impl Bucket {
    fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            ceiling: rate,
            rate,
            burst,
            tokens: burst,
            refilled_at: now,
            paused_until: None,
            calm_since: now,
            throttled: 0,
        }
    }

    fn refill(&mut self, now: Instant) {
        // Recover: one step per quiet period since the last throttle (or last step).
        while self.rate < self.ceiling && now.duration_since(self.calm_since) >= RECOVERY_STEP {
            self.rate = (self.rate + self.ceiling / 10.0).min(self.ceiling);
            self.calm_since += RECOVERY_STEP;
        }
        let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled_at = now;
    }

    /// Takes a token (possibly one not yet earned) and says how long to wait for it.
    fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        let for_token = if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        };
        for_token.max(self.pause_left(now))
    }

    /// How long calls are still held by a server's `Retry-After`.
    fn pause_left(&self, now: Instant) -> Duration {
        self.paused_until
            .map(|until| until.saturating_duration_since(now))
            .unwrap_or_default()
    }

    /// A 429: halve the rate, and hold every call until `retry_after` has passed.
    fn throttle(&mut self, now: Instant, retry_after: Option<Duration>) {
        self.refill(now);
        self.throttled += 1;
        self.rate = (self.rate / 2.0).max(FLOOR.min(self.ceiling));
        self.tokens = self.tokens.min(1.0);
        self.calm_since = now;
        if let Some(after) = retry_after {
            let until = now + after;
            self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        }
    }
}

/// The shared limiter. Cloning shares the bucket. `RateLimiter::unlimited()` costs nothing.
#[derive(Clone, Debug, Default)]
pub struct RateLimiter {
    bucket: Option<Arc<Mutex<Bucket>>>,
}

impl RateLimiter {
    /// At most `per_second` calls per second on average, `burst` at once; 0 = unlimited.
    pub fn new(per_second: f64, burst: u32) -> Self {
        if per_second <= 0.0 || !per_second.is_finite() {
            return Self::unlimited();
        }
        Self {
            bucket: Some(Arc::new(Mutex::new(Bucket::new(
                per_second,
                burst,
                Instant::now(),
            )))),
        }
    }

    /// No limit.
    pub fn unlimited() -> Self {
        Self { bucket: None }
    }

    /// Waits until a call may be sent: for its token, then for as long as a `Retry-After`
    /// that arrived meanwhile still holds calls.
    pub async fn acquire(&self) {
        let Some(bucket) = &self.bucket else {
            return;
        };
        let mut wait = match bucket.lock() {
            Ok(mut bucket) => bucket.reserve(Instant::now()),
            Err(_) => Duration::ZERO,
        };
        while !wait.is_zero() {
            tokio::time::sleep(wait).await;
            wait = match bucket.lock() {
                Ok(bucket) => bucket.pause_left(Instant::now()),
                Err(_) => Duration::ZERO,
            };
        }
    }

    /// Scaleway answered 429 (with its `Retry-After`, if any).
    pub fn throttled(&self, retry_after: Option<Duration>) {
        if let Some(bucket) = &self.bucket
            && let Ok(mut bucket) = bucket.lock()
        {
            bucket.throttle(Instant::now(), retry_after);
        }
    }

    /// The rate in force (calls per second), `None` when unlimited.
    pub fn current_rate(&self) -> Option<f64> {
        let bucket = self.bucket.as_ref()?;
        let mut bucket = bucket.lock().ok()?;
        bucket.refill(Instant::now());
        Some(bucket.rate)
    }

    /// 429 answers seen.
    pub fn throttled_total(&self) -> u64 {
        self.bucket
            .as_ref()
            .and_then(|b| b.lock().ok().map(|b| b.throttled))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_is_free_then_calls_are_spaced_by_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(10.0, 3, start);
        for _ in 0..3 {
            assert_eq!(bucket.reserve(start), Duration::ZERO);
        }
        let fourth = bucket.reserve(start);
        let fifth = bucket.reserve(start);
        assert!((fourth.as_secs_f64() - 0.1).abs() < 1e-9, "{fourth:?}");
        assert!(
            (fifth.as_secs_f64() - 0.2).abs() < 1e-9,
            "queued behind: {fifth:?}"
        );
        // A second later the bucket has refilled (up to the burst).
        let later = start + Duration::from_secs(2);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
    }

    #[test]
    fn a_429_halves_the_rate_honours_retry_after_and_recovers() {
        let start = Instant::now();
        let mut bucket = Bucket::new(8.0, 1, start);
        bucket.throttle(start, Some(Duration::from_secs(3)));
        assert_eq!(bucket.rate, 4.0);
        assert!(bucket.reserve(start) >= Duration::from_secs(3), "paused");
        bucket.throttle(start, None);
        bucket.throttle(start, None);
        bucket.throttle(start, None);
        assert_eq!(bucket.rate, FLOOR, "never below the floor");
        assert_eq!(bucket.throttled, 4);
        bucket.refill(start + RECOVERY_STEP);
        assert!(
            (bucket.rate - (FLOOR + 0.8)).abs() < 1e-9,
            "{}",
            bucket.rate
        );
        bucket.refill(start + RECOVERY_STEP * 20);
        assert_eq!(bucket.rate, 8.0, "back to the ceiling, not above");
    }

    #[tokio::test]
    async fn unlimited_never_waits() {
        let limiter = RateLimiter::new(0.0, 1);
        let started = Instant::now();
        for _ in 0..1000 {
            limiter.acquire().await;
        }
        limiter.throttled(Some(Duration::from_secs(60)));
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(limiter.current_rate(), None);
    }
}
