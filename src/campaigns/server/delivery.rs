//! Delivery workers: a consumer in the same process takes jobs off the deliveries queue, claims each recipient
//! atomically just before its send (so a claim is seconds old at most, however slow the campaign's rate, and a
//! recipient is never sent by two workers; see [`Sender::claim`]), sends through the vendor at the campaign's rate,
//! retries transient failures with backoff, records each outcome, and acknowledges the job after recording. A
//! recipient whose attempts all failed transiently (a mail server down) waits for the job's next turn, for up to an
//! hour. Paused or cancelled campaigns send nothing more: their recipients stay pending (for resume) or are cancelled.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use backon::{ExponentialBuilder, Retryable};
use futures::{StreamExt, TryStreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lapin::options::{BasicAckOptions, BasicNackOptions};
use mongodb::{
    bson::{doc, oid::ObjectId, Bson, DateTime, Document},
    Collection,
};
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    scheduler::{DeliveryJob, SCHEDULER},
    vendor::{OutgoingMessage, Vendor, VendorError},
    Campaigns, StoredMessage,
};
use crate::{
    campaigns::model::{CampaignAction, CampaignStatus, Channel, MessageStatus},
    server::{
        broker::Broker,
        mongo::{collections, duplicate_positions, read_as, Mongo},
    },
    shared::error::AppError,
};

// Jobs and batches in flight: enough that the database, not waiting on it, bounds delivery. With half as many
// jobs and batches, a third of the two cores sat idle during a campaign of 100,000 (BENCHMARKS.md).
const PREFETCH: u16 = 16;
const CONCURRENT_JOBS: usize = 16;
/// Recipients claimed and handed to the vendor together (fewer when the campaign's rate is lower).
const BATCH: usize = 100;
/// Batches of one job in flight at once.
const BATCHES_PER_JOB: usize = 8;
/// Outcomes written in one command, at least twice a second.
const RECORD_EVERY: usize = 500;
/// Attempts per recipient for failures the vendor calls transient.
const MAX_ATTEMPTS: usize = 4;
/// The wait before the second attempt; each later one waits twice as long as the one before.
const FIRST_RETRY_AFTER: Duration = Duration::from_millis(100);

/// One rate limiter per campaign, shared by every worker of this process.
#[derive(Clone, Default)]
struct Limiters(Arc<Mutex<HashMap<ObjectId, (u32, Arc<DefaultDirectRateLimiter>)>>>);

impl Limiters {
    fn for_campaign(&self, campaign: ObjectId, per_second: u32) -> Arc<DefaultDirectRateLimiter> {
        let mut limiters = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let entry = limiters.entry(campaign).or_insert_with(|| {
            (
                per_second,
                Arc::new(RateLimiter::direct(Quota::per_second(rate))),
            )
        });
        if entry.0 != per_second {
            *entry = (
                per_second,
                Arc::new(RateLimiter::direct(Quota::per_second(rate))),
            );
        }
        entry.1.clone()
    }
}

pub fn spawn(
    mongo: Mongo,
    broker: Broker,
    vendor: Arc<dyn Vendor>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let limiters = Limiters::default();
        while !shutdown.is_cancelled() {
            let queue = broker.topology().deliveries_queue.clone();
            let Some((channel, deliveries)) = broker
                .consume(&queue, "realm-deliveries", PREFETCH, &shutdown)
                .await
            else {
                break;
            };
            deliveries
                .take_until(shutdown.cancelled())
                .take_while(|delivery| std::future::ready(delivery.is_ok()))
                .filter_map(|delivery| std::future::ready(delivery.ok()))
                .for_each_concurrent(CONCURRENT_JOBS, |delivery| {
                    let (mongo, vendor, limiters, shutdown) =
                        (&mongo, vendor.clone(), limiters.clone(), &shutdown);
                    async move {
                        let job: Result<DeliveryJob, _> = serde_json::from_slice(&delivery.data);
                        let outcome = match job {
                            Ok(job) => {
                                run_job(mongo, vendor.as_ref(), &limiters, &job, shutdown).await
                            }
                            // Not a job of ours: nothing to deliver, and redelivering it would not change that.
                            Err(error) => {
                                tracing::warn!(
                                    "dropping a message that is not a delivery job: {error}"
                                );
                                Ok(())
                            }
                        };
                        let settled = match outcome {
                            Ok(()) => delivery.ack(BasicAckOptions::default()).await,
                            Err(error) => {
                                tracing::warn!("delivery job not finished, requeued: {error}");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                delivery
                                    .nack(BasicNackOptions {
                                        requeue: true,
                                        ..BasicNackOptions::default()
                                    })
                                    .await
                            }
                        };
                        if let Err(error) = settled {
                            tracing::warn!("settling a delivery job failed: {error}");
                        }
                    }
                })
                .await;
            let _ = channel.close(200, "delivery workers stopping".into()).await;
        }
    })
}

