//! The segment server functions the pages call: live size and sample, list, read, save, delete, analytics.

use leptos::prelude::*;

use crate::{
    customers::model::{AudienceEstimate, CustomerRow},
    segments::model::{
        AudiencePreview, SegmentAnalytics, SegmentDetail, SegmentDraft, SegmentSummary,
    },
    segments::rules::RuleGroup,
    shared::error::AppError,
};

/// How many customers `rule` matches now. The builder shows this first, and asks for a sample after.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn count_audience(rule: RuleGroup) -> Result<u64, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    Segments::new(&expect_context::<AppState>().mongo)
        .count(&rule)
        .await
}

/// About how many customers `rule` matches, from a fixed sample: the builder shows it while the exact count runs.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn estimate_audience(rule: RuleGroup) -> Result<AudienceEstimate, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    Segments::new(&expect_context::<AppState>().mongo)
        .estimate(&rule)
        .await
}

/// A few customers `rule` matches.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn sample_audience(rule: RuleGroup) -> Result<Vec<CustomerRow>, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    Segments::new(&expect_context::<AppState>().mongo)
        .sample(&rule, 5)
        .await
}

/// A saved segment's audience now: its size and a few members (the campaign editor previews messages for them).
#[server]
pub async fn segment_audience(id: String) -> Result<AudiencePreview, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    let segments = Segments::new(&expect_context::<AppState>().mongo);
    let rule = segments.detail(&id).await?.rule;
    segments.preview(&rule, 3).await
}

#[server]
pub async fn list_segments() -> Result<Vec<SegmentSummary>, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    Segments::new(&expect_context::<AppState>().mongo)
        .list()
        .await
}

#[server]
pub async fn get_segment(id: String) -> Result<SegmentDetail, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    Segments::new(&expect_context::<AppState>().mongo)
        .detail(&id)
        .await
}

/// Creates a segment (no `id`) or replaces one; answers its id.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn save_segment(id: Option<String>, draft: SegmentDraft) -> Result<String, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    let user = require_user().await?;
    let segments = Segments::new(&expect_context::<AppState>().mongo);
    match id {
        None => segments.create(draft, &user.email).await.map(|(id, _)| id),
        Some(id) => segments.update(&id, draft).await.map(|_| id),
    }
}

#[server]
pub async fn duplicate_segment(id: String) -> Result<String, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    let user = require_user().await?;
    let copy = Segments::new(&expect_context::<AppState>().mongo)
        .duplicate(&id, &user.email)
        .await?;
    // On to the copy's editor, also for a form sent before the page was hydrated.
    leptos_axum::redirect(&format!("/segments/{copy}/edit"));
    Ok(copy)
}

#[server]
pub async fn delete_segment(id: String) -> Result<(), AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    Segments::new(&expect_context::<AppState>().mongo)
        .delete(&id)
        .await?;
    leptos_axum::redirect("/segments");
    Ok(())
}

#[server]
pub async fn analyze_segment(id: String) -> Result<SegmentAnalytics, AppError> {
    use crate::{
        auth::server::guard::require_user, segments::server::Segments, server::state::AppState,
    };
    require_user().await?;
    Segments::new(&expect_context::<AppState>().mongo)
        .analytics(&id)
        .await
}
