//! The background task that takes batches off `orders_queue`, stores them, and acknowledges each message only
//! once its orders are stored.

use std::time::Duration;

use futures::StreamExt;
use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
    types::{AMQPValue, FieldTable},
    BasicProperties,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    batches::Batches,
    store::{store_batch, KnownCustomers},
    totals::FoldSignal,
    OrderBatchMessage,
};
use crate::server::{broker::Broker, mongo::Mongo};

/// Batches stored at the same time: their round trips to MongoDB overlap.
const CONCURRENT_BATCHES: usize = 4;
/// Messages RabbitMQ hands over ahead of processing, so the next batch is already here when one is done.
const PREFETCH: u16 = 16;
/// How long to wait before the first retry of a batch that could not be stored (database down); each further retry
/// waits twice as long, up to `MAX_RETRY_DELAY`.
const RETRY_DELAY: Duration = Duration::from_secs(1);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);
/// Attempts at a batch that keeps failing for a transient reason before it is marked failed and dead-lettered
/// (about ten minutes of retrying).
const MAX_ATTEMPTS: u32 = 60;

/// Failed attempts per batch in this process, for the retry delay and the bound on retries.
#[derive(Default)]
struct Attempts(std::sync::Mutex<std::collections::HashMap<String, u32>>);

impl Attempts {
    fn failed(&self, batch_id: &str) -> u32 {
        let mut attempts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Batches settled by another instance never come back here: keep the map from growing without bound.
        if attempts.len() > 10_000 {
            attempts.clear();
        }
        let count = attempts.entry(batch_id.to_owned()).or_default();
        *count += 1;
        *count
    }

    fn settled(&self, batch_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(batch_id);
    }
}

fn retry_delay(attempt: u32) -> Duration {
    (RETRY_DELAY * 2u32.saturating_pow(attempt.saturating_sub(1).min(16))).min(MAX_RETRY_DELAY)
}

pub fn spawn(
    mongo: Mongo,
    broker: Broker,
    folder: FoldSignal,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let batches = Batches::new(&mongo);
        let known = KnownCustomers::default();
        let attempts = Attempts::default();
        while !shutdown.is_cancelled() {
            let queue = broker.topology().orders_queue.clone();
            let Some((channel, deliveries)) = broker
                .consume(&queue, "realm-orders", PREFETCH, &shutdown)
                .await
            else {
                break;
            };
            tracing::info!(queue = %queue, "order consumer started");
            // On shutdown no new message is taken; the batches in hand are finished and acknowledged.
            deliveries
                .take_until(shutdown.cancelled())
                .take_while(|delivery| {
                    if let Err(error) = delivery {
                        tracing::warn!("order consumer lost its channel: {error}");
                    }
                    std::future::ready(delivery.is_ok())
                })
                .filter_map(|delivery| std::future::ready(delivery.ok()))
                .for_each_concurrent(CONCURRENT_BATCHES, |delivery| {
                    handle(
                        &mongo, &broker, &batches, &known, &attempts, &folder, delivery, &shutdown,
                    )
                })
                .await;
            // Closing the channel hands the prefetched, unacknowledged messages back to the queue.
            let _ = channel.close(200, "consumer stopping".into()).await;
        }
        tracing::info!("order consumer stopped");
    })
}

async fn handle(
    mongo: &Mongo,
    broker: &Broker,
    batches: &Batches,
    known: &KnownCustomers,
    attempts: &Attempts,
    folder: &FoldSignal,
    delivery: Delivery,
    shutdown: &CancellationToken,
) {
    let _in_hand = folder.batch_in_hand();
    let message: OrderBatchMessage = match serde_json::from_slice(&delivery.data) {
        Ok(message) => message,
        Err(error) => {
            return dead_letter(broker, delivery, &format!("not an order batch: {error}")).await
        }
    };
    let batch_id = message.batch_id.clone();
    let result = async {
        let started = std::time::Instant::now();
        batches.mark_processing(&batch_id).await?;
        let marked = started.elapsed();
        let outcome = store_batch(mongo, known, &message).await?;
        let stored_at = started.elapsed();
        batches.finish(&batch_id, &outcome).await?;
        tracing::debug!(
            batch = %batch_id,
            mark_ms = marked.as_millis() as u64,
            store_ms = (stored_at - marked).as_millis() as u64,
            finish_ms = (started.elapsed() - stored_at).as_millis() as u64,
            "batch steps"
        );
        Ok::<_, super::store::StoreError>(outcome)
    }
    .await;
    match result {
        Ok(outcome) => {
            attempts.settled(&batch_id);
            folder.batch_stored();
            if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
                // The orders are stored; a redelivery will find them and change nothing.
                tracing::warn!(batch = %batch_id, "acknowledging failed: {error}");
            }
            tracing::info!(
                batch = %batch_id,
                stored = outcome.stored,
                duplicates = outcome.duplicates,
                rejected = outcome.rejected.len(),
                "batch stored"
            );
        }
        Err(error) => {
            let attempt = attempts.failed(&batch_id);
            let give_up = if error.is_permanent() {
                Some(format!("the database refused the batch: {error}"))
            } else if attempt >= MAX_ATTEMPTS {
                Some(format!("not stored after {attempt} attempts: {error}"))
            } else {
                None
            };
            // Dead-lettered only once the batch record says so; while even that fails, it is retried.
            if let Some(reason) = give_up {
                match batches.mark_failed(&batch_id, &reason).await {
                    Ok(()) => {
                        attempts.settled(&batch_id);
                        tracing::error!(batch = %batch_id, "batch failed: {reason}");
                        return dead_letter(broker, delivery, &reason).await;
                    }
                    Err(mark_error) => tracing::warn!(
                        batch = %batch_id,
                        "batch could not be marked failed, will retry: {mark_error}"
                    ),
                }
            }
            tracing::warn!(batch = %batch_id, attempt, "batch not stored, will retry: {error}");
            tokio::select! {
                () = tokio::time::sleep(retry_delay(attempt)) => {},
                () = shutdown.cancelled() => {},
            }
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await;
        }
    }
}

/// Moves a message that can never be processed to the dead-letter queue, with the reason in its headers.
async fn dead_letter(broker: &Broker, delivery: Delivery, reason: &str) {
    tracing::warn!("dead-lettering a message: {reason}");
    let topology = broker.topology();
    let mut headers = FieldTable::default();
    headers.insert(
        "x-realm-reason".into(),
        AMQPValue::LongString(reason.into()),
    );
    let properties = BasicProperties::default().with_headers(headers);
    let parked = broker
        .publish_confirmed(
            &topology.dead_letter_exchange,
            &topology.orders_queue,
            &delivery.data,
            properties,
        )
        .await;
    let settled = match parked {
        Ok(()) => delivery.ack(BasicAckOptions::default()).await,
        // Rejecting without requeue routes it through the queue's dead-letter exchange, without the reason.
        Err(_) => {
            delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    ..BasicNackOptions::default()
                })
                .await
        }
    };
    if let Err(error) = settled {
        tracing::warn!("settling a dead-lettered message failed: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_bound() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(4), Duration::from_secs(8));
        assert_eq!(retry_delay(5), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(MAX_ATTEMPTS), MAX_RETRY_DELAY);
    }
}
