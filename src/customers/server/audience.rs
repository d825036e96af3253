//! Customers matching a filter compiled from a segment's rule: what segments (sizes, samples, members, profiles)
//! and campaigns (the audience they freeze) ask of customers. Other features never read the collection themselves.

use futures::{Stream, StreamExt, TryStreamExt};
use mongodb::{
    bson::{doc, oid::ObjectId, Document},
    Collection,
};

use super::{customer_row, StoredCustomer};
use crate::{
    customers::model::CustomerRow,
    server::mongo::{all_of, collections, Mongo},
    shared::error::AppError,
};

fn customers(mongo: &Mongo) -> Collection<Document> {
    mongo.collection(collections::CUSTOMERS)
}

/// How many customers match.
pub async fn count(mongo: &Mongo, filter: Document) -> Result<u64, AppError> {
    Ok(customers(mongo).count_documents(filter).await?)
}

/// Whether `customer` matches.
pub async fn contains(
    mongo: &Mongo,
    customer: ObjectId,
    filter: Document,
) -> Result<bool, AppError> {
    Ok(customers(mongo)
        .count_documents(all_of([doc! { "_id": customer }, filter]))
        .limit(1)
        .await?
        > 0)
}

/// Up to `size` of the matching customers, as the list shows them.
pub async fn sample(
    mongo: &Mongo,
    filter: Document,
    size: i64,
) -> Result<Vec<CustomerRow>, AppError> {
    customers(mongo)
        .find(filter)
        .limit(size)
        .await?
        .map(|found| customer_row(found?))
        .try_collect()
        .await
}

/// Matching customers in `_id` order, `limit` at a time from after `after`.
pub async fn page(
    mongo: &Mongo,
    filter: Document,
    after: Option<ObjectId>,
    limit: i64,
) -> Result<Vec<CustomerRow>, AppError> {
    let mut conditions = vec![filter];
    if let Some(after) = after {
        conditions.push(doc! { "_id": { "$gt": after } });
    }
    customers(mongo)
        .find(all_of(conditions))
        .sort(doc! { "_id": 1 })
        .limit(limit)
        .await?
        .map(|found| customer_row(found?))
        .try_collect()
        .await
}

/// Every matching customer, with the fields a message may use and their consent: the audience a campaign freezes.
pub async fn recipients(
    mongo: &Mongo,
    filter: Document,
) -> Result<impl Stream<Item = Result<StoredCustomer, AppError>>, AppError> {
    Ok(customers(mongo)
        .find(filter)
        .projection(doc! {
            "name": 1, "email": 1, "phone": 1, "city": 1, "tags": 1, "total_spend_cents": 1, "order_count": 1,
            "last_order_at": 1, "consent": 1,
        })
        .await?
        .map(|found| StoredCustomer::read(found?)))
}

/// The matching customers in figures: their number and spend, how they spread over spend bands (in cents) and
/// order-count bands (each given by its lower bounds; the last is open-ended), and their five largest cities. The
/// answer has the facets `totals` (`size`, `spend`), `spend` and `orders` (`_id` a lower bound or `"more"`,
/// `count`) and `cities` (`_id`, `count`).
pub async fn profile(
    mongo: &Mongo,
    filter: Document,
    spend_bounds: &[i64],
    order_bounds: &[i64],
) -> Result<Document, AppError> {
    let pipeline = [
        doc! { "$match": filter },
        doc! { "$facet": {
            "totals": [{ "$group": { "_id": null, "size": { "$sum": 1 }, "spend": { "$sum": "$total_spend_cents" } } }],
            "spend": [{ "$bucket": {
                "groupBy": "$total_spend_cents", "boundaries": spend_bounds, "default": "more",
                "output": { "count": { "$sum": 1 } },
            } }],
            "orders": [{ "$bucket": {
                "groupBy": "$order_count", "boundaries": order_bounds, "default": "more",
                "output": { "count": { "$sum": 1 } },
            } }],
            "cities": [
                { "$match": { "city": { "$type": "string" } } },
                { "$sortByCount": "$city" },
                { "$limit": 5 },
            ],
        } },
    ];
    Ok(customers(mongo)
        .aggregate(pipeline)
        .await?
        .try_next()
        .await?
        .unwrap_or_default())
}
