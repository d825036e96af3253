//! A background task that tallies the messages of every campaign still moving and keeps the tally on the campaign,
//! so that figures over all campaigns (the dashboard) read a few campaign documents instead of every message. A
//! campaign's own page counts its messages directly and is always exact; the tally trails it by `EVERY` while the
//! campaign sends, and by `SETTLED_EVERY` once it is done.
//!
//! A tally reads every message of its campaign, so its cost grows with the audience (465 ms for 100,000 on an idle
//! SecantusDB, BENCHMARKS.md): each campaign's next tally waits at least `REST_FACTOR` times as long as its last one
//! took. Tallied every `EVERY`, a campaign of a million would keep the database counting without a break, for two
//! weeks after its launch; now it takes a fifth of the time at most while it sends, and once done a tally a minute.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{figures_of, message_counts};
use crate::shared::time::DAY_MS;
use crate::{
    campaigns::model::CampaignStatus,
    dashboard::model::CampaignFigures,
    server::{
        mongo::{collections, read_as, Mongo},
        tasks,
    },
    shared::error::AppError,
};

const EVERY: Duration = Duration::from_secs(5);
/// How often a campaign that no longer sends is tallied: only its receipts still change.
const SETTLED_EVERY: Duration = Duration::from_secs(60);
/// A campaign's next tally waits at least this many times as long as its last one took.
const REST_FACTOR: u32 = 4;
/// Opens and clicks keep arriving after the last message went out, so a campaign is tallied for this long after
/// its launch.
const FOLLOW_DAYS: i64 = 14;

pub fn spawn(mongo: Mongo, shutdown: CancellationToken) -> JoinHandle<()> {
    tasks::every(EVERY, shutdown, "campaign figures not tallied", move || {
        let mongo = mongo.clone();
        async move { refresh(&mongo).await.map(drop) }
    })
}

/// Tallies the campaigns that are sending or paused, or were launched in the last `FOLLOW_DAYS` days, whose tally
/// is due; answers how many it tallied.
pub async fn refresh(mongo: &Mongo) -> Result<usize, AppError> {
    #[derive(Deserialize)]
    struct Due {
        #[serde(rename = "_id")]
        id: ObjectId,
        status: CampaignStatus,
    }
    let campaigns = mongo.collection(collections::CAMPAIGNS);
    let round = DateTime::now();
    let since = DateTime::from_millis(round.timestamp_millis() - FOLLOW_DAYS * DAY_MS);
    let moving = [CampaignStatus::Sending, CampaignStatus::Paused];
    let due: Vec<Document> = campaigns
        .find(doc! { "$and": [
            { "$or": [
                { "status": { "$in": moving.iter().map(|status| status.key()).collect::<Vec<_>>() } },
                { "launched_at": { "$gte": since } },
            ] },
            { "$or": [
                { "figures_due_at": { "$exists": false } },
                { "figures_due_at": { "$lte": round } },
            ] },
        ] })
        .projection(doc! { "_id": 1, "status": 1 })
        .await?
        .try_collect()
        .await?;
    let tallied = due.len();
    for campaign in due {
        let campaign: Due = read_as("campaign", campaign)?;
        let started = Instant::now();
        let counted: Option<Document> = mongo
            .collection(collections::COMMUNICATIONS)
            .aggregate([
                doc! { "$match": { "campaign_id": campaign.id } },
                doc! { "$group": message_counts("$campaign_id") },
            ])
            .await?
            .try_next()
            .await?;
        let figures = counted.as_ref().map(figures_of).unwrap_or_default();
        let due_at = due_after(round, moving.contains(&campaign.status), started.elapsed());
        campaigns
            .update_one(
                doc! { "_id": campaign.id },
                doc! { "$set": {
                    "figures": stored(&figures),
                    "figures_counted_at": DateTime::now(),
                    "figures_due_at": due_at,
                } },
            )
            .await?;
    }
    Ok(tallied)
}

/// When a campaign tallied in the round that began at `round` is due again, its tally having taken `took`. Counted
/// from the round's start, so that a campaign tallied late in one round is due in the next.
fn due_after(round: DateTime, moving: bool, took: Duration) -> DateTime {
    let every = if moving { EVERY } else { SETTLED_EVERY };
    let rest = every.max(took * REST_FACTOR);
    DateTime::from_millis(round.timestamp_millis() + rest.as_millis() as i64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_waits_for_its_period_or_four_times_as_long_as_the_last_one_took() {
        let round = DateTime::from_millis(1_000_000);
        let due = |moving, took_ms| {
            due_after(round, moving, Duration::from_millis(took_ms)).timestamp_millis()
                - round.timestamp_millis()
        };
        assert_eq!(due(true, 200), 5_000);
        assert_eq!(due(true, 3_000), 12_000);
        assert_eq!(due(false, 200), 60_000);
        assert_eq!(due(false, 20_000), 80_000);
    }
}
