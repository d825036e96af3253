//! Who was sent, opened or clicked which messages: what segments' engagement conditions ask of the campaigns.
//! A campaign's messages are found through its `campaign_id` index, recent opens and clicks through the sparse
//! `opened_at` / `clicked_at` indexes, which hold only the messages that were opened or clicked.

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};

use crate::{
    segments::rules::Engagement,
    server::mongo::{collections, Mongo},
    shared::error::AppError,
};

fn event_field(engagement: Engagement) -> &'static str {
    match engagement {
        Engagement::Sent => "sent_at",
        Engagement::Opened => "opened_at",
        Engagement::Clicked => "clicked_at",
    }
}

/// The customers who were sent (opened, clicked) a message of a campaign named `campaign`; several campaigns of
/// that name count together, none counts nobody. With `customer`, only that customer's messages are read.
pub async fn customers_of_campaign(
    mongo: &Mongo,
    engagement: Engagement,
    campaign: &str,
    customer: Option<ObjectId>,
    limit: usize,
) -> Result<Vec<ObjectId>, AppError> {
    let campaigns: Vec<ObjectId> = mongo
        .collection(collections::CAMPAIGNS)
        .find(doc! { "name": campaign })
        .projection(doc! { "_id": 1 })
        .await?
        .try_filter_map(|found| async move { Ok(found.get_object_id("_id").ok()) })
        .try_collect()
        .await?;
    if campaigns.is_empty() {
        return Ok(Vec::new());
    }
    let mut filter = doc! {
        "campaign_id": { "$in": campaigns },
        event_field(engagement): { "$type": "date" },
    };
    if let Some(customer) = customer {
        filter.insert("customer_id", customer);
    }
    distinct_customers(mongo, filter, limit).await
}

/// The customers who were sent (opened, clicked) any message since `since`.
pub async fn customers_since(
    mongo: &Mongo,
    engagement: Engagement,
    since: DateTime,
    customer: Option<ObjectId>,
    limit: usize,
) -> Result<Vec<ObjectId>, AppError> {
    let mut filter = doc! { event_field(engagement): { "$gte": since } };
    if let Some(customer) = customer {
        filter.insert("customer_id", customer);
    }
    distinct_customers(mongo, filter, limit).await
}

/// The customers of the messages `filter` matches, at most `limit` of them.
async fn distinct_customers(
    mongo: &Mongo,
    filter: Document,
    limit: usize,
) -> Result<Vec<ObjectId>, AppError> {
    mongo
        .collection(collections::COMMUNICATIONS)
        .aggregate([
            doc! { "$match": filter },
            doc! { "$group": { "_id": "$customer_id" } },
            doc! { "$limit": limit as i64 },
        ])
        .await?
        .try_filter_map(|found| async move { Ok(found.get_object_id("_id").ok()) })
        .try_collect()
        .await
        .map_err(AppError::from)
}
