//! Orders and revenue per UTC day, so that figures over days read a few dozen small documents instead of scanning
//! the orders. The folder in `totals` adds each stored batch to its days; readers add the batches not folded in
//! yet, so the figures are exact as soon as a batch is stored.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use mongodb::bson::{doc, DateTime, Document};
use time::{Duration, OffsetDateTime};

use super::totals;
use crate::{
    orders::model::DailyOrders,
    server::mongo::{bson_time, collections, number, Mongo},
    shared::error::AppError,
};

/// What a rebuild did.
#[derive(Debug)]
pub struct Rebuilt {
    pub days: usize,
    /// Pending batches folded in first.
    pub folded_batches: usize,
}

/// Recomputes every day from the stored orders, after folding in the pending batches (whose orders the rebuild
/// counts). Meant for when no orders are being ingested and the queue is drained: a batch stored during the
/// rebuild may be counted twice.
pub async fn rebuild(mongo: &Mongo) -> Result<Rebuilt, AppError> {
    let mut folded_batches = 0;
    loop {
        match totals::fold_pending(mongo).await?.batches {
            0 => break,
            folded => folded_batches += folded,
        }
    }
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
    let days = mongo.collection(collections::ORDER_DAYS);
    days.delete_many(doc! {}).await?;
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
    Ok(Rebuilt {
        days: day_documents.len(),
        folded_batches,
    })
}

/// Orders and revenue of each stored day from `start` on (every day without one), keyed by the day's start in
/// milliseconds, the batches not folded in yet included.
async fn days_from(
    mongo: &Mongo,
    start: Option<DateTime>,
) -> Result<BTreeMap<i64, (u64, i64)>, AppError> {
    let mut stored: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
    // One snapshot for the stored days and the pending batches: a fold committing in between would otherwise
    // count its batches twice or not at all.
    let mut session = mongo.database().client().start_session().await?;
    session.start_transaction().await?;
    let filter = start.map_or_else(Document::new, |start| doc! { "_id": { "$gte": start } });
    let mut found = mongo
        .collection(collections::ORDER_DAYS)
        .find(filter)
        .session(&mut session)
        .await?;
    while let Some(day) = found.next(&mut session).await.transpose()? {
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
    for part in totals::pending_days(mongo, &mut session).await? {
        if start.is_none_or(|start| part.day >= start) {
            let day = stored.entry(part.day.timestamp_millis()).or_default();
            day.0 += part.orders.max(0) as u64;
            day.1 += part.revenue_cents;
        }
    }
    session.commit_transaction().await?;
    Ok(stored)
}

/// How many orders are stored: every order falls on a day, so the sum of the days is exact, and reads a few
/// hundred small documents a year of orders instead of counting the orders.
pub async fn total(mongo: &Mongo) -> Result<u64, AppError> {
    Ok(days_from(mongo, None)
        .await?
        .values()
        .map(|(orders, _)| orders)
        .sum())
}

/// Orders and revenue for each of the last `days` days (UTC), today included and last, days without orders as
/// zero.
pub async fn per_day(mongo: &Mongo, days: u32) -> Result<Vec<DailyOrders>, AppError> {
    let today = OffsetDateTime::now_utc().date();
    let first_day = today - Duration::days(i64::from(days.max(1)) - 1);
    let stored = days_from(mongo, Some(bson_time(first_day.midnight().assume_utc()))).await?;
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
