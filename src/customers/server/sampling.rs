//! A fixed random sample of customers, for estimating a segment's size while its rule is edited. Each customer
//! carries a `sample_key` in `0..SAMPLE_KEYS`, a hash of their email set when they are created; the customers whose
//! key is below a bound form a sample of that share of everyone, the same one every time, found through an index
//! of the lowest keys.
//! Counting a rule over about [`SAMPLE_TARGET`] sampled customers and scaling by the sample's share costs the same
//! at a thousand customers as at a million; exact counts stay exact elsewhere. Orders and messages carry their
//! customer's bucket of keys ([`KEYS_PER_BUCKET`] keys each), so that an estimate of a rule on behaviour reads only
//! the sample's buckets.

use std::{sync::Arc, time::Duration};

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    customers::{
        model::AudienceEstimate,
        server::{audience, growth, of_orders},
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
/// The keys the sample's index holds: a tenth of the customers. Every sample from 100,000 customers up lies
/// within it (at a million the sample is the lowest 100 keys). Below that, the sample is found by reading the
/// customers, fewer than 100,000 (tens of milliseconds), and no import writes the nine entries in ten no estimate
/// would read.
pub const INDEXED_KEYS: i32 = 1_000;
/// The index of the sample keys below [`INDEXED_KEYS`].
pub const SAMPLE_INDEX: &str = "sample_key_partial";
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

/// Sample keys per bucket. Orders and messages carry their customer's bucket (`sample_bucket`) rather than their
/// key: SecantusDB bounds an index scan by a range on a later field (the date) only after equal earlier fields, so
/// a lookup reads the sample's orders as one bounded scan per bucket, a handful of them, not one per key.
pub const KEYS_PER_BUCKET: i32 = 100;

/// The bucket of the customer with this email, as their orders and messages carry it.
pub fn sample_bucket(email: &str) -> i32 {
    sample_key(email) / KEYS_PER_BUCKET
}

/// The buckets that hold the keys below `keys`.
fn buckets_of(keys: i32) -> i32 {
    (keys + KEYS_PER_BUCKET - 1) / KEYS_PER_BUCKET
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

/// The sample an estimate counts at the moment: the customers whose key is below `keys`, out of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    keys: i32,
    total: u64,
}

impl Sample {
    pub async fn current(mongo: &Mongo) -> Result<Self, AppError> {
        let total = growth::total(mongo, now_ms()).await?;
        Ok(Self {
            keys: sample_keys_for(total),
            total,
        })
    }

    /// Whose orders and messages an estimate's lookups need read: the sample's, or everyone's when the sample is
    /// everyone.
    pub fn among(self) -> Among {
        if self.keys == SAMPLE_KEYS {
            Among::Everyone
        } else {
            Among::Sample(self.keys)
        }
    }

    /// About how many customers match the filter `filter` gives, with its margin of error. The sample is counted
    /// while the filter is worked out (its lookups take the longest).
    pub async fn estimate(
        self,
        mongo: &Mongo,
        filter: impl std::future::Future<Output = Result<Document, AppError>>,
    ) -> Result<AudienceEstimate, AppError> {
        let Among::Sample(keys) = self.among() else {
            return Ok(AudienceEstimate::exact(
                audience::count(mongo, filter.await?).await?,
            ));
        };
        let customers = mongo.collection(collections::CUSTOMERS);
        let in_sample = doc! { "sample_key": { "$lt": keys } };
        // Customers whose key is still being filled in are outside the sample; counting the sample itself keeps
        // the scale right while they are.
        // No index hint: SecantusDB answers a hinted count ten times slower, and picks the sample's index itself.
        let matched = async {
            let filter = filter.await?;
            Ok::<_, AppError>(
                customers
                    .count_documents(all_of([in_sample.clone(), filter]))
                    .await?,
            )
        };
        let (sampled, matched) = futures::try_join!(
            async { Ok::<_, AppError>(customers.count_documents(in_sample.clone()).await?) },
            matched,
        )?;
        Ok(AudienceEstimate::scaled(matched, sampled, self.total))
    }
}

/// Whose orders or messages a lookup for a segment reads. Orders and messages carry their customer's id and
/// sample bucket for this.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Among {
    #[default]
    Everyone,
    /// These customers' (sorted): one customer, to tell whether they belong to a segment, or the few that a
    /// group's narrower conditions left, whose orders and messages alone the group's other lookups then read.
    Customers(Arc<[ObjectId]>),
    /// The sample's, the customers whose key is below this: an estimate. The lookup reads the buckets that hold
    /// those keys, perhaps a few customers more, whom the estimate's count of the sample leaves out.
    Sample(i32),
}

