//! Campaigns on the server: the campaigns collection and its transitions, the scheduler that launches due
//! campaigns, the delivery workers, the vendor and its receipts.

pub mod delivery;
pub mod engagement;
pub mod events;
pub mod figures;
pub mod mail;
pub mod receipts;
pub mod rest;
pub mod scheduler;
pub mod smtp;
pub mod tracking;
pub mod vendor;
pub mod webhook;

use std::{collections::HashMap, sync::LazyLock, time::Duration};

use futures::{StreamExt, TryStreamExt};
use mongodb::{
    bson::{doc, oid::ObjectId, Bson, DateTime, Document},
    options::ReturnDocument,
    Collection,
};
use serde::Deserialize;

use crate::dashboard::model::CampaignPerformance;
use crate::shared::time::DAY_MS;
use crate::{
    campaigns::model::{
        CampaignAction, CampaignDetail, CampaignDraft, CampaignStats, CampaignStatus,
        CampaignSummary, Channel, CommunicationRow, LogFilter, MessageStatus, StatusChange,
    },
    dashboard::model::CampaignFigures,
    segments::{model::SegmentUse, server as segments_server},
    server::{
        broker::Broker,
        fresh::Fresh,
        mongo::{collections, display_time, number, parse_id, read_as, Mongo},
    },
    shared::error::AppError,
};

/// A message status is stored under its key, so that `doc!` takes the status itself.
impl From<MessageStatus> for Bson {
    fn from(status: MessageStatus) -> Self {
        Bson::String(status.key().to_owned())
    }
}

/// A moment in a message's life, each kept in a date field of the message, set once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Sent,
    Delivered,
    Opened,
    Clicked,
}

impl Moment {
    pub fn field(self) -> &'static str {
        match self {
            Moment::Sent => "sent_at",
            Moment::Delivered => "delivered_at",
            Moment::Opened => "opened_at",
            Moment::Clicked => "clicked_at",
        }
    }
}

impl From<vendor::ReceiptEvent> for Moment {
    fn from(event: vendor::ReceiptEvent) -> Self {
        match event {
            vendor::ReceiptEvent::Delivered => Moment::Delivered,
            vendor::ReceiptEvent::Opened => Moment::Opened,
            vendor::ReceiptEvent::Clicked => Moment::Clicked,
        }
    }
}

impl From<crate::segments::rules::Engagement> for Moment {
    fn from(engagement: crate::segments::rules::Engagement) -> Self {
        use crate::segments::rules::Engagement;
        match engagement {
            Engagement::Sent => Moment::Sent,
            Engagement::Opened => Moment::Opened,
            Engagement::Clicked => Moment::Clicked,
        }
    }
}

/// A `$group` stage body counting messages per `key`: all of them, by outcome, waiting, and with each receipt.
pub fn message_counts(key: impl Into<Bson>) -> Document {
    let status_is = |statuses: &[MessageStatus]| doc! { "$sum": { "$cond": [{ "$in": ["$status", statuses.to_vec()] }, 1, 0] } };
    let has = |field: &str| doc! { "$sum": { "$cond": [{ "$gt": [field, Bson::Null] }, 1, 0] } };
    doc! {
        "_id": key.into(),
        "audience": { "$sum": 1 },
        "sent": status_is(&[MessageStatus::Sent]),
        "failed": status_is(&[MessageStatus::Failed]),
        "suppressed": status_is(&[MessageStatus::Suppressed]),
        "pending": status_is(&[MessageStatus::Pending]),
        "delivered": has("$delivered_at"),
        "opened": has("$opened_at"),
        "clicked": has("$clicked_at"),
        "unsubscribed": has("$unsubscribed_at"),
        "bounced": has("$bounced_at"),
    }
}

/// The counts of a `message_counts` group, or of a campaign's stored `figures`.
pub fn figures_of(counts: &Document) -> CampaignFigures {
    let count = |key: &str| number(counts, key).max(0) as u64;
    CampaignFigures {
        audience: count("audience"),
        sent: count("sent"),
        failed: count("failed"),
        delivered: count("delivered"),
        opened: count("opened"),
        clicked: count("clicked"),
        suppressed: count("suppressed"),
        unsubscribed: count("unsubscribed"),
        bounced: count("bounced"),
    }
}

