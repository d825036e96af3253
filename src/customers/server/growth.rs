//! New customers per hour, behind the dashboard's "new in 7 / 30 days". A customer's `created_at` is set once, to
//! the moment they were created, and customers are never deleted, so an hour's count never changes once the hour
//! is over. Each closed hour is counted once from the `created_at` index and kept in `customer_hours`; only the
//! hours still open and the part of an hour a window starts in are counted when asked. A first paint then reads at
//! most 720 small documents and counts about two hours of arrivals, however many customers there are.
//!
//! The total is kept the same way: the customers created before a recent hour start are counted once and carried
//! forward hour by hour, so a total counts only the hour or two since.

use std::{collections::HashMap, time::Duration};

use futures::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, DateTime, Document};
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    server::{
        mongo::{collections, read_as, Mongo},
        tasks,
    },
    shared::{
        error::AppError,
        time::{now_ms, DAY_MS, HOUR_MS},
    },
};

/// An hour is closed this long after it ended: another instance whose clock is behind may still be creating
/// customers in it until then.
const GRACE_MS: i64 = 5 * 60_000;
/// Hours counted at once when some are missing.
const COUNTS_AT_ONCE: usize = 4;
/// How far back the keeper counts closed hours ahead of the first paint: the dashboard's longest window.
const KEPT_DAYS: i64 = 31;