impl Among {
    /// One customer's orders or messages.
    pub fn customer(id: ObjectId) -> Self {
        Among::Customers(Arc::from([id]))
    }

    /// A filter on the orders or messages read through an index of `first`'s fields (equal tests), the sample
    /// bucket, then `then`'s (a range), or of the customers then `then`: one bounded scan per bucket, or one scan
    /// per customer. SecantusDB picks an index by the order of a filter's fields, so the caller says which test
    /// leads.
    pub fn bounded(&self, first: Document, then: Document) -> Document {
        let joined = |leading: Document, middle: Document| {
            let mut filter = leading;
            filter.extend(first.clone());
            filter.extend(middle);
            filter.extend(then.clone());
            filter
        };
        match self {
            Among::Everyone => joined(Document::new(), Document::new()),
            Among::Customers(ids) => match &ids[..] {
                [id] => joined(doc! { "customer_id": id }, Document::new()),
                // SecantusDB reads each customer's orders whole here, whatever the dates: measured on a million
                // orders, 0.34 s for 5,000 customers, where an `$or` of one bounded scan each took 13 s.
                ids => joined(doc! { "customer_id": { "$in": ids } }, Document::new()),
            },
            Among::Sample(keys) => {
                let mut each: Vec<Document> = (0..buckets_of(*keys))
                    .map(|bucket| joined(Document::new(), doc! { "sample_bucket": bucket }))
                    .collect();
                // One bounded index scan per bucket; a range of buckets would scan each bucket whole.
                if each.len() == 1 {
                    each.remove(0)
                } else {
                    doc! { "$or": each }
                }
            }
        }
    }

    /// `filter` narrowed to these customers' orders or messages, for a lookup that no index of sample buckets
    /// serves (product names, a campaign's messages): the sample's are picked out of those it reads.
    pub fn narrow(&self, filter: Document) -> Document {
        match self {
            Among::Everyone => filter,
            Among::Customers(_) => self.bounded(Document::new(), filter),
            Among::Sample(keys) => {
                let mut filter = filter;
                filter.insert("sample_bucket", doc! { "$lt": buckets_of(*keys) });
                filter
            }
        }
    }
}

/// Whether every document of `collection` (orders, messages) carries its customer's sample bucket: until then an
/// estimate reads everyone's. Found through the collection's index led by `sample_bucket`, where a missing one is
/// indexed as null.
pub async fn all_bucketed(mongo: &Mongo, collection: &str) -> Result<bool, AppError> {
    let unkeyed = mongo
        .collection(collection)
        .find_one(doc! { "sample_bucket": null })
        .projection(doc! { "_id": 1 })
        .await?;
    Ok(unkeyed.is_none())
}

