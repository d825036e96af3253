//! Orders and revenue per UTC day, kept as the consumer stores each batch, so that figures over days read a few
//! dozen small documents instead of scanning the orders. A batch adds to the days once: its marker and its day
//! totals are written in one transaction, so a redelivered batch finds its marker and adds nothing.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use mongodb::{
    bson::{doc, DateTime, Document},
    error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT},
};
use time::{Duration, OffsetDateTime};

use crate::{
    error::AppError,
    orders::DailyOrders,
    server::{
        customers::number,
        mongo::{bson_time, collections, is_duplicate_key, Mongo},
    },
};

const DAY_MS: i64 = 86_400_000;

fn day_of(at: DateTime) -> DateTime {
    DateTime::from_millis(at.timestamp_millis().div_euclid(DAY_MS) * DAY_MS)
}

/// Orders and revenue in cents per day (midnight UTC), of the given order documents.
fn totals_by_day<'a>(
    orders: impl IntoIterator<Item = &'a Document>,
) -> BTreeMap<DateTime, (i64, i64)> {
    let mut days: BTreeMap<DateTime, (i64, i64)> = BTreeMap::new();
    for order in orders {
        let (Ok(at), Ok(amount)) = (
            order.get_datetime("ordered_at"),
            order.get_i64("amount_cents"),
        ) else {
            continue;
        };
        let day = days.entry(day_of(*at)).or_default();
        day.0 += 1;
        day.1 += amount;
    }
    days
}

fn increments(days: &BTreeMap<DateTime, (i64, i64)>) -> Vec<Document> {
    days.iter()
        .map(|(day, (orders, revenue))| {
            doc! {
                "q": { "_id": day },
                "u": { "$inc": { "orders": orders, "revenue_cents": revenue } },
                "upsert": true,
            }
        })
        .collect()
}

/// Concurrent batches mostly add to the same day (today), and two transactions writing one document conflict: the
/// batches of this process take turns, which costs little since each transaction is a handful of writes.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// Retries of a transaction that conflicted with another app instance's.
const MAX_ATTEMPTS: u32 = 8;

