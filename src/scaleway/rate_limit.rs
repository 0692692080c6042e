//! A client-side limit on the rate of calls to Scaleway, shared by every client of the
//! operator (all controllers, all credentials Secrets), so that the operator stays under a
//! configured rate and, under a 429 storm, slows down instead of hammering.
//!
//! The limiter is a token bucket (`rate` calls per second on average, `burst` at once) with
//! an AIMD rate:
//! - a 429 halves the rate (never below [`MIN_RATE`]), once per congestion event: answers to
//!   calls released before the last decrease are echoes of the same event and do not halve it
//!   again (a burst of 40 calls that all get 429 halves the rate once, not 40 times);
//! - a 429 with `Retry-After` holds every call of every client until that instant;
//! - after [`DEFAULT_RECOVERY_PERIOD`] without a 429 (counted from the end of the pause), the
//!   rate climbs by a tenth of the ceiling, and again each period, up to the ceiling.
//!
//! `Bucket` is the arithmetic, with the clock passed in (tested without sleeping);
//! [`RateLimiter`] is the thin async wrapper that reads the clock and sleeps.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The rate never drops below this (calls per second), unless the ceiling itself is lower.
pub const MIN_RATE: f64 = 0.5;
/// Quiet time (no 429) after which the rate climbs one step.
pub const DEFAULT_RECOVERY_PERIOD: Duration = Duration::from_secs(5);
/// Share of the ceiling regained per quiet period (additive increase).
const RECOVERY_SHARE: f64 = 0.1;
/// Longest pause a single `Retry-After` may impose on every call: a wrong or hostile header
/// must not stall the whole operator for hours.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// The bucket's arithmetic. Every method takes the current instant.
#[derive(Debug, Clone)]
struct Bucket {
    /// The configured rate: recovery never climbs above it.
    ceiling: f64,
    /// The rate in force (calls per second).
    rate: f64,
    burst: f64,
    /// Tokens available at `counted_to`; negative = slots already promised to waiters.
    tokens: f64,
    /// Tokens are counted up to this instant. It is in the future during a `Retry-After`
    /// pause, so that nothing accrues (and nobody is released) before the pause ends.
    counted_to: Instant,
    /// When the rate was last halved.
    decreased_at: Option<Instant>,
    /// Start of the current quiet period (last 429, end of its pause, or last recovery step).
    calm_since: Instant,
    recovery_period: Duration,
    /// Bumped whenever the slots promised to waiters are withdrawn (rate halved, pause
    /// extended): a waiter holding a slot of an older epoch must reserve again.
    epoch: u64,
    /// 429 answers reported.
    throttled: u64,
}

/// A slot in the bucket: when it comes, and the epoch it belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reservation {
    wait: Duration,
    epoch: u64,
}

impl Bucket {
    fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            ceiling: rate,
            rate,
            burst,
            tokens: burst,
            counted_to: now,
            decreased_at: None,
            calm_since: now,
            recovery_period: DEFAULT_RECOVERY_PERIOD,
            epoch: 0,
            throttled: 0,
        }
    }

    /// Brings the bucket to `now`: recovery steps for every full quiet period, then the tokens
    /// earned since `counted_to` (none while a pause lasts).
    fn advance(&mut self, now: Instant) {
        while self.rate < self.ceiling
            && now.duration_since(self.calm_since) >= self.recovery_period
        {
            self.rate = (self.rate + self.ceiling * RECOVERY_SHARE).min(self.ceiling);
            self.calm_since += self.recovery_period;
        }
        if now > self.counted_to {
            let earned = now.duration_since(self.counted_to).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + earned).min(self.burst);
            self.counted_to = now;
        }
    }

    /// Takes the next slot: now when a token is there, else when one will be.
    fn reserve(&mut self, now: Instant) -> Reservation {
        self.advance(now);
        self.tokens -= 1.0;
        let behind = if self.tokens >= 0.0 {
            0.0
        } else {
            -self.tokens / self.rate
        };
        let slot = self
            .counted_to
            .checked_add(seconds(behind))
            .unwrap_or(self.counted_to);
        Reservation {
            wait: slot.saturating_duration_since(now),
            epoch: self.epoch,
        }
    }

    /// Whether a slot reserved in `epoch` still stands.
    fn holds(&self, epoch: u64) -> bool {
        self.epoch == epoch
    }

    /// Gives back the token of a slot that will not be used (its waiter gave up).
    fn refund(&mut self, epoch: u64) {
        if self.holds(epoch) {
            self.tokens = (self.tokens + 1.0).min(self.burst);
        }
    }

    /// A 429 answer to a call released at `sent_at`, with the server's `Retry-After`.
    /// Returns whether the rate was halved.
    fn throttle(&mut self, now: Instant, sent_at: Instant, retry_after: Option<Duration>) -> bool {
        self.advance(now);
        self.throttled += 1;
        let echo = self.decreased_at.is_some_and(|at| sent_at < at);
        let mut withdraw = false;
        if !echo {
            self.rate = (self.rate / 2.0).max(MIN_RATE.min(self.ceiling));
            self.decreased_at = Some(now);
            withdraw = true;
        }
        if let Some(after) = retry_after {
            let until = now.checked_add(after.min(MAX_PAUSE)).unwrap_or(now);
            if until > self.counted_to {
                self.counted_to = until;
                withdraw = true;
            }
        }
        if withdraw {
            // Slots promised at the old rate are withdrawn, and what was saved up is not
            // spent in one go: one call may leave at the end of a pause, then the new rate
            // spaces the others.
            self.tokens = if self.counted_to > now {
                1.0
            } else {
                self.tokens.clamp(0.0, 1.0)
            };
            self.epoch += 1;
        }
        // The quiet period starts when calls may flow again.
        self.calm_since = self.calm_since.max(now).max(self.counted_to);
        !echo
    }

    /// How long every call is still held by a `Retry-After`.
    fn paused_for(&self, now: Instant) -> Duration {
        self.counted_to.saturating_duration_since(now)
    }
}

