//! Customer totals and order totals per UTC day, kept behind the consumer rather than in its acknowledgement unit.
//!
//! The consumer stores what a batch adds (per customer and per day) as a document of its own, keyed by the batch,
//! before it marks the batch's record as pending. A background task folds every pending batch into the customers
//! and days in one transaction, which also removes the part and clears the mark: a batch is added exactly once,
//! however often its message is redelivered and however many app instances fold at once (concurrent folds
//! conflict and one retries). The part is kept apart from the batch record because it is large (about 90 KB for
//! 1,000 customers) and written once, while the record is small and read and rewritten all through processing. Folding
//! many batches at once turns a customer seen in several of them into one update, which is what makes bulk
//! ingestion fast: updating a customer (four indexed totals) costs many times what inserting an order does.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use mongodb::{
    bson::{doc, oid::ObjectId, Bson, DateTime, Document},
    error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT},
    ClientSession,
};
use serde::{Deserialize, Serialize};
use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::customers::server::of_orders;
use crate::server::mongo::{collections, is_duplicate_key, update_all, Mongo};
use crate::shared::time::DAY_MS;

/// The UTC day an order falls on, as its midnight.
pub fn day_of(at: DateTime) -> DateTime {
    DateTime::from_millis(at.timestamp_millis().div_euclid(DAY_MS) * DAY_MS)
}

/// What one batch (or several) adds to one customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPart {
    pub customer_id: ObjectId,
    pub spend_cents: i64,
    pub orders: i64,
    pub first_order_at: DateTime,
    pub last_order_at: DateTime,
}

/// What one batch (or several) adds to one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPart {
    pub day: DateTime,
    pub orders: i64,
    pub revenue_cents: i64,
}

/// What a batch adds to the totals, as kept on its record until it is folded in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTotals {
    #[serde(default)]
    pub customers: Vec<CustomerPart>,
    #[serde(default)]
    pub days: Vec<DayPart>,
}

impl PendingTotals {
    /// What the given order documents add. They must be every order the batch owns, also those stored by an
    /// earlier, interrupted delivery of it, so that each delivery computes the same part.
    pub fn of_orders<'a>(orders: impl IntoIterator<Item = &'a Document>) -> Self {
        let mut sum = Sum::default();
        for order in orders {
            let (Ok(customer_id), Ok(amount), Ok(at)) = (
                order.get_object_id("customer_id"),
                order.get_i64("amount_cents"),
                order.get_datetime("ordered_at"),
            ) else {
                continue;
            };
            sum.add_customer(&CustomerPart {
                customer_id,
                spend_cents: amount,
                orders: 1,
                first_order_at: *at,
                last_order_at: *at,
            });
            sum.add_day(&DayPart {
                day: day_of(*at),
                orders: 1,
                revenue_cents: amount,
            });
        }
        sum.into_parts()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty() && self.days.is_empty()
    }
}

/// Parts added up: one entry per customer and per day.
#[derive(Default)]
struct Sum {
    customers: HashMap<ObjectId, CustomerPart>,
    days: BTreeMap<DateTime, DayPart>,
}

impl Sum {
    fn add_customer(&mut self, part: &CustomerPart) {
        let entry = self
            .customers
            .entry(part.customer_id)
            .or_insert_with(|| CustomerPart {
                spend_cents: 0,
                orders: 0,
                ..part.clone()
            });
        entry.spend_cents += part.spend_cents;
        entry.orders += part.orders;
        entry.first_order_at = entry.first_order_at.min(part.first_order_at);
        entry.last_order_at = entry.last_order_at.max(part.last_order_at);
    }

    fn add_day(&mut self, part: &DayPart) {
        let entry = self.days.entry(part.day).or_insert_with(|| DayPart {
            orders: 0,
            revenue_cents: 0,
            ..part.clone()
        });
        entry.orders += part.orders;
        entry.revenue_cents += part.revenue_cents;
    }

    fn add(&mut self, totals: &PendingTotals) {
        totals
            .customers
            .iter()
            .for_each(|part| self.add_customer(part));
        totals.days.iter().for_each(|part| self.add_day(part));
    }

    fn into_parts(self) -> PendingTotals {
        let mut customers: Vec<CustomerPart> = self.customers.into_values().collect();
        customers.sort_by_key(|part| part.customer_id);
        PendingTotals {
            customers,
            days: self.days.into_values().collect(),
        }
    }
}

