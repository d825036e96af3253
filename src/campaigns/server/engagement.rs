//! Who was sent, opened or clicked which messages: what segments' engagement conditions ask of the campaigns.
//! A campaign's messages are found through its `campaign_id` index, recent opens and clicks through the sparse
//! `opened_at` / `clicked_at` indexes, which hold only the messages that were opened or clicked. Each message
//! carries its customer's sample bucket, so that an estimate reads only the sample's opens.

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};

use super::Moment;
use crate::{
    customers::server::sampling::{self, Among},
    segments::rules::Engagement,
    server::mongo::{collections, ids_of, Mongo},
    shared::error::AppError,
};

/// The customers who were sent (opened, clicked) a message of a campaign named `campaign`; several campaigns of
/// that name count together, none counts nobody.
pub async fn customers_of_campaign(
    mongo: &Mongo,
    engagement: Engagement,
    campaign: &str,
    among: Among,
    limit: usize,
) -> Result<Vec<ObjectId>, AppError> {
    let campaigns: Vec<ObjectId> = ids_of(
        mongo
            .collection(collections::CAMPAIGNS)
            .find(doc! { "name": campaign })
            .projection(doc! { "_id": 1 })
            .await?,
    )
    .await?;
    if campaigns.is_empty() {
        return Ok(Vec::new());
    }
    let filter = among.narrow(doc! {
        "campaign_id": { "$in": campaigns },
        Moment::from(engagement).field(): { "$type": "date" },
    });
    distinct_customers(mongo, filter, limit).await
}

/// The customers who were sent (opened, clicked) any message since `since`.
pub async fn customers_since(
    mongo: &Mongo,
    engagement: Engagement,
    since: DateTime,
    among: Among,
    limit: usize,
) -> Result<Vec<ObjectId>, AppError> {
    let since = doc! { Moment::from(engagement).field(): { "$gte": since } };
    // Opens are read through the index of buckets and open times; sends and the rarer clicks through their own.
    let filter = match engagement {
        Engagement::Opened => among.bounded(Document::new(), since),
        Engagement::Sent | Engagement::Clicked => among.narrow(since),
    };
    distinct_customers(mongo, filter, limit).await
}

/// The customers of the messages `filter` matches, at most `limit` of them.
async fn distinct_customers(
    mongo: &Mongo,
    filter: Document,
    limit: usize,
) -> Result<Vec<ObjectId>, AppError> {
    let found = mongo
        .collection(collections::COMMUNICATIONS)
        .aggregate([
            doc! { "$match": filter },
            doc! { "$group": { "_id": "$customer_id" } },
            doc! { "$limit": limit as i64 },
        ])
        .await?;
    Ok(ids_of(found).await?)
}

/// Whether every message carries its customer's sample bucket, so that an estimate may read only the sample's.
pub async fn all_bucketed(mongo: &Mongo) -> Result<bool, AppError> {
    sampling::all_bucketed(mongo, collections::COMMUNICATIONS).await
}

/// Gives the messages stored before messages carried sample buckets theirs.
pub async fn fill_sample_buckets(mongo: &Mongo) -> Result<u64, AppError> {
    sampling::fill_buckets_of_customers(mongo, collections::COMMUNICATIONS).await
}
