//! Turning a checked segment rule into a MongoDB filter on the customers collection. Every field a condition can
//! name has an index (see `mongo::required_indexes`); text conditions compare the lower-cased copies of name and
//! city. Relative dates are resolved against `now`, so the same rule gives the members of the moment it runs.
//!
//! Order conditions with a window look at the orders, engagement conditions at the messages: [`resolve`] asks the
//! orders and campaigns features for the customers each one stands for, and [`compile`] puts those in the filter as
//! `_id` lists, one per group. Those that the customers' own totals answer (a window of ever, or having ordered in
//! the last N days) need no lookup.

use std::collections::HashSet;

use futures::future::{try_join_all, BoxFuture, FutureExt};
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};

use crate::shared::time::DAY_MS;
use crate::{
    campaigns::server::engagement,
    customers::server::{field_path, sampling::Among},
    orders::server::behaviour::{self, OrderWindow},
    segments::rules::{
        CheckedGroup, CheckedRule, Combinator, Criterion, DateTest, Engaged, Field, Measure,
        NumberTest, Period, ProductTest, RuleProblem, TagTest, TextTest,
    },
    server::mongo::{regex_literal, Mongo},
    shared::{error::AppError, money::thousands},
};

/// Most customers one looked-up condition may stand for: their ids go into the filter, which must stay well under
/// MongoDB's 16 MB for a document (about 20 bytes an id).
pub const MAX_LOOKED_UP: usize = 300_000;

/// Most customers a group's narrower conditions may leave for its other lookups to read those customers' orders
/// and messages rather than every order of a window (see [`Lookups::group`]). Measured on SecantusDB with a
/// million orders, ten a customer: 2,000 customers' orders in about 0.1 s, where a 30-day window took 0.57 s.
pub const MAX_NARROWED: usize = 2_000;

/// Finds, for each condition of `group` that looks at orders or messages, the customers it stands for, in the
/// order [`compile`] meets the conditions. The lookups read the orders and messages of `among` only.
pub async fn resolve(
    mongo: &Mongo,
    group: &CheckedGroup,
    now: DateTime,
    among: Among,
) -> Result<Vec<Members>, AppError> {
    if !group_looks_up(group, now) {
        return Ok(Vec::new());
    }
    // Orders and messages stored before they carried sample keys are given theirs in the background; until
    // then only reading everyone's finds all of the sample's.
    let among = match among {
        Among::Sample(_) if !every_lookup_bucketed(mongo).await? => Among::Everyone,
        among => among,
    };
    Lookups { mongo, now }.group(group, among).await
}

/// The lookups of one rule, evaluated at `now`.
struct Lookups<'a> {
    mongo: &'a Mongo,
    now: DateTime,
}

