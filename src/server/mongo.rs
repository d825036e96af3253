//! The MongoDB connection and the indexes the app relies on.

use std::time::Duration;

use mongodb::{
    bson::{doc, Document},
    options::{ClientOptions, IndexOptions},
    Client, Collection, Database, IndexModel,
};

/// Collection names, in one place so that queries and index definitions cannot drift apart.
pub mod collections {
    pub const CUSTOMERS: &str = "customers";
    pub const ORDERS: &str = "orders";
    pub const SEGMENTS: &str = "segments";
    pub const CAMPAIGNS: &str = "campaigns";
}

#[derive(Clone, Debug)]
pub struct Mongo {
    database: Database,
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
        Ok(Self { database: client.database(database) })
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn collection(&self, name: &str) -> Collection<Document> {
        self.database.collection(name)
    }

    pub async fn ping(&self) -> mongodb::error::Result<()> {
        self.database.run_command(doc! { "ping": 1 }).await.map(|_| ())
    }

    /// Creates every index the app needs. Safe to run on every start: creating an index that already exists with
    /// the same definition is a no-op in MongoDB.
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        for (collection, index) in required_indexes() {
            self.collection(collection).create_index(index).await?;
        }
        Ok(())
    }
}

fn unique(keys: Document, name: &str) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(IndexOptions::builder().name(name.to_owned()).unique(true).build())
        .build()
}

fn required_indexes() -> Vec<(&'static str, IndexModel)> {
    vec![
        // A customer is identified by their normalised email across imports and order ingestion.
        (collections::CUSTOMERS, unique(doc! { "email": 1 }, "email_unique")),
        // The client's order id is the idempotency key that keeps redelivered messages from duplicating orders.
        (collections::ORDERS, unique(doc! { "order_id": 1 }, "order_id_unique")),
    ]
}
