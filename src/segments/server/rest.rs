//! `/api/segments`: CRUD, previews and audiences. Besides the rule shape the builder uses, the original app's
//! `{name, conditions, logicOperator}` is accepted and translated.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json, Router,
};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Segments;
use crate::{
    auth::server::guard::Principal,
    customers::{model::CustomerRow, server::rest::OriginalCustomer},
    segments::{
        legacy::{translate, LegacyCondition},
        model::{AudiencePreview, SegmentDetail, SegmentDraft, SegmentSummary},
        rules::RuleGroup,
    },
    server::state::AppState,
    shared::error::AppError,
};

const MAX_AUDIENCE_PAGE: i64 = 1_000;

/// A segment as the API answers it after a change: the saved fields and the size counted just now, with the
/// original app's `_id` and `audienceCount` beside Realm's `id` and `size`.
#[derive(Serialize)]
pub struct SavedSegment {
    #[serde(flatten)]
    detail: SegmentDetail,
    size: u64,
    #[serde(rename = "_id")]
    original_id: String,
    #[serde(rename = "audienceCount")]
    audience_count: u64,
}

/// A segment in the list, with the original app's `_id` and `audienceCount` (the size when last counted).
#[derive(Serialize)]
pub struct SegmentListItem {
    #[serde(flatten)]
    summary: SegmentSummary,
    #[serde(rename = "_id")]
    original_id: String,
    #[serde(rename = "audienceCount")]
    audience_count: Option<u64>,
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
    Ok(SavedSegment {
        original_id: id,
        detail,
        size,
        audience_count: size,
    })
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SegmentListItem>>, AppError> {
    let segments = Segments::new(&state.mongo).list().await?;
    Ok(Json(
        segments
            .into_iter()
            .map(|summary| SegmentListItem {
                original_id: summary.id.clone(),
                audience_count: summary.size,
                summary,
            })
            .collect(),
    ))
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

/// One page of a segment's members: `limit` of them (default and most 1,000) after the customer id `after`.
async fn members_page(
    state: &AppState,
    id: &str,
    query: AudienceQuery,
) -> Result<(Vec<CustomerRow>, Option<String>), AppError> {
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
    let customers: Vec<CustomerRow> = Segments::new(&state.mongo)
        .members(id, after, limit)
        .await?;
    let next_after = (customers.len() as i64 == limit)
        .then(|| customers.last().map(|c| c.id.clone()))
        .flatten();
    Ok((customers, next_after))
}

/// `GET /api/segments/{id}/members`: Realm's paged audience, `{segment_id, customers, next_after}`.
pub async fn members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<AudienceQuery>,
) -> Result<Json<Audience>, AppError> {
    let (customers, next_after) = members_page(&state, &id, query).await?;
    Ok(Json(Audience {
        segment_id: id,
        customers,
        next_after,
    }))
}

/// `GET /api/segments/audience/{id}`: the original app's route, answering an array of customers with `_id`. The
/// array is one page (at most 1,000, or `limit`), so that no audience is built whole in memory; when more follow,
/// a `Link: <…>; rel="next"` header gives the next page's address.
pub async fn audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<AudienceQuery>,
) -> Result<Response, AppError> {
    let limit = query.limit;
    let (customers, next_after) = members_page(&state, &id, query).await?;
    let listed: Vec<OriginalCustomer> = customers.into_iter().map(Into::into).collect();
    let mut response = Json(listed).into_response();
    if let Some(after) = next_after {
        let limit = limit.map(|l| format!("&limit={l}")).unwrap_or_default();
        if let Ok(link) = HeaderValue::from_str(&format!(
            "</api/segments/audience/{id}?after={after}{limit}>; rel=\"next\""
        )) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}

pub fn routes() -> Router<AppState> {
    use axum::routing::{get as read, post as submit};
    Router::new()
        .route("/api/segments", read(list).post(create))
        .route("/api/segments/preview", submit(preview))
        .route("/api/segments/audience/{id}", read(audience))
        .route("/api/segments/{id}", read(get).put(update).delete(delete))
        .route("/api/segments/{id}/members", read(members))
}