/// The campaign's status, rate and channel as a job starts.
struct CampaignWatch {
    status: CampaignStatus,
    rate: u32,
    channel: Channel,
}

impl CampaignWatch {
    async fn read(mongo: &Mongo, id: ObjectId) -> Result<Self, AppError> {
        #[derive(Deserialize)]
        struct Watched {
            status: CampaignStatus,
            rate_per_second: i64,
            channel: Channel,
        }
        let campaign = mongo
            .collection(collections::CAMPAIGNS)
            .find_one(doc! { "_id": id })
            .projection(doc! { "status": 1, "rate_per_second": 1, "channel": 1 })
            .await?
            .ok_or_else(|| AppError::NotFound("campaign deleted".to_owned()))?;
        let campaign: Watched = read_as("campaign", campaign)?;
        Ok(Self {
            status: campaign.status,
            rate: campaign.rate_per_second.clamp(1, i64::from(u32::MAX)) as u32,
            channel: campaign.channel,
        })
    }
}

/// How often a running job reads its campaign's status again, so that a pause or cancel stops new sends soon.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Stops the job's sends once the campaign is no longer sending. It runs beside the sends, not after each outcome
/// is recorded: a recording slowed by a busy database must not keep a paused campaign sending.
async fn watch_campaign(mongo: &Mongo, campaign: ObjectId, stop: &CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(WATCH_EVERY) => {}
        }
        let stopped = match CampaignWatch::read(mongo, campaign).await {
            Ok(watch) => watch.status != CampaignStatus::Sending,
            Err(AppError::NotFound(_)) => true,
            // A failed read says nothing about the campaign: keep going and read again.
            Err(_) => false,
        };
        if stopped {
            stop.cancel();
            return;
        }
    }
}

async fn run_job(
    mongo: &Mongo,
    vendor: &dyn Vendor,
    limiters: &Limiters,
    job: &DeliveryJob,
    shutdown: &CancellationToken,
) -> Result<(), AppError> {
    let campaign = ObjectId::parse_str(&job.campaign_id)
        .map_err(|_| AppError::NotFound("bad campaign id".to_owned()))?;
    let watch = CampaignWatch::read(mongo, campaign).await?;
    if watch.status != CampaignStatus::Sending {
        return Ok(());
    }
    let ids: Vec<ObjectId> = job
        .communication_ids
        .iter()
        .filter_map(|id| ObjectId::parse_str(id).ok())
        .collect();
    let communications: Collection<Document> = mongo.collection(collections::COMMUNICATIONS);
    let claims: Collection<Document> = mongo.collection(collections::DELIVERY_CLAIMS);
    let claim = ObjectId::new();
    let links = super::message_links(mongo, campaign).await?;
    let limiter = limiters.for_campaign(campaign, watch.rate);
    let channel = watch.channel;

    // Recipients are claimed and handed to the vendor a batch at a time: one write claims a batch and one request
    // sends it. Several batches of a job are in flight at once, so that one waiting out a transient failure's backoff
    // does not hold up the others; the limiter keeps the campaign's rate, and a batch is never larger than a second
    // of it, so a claim is about a second old at most when its message goes out. Outcomes are written a batch of
    // batches at a time, so that progress shows while a slow (rate-limited) job runs.
    // Cancelled when the app stops, the campaign stops sending, or recording fails.
    let stop = shutdown.child_token();
    // Sending and recording run side by side in this task: a send in flight holds a database connection, so the
    // sends must go on being polled while an outcome is written, or the pool runs dry and both wait for ever.
    let (results, mut received) = tokio::sync::mpsc::unbounded_channel();
    let sender = Sender {
        vendor,
        limiter: &limiter,
        communications: &communications,
        claims: &claims,
        campaign,
        channel,
        links,
        claim,
        stop: &stop,
    };
    let batch_size = (watch.rate as usize).clamp(1, BATCH);
    let sending = futures::stream::iter(ids)
        .chunks(batch_size)
        .map(|recipients| sender.send_batch(recipients))
        .buffer_unordered(BATCHES_PER_JOB)
        .for_each(move |sent| {
            // Only refused once recording has failed; the job is then retried as a whole.
            let _ = results.send(sent);
            std::future::ready(())
        });
    let recording = async {
        let mut outcomes: Vec<Outcome> = Vec::new();
        let mut retry_later = false;
        let mut written_at = tokio::time::Instant::now();
        while let Some(sent) = received.recv().await {
            match sent {
                Ok(sent) => {
                    retry_later |= sent
                        .iter()
                        .any(|outcome| matches!(outcome.verdict, Verdict::GivenBack(_)));
                    outcomes.extend(sent);
                }
                Err(error) => {
                    stop.cancel();
                    record_outcomes(mongo, campaign, claim, std::mem::take(&mut outcomes)).await?;
                    return Err(error);
                }
            }
            if outcomes.len() >= RECORD_EVERY || written_at.elapsed() >= Duration::from_millis(500)
            {
                record_outcomes(mongo, campaign, claim, std::mem::take(&mut outcomes)).await?;
                written_at = tokio::time::Instant::now();
            }
        }
        record_outcomes(mongo, campaign, claim, outcomes).await?;
        Ok(retry_later)
    };
    let work = futures::future::join(sending, recording);
    tokio::pin!(work);
    let ((), recorded) = tokio::select! {
        done = &mut work => done,
        // The campaign stopped: the sends in flight finish and are recorded, no new one starts.
        () = watch_campaign(mongo, campaign, &stop) => work.await,
    };
    let retry_later = recorded?;
    if retry_later {
        // The vendor or mail server could not take some messages for now: the job comes back for them.
        return Err(AppError::Unavailable(
            "some recipients met transient failures and wait for another attempt".to_owned(),
        ));
    }
    if shutdown.is_cancelled() {
        // Stopping mid-job: the job goes back on the queue for the recipients it did not reach.
        return Err(AppError::Unavailable("the app is stopping".to_owned()));
    }
    complete_if_counted(mongo, campaign).await
}

