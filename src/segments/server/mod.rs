//! The segments collection, audience counts and member figures, and the daily size snapshots.

pub mod compile;
pub mod rest;
pub mod snapshots;

use futures::{stream, StreamExt, TryStreamExt};
use mongodb::{
    bson::{self, doc, oid::ObjectId, Bson, DateTime, Document},
    Collection,
};

use serde::Deserialize;
use std::collections::HashMap;

use crate::{
    campaigns::{model::CampaignStatus, server as campaigns_server},
    customers::{
        model::{AudienceEstimate, CustomerRow},
        server::{
            audience,
            sampling::{Among, Sample},
        },
    },
    segments::{
        model::{AudiencePreview, SegmentAnalytics, SegmentDetail, SegmentDraft, SegmentSummary},
        rules::{check_rule, RuleGroup},
    },
    server::mongo::{collections, display_time, number, parse_id, read_as, Mongo},
    shared::error::AppError,
};

/// Campaign states in which a campaign still needs its segment: it has not yet frozen its audience.
/// Most segments the list shows and a customer's page checks membership of.
const MAX_LISTED: i64 = 500;
/// Days of size history a segment page shows.
const HISTORY_DAYS: i64 = 90;

/// Spend bands of the analytics, in the currency's main unit; the last band is open-ended.
const SPEND_BANDS: [i64; 6] = [0, 50, 100, 500, 1_000, 5_000];
/// Order-count bands: 0, 1, 2, 3–5, 6–10, more.
const ORDER_BANDS: [i64; 6] = [0, 1, 2, 3, 6, 11];

/// The filter a rule stands for now, or the problems that keep it from being used. Its conditions on orders and
/// messages read those of `among`: the filter is right for those customers only.
pub async fn rule_filter(
    mongo: &Mongo,
    rule: &RuleGroup,
    among: Among,
) -> Result<Document, AppError> {
    let checked = check_rule(rule).map_err(AppError::InvalidRule)?;
    let now = DateTime::now();
    let resolved = compile::resolve(mongo, &checked, now, among).await?;
    Ok(compile::compile(&checked, now, &mut resolved.into_iter()))
}

/// A segment as stored.
#[derive(Debug, Deserialize)]
struct StoredSegment {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    #[serde(default)]
    description: String,
    rule: RuleGroup,
    created_at: DateTime,
    created_by: String,
    updated_at: DateTime,
    /// The size when last counted, and when that was; none until the first count.
    last_size: Option<i64>,
    last_counted_at: Option<DateTime>,
}

impl StoredSegment {
    fn read(document: Document) -> Result<Self, AppError> {
        read_as("segment", document)
    }

    async fn filter(&self, mongo: &Mongo) -> Result<Document, AppError> {
        rule_filter(mongo, &self.rule, Among::Everyone).await
    }

    fn summary(&self) -> SegmentSummary {
        SegmentSummary {
            id: self.id.to_hex(),
            name: self.name.clone(),
            description: self.description.clone(),
            summary: self.rule.summary(),
            size: self.last_size.map(|size| size.max(0) as u64),
            counted_at: self.last_counted_at.map(display_time),
            updated_at: display_time(self.updated_at),
        }
    }
}

fn band_labels(bounds: &[i64], unit: impl Fn(i64) -> String) -> Vec<String> {
    bounds
        .iter()
        .enumerate()
        .map(|(i, low)| match bounds.get(i + 1) {
            Some(high) if *high == low + 1 => unit(*low),
            Some(high) => format!("{}–{}", unit(*low), unit(high - 1)),
            None => format!("{}+", unit(*low)),
        })
        .collect()
}

#[derive(Clone)]
pub struct Segments {
    mongo: Mongo,
    segments: Collection<Document>,
}

