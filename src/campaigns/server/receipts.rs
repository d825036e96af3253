//! `POST /api/receipts`: the vendor's reports of deliveries, opens and clicks. Each request is applied in one
//! database command. Applying a receipt sets its event's time only where none is set yet, so a receipt sent twice
//! counts once.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::vendor::{Receipt, ReceiptEvent};
use crate::{server::state::AppState, shared::error::AppError};

pub const MAX_RECEIPTS_PER_REQUEST: usize = 10_000;

#[derive(Deserialize)]
pub struct ReceiptBatch {
    receipts: Vec<Receipt>,
}

#[derive(Serialize)]
pub struct Applied {
    received: usize,
    /// Receipts that changed a message; repeats and receipts for unknown messages change nothing.
    applied: u64,
}

/// Whether the request carries the vendor's token, compared in constant time so that response times do not
/// reveal how much of a guess was right.
fn from_the_vendor(headers: &HeaderMap, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    headers
        .get("x-realm-receipts-token")
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Applied>), AppError> {
    // The token before the body: a stranger's request costs no parsing.
    if !from_the_vendor(&headers, &state.receipts_token) {
        return Err(AppError::Unauthorized(
            "Receipts need the vendor's x-realm-receipts-token header.".to_owned(),
        ));
    }
    let batch: ReceiptBatch = serde_json::from_slice(&body)
        .map_err(|error| AppError::invalid("receipts", format!("receipts: {error}")))?;
    if batch.receipts.len() > MAX_RECEIPTS_PER_REQUEST {
        return Err(AppError::PayloadTooLarge(format!(
            "at most {MAX_RECEIPTS_PER_REQUEST} receipts per request"
        )));
    }
    let received = batch.receipts.len();
    let applied = apply(&state.mongo, &batch.receipts).await?;
    Ok((StatusCode::OK, Json(Applied { received, applied })))
}

/// Receipts of Realm's own observation (a tracked open or click, a provider's event) for one communication, now.
pub fn observed_now(communication: ObjectId, events: &[ReceiptEvent]) -> Vec<Receipt> {
    let at_ms = DateTime::now().timestamp_millis();
    events
        .iter()
        .map(|event| Receipt {
            receipt_id: ObjectId::new().to_hex(),
            message_id: communication.to_hex(),
            event: *event,
            at_ms,
        })
        .collect()
}

/// Applies receipts in one command; a receipt whose message id is not an id changes nothing.
pub async fn apply(
    mongo: &crate::server::mongo::Mongo,
    receipts: &[Receipt],
) -> Result<u64, AppError> {
    super::update_communications(mongo, statements(receipts)).await
}

/// The statements that apply `receipts`. Receipts of one event at one time (a vendor's batch, reported together)
/// share statements of up to [`super::STATEMENT_MESSAGES`] messages, which costs the database a fraction of one
/// statement per message.
fn statements(receipts: &[Receipt]) -> Vec<Document> {
    grouped(receipts)
        .into_iter()
        .flat_map(|((event, at_ms), ids)| {
            let field = super::Moment::from(event).field();
            ids.chunks(super::STATEMENT_MESSAGES)
                .map(|ids| {
                    doc! {
                        "q": { "_id": { "$in": ids }, field: null },
                        "u": { "$set": { field: DateTime::from_millis(at_ms) } },
                        "multi": true,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The messages of the receipts, by event and time, in the order each pair first comes.
fn grouped(receipts: &[Receipt]) -> Vec<((ReceiptEvent, i64), Vec<ObjectId>)> {
    let mut groups: Vec<((ReceiptEvent, i64), Vec<ObjectId>)> = Vec::new();
    let mut index: std::collections::HashMap<(ReceiptEvent, i64), usize> =
        std::collections::HashMap::new();
    for receipt in receipts {
        let Ok(id) = ObjectId::parse_str(&receipt.message_id) else {
            continue;
        };
        let key = (receipt.event, receipt.at_ms);
        let at = *index.entry(key).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(id);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_is_the_vendors() {
        let with = |token: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-realm-receipts-token", token.parse().unwrap());
            headers
        };
        assert!(from_the_vendor(&with("s3cret"), "s3cret"));
        assert!(!from_the_vendor(&with("s3cre"), "s3cret"));
        assert!(!from_the_vendor(&with("s3cret!"), "s3cret"));
        assert!(!from_the_vendor(&HeaderMap::new(), "s3cret"));
    }

    #[test]
    fn receipts_of_one_event_at_one_time_share_a_statement() {
        let (a, b) = (ObjectId::new(), ObjectId::new());
        let receipt = |id: &ObjectId, event, at_ms| Receipt {
            receipt_id: ObjectId::new().to_hex(),
            message_id: id.to_hex(),
            event,
            at_ms,
        };
        let receipts = [
            receipt(&a, ReceiptEvent::Delivered, 10),
            receipt(&b, ReceiptEvent::Delivered, 10),
            receipt(&a, ReceiptEvent::Opened, 10),
            receipt(&b, ReceiptEvent::Delivered, 11),
            Receipt {
                message_id: "not an id".to_owned(),
                ..receipt(&a, ReceiptEvent::Clicked, 10)
            },
        ];
        assert_eq!(
            grouped(&receipts),
            vec![
                ((ReceiptEvent::Delivered, 10), vec![a, b]),
                ((ReceiptEvent::Opened, 10), vec![a]),
                ((ReceiptEvent::Delivered, 11), vec![b]),
            ]
        );
    }

    #[test]
    fn a_large_batch_of_one_event_is_applied_a_hundred_messages_per_statement() {
        let receipts: Vec<Receipt> = (0..250)
            .map(|_| Receipt {
                receipt_id: ObjectId::new().to_hex(),
                message_id: ObjectId::new().to_hex(),
                event: ReceiptEvent::Delivered,
                at_ms: 10,
            })
            .collect();
        let sizes: Vec<usize> = statements(&receipts)
            .iter()
            .map(|statement| {
                let query = statement.get_document("q").unwrap();
                assert_eq!(query.get("delivered_at"), Some(&mongodb::bson::Bson::Null));
                super::super::messages_named(statement)
            })
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
    }
}
