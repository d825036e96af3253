//! The scheduler: a background task that launches each due campaign exactly once, also with several app instances
//! against the same database (the launch is an atomic claim in MongoDB) and also when the app was down at the due
//! time (a due campaign stays due until claimed). Launching freezes the segment's audience into one communication
//! per recipient, with the rendered message, and queues delivery jobs for the workers.

use std::{collections::HashSet, time::Duration};

use futures::TryStreamExt;
use lapin::BasicProperties;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Campaigns, StoredCampaign};
use crate::{
    campaigns::{
        model::{CampaignAction, CampaignStatus, Channel, MessageStatus},
        template::{RecipientFields, Template},
    },
    customers::{self, server::StoredCustomer},
    segments::server::Segments,
    server::{
        broker::Broker,
        mongo::{collections, is_duplicate_key, Mongo},
        tasks,
    },
    shared::{error::AppError, time::HOUR_MS},
};

/// How often the scheduler looks for due campaigns.
const TICK: Duration = Duration::from_millis(500);
/// A communication handed to a worker that has not reported back in this long was lost with its worker.
const STALE_CLAIM: Duration = Duration::from_secs(60);
/// How often lost work is looked for.
const RECOVER_EVERY: Duration = Duration::from_secs(10);
/// Recipients per delivery job.
pub const JOB_SIZE: usize = 100;
const INSERT_CHUNK: usize = 1_000;
pub const SCHEDULER: &str = "scheduler";

/// One delivery job on the queue: recipients of one campaign.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub campaign_id: String,
    pub communication_ids: Vec<String>,
}

pub fn spawn(mongo: Mongo, broker: Broker, shutdown: CancellationToken) -> JoinHandle<()> {
    let mut last_recovery = tokio::time::Instant::now() - STALE_CLAIM;
    tasks::every(TICK, shutdown, "scheduler", move || {
        let recover_now = last_recovery.elapsed() >= RECOVER_EVERY;
        if recover_now {
            last_recovery = tokio::time::Instant::now();
        }
        let (mongo, broker) = (mongo.clone(), broker.clone());
        async move {
            let launched = launch_due(&mongo, &broker).await;
            // Recovery runs even when launching failed: it is what gives back the work a failure left behind.
            if recover_now {
                recover(&mongo, &broker, STALE_CLAIM).await?;
            }
            launched
        }
    })
}

/// Claims due campaigns one at a time and launches each.
pub async fn launch_due(mongo: &Mongo, broker: &Broker) -> Result<(), AppError> {
    if !broker.is_connected() {
        // Jobs could not be queued; leave the campaign due until they can.
        return Ok(());
    }
    let campaigns = Campaigns::new(mongo);
    loop {
        let Some(campaign) = campaigns.claim_due(SCHEDULER).await? else {
            return Ok(());
        };
        let id = campaign.id;
        tracing::info!(campaign = %id, "launching campaign");
        if let Err(error) = launch(mongo, broker, &campaign).await {
            tracing::warn!(campaign = %id, "launch not finished, retried by recovery: {error}");
            // A campaign that can never be sent fails with the reason; anything else is retried.
            if matches!(
                error,
                AppError::NotFound(_) | AppError::InvalidRule(_) | AppError::Invalid { .. }
            ) {
                let reason = error.to_string();
                campaigns
                    .transition(
                        id,
                        CampaignStatus::Sending,
                        CampaignAction::Fail,
                        SCHEDULER,
                        Some(&reason),
                        doc! {},
                    )
                    .await?;
            }
        }
    }
}

