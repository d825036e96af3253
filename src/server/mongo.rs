//! The MongoDB connection, the indexes the app relies on, and the small helpers every store shares (ids, numbers,
//! duplicate keys, unordered updates).

use std::time::Duration;

use mongodb::{
    bson::{doc, oid::ObjectId, Bson, Document},
    options::{ClientOptions, IndexOptions},
    Client, Collection, Database, IndexModel,
};

use crate::shared::error::AppError;

/// Collection names, in one place so that queries and index definitions cannot drift apart.
pub mod collections {
    pub const CUSTOMERS: &str = "customers";
    /// Customers created in each closed hour, kept by the customers' growth counter.
    pub const CUSTOMER_HOURS: &str = "customer_hours";
    /// How many customers were created before a recent hour start, carried forward by the growth counter.
    pub const CUSTOMER_COUNT: &str = "customer_count";
    pub const ORDERS: &str = "orders";
    /// Orders and revenue per UTC day, kept by the folder of batch totals.
    pub const ORDER_DAYS: &str = "order_days";
    pub const SEGMENTS: &str = "segments";
    /// One size per segment and day, kept by the snapshot task.
    pub const SEGMENT_SIZES: &str = "segment_sizes";
    pub const CAMPAIGNS: &str = "campaigns";
    /// One per campaign recipient: the rendered message, its delivery outcome and receipts.
    pub const COMMUNICATIONS: &str = "communications";
    /// One per recipient a delivery worker is sending to right now, keyed by the message's id.
    pub const DELIVERY_CLAIMS: &str = "delivery_claims";
    /// The simulated vendor's own record of the messages it accepted.
    pub const VENDOR_MESSAGES: &str = "vendor_messages";
    pub const ORDER_BATCHES: &str = "order_batches";
    /// What each stored batch adds to the customer and day totals, keyed by batch id, until it is folded in.
    pub const BATCH_TOTALS: &str = "order_batch_totals";
    pub const USERS: &str = "users";
    pub const SETUP: &str = "setup";
    pub const SESSIONS: &str = "sessions";
    pub const API_KEYS: &str = "api_keys";
    /// Secrets the app makes once and every instance shares, such as the key that signs tracking links.
    pub const SETTINGS: &str = "settings";
}

/// The server's code for a write that would have broken a unique index.
pub const DUPLICATE_KEY: i32 = 11000;

/// Whether a write failed because it would have broken a unique index.
pub fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(failure)) => failure.code == DUPLICATE_KEY,
        ErrorKind::Command(failure) => failure.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(failure) => failure
            .write_errors
            .as_ref()
            .is_some_and(|errors| errors.iter().any(|e| e.code == DUPLICATE_KEY)),
        _ => false,
    }
}

/// The indexes in an unordered insert that failed only because the document already exists; any other write
/// failure is an error.
pub fn duplicate_positions(error: &mongodb::error::Error) -> Option<Vec<usize>> {
    use mongodb::error::{ErrorKind, WriteFailure};
    match error.kind.as_ref() {
        ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
            let errors = failure.write_errors.as_ref()?;
            errors
                .iter()
                .all(|e| e.code == DUPLICATE_KEY)
                .then(|| errors.iter().map(|e| e.index).collect())
        }
        ErrorKind::Write(WriteFailure::WriteError(failure)) if failure.code == DUPLICATE_KEY => {
            Some(vec![0])
        }
        _ => None,
    }
}

/// Runs unordered `updates` (`update` command statements: `q`, `u`) on `collection` in one command, inside the
/// session's transaction if given; any statement that fails fails the whole.
pub async fn update_all(
    mongo: &Mongo,
    session: Option<&mut mongodb::ClientSession>,
    collection: &str,
    updates: &[Document],
) -> mongodb::error::Result<()> {
    let command = doc! { "update": collection, "updates": updates, "ordered": false };
    let reply = match session {
        Some(session) => {
            mongo
                .database()
                .run_command(command)
                .session(session)
                .await?
        }
        None => mongo.database().run_command(command).await?,
    };
    match reply.get_array("writeErrors") {
        Ok(errors) if !errors.is_empty() => Err(mongodb::error::Error::custom(format!(
            "{collection} not updated: {errors:?}"
        ))),
        _ => Ok(()),
    }
}

/// The filter matching all of `parts`, leaving out the empty ones (which match everything): SecantusDB plans an
/// `$and` holding `{}` as a scan of the whole collection, ignoring the indexes the other parts could use.
pub fn all_of(parts: impl IntoIterator<Item = Document>) -> Document {
    let mut parts: Vec<Document> = parts.into_iter().filter(|part| !part.is_empty()).collect();
    match parts.len() {
        0 => Document::new(),
        1 => parts.remove(0),
        _ => doc! { "$and": parts },
    }
}