impl Lookups<'_> {
    /// The lists of `group`'s looked-up conditions, depth first. In an `all` group the conditions that
    /// [`reads_little`] are looked up first. The group holds none but the customers in all their lists, so when
    /// those are few the group's other lookups (order counts and spend over a window, which read every order of
    /// the window, and inner groups) read only those customers' orders and messages. What a lookup then leaves out
    /// it would have left out of the group anyway, negated or not. When they are many, the others read as they
    /// would have, only later: conditions that read much are not made to wait for one another.
    fn group<'b>(
        &'b self,
        group: &'b CheckedGroup,
        among: Among,
    ) -> BoxFuture<'b, Result<Vec<Members>, AppError>> {
        async move {
            let parts: Vec<&CheckedRule> = group
                .parts
                .iter()
                .filter(|part| looks_up(part, self.now))
                .collect();
            let narrows_first = |part: &CheckedRule| {
                group.combinator == Combinator::All
                    && matches!(part, CheckedRule::Criterion(criterion) if reads_little(criterion))
            };
            let (first, then): (Vec<_>, Vec<_>) = parts
                .into_iter()
                .enumerate()
                .partition(|(_, part)| narrows_first(part));
            let first = self.parts(first, &among).await?;
            let then_among = narrowed(first.iter().flat_map(|(_, lists)| lists), among);
            let then = self.parts(then, &then_among).await?;
            // Back in the order compile meets them.
            let mut found: Vec<(usize, Vec<Members>)> = first.into_iter().chain(then).collect();
            found.sort_by_key(|(at, _)| *at);
            Ok(found.into_iter().flat_map(|(_, lists)| lists).collect())
        }
        .boxed()
    }

    /// The lists of `parts`, each kept with its place in the group, looked up together.
    async fn parts(
        &self,
        parts: Vec<(usize, &CheckedRule)>,
        among: &Among,
    ) -> Result<Vec<(usize, Vec<Members>)>, AppError> {
        try_join_all(parts.into_iter().map(|(at, part)| async move {
            Ok::<_, AppError>((at, self.part(part, among.clone()).await?))
        }))
        .await
    }

    async fn part(&self, part: &CheckedRule, among: Among) -> Result<Vec<Members>, AppError> {
        match part {
            CheckedRule::Criterion(criterion) => Ok(vec![self.criterion(criterion, among).await?]),
            CheckedRule::Group(inner) => self.group(inner, among).await,
        }
    }

    /// The customers one looked-up condition stands for, among `among`.
    async fn criterion(&self, criterion: &Criterion, among: Among) -> Result<Members, AppError> {
        let (mongo, now) = (self.mongo, self.now);
        // One more than allowed tells a condition that stands for too many.
        let limit = MAX_LOOKED_UP + 1;
        let window = |period: Period| {
            let (start, end) = period_bounds(period, now);
            OrderWindow {
                start,
                end,
                among: among.clone(),
            }
        };
        match criterion {
            Criterion::Ordered(measure, test, period) => {
                // A test that holds for 0 also holds for every customer without orders in the window: those are
                // everyone but the customers whose window fails it.
                let failing = test.holds(0);
                let ids = behaviour::customers_by_total(
                    mongo,
                    *measure,
                    window(*period),
                    number_condition(test),
                    failing,
                    limit,
                )
                .await?;
                members(ids, !failing)
            }
            Criterion::Bought {
                product,
                min_quantity,
                period,
            } => {
                let ids = behaviour::customers_who_bought(
                    mongo,
                    product,
                    *min_quantity,
                    window(*period),
                    limit,
                )
                .await?;
                members(ids, true)
            }
            Criterion::Engaged(engagement, Engaged::Campaign(name)) => members(
                engagement::customers_of_campaign(mongo, *engagement, name, among, limit).await?,
                true,
            ),
            Criterion::Engaged(engagement, Engaged::WithinDays(days)) => {
                let since = days_before(now, *days);
                members(
                    engagement::customers_since(mongo, *engagement, since, among, limit).await?,
                    true,
                )
            }
            _ => unreachable!("only conditions on orders and messages are looked up"),
        }
    }
}

/// Whether a looked-up condition reads few orders or messages through its index: one SKU's orders within a
/// window with a start, or engagement (a campaign's messages, or those of the last N days). Others read every order
/// of a window or of a product's whole history, and waiting for them would cost more than it saves (measured on
/// a million orders: a product's buyers of all time in 1.5 s, where the SKU in 90 days took 0.15 s).
fn reads_little(criterion: &Criterion) -> bool {
    match criterion {
        Criterion::Bought {
            product: ProductTest::Sku(skus),
            period,
            ..
        } => skus.len() == 1 && *period != Period::Ever,
        Criterion::Engaged(..) => true,
        _ => false,
    }
}

/// Whose orders and messages a group's other lookups read once `lists`, of its narrower conditions, are known:
/// the customers in all of them when those are few enough, or `among` as before.
fn narrowed<'a>(lists: impl Iterator<Item = &'a Members>, among: Among) -> Among {
    let left = lists
        .filter_map(|list| match list {
            Members::In(ids) => Some(ids),
            Members::NotIn(_) => None,
        })
        .fold(None, |left: Option<HashSet<ObjectId>>, ids| {
            Some(match left {
                None => ids.clone(),
                Some(left) => &left & ids,
            })
        });
    match left {
        Some(left) if left.len() <= MAX_NARROWED => {
            let mut left: Vec<ObjectId> = left.into_iter().collect();
            left.sort();
            Among::Customers(left.into())
        }
        _ => among,
    }
}

async fn every_lookup_bucketed(mongo: &Mongo) -> Result<bool, AppError> {
    let (orders, messages) = futures::try_join!(
        behaviour::all_bucketed(mongo),
        engagement::all_bucketed(mongo)
    )?;
    Ok(orders && messages)
}

/// The customers a looked-up condition stands for: those listed, or everyone but those listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Members {
    In(HashSet<ObjectId>),
    NotIn(HashSet<ObjectId>),
}