/// Seconds as a `Duration`, saturating instead of panicking on huge or odd values.
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::MAX)
}

/// The clock of the async wrapper: tokio's, so tests with a paused runtime clock see the
/// same time as the sleeps.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn lock(bucket: &Mutex<Bucket>) -> MutexGuard<'_, Bucket> {
    // The bucket holds plain numbers that no panic can leave half-updated in a harmful
    // way, so a poisoned lock is still usable.
    bucket.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The operator's limiter. Cloning shares the bucket; [`RateLimiter::unlimited`] (also the
/// `Default`) holds nothing and costs nothing.
#[derive(Clone, Debug, Default)]
pub struct RateLimiter {
    bucket: Option<Arc<Mutex<Bucket>>>,
}

/// Proof that a call was let through, and when. Hand it back to [`RateLimiter::throttled`]
/// when the call was answered 429.
#[derive(Clone, Copy, Debug)]
pub struct Permit {
    sent_at: Option<Instant>,
}

/// A slot being waited for; dropping it before it is used (the caller gave up) gives its
/// token back.
struct Pending<'a> {
    bucket: &'a Mutex<Bucket>,
    epoch: u64,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        lock(self.bucket).refund(self.epoch);
    }
}

impl RateLimiter {
    /// At most `per_second` calls per second on average and `burst` at once (at least 1);
    /// `per_second` 0 (or negative, or not a number) means unlimited.
    pub fn new(per_second: f64, burst: u32) -> Self {
        if !(per_second.is_finite() && per_second > 0.0) {
            return Self::unlimited();
        }
        Self {
            bucket: Some(Arc::new(Mutex::new(Bucket::new(per_second, burst, now())))),
        }
    }

    /// No limit.
    pub fn unlimited() -> Self {
        Self { bucket: None }
    }

    /// The same limiter, climbing back one step after `period` without a 429 instead of
    /// [`DEFAULT_RECOVERY_PERIOD`] (tests use a short one).
    pub fn with_recovery_period(self, period: Duration) -> Self {
        if let Some(bucket) = &self.bucket {
            lock(bucket).recovery_period = period.max(Duration::from_millis(1));
        }
        self
    }

    /// Whether calls are limited at all.
    pub fn is_limited(&self) -> bool {
        self.bucket.is_some()
    }

    /// Waits until a call may be sent. Call it before every attempt, retries included.
    pub async fn acquire(&self) -> Permit {
        let Some(bucket) = &self.bucket else {
            return Permit { sent_at: None };
        };
        loop {
            let reservation = lock(bucket).reserve(now());
            if reservation.wait.is_zero() {
                break;
            }
            let pending = Pending {
                bucket,
                epoch: reservation.epoch,
            };
            tokio::time::sleep(reservation.wait).await;
            let holds = lock(bucket).holds(reservation.epoch);
            // Used, or withdrawn with every other slot: nothing to give back either way.
            std::mem::forget(pending);
            if holds {
                break;
            }
        }
        Permit {
            sent_at: Some(now()),
        }
    }

    /// Scaleway answered 429 to the call let through by `permit` (with its `Retry-After`,
    /// if any): slow down.
    pub fn throttled(&self, permit: &Permit, retry_after: Option<Duration>) {
        let (Some(bucket), Some(sent_at)) = (&self.bucket, permit.sent_at) else {
            return;
        };
        let now = now();
        let mut bucket = lock(bucket);
        let before = bucket.rate;
        bucket.throttle(now, sent_at, retry_after);
        if bucket.rate < before {
            tracing::info!(
                rate = bucket.rate,
                paused_ms = bucket.paused_for(now).as_millis() as u64,
                "Scaleway answered 429: slowing down"
            );
        }
    }