/// Completes the campaign if its tally says every recipient has an outcome, confirmed by [`complete_if_done`].
/// Each job ends here: reading the tally costs one document, where looking for open recipients reads every one
/// still open, which made a campaign's jobs cost in proportion to its size, and the campaign in its square. A
/// tally left short by a crash between an outcome and its count is caught by the scheduler's recovery, which
/// asks [`complete_if_done`] itself.
async fn complete_if_counted(mongo: &Mongo, campaign: ObjectId) -> Result<(), AppError> {
    #[derive(Deserialize)]
    struct Tally {
        audience: Option<i64>,
        #[serde(default)]
        processed: i64,
        #[serde(default)]
        settled_at_launch: i64,
    }
    let Some(tally) = mongo
        .collection(collections::CAMPAIGNS)
        .find_one(doc! { "_id": campaign })
        .projection(doc! { "audience": 1, "processed": 1, "settled_at_launch": 1 })
        .await?
    else {
        return Ok(());
    };
    let tally: Tally = read_as("campaign tally", tally)?;
    match tally.audience {
        // The audience is counted once it is frozen; until then the launch completes the campaign if it can.
        Some(audience) if tally.processed + tally.settled_at_launch >= audience => {
            complete_if_done(mongo, campaign).await
        }
        _ => Ok(()),
    }
}

struct Sender<'a> {
    vendor: &'a dyn Vendor,
    limiter: &'a DefaultDirectRateLimiter,
    communications: &'a Collection<Document>,
    claims: &'a Collection<Document>,
    campaign: ObjectId,
    channel: Channel,
    links: Arc<[String]>,
    claim: ObjectId,
    stop: &'a CancellationToken,
}

/// How long a recipient keeps being tried while every attempt fails transiently (the mail server down, the
/// provider throttling), before they are failed with the last reason.
const GIVE_UP_AFTER: Duration = Duration::from_secs(3_600);

/// What became of one recipient's send.
struct Outcome {
    id: ObjectId,
    /// Attempts made in this turn, the first one included.
    attempts: i64,
    at: DateTime,
    verdict: Verdict,
}

impl Outcome {
    fn status(&self) -> MessageStatus {
        match self.verdict {
            Verdict::Sent(_) => MessageStatus::Sent,
            Verdict::Failed(_) => MessageStatus::Failed,
            Verdict::GivenBack(_) => MessageStatus::Pending,
        }
    }
}