/// A whole number however the server stored it (imports and `$inc` may leave 32- or 64-bit integers).
pub fn number(document: &Document, key: &str) -> i64 {
    match document.get(key) {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}

/// A stored document read as its type. One that does not fit (a field missing, or of another type) is an error
/// naming what it is and its id, and is logged; it is never read as zeros and empty strings.
pub fn read_as<T: serde::de::DeserializeOwned>(
    what: &str,
    document: Document,
) -> Result<T, AppError> {
    let id = match document.get("_id") {
        Some(Bson::ObjectId(id)) => id.to_hex(),
        Some(other) => other.to_string(),
        None => "without an id".to_owned(),
    };
    mongodb::bson::from_document(document).map_err(|error| {
        tracing::error!(%id, "a stored {what} cannot be read: {error}");
        AppError::Unavailable(format!("The stored {what} {id} cannot be read."))
    })
}

/// The `_id`s of the documents `cursor` answers (from a `find` or an `aggregate`), as a list or a set; one that
/// is not an ObjectId is left out.
pub async fn ids_of<C: Default + Extend<ObjectId>>(
    cursor: mongodb::Cursor<Document>,
) -> mongodb::error::Result<C> {
    use futures::TryStreamExt;
    cursor
        .try_filter_map(|found| std::future::ready(Ok(found.get_object_id("_id").ok())))
        .try_collect()
        .await
}

/// An id given in a path or form; one that cannot be an id names nothing.
pub fn parse_id(id: &str, what: &str) -> Result<ObjectId, AppError> {
    ObjectId::parse_str(id.trim())
        .map_err(|_| AppError::NotFound(format!("No {what} has the id {id:?}.")))
}

#[derive(Clone, Debug)]
pub struct Mongo {
    database: Database,
    /// Whether every required index exists: until then nothing may write, or a duplicate written first would
    /// make a unique index impossible to create.
    prepared: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Mongo {
    /// Builds the client without touching the network: the driver connects lazily, so a database that is down at
    /// start-up does not stop the app from serving `/healthz` and `/readyz`.
    pub async fn new(uri: &str, database: &str) -> mongodb::error::Result<Self> {
        let mut options = ClientOptions::parse(uri).await?;
        options.app_name = Some("realm".to_owned());
        // Fail fast rather than hold a request for the driver's default of 30 s when the server is gone.
        options.server_selection_timeout = Some(Duration::from_secs(3));
        options.connect_timeout = Some(Duration::from_secs(3));
        let client = Client::with_options(options)?;
        Ok(Self {
            database: client.database(database),
            prepared: std::sync::Arc::new(tokio::sync::watch::Sender::new(false)),
        })
    }

    /// Whether the required indexes are in place, so that writes may begin.
    pub fn is_prepared(&self) -> bool {
        *self.prepared.borrow()
    }

    /// Waits until the required indexes are in place.
    pub async fn prepared(&self) {
        let mut prepared = self.prepared.subscribe();
        let _ = prepared.wait_for(|ready| *ready).await;
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn collection(&self, name: &str) -> Collection<Document> {
        self.database.collection(name)
    }

    /// Closes the connections. Without it, the driver ends its sessions from `Drop` while the runtime is already
    /// shutting down, and that background task panics.
    pub async fn shutdown(&self) {
        self.database.client().clone().shutdown().await;
    }

    pub async fn ping(&self) -> mongodb::error::Result<()> {
        self.database
            .run_command(doc! { "ping": 1 })
            .await
            .map(|_| ())
    }

    /// Creates every index the app needs, and drops those earlier versions made that no query uses any more (each
    /// costs a write on every change of the fields it covers). Safe to run on every start: creating an index that
    /// already exists with the same definition is a no-op in MongoDB, and a retired one that is gone stays gone.
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        // Retired ones first: MongoDB refuses a second index on the same keys that differs only in its options.
        for (collection, name) in RETIRED_INDEXES {
            let collection = self.collection(collection);
            let existing = match collection.list_index_names().await {
                Ok(existing) => existing,
                // A collection not created yet has no index to drop.
                Err(error)
                    if matches!(error.kind.as_ref(),
                        mongodb::error::ErrorKind::Command(failure) if failure.code == NAMESPACE_NOT_FOUND) =>
                {
                    continue
                }
                Err(error) => return Err(error),
            };
            if existing.iter().any(|existing| existing == name) {
                collection.drop_index(name).await?;
            }
        }
        for (collection, index) in required_indexes() {
            self.collection(collection).create_index(index).await?;
        }
        self.prepared.send_replace(true);
        Ok(())
    }
}

/// MongoDB's error code for a collection that does not exist.
const NAMESPACE_NOT_FOUND: i32 = 26;

/// Indexes of earlier versions that no query needs now.
const RETIRED_INDEXES: [(&str, &str); 3] = [
    // Every query naming a delivery claim names the message's `_id` as well.
    (collections::COMMUNICATIONS, "claim"),
    // Held an entry for every customer, with or without orders; `first_order_at_sparse` replaces it.
    (collections::CUSTOMERS, "first_order_at"),
    // Held every customer's sample key; `sample_key_partial` holds those a sample at 100,000 or more reads.
    (collections::CUSTOMERS, "sample_key"),
];

fn unique(keys: Document, name: &str) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .unique(true)
                .build(),
        )
        .build()
}

