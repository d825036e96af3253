//! The [`Vendor`] trait campaigns are delivered through, [`Transports`] that picks each channel's (SMTP email in
//! `mail`, the SMS webhook in `webhook`), and the built-in simulated vendor for tests and benchmarks: it accepts
//! about 90 % of messages, fails the rest with realistic reasons, takes a realistic time per message, and later
//! reports deliveries, opens and clicks to `POST /api/receipts` like a real vendor's webhook.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    campaigns::model::Channel,
    server::mongo::{collections, Mongo, DUPLICATE_KEY},
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The same for every attempt at one recipient: a vendor accepts a key once, so a retry never sends twice.
    pub idempotency_key: String,
    /// The recipient's communication and its campaign, which tracked links and the `Message-ID` name.
    pub communication: ObjectId,
    pub campaign: ObjectId,
    pub channel: Channel,
    pub to: String,
    /// The recipient's name, shown beside their address.
    pub name: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    /// The campaign's links (see `template::links`), the ones a click may be tracked through.
    pub links: Arc<[String]>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VendorError {
    /// Worth trying again later (a timeout, the vendor's own rate limit).
    #[error("{0}")]
    Transient(String),
    /// The message can never be delivered (no such mailbox, unsubscribed).
    #[error("{0}")]
    Permanent(String),
}

/// Messages a vendor without a batch API has in flight at once for one batch.
const SENDS_AT_ONCE: usize = 16;

#[async_trait]
pub trait Vendor: Send + Sync {
    /// Hands a message over for delivery; answers the vendor's id for it.
    async fn send(&self, message: &OutgoingMessage) -> Result<String, VendorError>;

    /// Hands several messages over, answering for each in their order. A vendor with a batch API takes them in one
    /// request; the others send them side by side.
    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Vec<Result<String, VendorError>> {
        send_each(self, messages).await
    }
}

async fn send_each<V: Vendor + ?Sized>(
    vendor: &V,
    messages: &[OutgoingMessage],
) -> Vec<Result<String, VendorError>> {
    use futures::StreamExt;
    // By position: a closure over a borrowed message would not make a future that is `Send` for every lifetime.
    futures::stream::iter(0..messages.len())
        .map(|i| vendor.send(&messages[i]))
        .buffered(SENDS_AT_ONCE)
        .collect()
        .await
}

/// The transport of each channel: email through SMTP or the simulator, SMS through the simulator.
pub struct Transports {
    pub email: Arc<dyn Vendor>,
    pub sms: Arc<dyn Vendor>,
}

impl Transports {
    fn of(&self, channel: Channel) -> &dyn Vendor {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}

#[async_trait]
impl Vendor for Transports {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, VendorError> {
        self.of(message.channel).send(message).await
    }

    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Vec<Result<String, VendorError>> {
        match messages.first().map(|message| message.channel) {
            Some(channel) if messages.iter().all(|message| message.channel == channel) => {
                self.of(channel).send_batch(messages).await
            }
            _ => send_each(self, messages).await,
        }
    }
}

/// How the simulated vendor behaves; read from `REALM_VENDOR_*` variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatedVendorSettings {
    /// Average time to accept a message; each takes between half and one and a half times this.
    pub latency_ms: u64,
    pub failure_percent: u32,
    /// Of delivered messages, how many are opened; of opened ones, how many are clicked.
    pub open_percent: u32,
    pub click_percent: u32,
    /// Where receipts are posted, and the token that proves they come from the vendor.
    pub receipts_url: String,
    pub receipts_token: String,
}

/// One event about one message, as the vendor reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub receipt_id: String,
    /// The vendor's message id, which is the idempotency key Realm gave.
    pub message_id: String,
    pub event: ReceiptEvent,
    pub at_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptEvent {
    Delivered,
    Opened,
    Clicked,
}

const PERMANENT_FAILURES: [&str; 3] = [
    "mailbox does not exist",
    "recipient unsubscribed at the provider",
    "address rejected as undeliverable",
];
const SMS_PERMANENT_FAILURES: [&str; 2] = ["number not reachable", "number is a landline"];
const TRANSIENT_FAILURES: [&str; 2] = ["provider timed out", "provider rate limit reached"];