enum Verdict {
    /// Handed over. The vendor's id for the message when it is not the message's own (the one Realm gave it): the
    /// simulator and the SMS webhook know a message by Realm's id, an SMTP server by its Message-ID.
    Sent(Option<String>),
    /// Failed for good, and why. Counts towards the campaign's progress, like a send.
    Failed(String),
    /// Every attempt failed transiently, the last for this reason: the recipient waits for the job's next turn.
    GivenBack(String),
}

impl Verdict {
    /// The vendor's own id for a message sent.
    fn vendor_id(&self) -> Option<&str> {
        match self {
            Verdict::Sent(vendor_id) => vendor_id.as_deref(),
            Verdict::Failed(_) | Verdict::GivenBack(_) => None,
        }
    }
}

impl Sender<'_> {
    /// Sends to a batch of recipients, those of them still waiting that another worker does not have, unless the
    /// campaign stopped; gives the vendor's answers.
    async fn send_batch(&self, ids: Vec<ObjectId>) -> Result<Vec<Outcome>, AppError> {
        let Some(count) = NonZeroU32::new(ids.len() as u32) else {
            return Ok(Vec::new());
        };
        tokio::select! {
            biased;
            () = self.stop.cancelled() => return Ok(Vec::new()),
            ready = self.limiter.until_n_ready(count) => {
                // A batch is sized to at most a second of the rate, which is the limiter's burst.
                ready.map_err(|_| {
                    AppError::Unavailable(format!("a batch of {count} is more than the campaign's rate allows"))
                })?;
            }
        }
        // The claim comes last, right before the send: it is never older than one send, so the recovery of
        // claims lost with a crashed worker (after a minute) never takes a recipient a live worker is sending to.
        let ours = self.claim(&ids).await?;
        if ours.is_empty() {
            return Ok(Vec::new());
        }
        // Read after claiming: a recipient settled by another worker before this claim is no longer pending here,
        // as that worker records its outcome before it lets go of the claim.
        let recipients: Vec<StoredMessage> = self
            .communications
            .find(doc! { "_id": { "$in": &ours }, "status": MessageStatus::Pending })
            .await?
            .map(|found| StoredMessage::read(found?))
            .try_collect()
            .await?;
        if recipients.len() < ours.len() {
            // Settled already (a job queued twice, or delivered again after its turn) or cancelled: let go.
            let waiting: HashSet<ObjectId> =
                recipients.iter().map(|recipient| recipient.id).collect();
            let settled: Vec<ObjectId> = ours
                .into_iter()
                .filter(|id| !waiting.contains(id))
                .collect();
            self.claims
                .delete_many(doc! { "_id": { "$in": settled }, "claim": self.claim })
                .await?;
        }
        let messages: Vec<OutgoingMessage> = recipients
            .iter()
            .map(|recipient| self.message_to(recipient))
            .collect();
        let first_answers = self.vendor.send_batch(&messages).await;
        let answers = futures::future::join_all(first_answers.into_iter().zip(&messages).map(
            |(answer, message)| async move {
                match answer {
                    Err(VendorError::Transient(_)) => self.retry(message).await,
                    answer => (answer, 1),
                }
            },
        ))
        .await;
        Ok(recipients
            .iter()
            .zip(answers)
            .map(|(recipient, (answer, attempts))| self.outcome(recipient, answer, attempts))
            .collect())
    }

    /// Claims recipients for this job; answers those it got. A claim is a small document keyed by the message's
    /// id, so of two workers inserting it only one succeeds; it is removed once the outcome is recorded (or by the
    /// recovery, when its worker was lost). Inserting a claim costs the database a fraction of rewriting the
    /// message, which holds its whole text.
    async fn claim(&self, ids: &[ObjectId]) -> Result<Vec<ObjectId>, AppError> {
        let now = DateTime::now();
        let claims = ids.iter().map(|id| {
            doc! { "_id": id, "claim": self.claim, "campaign_id": self.campaign, "claimed_at": now }
        });
        match self.claims.insert_many(claims).ordered(false).await {
            Ok(_) => Ok(ids.to_vec()),
            Err(error) => {
                // Those already claimed are another worker's; any other failure fails the batch.
                let taken: HashSet<usize> = duplicate_positions(&error)
                    .ok_or(error)?
                    .into_iter()
                    .collect();
                Ok(ids
                    .iter()
                    .enumerate()
                    .filter(|(at, _)| !taken.contains(at))
                    .map(|(_, id)| *id)
                    .collect())
            }
        }
    }

    fn message_to(&self, recipient: &StoredMessage) -> OutgoingMessage {
        let id = recipient.id;
        OutgoingMessage {
            idempotency_key: id.to_hex(),
            communication: id,
            campaign: self.campaign,
            channel: self.channel,
            to: recipient.to.clone(),
            name: Some(recipient.name.clone()).filter(|name| !name.is_empty()),
            subject: recipient.subject.clone(),
            body: recipient.message.clone(),
            links: self.links.clone(),
        }
    }

    /// Tries a message again after a transient failure, with backoff; answers the last answer and the attempts
    /// made, the first one included.
    async fn retry(&self, message: &OutgoingMessage) -> (Result<String, VendorError>, i64) {
        let mut attempts = 1_i64;
        tokio::time::sleep(FIRST_RETRY_AFTER).await;
        let answer = (|| {
            attempts += 1;
            self.vendor.send(message)
        })
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(FIRST_RETRY_AFTER * 2)
                .with_max_times(MAX_ATTEMPTS - 2),
        )
        .when(|error| matches!(error, VendorError::Transient(_)))
        .await;
        (answer, attempts)
    }

    /// What the vendor's answer means for one recipient.
    fn outcome(
        &self,
        recipient: &StoredMessage,
        answer: Result<String, VendorError>,
        attempts: i64,
    ) -> Outcome {
        let now = DateTime::now();
        let tried_since = recipient.first_attempt_at.unwrap_or(now);
        let given_up = now.timestamp_millis() - tried_since.timestamp_millis()
            >= GIVE_UP_AFTER.as_millis() as i64;
        let verdict = match answer {
            Ok(vendor_id) => Verdict::Sent(vendor_own_id(vendor_id, recipient.id)),
            Err(VendorError::Transient(reason)) if !given_up => Verdict::GivenBack(reason),
            Err(error) => Verdict::Failed(error.to_string()),
        };
        Outcome {
            id: recipient.id,
            attempts,
            at: now,
            verdict,
        }
    }
}