/// The links of the campaign's message, the ones its emails track clicks through.
pub async fn message_links(
    mongo: &Mongo,
    id: ObjectId,
) -> Result<std::sync::Arc<[String]>, AppError> {
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    let campaign = mongo
        .collection(collections::CAMPAIGNS)
        .find_one(doc! { "_id": id })
        .projection(doc! { "message": 1 })
        .await?
        .ok_or_else(|| AppError::NotFound("campaign deleted".to_owned()))?;
    let campaign: Message = read_as("campaign", campaign)?;
    Ok(crate::campaigns::template::links(&campaign.message).into())
}

/// Messages one update statement names at most. SecantusDB does work in proportion to a statement's `$in` list for
/// every message it updates, so a statement of a thousand cost a quarter more per message than ten of a hundred,
/// and one of three thousand twice as much (BENCHMARKS.md, campaign delivery); fewer than a hundred add a
/// statement's own cost for too few messages.
pub const STATEMENT_MESSAGES: usize = 100;

/// How many messages an update statement (`{q: {_id: {$in: [...]}, ...}}`) names, for tests of the statements.
#[cfg(test)]
pub fn messages_named(statement: &Document) -> usize {
    statement
        .get_document("q")
        .and_then(|query| query.get_document("_id"))
        .and_then(|id| id.get_array("$in"))
        .map_or(0, Vec::len)
}

/// Applies update statements (`{q, u}`) to communications in one unordered command; answers how many changed.
pub async fn update_communications(mongo: &Mongo, updates: Vec<Document>) -> Result<u64, AppError> {
    if updates.is_empty() {
        return Ok(0);
    }
    let reply = mongo
        .database()
        .run_command(
            doc! { "update": collections::COMMUNICATIONS, "updates": updates, "ordered": false },
        )
        .await?;
    Ok(number(&reply, "nModified").max(0) as u64)
}

/// A campaign as stored.
#[derive(Debug, Deserialize)]
pub struct StoredCampaign {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    /// None only when the segment id given was not an id (the draft's check refuses it first).
    pub segment_id: Option<ObjectId>,
    pub channel: Channel,
    #[serde(default)]
    pub subject: String,
    pub message: String,
    pub status: CampaignStatus,
    pub status_reason: Option<String>,
    pub scheduled_for: Option<DateTime>,
    /// Campaigns saved before these settings existed take the defaults a new campaign gets.
    #[serde(default = "default_rate")]
    pub rate_per_second: i64,
    #[serde(default = "default_attribution_days")]
    pub attribution_days: i64,
    pub frequency_cap_hours: Option<i64>,
    #[serde(default)]
    pub history: Vec<StoredChange>,
    pub created_by: String,
    /// Set when the audience is frozen at launch.
    pub audience: Option<i64>,
    /// Recipients settled by delivery, and those settled as they were frozen (suppressed, no address).
    #[serde(default)]
    pub processed: i64,
    #[serde(default)]
    pub settled_at_launch: i64,
    /// Whether every job of the launch was queued.
    #[serde(default)]
    pub jobs_queued: bool,
}

/// One recipient's message as stored: frozen at launch with its text, then claimed, sent and tracked.
#[derive(Debug, Deserialize)]
pub struct StoredMessage {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub customer_id: ObjectId,
    pub name: String,
    /// The address or number; empty when the customer had none for the channel (the message then failed).
    pub to: String,
    /// Email only.
    pub subject: Option<String>,
    pub message: String,
    pub status: MessageStatus,
    pub failure_reason: Option<String>,
    pub attempts: i64,
    /// When the first attempt was made; transient failures are retried for a while from then.
    pub first_attempt_at: Option<DateTime>,
    pub sent_at: Option<DateTime>,
    pub delivered_at: Option<DateTime>,
    pub opened_at: Option<DateTime>,
    pub clicked_at: Option<DateTime>,
}

impl StoredMessage {
    pub fn read(document: Document) -> Result<Self, AppError> {
        read_as("message", document)
    }
}

fn default_rate() -> i64 {
    i64::from(crate::campaigns::model::DEFAULT_RATE_PER_SECOND)
}

fn default_attribution_days() -> i64 {
    i64::from(crate::campaigns::model::DEFAULT_ATTRIBUTION_DAYS)
}

/// One entry of a campaign's history.
#[derive(Debug, Deserialize)]
pub struct StoredChange {
    pub status: CampaignStatus,
    pub at: DateTime,
    pub by: String,
    pub reason: Option<String>,
}

