//! Storing the orders of one queued batch. Running it twice on the same message gives the same result: orders
//! are keyed by `order_id`, and what the batch adds to the totals is computed from every order it owns, also
//! those an interrupted delivery stored (the folder in `totals` adds it once).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use futures::TryStreamExt;
use mongodb::{
    bson::{doc, oid::ObjectId, DateTime, Document},
    Collection,
};

use super::{batches::BatchOutcome, totals::PendingTotals, OrderBatchMessage};
use crate::{
    customers::server::of_orders::{self, OrderCustomer},
    orders::model::{given_order_id, validate_order, CustomerRef, RejectedOrder, ValidOrder},
    server::mongo::{bson_time, collections, duplicate_positions, Mongo},
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] mongodb::error::Error),
    #[error("database refused a write: {0}")]
    Write(String),
}

impl StoreError {
    /// Whether storing the batch again can never succeed: the database refused it (a document too large, a
    /// validation rule), as opposed to being unreachable.
    pub fn is_permanent(&self) -> bool {
        use mongodb::error::{ErrorKind, WriteFailure};
        // BadValue, BSONObjectTooLarge, document too large, DocumentValidationFailure.
        const REFUSALS: [i32; 5] = [2, 10334, 17419, 17420, 121];
        match self {
            StoreError::Write(_) => true,
            StoreError::Database(error) => match error.kind.as_ref() {
                ErrorKind::InvalidArgument { .. }
                | ErrorKind::BsonSerialization(_)
                | ErrorKind::BsonDeserialization(_) => true,
                ErrorKind::Write(WriteFailure::WriteError(failure)) => failure.code != 11000,
                ErrorKind::InsertMany(failure) => {
                    failure.write_concern_error.is_none()
                        && failure
                            .write_errors
                            .as_ref()
                            .is_some_and(|errors| errors.iter().any(|e| e.code != 11000))
                }
                ErrorKind::Command(failure) => REFUSALS.contains(&failure.code),
                _ => false,
            },
        }
    }
}