/// Gives each document of `collection` (orders, messages: anything with a `customer_id`) stored without its
/// customer's sample bucket that bucket, in one pass; the feature owning the collection calls it. Answers how many
/// documents it looked at.
pub async fn fill_buckets_of_customers(mongo: &Mongo, collection: &str) -> Result<u64, AppError> {
    let unkeyed = mongo
        .collection(collection)
        .find(doc! { "sample_bucket": null })
        .projection(doc! { "customer_id": 1 })
        .batch_size(FILL_BATCH as u32)
        .await?;
    let mut batches = unkeyed.try_chunks(FILL_BATCH);
    let mut seen = 0;
    while let Some(batch) = batches.try_next().await.map_err(|error| error.1)? {
        seen += batch.len() as u64;
        let mut ids: Vec<ObjectId> = batch
            .iter()
            .filter_map(|document| document.get_object_id("customer_id").ok())
            .collect();
        ids.sort();
        ids.dedup();
        let updates: Vec<Document> = of_orders::existing(mongo, &ids)
            .await?
            .into_iter()
            .map(|customer| {
                doc! {
                    "q": { "customer_id": customer.id, "sample_bucket": null },
                    "u": { "$set": { "sample_bucket": customer.sample_bucket } },
                    "multi": true,
                }
            })
            .collect();
        if !updates.is_empty() {
            update_all(mongo, None, collection, &updates).await?;
        }
    }
    Ok(seen)
}

/// Gives every customer stored without a sample key (before keys existed) theirs, in one pass over them. Meant to
/// run in the background at start; the estimate stays right while it does, on a smaller sample. No index holds a
/// missing key, so finding them reads the customers (0.38 s at a million on SecantusDB).
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

/// Fills in missing sample keys at start and once a day after (customers written into the database by hand), then
/// those of the orders and messages, which carry their customer's.
pub fn spawn(mongo: Mongo, shutdown: CancellationToken) -> JoinHandle<()> {
    let stop = shutdown.clone();
    tasks::every(
        Duration::from_millis(DAY_MS as u64),
        shutdown,
        "sample keys not filled in",
        move || {
            let (mongo, stop) = (mongo.clone(), stop.clone());
            async move {
                let fill = async {
                    let customers = fill_missing(&mongo).await?;
                    let orders =
                        crate::orders::server::behaviour::fill_sample_buckets(&mongo).await?;
                    let messages =
                        crate::campaigns::server::engagement::fill_sample_buckets(&mongo).await?;
                    if customers + orders + messages > 0 {
                        tracing::info!(
                            customers,
                            orders,
                            messages,
                            "sample keys and buckets filled in"
                        );
                    }
                    Ok(())
                };
                // What was filled in before a stop stays filled in.
                tokio::select! {
                    () = stop.cancelled() => Ok(()),
                    filled = fill => filled,
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
    fn a_lookup_reads_the_buckets_that_hold_the_sample_one_bounded_scan_each() {
        let window = doc! { "ordered_at": { "$gte": 1 } };
        let sku = doc! { "items.sku": "MUG" };
        assert_eq!(
            Among::Sample(100).bounded(sku.clone(), window.clone()),
            doc! { "items.sku": "MUG", "sample_bucket": 0, "ordered_at": { "$gte": 1 } }
        );
        assert_eq!(
            Among::Sample(150).bounded(Document::new(), window.clone()),
            doc! { "$or": [
                { "sample_bucket": 0, "ordered_at": { "$gte": 1 } },
                { "sample_bucket": 1, "ordered_at": { "$gte": 1 } },
            ] }
        );
        let (customer, other) = (ObjectId::new(), ObjectId::new());
        assert_eq!(
            Among::customer(customer).bounded(sku.clone(), window.clone()),
            doc! { "customer_id": customer, "items.sku": "MUG", "ordered_at": { "$gte": 1 } }
        );
        assert_eq!(
            Among::Customers(Arc::from([customer, other])).bounded(Document::new(), window.clone()),
            doc! { "customer_id": { "$in": [customer, other] }, "ordered_at": { "$gte": 1 } }
        );
        // Nobody left: a filter that matches nothing, through the index of customers.
        assert_eq!(
            Among::Customers(Arc::from([])).bounded(sku.clone(), window.clone()),
            doc! { "customer_id": { "$in": [] }, "items.sku": "MUG", "ordered_at": { "$gte": 1 } }
        );
        assert_eq!(
            Among::Everyone.bounded(sku.clone(), window.clone()),
            doc! { "items.sku": "MUG", "ordered_at": { "$gte": 1 } }
        );
        assert_eq!(
            sample_bucket("ada@example.com"),
            sample_key("ada@example.com") / 100
        );
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