impl Members {
    /// The looked-up conditions of one group as one list: in an `all` group the lists intersect, in an `any` group
    /// they join. A single list keeps the count to one `$in` (a seek per customer) or one `$nin` (a set SecantusDB
    /// checks each customer against); several, or a `$nor` around one, are checked one by one, in seconds.
    fn combine(lists: Vec<Members>, combinator: Combinator) -> Option<Members> {
        let (mut ins, mut not_ins) = (Vec::new(), Vec::new());
        for list in lists {
            match list {
                Members::In(ids) => ins.push(ids),
                Members::NotIn(ids) => not_ins.push(ids),
            }
        }
        let fold = |sets: Vec<HashSet<ObjectId>>, join: bool| {
            sets.into_iter()
                .reduce(|a, b| if join { &a | &b } else { &a & &b })
        };
        let all = combinator == Combinator::All;
        // All: in every list and in no excluded one. Any: in some list, or outside some excluded one, which is
        // everyone but those in every excluded one and in no list.
        Some(match (fold(ins, !all), fold(not_ins, all)) {
            (None, None) => return None,
            (Some(included), None) => Members::In(included),
            (None, Some(excluded)) => Members::NotIn(excluded),
            (Some(included), Some(excluded)) if all => Members::In(&included - &excluded),
            (Some(included), Some(excluded)) => Members::NotIn(&excluded - &included),
        })
    }

    fn negated(self) -> Self {
        match self {
            Members::In(ids) => Members::NotIn(ids),
            Members::NotIn(ids) => Members::In(ids),
        }
    }

    fn filter(self) -> Document {
        let (key, ids) = match self {
            Members::In(ids) => ("$in", ids),
            Members::NotIn(ids) => ("$nin", ids),
        };
        let mut ids: Vec<ObjectId> = ids.into_iter().collect();
        ids.sort();
        doc! { "_id": { key: ids } }
    }
}

/// A group compiled: a filter, or only a list of customers (a group of looked-up conditions alone), which its
/// parent merges with its own lists.
enum Compiled {
    Filter(Document),
    Members(Members),
}

fn members(ids: Vec<ObjectId>, included: bool) -> Result<Members, AppError> {
    if ids.len() > MAX_LOOKED_UP {
        return Err(AppError::InvalidRule(vec![RuleProblem {
            path: vec![],
            message: format!(
                "A condition on orders or messages stands for more than {} customers, more than a rule can \
                 carry: narrow its window or its product.",
                thousands(MAX_LOOKED_UP as u64)
            ),
        }]));
    }
    let ids = ids.into_iter().collect();
    Ok(if included {
        Members::In(ids)
    } else {
        Members::NotIn(ids)
    })
}

/// Whether some condition of `group`, or of a group inside it, looks at orders or messages.
fn group_looks_up(group: &CheckedGroup, now: DateTime) -> bool {
    group.parts.iter().any(|part| looks_up(part, now))
}

/// Whether a condition, or some condition of a group, looks at orders or messages.
fn looks_up(part: &CheckedRule, now: DateTime) -> bool {
    match part {
        CheckedRule::Criterion(criterion) => needs_orders(criterion, now),
        CheckedRule::Group(inner) => group_looks_up(inner, now),
    }
}

fn needs_orders(criterion: &Criterion, now: DateTime) -> bool {
    criterion_filter(criterion, now).is_none()
}