/// The vendor's answer to a send, unless it is the message's own id: only an id of the vendor's own is worth keeping,
/// as Realm's is the message's `_id`.
fn vendor_own_id(answer: String, message: ObjectId) -> Option<String> {
    Some(answer).filter(|id| *id != message.to_hex())
}

/// The statements that record `outcomes` on messages still in one of the statuses `still`. Messages whose outcomes
/// write the same values (verdict, attempts, reason, whether the vendor gave an id of its own) share a statement of
/// up to [`super::STATEMENT_MESSAGES`], stamped with the time of the last answer among them: a statement per message
/// cost the database several times as much, and so did one that made each message look up all its values by its
/// place in lists. Only a vendor's own id for a send is the message's alone, looked up by a pipeline; sends without
/// one are a plain statement, which costs the database less (BENCHMARKS.md).
fn outcome_statements(still: &[MessageStatus], outcomes: &[&Outcome]) -> Vec<Document> {
    // Verdict, attempts, reason, and whether each message has a vendor id of its own.
    type Alike<'a> = (MessageStatus, i64, Option<&'a str>, bool);
    let mut alike: Vec<(Alike, Vec<&Outcome>)> = Vec::new();
    for outcome in outcomes {
        let (reason, vendor_id) = match outcome.verdict {
            Verdict::Sent(ref vendor_id) => (None, vendor_id.is_some()),
            Verdict::Failed(ref reason) | Verdict::GivenBack(ref reason) => {
                (Some(reason.as_str()), false)
            }
        };
        let key = (outcome.status(), outcome.attempts, reason, vendor_id);
        match alike.iter_mut().find(|(known, _)| *known == key) {
            Some((_, group)) => group.push(outcome),
            None => alike.push((key, vec![outcome])),
        }
    }
    alike
        .iter()
        .flat_map(|(key, group)| {
            let (status, attempts, reason, vendor_id) = *key;
            group.chunks(super::STATEMENT_MESSAGES).map(move |outcomes| {
                let ids: Vec<ObjectId> = outcomes.iter().map(|outcome| outcome.id).collect();
                let at = outcomes
                    .iter()
                    .map(|outcome| outcome.at)
                    .max()
                    .unwrap_or_else(DateTime::now);
                // Every plain statement counts the attempts and keeps the first attempt's time.
                let plain = |set: Document| {
                    Bson::Document(doc! {
                        "$set": set,
                        "$inc": { "attempts": attempts },
                        "$min": { "first_attempt_at": at },
                    })
                };
                let update: Bson = match (status, reason) {
                    (MessageStatus::Sent, _) if !vendor_id => {
                        plain(doc! { "status": MessageStatus::Sent, "sent_at": at })
                    }
                    (MessageStatus::Sent, _) => {
                        let vendor_ids: Vec<&str> = outcomes
                            .iter()
                            .filter_map(|outcome| outcome.verdict.vendor_id())
                            .collect();
                        // A pipeline, for the one value each message finds by its place in `ids`.
                        Bson::Array(vec![Bson::Document(doc! { "$set": {
                            "status": MessageStatus::Sent,
                            "attempts": { "$add": [ { "$ifNull": [ "$attempts", 0_i64 ] }, attempts ] },
                            "first_attempt_at": { "$min": [ "$first_attempt_at", at ] },
                            "sent_at": at,
                            "vendor_message_id": { "$arrayElemAt": [
                                { "$literal": vendor_ids },
                                { "$indexOfArray": [ { "$literal": &ids }, "$_id" ] },
                            ] },
                        } })])
                    }
                    (MessageStatus::Failed, reason) => plain(
                        doc! { "status": MessageStatus::Failed, "failure_reason": reason, "failed_at": at },
                    ),
                    // Given back: waiting again, with the reason the last attempt failed.
                    (_, reason) => plain(doc! { "status": MessageStatus::Pending, "last_error": reason }),
                };
                doc! {
                    "q": { "_id": { "$in": &ids }, "status": { "$in": still } },
                    "u": update,
                    "multi": true,
                }
            })
        })
        .collect()
}

