//! A background task that counts every segment once an hour and keeps the day's count, so that segment pages can
//! show each segment's size over time.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Segments;
use crate::server::{mongo::Mongo, tasks};

const EVERY: Duration = Duration::from_secs(60 * 60);

pub fn spawn(mongo: Mongo, shutdown: CancellationToken) -> JoinHandle<()> {
    tasks::every(EVERY, shutdown, "segment sizes not recorded", move || {
        let mongo = mongo.clone();
        async move {
            let count = Segments::new(&mongo).record_all_sizes().await?;
            tracing::debug!(segments = count, "segment sizes recorded");
            Ok(())
        }
    })
}
