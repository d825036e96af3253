//! `POST /api/orders` and `GET /api/orders/batches/{id}`.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    Extension, Json,
};

use super::{accept_batch, batches::Batches};
use crate::{
    error::AppError,
    import::parse_csv_rows,
    orders::{parse_orders_json, BatchAccepted, BatchSummary},
    server::{auth::guard::Principal, state::AppState},
};

/// Takes `{"orders": [...]}` as JSON, or a CSV file with a header line (`Content-Type: text/csv`).
pub async fn post_orders(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<BatchAccepted>), AppError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("orders", "the body is not UTF-8 text"))?;
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/csv"));
    let orders = if is_csv {
        parse_csv_rows(text)
    } else {
        parse_orders_json(text)
    }
    .map_err(|message| AppError::invalid("orders", message))?;
    let accepted = accept_batch(&state, orders, "api".to_owned(), principal.describe()).await?;
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
