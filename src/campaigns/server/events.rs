//! `POST /api/webhooks/email-events`: what a mail provider reports after a message left Realm (delivered,
//! bounced, complained, opened, clicked), in one documented generic shape, signed like Realm's own webhooks
//! (`X-Realm-Signature: sha256=<hex HMAC-SHA256 of the body under REALM_WEBHOOK_SECRET>`). A hard bounce or a
//! complaint withdraws the customer's email consent, so no later campaign sends to that address again.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::{vendor::ReceiptEvent, webhook::signed_by};
use crate::{
    campaigns::model::Channel,
    customers::{model::Consent, server::Customers},
    server::{mongo::collections, state::AppState},
    shared::error::AppError,
};

const MAX_EVENTS_PER_REQUEST: usize = 10_000;
const MAX_REASON_LENGTH: usize = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Delivered,
    Bounced,
    Complained,
    Opened,
    Clicked,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bounce {
    /// The address does not exist: never again.
    #[default]
    Hard,
    /// A full mailbox, a server down: recorded, nothing more.
    Soft,
}

#[derive(Debug, Deserialize)]
pub struct EmailEvent {
    /// The `Message-ID` Realm gave the message (with or without angle brackets), or its communication id.
    pub message_id: String,
    pub event: EventKind,
    #[serde(default)]
    pub bounce: Bounce,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize)]
pub struct EventBatch {
    events: Vec<EmailEvent>,
}

#[derive(Serialize)]
pub struct Applied {
    received: usize,
    /// Events that named a message Realm sent.
    matched: usize,
}

/// The communication a provider's message id names: Realm's `Message-ID` is `<{communication id}@{domain}>`.
pub fn communication_of(message_id: &str) -> Option<ObjectId> {
    let id = message_id.trim().trim_start_matches('<');
    ObjectId::parse_str(id.split(['@', '>']).next()?).ok()
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Applied>), AppError> {
    let Some(secret) = state.webhook_secret.as_deref() else {
        return Err(AppError::NotFound(
            "Email events are not taken: set REALM_WEBHOOK_SECRET to receive them.".to_owned(),
        ));
    };
    // The signature before the body: a stranger's request costs no parsing.
    let signature = headers
        .get("x-realm-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !signed_by(secret.as_bytes(), &body, signature) {
        return Err(AppError::Unauthorized(
            "Email events need an X-Realm-Signature made with the webhook secret.".to_owned(),
        ));
    }
    let batch: EventBatch = serde_json::from_slice(&body)
        .map_err(|error| AppError::invalid("events", format!("events: {error}")))?;
    if batch.events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(AppError::PayloadTooLarge(format!(
            "at most {MAX_EVENTS_PER_REQUEST} events per request"
        )));
    }
    let received = batch.events.len();
    let mut matched = 0;
    for event in &batch.events {
        let Some(communication) = communication_of(&event.message_id) else {
            continue;
        };
        if apply(&state, communication, event).await? {
            matched += 1;
        }
    }
    Ok((StatusCode::OK, Json(Applied { received, matched })))
}

/// Records one event; answers whether it named a message Realm sent.
async fn apply(
    state: &AppState,
    communication: ObjectId,
    event: &EmailEvent,
) -> Result<bool, AppError> {
    let mongo = &state.mongo;
    let Some(sent) = mongo
        .collection(collections::COMMUNICATIONS)
        .find_one(doc! { "_id": communication })
        .projection(doc! { "customer_id": 1, "campaign_id": 1 })
        .await?
    else {
        return Ok(false);
    };
    let receipts = |events: &[ReceiptEvent]| super::receipts::observed_now(communication, events);
    let reason: String = event
        .reason
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(MAX_REASON_LENGTH)
        .collect();
    match (event.event, event.bounce) {
        (EventKind::Delivered, _) => {
            super::receipts::apply(mongo, &receipts(&[ReceiptEvent::Delivered])).await?;
        }
        (EventKind::Opened, _) => {
            super::receipts::apply(
                mongo,
                &receipts(&[ReceiptEvent::Delivered, ReceiptEvent::Opened]),
            )
            .await?;
        }
        (EventKind::Clicked, _) => {
            let all = [
                ReceiptEvent::Delivered,
                ReceiptEvent::Opened,
                ReceiptEvent::Clicked,
            ];
            super::receipts::apply(mongo, &receipts(&all)).await?;
        }
        (EventKind::Bounced, Bounce::Soft) => {
            mark(mongo, communication, "soft_bounced_at", &reason).await?;
        }
        (EventKind::Bounced, Bounce::Hard) => {
            mark(mongo, communication, "bounced_at", &reason).await?;
            withdraw(
                state,
                &sent,
                Consent::Bounced,
                &format!("hard bounce: {reason}"),
            )
            .await?;
        }
        (EventKind::Complained, _) => {
            mark(mongo, communication, "complained_at", &reason).await?;
            withdraw(
                state,
                &sent,
                Consent::Complained,
                "marked a campaign email as spam",
            )
            .await?;
        }
    }
    Ok(true)
}

async fn mark(
    mongo: &crate::server::mongo::Mongo,
    communication: ObjectId,
    field: &str,
    reason: &str,
) -> Result<(), AppError> {
    mongo
        .collection(collections::COMMUNICATIONS)
        .update_one(
            doc! { "_id": communication, field: null },
            doc! { "$set": { field: DateTime::now(), "event_reason": reason } },
        )
        .await?;
    Ok(())
}

async fn withdraw(
    state: &AppState,
    sent: &Document,
    consent: Consent,
    via: &str,
) -> Result<(), AppError> {
    if let Ok(customer) = sent.get_object_id("customer_id") {
        Customers::new(&state.mongo)
            .set_consent(customer, Channel::Email, consent, via)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_id_names_its_communication_with_or_without_brackets() {
        let id = ObjectId::new();
        for given in [
            format!("<{}@shop.example>", id.to_hex()),
            format!("{}@shop.example", id.to_hex()),
            id.to_hex(),
        ] {
            assert_eq!(communication_of(&given), Some(id), "{given}");
        }
        assert_eq!(communication_of("<abc@shop.example>"), None);
    }
}
