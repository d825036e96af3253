//! A fixed random sample of customers, for estimating a segment's size while its rule is edited. Each customer
//! carries a `sample_key` in `0..SAMPLE_KEYS`, a hash of their email set when they are created; the customers whose
//! key is below a bound form a sample of that share of everyone, the same one every time, found through an index.
//! Counting a rule over about [`SAMPLE_TARGET`] sampled customers and scaling by the sample's share costs the same
//! at a thousand customers as at a million; exact counts stay exact elsewhere.

use std::{future::IntoFuture, time::Duration};

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    customers::{
        model::AudienceEstimate,
        server::{audience, growth},
    },
    server::{
        mongo::{all_of, collections, update_all, Mongo},
        tasks,
    },
    shared::{
        error::AppError,
        time::{now_ms, DAY_MS},
    },
};

/// Sample keys run from 0 to this (excluded): a sample is any share of customers in steps of 0.01 %.
pub const SAMPLE_KEYS: i32 = 10_000;
/// About how many customers an estimate counts. Below this many customers in all, it counts everyone.
pub const SAMPLE_TARGET: u64 = 10_000;
/// The index of the sample keys.
pub const SAMPLE_INDEX: &str = "sample_key";
/// Customers given their key at a time when keys are filled in.
const FILL_BATCH: usize = 1_000;

/// A customer's sample key: FNV-1a of their (normalised) email, so that it is spread evenly, never changes and
/// needs no coordination between instances.
pub fn sample_key(email: &str) -> i32 {
    let hash = email.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % SAMPLE_KEYS as u64) as i32
}

/// How many keys the sample takes out of [`SAMPLE_KEYS`] for `customers` customers: about [`SAMPLE_TARGET`] of
/// them, or all.
pub fn sample_keys_for(customers: u64) -> i32 {
    if customers <= SAMPLE_TARGET {
        return SAMPLE_KEYS;
    }
    let keys = (SAMPLE_TARGET * SAMPLE_KEYS as u64).div_ceil(customers);
    keys.clamp(1, SAMPLE_KEYS as u64) as i32
}

/// About how many customers match `filter`, from the fixed sample, with its margin of error.
pub async fn estimate(mongo: &Mongo, filter: Document) -> Result<AudienceEstimate, AppError> {
    let customers = mongo.collection(collections::CUSTOMERS);
    let total = growth::total(mongo, now_ms()).await?;
    let keys = sample_keys_for(total);
    if keys == SAMPLE_KEYS {
        return Ok(AudienceEstimate::exact(
            audience::count(mongo, filter).await?,
        ));
    }
    let in_sample = doc! { "sample_key": { "$lt": keys } };
    // Customers whose key is still being filled in are outside the sample; counting the sample itself keeps the
    // scale right while they are.
    // No index hint: SecantusDB answers a hinted count ten times slower, and picks the sample's index itself.
    let (sampled, matched) = futures::try_join!(
        customers.count_documents(in_sample.clone()).into_future(),
        customers
            .count_documents(all_of([in_sample, filter]))
            .into_future(),
    )?;
    Ok(AudienceEstimate::scaled(matched, sampled, total))
}

/// Gives every customer stored without a sample key (before keys existed) theirs, in one pass over them. Meant to
/// run in the background at start; the estimate stays right while it does, on a smaller sample.
pub async fn fill_missing(mongo: &Mongo) -> Result<u64, AppError> {
    let customers = mongo.collection(collections::CUSTOMERS);
    let unkeyed = customers
        .find(doc! { "sample_key": { "$exists": false } })
        .projection(doc! { "email": 1 })
        .batch_size(FILL_BATCH as u32)
        .await?;
    let mut batches = unkeyed.try_chunks(FILL_BATCH);
    let mut filled = 0;
    while let Some(batch) = batches.try_next().await.map_err(|error| error.1)? {
        let updates: Vec<Document> = batch
            .iter()
            .filter_map(|customer| {
                let (id, email) = (
                    customer.get_object_id("_id").ok()?,
                    customer.get_str("email").ok()?,
                );
                Some(doc! {
                    "q": { "_id": id, "sample_key": { "$exists": false } },
                    "u": { "$set": { "sample_key": sample_key(email) } },
                })
            })
            .collect();
        if !updates.is_empty() {
            update_all(mongo, None, collections::CUSTOMERS, &updates).await?;
            filled += updates.len() as u64;
        }
    }
    Ok(filled)
}

/// Fills in missing sample keys at start and once a day after (customers written into the database by hand).
pub fn spawn(mongo: Mongo, shutdown: CancellationToken) -> JoinHandle<()> {
    let stop = shutdown.clone();
    tasks::every(
        Duration::from_millis(DAY_MS as u64),
        shutdown,
        "sample keys not filled in",
        move || {
            let (mongo, stop) = (mongo.clone(), stop.clone());
            async move {
                // What was filled in before a stop stays filled in.
                tokio::select! {
                    () = stop.cancelled() => Ok(()),
                    filled = fill_missing(&mongo) => {
                        let filled = filled?;
                        if filled > 0 {
                            tracing::info!(customers = filled, "sample keys filled in");
                        }
                        Ok(())
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_keys_are_spread_evenly_over_emails() {
        let mut per_tenth = [0_u32; 10];
        for i in 0..100_000 {
            let key = sample_key(&format!("customer{i}@example.com"));
            assert!((0..SAMPLE_KEYS).contains(&key));
            per_tenth[(key / 1_000) as usize] += 1;
        }
        // 10,000 expected in each tenth; 4 standard deviations is about ±380.
        for count in per_tenth {
            assert!((9_600..=10_400).contains(&count), "{per_tenth:?}");
        }
        assert_eq!(sample_key("ada@example.com"), sample_key("ada@example.com"));
    }

    #[test]
    fn the_sample_takes_about_the_target_or_everyone() {
        assert_eq!(sample_keys_for(0), SAMPLE_KEYS);
        assert_eq!(sample_keys_for(SAMPLE_TARGET), SAMPLE_KEYS);
        assert_eq!(sample_keys_for(1_000_000), 100);
        assert_eq!(sample_keys_for(3_000_000), 34);
        assert_eq!(sample_keys_for(u64::MAX), 1);
    }
}