/// Records outcomes, then lets go of their recipients' claims; those that settled a recipient count towards the
/// campaign's progress. Recipients given back do not: they wait for another turn.
async fn record_outcomes(
    mongo: &Mongo,
    campaign: ObjectId,
    claim: ObjectId,
    outcomes: Vec<Outcome>,
) -> Result<(), AppError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let (given_back, settled): (Vec<&Outcome>, Vec<&Outcome>) = outcomes
        .iter()
        .partition(|outcome| matches!(outcome.verdict, Verdict::GivenBack(_)));
    super::update_communications(
        mongo,
        outcome_statements(&[MessageStatus::Pending], &given_back),
    )
    .await?;
    // A recipient cancelled while their message was in flight was sent all the same, and shows it.
    let count = super::update_communications(
        mongo,
        outcome_statements(
            &[MessageStatus::Pending, MessageStatus::Cancelled],
            &settled,
        ),
    )
    .await? as i64;
    // Only now: a worker that claims one of these next reads it settled (or waiting again, if given back).
    let ids: Vec<ObjectId> = outcomes.iter().map(|outcome| outcome.id).collect();
    mongo
        .collection(collections::DELIVERY_CLAIMS)
        .delete_many(doc! { "_id": { "$in": ids }, "claim": claim })
        .await?;
    if count == 0 {
        return Ok(());
    }
    mongo
        .collection(collections::CAMPAIGNS)
        .update_one(
            doc! { "_id": campaign },
            doc! { "$inc": { "processed": count } },
        )
        .await?;
    Ok(())
}

/// Lets go of the claims on `campaign`'s recipients made before `stale` (their worker was lost: a live one
/// records an outcome within seconds of claiming); answers how many. Their recipients are still pending.
pub async fn release_lost_claims(
    mongo: &Mongo,
    campaign: ObjectId,
    stale: DateTime,
) -> Result<u64, AppError> {
    let claims: Collection<Document> = mongo.collection(collections::DELIVERY_CLAIMS);
    // Few claims exist at any time (those in flight), so this needs no index of its own.
    let released = claims
        .delete_many(doc! { "campaign_id": campaign, "claimed_at": { "$lt": stale } })
        .await?;
    Ok(released.deleted_count)
}

