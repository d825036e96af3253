//! What the orders feature asks of customers: finding the customers orders name (creating those first met in an
//! order), finding customers by the start of their email for the order history, and adding what orders spent to
//! each customer's totals. Orders never touch the customers collection themselves.

use std::collections::HashMap;

use futures::TryStreamExt;
use mongodb::{
    bson::{doc, oid::ObjectId, DateTime, Document},
    ClientSession,
};

use serde::Deserialize;

use super::{name_fields, sampling};
use crate::{
    customers::model::name_from_email,
    server::mongo::{
        collections, duplicate_positions, ids_of, read_as, regex_literal, update_all, Mongo,
    },
    shared::error::AppError,
};

/// A customer first seen in an order; its name falls back to the email's local part.
pub fn new_customer(email: &str, name: Option<&str>) -> Document {
    let mut customer = name_fields(name.unwrap_or_else(|| name_from_email(email)), email);
    customer.extend(doc! {
        "email": email,
        "tags": [],
        "created_at": DateTime::now(),
        "total_spend_cents": 0_i64,
        "order_count": 0_i64,
    });
    customer
}

/// The customer of an order, as the order keeps them: their id and their sample bucket (for estimates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderCustomer {
    pub id: ObjectId,
    pub sample_bucket: i32,
}

impl OrderCustomer {
    pub fn new(id: ObjectId, email: &str) -> Self {
        Self {
            id,
            sample_bucket: sampling::sample_bucket(email),
        }
    }
}

/// Which of `ids` are customers.
pub async fn existing(
    mongo: &Mongo,
    ids: &[ObjectId],
) -> mongodb::error::Result<Vec<OrderCustomer>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = mongo
        .collection(collections::CUSTOMERS)
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "email": 1 })
        .await?;
    let mut customers = Vec::new();
    while let Some(customer) = found.try_next().await? {
        if let (Ok(id), Ok(email)) = (customer.get_object_id("_id"), customer.get_str("email")) {
            customers.push(OrderCustomer::new(id, email));
        }
    }
    Ok(customers)
}

/// The customer id of each email, creating the customers that are new under the name given with their email.
pub async fn find_or_create_by_email(
    mongo: &Mongo,
    names_by_email: &HashMap<&str, Option<&str>>,
) -> mongodb::error::Result<HashMap<String, ObjectId>> {
    let emails: Vec<&str> = names_by_email.keys().copied().collect();
    let mut known = ids_by_email(mongo, &emails).await?;
    let new_emails: Vec<&str> = emails
        .iter()
        .copied()
        .filter(|email| !known.contains_key(*email))
        .collect();
    if new_emails.is_empty() {
        return Ok(known);
    }
    let new_customers: Vec<Document> = new_emails
        .iter()
        .map(|email| new_customer(email, names_by_email[email]))
        .collect();
    match mongo
        .collection(collections::CUSTOMERS)
        .insert_many(&new_customers)
        .ordered(false)
        .await
    {
        Ok(inserted) => {
            for (index, id) in inserted.inserted_ids {
                if let Some(id) = id.as_object_id() {
                    known.insert(new_emails[index].to_owned(), id);
                }
            }
        }
        // Another batch created some of them at the same moment: the unique email index kept one of each.
        Err(error) if duplicate_positions(&error).is_some() => {
            known = ids_by_email(mongo, &emails).await?;
        }
        Err(error) => return Err(error),
    }
    Ok(known)
}

async fn ids_by_email(
    mongo: &Mongo,
    emails: &[&str],
) -> mongodb::error::Result<HashMap<String, ObjectId>> {
    let mut found = mongo
        .collection(collections::CUSTOMERS)
        .find(doc! { "email": { "$in": emails } })
        .projection(doc! { "_id": 1, "email": 1 })
        .await?;
    let mut known = HashMap::new();
    while let Some(customer) = found.try_next().await? {
        if let (Ok(email), Ok(id)) = (customer.get_str("email"), customer.get_object_id("_id")) {
            known.insert(email.to_owned(), id);
        }
    }
    Ok(known)
}

/// The customers whose email starts with `prefix`, at most `limit` of them and one more, so that the caller can
/// tell a prefix that matches too many.
pub async fn with_email_prefix(
    mongo: &Mongo,
    prefix: &str,
    limit: usize,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let found = mongo
        .collection(collections::CUSTOMERS)
        .find(doc! { "email": { "$regex": format!("^{}", regex_literal(prefix)) } })
        .projection(doc! { "_id": 1 })
        .limit(limit as i64 + 1)
        .await?;
    ids_of(found).await
}

/// The name and email of each of `ids` that is a customer.
pub async fn names_and_emails(
    mongo: &Mongo,
    ids: &[ObjectId],
) -> Result<HashMap<ObjectId, (String, String)>, AppError> {
    #[derive(Deserialize)]
    struct Named {
        #[serde(rename = "_id")]
        id: ObjectId,
        name: String,
        email: String,
    }
    let found: Vec<Document> = mongo
        .collection(collections::CUSTOMERS)
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "email": 1, "name": 1 })
        .await?
        .try_collect()
        .await?;
    found
        .into_iter()
        .map(|customer| {
            let named: Named = read_as("customer", customer)?;
            Ok((named.id, (named.name, named.email)))
        })
        .collect()
}

/// What a customer's orders add to their totals.
pub struct OrderTotals {
    pub customer: ObjectId,
    pub spend_cents: i64,
    pub orders: i64,
    pub first_order_at: DateTime,
    pub last_order_at: DateTime,
}

/// Customer updates sent in one `update` command (a command must stay under 16 MiB).
const UPDATES_PER_COMMAND: usize = 5_000;

/// Adds orders to their customers' totals, inside the caller's transaction.
pub async fn add_order_totals(
    mongo: &Mongo,
    session: &mut ClientSession,
    totals: impl IntoIterator<Item = OrderTotals>,
) -> mongodb::error::Result<()> {
    let updates: Vec<Document> = totals
        .into_iter()
        .map(|part| {
            doc! {
                "q": { "_id": part.customer },
                "u": {
                    "$inc": { "total_spend_cents": part.spend_cents, "order_count": part.orders },
                    "$min": { "first_order_at": part.first_order_at },
                    "$max": { "last_order_at": part.last_order_at },
                },
            }
        })
        .collect();
    for chunk in updates.chunks(UPDATES_PER_COMMAND) {
        update_all(mongo, Some(&mut *session), collections::CUSTOMERS, chunk).await?;
    }
    Ok(())
}
