//! API keys for machines calling the REST API. Only a SHA-256 hash of each key is stored: keys are 256 random
//! bits, so a fast hash is enough (unlike passwords, they cannot be guessed from a dictionary).

use mongodb::{
    bson::{doc, oid::ObjectId, DateTime},
    options::FindOptions,
    Collection,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    server::mongo::{collections, Mongo},
    shared::error::AppError,
};

const KEY_PREFIX: &str = "realm_";
/// How stale `last_used_at` may get before a request updates it: one write per key per minute, not per request.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    /// The first characters of the key, enough to recognise it in a list.
    pub display_prefix: String,
    pub secret_hash: String,
    pub created_by: ObjectId,
    pub created_at: DateTime,
    pub last_used_at: Option<DateTime>,
    pub revoked_at: Option<DateTime>,
}

#[derive(Clone, Debug)]
pub struct ApiKeys {
    keys: Collection<ApiKeyRecord>,
}

fn hash_secret(secret: &str) -> String {
    crate::shared::hex::hex(&Sha256::digest(secret.as_bytes()))
}

impl ApiKeys {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            keys: mongo.database().collection(collections::API_KEYS),
        }
    }

    /// Creates a key and gives back its secret, which is not stored and cannot be shown again.
    pub async fn create(
        &self,
        name: &str,
        created_by: ObjectId,
    ) -> Result<(ApiKeyRecord, String), AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid(
                "name",
                "Name the key (at most 100 characters), e.g. after the system that uses it.",
            ));
        }
        let secret = format!("{KEY_PREFIX}{}", crate::shared::hex::random_hex(32));
        let record = ApiKeyRecord {
            id: ObjectId::new(),
            name: name.to_owned(),
            display_prefix: secret[..KEY_PREFIX.len() + 8].to_owned(),
            secret_hash: hash_secret(&secret),
            created_by,
            created_at: DateTime::now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.keys.insert_one(&record).await?;
        Ok((record, secret))
    }

    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, AppError> {
        use futures::TryStreamExt;
        let options = FindOptions::builder()
            .sort(doc! { "created_at": -1 })
            .build();
        Ok(self
            .keys
            .find(doc! {})
            .with_options(options)
            .await?
            .try_collect()
            .await?)
    }

    pub async fn revoke(&self, id: &str) -> Result<(), AppError> {
        let id = ObjectId::parse_str(id)
            .map_err(|_| AppError::NotFound("No such API key.".to_owned()))?;
        let result = self
            .keys
            .update_one(
                doc! { "_id": id, "revoked_at": null },
                doc! { "$set": { "revoked_at": DateTime::now() } },
            )
            .await?;
        if result.matched_count == 0 {
            return Err(AppError::NotFound(
                "No such API key, or it is already revoked.".to_owned(),
            ));
        }
        Ok(())
    }

    /// The unrevoked key with this secret, if any; records when it was used.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKeyRecord>, AppError> {
        if !secret.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let Some(key) = self
            .keys
            .find_one(doc! { "secret_hash": hash_secret(secret), "revoked_at": null })
            .await?
        else {
            return Ok(None);
        };
        let now = DateTime::now();
        let stale = key.last_used_at.is_none_or(|used| {
            now.timestamp_millis() - used.timestamp_millis() >= LAST_USED_RESOLUTION_MS
        });
        if stale {
            self.keys
                .update_one(
                    doc! { "_id": key.id },
                    doc! { "$set": { "last_used_at": now } },
                )
                .await?;
        }
        Ok(Some(key))
    }
}