/// A stand-in for a real vendor. Its record of accepted messages (in MongoDB, like a vendor's own storage)
/// makes it honour idempotency keys across restarts of the app.
pub struct SimulatedVendor {
    settings: SimulatedVendorSettings,
    mongo: Mongo,
    receipts: mpsc::UnboundedSender<(Duration, Receipt)>,
}

impl SimulatedVendor {
    pub fn start(
        mongo: &Mongo,
        settings: SimulatedVendorSettings,
        shutdown: CancellationToken,
    ) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(report_receipts(receiver, settings.clone(), shutdown));
        Self {
            settings,
            mongo: mongo.clone(),
            receipts: sender,
        }
    }

    fn later(&self, delay: Duration, message_id: &str, event: ReceiptEvent) {
        let receipt = Receipt {
            receipt_id: mongodb::bson::oid::ObjectId::new().to_hex(),
            message_id: message_id.to_owned(),
            event,
            at_ms: 0,
        };
        let _ = self.receipts.send((delay, receipt));
    }
}

/// A stable number from 0 to 99 for a text: a recipient that cannot be reached fails on every attempt.
fn percentile_of(text: &str) -> u32 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    });
    (hash % 100) as u32
}

impl SimulatedVendor {
    /// The vendor's verdict on one message before storing it: two thirds of failures belong to the recipient (every
    /// attempt fails), one third to the moment.
    fn verdict(&self, message: &OutgoingMessage) -> Result<(), VendorError> {
        let permanent_share = self.settings.failure_percent * 2 / 3;
        let recipient = percentile_of(&message.to);
        if recipient < permanent_share {
            let reasons: &[&str] = match message.channel {
                Channel::Email => &PERMANENT_FAILURES,
                Channel::Sms => &SMS_PERMANENT_FAILURES,
            };
            return Err(VendorError::Permanent(
                reasons[recipient as usize % reasons.len()].to_owned(),
            ));
        }
        let transient_roll = rand::thread_rng().gen_range(0..100);
        if transient_roll < self.settings.failure_percent - permanent_share {
            return Err(VendorError::Transient(
                TRANSIENT_FAILURES[transient_roll as usize % 2].to_owned(),
            ));
        }
        Ok(())
    }

    /// Schedules the receipts of a message accepted now: delivered, and maybe opened and clicked.
    fn report_later(&self, message_id: &str) {
        let (delivery_delay, opened, clicked) = {
            let mut random = rand::thread_rng();
            (
                Duration::from_millis(random.gen_range(50..=500) + self.settings.latency_ms),
                random.gen_range(0..100) < self.settings.open_percent,
                random.gen_range(0..100) < self.settings.click_percent,
            )
        };
        self.later(delivery_delay, message_id, ReceiptEvent::Delivered);
        if opened {
            self.later(delivery_delay * 2, message_id, ReceiptEvent::Opened);
            if clicked {
                self.later(delivery_delay * 3, message_id, ReceiptEvent::Clicked);
            }
        }
    }
}

#[async_trait]
impl Vendor for SimulatedVendor {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, VendorError> {
        self.send_batch(std::slice::from_ref(message))
            .await
            .pop()
            .unwrap_or_else(|| Err(VendorError::Transient("no answer".to_owned())))
    }

