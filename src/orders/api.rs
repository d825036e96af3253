//! The order server functions the pages call: submit a part of an upload, recent batches, history, day totals.

use leptos::prelude::*;
use serde_json::Value;

use crate::{
    orders::model::{BatchAccepted, BatchSummary, DailyOrders, OrderPage},
    shared::error::AppError,
};

/// One part of an uploaded file. The part's content is its idempotency key: sending the same part again (a retry,
/// a resumed upload) maps to the batch it already made.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn submit_orders(orders: Vec<Value>, source: String) -> Result<BatchAccepted, AppError> {
    use crate::{
        auth::server::guard::require_user, orders::server::accept_batch, server::state::AppState,
    };
    use sha2::{Digest, Sha256};
    let user = require_user().await?;
    let state = expect_context::<AppState>();
    let content = serde_json::to_vec(&orders).map_err(|e| AppError::Transport(e.to_string()))?;
    let key = crate::shared::hex::hex(&Sha256::digest(&content));
    Ok(accept_batch(
        &state,
        orders,
        format!("upload: {source}"),
        user.email,
        Some(&format!("upload-{key}")),
    )
    .await?)
}

#[server]
pub async fn recent_batches() -> Result<Vec<BatchSummary>, AppError> {
    use crate::{
        auth::server::guard::require_user, orders::server::batches::Batches,
        server::state::AppState,
    };
    require_user().await?;
    Batches::new(&expect_context::<AppState>().mongo)
        .recent(20)
        .await
}

#[server]
pub async fn list_orders(
    customer: Option<String>,
    from: Option<String>,
    to: Option<String>,
    min: Option<String>,
    max: Option<String>,
    sort: Option<String>,
    after: Option<String>,
    before: Option<String>,
) -> Result<OrderPage, AppError> {
    use crate::{
        auth::server::guard::require_user, orders::server::history, server::state::AppState,
    };
    const PAGE_SIZE: i64 = 25;
    require_user().await?;
    let state = expect_context::<AppState>();
    let filter = history::OrderFilter::parse(customer, from, to, min, max)?;
    history::page(
        &state.mongo,
        filter,
        sort.as_deref(),
        after.as_deref(),
        before.as_deref(),
        PAGE_SIZE,
    )
    .await
}

#[server]
pub async fn orders_per_day(days: u32) -> Result<Vec<DailyOrders>, AppError> {
    use crate::{
        auth::server::guard::require_user, orders::server::daily, server::state::AppState,
    };
    require_user().await?;
    daily::per_day(&expect_context::<AppState>().mongo, days.clamp(1, 366)).await
}
