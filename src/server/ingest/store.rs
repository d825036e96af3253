//! Storing the orders of one queued batch. Running it twice on the same message gives the same result: orders
//! are keyed by `order_id`, and customer totals are recomputed from the stored orders rather than incremented.
//! Several batches may be stored at once: a recomputation only overwrites totals counted from fewer orders.

use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use mongodb::{
    bson::{doc, oid::ObjectId, DateTime, Document},
    error::{ErrorKind, WriteFailure},
    Collection,
};
use time::OffsetDateTime;

use super::{batches::BatchOutcome, OrderBatchMessage};
use crate::{
    orders::{given_order_id, validate_order, CustomerRef, RejectedOrder, ValidOrder},
    server::mongo::{collections, Mongo},
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] mongodb::error::Error),
    #[error("database refused a write: {0}")]
    Write(String),
}

fn bson_time(moment: OffsetDateTime) -> DateTime {
    DateTime::from_millis((moment.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The indexes in an unordered insert that failed only because the document already exists; any other write
/// failure is an error.
fn duplicate_positions(error: &mongodb::error::Error) -> Option<Vec<usize>> {
    match error.kind.as_ref() {
        ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
            let errors = failure.write_errors.as_ref()?;
            errors.iter().all(|e| e.code == 11000).then(|| errors.iter().map(|e| e.index).collect())
        }
        ErrorKind::Write(WriteFailure::WriteError(failure)) if failure.code == 11000 => Some(vec![0]),
        _ => None,
    }
}

struct Stores {
    database: mongodb::Database,
    orders: Collection<Document>,
    customers: Collection<Document>,
}

pub async fn store_batch(mongo: &Mongo, message: &OrderBatchMessage) -> Result<BatchOutcome, StoreError> {
    let stores = Stores {
        database: mongo.database().clone(),
        orders: mongo.collection(collections::ORDERS),
        customers: mongo.collection(collections::CUSTOMERS),
    };
    let default_date = DateTime::from_millis(message.received_at_ms);
    let mut outcome = BatchOutcome::default();

    let mut valid: Vec<(usize, String, ValidOrder)> = Vec::new();
    let mut ids_in_batch = HashSet::new();
    for (index, raw) in message.orders.iter().enumerate() {
        match validate_order(raw) {
            Err(reason) => outcome.rejected.push(RejectedOrder { index, order_id: given_order_id(raw), reason }),
            Ok(order) => {
                // The publisher gives every order an id; a message without one did not come from Realm.
                let Some(order_id) = order.order_id.clone() else {
                    outcome.rejected.push(RejectedOrder { index, order_id: None, reason: "order_id: missing".to_owned() });
                    continue;
                };
                if ids_in_batch.insert(order_id.clone()) {
                    valid.push((index, order_id, order));
                } else {
                    outcome.duplicates += 1;
                }
            }
        }
    }

    let started = std::time::Instant::now();
    let customer_ids = resolve_customers(&stores, &valid).await?;
    let customers_resolved = started.elapsed();
    let mut documents = Vec::with_capacity(valid.len());
    let mut affected_customers = HashSet::new();
    for (index, order_id, order) in &valid {
        let Some(customer_id) = customer_ids.get(&order.customer) else {
            let CustomerRef::Id(id) = &order.customer else {
                // Customers by email were just created; if one is missing, retry the whole batch.
                return Err(StoreError::Write(format!("customer for order {order_id} was not created")));
            };
            outcome.rejected.push(RejectedOrder {
                index: *index,
                order_id: Some(order_id.clone()),
                reason: format!("customer_id: no customer has the id {id:?}"),
            });
            continue;
        };
        affected_customers.insert(*customer_id);
        documents.push(order_document(&message.batch_id, order_id, *customer_id, order, default_date));
    }

    outcome.stored = documents.len() as u64;
    if !documents.is_empty() {
        if let Err(error) = stores.orders.insert_many(&documents).ordered(false).await {
            let positions = duplicate_positions(&error).ok_or(error)?;
            let already_stored: Vec<&str> =
                positions.iter().filter_map(|&i| documents.get(i)).filter_map(|d| d.get_str("order_id").ok()).collect();
            let owners = batch_of_orders(&stores.orders, &already_stored).await?;
            for order_id in already_stored {
                // Stored by an earlier delivery of this same message: it counts as stored, once.
                if owners.get(order_id).map(String::as_str) != Some(message.batch_id.as_str()) {
                    outcome.stored -= 1;
                    outcome.duplicates += 1;
                }
            }
        }
    }

    let orders_inserted = started.elapsed();
    refresh_customer_totals(&stores, affected_customers.into_iter().collect()).await?;
    tracing::debug!(
        batch = %message.batch_id,
        customers_ms = customers_resolved.as_millis() as u64,
        insert_ms = (orders_inserted - customers_resolved).as_millis() as u64,
        totals_ms = (started.elapsed() - orders_inserted).as_millis() as u64,
        "batch timings"
    );
    outcome.rejected.sort_by_key(|rejected| rejected.index);
    Ok(outcome)
}

fn order_document(batch_id: &str, order_id: &str, customer_id: ObjectId, order: &ValidOrder, default_date: DateTime) -> Document {
    let items: Vec<Document> = order
        .line_items
        .iter()
        .map(|item| {
            doc! {
                "sku": &item.sku,
                "name": &item.name,
                "quantity": i64::from(item.quantity),
                "unit_price_cents": item.unit_price_cents,
            }
        })
        .collect();
    let mut document = doc! {
        "order_id": order_id,
        "batch_id": batch_id,
        "customer_id": customer_id,
        "amount_cents": order.amount_cents,
        "item_count": order.item_count as i64,
        "items": items,
        "ordered_at": order.ordered_at.map(bson_time).unwrap_or(default_date),
        "stored_at": DateTime::now(),
    };
    if let CustomerRef::Email(email) = &order.customer {
        document.insert("customer_email", email);
    }
    document
}

/// Maps each customer reference of the batch to a customer id: ids that exist, and emails, creating the customers
/// that are new. Unknown ids are left out.
async fn resolve_customers(
    stores: &Stores,
    orders: &[(usize, String, ValidOrder)],
) -> Result<HashMap<CustomerRef, ObjectId>, StoreError> {
    let mut resolved = HashMap::new();

    let wanted_ids: Vec<ObjectId> = orders
        .iter()
        .filter_map(|(_, _, order)| match &order.customer {
            CustomerRef::Id(id) => ObjectId::parse_str(id).ok(),
            CustomerRef::Email(_) => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !wanted_ids.is_empty() {
        let mut found = stores.customers.find(doc! { "_id": { "$in": &wanted_ids } }).projection(doc! { "_id": 1 }).await?;
        while let Some(customer) = found.try_next().await? {
            if let Ok(id) = customer.get_object_id("_id") {
                resolved.insert(CustomerRef::Id(id.to_hex()), id);
            }
        }
    }

    let mut names_by_email: HashMap<&str, Option<&str>> = HashMap::new();
    for (_, _, order) in orders {
        if let CustomerRef::Email(email) = &order.customer {
            let name = names_by_email.entry(email).or_default();
            if name.is_none() {
                *name = order.customer_name.as_deref();
            }
        }
    }
    if names_by_email.is_empty() {
        return Ok(resolved);
    }
    let emails: Vec<&str> = names_by_email.keys().copied().collect();
    let mut known = existing_customers_by_email(&stores.customers, &emails).await?;
    let new_emails: Vec<&str> = emails.iter().copied().filter(|email| !known.contains_key(*email)).collect();
    if !new_emails.is_empty() {
        let new_customers: Vec<Document> =
            new_emails.iter().map(|email| new_customer(email, names_by_email[email])).collect();
        match stores.customers.insert_many(&new_customers).ordered(false).await {
            Ok(inserted) => {
                for (index, id) in inserted.inserted_ids {
                    if let Some(id) = id.as_object_id() {
                        known.insert(new_emails[index].to_owned(), id);
                    }
                }
            }
            // Another batch created some of them at the same moment: the unique email index kept one of each.
            Err(error) if duplicate_positions(&error).is_some() => {
                known = existing_customers_by_email(&stores.customers, &emails).await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    for (email, id) in known {
        resolved.insert(CustomerRef::Email(email), id);
    }
    Ok(resolved)
}

/// A customer first seen in an order; its name falls back to the email's local part.
fn new_customer(email: &str, name: Option<&str>) -> Document {
    let name = name.map(str::to_owned).unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
    doc! {
        "email": email,
        "name": name,
        "tags": [],
        "created_at": DateTime::now(),
        "total_spend_cents": 0_i64,
        "order_count": 0_i64,
    }
}

async fn existing_customers_by_email(
    customers: &Collection<Document>,
    emails: &[&str],
) -> Result<HashMap<String, ObjectId>, StoreError> {
    let mut found = customers.find(doc! { "email": { "$in": emails } }).projection(doc! { "_id": 1, "email": 1 }).await?;
    let mut known = HashMap::new();
    while let Some(customer) = found.try_next().await? {
        if let (Ok(email), Ok(id)) = (customer.get_str("email"), customer.get_object_id("_id")) {
            known.insert(email.to_owned(), id);
        }
    }
    Ok(known)
}

async fn batch_of_orders(orders: &Collection<Document>, order_ids: &[&str]) -> Result<HashMap<String, String>, StoreError> {
    let mut found =
        orders.find(doc! { "order_id": { "$in": order_ids } }).projection(doc! { "order_id": 1, "batch_id": 1 }).await?;
    let mut owners = HashMap::new();
    while let Some(order) = found.try_next().await? {
        if let (Ok(order_id), Ok(batch_id)) = (order.get_str("order_id"), order.get_str("batch_id")) {
            owners.insert(order_id.to_owned(), batch_id.to_owned());
        }
    }
    Ok(owners)
}

/// Sets each customer's totals from all of their stored orders plus the history imported with the customer.
async fn refresh_customer_totals(stores: &Stores, customer_ids: Vec<ObjectId>) -> Result<(), StoreError> {
    if customer_ids.is_empty() {
        return Ok(());
    }
    let pipeline = [
        doc! { "$match": { "customer_id": { "$in": &customer_ids } } },
        doc! { "$group": {
            "_id": "$customer_id",
            "spend": { "$sum": "$amount_cents" },
            "count": { "$sum": 1 },
            "first": { "$min": "$ordered_at" },
            "last": { "$max": "$ordered_at" },
        } },
    ];
    let mut from_orders = HashMap::new();
    let mut groups = stores.orders.aggregate(pipeline).await?;
    while let Some(group) = groups.try_next().await? {
        if let Ok(id) = group.get_object_id("_id") {
            from_orders.insert(id, group);
        }
    }

    let mut customers = stores
        .customers
        .find(doc! { "_id": { "$in": &customer_ids } })
        .projection(doc! { "imported_spend_cents": 1, "imported_order_count": 1, "imported_last_order_at": 1 })
        .await?;
    let mut updates = Vec::with_capacity(customer_ids.len());
    while let Some(customer) = customers.try_next().await? {
        let Ok(id) = customer.get_object_id("_id") else { continue };
        let Some(group) = from_orders.get(&id) else { continue };
        let number = |d: &Document, key: &str| d.get_i64(key).or_else(|_| d.get_i32(key).map(i64::from)).unwrap_or(0);
        let imported_last = customer.get_datetime("imported_last_order_at").ok().copied();
        let (Ok(first), Ok(last)) = (group.get_datetime("first"), group.get_datetime("last")) else { continue };
        let last = imported_last.map_or(*last, |imported| imported.max(*last));
        let orders_count = number(group, "count");
        updates.push(doc! {
            // Orders are only ever added, so totals from more orders are newer: a batch that read the orders before
            // another batch's insert must not overwrite the totals that batch wrote after it.
            "q": { "_id": id, "$or": [ { "orders_count": { "$exists": false } }, { "orders_count": { "$lte": orders_count } } ] },
            "u": { "$set": {
                "orders_count": orders_count,
                "total_spend_cents": number(&customer, "imported_spend_cents") + number(group, "spend"),
                "order_count": number(&customer, "imported_order_count") + orders_count,
                "first_order_at": *first,
                "last_order_at": last,
            } },
        });
    }
    if updates.is_empty() {
        return Ok(());
    }
    // One `update` command with a statement per customer: a single round trip for the whole batch.
    let reply = stores
        .database
        .run_command(doc! { "update": collections::CUSTOMERS, "updates": updates, "ordered": false })
        .await?;
    match reply.get_array("writeErrors") {
        Ok(errors) if !errors.is_empty() => Err(StoreError::Write(format!("{errors:?}"))),
        _ => Ok(()),
    }
}