/// Completes a sending campaign once every recipient has an outcome.
pub async fn complete_if_done(mongo: &Mongo, campaign: ObjectId) -> Result<(), AppError> {
    // While the launch is still freezing the audience, the recipients not yet written are not open either.
    let launched = mongo
        .collection(collections::CAMPAIGNS)
        .count_documents(doc! { "_id": campaign, "jobs_queued": true })
        .await?;
    if launched == 0 {
        return Ok(());
    }
    let open = mongo
        .collection(collections::COMMUNICATIONS)
        .count_documents(doc! { "campaign_id": campaign, "status": MessageStatus::Pending })
        .limit(1)
        .await?;
    if open == 0 {
        Campaigns::new(mongo)
            .transition(
                campaign,
                CampaignStatus::Sending,
                CampaignAction::Complete,
                SCHEDULER,
                None,
                doc! { "completed_at": DateTime::now() },
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(verdict: Verdict) -> Outcome {
        Outcome {
            id: ObjectId::new(),
            attempts: 1,
            at: DateTime::now(),
            verdict,
        }
    }

    #[test]
    fn outcomes_alike_share_a_statement_of_up_to_a_hundred_and_only_vendor_ids_of_their_own_are_looked_up(
    ) {
        let outcomes: Vec<Outcome> = (0..120)
            .map(|n| outcome(Verdict::Sent(Some(format!("vendor-{n}")))))
            .chain((0..2).map(|_| outcome(Verdict::Failed("mailbox does not exist".to_owned()))))
            .chain([outcome(Verdict::GivenBack("server busy".to_owned()))])
            .chain([Outcome {
                attempts: 3,
                ..outcome(Verdict::Sent(Some("vendor-retried".to_owned())))
            }])
            .chain([outcome(Verdict::Sent(None))])
            .collect();
        let statements = outcome_statements(
            &[MessageStatus::Pending],
            &outcomes.iter().collect::<Vec<_>>(),
        );
        let sizes: Vec<usize> = statements
            .iter()
            .map(|statement| {
                let query = statement.get_document("q").unwrap();
                assert_eq!(
                    query.get_document("status").unwrap(),
                    &doc! { "$in": ["pending"] }
                );
                super::super::messages_named(statement)
            })
            .collect();
        // Sends of one attempt (100 and 20), the two failures, the one given back, the send of three attempts, the
        // send the vendor knows by Realm's id.
        assert_eq!(sizes, vec![100, 20, 2, 1, 1, 1]);
        let pipeline_set = |statement: &Document| {
            statement.get_array("u").unwrap()[0]
                .as_document()
                .unwrap()
                .get_document("$set")
                .unwrap()
                .clone()
        };
        let sent = pipeline_set(&statements[1]);
        let vendor_ids = sent
            .get_document("vendor_message_id")
            .unwrap()
            .get_array("$arrayElemAt")
            .unwrap()[0]
            .as_document()
            .unwrap()
            .get_array("$literal")
            .unwrap();
        assert_eq!(vendor_ids.len(), 20);
        assert_eq!(vendor_ids[0].as_str(), Some("vendor-100"));
        let failed = statements[2].get_document("u").unwrap();
        assert_eq!(
            failed
                .get_document("$set")
                .unwrap()
                .get_str("failure_reason"),
            Ok("mailbox does not exist")
        );
        assert_eq!(
            failed.get_document("$inc").unwrap().get_i64("attempts"),
            Ok(1)
        );
        let given_back = statements[3]
            .get_document("u")
            .unwrap()
            .get_document("$set")
            .unwrap();
        assert_eq!(given_back.get_str("status"), Ok("pending"));
        assert_eq!(given_back.get_str("last_error"), Ok("server busy"));
        let retried = pipeline_set(&statements[4]);
        assert_eq!(
            retried
                .get_document("attempts")
                .unwrap()
                .get_array("$add")
                .unwrap()[1],
            Bson::Int64(3)
        );
        // Known by Realm's id: a plain statement, which stores no copy of it.
        let plain = statements[5].get_document("u").unwrap();
        let set = plain.get_document("$set").unwrap();
        assert_eq!(set.get_str("status"), Ok("sent"));
        assert!(!set.contains_key("vendor_message_id"));
        assert_eq!(
            plain.get_document("$inc").unwrap().get_i64("attempts"),
            Ok(1)
        );
    }

    #[test]
    fn a_vendor_id_that_is_the_message_id_is_not_kept_as_the_vendors_own() {
        let id = ObjectId::new();
        assert_eq!(vendor_own_id(id.to_hex(), id), None);
        let message_id = format!("{}@mail.example", id.to_hex());
        assert_eq!(vendor_own_id(message_id.clone(), id), Some(message_id));
    }
}