pub async fn store_batch(
    mongo: &Mongo,
    known: &KnownCustomers,
    message: &OrderBatchMessage,
) -> Result<BatchOutcome, StoreError> {
    let orders: Collection<Document> = mongo.collection(collections::ORDERS);
    let default_date = DateTime::from_millis(message.received_at_ms);
    let mut outcome = BatchOutcome::default();

    let mut valid: Vec<(usize, String, ValidOrder)> = Vec::new();
    let mut ids_in_batch = HashSet::new();
    for (index, raw) in message.orders.iter().enumerate() {
        match validate_order(raw) {
            Err(problem) => outcome.rejected.push(RejectedOrder {
                index,
                order_id: given_order_id(raw),
                reason: problem.to_string(),
            }),
            Ok(order) => {
                // The publisher gives every order an id; a message without one did not come from Realm.
                let Some(order_id) = order.order_id.clone() else {
                    outcome.rejected.push(RejectedOrder {
                        index,
                        order_id: None,
                        reason: "order_id: missing".to_owned(),
                    });
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
    let customers = resolve_customers(mongo, known, &valid).await?;
    let customers_resolved = started.elapsed();
    let mut documents = Vec::with_capacity(valid.len());
    for (index, order_id, order) in &valid {
        let Some(customer) = customers.get(&order.customer) else {
            let CustomerRef::Id(id) = &order.customer else {
                // Customers by email were just created; if one is missing, retry the whole batch.
                return Err(StoreError::Write(format!(
                    "customer for order {order_id} was not created"
                )));
            };
            outcome.rejected.push(RejectedOrder {
                index: *index,
                order_id: Some(order_id.clone()),
                reason: format!("customer_id: no customer has the id {id:?}"),
            });
            continue;
        };
        documents.push(order_document(
            &message.batch_id,
            order_id,
            *customer,
            order,
            default_date,
        ));
    }

    // Orders stored by another batch before this one; everything else in `documents` belongs to this batch.
    let mut stored_elsewhere = HashSet::new();
    if !documents.is_empty() {
        if let Err(error) = orders.insert_many(&documents).ordered(false).await {
            let positions = duplicate_positions(&error).ok_or(error)?;
            let already_stored: Vec<&str> = positions
                .iter()
                .filter_map(|&i| documents.get(i))
                .filter_map(|d| d.get_str("order_id").ok())
                .collect();
            let owners = batch_of_orders(&orders, &already_stored).await?;
            for order_id in already_stored {
                // Stored by an earlier delivery of this same message: it counts as stored, once.
                if owners.get(order_id).map(String::as_str) != Some(message.batch_id.as_str()) {
                    stored_elsewhere.insert(order_id.to_owned());
                }
            }
        }
    }
    let owned: Vec<&Document> = documents
        .iter()
        .filter(|d| {
            d.get_str("order_id")
                .is_ok_and(|id| !stored_elsewhere.contains(id))
        })
        .collect();
    outcome.stored = owned.len() as u64;
    outcome.duplicates += stored_elsewhere.len() as u64;

    outcome.totals = PendingTotals::of_orders(owned.iter().copied());
    tracing::debug!(
        batch = %message.batch_id,
        customers_ms = customers_resolved.as_millis() as u64,
        insert_ms = (started.elapsed() - customers_resolved).as_millis() as u64,
        "batch timings"
    );
    outcome.rejected.sort_by_key(|rejected| rejected.index);
    Ok(outcome)
}

fn order_document(
    batch_id: &str,
    order_id: &str,
    customer: OrderCustomer,
    order: &ValidOrder,
    default_date: DateTime,
) -> Document {
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
        "customer_id": customer.id,
        "sample_bucket": customer.sample_bucket,
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

/// How many customer references the consumer remembers.
const KNOWN_CUSTOMERS: usize = 500_000;

/// Customers by the reference orders give (an id or an email), remembered across batches so that a customer
/// seen before costs no lookup. A remembered mapping stays true: customers are not deleted, and a customer's
/// email (what imports and orders find them by, and what their sample key is made of) never changes.
#[derive(Clone)]
pub struct KnownCustomers(Arc<quick_cache::sync::Cache<CustomerRef, OrderCustomer>>);

impl Default for KnownCustomers {
    fn default() -> Self {
        Self(Arc::new(quick_cache::sync::Cache::new(KNOWN_CUSTOMERS)))
    }
}

/// Maps each customer reference of the batch to a customer: ids that exist, and emails, creating the customers
/// that are new. Unknown ids are left out.
async fn resolve_customers(
    mongo: &Mongo,
    known: &KnownCustomers,
    orders: &[(usize, String, ValidOrder)],
) -> Result<HashMap<CustomerRef, OrderCustomer>, StoreError> {
    let mut resolved = HashMap::new();
    let mut unknown = Vec::new();
    for (_, _, order) in orders {
        match known.0.get(&order.customer) {
            Some(id) => {
                resolved.insert(order.customer.clone(), id);
            }
            None => unknown.push(order),
        }
    }
    if !unknown.is_empty() {
        let found = look_up_customers(mongo, &unknown).await?;
        for (reference, customer) in &found {
            known.0.insert(reference.clone(), *customer);
        }
        resolved.extend(found);
    }
    Ok(resolved)
}

/// Finds the customers of `orders` in the database, creating those given by an email that is new.
async fn look_up_customers(
    mongo: &Mongo,
    orders: &[&ValidOrder],
) -> Result<HashMap<CustomerRef, OrderCustomer>, StoreError> {
    let mut resolved = HashMap::new();

    let wanted_ids: Vec<ObjectId> = orders
        .iter()
        .filter_map(|order| match &order.customer {
            CustomerRef::Id(id) => ObjectId::parse_str(id).ok(),
            CustomerRef::Email(_) => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for customer in of_orders::existing(mongo, &wanted_ids).await? {
        resolved.insert(CustomerRef::Id(customer.id.to_hex()), customer);
    }

    let mut names_by_email: HashMap<&str, Option<&str>> = HashMap::new();
    for order in orders {
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
    let known = of_orders::find_or_create_by_email(mongo, &names_by_email).await?;
    for (email, id) in known {
        let customer = OrderCustomer::new(id, &email);
        resolved.insert(CustomerRef::Email(email), customer);
    }
    Ok(resolved)
}

async fn batch_of_orders(
    orders: &Collection<Document>,
    order_ids: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    let mut found = orders
        .find(doc! { "order_id": { "$in": order_ids } })
        .projection(doc! { "order_id": 1, "batch_id": 1 })
        .await?;
    let mut owners = HashMap::new();
    while let Some(order) = found.try_next().await? {
        if let (Ok(order_id), Ok(batch_id)) = (order.get_str("order_id"), order.get_str("batch_id"))
        {
            owners.insert(order_id.to_owned(), batch_id.to_owned());
        }
    }
    Ok(owners)
}
