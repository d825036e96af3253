//! Bulk order ingestion: submissions are accepted onto the `orders_queue` and stored by a consumer in the same
//! process.

pub mod batches;
pub mod behaviour;
pub mod consumer;
pub mod daily;
pub mod history;
pub mod rest;
pub mod store;
pub mod totals;

use lapin::BasicProperties;
use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    orders::model::{
        check_batch_size, given_order_id, status_url, BatchAccepted, BatchStatus,
        MAX_ORDERS_PER_BATCH,
    },
    server::{broker::PublishError, mongo::is_duplicate_key, state::AppState},
    shared::error::AppError,
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

/// Why a submission was not accepted.
#[derive(Debug)]
pub enum AcceptError {
    Refused(AppError),
    /// RabbitMQ took the message but never confirmed it: the batch may still be stored. Its record says so, and a
    /// resend with the same `Idempotency-Key` stores it exactly once either way.
    Unknown {
        batch_id: String,
        status_url: String,
        message: String,
    },
}

impl From<AppError> for AcceptError {
    fn from(error: AppError) -> Self {
        AcceptError::Refused(error)
    }
}

impl From<mongodb::error::Error> for AcceptError {
    fn from(error: mongodb::error::Error) -> Self {
        AcceptError::Refused(error.into())
    }
}

impl From<AcceptError> for AppError {
    fn from(error: AcceptError) -> Self {
        match error {
            AcceptError::Refused(error) => error,
            AcceptError::Unknown { message, .. } => AppError::Unavailable(message),
        }
    }
}

impl axum::response::IntoResponse for AcceptError {
    fn into_response(self) -> axum::response::Response {
        match self {
            AcceptError::Refused(error) => error.into_response(),
            AcceptError::Unknown {
                batch_id,
                status_url,
                message,
            } => (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({
                    "error": message, "outcome": "unknown", "batch_id": batch_id, "status_url": status_url,
                    "success": false, "message": message,
                })),
            )
                .into_response(),
        }
    }
}

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 200;

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::shared::hex::hex(&Sha256::digest(bytes))
}

/// The batch id a client's `Idempotency-Key` stands for: the same key from the same submitter is the same batch,
/// and so its orders without an id get the same ids again.
fn keyed_batch_id(submitted_by: &str, key: &str) -> Result<String, AppError> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LENGTH
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AppError::invalid(
            "Idempotency-Key",
            format!(
                "Idempotency-Key: use 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters"
            ),
        ));
    }
    Ok(sha256_hex(format!("{submitted_by}\n{key}").as_bytes())[..24].to_owned())
}

/// Records the batch and publishes it to the orders queue, answering only once RabbitMQ has confirmed it.
/// The shared path of `POST /api/orders` and the upload on the Orders page. With an idempotency key, sending the
/// same request again maps to the same batch: a batch already on its way is answered again, not sent twice.
pub async fn accept_batch(
    state: &AppState,
    mut orders: Vec<Value>,
    source: String,
    submitted_by: String,
    idempotency_key: Option<&str>,
) -> Result<BatchAccepted, AcceptError> {
    if let Err(problem) = check_batch_size(&orders) {
        let refusal = if orders.len() > MAX_ORDERS_PER_BATCH {
            AppError::PayloadTooLarge(problem.to_string())
        } else {
            problem.into()
        };
        return Err(refusal.into());
    }
    // Only a keyed request can be resent under its key, so only it needs its content's hash (off the hot path of
    // plain bulk submissions).
    let request_hash = match idempotency_key {
        Some(_) => Some(sha256_hex(
            &serde_json::to_vec(&orders).map_err(|e| AppError::Transport(e.to_string()))?,
        )),
        None => None,
    };

    let batch_id = match idempotency_key {
        Some(key) => keyed_batch_id(&submitted_by, key)?,
        None => ObjectId::new().to_hex(),
    };
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
    let accepted = orders.len() as u64;
    let answer = |batch_id: &str| BatchAccepted {
        status_url: status_url(batch_id),
        batch_id: batch_id.to_owned(),
        accepted,
        success: true,
        message: format!("{accepted} orders accepted for processing"),
    };
    let batches = Batches::new(&state.mongo);
    let record = BatchRecord {
        id: batch_id.clone(),
        status: BatchStatus::Queued,
        total: orders.len() as i64,
        stored: 0,
        duplicates: 0,
        rejected: Vec::new(),
        source,
        submitted_by,
        received_at: DateTime::now(),
        started_at: None,
        finished_at: None,
        error: None,
        totals_applied_at: None,
        request_hash: request_hash.clone(),
    };
    let received_at = match batches.insert(&record).await {
        Ok(()) => record.received_at,
        Err(error) if idempotency_key.is_some() && is_duplicate_key(&error) => {
            let existing = batches.record(&batch_id).await?.ok_or_else(|| {
                AppError::Unavailable("The batch could not be read; try again.".to_owned())
            })?;
            if existing.request_hash != request_hash {
                return Err(AppError::Conflict(
                    "Idempotency-Key: this key was already used for different orders; send new orders with a new key."
                        .to_owned(),
                )
                .into());
            }
            // On the queue already, or stored: answering again is all a resend needs.
            if existing.status != BatchStatus::Failed {
                return Ok(answer(&batch_id));
            }
            batches.requeue(&batch_id).await?;
            existing.received_at
        }
        Err(error) => return Err(error.into()),
    };

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
    match state
        .broker
        .publish_confirmed("", &topology.orders_queue, &payload, properties)
        .await
    {
        Ok(()) => {}
        Err(error @ PublishError::Unknown { .. }) => {
            tracing::error!(batch = %batch_id, "publishing unconfirmed: {error}");
            let note = format!("{error}; the batch is stored if it arrives");
            batches.note_unconfirmed(&batch_id, &note).await?;
            let resend = match idempotency_key {
                Some(_) => "send the same request again with the same Idempotency-Key to make sure it is stored, exactly once",
                None => "check its status before sending the orders again (an Idempotency-Key makes resending safe)",
            };
            return Err(AcceptError::Unknown {
                status_url: status_url(&batch_id),
                message: format!("The outcome of batch {batch_id} is unknown: {error}. Its status is at {}; {resend}.", status_url(&batch_id)),
                batch_id,
            });
        }
        Err(error) => {
            tracing::error!(batch = %batch_id, "publishing failed: {error}");
            batches
                .mark_failed(&batch_id, &format!("not queued: {error}"))
                .await?;
            return Err(AppError::Unavailable(format!(
                "The order queue is unavailable ({error}); nothing was accepted and batch {batch_id} is marked failed. Send the orders again shortly."
            ))
            .into());
        }
    }
    tracing::info!(batch = %batch_id, orders = accepted, "batch queued");
    Ok(answer(&batch_id))
}
