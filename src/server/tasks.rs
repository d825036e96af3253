//! Background work repeated on a clock until the app stops: one loop for every periodic task.

use std::{future::Future, time::Duration};

use tokio::{task::JoinHandle, time::MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::shared::error::AppError;

/// Runs `work` at once and then every `period` until `shutdown` fires. A round is never cut short by the clock: one
/// that outlasts the period delays the next. A failed round is logged under `what`; the next round tries again
/// (the database may not be up yet at start). Work that must stop mid-round watches `shutdown` itself.
pub fn every<Work, Round>(
    period: Duration,
    shutdown: CancellationToken,
    what: &'static str,
    mut work: Work,
) -> JoinHandle<()>
where
    Work: FnMut() -> Round + Send + 'static,
    Round: Future<Output = Result<(), AppError>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(error) = work().await {
                tracing::warn!("{what}: {error}");
            }
        }
    })
}