/// Adds a batch's orders to their days, unless this batch was added before. `orders` must be every order the batch
/// owns, also those stored by an earlier, interrupted delivery of it.
pub async fn add_batch(
    mongo: &Mongo,
    batch_id: &str,
    orders: &[&Document],
) -> mongodb::error::Result<()> {
    let days = totals_by_day(orders.iter().copied());
    if days.is_empty() {
        return Ok(());
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut attempt = 1;
    loop {
        match add_once(mongo, batch_id, &days).await {
            // Retrying is safe even when a commit's outcome is unknown: a committed batch finds its marker.
            Err(error)
                if attempt < MAX_ATTEMPTS
                    && (error.contains_label(TRANSIENT_TRANSACTION_ERROR)
                        || error.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

async fn add_once(
    mongo: &Mongo,
    batch_id: &str,
    days: &BTreeMap<DateTime, (i64, i64)>,
) -> mongodb::error::Result<()> {
    let database = mongo.database();
    let mut session = database.client().start_session().await?;
    session.start_transaction().await?;
    let marked = mongo
        .collection(collections::ORDER_DAYS_APPLIED)
        .insert_one(doc! { "_id": batch_id, "at": DateTime::now() })
        .session(&mut session)
        .await;
    match marked {
        Ok(_) => {}
        Err(error) if is_duplicate_key(&error) => {
            // The server has already ended the transaction; there is nothing to undo.
            let _ = session.abort_transaction().await;
            return Ok(());
        }
        Err(error) => return Err(error),
    }
    let reply = database
        .run_command(doc! { "update": collections::ORDER_DAYS, "updates": increments(days), "ordered": false })
        .session(&mut session)
        .await?;
    if let Ok(errors) = reply.get_array("writeErrors") {
        if !errors.is_empty() {
            let _ = session.abort_transaction().await;
            return Err(mongodb::error::Error::custom(format!(
                "day totals not updated: {errors:?}"
            )));
        }
    }
    session.commit_transaction().await
}

/// What a rebuild found.
#[derive(Debug)]
pub struct Rebuilt {
    pub days: usize,
    pub batches: usize,
}

/// Recomputes every day from the stored orders and marks every batch that owns orders as added. Meant for when
/// no orders are being ingested: a batch stored during the rebuild may be counted in neither or both.
pub async fn rebuild(mongo: &Mongo) -> Result<Rebuilt, AppError> {
    let orders = mongo.collection(collections::ORDERS);
    let groups: Vec<Document> = orders
        .aggregate([doc! { "$group": {
            "_id": { "$dateTrunc": { "date": "$ordered_at", "unit": "day" } },
            "orders": { "$sum": 1 },
            "revenue_cents": { "$sum": "$amount_cents" },
        } }])
        .await?
        .try_collect()
        .await?;
    let batch_ids: Vec<Document> = orders
        .aggregate([doc! { "$group": { "_id": "$batch_id" } }])
        .await?
        .try_collect()
        .await?;

    let days = mongo.collection(collections::ORDER_DAYS);
    let markers = mongo.collection(collections::ORDER_DAYS_APPLIED);
    days.delete_many(doc! {}).await?;
    markers.delete_many(doc! {}).await?;
    let day_documents: Vec<Document> = groups
        .iter()
        .filter_map(|group| {
            let day = group.get_datetime("_id").ok()?;
            Some(doc! {
                "_id": day,
                "orders": number(group, "orders"),
                "revenue_cents": number(group, "revenue_cents"),
            })
        })
        .collect();
    if !day_documents.is_empty() {
        days.insert_many(&day_documents).await?;
    }
    let now = DateTime::now();
    let marker_documents: Vec<Document> = batch_ids
        .iter()
        .filter_map(|batch| Some(doc! { "_id": batch.get_str("_id").ok()?, "at": now }))
        .collect();
    if !marker_documents.is_empty() {
        markers.insert_many(&marker_documents).await?;
    }
    Ok(Rebuilt {
        days: day_documents.len(),
        batches: marker_documents.len(),
    })
}

/// Orders and revenue for each of the last `days` days (UTC), today included and last, days without orders as
/// zero.
pub async fn per_day(mongo: &Mongo, days: u32) -> Result<Vec<DailyOrders>, AppError> {
    let today = OffsetDateTime::now_utc().date();
    let first_day = today - Duration::days(i64::from(days.max(1)) - 1);
    let start = bson_time(first_day.midnight().assume_utc());
    let mut stored: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
    let mut found = mongo
        .collection(collections::ORDER_DAYS)
        .find(doc! { "_id": { "$gte": start } })
        .await?;
    while let Some(day) = found.try_next().await? {
        if let Ok(at) = day.get_datetime("_id") {
            stored.insert(
                at.timestamp_millis(),
                (
                    number(&day, "orders").max(0) as u64,
                    number(&day, "revenue_cents"),
                ),
            );
        }
    }
    Ok((0..days.max(1))
        .map(|offset| {
            let date = first_day + Duration::days(i64::from(offset));
            let key = bson_time(date.midnight().assume_utc()).timestamp_millis();
            let (orders, revenue_cents) = stored.get(&key).copied().unwrap_or((0, 0));
            DailyOrders {
                day: date.to_string(),
                orders,
                revenue_cents,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_fall_on_their_utc_day() {
        let at = |ms: i64| DateTime::from_millis(ms);
        let orders = [
            doc! { "ordered_at": at(DAY_MS * 3), "amount_cents": 100_i64 },
            doc! { "ordered_at": at(DAY_MS * 4 - 1), "amount_cents": 250_i64 },
            doc! { "ordered_at": at(DAY_MS * 4), "amount_cents": 5_i64 },
            // Before 1970: the day still starts at midnight, not at the nearest one towards zero.
            doc! { "ordered_at": at(-1), "amount_cents": 7_i64 },
        ];
        let days = totals_by_day(orders.iter());
        assert_eq!(days.get(&at(DAY_MS * 3)), Some(&(2, 350)));
        assert_eq!(days.get(&at(DAY_MS * 4)), Some(&(1, 5)));
        assert_eq!(days.get(&at(-DAY_MS)), Some(&(1, 7)));
        assert_eq!(days.len(), 3);
    }
}
