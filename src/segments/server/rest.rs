//! `/api/segments`: CRUD, previews and audiences. Besides the rule shape the builder uses, the original app's
//! `{name, conditions, logicOperator}` is accepted and translated.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    Extension, Json, Router,
};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Segments;
use crate::{
    auth::server::guard::Principal,
    customers::{model::CustomerRow, server::customer_row},
    segments::{
        legacy::{translate, LegacyCondition},
        model::{AudiencePreview, SegmentDetail, SegmentDraft, SegmentSummary},
        rules::RuleGroup,
    },
    server::state::AppState,
    shared::error::AppError,
};

const MAX_AUDIENCE_PAGE: i64 = 1_000;

/// A segment as the API answers it after a change: the saved fields and the size counted just now.
#[derive(Serialize)]
pub struct SavedSegment {
    id: String,
    #[serde(flatten)]
    detail: SegmentDetail,
    size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyBody {
    conditions: Vec<LegacyCondition>,
    logic_operator: Option<String>,
}

fn json_body(body: &Bytes) -> Result<Value, AppError> {
    serde_json::from_slice(body)
        .map_err(|error| AppError::invalid("body", format!("the body is not valid JSON: {error}")))
}

/// The rule of a body: `rule` in the builder's shape, or the original app's `conditions` and `logicOperator`.
fn rule_of(body: &Value) -> Result<RuleGroup, AppError> {
    if body.get("conditions").is_some() {
        let legacy: LegacyBody = serde_json::from_value(body.clone())
            .map_err(|e| AppError::invalid("conditions", format!("conditions: {e}")))?;
        return translate(&legacy.conditions, legacy.logic_operator.as_deref());
    }
    let rule = body.get("rule").ok_or_else(|| {
        AppError::invalid(
            "rule",
            "rule: required (or the original app's conditions and logicOperator)",
        )
    })?;
    serde_json::from_value(rule.clone())
        .map_err(|error| AppError::invalid("rule", format!("rule: {error}")))
}

fn draft_of(body: &Value) -> Result<SegmentDraft, AppError> {
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(SegmentDraft {
        name: text("name"),
        description: text("description"),
        rule: rule_of(body)?,
    })
}

/// The segment as stored, with `size` when it was just counted, or counted now.
async fn saved(
    segments: &Segments,
    id: String,
    size: Option<u64>,
) -> Result<SavedSegment, AppError> {
    let detail = segments.detail(&id).await?;
    let size = match size {
        Some(size) => size,
        None => segments.count(&detail.rule).await?,
    };
    Ok(SavedSegment { id, detail, size })
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SegmentSummary>>, AppError> {
    Segments::new(&state.mongo).list().await.map(Json)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<SavedSegment>), AppError> {
    let draft = draft_of(&json_body(&body)?)?;
    let segments = Segments::new(&state.mongo);
    let (id, size) = segments.create(draft, &principal.describe()).await?;
    Ok((
        StatusCode::CREATED,
        Json(saved(&segments, id, Some(size)).await?),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SavedSegment>, AppError> {
    Ok(Json(saved(&Segments::new(&state.mongo), id, None).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<SavedSegment>, AppError> {
    let draft = draft_of(&json_body(&body)?)?;
    let segments = Segments::new(&state.mongo);
    let size = segments.update(&id, draft).await?;
    Ok(Json(saved(&segments, id, Some(size)).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    Segments::new(&state.mongo).delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/segments/preview`: the count and a sample of a rule's audience, without saving anything.
pub async fn preview(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<AudiencePreview>, AppError> {
    let rule = rule_of(&json_body(&body)?)?;
    Segments::new(&state.mongo)
        .preview(&rule, 10)
        .await
        .map(Json)
}

#[derive(Deserialize)]
pub struct AudienceQuery {
    after: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize)]
pub struct Audience {
    segment_id: String,
    customers: Vec<CustomerRow>,
    /// Pass as `after` for the next page; absent on the last page.
    next_after: Option<String>,
}

/// `GET /api/segments/audience/{id}`: the members, in pages of `limit` (default and most 1,000).
pub async fn audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<AudienceQuery>,
) -> Result<Json<Audience>, AppError> {
    let limit = query.limit.unwrap_or(MAX_AUDIENCE_PAGE);
    if !(1..=MAX_AUDIENCE_PAGE).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("limit: from 1 to {MAX_AUDIENCE_PAGE}"),
        ));
    }
    let after = query
        .after
        .filter(|a| !a.is_empty())
        .map(|a| {
            ObjectId::parse_str(&a)
                .map_err(|_| AppError::invalid("after", "after: not a customer id from this list"))
        })
        .transpose()?;
    let members = Segments::new(&state.mongo)
        .members(&id, after, limit)
        .await?;
    let customers: Vec<CustomerRow> = members.iter().map(customer_row).collect();
    let next_after = (customers.len() as i64 == limit)
        .then(|| customers.last().map(|c| c.id.clone()))
        .flatten();
    Ok(Json(Audience {
        segment_id: id,
        customers,
        next_after,
    }))
}

pub fn routes() -> Router<AppState> {
    use axum::routing::{get as read, post as submit};
    Router::new()
        .route("/api/segments", read(list).post(create))
        .route("/api/segments/preview", submit(preview))
        .route("/api/segments/audience/{id}", read(audience))
        .route("/api/segments/{id}", read(get).put(update).delete(delete))
}
