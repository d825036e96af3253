//! Assembling the dashboard. Every figure comes from a roll-up or an index: orders and revenue from the day
//! totals the consumer keeps, campaign figures from the tallies on each campaign, customers and new customers
//! from the counts per hour the customers feature keeps. Nothing here reads all orders or all messages.

use time::OffsetDateTime;

use crate::{
    campaigns::{
        model::CampaignStatus,
        server::{self as campaigns_server, Campaigns},
    },
    customers::server::growth,
    dashboard::model::{Dashboard, PeriodFigures, FIGURE_DAYS},
    orders::server::daily,
    segments::server::Segments,
    server::mongo::{bson_time, Mongo},
    shared::{error::AppError, time::DAY_MS},
};

/// Campaigns in the performance chart, and rows in each "recent" list.
const RECENT: i64 = 6;

pub async fn load(mongo: &Mongo, days: u32) -> Result<Dashboard, AppError> {
    let now = OffsetDateTime::now_utc();
    let now_ms = bson_time(now).timestamp_millis();
    let created_since = |days: i64| now_ms - days * DAY_MS;
    let segments = Segments::new(mongo);
    let campaign_list = Campaigns::new(mongo);
    let (
        customer_count,
        new_customers_7d,
        new_customers_30d,
        daily,
        campaigns_scheduled,
        campaigns_sending,
        launched,
        all_campaigns,
        largest_segments,
        recent_campaigns,
        recent_segments,
    ) = futures::try_join!(
        growth::total(mongo, now_ms),
        growth::created_since(mongo, created_since(7), now_ms),
        growth::created_since(mongo, created_since(30), now_ms),
        daily::per_day(mongo, days.max(FIGURE_DAYS)),
        campaigns_server::count_with_status(mongo, CampaignStatus::Scheduled),
        campaigns_server::count_with_status(mongo, CampaignStatus::Sending),
        campaigns_server::recently_launched(mongo, RECENT),
        campaigns_server::all_figures(mongo),
        segments.largest(RECENT),
        campaign_list.newest(None, RECENT),
        segments.recent(RECENT),
    )?;
    let periods = [1, 7, 30]
        .into_iter()
        .map(|span| PeriodFigures::ending_today(&daily, span))
        .collect();
    let chart_start = daily.len().saturating_sub(days as usize);
    Ok(Dashboard {
        customers: customer_count,
        new_customers_7d,
        new_customers_30d,
        periods,
        campaigns_scheduled,
        campaigns_sending,
        all_campaigns,
        daily: daily[chart_start..].to_vec(),
        campaign_performance: launched,
        largest_segments: largest_segments
            .into_iter()
            .filter(|segment| segment.size.is_some())
            .collect(),
        recent_campaigns,
        recent_segments,
        counted_at_ms: bson_time(now).timestamp_millis(),
    })
}