    /// One request for the whole batch, like a provider's batch API (Postmark takes 500 messages a call, SendGrid
    /// 1,000): one latency and one write of the vendor's records.
    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Vec<Result<String, VendorError>> {
        let latency = self.settings.latency_ms;
        if latency > 0 {
            let latency = rand::thread_rng().gen_range(latency / 2..=latency * 3 / 2);
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let mut answers: Vec<Result<String, VendorError>> = messages
            .iter()
            .map(|message| {
                self.verdict(message)
                    .map(|()| message.idempotency_key.clone())
            })
            .collect();
        let accepted: Vec<usize> = (0..messages.len())
            .filter(|&i| answers[i].is_ok())
            .collect();
        if accepted.is_empty() {
            return answers;
        }
        let now = DateTime::now();
        let records: Vec<Document> = accepted
            .iter()
            .map(|&i| doc! { "_id": &messages[i].idempotency_key, "to": &messages[i].to, "accepted_at": now })
            .collect();
        let reply = self
            .mongo
            .database()
            .run_command(doc! { "insert": collections::VENDOR_MESSAGES, "documents": records, "ordered": false })
            .await;
        // Which of the accepted were taken before (a repeat) or not stored now (answered as a transient failure).
        let mut repeats = Vec::new();
        let mut stored = vec![true; accepted.len()];
        match reply {
            Err(error) => {
                for &i in &accepted {
                    answers[i] = Err(VendorError::Transient(format!(
                        "provider storage error: {error}"
                    )));
                }
                return answers;
            }
            Ok(reply) => {
                for error in reply.get_array("writeErrors").into_iter().flatten() {
                    let Some(error) = error.as_document() else {
                        continue;
                    };
                    let Some(position) = error
                        .get_i32("index")
                        .ok()
                        .map(|i| i as usize)
                        .filter(|&i| i < accepted.len())
                    else {
                        continue;
                    };
                    stored[position] = false;
                    let i = accepted[position];
                    if error.get_i32("code") == Ok(DUPLICATE_KEY) {
                        repeats.push(messages[i].idempotency_key.clone());
                    } else {
                        answers[i] = Err(VendorError::Transient(format!(
                            "provider storage error: {}",
                            error.get_str("errmsg").unwrap_or_default()
                        )));
                    }
                }
            }
        }
        // Accepted before: answered as then, and nothing sent again. Counted, so that tests can tell whether Realm
        // ever handed a message over twice.
        if !repeats.is_empty() {
            let _ = self
                .mongo
                .collection(collections::VENDOR_MESSAGES)
                .update_many(
                    doc! { "_id": { "$in": &repeats } },
                    doc! { "$inc": { "repeat_requests": 1_i64 } },
                )
                .await;
        }
        for (position, &i) in accepted.iter().enumerate() {
            if stored[position] {
                self.report_later(&messages[i].idempotency_key);
            }
        }
        answers
    }
}

/// Most receipts the simulator holds while the app does not take them.
const MAX_WAITING_RECEIPTS: usize = 100_000;

/// Waits out each receipt's delay, then posts whatever is due in one request every quarter second, retrying
/// a batch the app did not take.
async fn report_receipts(
    mut receiver: mpsc::UnboundedReceiver<(Duration, Receipt)>,
    settings: SimulatedVendorSettings,
    shutdown: CancellationToken,
) {
    let client = reqwest::Client::new();
    let mut waiting: Vec<(tokio::time::Instant, Receipt)> = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            received = receiver.recv() => match received {
                Some((delay, receipt)) => waiting.push((tokio::time::Instant::now() + delay, receipt)),
                None => return,
            },
            _ = ticks.tick() => {
                let now = tokio::time::Instant::now();
                let (due, later): (Vec<_>, Vec<_>) = waiting.drain(..).partition(|(at, _)| *at <= now);
                waiting = later;
                if due.is_empty() {
                    continue;
                }
                let at_ms = DateTime::now().timestamp_millis();
                // No request carries more than the receipts route takes: a backlog goes out in several.
                for due in due.chunks(super::receipts::MAX_RECEIPTS_PER_REQUEST) {
                    let receipts: Vec<Receipt> = due.iter().map(|(_, r)| Receipt { at_ms, ..r.clone() }).collect();
                    let sent = client
                        .post(&settings.receipts_url)
                        .header("x-realm-receipts-token", &settings.receipts_token)
                        .json(&serde_json::json!({ "receipts": receipts }))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().is_success() => {}
                        failed => {
                            // Without the URL: it may carry credentials.
                            match failed {
                                Ok(response) => tracing::warn!(status = response.status().as_u16(), "receipts not taken, retrying"),
                                Err(error) => tracing::warn!("receipts not sent, retrying: {}", error.without_url()),
                            }
                            let retry_at = now + Duration::from_secs(1);
                            waiting.extend(due.iter().map(|(_, receipt)| (retry_at, receipt.clone())));
                        }
                    }
                }
                // While the app does not take receipts, what waits is bounded: the excess is dropped, as a provider would.
                if waiting.len() > MAX_WAITING_RECEIPTS {
                    let dropped = waiting.len() - MAX_WAITING_RECEIPTS;
                    waiting.drain(..dropped);
                    tracing::warn!(dropped, "receipts dropped: too many waiting");
                }
            }
        }
    }
}