impl StoredCampaign {
    pub fn read(document: Document) -> Result<Self, AppError> {
        read_as("campaign", document)
    }

    fn draft(&self) -> CampaignDraft {
        CampaignDraft {
            name: self.name.clone(),
            segment_id: self.segment_id.map(|id| id.to_hex()).unwrap_or_default(),
            channel: self.channel,
            subject: self.subject.clone(),
            message: self.message.clone(),
            scheduled_for_ms: self.scheduled_for.map(|at| at.timestamp_millis()),
            rate_per_second: self.rate_per_second.clamp(1, i64::from(u32::MAX)) as u32,
            attribution_days: self.attribution_days.clamp(1, 365) as u32,
            frequency_cap_hours: self
                .frequency_cap_hours
                .map(|hours| hours.clamp(1, i64::from(u32::MAX)) as u32),
        }
    }

    fn segment_name(&self, names: &HashMap<ObjectId, String>) -> String {
        self.segment_id
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_else(|| "(deleted segment)".to_owned())
    }
}

#[derive(Clone)]
pub struct Campaigns {
    mongo: Mongo,
    campaigns: Collection<Document>,
    communications: Collection<Document>,
}

impl Campaigns {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            mongo: mongo.clone(),
            campaigns: mongo.collection(collections::CAMPAIGNS),
            communications: mongo.collection(collections::COMMUNICATIONS),
        }
    }

    pub async fn find(&self, id: &str) -> Result<StoredCampaign, AppError> {
        let oid = parse_id(id, "campaign")?;
        let campaign = self
            .campaigns
            .find_one(doc! { "_id": oid })
            .await?
            .ok_or_else(|| AppError::NotFound(format!("No campaign has the id {id:?}.")))?;
        StoredCampaign::read(campaign)
    }

    async fn segment_name(&self, segment: &str) -> Result<String, AppError> {
        let oid = parse_id(segment, "segment")
            .map_err(|_| AppError::invalid("segment_id", "Choose a segment from the list."))?;
        segments_server::names(&self.mongo, &[oid])
            .await?
            .remove(&oid)
            .ok_or_else(|| {
                AppError::invalid("segment_id", "That segment does not exist (any more).")
            })
    }

    fn content(draft: &CampaignDraft) -> Document {
        doc! {
            "name": &draft.name,
            "segment_id": ObjectId::parse_str(&draft.segment_id).ok(),
            "channel": draft.channel.key(),
            "subject": &draft.subject,
            "message": &draft.message,
            "scheduled_for": draft.scheduled_for_ms.map(DateTime::from_millis),
            "rate_per_second": i64::from(draft.rate_per_second),
            "attribution_days": i64::from(draft.attribution_days),
            "frequency_cap_hours": draft.frequency_cap_hours.map(i64::from),
        }
    }

    fn change(status: CampaignStatus, by: &str, reason: Option<&str>) -> Document {
        doc! { "status": status.key(), "at": DateTime::now(), "by": by, "reason": reason }
    }

    /// Saves a new campaign as a draft, or scheduled when it has a time.
    pub async fn create(&self, draft: CampaignDraft, by: &str) -> Result<String, AppError> {
        let draft = draft.cleaned()?;
        self.segment_name(&draft.segment_id).await?;
        let status = if draft.schedules(DateTime::now().timestamp_millis()) {
            CampaignStatus::Scheduled
        } else {
            CampaignStatus::Draft
        };
        let mut campaign = Self::content(&draft);
        campaign.extend(doc! {
            "status": status.key(),
            "history": [Self::change(status, by, None)],
            "created_at": DateTime::now(),
            "created_by": by,
            "updated_at": DateTime::now(),
        });
        let inserted = self.campaigns.insert_one(campaign).await?;
        Ok(inserted
            .inserted_id
            .as_object_id()
            .map(|id| id.to_hex())
            .unwrap_or_default())
    }

    /// Replaces the content of a campaign that has not started sending.
    pub async fn update(&self, id: &str, draft: CampaignDraft, by: &str) -> Result<(), AppError> {
        let draft = draft.cleaned()?;
        self.segment_name(&draft.segment_id).await?;
        let campaign = self.find(id).await?;
        let (oid, status) = (campaign.id, campaign.status);
        if !status.editable() {
            return Err(AppError::Conflict(format!(
                "A {} campaign cannot be changed.",
                status.key()
            )));
        }
        let next = if draft.schedules(DateTime::now().timestamp_millis()) {
            CampaignStatus::Scheduled
        } else {
            CampaignStatus::Draft
        };
        let mut set = Self::content(&draft);
        set.extend(doc! { "status": next.key(), "updated_at": DateTime::now() });
        let mut update = doc! { "$set": set };
        if next != status {
            update.insert("$push", doc! { "history": Self::change(next, by, None) });
        }
        // Only while still editable: the scheduler may have launched it in the meantime.
        let filter = doc! { "_id": oid, "status": { "$in": ["draft", "scheduled"] } };
        if self
            .campaigns
            .update_one(filter, update)
            .await?
            .matched_count
            == 0
        {
            return Err(AppError::Conflict(
                "The campaign started sending while it was being edited.".to_owned(),
            ));
        }
        Ok(())
    }

    /// Moves a campaign from one of `from` to the status `action` leads to, atomically; `set` is stored with it.
    /// Answers the campaign as it was before, or `None` when it was not in one of `from`.
    pub async fn transition(
        &self,
        id: ObjectId,
        from: CampaignStatus,
        action: CampaignAction,
        by: &str,
        reason: Option<&str>,
        set: Document,
    ) -> Result<Option<Document>, AppError> {
        let update = Self::transition_update(from, action, by, reason, set)?;
        Ok(self
            .campaigns
            .find_one_and_update(doc! { "_id": id, "status": from.key() }, update)
            .return_document(ReturnDocument::Before)
            .await?)
    }

    /// The update that moves a campaign from `from` by `action`, as the lifecycle allows, with its history entry.
    fn transition_update(
        from: CampaignStatus,
        action: CampaignAction,
        by: &str,
        reason: Option<&str>,
        mut set: Document,
    ) -> Result<Document, AppError> {
        let to = from.after(action).map_err(AppError::Conflict)?;
        set.insert("status", to.key());
        set.insert("status_reason", reason);
        set.insert("updated_at", DateTime::now());
        Ok(doc! { "$set": set, "$push": { "history": Self::change(to, by, reason) } })
    }

    /// Takes the campaign that fell due first, moving it from scheduled to sending by the lifecycle's launch, in one
    /// atomic step: with several instances on one database, each campaign is taken by one of them.
    pub async fn claim_due(&self, by: &str) -> Result<Option<StoredCampaign>, AppError> {
        let from = CampaignStatus::Scheduled;
        let update = Self::transition_update(
            from,
            CampaignAction::Launch,
            by,
            None,
            doc! { "launched_at": DateTime::now() },
        )?;
        Ok(self
            .campaigns
            .find_one_and_update(
                doc! { "status": from.key(), "scheduled_for": { "$lte": DateTime::now() } },
                update,
            )
            .sort(doc! { "scheduled_for": 1 })
            .return_document(ReturnDocument::After)
            .await?
            .map(StoredCampaign::read)
            .transpose()?)
    }

    /// An action asked for by a person; the refusal says why it cannot be taken now.
    pub async fn act(
        &self,
        broker: &Broker,
        id: &str,
        action: CampaignAction,
        by: &str,
    ) -> Result<CampaignStatus, AppError> {
        if !action.is_user_action() {
            return Err(AppError::Forbidden(format!(
                "Only the scheduler can {} a campaign.",
                action.verb()
            )));
        }
        let campaign = self.find(id).await?;
        let (oid, from) = (campaign.id, campaign.status);
        let to = from.after(action).map_err(AppError::Conflict)?;
        let mut set = doc! {};
        if action == CampaignAction::Schedule && campaign.scheduled_for.is_none() {
            // "Send now": due at once, so the scheduler takes it on its next look.
            set.insert("scheduled_for", DateTime::now());
        }
        if self
            .transition(oid, from, action, by, None, set)
            .await?
            .is_none()
        {
            return Err(AppError::Conflict(
                "The campaign changed in the meantime; look again.".to_owned(),
            ));
        }
        match action {
            CampaignAction::Cancel => {
                self.communications
                    .update_many(
                        doc! { "campaign_id": oid, "status": MessageStatus::Pending },
                        doc! { "$set": { "status": MessageStatus::Cancelled } },
                    )
                    .await?;
            }
            CampaignAction::Resume => scheduler::publish_pending(&self.mongo, broker, oid).await?,
            _ => {}
        }
        Ok(to)
    }

    /// Sends a campaign at once: scheduled for now, whatever time it had.
    pub async fn send_now(
        &self,
        broker: &Broker,
        id: &str,
        by: &str,
    ) -> Result<CampaignStatus, AppError> {
        let campaign = self.find(id).await?;
        if campaign.status.editable() {
            self.campaigns
                .update_one(
                    doc! { "_id": campaign.id },
                    doc! { "$set": { "scheduled_for": DateTime::now() } },
                )
                .await?;
        }
        match campaign.status {
            CampaignStatus::Scheduled => Ok(CampaignStatus::Scheduled),
            _ => self.act(broker, id, CampaignAction::Schedule, by).await,
        }
    }

    async fn segment_names(
        &self,
        campaigns: &[StoredCampaign],
    ) -> Result<HashMap<ObjectId, String>, AppError> {
        let ids: Vec<ObjectId> = campaigns.iter().filter_map(|c| c.segment_id).collect();
        segments_server::names(&self.mongo, &ids).await
    }

    /// The newest campaigns first, of one segment or of all.
    pub async fn list(&self, segment: Option<ObjectId>) -> Result<Vec<CampaignSummary>, AppError> {
        self.newest(segment, 200).await
    }

    pub async fn newest(
        &self,
        segment: Option<ObjectId>,
        limit: i64,
    ) -> Result<Vec<CampaignSummary>, AppError> {
        let filter = segment
            .map(|id| doc! { "segment_id": id })
            .unwrap_or_default();
        let found: Vec<StoredCampaign> = self
            .campaigns
            .find(filter)
            .sort(doc! { "_id": -1 })
            .limit(limit)
            .await?
            .map(|found| StoredCampaign::read(found?))
            .try_collect()
            .await?;
        let names = self.segment_names(&found).await?;
        Ok(found
            .iter()
            .map(|campaign| CampaignSummary {
                id: campaign.id.to_hex(),
                segment_name: campaign.segment_name(&names),
                channel: campaign.channel,
                status: campaign.status,
                scheduled_for_ms: campaign.scheduled_for.map(|at| at.timestamp_millis()),
                audience: campaign.audience.map(|audience| audience.max(0) as u64),
                processed: (campaign.processed + campaign.settled_at_launch).max(0) as u64,
                name: campaign.name.clone(),
            })
            .collect())
    }

    pub async fn detail(&self, id: &str) -> Result<CampaignDetail, AppError> {
        let campaign = self.find(id).await?;
        let names = self.segment_names(std::slice::from_ref(&campaign)).await?;
        Ok(CampaignDetail {
            id: campaign.id.to_hex(),
            segment_name: campaign.segment_name(&names),
            draft: campaign.draft(),
            status: campaign.status,
            history: campaign
                .history
                .iter()
                .map(|change| StatusChange {
                    status: change.status,
                    at: display_time(change.at),
                    by: change.by.clone(),
                    reason: change.reason.clone(),
                })
                .collect(),
            status_reason: campaign.status_reason,
            created_by: campaign.created_by,
        })
    }

    /// A campaign's statistics, exact when computed, and computed at most once a second for each campaign
    /// however many pages poll them; the attributed revenue, which scans orders, at most every ten seconds.
    pub async fn stats(&self, id: &str) -> Result<CampaignStats, AppError> {
        // Keyed by status too: a campaign that just completed is counted again at once, in full.
        static STATS: LazyLock<Fresh<(ObjectId, &'static str), CampaignStats>> =
            LazyLock::new(|| Fresh::new(1_000, Duration::from_secs(1)));
        let campaign = self.find(id).await?;
        let oid = campaign.id;
        let attribution_days = campaign.attribution_days.clamp(0, 365) as u32;
        let status = campaign.status.key();
        let mut stats = STATS
            .get((oid, status), || self.count_stats(oid, attribution_days))
            .await?;
        // The status is read fresh: an action shows at once, only the counts may be a second old.
        stats.status = status.to_owned();
        Ok(stats)
    }

    async fn count_stats(
        &self,
        oid: ObjectId,
        attribution_days: u32,
    ) -> Result<CampaignStats, AppError> {
        static ATTRIBUTION: LazyLock<Fresh<ObjectId, (u64, i64)>> =
            LazyLock::new(|| Fresh::new(1_000, Duration::from_secs(10)));
        let pipeline = [
            doc! { "$match": { "campaign_id": oid } },
            doc! { "$facet": {
                "counts": [{ "$group": message_counts(Bson::Null) }],
                "reasons": [
                    { "$match": { "status": MessageStatus::Failed } },
                    { "$group": { "_id": "$failure_reason", "count": { "$sum": 1 } } },
                    { "$sort": { "count": -1 } },
                ],
                "minutes": [
                    { "$match": { "sent_at": { "$type": "date" } } },
                    { "$group": { "_id": { "$dateTrunc": { "date": "$sent_at", "unit": "minute" } }, "count": { "$sum": 1 } } },
                    { "$sort": { "_id": 1 } },
                ],
            } },
        ];
        let facets = self
            .communications
            .aggregate(pipeline)
            .await?
            .try_next()
            .await?
            .unwrap_or_default();
        let groups = |key: &str| -> Vec<Document> {
            facets
                .get_array(key)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Bson::as_document)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut stats = CampaignStats {
            attribution_days,
            ..CampaignStats::default()
        };
        if let Some(counts) = groups("counts").first() {
            let figures = figures_of(counts);
            stats.audience = figures.audience;
            stats.sent = figures.sent;
            stats.failed = figures.failed;
            stats.delivered = figures.delivered;
            stats.opened = figures.opened;
            stats.clicked = figures.clicked;
            stats.suppressed = figures.suppressed;
            stats.unsubscribed = figures.unsubscribed;
            stats.bounced = figures.bounced;
            stats.pending = number(counts, "pending") as u64;
        }
        stats.failures_by_reason = groups("reasons")
            .iter()
            .map(|group| {
                (
                    group.get_str("_id").unwrap_or("unknown").to_owned(),
                    number(group, "count") as u64,
                )
            })
            .collect();
        stats.sent_per_minute = groups("minutes")
            .iter()
            .filter_map(|group| {
                let minute = group
                    .get_datetime("_id")
                    .ok()?
                    .try_to_rfc3339_string()
                    .ok()?;
                Some((
                    minute.chars().take(16).collect(),
                    number(group, "count") as u64,
                ))
            })
            .collect();
        (stats.attributed_orders, stats.attributed_revenue_cents) = ATTRIBUTION
            .get(oid, || self.attributed_revenue(oid, attribution_days))
            .await?;
        Ok(stats)
    }

    /// Orders placed by recipients within `days` after their message was delivered.
    async fn attributed_revenue(
        &self,
        campaign: ObjectId,
        days: u32,
    ) -> Result<(u64, i64), AppError> {
        let mut delivered_at: HashMap<ObjectId, DateTime> = HashMap::new();
        let mut found = self
            .communications
            .find(doc! { "campaign_id": campaign, "delivered_at": { "$type": "date" } })
            .projection(doc! { "customer_id": 1, "delivered_at": 1 })
            .await?;
        while let Some(row) = found.try_next().await? {
            if let (Ok(customer), Ok(at)) = (
                row.get_object_id("customer_id"),
                row.get_datetime("delivered_at"),
            ) {
                delivered_at.insert(customer, *at);
            }
        }
        crate::orders::server::history::placed_after(
            &self.mongo,
            &delivered_at,
            i64::from(days) * DAY_MS,
        )
        .await
    }

    /// The communication log, optionally of those `filter` picks, 200 at a time after the customer id `after`.
    pub async fn log(
        &self,
        id: &str,
        filter: Option<LogFilter>,
        after: Option<&str>,
    ) -> Result<Vec<CommunicationRow>, AppError> {
        let oid = self.find(id).await?.id;
        let mut query = doc! { "campaign_id": oid };
        match filter {
            Some(LogFilter::Status(status)) => {
                query.insert("status", status);
            }
            Some(LogFilter::Delivered) => {
                query.insert("delivered_at", doc! { "$type": "date" });
            }
            Some(LogFilter::Opened) => {
                query.insert("opened_at", doc! { "$type": "date" });
            }
            Some(LogFilter::Clicked) => {
                query.insert("clicked_at", doc! { "$type": "date" });
            }
            None => {}
        }
        if let Some(after) = after.filter(|a| !a.is_empty()) {
            query.insert("customer_id", doc! { "$gt": parse_id(after, "customer")? });
        }
        let rows: Vec<StoredMessage> = self
            .communications
            .find(query)
            .sort(doc! { "customer_id": 1 })
            .limit(200)
            .await?
            .map(|found| StoredMessage::read(found?))
            .try_collect()
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| CommunicationRow {
                customer_id: row.customer_id.to_hex(),
                name: row.name,
                to: row.to,
                status: row.status,
                failure_reason: row.failure_reason,
                attempts: row.attempts,
                sent_at: row.sent_at.map(display_time),
                delivered_at: row.delivered_at.map(display_time),
                opened_at: row.opened_at.map(display_time),
                clicked_at: row.clicked_at.map(display_time),
                message: row.message,
            })
            .collect())
    }
}