/// An order condition the customer's totals answer: over all time, or whether they ordered in the last N days.
fn from_totals(criterion: &Criterion, now: DateTime) -> Option<Document> {
    let Criterion::Ordered(measure, test, period) = criterion else {
        return None;
    };
    match (measure, period) {
        (Measure::Orders, Period::Ever) => {
            criterion_filter(&Criterion::Number(Field::OrderCount, test.clone()), now)
        }
        (Measure::SpendCents, Period::Ever) => {
            criterion_filter(&Criterion::Number(Field::TotalSpend, test.clone()), now)
        }
        (Measure::Orders, Period::LastDays(days)) => {
            let since = days_before(now, *days);
            let ordered = doc! { stored(Field::LastOrderAt): { "$gte": since } };
            match *test {
                NumberTest::Gte(1) | NumberTest::Gt(0) => Some(ordered),
                NumberTest::Eq(0) | NumberTest::Lte(0) | NumberTest::Lt(1) => {
                    Some(doc! { "$nor": [ordered] })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn days_before(now: DateTime, days: u32) -> DateTime {
    DateTime::from_millis(now.timestamp_millis() - i64::from(days) * DAY_MS)
}

fn period_bounds(period: Period, now: DateTime) -> (Option<DateTime>, Option<DateTime>) {
    match period {
        Period::Ever => (None, None),
        Period::LastDays(days) => (Some(days_before(now, days)), None),
        Period::Within(span) => (
            Some(DateTime::from_millis(span.start_ms)),
            Some(DateTime::from_millis(span.end_ms)),
        ),
    }
}

/// The rule as a customers filter; `resolved` holds what [`resolve`] found for its looked-up conditions.
pub fn compile(
    group: &CheckedGroup,
    now: DateTime,
    resolved: &mut impl Iterator<Item = Members>,
) -> Document {
    match compile_group(group, now, resolved) {
        Compiled::Filter(filter) => filter,
        Compiled::Members(members) => members.filter(),
    }
}

fn compile_group(
    group: &CheckedGroup,
    now: DateTime,
    resolved: &mut impl Iterator<Item = Members>,
) -> Compiled {
    let mut parts = Vec::new();
    let mut lists = Vec::new();
    for part in &group.parts {
        match part {
            CheckedRule::Criterion(criterion) => match criterion_filter(criterion, now) {
                Some(filter) => parts.push(filter),
                None => lists.push(
                    resolved
                        .next()
                        .expect("resolve looks up every condition compile meets"),
                ),
            },
            CheckedRule::Group(inner) => match compile_group(inner, now, resolved) {
                Compiled::Filter(filter) => parts.push(filter),
                Compiled::Members(members) => lists.push(members),
            },
        }
    }
    let members = Members::combine(lists, group.combinator);
    if parts.is_empty() {
        if let Some(members) = members {
            return Compiled::Members(if group.negated {
                members.negated()
            } else {
                members
            });
        }
    }
    parts.extend(members.map(Members::filter));
    let combined = match (parts.len(), group.combinator) {
        (0, _) => doc! {},
        (1, _) => parts.remove(0),
        (_, Combinator::All) => doc! { "$and": parts },
        (_, Combinator::Any) => doc! { "$or": parts },
    };
    Compiled::Filter(if group.negated && !combined.is_empty() {
        doc! { "$nor": [combined] }
    } else {
        combined
    })
}

fn number_condition(test: &NumberTest) -> Bson {
    match *test {
        NumberTest::Eq(v) => Bson::Int64(v),
        NumberTest::Ne(v) => doc! { "$ne": v }.into(),
        NumberTest::Gt(v) => doc! { "$gt": v }.into(),
        NumberTest::Gte(v) => doc! { "$gte": v }.into(),
        NumberTest::Lt(v) => doc! { "$lt": v }.into(),
        NumberTest::Lte(v) => doc! { "$lte": v }.into(),
        NumberTest::Between(low, high) => doc! { "$gte": low, "$lte": high }.into(),
    }
}

/// The field of the customer a condition on their own fields compares.
fn stored(field: Field) -> &'static str {
    field_path(field).expect("a condition on a customer's own fields names a stored field")
}

/// A condition as a filter on the customer's own fields, or none for one that the orders or messages answer.
fn criterion_filter(criterion: &Criterion, now: DateTime) -> Option<Document> {
    Some(match criterion {
        Criterion::Ordered(..) => return from_totals(criterion, now),
        Criterion::Bought { .. } | Criterion::Engaged(..) => return None,
        Criterion::Number(Field::AverageOrderValue, test) => average_order_value(test),
        Criterion::Number(field, test) => doc! { stored(*field): number_condition(test) },
        Criterion::Date(field, test) => {
            let at = DateTime::from_millis;
            let days_ago = |days: u32| days_before(now, days);
            let condition: Bson = match *test {
                DateTest::Before(ms) => doc! { "$lt": at(ms) }.into(),
                DateTest::NotBefore(ms) => doc! { "$gte": at(ms) }.into(),
                DateTest::Within(span) => {
                    doc! { "$gte": at(span.start_ms), "$lt": at(span.end_ms) }.into()
                }
                DateTest::WithinDays(days) => doc! { "$gte": days_ago(days) }.into(),
                DateTest::MoreThanDaysAgo(days) => doc! { "$lt": days_ago(days) }.into(),
                // Matches a missing field too: a customer without orders has no last order date.
                DateTest::Never => Bson::Null,
            };
            doc! { stored(*field): condition }
        }
        Criterion::Text(field, test) => {
            let condition: Bson = match test {
                TextTest::Eq(text) => text.clone().into(),
                TextTest::Ne(text) => doc! { "$ne": text }.into(),
                TextTest::Contains(text) => doc! { "$regex": regex_literal(text) }.into(),
                TextTest::StartsWith(text) => {
                    doc! { "$regex": format!("^{}", regex_literal(text)) }.into()
                }
                TextTest::EndsWith(text) => {
                    doc! { "$regex": format!("{}$", regex_literal(text)) }.into()
                }
                TextTest::InList(items) => doc! { "$in": items }.into(),
            };
            doc! { stored(*field): condition }
        }
        Criterion::Consent(channel, is, consent) => {
            let path = crate::customers::server::consent_path(*channel);
            // A customer never asked has no state stored, and counts as subscribed.
            use crate::customers::model::Consent;
            match (consent, is) {
                (Consent::Subscribed, true) => {
                    doc! { path: { "$in": [Bson::Null, consent.key()] } }
                }
                (Consent::Subscribed, false) => {
                    doc! { path: { "$nin": [Bson::Null, consent.key()] } }
                }
                (_, true) => doc! { path: consent.key() },
                (_, false) => doc! { path: { "$ne": consent.key() } },
            }
        }
        Criterion::Tags(test) => match test {
            TagTest::Any(tags) => doc! { "tags": { "$in": tags } },
            TagTest::All(tags) => doc! { "tags": { "$all": tags } },
            TagTest::None(tags) => doc! { "tags": { "$nin": tags } },
        },
    })
}

/// The average order value is not stored (orders add to the totals with `$inc`), so it is compared as
/// `total_spend / order_count` in an expression; customers without orders have no average and never match.
fn average_order_value(test: &NumberTest) -> Document {
    let average = doc! { "$divide": ["$total_spend_cents", "$order_count"] };
    let compare =
        |operator: &str, value: i64| doc! { operator: [average.clone(), Bson::Int64(value)] };
    let comparisons = match *test {
        NumberTest::Eq(v) => vec![compare("$eq", v)],
        NumberTest::Ne(v) => vec![compare("$ne", v)],
        NumberTest::Gt(v) => vec![compare("$gt", v)],
        NumberTest::Gte(v) => vec![compare("$gte", v)],
        NumberTest::Lt(v) => vec![compare("$lt", v)],
        NumberTest::Lte(v) => vec![compare("$lte", v)],
        NumberTest::Between(low, high) => vec![compare("$gte", low), compare("$lte", high)],
    };
    let mut all = vec![doc! { "$gt": ["$order_count", 0] }];
    all.extend(comparisons);
    doc! { "$expr": { "$and": all } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::rules::{check_rule, Condition, Operator, Rule, RuleGroup, Window};

    const NOW_MS: i64 = 1_790_000_000_000;

    fn now() -> DateTime {
        DateTime::from_millis(NOW_MS)
    }

    fn condition(field: Field, operator: Operator, value: &str) -> Rule {
        Rule::Condition(Condition {
            operator,
            value: value.to_owned(),
            ..Condition::new(field)
        })
    }

    fn between(field: Field, low: &str, high: &str) -> Rule {
        Rule::Condition(Condition {
            operator: Operator::Between,
            value: low.to_owned(),
            value_to: high.to_owned(),
            ..Condition::new(field)
        })
    }

    fn group(combinator: Combinator, negated: bool, rules: Vec<Rule>) -> RuleGroup {
        RuleGroup {
            combinator,
            negated,
            rules,
        }
    }

    fn filter_of(rule: Rule) -> Document {
        compile(
            &check_rule(&group(Combinator::All, false, vec![rule])).unwrap(),
            now(),
            &mut std::iter::empty(),
        )
    }

    #[test]
    fn number_operators() {
        let spend = |operator, value| filter_of(condition(Field::TotalSpend, operator, value));
        assert_eq!(
            spend(Operator::Eq, "10"),
            doc! { "total_spend_cents": 1_000_i64 }
        );
        assert_eq!(
            spend(Operator::Ne, "10"),
            doc! { "total_spend_cents": { "$ne": 1_000_i64 } }
        );
        assert_eq!(
            spend(Operator::Gt, "10.5"),
            doc! { "total_spend_cents": { "$gt": 1_050_i64 } }
        );
        assert_eq!(
            spend(Operator::Gte, "0"),
            doc! { "total_spend_cents": { "$gte": 0_i64 } }
        );
        assert_eq!(
            spend(Operator::Lt, "1"),
            doc! { "total_spend_cents": { "$lt": 100_i64 } }
        );
        assert_eq!(
            spend(Operator::Lte, "1"),
            doc! { "total_spend_cents": { "$lte": 100_i64 } }
        );
        assert_eq!(
            filter_of(between(Field::OrderCount, "9", "2")),
            doc! { "order_count": { "$gte": 2_i64, "$lte": 9_i64 } },
            "reversed bounds are put in order"
        );
    }

    #[test]
    fn average_order_value_divides_the_totals_and_needs_an_order() {
        assert_eq!(
            filter_of(condition(Field::AverageOrderValue, Operator::Gte, "25")),
            doc! { "$expr": { "$and": [
                { "$gt": ["$order_count", 0] },
                { "$gte": [{ "$divide": ["$total_spend_cents", "$order_count"] }, 2_500_i64] },
            ] } }
        );
        let range = filter_of(between(Field::AverageOrderValue, "10", "20"));
        assert_eq!(
            range
                .get_document("$expr")
                .unwrap()
                .get_array("$and")
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn date_operators_against_utc_days_and_now() {
        let march_first = DateTime::from_millis(1_772_323_200_000);
        let march_second = DateTime::from_millis(1_772_323_200_000 + DAY_MS);
        let last = |operator, value| filter_of(condition(Field::LastOrderAt, operator, value));
        assert_eq!(
            last(Operator::Before, "2026-03-01"),
            doc! { "last_order_at": { "$lt": march_first } }
        );
        assert_eq!(
            last(Operator::After, "2026-03-01"),
            doc! { "last_order_at": { "$gte": march_second } }
        );
        assert_eq!(
            last(Operator::OnOrBefore, "2026-03-01"),
            doc! { "last_order_at": { "$lt": march_second } }
        );
        assert_eq!(
            last(Operator::OnOrAfter, "2026-03-01"),
            doc! { "last_order_at": { "$gte": march_first } }
        );
        assert_eq!(
            last(Operator::On, "2026-03-01"),
            doc! { "last_order_at": { "$gte": march_first, "$lt": march_second } }
        );
        // An instant with an offset is compared in UTC: 01:30 at +02:00 is the last day of February.
        assert_eq!(
            last(Operator::Before, "2026-03-01T01:30:00+02:00"),
            doc! { "last_order_at": { "$lt": DateTime::from_millis(1_772_323_200_000 - 30 * 60_000) } }
        );
        let ninety_days_ago = DateTime::from_millis(NOW_MS - 90 * DAY_MS);
        assert_eq!(
            last(Operator::WithinDays, "90"),
            doc! { "last_order_at": { "$gte": ninety_days_ago } }
        );
        assert_eq!(
            last(Operator::MoreThanDaysAgo, "90"),
            doc! { "last_order_at": { "$lt": ninety_days_ago } }
        );
        assert_eq!(
            last(Operator::Never, ""),
            doc! { "last_order_at": Bson::Null }
        );
        assert_eq!(
            filter_of(between(Field::CreatedAt, "2026-03-01", "2026-03-01")),
            doc! { "created_at": { "$gte": march_first, "$lt": march_second } }
        );
    }

    #[test]
    fn text_operators_compare_lower_case_and_escape_patterns() {
        let city = |operator, value| filter_of(condition(Field::City, operator, value));
        assert_eq!(city(Operator::Eq, "Berlin"), doc! { "city_key": "berlin" });
        assert_eq!(
            city(Operator::Ne, "Berlin"),
            doc! { "city_key": { "$ne": "berlin" } }
        );
        assert_eq!(
            city(Operator::Contains, "St. "),
            doc! { "city_key": { "$regex": "st\\." } }
        );
        assert_eq!(
            city(Operator::StartsWith, "New (York"),
            doc! { "city_key": { "$regex": "^new \\(york" } }
        );
        assert_eq!(
            city(Operator::EndsWith, "burg"),
            doc! { "city_key": { "$regex": "burg$" } }
        );
        assert_eq!(
            city(Operator::InList, "Oslo, Rome"),
            doc! { "city_key": { "$in": ["oslo", "rome"] } }
        );
        assert_eq!(
            filter_of(condition(Field::Name, Operator::Eq, "Ada")),
            doc! { "name_key": "ada" }
        );
        assert_eq!(
            filter_of(condition(Field::Email, Operator::EndsWith, "@Example.com")),
            doc! { "email": { "$regex": "@example\\.com$" } }
        );
    }

    #[test]
    fn tag_operators() {
        let tags = |operator| filter_of(condition(Field::Tags, operator, "VIP, new"));
        assert_eq!(
            tags(Operator::HasAny),
            doc! { "tags": { "$in": ["vip", "new"] } }
        );
        assert_eq!(
            tags(Operator::HasAll),
            doc! { "tags": { "$all": ["vip", "new"] } }
        );
        assert_eq!(
            tags(Operator::HasNone),
            doc! { "tags": { "$nin": ["vip", "new"] } }
        );
    }

    #[test]
    fn groups_nest_with_and_or_not() {
        let rule = group(
            Combinator::All,
            false,
            vec![
                condition(Field::TotalSpend, Operator::Gt, "10000"),
                Rule::Group(group(
                    Combinator::Any,
                    false,
                    vec![
                        condition(Field::OrderCount, Operator::Lt, "3"),
                        condition(Field::LastOrderAt, Operator::MoreThanDaysAgo, "90"),
                    ],
                )),
                Rule::Group(group(
                    Combinator::All,
                    true,
                    vec![condition(Field::Tags, Operator::HasAny, "blocked")],
                )),
            ],
        );
        let ninety_days_ago = DateTime::from_millis(NOW_MS - 90 * DAY_MS);
        assert_eq!(
            compile(&check_rule(&rule).unwrap(), now(), &mut std::iter::empty()),
            doc! { "$and": [
                { "total_spend_cents": { "$gt": 1_000_000_i64 } },
                { "$or": [{ "order_count": { "$lt": 3_i64 } }, { "last_order_at": { "$lt": ninety_days_ago } }] },
                { "$nor": [{ "tags": { "$in": ["blocked"] } }] },
            ] }
        );
    }

    #[test]
    fn empty_groups_match_everyone() {
        assert_eq!(
            compile(
                &check_rule(&group(Combinator::Any, true, vec![])).unwrap(),
                now(),
                &mut std::iter::empty()
            ),
            doc! {}
        );
        let with_empty = group(
            Combinator::Any,
            false,
            vec![Rule::Group(group(Combinator::All, false, vec![]))],
        );
        assert_eq!(
            compile(
                &check_rule(&with_empty).unwrap(),
                now(),
                &mut std::iter::empty()
            ),
            doc! {}
        );
    }

    #[test]
    fn looked_up_conditions_take_their_members_in_the_order_they_are_met() {
        let window = |days: u32| crate::segments::rules::Window::last_days(days);
        let mut bought = Condition::new(Field::BoughtSku);
        bought.value = "MUG".into();
        bought.window = window(30);
        let mut twice = Condition::new(Field::Orders);
        twice.value = "2".into();
        twice.window = window(60);
        let rule = group(
            Combinator::All,
            false,
            vec![
                Rule::Condition(bought),
                Rule::Group(group(
                    Combinator::Any,
                    false,
                    vec![
                        Rule::Condition(twice),
                        Rule::Group(group(
                            Combinator::All,
                            true,
                            vec![condition(Field::OpenedAny, Operator::WithinDays, "60")],
                        )),
                        condition(Field::City, Operator::Eq, "Oslo"),
                    ],
                )),
            ],
        );
        let checked = check_rule(&rule).unwrap();
        assert!(group_looks_up(&checked, now()));
        let ids: Vec<ObjectId> = (0..6).map(|_| ObjectId::new()).collect();
        let set = |picked: &[usize]| picked.iter().map(|&i| ids[i]).collect::<HashSet<_>>();
        let found = [
            Members::In(set(&[0, 1, 2])),
            Members::NotIn(set(&[1, 3, 5])),
            Members::In(set(&[5])),
        ];
        // The negated group's list is the customers outside it, merged with its parent's own: outside 1, 3 and 5,
        // or outside 5, is everyone but 5.
        assert_eq!(
            compile(&checked, now(), &mut found.into_iter()),
            doc! { "$and": [
                { "$or": [
                    { "city_key": "oslo" },
                    { "_id": { "$nin": [ids[5]] } },
                ] },
                { "_id": { "$in": [ids[0], ids[1], ids[2]] } },
            ] }
        );
    }

    #[test]
    fn a_groups_other_lookups_read_only_the_few_customers_its_lists_leave() {
        let mut ids: Vec<ObjectId> = (0..4).map(|_| ObjectId::new()).collect();
        ids.sort();
        let set = |picked: &[usize]| picked.iter().map(|&i| ids[i]).collect::<HashSet<_>>();
        let lists = [
            Members::In(set(&[0, 1, 2])),
            Members::NotIn(set(&[1])),
            Members::In(set(&[1, 2, 3])),
        ];
        // An excluded list narrows nothing: the group may hold customers outside it.
        assert_eq!(
            narrowed(lists.iter(), Among::Sample(100)),
            Among::Customers(vec![ids[1], ids[2]].into())
        );
        assert_eq!(
            narrowed(lists[1..2].iter(), Among::Sample(100)),
            Among::Sample(100)
        );
        assert_eq!(
            narrowed(std::iter::empty(), Among::Everyone),
            Among::Everyone
        );
        // Too many customers to read theirs: the window is read whole.
        let many: HashSet<ObjectId> = (0..=MAX_NARROWED).map(|_| ObjectId::new()).collect();
        assert_eq!(
            narrowed([Members::In(many)].iter(), Among::Everyone),
            Among::Everyone
        );
        assert_eq!(
            narrowed([Members::In(HashSet::new())].iter(), Among::Everyone),
            Among::Customers(Vec::new().into())
        );
    }

    #[test]
    fn only_conditions_their_index_bounds_are_looked_up_first() {
        let criterion = |rule: Rule| match check_rule(&group(Combinator::All, false, vec![rule]))
            .unwrap()
            .parts
            .remove(0)
        {
            CheckedRule::Criterion(criterion) => criterion,
            CheckedRule::Group(_) => unreachable!("one condition"),
        };
        let bought = |field: Field, value: &str, window: Window| {
            let mut condition = Condition::new(field);
            condition.value = value.into();
            condition.window = window;
            criterion(Rule::Condition(condition))
        };
        assert!(reads_little(&bought(
            Field::BoughtSku,
            "MUG",
            Window::last_days(30)
        )));
        assert!(!reads_little(&bought(
            Field::BoughtSku,
            "MUG",
            Window::default()
        )));
        assert!(!reads_little(&bought(
            Field::BoughtProduct,
            "mug",
            Window::last_days(30)
        )));
        assert!(!reads_little(&bought(
            Field::Orders,
            "2",
            Window::last_days(30)
        )));
        assert!(reads_little(&criterion(condition(
            Field::OpenedAny,
            Operator::WithinDays,
            "60"
        ))));
    }

    #[test]
    fn the_lists_of_a_group_intersect_under_all_and_join_under_any() {
        let ids: Vec<ObjectId> = (0..5).map(|_| ObjectId::new()).collect();
        let set = |picked: &[usize]| picked.iter().map(|&i| ids[i]).collect::<HashSet<_>>();
        let lists = || {
            vec![
                Members::In(set(&[0, 1, 2])),
                Members::In(set(&[1, 2, 3])),
                Members::NotIn(set(&[2, 4])),
                Members::NotIn(set(&[2, 3])),
            ]
        };
        assert_eq!(
            Members::combine(lists(), Combinator::All),
            Some(Members::In(set(&[1]))),
            "in both lists, and in neither excluded one"
        );
        assert_eq!(
            Members::combine(lists(), Combinator::Any),
            Some(Members::NotIn(HashSet::new())),
            "in some list, or outside some excluded one: here everyone, as 4 is in no list but outside the second excluded one"
        );
        let (only_in, excluded) = (Members::In(set(&[0, 1])), Members::NotIn(set(&[1, 2])));
        assert_eq!(
            Members::combine(vec![only_in, excluded], Combinator::Any),
            Some(Members::NotIn(set(&[2]))),
            "everyone but 2, who is in the excluded one and in no list"
        );
        assert_eq!(Members::combine(Vec::new(), Combinator::All), None);
    }

    #[test]
    fn order_conditions_the_totals_answer_need_no_lookup() {
        let mut ever = Condition::new(Field::Spent);
        ever.value = "100".into();
        let mut recent = Condition::new(Field::Orders);
        recent.value = "1".into();
        recent.window = crate::segments::rules::Window::last_days(30);
        let mut lapsed = Condition::new(Field::Orders);
        lapsed.operator = Operator::Never;
        lapsed.window = crate::segments::rules::Window::last_days(30);
        let thirty_days_ago = DateTime::from_millis(NOW_MS - 30 * DAY_MS);
        assert_eq!(
            filter_of(Rule::Condition(ever)),
            doc! { "total_spend_cents": { "$gte": 10_000_i64 } }
        );
        assert_eq!(
            filter_of(Rule::Condition(recent)),
            doc! { "last_order_at": { "$gte": thirty_days_ago } }
        );
        assert_eq!(
            filter_of(Rule::Condition(lapsed)),
            doc! { "$nor": [{ "last_order_at": { "$gte": thirty_days_ago } }] }
        );
    }
}
