//! The record of each bulk submission and its processing status.

use mongodb::{
    bson::{doc, DateTime},
    options::FindOptions,
    Collection,
};
use serde::{Deserialize, Serialize};

use super::totals::{self, PendingTotals};
use crate::{
    orders::model::{BatchStatus, BatchSummary, RejectedOrder},
    server::mongo::{collections, Mongo},
    shared::error::AppError,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchRecord {
    #[serde(rename = "_id")]
    pub id: String,
    pub status: BatchStatus,
    pub total: i64,
    pub stored: i64,
    pub duplicates: i64,
    pub rejected: Vec<RejectedOrder>,
    pub source: String,
    pub submitted_by: String,
    pub received_at: DateTime,
    // Absent rather than null until set: `$min` treats null as smaller than any date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the batch's orders were added to their customers' and days' totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals_applied_at: Option<DateTime>,
    /// A hash of the submitted orders, to tell a resend under the same idempotency key from different orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_hash: Option<String>,
}

/// What processing one batch came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: Vec<RejectedOrder>,
    /// What the batch's orders add to the customer and day totals.
    pub totals: PendingTotals,
}

fn rfc3339(time: DateTime) -> String {
    time.try_to_rfc3339_string().unwrap_or_default()
}

impl From<BatchRecord> for BatchSummary {
    fn from(record: BatchRecord) -> Self {
        BatchSummary {
            batch_id: record.id,
            status: record.status,
            total: record.total.max(0) as u64,
            stored: record.stored.max(0) as u64,
            duplicates: record.duplicates.max(0) as u64,
            rejected: record.rejected,
            source: record.source,
            received_at: rfc3339(record.received_at),
            started_at: record.started_at.map(rfc3339),
            finished_at: record.finished_at.map(rfc3339),
            processing_ms: record
                .started_at
                .zip(record.finished_at)
                .map(|(started, finished)| {
                    finished.timestamp_millis() - started.timestamp_millis()
                }),
            error: record.error,
            totals_applied_at: record.totals_applied_at.map(rfc3339),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Batches {
    mongo: Mongo,
    batches: Collection<BatchRecord>,
}

impl Batches {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            mongo: mongo.clone(),
            batches: mongo.database().collection(collections::ORDER_BATCHES),
        }
    }

    pub async fn insert(&self, record: &BatchRecord) -> mongodb::error::Result<()> {
        self.batches.insert_one(record).await.map(|_| ())
    }

    pub async fn record(&self, id: &str) -> mongodb::error::Result<Option<BatchRecord>> {
        self.batches.find_one(doc! { "_id": id }).await
    }

    /// A failed batch sent again under its idempotency key goes back on the queue.
    pub async fn requeue(&self, id: &str) -> mongodb::error::Result<()> {
        self.batches
            .update_one(
                doc! { "_id": id, "status": BatchStatus::Failed.label() },
                doc! { "$set": { "status": BatchStatus::Queued.label() }, "$unset": { "error": "", "finished_at": "" } },
            )
            .await
            .map(|_| ())
    }

    /// Publishing was not confirmed: the batch stays queued, since it may well arrive, and says what happened
    /// until it does (finishing clears the note).
    pub async fn note_unconfirmed(&self, id: &str, note: &str) -> mongodb::error::Result<()> {
        self.batches
            .update_one(
                doc! { "_id": id, "status": BatchStatus::Queued.label() },
                doc! { "$set": { "error": note } },
            )
            .await
            .map(|_| ())
    }

    pub async fn mark_failed(&self, id: &str, error: &str) -> mongodb::error::Result<()> {
        self.batches
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "status": BatchStatus::Failed.label(), "error": error, "finished_at": DateTime::now() } },
            )
            .await
            .map(|_| ())
    }

    /// Records that processing began; a batch already finished (a redelivered message) keeps its status.
    pub async fn mark_processing(&self, id: &str) -> mongodb::error::Result<()> {
        let unfinished = [
            BatchStatus::Queued.label(),
            BatchStatus::Processing.label(),
            BatchStatus::Failed.label(),
        ];
        self.batches
            .update_one(
                doc! { "_id": id, "status": { "$in": unfinished.to_vec() } },
                doc! { "$set": { "status": BatchStatus::Processing.label() }, "$min": { "started_at": DateTime::now() } },
            )
            .await
            .map(|_| ())
    }

    /// Writes the outcome, and what the batch adds to the totals for the folder to take in. Processing the same
    /// message again gives the same outcome, so this may run twice: a batch whose totals were already folded in
    /// is not made pending again, and one still pending keeps the part it has.
    pub async fn finish(&self, id: &str, outcome: &BatchOutcome) -> mongodb::error::Result<()> {
        let now = DateTime::now();
        let finished = doc! {
            "status": BatchStatus::finished(outcome.rejected.len()).label(),
            "stored": outcome.stored as i64,
            "duplicates": outcome.duplicates as i64,
            "rejected": mongodb::bson::to_bson(&outcome.rejected)?,
            "finished_at": now,
            "error": null,
        };
        if outcome.totals.is_empty() {
            return self
                .batches
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": finished, "$min": { "started_at": now, "totals_applied_at": now } },
                )
                .await
                .map(|_| ());
        }
        // The part first: the folder takes the parts of pending batches only, so a batch is never pending without
        // its part.
        totals::record_part(&self.mongo, id, &outcome.totals).await?;
        let mut with_totals = finished.clone();
        with_totals.insert("totals_pending", true);
        let not_folded = self
            .batches
            .update_one(
                doc! { "_id": id, "totals_applied_at": { "$exists": false } },
                doc! { "$set": with_totals, "$min": { "started_at": now } },
            )
            .await?;
        if not_folded.matched_count == 0 {
            totals::discard_part(&self.mongo, id).await?;
            self.batches
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": finished, "$min": { "started_at": now } },
                )
                .await?;
        }
        Ok(())
    }

    pub async fn summary(&self, id: &str) -> Result<Option<BatchSummary>, AppError> {
        Ok(self
            .batches
            .find_one(doc! { "_id": id })
            .await?
            .map(BatchSummary::from))
    }

    pub async fn recent(&self, limit: i64) -> Result<Vec<BatchSummary>, AppError> {
        use futures::TryStreamExt;
        let options = FindOptions::builder()
            .sort(doc! { "received_at": -1 })
            .limit(limit)
            .build();
        let records: Vec<BatchRecord> = self
            .batches
            .find(doc! {})
            .with_options(options)
            .await?
            .try_collect()
            .await?;
        Ok(records.into_iter().map(BatchSummary::from).collect())
    }
}
