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

use crate::server::mongo::Mongo;

#[derive(Clone, Debug)]
pub struct Accounts {
    pub users: Users,
    pub api_keys: ApiKeys,
    pub sign_in_throttle: Arc<SignInThrottle>,
    owner_exists: Arc<AtomicBool>,
}

impl Accounts {
    /// Checks `password` against `stored_hash` (none for an unknown account) as a sign-in attempt: it waits for an
    /// Argon2 turn, counts as a failure of each of `keys` until it succeeds, and is refused with `429` and
    /// `Retry-After` when the server is busy or a key must still wait.
    pub async fn check_password(
        &self,
        keys: &[throttle::ThrottleKey],
        password: String,
        stored_hash: Option<String>,
    ) -> Result<bool, crate::shared::error::AppError> {
        use crate::server::http::refuse_with;
        // A turn first, so that a refusal for being busy does not count as a failure.
        let turn = passwords::turn()
            .await
            .map_err(|busy| refuse_with(busy, Some(passwords::BUSY_RETRY_AFTER)))?;
        self.sign_in_throttle
            .begin(keys, std::time::Instant::now())
            .map_err(throttle::too_many_failures)?;
        let verified = passwords::verify(&turn, password, stored_hash).await;
        if verified {
            self.sign_in_throttle.succeeded(keys);
        }
        Ok(verified)
    }

    pub fn new(mongo: &Mongo) -> Self {
        Self {
            users: Users::new(mongo),
            api_keys: ApiKeys::new(mongo),
            sign_in_throttle: Arc::default(),
            owner_exists: Arc::default(),
        }
    }
}
