//! Bulk order ingestion: submissions are accepted onto the `orders_queue` and stored by a consumer in the same
//! process.

pub mod api;
pub mod batches;
pub mod consumer;
pub mod daily;
pub mod history;
pub mod store;
pub mod totals;

use lapin::BasicProperties;
use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    error::AppError,
    orders::{
        check_batch_size, given_order_id, status_url, BatchAccepted, BatchStatus,
        MAX_ORDERS_PER_BATCH,
    },
    server::state::AppState,
};
use batches::{BatchRecord, Batches};

/// One submission on the queue. Everything the consumer needs to store it the same way on every redelivery:
/// orders without an id were given one, and orders without a date take `received_at_ms`.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderBatchMessage {
    pub batch_id: String,
    pub received_at_ms: i64,
    pub orders: Vec<Value>,
}

/// Records the batch and publishes it to the orders queue, answering only once RabbitMQ has confirmed it.
/// The shared path of `POST /api/orders` and the upload on the Orders page.
pub async fn accept_batch(
    state: &AppState,
    mut orders: Vec<Value>,
    source: String,
    submitted_by: String,
) -> Result<BatchAccepted, AppError> {
    if orders.len() > MAX_ORDERS_PER_BATCH {
        return Err(AppError::PayloadTooLarge(
            check_batch_size(&orders).unwrap_err(),
        ));
    }
    check_batch_size(&orders).map_err(|message| AppError::invalid("orders", message))?;

    let batch_id = ObjectId::new().to_hex();
    // An id assigned here, before publishing, is the same on every redelivery: that is what lets the consumer
    // recognise an order it has already stored.
    for (index, order) in orders.iter_mut().enumerate() {
        if given_order_id(order).is_none() {
            if let Some(fields) = order.as_object_mut() {
                fields.insert(
                    "order_id".to_owned(),
                    Value::String(format!("{batch_id}-{index}")),
                );
            }
        }
    }
    let received_at = DateTime::now();
    let batches = Batches::new(&state.mongo);
    batches
        .insert(&BatchRecord {
            id: batch_id.clone(),
            status: BatchStatus::Queued,
            total: orders.len() as i64,
            stored: 0,
            duplicates: 0,
            rejected: Vec::new(),
            source,
            submitted_by,
            received_at,
            started_at: None,
            finished_at: None,
            error: None,
            totals_applied_at: None,
        })
        .await?;

    let accepted = orders.len() as u64;
    let message = OrderBatchMessage {
        batch_id: batch_id.clone(),
        received_at_ms: received_at.timestamp_millis(),
        orders,
    };
    let payload = serde_json::to_vec(&message).map_err(|e| AppError::Transport(e.to_string()))?;
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_message_id(batch_id.as_str().into());
    let topology = state.broker.topology();
    if let Err(error) = state
        .broker
        .publish_confirmed("", &topology.orders_queue, &payload, properties)
        .await
    {
        tracing::error!(batch = %batch_id, "publishing failed: {error}");
        batches
            .mark_failed(&batch_id, &format!("not queued: {error}"))
            .await?;
        return Err(AppError::Unavailable(format!(
            "The order queue is unavailable ({error}); nothing was accepted and batch {batch_id} is marked failed. Send the orders again shortly."
        )));
    }
    tracing::info!(batch = %batch_id, orders = accepted, "batch queued");
    Ok(BatchAccepted {
        status_url: status_url(&batch_id),
        batch_id,
        accepted,
    })
}
