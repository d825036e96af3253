//! User accounts in MongoDB.

use mongodb::{
    bson::{doc, oid::ObjectId, DateTime},
    options::FindOptions,
    Collection,
};
use serde::{Deserialize, Serialize};

use super::passwords;
use crate::{
    auth::model::{validate_name, validate_new_password, CurrentUser, Role},
    server::mongo::{collections, is_duplicate_key, Mongo},
    shared::email::normalize_email,
    shared::error::AppError,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
    pub created_at: DateTime,
    /// Set by an admin's password reset: the user must choose a new password before anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

impl UserRecord {
    pub fn to_current_user(&self) -> CurrentUser {
        CurrentUser {
            id: self.id.to_hex(),
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role,
            must_change_password: self.must_change_password,
        }
    }
}

pub struct NewUser {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub password: String,
}

#[derive(Clone, Debug)]
pub struct Users {
    users: Collection<UserRecord>,
    /// Holds one marker document once the owner account exists, so that two concurrent first-run requests
    /// cannot both create one.
    setup: Collection<mongodb::bson::Document>,
}

pub fn parse_id(id: &str) -> Result<ObjectId, AppError> {
    ObjectId::parse_str(id).map_err(|_| AppError::NotFound("No such user.".to_owned()))
}

impl Users {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            users: mongo.database().collection(collections::USERS),
            setup: mongo.collection(collections::SETUP),
        }
    }

    pub async fn any_exist(&self) -> Result<bool, AppError> {
        Ok(self.users.find_one(doc! {}).await?.is_some())
    }

    /// Creates the first account, an admin, and only while no account exists.
    pub async fn create_owner(
        &self,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<UserRecord, AppError> {
        let new_user = validate(name, email, Role::Admin, password)?;
        let already_set_up =
            || AppError::Conflict("The owner account already exists; sign in instead.".to_owned());
        if self.any_exist().await? {
            return Err(already_set_up());
        }
        // The slow, fallible part first, so that the marker is only written when the account can follow at once.
        let record = Self::record(new_user).await?;
        match self
            .setup
            .insert_one(doc! { "_id": "owner", "at": DateTime::now() })
            .await
        {
            Ok(_) => {}
            Err(error) if is_duplicate_key(&error) => return Err(already_set_up()),
            Err(error) => return Err(error.into()),
        }
        match self.store(record).await {
            Ok(record) => Ok(record),
            Err(error) => {
                // Without its account the marker would block the first run for ever.
                if let Err(cleanup) = self.setup.delete_one(doc! { "_id": "owner" }).await {
                    tracing::error!("the first-run marker could not be removed: {cleanup}");
                }
                Err(error)
            }
        }
    }

    pub async fn create(
        &self,
        name: &str,
        email: &str,
        role: Role,
        password: &str,
    ) -> Result<UserRecord, AppError> {
        let new_user = validate(name, email, role, password)?;
        self.insert(new_user).await
    }

    async fn insert(&self, new_user: NewUser) -> Result<UserRecord, AppError> {
        self.store(Self::record(new_user).await?).await
    }

    async fn record(new_user: NewUser) -> Result<UserRecord, AppError> {
        Ok(UserRecord {
            id: ObjectId::new(),
            email: new_user.email,
            name: new_user.name,
            role: new_user.role,
            password_hash: passwords::hash(new_user.password).await?,
            active: true,
            created_at: DateTime::now(),
            must_change_password: false,
        })
    }

    async fn store(&self, record: UserRecord) -> Result<UserRecord, AppError> {
        match self.users.insert_one(&record).await {
            Ok(_) => Ok(record),
            Err(error) if is_duplicate_key(&error) => Err(AppError::invalid(
                "email",
                "A user with this email already exists.",
            )),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<UserRecord>, AppError> {
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        Ok(self.users.find_one(doc! { "email": email }).await?)
    }

    pub async fn find_by_id(&self, id: &str) -> Result<Option<UserRecord>, AppError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(None);
        };
        Ok(self.users.find_one(doc! { "_id": id }).await?)
    }

    pub async fn list(&self) -> Result<Vec<UserRecord>, AppError> {
        use futures::TryStreamExt;
        let options = FindOptions::builder()
            .sort(doc! { "created_at": 1 })
            .build();
        Ok(self
            .users
            .find(doc! {})
            .with_options(options)
            .await?
            .try_collect()
            .await?)
    }

    pub async fn set_role(&self, id: &str, role: Role) -> Result<(), AppError> {
        let user = self.existing(id).await?;
        let loses_admin = user.role == Role::Admin && role != Role::Admin && user.active;
        self.change_user(
            &user,
            loses_admin,
            doc! { "$set": { "role": role.as_str() } },
        )
        .await
    }

    /// Deactivated users cannot sign in, and their open sessions stop working on their next request.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<(), AppError> {
        let user = self.existing(id).await?;
        let loses_admin = !active && user.role == Role::Admin && user.active;
        self.change_user(&user, loses_admin, doc! { "$set": { "active": active } })
            .await
    }

    /// Applies `update` to `user`. A change that takes an active admin away is checked and made in one
    /// transaction that also writes a shared marker, so two such changes at once conflict instead of both seeing
    /// the other admin and leaving none.
    async fn change_user(
        &self,
        user: &UserRecord,
        loses_admin: bool,
        update: mongodb::bson::Document,
    ) -> Result<(), AppError> {
        if !loses_admin {
            self.users
                .update_one(doc! { "_id": user.id }, update)
                .await?;
            return Ok(());
        }
        let mut session = self.users.client().start_session().await?;
        session.start_transaction().await?;
        let changed = async {
            self.setup
                .update_one(
                    doc! { "_id": "admin_changes" },
                    doc! { "$inc": { "count": 1_i64 } },
                )
                .upsert(true)
                .session(&mut session)
                .await?;
            let others = self
                .users
                .count_documents(
                    doc! { "role": Role::Admin.as_str(), "active": true, "_id": { "$ne": user.id } },
                )
                .session(&mut session)
                .await?;
            if others == 0 {
                return Ok(false);
            }
            self.users
                .update_one(doc! { "_id": user.id }, update)
                .session(&mut session)
                .await?;
            Ok::<_, mongodb::error::Error>(true)
        }
        .await;
        match changed {
            Ok(true) => match session.commit_transaction().await {
                Ok(()) => Ok(()),
                Err(error) if error.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR) => {
                    Err(Self::changed_meanwhile())
                }
                Err(error) => Err(error.into()),
            },
            Ok(false) => {
                let _ = session.abort_transaction().await;
                Err(AppError::Conflict(format!(
                    "{} is the last active admin; make someone else an admin first.",
                    user.name
                )))
            }
            Err(error) => {
                let _ = session.abort_transaction().await;
                if error.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR) {
                    Err(Self::changed_meanwhile())
                } else {
                    Err(error.into())
                }
            }
        }
    }

    /// Stores a new password for the user; `must_change` makes them choose another at their next request (an
    /// admin's reset), and a password chosen by the user clears it.
    pub async fn set_password(
        &self,
        id: &str,
        password: &str,
        must_change: bool,
    ) -> Result<(), AppError> {
        validate_new_password(password)?;
        let user = self.existing(id).await?;
        let hash = passwords::hash(password.to_owned()).await?;
        self.users
            .update_one(
                doc! { "_id": user.id },
                doc! { "$set": { "password_hash": hash, "must_change_password": must_change } },
            )
            .await?;
        Ok(())
    }

    fn changed_meanwhile() -> AppError {
        AppError::Conflict(
            "Another change to the admins was made at the same moment; look again and retry."
                .to_owned(),
        )
    }

    async fn existing(&self, id: &str) -> Result<UserRecord, AppError> {
        let id = parse_id(id)?;
        self.users
            .find_one(doc! { "_id": id })
            .await?
            .ok_or_else(|| AppError::NotFound("No such user.".to_owned()))
    }
}

fn validate(name: &str, email: &str, role: Role, password: &str) -> Result<NewUser, AppError> {
    let name = validate_name(name)?;
    let email = normalize_email(email)?;
    validate_new_password(password)?;
    Ok(NewUser {
        name,
        email,
        role,
        password: password.to_owned(),
    })
}