fn index(keys: Document, name: &str) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(IndexOptions::builder().name(name.to_owned()).build())
        .build()
}

/// An index of only the documents that have the field, for fields most documents lack (most messages are never
/// opened or clicked).
fn sparse(keys: Document, name: &str) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .sparse(true)
                .build(),
        )
        .build()
}

/// An index of only the documents `filter` matches, for queries that never look past it.
fn partial(keys: Document, name: &str, filter: Document) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .partial_filter_expression(filter)
                .build(),
        )
        .build()
}

/// The indexes the app keeps on one collection, e.g. for a benchmark that writes the same documents elsewhere.
pub fn indexes_of(collection: &str) -> Vec<IndexModel> {
    required_indexes()
        .into_iter()
        .filter(|(name, _)| *name == collection)
        .map(|(_, index)| index)
        .collect()
}

fn required_indexes() -> Vec<(&'static str, IndexModel)> {
    vec![
        // A customer is identified by their normalised email across imports and order ingestion.
        (
            collections::CUSTOMERS,
            unique(doc! { "email": 1 }, "email_unique"),
        ),
        // The client's order id is the idempotency key that keeps redelivered messages from duplicating orders.
        (
            collections::ORDERS,
            unique(doc! { "order_id": 1 }, "order_id_unique"),
        ),
        // A customer's order history, and recomputing their totals after each batch.
        (
            collections::ORDERS,
            index(
                doc! { "customer_id": 1, "ordered_at": -1 },
                "customer_id_ordered_at",
            ),
        ),
        // The order history sorted by date, and daily figures.
        (
            collections::ORDERS,
            index(doc! { "ordered_at": -1 }, "ordered_at"),
        ),
        // Segment conditions on what was bought, by SKU, in a window.
        (
            collections::ORDERS,
            index(
                doc! { "items.sku": 1, "ordered_at": -1 },
                "items_sku_ordered_at",
            ),
        ),
        // The same for an estimate, in the sample's buckets of customers: one bounded scan per bucket (see
        // `sampling::KEYS_PER_BUCKET`). The first also finds orders without a bucket.
        (
            collections::ORDERS,
            index(
                doc! { "sample_bucket": 1, "ordered_at": -1 },
                "sample_bucket_ordered_at",
            ),
        ),
        (
            collections::ORDERS,
            index(
                doc! { "items.sku": 1, "sample_bucket": 1, "ordered_at": -1 },
                "items_sku_sample_bucket_ordered_at",
            ),
        ),
        (
            collections::ORDER_BATCHES,
            index(doc! { "received_at": -1 }, "received_at"),
        ),
        // The folder's search for batches whose totals are not folded in yet, oldest first.
        (
            collections::ORDER_BATCHES,
            index(
                doc! { "totals_pending": 1, "received_at": 1 },
                "totals_pending_received_at",
            ),
        ),
        // The customer list's orders, each with `_id` to page by position (keyset), and segment conditions.
        (
            collections::CUSTOMERS,
            index(doc! { "created_at": -1, "_id": -1 }, "created_at_id"),
        ),
        (
            collections::CUSTOMERS,
            index(doc! { "name_key": 1, "_id": 1 }, "name_key_id"),
        ),
        (
            collections::CUSTOMERS,
            index(
                doc! { "total_spend_cents": -1, "_id": -1 },
                "total_spend_id",
            ),
        ),
        (
            collections::CUSTOMERS,
            index(doc! { "order_count": -1, "_id": -1 }, "order_count_id"),
        ),
        (
            collections::CUSTOMERS,
            index(doc! { "last_order_at": -1, "_id": -1 }, "last_order_at_id"),
        ),
        // Only customers with an order in Realm have a first one: an import of customers without, the usual
        // first import, writes no entry here. Conditions that match its absence ("never") read the customers.
        (
            collections::CUSTOMERS,
            sparse(doc! { "first_order_at": 1 }, "first_order_at_sparse"),
        ),
        (
            collections::CUSTOMERS,
            index(doc! { "city_key": 1 }, "city_key"),
        ),
        (collections::CUSTOMERS, index(doc! { "tags": 1 }, "tags")),
        // Search by the start of a word of the name or of the email, and by the start of the phone number.
        (
            collections::CUSTOMERS,
            index(doc! { "keywords": 1 }, "keywords"),
        ),
        (collections::CUSTOMERS, index(doc! { "phone": 1 }, "phone")),
        // The fixed sample live audience estimates count, as large databases take it: the lowest keys only.
        (
            collections::CUSTOMERS,
            partial(
                doc! { "sample_key": 1 },
                crate::customers::server::sampling::SAMPLE_INDEX,
                doc! { "sample_key": { "$lt": crate::customers::server::sampling::INDEXED_KEYS } },
            ),
        ),
        (
            collections::SEGMENT_SIZES,
            unique(doc! { "segment_id": 1, "day": 1 }, "segment_day_unique"),
        ),
        // Whether a segment is in use by a campaign that has not been sent yet.
        (
            collections::CAMPAIGNS,
            index(doc! { "segment_id": 1, "status": 1 }, "segment_id_status"),
        ),
        // The scheduler's search for due campaigns.
        (
            collections::CAMPAIGNS,
            index(
                doc! { "status": 1, "scheduled_for": 1 },
                "status_scheduled_for",
            ),
        ),
        // One message per campaign and customer, however often a launch is retried.
        (
            collections::COMMUNICATIONS,
            unique(
                doc! { "campaign_id": 1, "customer_id": 1 },
                "campaign_customer_unique",
            ),
        ),
        (
            collections::COMMUNICATIONS,
            index(doc! { "campaign_id": 1, "status": 1 }, "campaign_status"),
        ),
        // Segment conditions on who opened or clicked any message lately.
        (
            collections::COMMUNICATIONS,
            sparse(doc! { "opened_at": -1 }, "opened_at"),
        ),
        (
            collections::COMMUNICATIONS,
            sparse(doc! { "clicked_at": -1 }, "clicked_at"),
        ),
        // Recent opens in the sample's buckets, for an estimate; also finds messages without a bucket.
        (
            collections::COMMUNICATIONS,
            index(
                doc! { "sample_bucket": 1, "opened_at": -1 },
                "sample_bucket_opened_at",
            ),
        ),
        // A campaign with a frequency cap asks which of each thousand recipients were sent a message lately.
        (
            collections::COMMUNICATIONS,
            index(doc! { "customer_id": 1, "sent_at": -1 }, "customer_sent_at"),
        ),
        (
            collections::USERS,
            unique(doc! { "email": 1 }, "email_unique"),
        ),
        // API keys are looked up by the hash of the presented secret on every API request.
        (
            collections::API_KEYS,
            unique(doc! { "secret_hash": 1 }, "secret_hash_unique"),
        ),
        // Lets MongoDB remove expired sessions by itself; loading a session checks expiry too.
        (
            collections::SESSIONS,
            IndexModel::builder()
                .keys(doc! { "expires_at": 1 })
                .options(
                    IndexOptions::builder()
                        .name("expires_at_ttl".to_owned())
                        .expire_after(Duration::from_secs(0))
                        .build(),
                )
                .build(),
        ),
    ]
}

/// A moment as MongoDB stores it (millisecond precision).
pub fn bson_time(moment: time::OffsetDateTime) -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::from_millis(crate::shared::time::ms_of(moment))
}

/// A stored time as people read it in tables, e.g. `2026-11-27 03:10 UTC`.
pub fn display_time(time: mongodb::bson::DateTime) -> String {
    match time.try_to_rfc3339_string() {
        Ok(text) if text.len() >= 16 => format!("{} UTC", text[..16].replacen('T', " ", 1)),
        _ => "unknown".to_owned(),
    }
}

/// `text` with regular-expression characters escaped, to match it literally; anchored with `^` a prefix match can
/// use an index.
pub fn regex_literal(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_of_leaves_out_what_matches_everything() {
        assert_eq!(all_of([doc! {}, doc! {}]), doc! {});
        assert_eq!(all_of([doc! {}, doc! { "a": 1 }]), doc! { "a": 1 });
        assert_eq!(
            all_of([doc! { "a": 1 }, doc! {}, doc! { "b": 2 }]),
            doc! { "$and": [{ "a": 1 }, { "b": 2 }] }
        );
    }
}
