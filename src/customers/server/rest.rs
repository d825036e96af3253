//! `/api/customers`: create or update customers (one, or `{"customers": [...]}` in bulk, idempotent on email),
//! list them and read one.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json, Router,
};
use serde::{Deserialize, Serialize};

use super::{Customers, ListQuery};
use crate::customers::server::CustomerRow;
use crate::{
    customers::model::{
        parse_customer, parse_customer_list, parse_customers_json, CustomerDetail, CustomerPage,
        CustomerSort, CUSTOMER_LIMITS,
    },
    server::state::AppState,
    shared::{error::AppError, import::JsonRecords},
};

/// A customer as the original app's clients read one: Realm's row with `_id` beside `id`.
#[derive(Serialize)]
pub struct OriginalCustomer {
    #[serde(flatten)]
    customer: CustomerRow,
    #[serde(rename = "_id")]
    original_id: String,
}

impl From<CustomerRow> for OriginalCustomer {
    fn from(customer: CustomerRow) -> Self {
        Self {
            original_id: customer.id.clone(),
            customer,
        }
    }
}

/// The answer to one customer: Realm's row, and the original app's `{success, data}` beside it.
#[derive(Serialize)]
struct CustomerAnswer {
    #[serde(flatten)]
    customer: CustomerRow,
    success: bool,
    data: OriginalCustomer,
}

/// One customer object answers the stored customer (201 when new, 200 when updated); a list answers how many were
/// created and updated. A list with any bad row is refused whole.
pub async fn post(State(state): State<AppState>, body: Bytes) -> Result<Response, AppError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("customers", "the body is not UTF-8 text"))?;
    let JsonRecords {
        records: rows,
        single,
    } = parse_customers_json(text, CUSTOMER_LIMITS)
        .map_err(|error| error.into_app_error("customers"))?;
    let customers = match (single, rows.as_slice()) {
        // One customer: a problem names the field itself, not its place in a list.
        (true, [row]) => vec![parse_customer(row)?],
        _ => parse_customer_list(&rows)?,
    };
    let repository = Customers::new(&state.mongo);
    let outcome = repository.import(&customers).await?;
    if single {
        let stored = repository
            .by_email(&customers[0].email)
            .await?
            .ok_or_else(|| {
                AppError::Unavailable("The customer was not stored; try again.".to_owned())
            })?;
        let status = if outcome.created > 0 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let answer = CustomerAnswer {
            customer: stored.clone(),
            success: true,
            data: stored.into(),
        };
        return Ok((status, Json(answer)).into_response());
    }
    Ok((StatusCode::OK, Json(outcome)).into_response())
}

#[derive(Deserialize)]
pub struct ListParams {
    #[serde(default)]
    search: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    segment: String,
    #[serde(default)]
    sort: String,
    after: Option<String>,
    before: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<CustomerPage>, AppError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "limit: from 1 to 500"));
    }
    let query = ListQuery {
        search: params.search,
        tag: params.tag,
        segment: params.segment,
        sort: CustomerSort::parse(&params.sort),
    };
    Customers::new(&state.mongo)
        .page(
            &query,
            params.after.as_deref(),
            params.before.as_deref(),
            limit,
        )
        .await
        .map(Json)
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CustomerDetail>, AppError> {
    Customers::new(&state.mongo).detail(&id).await.map(Json)
}

/// The bulk route (one customer or many), under the larger body limit.
pub fn bulk_routes() -> Router<AppState> {
    Router::new().route("/api/customers", axum::routing::post(post).get(list))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/customers/{id}", axum::routing::get(get))
}
