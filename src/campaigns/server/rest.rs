//! `/api/campaigns`: CRUD, actions and statistics, plus the original app's routes
//! (`POST /api/campaigns` with `{name, segmentId, scheduledFor?, message}`, `GET /api/campaigns/segment/{id}`,
//! `POST /api/campaigns/send/{id}`, `GET /api/campaigns/statistics/{id}`).

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    Extension, Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Campaigns;
use crate::{
    auth::server::guard::Principal,
    campaigns::model::{
        CampaignAction, CampaignDetail, CampaignDraft, CampaignStats, CampaignStatus,
        CampaignSummary, Channel, CommunicationRow, DEFAULT_ATTRIBUTION_DAYS,
        DEFAULT_RATE_PER_SECOND,
    },
    customers::server::parse_id,
    orders::model::parse_date,
    server::state::AppState,
    shared::error::AppError,
};

#[derive(Serialize)]
pub struct CampaignAnswer {
    id: String,
    #[serde(flatten)]
    detail: CampaignDetail,
}

/// A draft from the body: ours (`segment_id`, `scheduled_for_ms`, ...) or the original app's (`segmentId`,
/// `scheduledFor` as ISO 8601, `message`; sent by email with the campaign's name as subject).
fn draft_of(body: &Bytes) -> Result<CampaignDraft, AppError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| AppError::invalid("body", format!("the body is not valid JSON: {e}")))?;
    if value.get("segmentId").is_some() {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let scheduled_for_ms = match value.get("scheduledFor").filter(|v| !v.is_null()) {
            None => None,
            Some(at) => Some(
                parse_date(at)
                    .map(|moment| (moment.unix_timestamp_nanos() / 1_000_000) as i64)
                    .map_err(|_| {
                        AppError::invalid(
                            "scheduledFor",
                            "scheduledFor: expected an ISO 8601 date-time",
                        )
                    })?,
            ),
        };
        let subject = Some(text("subject"))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| text("name"));
        return Ok(CampaignDraft {
            subject,
            name: text("name"),
            segment_id: text("segmentId"),
            channel: Channel::Email,
            message: text("message"),
            scheduled_for_ms,
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            attribution_days: DEFAULT_ATTRIBUTION_DAYS,
        });
    }
    serde_json::from_value(value).map_err(|e| AppError::invalid("body", format!("body: {e}")))
}

async fn answer(campaigns: &Campaigns, id: String) -> Result<CampaignAnswer, AppError> {
    Ok(CampaignAnswer {
        detail: campaigns.detail(&id).await?,
        id,
    })
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<CampaignSummary>>, AppError> {
    Campaigns::new(&state.mongo).list(None).await.map(Json)
}

/// `GET /api/campaigns/segment/{segment_id}`: the campaigns aimed at a segment.
pub async fn for_segment(
    State(state): State<AppState>,
    Path(segment): Path<String>,
) -> Result<Json<Vec<CampaignSummary>>, AppError> {
    Campaigns::new(&state.mongo)
        .list(Some(parse_id(&segment, "segment")?))
        .await
        .map(Json)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<CampaignAnswer>), AppError> {
    let campaigns = Campaigns::new(&state.mongo);
    let id = campaigns
        .create(draft_of(&body)?, &principal.describe())
        .await?;
    Ok((StatusCode::CREATED, Json(answer(&campaigns, id).await?)))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CampaignAnswer>, AppError> {
    Ok(Json(answer(&Campaigns::new(&state.mongo), id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<CampaignAnswer>, AppError> {
    let campaigns = Campaigns::new(&state.mongo);
    campaigns
        .update(&id, draft_of(&body)?, &principal.describe())
        .await?;
    Ok(Json(answer(&campaigns, id).await?))
}

#[derive(Serialize)]
pub struct ActionAnswer {
    id: String,
    status: CampaignStatus,
}

/// `POST /api/campaigns/{id}/{action}` with `schedule`, `unschedule`, `send-now`, `pause`, `resume` or `cancel`.
pub async fn act(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<ActionAnswer>, AppError> {
    let campaigns = Campaigns::new(&state.mongo);
    let by = principal.describe();
    let status = match action.as_str() {
        "send-now" => campaigns.send_now(&state.broker, &id, &by).await?,
        other => {
            let action = match other {
                "schedule" => CampaignAction::Schedule,
                "unschedule" => CampaignAction::Unschedule,
                "pause" => CampaignAction::Pause,
                "resume" => CampaignAction::Resume,
                "cancel" => CampaignAction::Cancel,
                _ => {
                    return Err(AppError::NotFound(format!(
                        "No campaign action is called {other:?}."
                    )))
                }
            };
            campaigns.act(&state.broker, &id, action, &by).await?
        }
    };
    Ok(Json(ActionAnswer { id, status }))
}

/// `POST /api/campaigns/send/{id}`: the original app's "send now".
pub async fn send(
    state: State<AppState>,
    principal: Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ActionAnswer>, AppError> {
    act(state, principal, Path((id, "send-now".to_owned()))).await
}

pub async fn stats(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CampaignStats>, AppError> {
    Campaigns::new(&state.mongo).stats(&id).await.map(Json)
}

#[derive(Deserialize)]
pub struct LogQuery {
    status: Option<String>,
    after: Option<String>,
}

pub async fn log(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Json<Vec<CommunicationRow>>, AppError> {
    Campaigns::new(&state.mongo)
        .log(&id, query.status.as_deref(), query.after.as_deref())
        .await
        .map(Json)
}

/// Vendor receipts come in batches, under the larger body limit.
pub fn bulk_routes() -> Router<AppState> {
    Router::new().route("/api/receipts", axum::routing::post(super::receipts::post))
}

pub fn routes() -> Router<AppState> {
    use axum::routing::{get as read, post as submit};
    Router::new()
        .route("/api/campaigns", read(list).post(create))
        .route("/api/campaigns/segment/{segment_id}", read(for_segment))
        .route("/api/campaigns/send/{id}", submit(send))
        .route("/api/campaigns/statistics/{id}", read(stats))
        .route("/api/campaigns/{id}", read(get).put(update))
        .route("/api/campaigns/{id}/stats", read(stats))
        .route("/api/campaigns/{id}/log", read(log))
        .route("/api/campaigns/{id}/{action}", submit(act))
}
