//! A background task that tallies the messages of every campaign still moving and keeps the tally on the campaign,
//! so that figures over all campaigns (the dashboard) read a few campaign documents instead of every message. A
//! campaign's own page counts its messages directly and is always exact; the tally trails it by at most `EVERY`.

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{figures_of, message_counts};
use crate::shared::time::DAY_MS;
use crate::{
    campaigns::model::CampaignStatus,
    dashboard::model::CampaignFigures,
    server::{
        mongo::{collections, Mongo},
        tasks,
    },
    shared::error::AppError,
};

const EVERY: Duration = Duration::from_secs(5);
/// Opens and clicks keep arriving after the last message went out, so a campaign is tallied for this long after
/// its launch.
const FOLLOW_DAYS: i64 = 14;

pub fn spawn(mongo: Mongo, shutdown: CancellationToken) -> JoinHandle<()> {
    tasks::every(EVERY, shutdown, "campaign figures not tallied", move || {
        let mongo = mongo.clone();
        async move { refresh(&mongo).await.map(drop) }
    })
}

/// Tallies the campaigns that are sending or paused, or were launched in the last `FOLLOW_DAYS` days; answers how
/// many it tallied.
pub async fn refresh(mongo: &Mongo) -> Result<usize, AppError> {
    let campaigns = mongo.collection(collections::CAMPAIGNS);
    let since = DateTime::from_millis(DateTime::now().timestamp_millis() - FOLLOW_DAYS * DAY_MS);
    let moving = [CampaignStatus::Sending.key(), CampaignStatus::Paused.key()];
    let ids: Vec<ObjectId> = campaigns
        .find(doc! { "$or": [
            { "status": { "$in": moving.as_slice() } },
            { "launched_at": { "$gte": since } },
        ] })
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect::<Vec<Document>>()
        .await?
        .iter()
        .filter_map(|campaign| campaign.get_object_id("_id").ok())
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let counted: Vec<Document> = mongo
        .collection(collections::COMMUNICATIONS)
        .aggregate([
            doc! { "$match": { "campaign_id": { "$in": &ids } } },
            doc! { "$group": message_counts("$campaign_id") },
        ])
        .await?
        .try_collect()
        .await?;
    let now = DateTime::now();
    for id in &ids {
        let figures = counted
            .iter()
            .find(|group| group.get_object_id("_id").ok() == Some(*id))
            .map(figures_of)
            .unwrap_or_default();
        campaigns
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "figures": stored(&figures), "figures_counted_at": now } },
            )
            .await?;
    }
    Ok(ids.len())
}

fn stored(figures: &CampaignFigures) -> Document {
    let count = |n: u64| Bson::Int64(n as i64);
    doc! {
        "audience": count(figures.audience),
        "sent": count(figures.sent),
        "failed": count(figures.failed),
        "delivered": count(figures.delivered),
        "opened": count(figures.opened),
        "clicked": count(figures.clicked),
    }
}
