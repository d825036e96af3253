//! What every request handler and server function shares: the database, the broker, the accounts and settings.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{broker::Broker, mongo::Mongo};
use crate::auth::server::Accounts;

/// Shared by every request handler; server functions reach it with `expect_context::<AppState>()`.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub mongo: Mongo,
    /// The MongoDB URI without its password, for reports.
    pub mongo_target: Arc<str>,
    pub broker: Broker,
    pub accounts: Accounts,
    /// `REALM_PUBLIC_URL`, when set.
    pub public_origin: Option<Arc<str>>,
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<super::config::TrustedProxies>,
    /// Other sites allowed to call the API with a key (`REALM_CORS_ORIGINS`).
    pub cors_origins: Arc<[String]>,
    /// The secret the vendor presents with receipts (`x-realm-receipts-token`).
    pub receipts_token: String,
    /// The secret webhook requests are signed with (`REALM_WEBHOOK_SECRET`), when one is set.
    #[from_ref(skip)]
    pub webhook_secret: Option<Arc<str>>,
    /// Signs and checks the links in sent messages.
    pub tracking: crate::campaigns::server::tracking::Tracking,
}
