//! The client-side rate limiter against the emulator over loopback HTTP: it spaces calls at
//! the configured rate, and under a 429 storm the operator's clients, sharing one limiter,
//! slow down instead of hammering Scaleway, then climb back to the configured rate.
//!
//! Assertions are on request counts and lower bounds of durations (upper bounds are
//! generous), so that a loaded machine slows the test down without failing it.

use std::time::{Duration, Instant};

use futures::future::join_all;
use scaleway_emulator::{Emulator, EmulatorConfig, Faults, RunningEmulator};
use scaleway_serverless_operator::scaleway::{
    Client, ClientConfig, Error, RateLimiter, RetryPolicy, SecretString,
};

async fn emulator() -> RunningEmulator {
    Emulator::start(EmulatorConfig::default())
        .await
        .unwrap_or_else(|e| panic!("emulator did not start: {e}"))
}

/// A client with its own key (as for one credentials Secret), under `limiter`.
fn client(url: &str, key: &str, limiter: &RateLimiter) -> Client {
    scaleway_serverless_operator::install_crypto_provider();
    let mut config = ClientConfig::new(SecretString::new(key)).with_api_url(url);
    config.retry = RetryPolicy {
        max_attempts: ATTEMPTS as u32,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
    };
    config.request_timeout = Duration::from_secs(10);
    Client::new(config)
        .unwrap_or_else(|e| panic!("client did not build: {e}"))
        .with_rate_limiter(limiter.clone())
}

/// One GET (an empty list: exactly one request when it succeeds).
async fn list(client: &Client) -> Result<(), Error> {
    client
        .region("fr-par")
        .list_all_namespaces(&Default::default())
        .await
        .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_spaced_at_the_configured_rate() {
    let emulator = emulator().await;
    let limiter = RateLimiter::new(10.0, 5);
    let client = client(&emulator.url(), "rate-limit-test", &limiter);
    let started = Instant::now();
    let results = join_all((0..40).map(|_| list(&client))).await;
    let took = started.elapsed();
    for result in results {
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    eprintln!("40 concurrent GETs at 10/s, burst 5: {took:?}");
    // 5 at once, then 35 spaced by 100 ms: the last one leaves 3.5 s after the first.
    assert!(took >= Duration::from_millis(3450), "{took:?}");
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert_eq!(emulator.emulator.total_requests(), 40, "no call retried");
    assert_eq!(limiter.throttled_total(), 0);
}

/// Callers in all: half on each of two clients.
const CALLERS: u64 = 20;
/// Attempts of one call, the first included (`RetryPolicy::max_attempts`).
const ATTEMPTS: u64 = 3;

/// The 429 storm: every request answered 429 with `Retry-After: 1`, bounded to exactly the
/// attempts the callers can make without a limiter.
fn storm() -> Faults {
    Faults {
        rate_limit_rate: 1.0,
        retry_after_seconds: 1,
        max_faults: Some(CALLERS * ATTEMPTS),
        ..Faults::default()
    }
}

/// Starts `CALLERS` calls at once through two clients (two credentials) sharing `limiter`,
/// each retried by the client on 429; gives up on the calls still pending after `window`.
/// Returns how many ended (all failed: it is a storm) and how long they ran.
async fn callers_in_a_storm(
    emulator: &RunningEmulator,
    limiter: &RateLimiter,
    window: Duration,
) -> (usize, Duration) {
    let tenants = [
        client(&emulator.url(), "tenant-a", limiter),
        client(&emulator.url(), "tenant-b", limiter),
    ];
    let started = Instant::now();
    let calls = (0..CALLERS as usize).map(|i| {
        let client = &tenants[i % 2];
        async move { tokio::time::timeout(window, list(client)).await }
    });
    let results = join_all(calls).await;
    let took = started.elapsed();
    // Calls cut off by the window are not counted; every call that ended failed.
    let mut ended = 0;
    for answer in results.into_iter().flatten() {
        let error = answer
            .err()
            .unwrap_or_else(|| panic!("a call passed the storm"));
        assert!(matches!(error, Error::RateLimited { .. }), "{error}");
        ended += 1;
    }
    (ended, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_slows_the_shared_limiter_down_then_it_recovers() {
    // Without a limiter every caller honours Retry-After on its own, and all of them together
    // spend the whole storm: every attempt of every call.
    let unlimited_emulator = emulator().await;
    unlimited_emulator.emulator.set_faults(storm());
    let (ended, took) = callers_in_a_storm(
        &unlimited_emulator,
        &RateLimiter::unlimited(),
        Duration::from_secs(15),
    )
    .await;
    let unlimited = unlimited_emulator.emulator.total_requests();
    assert_eq!(ended as u64, CALLERS, "every call gave up on its own");
    assert_eq!(unlimited, CALLERS * ATTEMPTS);
    assert!(took >= Duration::from_secs(ATTEMPTS - 1), "{took:?}");

    // The same storm and callers, the two clients sharing one limiter of 20/s, burst 10,
    // for as long as the unlimited run took.
    let emulator = emulator().await;
    emulator.emulator.set_faults(storm());
    let ceiling = 20.0;
    let limiter = RateLimiter::new(ceiling, 10).with_recovery_period(Duration::from_millis(400));
    let window = took.max(Duration::from_secs(ATTEMPTS - 1));
    callers_in_a_storm(&emulator, &limiter, window).await;
    let limited = emulator.emulator.total_requests();
    let slowed_to = limiter.current_rate().unwrap_or(f64::MAX);
    let throttled = limiter.throttled_total();
    eprintln!(
        "429 storm, {CALLERS} callers on 2 clients, {window:?}: {unlimited} requests without \
         the limiter, {limited} with it (rate down to {slowed_to}/s, {throttled} 429s)"
    );
    // The burst leaves at once and is all answered 429; from then on the limiter holds every
    // caller through each Retry-After and lets about one request out per second. On a loaded
    // machine the first 429s can come back before the later callers even start, and the
    // halving then cancels the rest of the burst (seen in CI: 3 of 10 went): that is the
    // limiter doing its job, so only require that requests did go out.
    assert!(limited >= 2, "the burst went: {limited}");
    assert!(
        limited * 3 <= unlimited,
        "with the limiter {limited} requests, without it {unlimited}"
    );
    // Every answer was a 429 and was reported (but a request still in flight when its caller
    // gave up at the end of the window never had its answer read).
    assert!(
        throttled <= limited && throttled + 3 >= limited,
        "{throttled} 429s reported for {limited} requests"
    );
    assert!(
        slowed_to <= ceiling / 2.0,
        "the rate came down: {slowed_to}"
    );

    // The storm ends (its budget is not spent: end it): calls pass again and, with no 429
    // for a while, the rate climbs back to the ceiling, and not beyond.
    emulator.emulator.set_faults(Faults::default());
    let tenants = [
        client(&emulator.url(), "tenant-a", &limiter),
        client(&emulator.url(), "tenant-b", &limiter),
    ];
    let calm = Instant::now();
    let deadline = calm + Duration::from_secs(20);
    let mut passed = 0;
    loop {
        for tenant in &tenants {
            list(tenant)
                .await
                .unwrap_or_else(|e| panic!("after the storm: {e}"));
            passed += 1;
        }
        let rate = limiter.current_rate().unwrap_or_default();
        if rate >= ceiling {
            assert_eq!(rate, ceiling);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rate stayed at {rate}/s for {:?}",
            calm.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "recovered to {ceiling}/s in {:?} ({passed} calls passed meanwhile)",
        calm.elapsed()
    );
    assert_eq!(
        limiter.throttled_total(),
        throttled,
        "no 429 after the storm"
    );
}
