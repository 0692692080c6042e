//! The client-side rate limiter against the emulator: it spaces calls at the configured rate,
//! and under a 429 storm the operator's clients, sharing one limiter, slow down instead of
//! hammering Scaleway.

use std::time::{Duration, Instant};

use scaleway_emulator::{Emulator, EmulatorConfig, Faults, RunningEmulator};
use scaleway_serverless_operator::scaleway::{Client, ClientConfig, RateLimiter, SecretString};

async fn emulator() -> RunningEmulator {
    Emulator::start(EmulatorConfig::default())
        .await
        .unwrap_or_else(|e| panic!("emulator: {e}"))
}

fn client(url: &str, limiter: &RateLimiter) -> Client {
    scaleway_serverless_operator::install_crypto_provider();
    let mut config = ClientConfig::new(SecretString::new("rate-limit-test")).with_api_url(url);
    config.retry.base_delay = Duration::from_millis(10);
    Client::new(config)
        .unwrap_or_else(|e| panic!("client: {e}"))
        .with_rate_limiter(limiter.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_spaced_at_the_configured_rate() {
    let emulator = emulator().await;
    let limiter = RateLimiter::new(10.0, 5);
    let client = client(&emulator.url(), &limiter);
    let started = Instant::now();
    let calls = (0..40).map(|_| {
        let client = client.clone();
        async move {
            client
                .region("fr-par")
                .list_all_namespaces(&Default::default())
                .await
        }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    let took = started.elapsed();
    // 5 at once, then 35 at 10 per second.
    assert!(took >= Duration::from_millis(3300), "{took:?}");
    assert_eq!(emulator.emulator.total_requests(), 40);
}

/// Requests that reach the emulator in `window` while `tasks` loops call it through clients
/// sharing `limiter`, under a storm of 429 answers with `Retry-After: 1`.
async fn requests_during_a_storm(limiter: &RateLimiter, tasks: usize, window: Duration) -> u64 {
    let emulator = emulator().await;
    emulator.emulator.set_faults(Faults {
        rate_limit_rate: 1.0,
        retry_after_seconds: 1,
        ..Faults::default()
    });
    let deadline = Instant::now() + window;
    let loops = (0..tasks).map(|index| {
        // Two clients (as for two credentials Secrets), one limiter.
        let client = client(&emulator.url(), limiter);
        let region = if index % 2 == 0 { "fr-par" } else { "nl-ams" };
        async move {
            let api = client.region(region);
            while Instant::now() < deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                let _ =
                    tokio::time::timeout(left, api.list_all_namespaces(&Default::default())).await;
            }
        }
    });
    futures::future::join_all(loops).await;
    emulator.emulator.total_requests()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_slows_the_shared_limiter_down() {
    let window = Duration::from_secs(3);
    let unlimited = requests_during_a_storm(&RateLimiter::unlimited(), 100, window).await;
    let limiter = RateLimiter::new(20.0, 10);
    let limited = requests_during_a_storm(&limiter, 100, window).await;
    eprintln!(
        "429 storm, {window:?}, 100 callers: {unlimited} requests without the limiter, {limited} with it"
    );
    // Without the limiter every caller keeps calling (each honours Retry-After on its own).
    assert!(unlimited >= 100, "{unlimited}");
    // With it: the burst, then at most half the ceiling (the rate halves on the first 429s,
    // and every caller waits out each Retry-After together).
    assert!(
        limited <= 10 + 3 * 10,
        "with the limiter {limited} requests in {window:?}, without {unlimited}"
    );
    assert!(limited * 2 <= unlimited, "{limited} vs {unlimited}");
    assert!(limiter.throttled_total() > 0);
    let rate = limiter.current_rate().unwrap_or(f64::MAX);
    assert!(rate < 20.0, "the rate came down: {rate}");
}