/// The campaigns aimed at `segment`, newest first, with a status among `statuses` (any when empty): what a
/// segment's page lists, and what keeps a segment from being deleted.
pub async fn aimed_at(
    mongo: &Mongo,
    segment: ObjectId,
    statuses: &[CampaignStatus],
    limit: i64,
) -> Result<Vec<SegmentUse>, AppError> {
    let mut filter = doc! { "segment_id": segment };
    if !statuses.is_empty() {
        let keys: Vec<&str> = statuses.iter().map(|status| status.key()).collect();
        filter.insert("status", doc! { "$in": keys });
    }
    #[derive(Deserialize)]
    struct Use {
        #[serde(rename = "_id")]
        id: ObjectId,
        name: String,
        status: CampaignStatus,
    }
    mongo
        .collection(collections::CAMPAIGNS)
        .find(filter)
        .projection(doc! { "name": 1, "status": 1 })
        .sort(doc! { "_id": -1 })
        .limit(limit)
        .await?
        .map(|found| {
            let campaign: Use = read_as("campaign", found?)?;
            Ok(SegmentUse {
                campaign_id: campaign.id.to_hex(),
                campaign_name: campaign.name,
                status: campaign.status,
            })
        })
        .try_collect()
        .await
}

/// How many campaigns have `status`.
pub async fn count_with_status(mongo: &Mongo, status: CampaignStatus) -> Result<u64, AppError> {
    Ok(mongo
        .collection(collections::CAMPAIGNS)
        .count_documents(doc! { "status": status.key() })
        .await?)
}

