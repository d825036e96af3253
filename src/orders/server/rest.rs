//! `POST /api/orders` and `GET /api/orders/batches/{id}`.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    Extension, Json, Router,
};

use super::{accept_batch, batches::Batches, AcceptError};
use crate::{
    auth::server::guard::Principal,
    orders::model::{parse_orders_json, BatchAccepted, BatchSummary, BATCH_LIMITS},
    server::state::AppState,
    shared::{error::AppError, import::read_csv},
};

/// Takes `{"orders": [...]}` as JSON, or a CSV file with a header line (`Content-Type: text/csv`). An
/// `Idempotency-Key` header makes a resent request map to the same batch.
pub async fn post_orders(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<BatchAccepted>), AcceptError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("orders", "the body is not UTF-8 text"))?;
    let idempotency_key = match headers.get("idempotency-key") {
        Some(value) => Some(value.to_str().map_err(|_| {
            AppError::invalid(
                "Idempotency-Key",
                "Idempotency-Key: use printable ASCII characters",
            )
        })?),
        None => None,
    };
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/csv"));
    let orders = if is_csv {
        read_csv(text, BATCH_LIMITS)
    } else {
        parse_orders_json(text, BATCH_LIMITS)
    }
    .map_err(|error| error.into_app_error("orders"))?;
    let accepted = accept_batch(
        &state,
        orders,
        "api".to_owned(),
        principal.describe(),
        idempotency_key,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn get_batch(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BatchSummary>, AppError> {
    Batches::new(&state.mongo)
        .summary(&id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("No batch has the id {id:?}.")))
}

/// The bulk route, under the larger body limit.
pub fn bulk_routes() -> Router<AppState> {
    Router::new().route("/api/orders", axum::routing::post(post_orders))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/orders/batches/{id}", axum::routing::get(get_batch))
}