fn hour_floor(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// Customers created in `[from, until)`, or from `from` on.
async fn count_created(mongo: &Mongo, from: i64, until: Option<i64>) -> Result<u64, AppError> {
    let mut range = doc! { "$gte": DateTime::from_millis(from) };
    if let Some(until) = until {
        range.insert("$lt", DateTime::from_millis(until));
    }
    Ok(mongo
        .collection(collections::CUSTOMERS)
        .count_documents(doc! { "created_at": range })
        .await?)
}

/// How many customers were created at or after `since_ms`, as of `now_ms`.
pub async fn created_since(mongo: &Mongo, since_ms: i64, now_ms: i64) -> Result<u64, AppError> {
    let first_whole_hour = hour_floor(since_ms + HOUR_MS - 1);
    let open_from = hour_floor(now_ms - GRACE_MS);
    if first_whole_hour >= open_from {
        return count_created(mongo, since_ms, None).await;
    }
    let (head, closed, open) = futures::try_join!(
        count_created(mongo, since_ms, Some(first_whole_hour)),
        closed_hours(mongo, first_whole_hour, open_from),
        count_created(mongo, open_from, None),
    )?;
    Ok(head + closed + open)
}

/// When the first customer was created, if there is one.
async fn first_created_at(mongo: &Mongo) -> Result<Option<i64>, AppError> {
    Ok(mongo
        .collection(collections::CUSTOMERS)
        .find_one(doc! { "created_at": { "$type": "date" } })
        .sort(doc! { "created_at": 1 })
        .projection(doc! { "created_at": 1, "_id": 0 })
        .await?
        .and_then(|customer| customer.get_datetime("created_at").ok().copied())
        .map(|at| at.timestamp_millis()))
}

/// Customers created in the closed hours starting in `[from, until)` (both hour starts): the kept counts, and the
/// missing ones counted now and kept.
async fn closed_hours(mongo: &Mongo, from: i64, until: i64) -> Result<u64, AppError> {
    let hours = mongo.collection(collections::CUSTOMER_HOURS);
    #[derive(Deserialize)]
    struct KeptHour {
        #[serde(rename = "_id")]
        start: DateTime,
        created: i64,
    }
    let kept: HashMap<i64, u64> = hours
        .find(doc! { "_id": { "$gte": DateTime::from_millis(from), "$lt": DateTime::from_millis(until) } })
        .await?
        .try_collect::<Vec<Document>>()
        .await?
        .into_iter()
        .map(|hour| {
            let hour: KeptHour = read_as("count of new customers", hour)?;
            Ok((hour.start.timestamp_millis(), hour.created.max(0) as u64))
        })
        .collect::<Result<_, AppError>>()?;
    let mut missing: Vec<i64> = (from..until)
        .step_by(HOUR_MS as usize)
        .filter(|start| !kept.contains_key(start))
        .collect();
    if !missing.is_empty() {
        // Hours that ended before the first customer was created hold nobody, and need no count.
        let first_created = first_created_at(mongo).await?;
        missing.retain(|start| first_created.is_some_and(|first| start + HOUR_MS > first));
    }
    let counted: Vec<u64> = futures::stream::iter(missing)
        .map(|start| {
            let hours = hours.clone();
            async move {
                let created = count_created(mongo, start, Some(start + HOUR_MS)).await?;
                // Every instance counts the same number for a closed hour, so a race between two only rewrites it.
                hours
                    .update_one(
                        doc! { "_id": DateTime::from_millis(start) },
                        doc! { "$set": { "created": created as i64 } },
                    )
                    .upsert(true)
                    .await?;
                Ok::<_, AppError>(created)
            }
        })
        .buffer_unordered(COUNTS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(kept.values().sum::<u64>() + counted.iter().sum::<u64>())
}

/// The kept count of customers created before `until` (an hour start), or without a creation time.
#[derive(Deserialize)]
struct CreatedBefore {
    until: DateTime,
    customers: i64,
}

const CREATED_BEFORE: &str = "created_before";

/// How many customers there are, as of `now_ms`: the kept count of those created before the open hours, moved up
/// to them first if hours have closed since, and the open hours counted.
pub async fn total(mongo: &Mongo, now_ms: i64) -> Result<u64, AppError> {
    let open_from = hour_floor(now_ms - GRACE_MS);
    let counts = mongo.collection(collections::CUSTOMER_COUNT);
    let kept: Option<CreatedBefore> = counts
        .find_one(doc! { "_id": CREATED_BEFORE })
        .await?
        .map(|kept| read_as("count of customers", kept))
        .transpose()?;
    let (until, before) = match kept {
        // Another instance whose clock is ahead may have moved it past this one's open hours.
        Some(kept) if kept.until.timestamp_millis() >= open_from => {
            (kept.until.timestamp_millis(), kept.customers.max(0) as u64)
        }
        Some(kept) => {
            let from = kept.until.timestamp_millis();
            let before =
                kept.customers.max(0) as u64 + closed_hours(mongo, from, open_from).await?;
            // Only from where it was read: an instance that moved it meanwhile counted the same hours.
            counts
                .update_one(
                    doc! { "_id": CREATED_BEFORE, "until": kept.until },
                    doc! { "$set": { "until": DateTime::from_millis(open_from), "customers": before as i64 } },
                )
                .await?;
            (open_from, before)
        }
        None => {
            let before = mongo
                .collection(collections::CUSTOMERS)
                .count_documents(doc! { "$or": [
                    { "created_at": { "$lt": DateTime::from_millis(open_from) } },
                    { "created_at": null },
                ] })
                .await?;
            counts
                .update_one(
                    doc! { "_id": CREATED_BEFORE },
                    doc! { "$setOnInsert": { "until": DateTime::from_millis(open_from), "customers": before as i64 } },
                )
                .upsert(true)
                .await?;
            (open_from, before)
        }
    };
    Ok(before + count_created(mongo, until, None).await?)
}

/// Forgets every kept count; each is counted again when next needed (after customers were changed by hand).
pub async fn forget(mongo: &Mongo) -> Result<u64, AppError> {
    mongo
        .collection(collections::CUSTOMER_COUNT)
        .delete_many(doc! {})
        .await?;
    Ok(mongo
        .collection(collections::CUSTOMER_HOURS)
        .delete_many(doc! {})
        .await?
        .deleted_count)
}

/// Counts the closed hours of the last month and moves the total up once an hour in the background, so that first
/// paints find them kept.
pub fn spawn(mongo: Mongo, shutdown: CancellationToken) -> JoinHandle<()> {
    let stop = shutdown.clone();
    tasks::every(
        Duration::from_millis(HOUR_MS as u64),
        shutdown,
        "new customers per hour not counted",
        move || {
            let (mongo, stop) = (mongo.clone(), stop.clone());
            async move {
                let now = now_ms();
                let from = hour_floor(now - KEPT_DAYS * DAY_MS);
                // A month of hours takes a while on a busy database: stopping the app does not wait for it, and what
                // was kept so far stays right.
                let keep = async {
                    closed_hours(&mongo, from, hour_floor(now - GRACE_MS)).await?;
                    total(&mongo, now).await
                };
                tokio::select! {
                    () = stop.cancelled() => Ok(()),
                    kept = keep => kept.map(drop),
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_start_on_the_hour_also_before_1970() {
        assert_eq!(hour_floor(HOUR_MS * 5 + 1), HOUR_MS * 5);
        assert_eq!(hour_floor(HOUR_MS * 5), HOUR_MS * 5);
        assert_eq!(hour_floor(-1), -HOUR_MS);
    }
}