/// Pending batches folded in one transaction, oldest first.
const MAX_BATCHES_PER_FOLD: i64 = 200;
/// A fold stops taking batches once it updates this many customers, to keep its transaction a moderate size.
const MAX_CUSTOMERS_PER_FOLD: usize = 50_000;
/// Retries of a fold that conflicted with another instance's fold or another write to the same customers.
const MAX_ATTEMPTS: u32 = 8;

/// The folder gives way to ingestion, which it would otherwise slow down: it starts a round once the consumer has
/// had no batch in hand for `QUIET`, or once it has waited `MAX_WAIT`, whichever comes first. Customer totals so
/// follow a round after ingestion pauses, and at most `MAX_WAIT` plus a round behind under steady load.
const QUIET: Duration = Duration::from_millis(200);
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How often the folder looks for pending batches it was not told about: stored by another instance, or before a
/// restart.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// What the consumer tells the folder: that a batch was stored, and how many it has in hand.
#[derive(Clone, Default)]
pub struct FoldSignal {
    stored: Arc<Notify>,
    in_hand: Arc<AtomicUsize>,
}

impl FoldSignal {
    /// A notice sent while the folder is busy is kept for its next round.
    pub fn batch_stored(&self) {
        self.stored.notify_one();
    }

    /// Counts a batch as in hand until the guard is dropped.
    pub fn batch_in_hand(&self) -> BatchInHand {
        self.in_hand.fetch_add(1, Ordering::SeqCst);
        BatchInHand(self.clone())
    }

    fn consumer_busy(&self) -> bool {
        self.in_hand.load(Ordering::SeqCst) > 0
    }

    /// Waits for a moment when ingestion is quiet, for at most `MAX_WAIT`; false on shutdown.
    async fn quiet_moment(&self, shutdown: &CancellationToken) -> bool {
        let waiting_since = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(QUIET) => {
                    if !self.consumer_busy() {
                        return true;
                    }
                }
                () = self.stored.notified() => {}
            }
            if waiting_since.elapsed() >= MAX_WAIT {
                return true;
            }
        }
    }
}

pub struct BatchInHand(FoldSignal);

impl Drop for BatchInHand {
    fn drop(&mut self) {
        self.0.in_hand.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The background task folding pending batches in. On shutdown it finishes the round in hand; whatever is still
/// pending stays on the batch records for the next start.
pub fn spawn(mongo: Mongo, signal: FoldSignal, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut sweeps = tokio::time::interval(SWEEP_EVERY);
        sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = signal.stored.notified() => {}
                _ = sweeps.tick() => {}
            }
            if !signal.quiet_moment(&shutdown).await {
                return;
            }
            match fold_pending(&mongo).await {
                Ok(round) => {
                    if round.batches > 0 {
                        tracing::debug!(batches = round.batches, "batch totals folded in");
                    }
                    // A backlog larger than one round is taken in the next, after the next quiet moment.
                    if round.more_pending {
                        signal.batch_stored();
                    }
                }
                Err(error) => tracing::warn!("batch totals not folded in, will retry: {error}"),
            }
        }
    })
}

/// What one round of folding did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldRound {
    /// Batches folded in (0: none was pending).
    pub batches: usize,
    /// Whether batches may be pending beyond what one round takes.
    pub more_pending: bool,
}

