use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{broker::Broker, mongo::Mongo};

/// Shared by every request handler; server functions reach it with `expect_context::<AppState>()`.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub mongo: Mongo,
    /// The MongoDB URI without its password, for reports.
    pub mongo_target: Arc<str>,
    pub broker: Broker,
}
