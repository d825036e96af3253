//! Accounts, sessions, API keys and the request guard.

pub mod api_keys;
pub mod guard;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod users;

use std::sync::{atomic::AtomicBool, Arc};

use api_keys::ApiKeys;
use throttle::SignInThrottle;
use users::Users;

use super::mongo::Mongo;

#[derive(Clone, Debug)]
pub struct Accounts {
    pub users: Users,
    pub api_keys: ApiKeys,
    pub sign_in_throttle: Arc<SignInThrottle>,
    owner_exists: Arc<AtomicBool>,
}

impl Accounts {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            users: Users::new(mongo),
            api_keys: ApiKeys::new(mongo),
            sign_in_throttle: Arc::default(),
            owner_exists: Arc::default(),
        }
    }
}