    /// The rate in force (calls per second), `None` when unlimited.
    pub fn current_rate(&self) -> Option<f64> {
        let mut bucket = lock(self.bucket.as_ref()?);
        bucket.advance(now());
        Some(bucket.rate)
    }

    /// 429 answers reported to this limiter.
    pub fn throttled_total(&self) -> u64 {
        self.bucket.as_ref().map_or(0, |b| lock(b).throttled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn close(actual: Duration, expected: Duration) -> bool {
        actual.abs_diff(expected) < Duration::from_micros(10)
    }

    #[test]
    fn the_burst_is_free_then_slots_are_spaced_by_the_rate() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10.0, 3, t0);
        for _ in 0..3 {
            assert_eq!(bucket.reserve(t0).wait, Duration::ZERO);
        }
        let waits: Vec<_> = (0..3).map(|_| bucket.reserve(t0).wait).collect();
        for (got, want) in waits.iter().zip([100 * MS, 200 * MS, 300 * MS]) {
            assert!(close(*got, want), "{waits:?}");
        }
        // Once the promised slots are past, the bucket refills up to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.reserve(later).wait, Duration::ZERO);
        }
        assert!(close(bucket.reserve(later).wait, 100 * MS));
    }

    #[test]
    fn a_refunded_slot_goes_to_the_next_caller() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10.0, 1, t0);
        assert_eq!(bucket.reserve(t0).wait, Duration::ZERO);
        let given_up = bucket.reserve(t0);
        assert!(close(given_up.wait, 100 * MS));
        bucket.refund(given_up.epoch);
        assert!(close(bucket.reserve(t0).wait, 100 * MS), "same slot again");
    }

    #[test]
    fn a_429_halves_the_rate_once_per_congestion_event() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(16.0, 40, t0);
        // 40 calls leave at once, then all 40 answers are 429.
        let answered = t0 + 50 * MS;
        let halved: Vec<bool> = (0..40)
            .map(|_| bucket.throttle(answered, t0, None))
            .collect();
        assert_eq!(halved.iter().filter(|h| **h).count(), 1, "one event");
        assert_eq!(bucket.rate, 8.0);
        assert_eq!(bucket.throttled, 40, "every 429 is counted");
        // A call released after the decrease that still gets a 429 halves it again.
        assert!(bucket.throttle(answered + 200 * MS, answered + 100 * MS, None));
        assert_eq!(bucket.rate, 4.0);
    }

    #[test]
    fn the_rate_never_drops_below_the_floor_nor_the_ceiling() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(8.0, 1, t0);
        let mut t = t0;
        for _ in 0..20 {
            t += MS;
            bucket.throttle(t, t, None);
        }
        assert_eq!(bucket.rate, MIN_RATE);
        let mut slow = Bucket::new(0.2, 1, t0);
        slow.throttle(t0, t0, None);
        assert_eq!(slow.rate, 0.2, "a ceiling below the floor is kept");
    }

    #[test]
    fn retry_after_holds_every_slot_until_it_has_passed() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10.0, 20, t0);
        for _ in 0..20 {
            bucket.reserve(t0);
        }
        let waiting = bucket.reserve(t0);
        assert!(close(waiting.wait, 100 * MS));
        // A 429 with Retry-After: 3 s arrives 10 ms later.
        let t = t0 + 10 * MS;
        bucket.throttle(t, t0, Some(Duration::from_secs(3)));
        assert!(!bucket.holds(waiting.epoch), "promised slots are withdrawn");
        assert_eq!(bucket.paused_for(t), Duration::from_secs(3));
        // The waiter reserves again: one call at the end of the pause, then the new rate
        // (halved to 5/s) spaces the rest; nothing accrued during the pause.
        let end = t + Duration::from_secs(3);
        let first = bucket.reserve(t + Duration::from_secs(1));
        assert!(close(first.wait, Duration::from_secs(2)), "{first:?}");
        let second = bucket.reserve(end);
        assert!(close(second.wait, 200 * MS), "{second:?}");
        // A shorter Retry-After does not shorten the pause in force.
        let before = bucket.epoch;
        bucket.throttle(end - MS, end - MS, Some(Duration::from_millis(1)));
        assert!(bucket.counted_to >= end);
        assert!(
            bucket.epoch > before,
            "the rate halved again: slots withdrawn"
        );
    }

    #[test]
    fn a_huge_retry_after_is_capped() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10.0, 1, t0);
        bucket.throttle(t0, t0, Some(Duration::from_secs(86_400)));
        assert_eq!(bucket.paused_for(t0), MAX_PAUSE);
    }

    #[test]
    fn the_rate_recovers_step_by_step_after_a_quiet_period() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10.0, 1, t0);
        for _ in 0..10 {
            let t = t0 + MS;
            bucket.throttle(t, t, None);
            bucket.decreased_at = None;
        }
        assert_eq!(bucket.rate, MIN_RATE);
        let quiet_from = t0 + MS;
        bucket.advance(quiet_from + DEFAULT_RECOVERY_PERIOD - MS);
        assert_eq!(bucket.rate, MIN_RATE, "not before a whole quiet period");
        bucket.advance(quiet_from + DEFAULT_RECOVERY_PERIOD);
        assert!(
            (bucket.rate - (MIN_RATE + 1.0)).abs() < 1e-9,
            "{}",
            bucket.rate
        );
        bucket.advance(quiet_from + DEFAULT_RECOVERY_PERIOD * 3);
        assert!(
            (bucket.rate - (MIN_RATE + 3.0)).abs() < 1e-9,
            "{}",
            bucket.rate
        );
        // A new 429 restarts the quiet period.
        let t = quiet_from + DEFAULT_RECOVERY_PERIOD * 3 + MS;
        bucket.throttle(t, t, None);
        bucket.advance(t + DEFAULT_RECOVERY_PERIOD - MS);
        assert!((bucket.rate - (MIN_RATE + 3.0) / 2.0).abs() < 1e-9);
        bucket.advance(t + DEFAULT_RECOVERY_PERIOD * 100);
        assert_eq!(bucket.rate, 10.0, "back to the ceiling, not above");
    }

    #[test]
    fn no_recovery_during_a_pause() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10.0, 1, t0);
        bucket.throttle(t0, t0, Some(DEFAULT_RECOVERY_PERIOD * 2));
        bucket.advance(t0 + DEFAULT_RECOVERY_PERIOD * 2);
        assert_eq!(bucket.rate, 5.0, "the pause is not a quiet period");
        bucket.advance(t0 + DEFAULT_RECOVERY_PERIOD * 3);
        assert_eq!(bucket.rate, 6.0);
    }

    #[tokio::test]
    async fn unlimited_never_waits_nor_counts() {
        for limiter in [RateLimiter::new(0.0, 1), RateLimiter::new(f64::NAN, 1)] {
            assert!(!limiter.is_limited());
            let started = Instant::now();
            for _ in 0..1000 {
                let permit = limiter.acquire().await;
                limiter.throttled(&permit, Some(Duration::from_secs(60)));
            }
            assert!(started.elapsed() < Duration::from_secs(1));
            assert_eq!(limiter.current_rate(), None);
            assert_eq!(limiter.throttled_total(), 0);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_spaces_calls_and_waits_out_retry_after() {
        let limiter = RateLimiter::new(10.0, 2);
        let clone = limiter.clone();
        let t0 = tokio::time::Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        // 2 at once, then 2 more at 10 per second.
        assert!(t0.elapsed().abs_diff(200 * MS) <= MS, "{:?}", t0.elapsed());
        let permit = clone.acquire().await;
        clone.throttled(&permit, Some(Duration::from_secs(2)));
        assert_eq!(limiter.current_rate(), Some(5.0), "shared by clones");
        let paused_at = tokio::time::Instant::now();
        limiter.acquire().await;
        let paused = paused_at.elapsed();
        assert!(paused.abs_diff(Duration::from_secs(2)) <= MS, "{paused:?}");
        assert_eq!(limiter.throttled_total(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_gives_up_returns_its_slot() {
        let limiter = RateLimiter::new(1.0, 1);
        limiter.acquire().await;
        let gave_up = tokio::time::timeout(100 * MS, limiter.acquire()).await;
        assert!(gave_up.is_err());
        let t = tokio::time::Instant::now();
        limiter.acquire().await;
        let waited = t.elapsed();
        assert!(
            waited.abs_diff(900 * MS) <= MS,
            "the slot at 1 s, not 2 s: {waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_held_by_a_pause_that_starts_while_they_wait() {
        let limiter = RateLimiter::new(10.0, 1);
        let first = limiter.acquire().await;
        let waiter = tokio::spawn({
            let limiter = limiter.clone();
            async move {
                let t = tokio::time::Instant::now();
                limiter.acquire().await;
                t.elapsed()
            }
        });
        tokio::task::yield_now().await;
        limiter.throttled(&first, Some(Duration::from_secs(1)));
        let waited = waiter.await.unwrap_or_default();
        assert!(waited >= Duration::from_secs(1), "{waited:?}");
        assert!(waited < Duration::from_millis(1100), "{waited:?}");
    }
}
