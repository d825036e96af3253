//! Retrying a connection to a backing service until it answers.

use std::{fmt::Display, future::Future, time::Duration};

use backon::{ExponentialBuilder, Retryable};
use tokio_util::sync::CancellationToken;

/// Runs `attempt` until it succeeds, waiting longer after each failure (0.5 s doubling up to 30 s, with jitter) and
/// logging one line per failure that names the service and its password-less address. Gives `None` if `shutdown`
/// fires first.
pub async fn until_available<T, E, F, Fut>(
    service: &'static str,
    redacted_target: &str,
    shutdown: &CancellationToken,
    attempt: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    let policy = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times();
    let retrying =
        attempt
            .retry(policy)
            .sleep(tokio::time::sleep)
            .notify(|error: &E, wait: Duration| {
                tracing::warn!(
                    retry_in_ms = wait.as_millis() as u64,
                    "{service} unavailable at {redacted_target}: {error}"
                );
            });
    tokio::select! {
        result = retrying => result.ok(),
        () = shutdown.cancelled() => None,
    }
}
