//! The segments collection, audience counts and member figures, and the daily size snapshots.

pub mod compile;
pub mod rest;
pub mod snapshots;

use futures::{stream, StreamExt, TryStreamExt};
use mongodb::{
    bson::{self, doc, oid::ObjectId, Bson, DateTime, Document},
    Collection,
};

use std::collections::HashMap;

use crate::{
    campaigns::{model::CampaignStatus, server as campaigns_server},
    customers::{model::CustomerRow, server::audience},
    segments::{
        model::{AudiencePreview, SegmentAnalytics, SegmentDetail, SegmentDraft, SegmentSummary},
        rules::{check_rule, RuleGroup},
    },
    server::mongo::{collections, display_time, number, parse_id, Mongo},
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

/// The filter a rule stands for now, or the problems that keep it from being used.
pub fn rule_filter(rule: &RuleGroup) -> Result<Document, AppError> {
    let checked = check_rule(rule).map_err(AppError::InvalidRule)?;
    Ok(compile::compile(&checked, DateTime::now()))
}

fn stored_rule(segment: &Document) -> Result<RuleGroup, AppError> {
    let rule = segment
        .get_document("rule")
        .map_err(|_| AppError::Unavailable("A stored segment has no rule.".to_owned()))?;
    bson::from_document(rule.clone()).map_err(|error| {
        tracing::error!("stored segment rule cannot be read: {error}");
        AppError::Unavailable("A stored segment rule cannot be read.".to_owned())
    })
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

    async fn find(&self, id: &str) -> Result<(ObjectId, Document), AppError> {
        let oid = parse_id(id, "segment")?;
        let segment = self
            .segments
            .find_one(doc! { "_id": oid })
            .await?
            .ok_or_else(|| AppError::NotFound(format!("No segment has the id {id:?}.")))?;
        Ok((oid, segment))
    }

    /// The customer filter of a saved segment, as of now.
    pub async fn filter_of(&self, id: &str) -> Result<Document, AppError> {
        let (_, segment) = self.find(id).await?;
        rule_filter(&stored_rule(&segment)?)
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
        audience::count(&self.mongo, rule_filter(rule)?).await
    }

    pub async fn sample(&self, rule: &RuleGroup, size: i64) -> Result<Vec<CustomerRow>, AppError> {
        audience::sample(&self.mongo, rule_filter(rule)?, size).await
    }

    /// Saves a new segment and counts it; answers its id and size.
    pub async fn create(
        &self,
        draft: SegmentDraft,
        created_by: &str,
    ) -> Result<(String, u64), AppError> {
        let draft = draft.cleaned()?;
        let filter = rule_filter(&draft.rule)?;
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
        let filter = rule_filter(&draft.rule)?;
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
        let (_, segment) = self.find(id).await?;
        let name: String = format!("Copy of {}", segment.get_str("name").unwrap_or_default())
            .chars()
            .take(100)
            .collect();
        let draft = SegmentDraft {
            name,
            description: segment
                .get_str("description")
                .unwrap_or_default()
                .to_owned(),
            rule: stored_rule(&segment)?,
        };
        Ok(self.create(draft, created_by).await?.0)
    }

    /// Deletes a segment no scheduled or sending campaign needs.
    pub async fn delete(&self, id: &str) -> Result<(), AppError> {
        let (oid, segment) = self.find(id).await?;
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
                segment.get_str("name").unwrap_or_default(),
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
        let found: Vec<Document> = self
            .segments
            .find(doc! {})
            .sort(sort)
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .map(|segment| SegmentSummary {
                id: segment
                    .get_object_id("_id")
                    .map(|id| id.to_hex())
                    .unwrap_or_default(),
                name: segment.get_str("name").unwrap_or_default().to_owned(),
                description: segment
                    .get_str("description")
                    .unwrap_or_default()
                    .to_owned(),
                summary: stored_rule(segment)
                    .map(|rule| rule.summary())
                    .unwrap_or_else(|error| error.to_string()),
                size: segment
                    .get("last_size")
                    .map(|_| number(segment, "last_size") as u64),
                counted_at: segment
                    .get_datetime("last_counted_at")
                    .ok()
                    .map(|at| display_time(*at)),
                updated_at: segment
                    .get_datetime("updated_at")
                    .map(|at| display_time(*at))
                    .unwrap_or_default(),
            })
            .collect())
    }

    pub async fn detail(&self, id: &str) -> Result<SegmentDetail, AppError> {
        let (oid, segment) = self.find(id).await?;
        let rule = stored_rule(&segment)?;
        let used_by = campaigns_server::aimed_at(&self.mongo, oid, &[], 50).await?;
        let time = |key: &str| {
            segment
                .get_datetime(key)
                .map(|at| display_time(*at))
                .unwrap_or_default()
        };
        Ok(SegmentDetail {
            id: oid.to_hex(),
            name: segment.get_str("name").unwrap_or_default().to_owned(),
            description: segment
                .get_str("description")
                .unwrap_or_default()
                .to_owned(),
            summary: rule.summary(),
            rule,
            created_at: time("created_at"),
            created_by: segment.get_str("created_by").unwrap_or_default().to_owned(),
            updated_at: time("updated_at"),
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
        let segments: Vec<Document> = self
            .segments
            .find(doc! {})
            .projection(doc! { "rule": 1 })
            .await?
            .try_collect()
            .await?;
        let mut recorded = 0;
        for segment in &segments {
            let (Ok(id), Ok(rule)) = (segment.get_object_id("_id"), stored_rule(segment)) else {
                continue;
            };
            let Ok(filter) = rule_filter(&rule) else {
                continue;
            };
            self.record_size(id, audience::count(&self.mongo, filter).await?)
                .await?;
            recorded += 1;
        }
        Ok(recorded)
    }

    /// The segments a customer belongs to now, by id and name.
    pub async fn containing(&self, customer: ObjectId) -> Result<Vec<(String, String)>, AppError> {
        let segments: Vec<Document> = self
            .segments
            .find(doc! {})
            .projection(doc! { "name": 1, "rule": 1 })
            .sort(doc! { "name": 1 })
            .limit(MAX_LISTED)
            .await?
            .try_collect()
            .await?;
        let checks = segments.into_iter().filter_map(|segment| {
            let filter = rule_filter(&stored_rule(&segment).ok()?).ok()?;
            let id = segment.get_object_id("_id").ok()?.to_hex();
            let name = segment.get_str("name").unwrap_or_default().to_owned();
            Some((id, name, filter))
        });
        let member_of: Vec<Option<(String, String)>> = stream::iter(checks)
            .map(|(id, name, filter)| async move {
                Ok::<_, AppError>(
                    audience::contains(&self.mongo, customer, filter)
                        .await?
                        .then_some((id, name)),
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
    ) -> Result<Vec<Document>, AppError> {
        audience::page(&self.mongo, self.filter_of(id).await?, after, limit).await
    }

    pub async fn analytics(&self, id: &str) -> Result<SegmentAnalytics, AppError> {
        let (oid, segment) = self.find(id).await?;
        let filter = rule_filter(&stored_rule(&segment)?)?;
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
    let mut names = HashMap::new();
    let mut found = mongo
        .collection(collections::SEGMENTS)
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "name": 1 })
        .await?;
    while let Some(segment) = found.try_next().await? {
        if let Ok(id) = segment.get_object_id("_id") {
            names.insert(id, segment.get_str("name").unwrap_or_default().to_owned());
        }
    }
    Ok(names)
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
