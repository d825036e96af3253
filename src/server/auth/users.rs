//! User accounts in MongoDB.

use mongodb::{
    bson::{doc, oid::ObjectId, DateTime},
    options::FindOptions,
    Collection,
};
use serde::{Deserialize, Serialize};

use super::passwords;
use crate::{
    auth::{normalize_email, validate_name, validate_new_password, CurrentUser, Role},
    error::AppError,
    server::mongo::{collections, is_duplicate_key, Mongo},
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
}

impl UserRecord {
    pub fn to_current_user(&self) -> CurrentUser {
        CurrentUser {
            id: self.id.to_hex(),
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role,
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
        match self
            .setup
            .insert_one(doc! { "_id": "owner", "at": DateTime::now() })
            .await
        {
            Ok(_) => {}
            Err(error) if is_duplicate_key(&error) => return Err(already_set_up()),
            Err(error) => return Err(error.into()),
        }
        self.insert(new_user).await
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
        let record = UserRecord {
            id: ObjectId::new(),
            email: new_user.email,
            name: new_user.name,
            role: new_user.role,
            password_hash: passwords::hash(new_user.password).await?,
            active: true,
            created_at: DateTime::now(),
        };
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
        if user.role == Role::Admin && role != Role::Admin && user.active {
            self.ensure_another_active_admin(&user).await?;
        }
        self.users
            .update_one(
                doc! { "_id": user.id },
                doc! { "$set": { "role": role.as_str() } },
            )
            .await?;
        Ok(())
    }

    /// Deactivated users cannot sign in, and their open sessions stop working on their next request.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<(), AppError> {
        let user = self.existing(id).await?;
        if !active && user.role == Role::Admin && user.active {
            self.ensure_another_active_admin(&user).await?;
        }
        self.users
            .update_one(
                doc! { "_id": user.id },
                doc! { "$set": { "active": active } },
            )
            .await?;
        Ok(())
    }

    async fn existing(&self, id: &str) -> Result<UserRecord, AppError> {
        let id = parse_id(id)?;
        self.users
            .find_one(doc! { "_id": id })
            .await?
            .ok_or_else(|| AppError::NotFound("No such user.".to_owned()))
    }

    async fn ensure_another_active_admin(&self, user: &UserRecord) -> Result<(), AppError> {
        let others = self
            .users
            .count_documents(
                doc! { "role": Role::Admin.as_str(), "active": true, "_id": { "$ne": user.id } },
            )
            .await?;
        if others == 0 {
            Err(AppError::Conflict(format!(
                "{} is the last active admin; make someone else an admin first.",
                user.name
            )))
        } else {
            Ok(())
        }
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
