//! `/api/campaigns`: CRUD, actions and statistics, plus the original app's routes
//! (`POST /api/campaigns` with `{name, segmentId, scheduledFor?, message}`, `GET /api/campaigns/segment/{id}`,
//! `POST /api/campaigns/send/{id}`, `GET /api/campaigns/statistics/{id}`, and `PATCH /api/campaigns/metrics/{id}`,
//! which answers 410).

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
        CampaignSummary, Channel, CommunicationRow, LogFilter, DEFAULT_ATTRIBUTION_DAYS,
        DEFAULT_MESSAGE, DEFAULT_RATE_PER_SECOND,
    },
    server::{mongo::parse_id, state::AppState},
    shared::error::AppError,
    shared::time::parse_date,
};

/// A campaign as the API answers it: Realm's detail (`id`, `draft`, `status`, ...) and, beside it, the fields the
/// original app's clients read at the top level. The original's upper-case statuses are not repeated: `status` is
/// Realm's lower-case one (the README lists the difference).
#[derive(Serialize)]
pub struct CampaignAnswer {
    #[serde(flatten)]
    detail: CampaignDetail,
    #[serde(rename = "_id")]
    original_id: String,
    name: String,
    #[serde(rename = "segmentId")]
    segment_id: String,
    #[serde(rename = "scheduledFor")]
    scheduled_for: Option<String>,
    message: String,
    /// Why a date sent with the campaign did not schedule it.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
}

/// A campaign in the list, with the original app's `_id` beside `id`.
#[derive(Serialize)]
pub struct CampaignListItem {
    #[serde(flatten)]
    summary: CampaignSummary,
    #[serde(rename = "_id")]
    original_id: String,
}

fn listed(campaigns: Vec<CampaignSummary>) -> Vec<CampaignListItem> {
    campaigns
        .into_iter()
        .map(|summary| CampaignListItem {
            original_id: summary.id.clone(),
            summary,
        })
        .collect()
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
                    .map(crate::shared::time::ms_of)
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
        // The original frontend never sends a message: the campaign starts with a greeting to edit.
        let message = Some(text("message"))
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_MESSAGE.to_owned());
        return Ok(CampaignDraft {
            subject,
            name: text("name"),
            segment_id: text("segmentId"),
            channel: Channel::Email,
            message,
            scheduled_for_ms,
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            attribution_days: DEFAULT_ATTRIBUTION_DAYS,
            frequency_cap_hours: None,
        });
    }
    serde_json::from_value(value).map_err(|e| AppError::invalid("body", format!("body: {e}")))
}

async fn answer(
    campaigns: &Campaigns,
    id: &str,
    note: Option<&'static str>,
) -> Result<CampaignAnswer, AppError> {
    let detail = campaigns.detail(id).await?;
    Ok(CampaignAnswer {
        original_id: detail.id.clone(),
        name: detail.draft.name.clone(),
        segment_id: detail.draft.segment_id.clone(),
        scheduled_for: detail.draft.scheduled_for_ms.and_then(|ms| {
            mongodb::bson::DateTime::from_millis(ms)
                .try_to_rfc3339_string()
                .ok()
        }),
        message: detail.draft.message.clone(),
        note,
        detail,
    })
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<CampaignListItem>>, AppError> {
    Campaigns::new(&state.mongo)
        .list(None)
        .await
        .map(|campaigns| Json(listed(campaigns)))
}

/// `GET /api/campaigns/segment/{segment_id}`: the campaigns aimed at a segment.
pub async fn for_segment(
    State(state): State<AppState>,
    Path(segment): Path<String>,
) -> Result<Json<Vec<CampaignListItem>>, AppError> {
    Campaigns::new(&state.mongo)
        .list(Some(parse_id(&segment, "segment")?))
        .await
        .map(|campaigns| Json(listed(campaigns)))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<CampaignAnswer>), AppError> {
    let campaigns = Campaigns::new(&state.mongo);
    let draft = draft_of(&body)?;
    let note = draft.not_scheduled_because(crate::shared::time::now_ms());
    let id = campaigns.create(draft, &principal.describe()).await?;
    Ok((
        StatusCode::CREATED,
        Json(answer(&campaigns, &id, note).await?),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CampaignAnswer>, AppError> {
    Ok(Json(
        answer(&Campaigns::new(&state.mongo), &id, None).await?,
    ))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<CampaignAnswer>, AppError> {
    let campaigns = Campaigns::new(&state.mongo);
    let draft = draft_of(&body)?;
    let note = draft.not_scheduled_because(crate::shared::time::now_ms());
    campaigns.update(&id, draft, &principal.describe()).await?;
    Ok(Json(answer(&campaigns, &id, note).await?))
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

/// `PATCH /api/campaigns/metrics/{id}`: the original app let clients push a campaign's metrics. Realm counts them
/// from delivery receipts instead, so that nobody can set them by hand; the answer says where to read them.
pub async fn metrics_gone(Path(id): Path<String>) -> AppError {
    AppError::Gone(format!(
        "Campaign metrics are counted by Realm from delivery receipts and cannot be set; read them at GET /api/campaigns/statistics/{id}."
    ))
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
    let filter = query
        .status
        .filter(|status| !status.is_empty())
        .map(LogFilter::try_from)
        .transpose()
        .map_err(|message| AppError::invalid("status", message))?;
    Campaigns::new(&state.mongo)
        .log(&id, filter, query.after.as_deref())
        .await
        .map(Json)
}

/// Vendor receipts and mail provider events come in batches, under the larger body limit.
pub fn bulk_routes() -> Router<AppState> {
    Router::new()
        .route("/api/receipts", axum::routing::post(super::receipts::post))
        .route(
            "/api/webhooks/email-events",
            axum::routing::post(super::events::post),
        )
}

pub fn routes() -> Router<AppState> {
    use axum::routing::{get as read, post as submit};
    Router::new()
        .route("/api/campaigns", read(list).post(create))
        .route("/api/campaigns/segment/{segment_id}", read(for_segment))
        .route("/api/campaigns/send/{id}", submit(send))
        .route("/api/campaigns/statistics/{id}", read(stats))
        .route(
            "/api/campaigns/metrics/{id}",
            axum::routing::patch(metrics_gone),
        )
        .route("/api/campaigns/{id}", read(get).put(update))
        .route("/api/campaigns/{id}/stats", read(stats))
        .route("/api/campaigns/{id}/log", read(log))
        .route("/api/campaigns/{id}/{action}", submit(act))
}
