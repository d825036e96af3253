//! The campaign server functions the pages call: list, read, save, act on, and watch a campaign.

use crate::{
    campaigns::model::{
        CampaignAction, CampaignDetail, CampaignDraft, CampaignStats, CampaignStatus,
        CampaignSummary, Channel, CommunicationRow, LogFilter,
    },
    shared::error::AppError,
};

#[leptos::server]
pub async fn list_campaigns() -> Result<Vec<CampaignSummary>, AppError> {
    use crate::{
        auth::server::guard::require_user, campaigns::server::Campaigns, server::state::AppState,
    };
    require_user().await?;
    Campaigns::new(&leptos::prelude::expect_context::<AppState>().mongo)
        .list(None)
        .await
}

#[leptos::server]
pub async fn get_campaign(id: String) -> Result<CampaignDetail, AppError> {
    use crate::{
        auth::server::guard::require_user, campaigns::server::Campaigns, server::state::AppState,
    };
    require_user().await?;
    Campaigns::new(&leptos::prelude::expect_context::<AppState>().mongo)
        .detail(&id)
        .await
}

/// Creates a campaign (no `id`) or replaces one that has not started sending; answers its id. With `send_now`,
/// it is then handed to the scheduler at once.
#[leptos::server(input = leptos::server_fn::codec::Json)]
pub async fn save_campaign(
    id: Option<String>,
    draft: CampaignDraft,
    send_now: bool,
) -> Result<String, AppError> {
    use crate::{
        auth::server::guard::require_user, campaigns::server::Campaigns, server::state::AppState,
        shared::time::now_ms,
    };
    let user = require_user().await?;
    // The editor asks for a time to schedule at; one already past is a mistake to point out, not a draft.
    if draft.scheduled_for_ms.is_some() && !draft.schedules(now_ms()) {
        return Err(AppError::invalid(
            "scheduled_for",
            "Choose a time in the future, or send now.",
        ));
    }
    let state = leptos::prelude::expect_context::<AppState>();
    let campaigns = Campaigns::new(&state.mongo);
    let id = match id {
        None => campaigns.create(draft, &user.email).await?,
        Some(id) => campaigns
            .update(&id, draft, &user.email)
            .await
            .map(|()| id)?,
    };
    if send_now {
        campaigns.send_now(&state.broker, &id, &user.email).await?;
    }
    Ok(id)
}

#[leptos::server]
pub async fn act_on_campaign(
    id: String,
    action: CampaignAction,
) -> Result<CampaignStatus, AppError> {
    use crate::{
        auth::server::guard::require_user, campaigns::server::Campaigns, server::state::AppState,
    };
    let user = require_user().await?;
    let state = leptos::prelude::expect_context::<AppState>();
    Campaigns::new(&state.mongo)
        .act(&state.broker, &id, action, &user.email)
        .await
}

#[leptos::server]
pub async fn fetch_campaign_stats(id: String) -> Result<CampaignStats, AppError> {
    use crate::{
        auth::server::guard::require_user, campaigns::server::Campaigns, server::state::AppState,
    };
    require_user().await?;
    Campaigns::new(&leptos::prelude::expect_context::<AppState>().mongo)
        .stats(&id)
        .await
}

#[leptos::server]
pub async fn campaign_log(
    id: String,
    filter: Option<LogFilter>,
) -> Result<Vec<CommunicationRow>, AppError> {
    use crate::{
        auth::server::guard::require_user, campaigns::server::Campaigns, server::state::AppState,
    };
    require_user().await?;
    Campaigns::new(&leptos::prelude::expect_context::<AppState>().mongo)
        .log(&id, filter, None)
        .await
}

/// How many customers of a segment a campaign on `channel` would reach now: those who consented to the channel and
/// have an address for it.
#[leptos::server]
pub async fn reachable_audience(segment_id: String, channel: Channel) -> Result<u64, AppError> {
    use crate::{
        auth::server::guard::require_user, customers::server::count_reachable,
        segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    let mongo = &leptos::prelude::expect_context::<AppState>().mongo;
    let audience = Segments::new(mongo).filter_of(&segment_id).await?;
    count_reachable(mongo, audience, channel).await
}