/// Freezes the audience and queues its jobs. Safe to run again after a crash: communications are unique per
/// campaign and customer, and jobs only carry recipients still pending.
async fn launch(mongo: &Mongo, broker: &Broker, campaign: &StoredCampaign) -> Result<(), AppError> {
    let id = campaign.id;
    let segment = campaign
        .segment_id
        .ok_or_else(|| AppError::NotFound("the campaign has no segment".to_owned()))?;
    let filter = Segments::new(mongo)
        .filter_of(&segment.to_hex())
        .await
        .map_err(|_| AppError::NotFound("its segment was deleted before it was sent".to_owned()))?;
    let channel = campaign.channel;
    let message = Template::parse(&campaign.message)
        .map_err(|reason| AppError::invalid("message", reason))?;
    let subject = match channel {
        Channel::Email => Some(
            Template::parse(&campaign.subject)
                .map_err(|reason| AppError::invalid("subject", reason))?,
        ),
        Channel::Sms => None,
    };

    let communications = mongo.collection(collections::COMMUNICATIONS);
    let members = customers::server::audience::recipients(mongo, filter).await?;
    let mut members = std::pin::pin!(members);
    let cap = campaign.frequency_cap_hours.filter(|hours| *hours > 0);
    let mut batch: Vec<StoredCustomer> = Vec::with_capacity(INSERT_CHUNK);
    let mut audience = 0_i64;
    // Recipients settled as they are frozen (suppressed, or without an address), for the campaign's progress.
    let mut settled = 0_i64;
    let mut relaunch = false;
    loop {
        let member = members.try_next().await?;
        let done = member.is_none();
        batch.extend(member);
        if !done && batch.len() < INSERT_CHUNK {
            continue;
        }
        if batch.is_empty() {
            break;
        }
        let recent = match cap {
            Some(hours) => messaged_since(mongo, id, channel, &batch, hours).await?,
            None => HashSet::new(),
        };
        let frozen: Vec<Document> = std::mem::take(&mut batch)
            .iter()
            .map(|member| {
                let capped_by = cap.filter(|_| recent.contains(&member.id));
                communication_of(id, channel, &message, subject.as_ref(), member, capped_by)
            })
            .collect();
        audience += frozen.len() as i64;
        settled += frozen
            .iter()
            .filter(|row| row.get_str("status") != Ok(MessageStatus::Pending.key()))
            .count() as i64;
        match communications.insert_many(&frozen).ordered(false).await {
            // Queued as soon as they are written, so the first messages go out while the rest of a large
            // audience is still being frozen.
            Ok(_) => publish_jobs(broker, id, pending_ids(&frozen)).await?,
            // Frozen by an earlier attempt at this launch: those stay as they are, and every recipient still
            // pending is queued at the end.
            Err(error) if is_duplicate_key(&error) => relaunch = true,
            Err(error) => return Err(error.into()),
        }
        if done {
            break;
        }
    }
    mongo
        .collection(collections::CAMPAIGNS)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "audience": audience, "settled_at_launch": settled } },
        )
        .await?;
    if relaunch {
        // A queued recipient queued again is harmless: workers claim each recipient once.
        publish_pending(mongo, broker, id).await?;
    }
    mongo
        .collection(collections::CAMPAIGNS)
        .update_one(doc! { "_id": id }, doc! { "$set": { "jobs_queued": true } })
        .await?;
    super::delivery::complete_if_done(mongo, id).await
}

/// The frozen row of one recipient. `capped_by` is the frequency cap (in hours) that this recipient falls under.
fn communication_of(
    campaign: ObjectId,
    channel: Channel,
    message: &Template,
    subject: Option<&Template>,
    member: &StoredCustomer,
    capped_by: Option<i64>,
) -> Document {
    let fields = RecipientFields::from(&member.row());
    let to = match channel {
        Channel::Email => Some(member.email.as_str()),
        Channel::Sms => member.phone.as_deref(),
    };
    let mut row = doc! {
        "_id": ObjectId::new(),
        "campaign_id": campaign,
        "customer_id": member.id,
        // Estimates of segments on engagement read the sample's messages only.
        "sample_bucket": member.sample_bucket(),
        // Kept for the frequency cap of later campaigns.
        "channel": channel.key(),
        "name": &fields.name,
        "to": to.unwrap_or_default(),
        "subject": subject.map(|s| s.render(&fields)),
        "message": message.render(&fields),
        "attempts": 0_i64,
        "created_at": DateTime::now(),
    };
    let consent = member.consent(channel);
    let (status, reason) = match (to, capped_by) {
        (None, _) => (
            MessageStatus::Failed,
            Some(match channel {
                Channel::Email => "no email address on record".to_owned(),
                Channel::Sms => "no phone number on record".to_owned(),
            }),
        ),
        // Without consent for the channel nothing is sent, and the log says why.
        (Some(_), _) if !consent.allows_sending() => (
            MessageStatus::Suppressed,
            Some(format!("{} consent: {}", channel.key(), consent.key())),
        ),
        (Some(_), Some(hours)) => (
            MessageStatus::Suppressed,
            Some(format!(
                "frequency cap: sent a message by {} in the last {hours} hours",
                channel.key()
            )),
        ),
        (Some(_), None) => (MessageStatus::Pending, None),
    };
    row.insert("status", status);
    if let Some(reason) = reason {
        row.insert("failure_reason", reason);
    }
    row
}

