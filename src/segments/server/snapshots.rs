//! A background task that counts every segment once an hour and keeps the day's count, so that segment pages can
//! show each segment's size over time.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Segments;
use crate::server::mongo::Mongo;

const EVERY: Duration = Duration::from_secs(60 * 60);

pub fn spawn(mongo: Mongo, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let segments = Segments::new(&mongo);
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match segments.record_all_sizes().await {
                Ok(count) => tracing::debug!(segments = count, "segment sizes recorded"),
                // The database may not be up yet at start; the next tick tries again.
                Err(error) => tracing::warn!("segment sizes not recorded: {error}"),
            }
        }
    })
}