/// The last `limit` campaigns launched, with their tallies: the dashboard's performance chart.
pub async fn recently_launched(
    mongo: &Mongo,
    limit: i64,
) -> Result<Vec<CampaignPerformance>, AppError> {
    #[derive(Deserialize)]
    struct Launched {
        #[serde(rename = "_id")]
        id: ObjectId,
        name: String,
        /// Tallied every few seconds; none until the first tally.
        figures: Option<Document>,
    }
    mongo
        .collection(collections::CAMPAIGNS)
        .find(doc! { "launched_at": { "$type": "date" } })
        .sort(doc! { "launched_at": -1 })
        .limit(limit)
        .projection(doc! { "name": 1, "figures": 1 })
        .await?
        .map(|found| {
            let campaign: Launched = read_as("campaign", found?)?;
            Ok(CampaignPerformance {
                id: campaign.id.to_hex(),
                name: campaign.name,
                figures: campaign
                    .figures
                    .as_ref()
                    .map(figures_of)
                    .unwrap_or_default(),
            })
        })
        .try_collect()
        .await
}

/// The tallies of every campaign added up.
pub async fn all_figures(mongo: &Mongo) -> Result<CampaignFigures, AppError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_saved_before_rates_and_attribution_existed_reads_with_their_defaults() {
        let id = ObjectId::new();
        let stored = doc! {
            "_id": id, "name": "Spring", "segment_id": ObjectId::new(), "channel": "email", "subject": "Hi",
            "message": "Hello", "status": "draft", "created_by": "ada@example.com",
        };
        let campaign = StoredCampaign::read(stored).unwrap();
        assert_eq!(campaign.rate_per_second, 50);
        assert_eq!(campaign.attribution_days, 7);
        assert!(campaign.history.is_empty());

        let broken = doc! { "_id": id, "name": "Spring", "status": "draft" };
        let error = StoredCampaign::read(broken).unwrap_err();
        assert!(error.to_string().contains(&id.to_hex()), "{error}");
    }
}