impl Segments {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            mongo: mongo.clone(),
            segments: mongo.collection(collections::SEGMENTS),
        }
    }

    async fn find(&self, id: &str) -> Result<StoredSegment, AppError> {
        let oid = parse_id(id, "segment")?;
        let segment = self
            .segments
            .find_one(doc! { "_id": oid })
            .await?
            .ok_or_else(|| AppError::NotFound(format!("No segment has the id {id:?}.")))?;
        StoredSegment::read(segment)
    }

    /// Every segment, most recently changed first, up to `limit`.
    async fn all(&self, sort: Document, limit: i64) -> Result<Vec<StoredSegment>, AppError> {
        self.segments
            .find(doc! {})
            .sort(sort)
            .limit(limit)
            .await?
            .map(|found| StoredSegment::read(found?))
            .try_collect()
            .await
    }

    /// The customer filter of a saved segment, as of now.
    pub async fn filter_of(&self, id: &str) -> Result<Document, AppError> {
        self.find(id).await?.filter(&self.mongo).await
    }

    pub async fn preview(
        &self,
        rule: &RuleGroup,
        sample_size: i64,
    ) -> Result<AudiencePreview, AppError> {
        // Counting and sampling are independent reads: run them together.
        let (count, sample) = tokio::try_join!(self.count(rule), self.sample(rule, sample_size))?;
        Ok(AudiencePreview { count, sample })
    }

    pub async fn count(&self, rule: &RuleGroup) -> Result<u64, AppError> {
        audience::count(
            &self.mongo,
            rule_filter(&self.mongo, rule, Among::Everyone).await?,
        )
        .await
    }

    /// About how many customers `rule` matches, from the customers' fixed sample: answered in the same time at any
    /// number of customers, for the builder to show while the exact count runs.
    pub async fn estimate(&self, rule: &RuleGroup) -> Result<AudienceEstimate, AppError> {
        let sample = Sample::current(&self.mongo).await?;
        sample
            .estimate(&self.mongo, rule_filter(&self.mongo, rule, sample.among()))
            .await
    }

    pub async fn sample(&self, rule: &RuleGroup, size: i64) -> Result<Vec<CustomerRow>, AppError> {
        audience::sample(
            &self.mongo,
            rule_filter(&self.mongo, rule, Among::Everyone).await?,
            size,
        )
        .await
    }

    /// Saves a new segment and counts it; answers its id and size.
    pub async fn create(
        &self,
        draft: SegmentDraft,
        created_by: &str,
    ) -> Result<(String, u64), AppError> {
        let draft = draft.cleaned()?;
        let filter = rule_filter(&self.mongo, &draft.rule, Among::Everyone).await?;
        let now = DateTime::now();
        let rule = bson::to_document(&draft.rule)
            .map_err(|e| AppError::Unavailable(format!("cannot store the rule: {e}")))?;
        let inserted = self
            .segments
            .insert_one(doc! {
                "name": &draft.name,
                "description": &draft.description,
                "rule": rule,
                "created_at": now,
                "created_by": created_by,
                "updated_at": now,
            })
            .await?;
        let id = inserted
            .inserted_id
            .as_object_id()
            .ok_or_else(|| AppError::Unavailable("no id for the new segment".to_owned()))?;
        let size = audience::count(&self.mongo, filter).await?;
        self.record_size(id, size).await?;
        Ok((id.to_hex(), size))
    }

    /// Saves a segment's new fields and counts it again; answers its size.
    pub async fn update(&self, id: &str, draft: SegmentDraft) -> Result<u64, AppError> {
        let oid = parse_id(id, "segment")?;
        let draft = draft.cleaned()?;
        let filter = rule_filter(&self.mongo, &draft.rule, Among::Everyone).await?;
        let rule = bson::to_document(&draft.rule)
            .map_err(|e| AppError::Unavailable(format!("cannot store the rule: {e}")))?;
        let result = self
            .segments
            .update_one(
                doc! { "_id": oid },
                doc! { "$set": { "name": &draft.name, "description": &draft.description, "rule": rule, "updated_at": DateTime::now() } },
            )
            .await?;
        if result.matched_count == 0 {
            return Err(AppError::NotFound(format!("No segment has the id {id:?}.")));
        }
        let size = audience::count(&self.mongo, filter).await?;
        self.record_size(oid, size).await?;
        Ok(size)
    }

    pub async fn duplicate(&self, id: &str, created_by: &str) -> Result<String, AppError> {
        let segment = self.find(id).await?;
        let name: String = format!("Copy of {}", segment.name)
            .chars()
            .take(100)
            .collect();
        let draft = SegmentDraft {
            name,
            description: segment.description,
            rule: segment.rule,
        };
        Ok(self.create(draft, created_by).await?.0)
    }

    /// Deletes a segment no scheduled or sending campaign needs.
    pub async fn delete(&self, id: &str) -> Result<(), AppError> {
        let segment = self.find(id).await?;
        let oid = segment.id;
        let blocking = campaigns_server::aimed_at(
            &self.mongo,
            oid,
            &[CampaignStatus::Scheduled, CampaignStatus::Sending],
            1,
        )
        .await?
        .pop();
        if let Some(campaign) = blocking {
            return Err(AppError::Conflict(format!(
                "“{}” cannot be deleted: the {} campaign “{}” targets it. Cancel that campaign or wait until it has been sent.",
                segment.name,
                campaign.status.key(),
                campaign.campaign_name,
            )));
        }
        self.segments.delete_one(doc! { "_id": oid }).await?;
        self.mongo
            .collection(collections::SEGMENT_SIZES)
            .delete_many(doc! { "segment_id": oid })
            .await?;
        Ok(())
    }

    /// The most recently changed segments first.
    pub async fn list(&self) -> Result<Vec<SegmentSummary>, AppError> {
        self.listed(doc! { "updated_at": -1 }, MAX_LISTED).await
    }

    /// The `limit` segments with the most members when last counted.
    pub async fn largest(&self, limit: i64) -> Result<Vec<SegmentSummary>, AppError> {
        self.listed(doc! { "last_size": -1, "_id": 1 }, limit).await
    }

    pub async fn recent(&self, limit: i64) -> Result<Vec<SegmentSummary>, AppError> {
        self.listed(doc! { "updated_at": -1 }, limit).await
    }

    async fn listed(&self, sort: Document, limit: i64) -> Result<Vec<SegmentSummary>, AppError> {
        Ok(self
            .all(sort, limit)
            .await?
            .iter()
            .map(StoredSegment::summary)
            .collect())
    }

    pub async fn detail(&self, id: &str) -> Result<SegmentDetail, AppError> {
        let segment = self.find(id).await?;
        let used_by = campaigns_server::aimed_at(&self.mongo, segment.id, &[], 50).await?;
        Ok(SegmentDetail {
            id: segment.id.to_hex(),
            summary: segment.rule.summary(),
            name: segment.name,
            description: segment.description,
            rule: segment.rule,
            created_at: display_time(segment.created_at),
            created_by: segment.created_by,
            updated_at: display_time(segment.updated_at),
            used_by,
        })
    }

    /// Remembers the size counted now on the segment and as today's snapshot.
    pub async fn record_size(&self, id: ObjectId, size: u64) -> Result<(), AppError> {
        let now = DateTime::now();
        let today = time::OffsetDateTime::now_utc().date().to_string();
        self.segments
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "last_size": size as i64, "last_counted_at": now } },
            )
            .await?;
        self.mongo
            .collection(collections::SEGMENT_SIZES)
            .update_one(
                doc! { "segment_id": id, "day": &today },
                doc! { "$set": { "size": size as i64, "counted_at": now } },
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    /// Counts every segment now and records the sizes; used by the snapshot task.
    pub async fn record_all_sizes(&self) -> Result<usize, AppError> {
        let segments: Vec<Document> = self.segments.find(doc! {}).await?.try_collect().await?;
        let mut recorded = 0;
        for segment in segments {
            // One segment that cannot be read or counted (logged) does not keep the others from being counted.
            let Ok(segment) = StoredSegment::read(segment) else {
                continue;
            };
            let Ok(filter) = segment.filter(&self.mongo).await else {
                continue;
            };
            self.record_size(segment.id, audience::count(&self.mongo, filter).await?)
                .await?;
            recorded += 1;
        }
        Ok(recorded)
    }

    /// The segments a customer belongs to now, by id and name.
    pub async fn containing(&self, customer: ObjectId) -> Result<Vec<(String, String)>, AppError> {
        let segments = self.all(doc! { "name": 1 }, MAX_LISTED).await?;
        let member_of: Vec<Option<(String, String)>> = stream::iter(segments)
            .map(|segment| async move {
                // A segment whose rule no longer checks has no members.
                let Ok(filter) =
                    rule_filter(&self.mongo, &segment.rule, Among::customer(customer)).await
                else {
                    return Ok(None);
                };
                Ok::<_, AppError>(
                    audience::contains(&self.mongo, customer, filter)
                        .await?
                        .then_some((segment.id.to_hex(), segment.name)),
                )
            })
            .buffered(8)
            .try_collect()
            .await?;
        Ok(member_of.into_iter().flatten().collect())
    }

    /// Members in `_id` order, `limit` at a time from after `after`.
    pub async fn members(
        &self,
        id: &str,
        after: Option<ObjectId>,
        limit: i64,
    ) -> Result<Vec<CustomerRow>, AppError> {
        audience::page(&self.mongo, self.filter_of(id).await?, after, limit).await
    }

    pub async fn analytics(&self, id: &str) -> Result<SegmentAnalytics, AppError> {
        let segment = self.find(id).await?;
        let (oid, filter) = (segment.id, segment.filter(&self.mongo).await?);
        let spend_bounds: Vec<i64> = SPEND_BANDS.iter().map(|units| units * 100).collect();
        let facets = audience::profile(&self.mongo, filter, &spend_bounds, &ORDER_BANDS).await?;
        let first_of = |key: &str| {
            facets
                .get_array(key)
                .ok()
                .and_then(|items| items.first())
                .and_then(Bson::as_document)
                .cloned()
                .unwrap_or_default()
        };
        let totals = first_of("totals");
        let size = number(&totals, "size") as u64;
        let total_spend_cents = number(&totals, "spend");

        let bands = |key: &str, bounds: &[i64], labels: Vec<String>| -> Vec<(String, u64)> {
            let mut counts = vec![0_u64; bounds.len()];
            for bucket in facets
                .get_array(key)
                .into_iter()
                .flatten()
                .filter_map(Bson::as_document)
            {
                let count = number(bucket, "count") as u64;
                let slot = match bucket.get("_id") {
                    Some(Bson::String(_)) => Some(bounds.len() - 1),
                    Some(_) => {
                        let low = number(bucket, "_id");
                        bounds.iter().position(|b| *b == low)
                    }
                    None => None,
                };
                if let Some(slot) = slot {
                    counts[slot] += count;
                }
            }
            labels.into_iter().zip(counts).collect()
        };
        // The open-ended band also holds the "more" bucket above the last boundary.
        let spend_bands = bands(
            "spend",
            &spend_bounds,
            band_labels(&SPEND_BANDS, |units| units.to_string()),
        );
        let order_count_bands = bands(
            "orders",
            &ORDER_BANDS,
            band_labels(&ORDER_BANDS, |n| n.to_string()),
        );
        let top_cities = facets
            .get_array("cities")
            .into_iter()
            .flatten()
            .filter_map(Bson::as_document)
            .map(|city| {
                (
                    city.get_str("_id").unwrap_or_default().to_owned(),
                    number(city, "count") as u64,
                )
            })
            .collect();

        self.record_size(oid, size).await?;
        let since = (time::OffsetDateTime::now_utc().date() - time::Duration::days(HISTORY_DAYS))
            .to_string();
        let daily_sizes = self
            .mongo
            .collection(collections::SEGMENT_SIZES)
            .find(doc! { "segment_id": oid, "day": { "$gte": since } })
            .sort(doc! { "day": 1 })
            .await?
            .try_collect::<Vec<_>>()
            .await?
            .iter()
            .map(|snapshot| {
                (
                    snapshot.get_str("day").unwrap_or_default().to_owned(),
                    number(snapshot, "size") as u64,
                )
            })
            .collect();
        Ok(SegmentAnalytics {
            size,
            total_spend_cents,
            average_spend_cents: if size > 0 {
                total_spend_cents / size as i64
            } else {
                0
            },
            spend_bands,
            order_count_bands,
            top_cities,
            daily_sizes,
        })
    }
}

/// The names of the segments among `ids` that exist: for other features that show which segment they aim at.
pub async fn names(mongo: &Mongo, ids: &[ObjectId]) -> Result<HashMap<ObjectId, String>, AppError> {
    #[derive(Deserialize)]
    struct Named {
        #[serde(rename = "_id")]
        id: ObjectId,
        name: String,
    }
    mongo
        .collection(collections::SEGMENTS)
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "name": 1 })
        .await?
        .map(|found| read_as::<Named>("segment", found?).map(|named| (named.id, named.name)))
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_labels_read_as_ranges() {
        assert_eq!(
            band_labels(&ORDER_BANDS, |n| n.to_string()),
            ["0", "1", "2", "3–5", "6–10", "11+"]
        );
        assert_eq!(
            band_labels(&[0, 50, 100], |n| n.to_string()),
            ["0–49", "50–99", "100+"]
        );
    }
}