/// Folds the oldest pending batches into the customer and day totals, as many as one round takes.
pub async fn fold_pending(mongo: &Mongo) -> mongodb::error::Result<FoldRound> {
    let mut attempt = 1;
    loop {
        match fold_once(mongo).await {
            // Safe to retry even when a commit's outcome is unknown: a committed fold left nothing pending to
            // fold again.
            Err(error)
                if attempt < MAX_ATTEMPTS
                    && (error.contains_label(TRANSIENT_TRANSACTION_ERROR)
                        || error.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)) =>
            {
                tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

async fn fold_once(mongo: &Mongo) -> mongodb::error::Result<FoldRound> {
    let database = mongo.database();
    let mut session = database.client().start_session().await?;
    session.start_transaction().await?;
    let pending = pending_batches(
        mongo,
        &mut session,
        Some(MAX_BATCHES_PER_FOLD),
        doc! { "customers": 1, "days": 1 },
    )
    .await?;
    let mut more_pending = pending.len() as i64 == MAX_BATCHES_PER_FOLD;
    let mut sum = Sum::default();
    let mut folded = Vec::new();
    for (batch_id, totals) in pending {
        if !folded.is_empty()
            && sum.customers.len() + totals.customers.len() > MAX_CUSTOMERS_PER_FOLD
        {
            more_pending = true;
            break;
        }
        sum.add(&totals);
        folded.push(batch_id);
    }
    if folded.is_empty() {
        session.abort_transaction().await?;
        return Ok(FoldRound {
            batches: 0,
            more_pending: false,
        });
    }
    let totals = sum.into_parts();

    of_orders::add_order_totals(
        mongo,
        &mut session,
        totals.customers.iter().map(|part| of_orders::OrderTotals {
            customer: part.customer_id,
            spend_cents: part.spend_cents,
            orders: part.orders,
            first_order_at: part.first_order_at,
            last_order_at: part.last_order_at,
        }),
    )
    .await?;
    let day_updates: Vec<Document> = totals
        .days
        .iter()
        .map(|part| {
            doc! {
                "q": { "_id": part.day },
                "u": { "$inc": { "orders": part.orders, "revenue_cents": part.revenue_cents } },
                "upsert": true,
            }
        })
        .collect();
    if !day_updates.is_empty() {
        update_all(
            mongo,
            Some(&mut session),
            collections::ORDER_DAYS,
            &day_updates,
        )
        .await?;
    }
    mongo
        .collection(collections::ORDER_BATCHES)
        .update_many(
            doc! { "_id": { "$in": &folded }, "totals_pending": true },
            doc! {
                "$unset": { "totals_pending": "", "pending_totals": "" },
                "$set": { "totals_applied_at": DateTime::now() },
            },
        )
        .session(&mut session)
        .await?;
    mongo
        .collection(collections::BATCH_TOTALS)
        .delete_many(doc! { "_id": { "$in": &folded } })
        .session(&mut session)
        .await?;
    session.commit_transaction().await?;
    Ok(FoldRound {
        batches: folded.len(),
        more_pending,
    })
}

/// Sends `updates` as one `update` command in the session's transaction; a refused statement fails the whole
/// transaction.
/// Stores what a batch adds to the totals. Storing the same part again (a redelivered message computes the same
/// one) changes nothing.
pub async fn record_part(
    mongo: &Mongo,
    batch_id: &str,
    totals: &PendingTotals,
) -> mongodb::error::Result<()> {
    let mut part = doc! { "_id": batch_id };
    part.extend(mongodb::bson::to_document(totals)?);
    match mongo
        .collection(collections::BATCH_TOTALS)
        .insert_one(part)
        .await
    {
        Err(error) if !is_duplicate_key(&error) => Err(error),
        _ => Ok(()),
    }
}

/// Removes a part stored again for a batch that was already folded in; the folder never reads it, since it takes
/// only the parts of batches marked pending.
pub async fn discard_part(mongo: &Mongo, batch_id: &str) -> mongodb::error::Result<()> {
    mongo
        .collection(collections::BATCH_TOTALS)
        .delete_one(doc! { "_id": batch_id })
        .await
        .map(|_| ())
}

/// The pending batches, oldest first, with what each adds (the fields of the part in `projection`), read in
/// `session`. A batch marked pending whose part is not stored yet is left for a later round. Records written
/// before the parts had a collection of their own carry the part as `pending_totals`.
async fn pending_batches(
    mongo: &Mongo,
    session: &mut ClientSession,
    limit: Option<i64>,
    projection: Document,
) -> mongodb::error::Result<Vec<(String, PendingTotals)>> {
    let legacy_projection: Document = projection
        .keys()
        .map(|key| (format!("pending_totals.{key}"), 1.into()))
        .collect();
    let options = mongodb::options::FindOptions::builder()
        .sort(doc! { "totals_pending": 1, "received_at": 1 })
        .limit(limit)
        .projection(legacy_projection)
        .build();
    let mut cursor = mongo
        .collection(collections::ORDER_BATCHES)
        .find(doc! { "totals_pending": true })
        .with_options(options)
        .session(&mut *session)
        .await?;
    let mut batches: Vec<(String, Option<Document>)> = Vec::new();
    while let Some(batch) = cursor.next(&mut *session).await.transpose()? {
        if let Ok(id) = batch.get_str("_id") {
            let legacy = batch.get_document("pending_totals").ok().cloned();
            batches.push((id.to_owned(), legacy));
        }
    }
    let ids: Vec<&str> = batches.iter().map(|(id, _)| id.as_str()).collect();
    let mut parts = HashMap::new();
    let mut cursor = mongo
        .collection(collections::BATCH_TOTALS)
        .find(doc! { "_id": { "$in": &ids } })
        .projection(projection)
        .session(&mut *session)
        .await?;
    while let Some(mut part) = cursor.next(&mut *session).await.transpose()? {
        if let Some(Bson::String(id)) = part.remove("_id") {
            parts.insert(id, part);
        }
    }
    let mut pending = Vec::with_capacity(batches.len());
    for (id, legacy) in batches {
        if let Some(part) = parts.remove(&id).or(legacy) {
            pending.push((id, mongodb::bson::from_document(part)?));
        }
    }
    Ok(pending)
}

/// Orders and revenue per day of the batches not folded in yet, read in `session`: readers that want exact day
/// figures add these to the stored days, in the same snapshot.
pub async fn pending_days(
    mongo: &Mongo,
    session: &mut ClientSession,
) -> mongodb::error::Result<Vec<DayPart>> {
    let mut sum = Sum::default();
    let days_only = doc! { "days": 1 };
    for (_, totals) in pending_batches(mongo, session, None, days_only).await? {
        totals.days.iter().for_each(|part| sum.add_day(part));
    }
    Ok(sum.into_parts().days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime {
        DateTime::from_millis(ms)
    }

    #[test]
    fn orders_fall_on_their_utc_day() {
        let customer = ObjectId::new();
        let order = |ms: i64, cents: i64| {
            doc! { "customer_id": customer, "ordered_at": at(ms), "amount_cents": cents }
        };
        let orders = [
            order(DAY_MS * 3, 100),
            order(DAY_MS * 4 - 1, 250),
            order(DAY_MS * 4, 5),
            // Before 1970: the day still starts at midnight, not at the nearest one towards zero.
            order(-1, 7),
        ];
        let days = PendingTotals::of_orders(orders.iter()).days;
        let day = |ms: i64| {
            days.iter()
                .find(|part| part.day == at(ms))
                .map(|p| (p.orders, p.revenue_cents))
        };
        assert_eq!(day(DAY_MS * 3), Some((2, 350)));
        assert_eq!(day(DAY_MS * 4), Some((1, 5)));
        assert_eq!(day(-DAY_MS), Some((1, 7)));
        assert_eq!(days.len(), 3);
    }

    #[test]
    fn parts_of_several_batches_add_up_per_customer_and_day() {
        let (ada, bob) = (ObjectId::new(), ObjectId::new());
        let order = |customer: ObjectId, ms: i64, cents: i64| {
            doc! { "customer_id": customer, "ordered_at": at(ms), "amount_cents": cents }
        };
        let first = PendingTotals::of_orders(
            [order(ada, DAY_MS * 2, 100), order(bob, DAY_MS * 5, 40)].iter(),
        );
        let second =
            PendingTotals::of_orders([order(ada, DAY_MS, 30), order(ada, DAY_MS * 9, 1)].iter());
        let mut sum = Sum::default();
        sum.add(&first);
        sum.add(&second);
        let totals = sum.into_parts();
        let ada_part = totals
            .customers
            .iter()
            .find(|p| p.customer_id == ada)
            .unwrap();
        assert_eq!(
            (
                ada_part.spend_cents,
                ada_part.orders,
                ada_part.first_order_at,
                ada_part.last_order_at
            ),
            (131, 3, at(DAY_MS), at(DAY_MS * 9))
        );
        let bob_part = totals
            .customers
            .iter()
            .find(|p| p.customer_id == bob)
            .unwrap();
        assert_eq!((bob_part.spend_cents, bob_part.orders), (40, 1));
        assert_eq!(totals.days.len(), 4);
        assert_eq!(totals.days.iter().map(|d| d.orders).sum::<i64>(), 4);
    }

    #[test]
    fn orders_without_a_customer_amount_or_date_add_nothing() {
        let orders = [doc! { "amount_cents": 5_i64, "ordered_at": at(0) }];
        assert!(PendingTotals::of_orders(orders.iter()).is_empty());
    }
}
