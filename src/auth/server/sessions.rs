//! A `tower-sessions` store on the app's own MongoDB client.

use async_trait::async_trait;
use mongodb::{
    bson::{doc, DateTime, Document},
    options::ReplaceOptions,
    Collection,
};
use tower_sessions::{
    session::{Id, Record},
    session_store::{Error, Result},
    SessionStore,
};

use crate::server::mongo::{bson_time, collections, is_duplicate_key, Mongo};

#[derive(Clone, Debug)]
pub struct MongoSessionStore {
    sessions: Collection<Document>,
}

impl MongoSessionStore {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            sessions: mongo.collection(collections::SESSIONS),
        }
    }

    fn document(record: &Record) -> Result<Document> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let expires_at = bson_time(record.expiry_date);
        Ok(doc! { "_id": stored_id(&record.id), "data": data, "expires_at": expires_at })
    }
}

/// Sessions are stored under a hash of their id, as API keys are: whoever reads the collection (a backup, a
/// replica) cannot use what they read as a cookie.
fn stored_id(id: &Id) -> String {
    use sha2::{Digest, Sha256};
    crate::shared::hex::hex(&Sha256::digest(id.to_string().as_bytes()))
}

fn backend(error: mongodb::error::Error) -> Error {
    Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for MongoSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // Ids are 128 random bits, so a collision is all but impossible; still, never overwrite someone's session.
        loop {
            match self.sessions.insert_one(Self::document(record)?).await {
                Ok(_) => return Ok(()),
                Err(error) if is_duplicate_key(&error) => record.id = Id::default(),
                Err(error) => return Err(backend(error)),
            }
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let options = ReplaceOptions::builder().upsert(true).build();
        self.sessions
            .replace_one(
                doc! { "_id": stored_id(&record.id) },
                Self::document(record)?,
            )
            .with_options(options)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let filter = doc! { "_id": stored_id(id), "expires_at": { "$gt": DateTime::now() } };
        let Some(document) = self.sessions.find_one(filter).await.map_err(backend)? else {
            return Ok(None);
        };
        let data = document
            .get_str("data")
            .map_err(|e| Error::Decode(e.to_string()))?;
        let expires_at = document
            .get_datetime("expires_at")
            .map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(
            expires_at.timestamp_millis() as i128 * 1_000_000,
        )
        .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.sessions
            .delete_one(doc! { "_id": stored_id(id) })
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_stored_under_a_hash_of_its_id_not_the_id() {
        let id = Id::default();
        let stored = stored_id(&id);
        assert_eq!(stored.len(), 64);
        assert_ne!(stored, id.to_string());
        assert_eq!(stored, stored_id(&id));
    }
}