/// Of `members`, the customers another campaign on `channel` sent a message to in the last `hours`.
async fn messaged_since(
    mongo: &Mongo,
    campaign: ObjectId,
    channel: Channel,
    members: &[StoredCustomer],
    hours: i64,
) -> Result<HashSet<ObjectId>, AppError> {
    let ids: Vec<ObjectId> = members.iter().map(|member| member.id).collect();
    let since = DateTime::from_millis(DateTime::now().timestamp_millis() - hours * HOUR_MS);
    let recent: Vec<Document> = mongo
        .collection(collections::COMMUNICATIONS)
        .find(doc! {
            "customer_id": { "$in": ids },
            "channel": channel.key(),
            "sent_at": { "$gte": since },
            "campaign_id": { "$ne": campaign },
        })
        .projection(doc! { "customer_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(recent
        .iter()
        .filter_map(|row| row.get_object_id("customer_id").ok())
        .collect())
}

fn pending_ids(communications: &[Document]) -> Vec<ObjectId> {
    communications
        .iter()
        .filter(|row| row.get_str("status") == Ok(MessageStatus::Pending.key()))
        .filter_map(|row| row.get_object_id("_id").ok())
        .collect()
}

/// Queues jobs of `JOB_SIZE` recipients.
async fn publish_jobs(
    broker: &Broker,
    campaign: ObjectId,
    recipients: Vec<ObjectId>,
) -> Result<(), AppError> {
    for ids in recipients.chunks(JOB_SIZE) {
        let job = DeliveryJob {
            campaign_id: campaign.to_hex(),
            communication_ids: ids.iter().map(|id| id.to_hex()).collect(),
        };
        let payload = serde_json::to_vec(&job).map_err(|e| AppError::Transport(e.to_string()))?;
        let properties = BasicProperties::default().with_content_type("application/json".into());
        broker
            .publish_confirmed(
                "",
                &broker.topology().deliveries_queue,
                &payload,
                properties,
            )
            .await
            .map_err(|error| AppError::Unavailable(format!("delivery jobs not queued: {error}")))?;
    }
    Ok(())
}

/// Queues a job for every recipient of the campaign still waiting; used on resume and after an interrupted launch.
pub async fn publish_pending(
    mongo: &Mongo,
    broker: &Broker,
    campaign: ObjectId,
) -> Result<(), AppError> {
    let mut pending = mongo
        .collection(collections::COMMUNICATIONS)
        .find(doc! { "campaign_id": campaign, "status": MessageStatus::Pending })
        .projection(doc! { "_id": 1 })
        .await?;
    let mut ids = Vec::with_capacity(JOB_SIZE);
    while let Some(row) = pending.try_next().await? {
        ids.extend(row.get_object_id("_id").ok());
        if ids.len() == JOB_SIZE {
            publish_jobs(broker, campaign, std::mem::take(&mut ids)).await?;
        }
    }
    publish_jobs(broker, campaign, ids).await
}

/// Finishes launches interrupted by a crash, and gives communications lost with a worker (claimed longer than
/// `stale_after` ago without an outcome) back to the queue.
pub async fn recover(
    mongo: &Mongo,
    broker: &Broker,
    stale_after: Duration,
) -> Result<(), AppError> {
    let campaigns: Vec<Document> = mongo
        .collection(collections::CAMPAIGNS)
        .find(doc! { "status": "sending" })
        .await?
        .try_collect()
        .await?;
    for campaign in campaigns {
        // One campaign that cannot be read (logged) does not keep the others from being recovered.
        let Ok(campaign) = StoredCampaign::read(campaign) else {
            continue;
        };
        let id = campaign.id;
        if !campaign.jobs_queued {
            launch(mongo, broker, &campaign).await?;
            continue;
        }
        let stale = DateTime::from_millis(
            DateTime::now().timestamp_millis() - stale_after.as_millis() as i64,
        );
        let released = super::delivery::release_lost_claims(mongo, id, stale).await?;
        // Versions before claims had a collection of their own marked the message "sending" instead.
        let reset = mongo
            .collection(collections::COMMUNICATIONS)
            .update_many(
                doc! { "campaign_id": id, "status": "sending", "claimed_at": { "$lt": stale } },
                doc! { "$set": { "status": MessageStatus::Pending }, "$unset": { "claim": "" } },
            )
            .await?;
        let lost = released + reset.modified_count;
        if lost > 0 {
            tracing::info!(campaign = %id, recipients = lost, "requeueing recipients of a lost worker");
            publish_pending(mongo, broker, id).await?;
        } else {
            // Workers complete a campaign by its tally; one left short by a crash is completed here.
            super::delivery::complete_if_done(mongo, id).await?;
        }
    }
    Ok(())
}
