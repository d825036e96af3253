//! Assembling the dashboard. Every figure comes from a roll-up or an index: orders and revenue from the day
//! totals the consumer keeps, campaign figures from the tallies on each campaign, new customers from the
//! `created_at` index. Nothing here reads all orders or all messages.

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use time::{Duration, OffsetDateTime};

use crate::{
    campaigns::CampaignStatus,
    dashboard::{CampaignFigures, CampaignPerformance, Dashboard, PeriodFigures, FIGURE_DAYS},
    error::AppError,
    server::{
        campaigns::{figures_of, Campaigns},
        ingest::daily,
        mongo::{bson_time, collections, Mongo},
        segments::Segments,
    },
};

/// Campaigns in the performance chart, and rows in each "recent" list.
const RECENT: i64 = 6;

pub async fn load(mongo: &Mongo, days: u32) -> Result<Dashboard, AppError> {
    let now = OffsetDateTime::now_utc();
    let customers = mongo.collection(collections::CUSTOMERS);
    let campaigns = mongo.collection(collections::CAMPAIGNS);
    let created_since =
        |days: i64| doc! { "created_at": { "$gte": bson_time(now - Duration::days(days)) } };
    let status_is = |status: CampaignStatus| doc! { "status": status.key() };
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
        async { Ok::<_, AppError>(customers.estimated_document_count().await?) },
        async { Ok::<_, AppError>(customers.count_documents(created_since(7)).await?) },
        async { Ok::<_, AppError>(customers.count_documents(created_since(30)).await?) },
        daily::per_day(mongo, days.max(FIGURE_DAYS)),
        async {
            Ok::<_, AppError>(
                campaigns
                    .count_documents(status_is(CampaignStatus::Scheduled))
                    .await?,
            )
        },
        async {
            Ok::<_, AppError>(
                campaigns
                    .count_documents(status_is(CampaignStatus::Sending))
                    .await?,
            )
        },
        recently_launched(mongo),
        all_campaign_figures(mongo),
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

async fn recently_launched(mongo: &Mongo) -> Result<Vec<CampaignPerformance>, AppError> {
    let found: Vec<Document> = mongo
        .collection(collections::CAMPAIGNS)
        .find(doc! { "launched_at": { "$type": "date" } })
        .sort(doc! { "launched_at": -1 })
        .limit(RECENT)
        .projection(doc! { "name": 1, "figures": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .map(|campaign| CampaignPerformance {
            id: campaign
                .get_object_id("_id")
                .map(|id| id.to_hex())
                .unwrap_or_default(),
            name: campaign.get_str("name").unwrap_or_default().to_owned(),
            figures: campaign
                .get_document("figures")
                .map(figures_of)
                .unwrap_or_default(),
        })
        .collect())
}

async fn all_campaign_figures(mongo: &Mongo) -> Result<CampaignFigures, AppError> {
    let sum = |field: &str| doc! { "$sum": format!("$figures.{field}") };
    let totals = mongo
        .collection(collections::CAMPAIGNS)
        .aggregate([
            doc! { "$match": { "figures": { "$type": "object" } } },
            doc! { "$group": {
                "_id": null,
                "audience": sum("audience"),
                "sent": sum("sent"),
                "failed": sum("failed"),
                "delivered": sum("delivered"),
                "opened": sum("opened"),
                "clicked": sum("clicked"),
            } },
        ])
        .await?
        .try_next()
        .await?;
    Ok(totals.as_ref().map(figures_of).unwrap_or_default())
}
