//! The dashboard's one server function.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::dashboard::model::check_span;
use crate::{dashboard::model::Dashboard, shared::error::AppError};

/// Everything on the dashboard, with the orders charts over the last `days` days (30 or 90).
#[server]
pub async fn load_dashboard(days: u32) -> Result<Dashboard, AppError> {
    use crate::{auth::server::guard::require_user, server::state::AppState};
    require_user().await?;
    crate::dashboard::server::load(&expect_context::<AppState>().mongo, check_span(days)?).await
}
