//! The customers collection: importing (idempotent on email), the paged list, one customer's page, tags and
//! consent.

pub mod audience;
pub mod growth;
pub mod of_orders;
pub mod rest;
pub mod sampling;

use std::collections::HashSet;

use futures::TryStreamExt;
use serde::Deserialize;

use mongodb::{
    bson::{doc, oid::ObjectId, Bson, DateTime, Document},
    Collection,
};

use crate::{
    campaigns::model::Channel,
    customers::model::{
        name_from_email, Consent, ConsentRecord, CustomerDetail, CustomerInput, CustomerPage,
        CustomerRow, CustomerSort, ImportOutcome, COUNT_LIMIT,
    },
    orders::model::format_cents,
    segments::{rules::Field, server::Segments},
    server::{
        mongo::{
            all_of, collections, display_time, duplicate_positions, number, parse_id, read_as,
            regex_literal, Mongo,
        },
        paging,
    },
    shared::{error::AppError, time::now_ms},
};

/// Statements per `update` command when importing.
const IMPORT_CHUNK: usize = 1_000;

/// The lower-case copy of a name or city that conditions and sorting compare.
pub fn text_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The words a search matches by their start: each word of the name, the email and its domain. A search splits
/// at spaces, so the whole name would match no term its first word does not: it is left out, as each entry of
/// this multikey index is the dearest part of inserting a customer.
pub fn keywords(name: &str, email: &str) -> Vec<String> {
    let mut words: Vec<String> = text_key(name).split(' ').map(str::to_owned).collect();
    words.retain(|word| !word.is_empty());
    words.push(email.to_owned());
    if let Some((_, domain)) = email.split_once('@') {
        words.push(domain.to_owned());
    }
    words.sort();
    words.dedup();
    words
}

/// The searchable fields of a customer with the given name and email, as stored, and their sample key.
pub fn name_fields(name: &str, email: &str) -> Document {
    doc! {
        "name": name,
        "name_key": text_key(name),
        "keywords": keywords(name, email),
        "sample_key": sampling::sample_key(email),
    }
}

/// The field of a stored customer that a segment condition on `field` compares; none for the conditions that
/// the orders or the messages answer.
pub fn field_path(field: Field) -> Option<&'static str> {
    Some(match field {
        Field::TotalSpend => "total_spend_cents",
        Field::OrderCount => "order_count",
        // Compared through an expression over the two totals; see `average_order_value`.
        Field::AverageOrderValue => "total_spend_cents",
        Field::LastOrderAt => "last_order_at",
        Field::FirstOrderAt => "first_order_at",
        Field::CreatedAt => "created_at",
        Field::Name => "name_key",
        Field::Email => "email",
        Field::City => "city_key",
        Field::Tags => "tags",
        Field::EmailConsent => "consent.email.state",
        Field::SmsConsent => "consent.sms.state",
        // Over all time the totals answer these (as `OrderCount` and `TotalSpend`), in a window the orders do.
        Field::Orders
        | Field::Spent
        | Field::BoughtSku
        | Field::BoughtProduct
        | Field::CampaignSent
        | Field::CampaignOpened
        | Field::CampaignClicked
        | Field::OpenedAny
        | Field::ClickedAny => return None,
    })
}

/// A customer as stored. Customers are created with their totals at zero (an import may bring totals from before
/// Realm); orders only ever add to them.
#[derive(Debug, Deserialize)]
pub struct StoredCustomer {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub city: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub total_spend_cents: i64,
    #[serde(default)]
    pub order_count: i64,
    pub created_at: Option<DateTime>,
    pub first_order_at: Option<DateTime>,
    pub last_order_at: Option<DateTime>,
    /// Per channel; a channel never changed has no record (and is subscribed, see [`Consent`]).
    #[serde(default)]
    pub consent: StoredConsents,
}

#[derive(Debug, Default, Deserialize)]
pub struct StoredConsents {
    pub email: Option<StoredConsent>,
    pub sms: Option<StoredConsent>,
}

#[derive(Debug, Deserialize)]
pub struct StoredConsent {
    pub state: String,
    pub at: Option<DateTime>,
    pub via: Option<String>,
}

impl StoredCustomer {
    /// Their bucket of the estimates' sample keys, made of their email (which never changes).
    pub fn sample_bucket(&self) -> i32 {
        sampling::sample_bucket(&self.email)
    }

    pub fn read(document: Document) -> Result<Self, AppError> {
        read_as("customer", document)
    }

    fn consent_record(&self, channel: Channel) -> Option<&StoredConsent> {
        match channel {
            Channel::Email => self.consent.email.as_ref(),
            Channel::Sms => self.consent.sms.as_ref(),
        }
    }

    /// The customer's consent for a channel; a state this version does not know withholds consent.
    pub fn consent(&self, channel: Channel) -> Consent {
        match self.consent_record(channel) {
            None => Consent::Subscribed,
            Some(record) => Consent::parse(&record.state).unwrap_or(Consent::Unsubscribed),
        }
    }

    pub fn row(&self) -> CustomerRow {
        CustomerRow {
            id: self.id.to_hex(),
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            city: self.city.clone(),
            tags: self.tags.clone(),
            total_spend: format_cents(self.total_spend_cents),
            total_spend_cents: self.total_spend_cents,
            order_count: self.order_count,
            last_order: self.last_order_at.map(display_time),
        }
    }
}

/// The list's row of a stored customer.
pub fn customer_row(document: Document) -> Result<CustomerRow, AppError> {
    Ok(StoredCustomer::read(document)?.row())
}

/// What the customer list shows: a search, a tag, a segment, and an order.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub search: String,
    pub tag: String,
    pub segment: String,
    pub sort: CustomerSort,
}

/// The stored field a sort orders by, and whether it runs from high to low.
fn sort_key(sort: CustomerSort) -> paging::Sort {
    let (field, descending, dated) = match sort {
        CustomerSort::Newest => ("created_at", true, true),
        CustomerSort::Name => ("name_key", false, false),
        CustomerSort::TopSpend => ("total_spend_cents", true, false),
        CustomerSort::MostOrders => ("order_count", true, false),
        CustomerSort::RecentOrder => ("last_order_at", true, true),
    };
    paging::Sort {
        field,
        descending,
        dated,
    }
}

#[derive(Clone)]
pub struct Customers {
    mongo: Mongo,
    collection: Collection<Document>,
}

impl Customers {
    pub fn new(mongo: &Mongo) -> Self {
        Self {
            mongo: mongo.clone(),
            collection: mongo.collection(collections::CUSTOMERS),
        }
    }

    /// Creates or updates each customer by email. An imported history replaces the one imported before, so the
    /// same import twice gives the same totals, and orders stored in between stay counted.
    pub async fn import(&self, customers: &[CustomerInput]) -> Result<ImportOutcome, AppError> {
        let mut outcome = ImportOutcome::default();
        let mut chunks = customers.chunks(IMPORT_CHUNK);
        let Some(mut chunk) = chunks.next() else {
            return Ok(outcome);
        };
        let mut known = self.known_emails(chunk).await?;
        loop {
            // The next chunk's stored emails are looked up while this one is written. Writes stay one chunk after
            // another, so a customer named twice ends with the later entry: a lookup that ran before the earlier
            // chunk's insert sees the email as new, and the insert's duplicate key sends it to the update.
            let next = chunks.next();
            let lookup = async {
                match next {
                    Some(next) => self.known_emails(next).await.map(Some),
                    None => Ok(None),
                }
            };
            let (written, next_known) =
                futures::future::try_join(self.write_chunk(chunk, &known), lookup).await?;
            outcome += written;
            match (next, next_known) {
                (Some(next), Some(next_known)) => (chunk, known) = (next, next_known),
                _ => return Ok(outcome),
            }
        }
    }

    /// Writes one chunk of an import, given which of its emails were stored when it was looked up.
    async fn write_chunk(
        &self,
        chunk: &[CustomerInput],
        known: &HashSet<String>,
    ) -> Result<ImportOutcome, AppError> {
        let mut outcome = ImportOutcome::default();
        let now = DateTime::now();
        // Customers not stored yet are inserted whole, which costs the database a fraction of an upsert each; the
        // stored ones, and any that another import stores meanwhile, are updated in place.
        let (mut stored, new): (Vec<&CustomerInput>, Vec<&CustomerInput>) = chunk
            .iter()
            .partition(|customer| known.contains(&customer.email));
        if !new.is_empty() {
            let documents: Vec<Document> = new
                .iter()
                .map(|customer| imported_customer(customer, now))
                .collect();
            let taken = match self.collection.insert_many(&documents).ordered(false).await {
                Ok(_) => Vec::new(),
                Err(error) => duplicate_positions(&error).ok_or(error)?,
            };
            outcome.created += (new.len() - taken.len()) as u64;
            stored.extend(taken.into_iter().map(|position| new[position]));
        }
        if !stored.is_empty() {
            outcome += self.update_stored(&stored, now).await?;
        }
        Ok(outcome)
    }

    /// Which of `customers`' emails are stored.
    async fn known_emails(&self, customers: &[CustomerInput]) -> Result<HashSet<String>, AppError> {
        let emails: Vec<&str> = customers
            .iter()
            .map(|customer| customer.email.as_str())
            .collect();
        Ok(self
            .collection
            .find(doc! { "email": { "$in": emails } })
            .projection(doc! { "email": 1, "_id": 0 })
            .await?
            .try_filter_map(|customer| {
                std::future::ready(Ok(customer.get_str("email").ok().map(str::to_owned)))
            })
            .try_collect()
            .await?)
    }

    /// Updates stored customers from an import (creating any that are gone), in one command.
    async fn update_stored(
        &self,
        customers: &[&CustomerInput],
        now: DateTime,
    ) -> Result<ImportOutcome, AppError> {
        let updates: Vec<Document> = customers
            .iter()
            .map(|customer| doc! { "q": { "email": &customer.email }, "u": [ { "$set": import_fields(customer, now) } ], "upsert": true })
            .collect();
        let reply = self
            .mongo
            .database()
            .run_command(
                doc! { "update": collections::CUSTOMERS, "updates": updates, "ordered": false },
            )
            .await?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            if !errors.is_empty() {
                tracing::error!("customer import refused: {errors:?}");
                return Err(AppError::Unavailable(
                    "The database refused part of the import; try again.".to_owned(),
                ));
            }
        }
        self.import_consent(customers, now).await?;
        let matched = number(&reply, "n") as u64;
        let created = reply
            .get_array("upserted")
            .map(|u| u.len() as u64)
            .unwrap_or(0);
        Ok(ImportOutcome {
            created,
            updated: matched.saturating_sub(created),
        })
    }

    /// Records the consent an import states, where it differs from the stored one (so the time and way a state was
    /// reached stay those of the change, not of every later import).
    async fn import_consent(
        &self,
        customers: &[&CustomerInput],
        now: DateTime,
    ) -> Result<(), AppError> {
        let updates: Vec<Document> = customers
            .iter()
            .flat_map(|customer| {
                [
                    (Channel::Email, customer.email_consent),
                    (Channel::Sms, customer.sms_consent),
                ]
                .into_iter()
                .filter_map(move |(channel, consent)| {
                    let consent = consent?;
                    Some(doc! {
                        "q": { "email": &customer.email, consent_path(channel): { "$ne": consent.key() } },
                        "u": { "$set": { format!("consent.{}", channel.key()): { "state": consent.key(), "at": now, "via": "import" } } },
                    })
                })
            })
            .collect();
        if updates.is_empty() {
            return Ok(());
        }
        self.mongo
            .database()
            .run_command(
                doc! { "update": collections::CUSTOMERS, "updates": updates, "ordered": false },
            )
            .await?;
        Ok(())
    }

    pub async fn by_email(&self, email: &str) -> Result<Option<CustomerRow>, AppError> {
        self.collection
            .find_one(doc! { "email": email })
            .await?
            .map(customer_row)
            .transpose()
    }

    pub async fn filter(&self, query: &ListQuery) -> Result<Document, AppError> {
        let mut parts: Vec<Document> = Vec::new();
        for token in query.search.split_whitespace().take(5) {
            let token = token.to_lowercase();
            let word = doc! { "keywords": { "$regex": format!("^{}", regex_literal(&token)) } };
            let digits = token.trim_start_matches('+');
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                parts.push(
                    doc! { "$or": [word, { "phone": { "$regex": format!("^\\+?{digits}") } }] },
                );
            } else {
                parts.push(word);
            }
        }
        let tag = crate::segments::rules::normalize_tag(&query.tag);
        if !tag.is_empty() {
            parts.push(doc! { "tags": tag });
        }
        if !query.segment.trim().is_empty() {
            let filter = Segments::new(&self.mongo)
                .filter_of(query.segment.trim())
                .await?;
            if !filter.is_empty() {
                parts.push(filter);
            }
        }
        Ok(all_of(parts))
    }

    /// One page of `size` customers after the cursor `after`, or before the cursor `before`, or the first page.
    pub async fn page(
        &self,
        query: &ListQuery,
        after: Option<&str>,
        before: Option<&str>,
        size: i64,
    ) -> Result<CustomerPage, AppError> {
        let filter = self.filter(query).await?;
        let page = paging::page(
            &self.collection,
            filter.clone(),
            sort_key(query.sort),
            after,
            before,
            size,
        )
        .await?;
        let matching = if filter.is_empty() {
            growth::total(&self.mongo, now_ms()).await?
        } else {
            self.collection
                .count_documents(filter)
                .limit(COUNT_LIMIT + 1)
                .await?
        };
        Ok(CustomerPage {
            rows: page
                .rows
                .into_iter()
                .map(customer_row)
                .collect::<Result<_, _>>()?,
            next: page.next,
            previous: page.previous,
            matching,
        })
    }

    pub async fn detail(&self, id: &str) -> Result<CustomerDetail, AppError> {
        let oid = parse_id(id, "customer")?;
        let customer = self
            .collection
            .find_one(doc! { "_id": oid })
            .await?
            .ok_or_else(|| AppError::NotFound(format!("No customer has the id {id:?}.")))?;
        let customer = StoredCustomer::read(customer)?;
        let segments = Segments::new(&self.mongo).containing(oid).await?;
        let orders = customer.order_count;
        Ok(CustomerDetail {
            customer: customer.row(),
            created_at: customer.created_at.map(display_time).unwrap_or_default(),
            first_order: customer.first_order_at.map(display_time),
            average_order_cents: (orders > 0).then(|| customer.total_spend_cents / orders),
            segments,
            consent: [Channel::Email, Channel::Sms]
                .into_iter()
                .map(|channel| {
                    let recorded = customer.consent_record(channel);
                    ConsentRecord {
                        channel,
                        state: customer.consent(channel),
                        at: recorded.and_then(|record| record.at).map(display_time),
                        via: recorded.and_then(|record| record.via.clone()),
                    }
                })
                .collect(),
        })
    }

    pub async fn set_tags(&self, id: &str, tags: Vec<String>) -> Result<Vec<String>, AppError> {
        let oid = parse_id(id, "customer")?;
        let result = self
            .collection
            .update_one(doc! { "_id": oid }, doc! { "$set": { "tags": &tags } })
            .await?;
        if result.matched_count == 0 {
            return Err(AppError::NotFound(format!(
                "No customer has the id {id:?}."
            )));
        }
        Ok(tags)
    }
}

impl Customers {
    /// Records a customer's consent for a channel, with when and how it changed; answers whether the customer
    /// exists.
    pub async fn set_consent(
        &self,
        id: ObjectId,
        channel: Channel,
        consent: Consent,
        via: &str,
    ) -> Result<bool, AppError> {
        let result = self
            .collection
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { format!("consent.{}", channel.key()): {
                    "state": consent.key(), "at": DateTime::now(), "via": via,
                } } },
            )
            .await?;
        Ok(result.matched_count > 0)
    }
}

/// Where a customer's consent state for a channel is stored; absent means subscribed (see [`Consent`]).
pub fn consent_path(channel: Channel) -> String {
    format!("consent.{}.state", channel.key())
}

/// Customers a campaign on `channel` may send to: consented (or never asked: see [`Consent`]) and with an
/// address for the channel.
pub fn reachable_on(channel: Channel) -> Document {
    let mut filter =
        doc! { consent_path(channel): { "$in": [Bson::Null, Consent::Subscribed.key()] } };
    if channel == Channel::Sms {
        filter.insert("phone", doc! { "$type": "string" });
    }
    filter
}

/// How many of the customers matching `audience` a campaign on `channel` would reach.
pub async fn count_reachable(
    mongo: &Mongo,
    audience: Document,
    channel: Channel,
) -> Result<u64, AppError> {
    Ok(mongo
        .collection(collections::CUSTOMERS)
        .count_documents(all_of([audience, reachable_on(channel)]))
        .await?)
}

/// A customer first stored by an import, whole: what the `$set` stage of [`import_fields`] makes of no customer,
/// on top of what a customer first met in an order starts with.
fn imported_customer(customer: &CustomerInput, now: DateTime) -> Document {
    let mut document = of_orders::new_customer(&customer.email, customer.name.as_deref());
    document.insert("created_at", now);
    if let Some(phone) = &customer.phone {
        document.insert("phone", phone);
    }
    if let Some(city) = &customer.city {
        document.insert("city", city);
        document.insert("city_key", text_key(city));
    }
    let mut tags: Vec<&String> = Vec::with_capacity(customer.tags.len());
    for tag in &customer.tags {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    document.insert("tags", tags);
    if let Some(history) = customer.history {
        document.insert("total_spend_cents", history.spend_cents);
        document.insert("order_count", history.visits as i64);
        document.insert(
            "imported",
            doc! { "spend_cents": history.spend_cents, "visits": history.visits as i64 },
        );
        if let Some(ms) = history.last_visit_ms {
            document.insert("last_order_at", DateTime::from_millis(ms));
        }
    }
    let mut consent = Document::new();
    for (channel, state) in [
        (Channel::Email, customer.email_consent),
        (Channel::Sms, customer.sms_consent),
    ] {
        if let Some(state) = state {
            consent.insert(
                channel.key(),
                doc! { "state": state.key(), "at": now, "via": "import" },
            );
        }
    }
    if !consent.is_empty() {
        document.insert("consent", consent);
    }
    document
}

/// The `$set` stage of an import: every given value wrapped in `$literal`, so text starting with `$` stays text.
fn import_fields(customer: &CustomerInput, now: DateTime) -> Document {
    let literal = |value: Bson| Bson::Document(doc! { "$literal": value });
    let mut fields = Document::new();
    let given_name = customer.name.as_deref();
    let name = given_name.unwrap_or_else(|| name_from_email(&customer.email));
    for (key, value) in name_fields(name, &customer.email) {
        // Without a name in the submission, a stored customer keeps theirs.
        let value = match given_name {
            Some(_) => literal(value),
            None => doc! { "$ifNull": [format!("${key}"), literal(value)] }.into(),
        };
        fields.insert(key, value);
    }
    fields.insert("email", literal(customer.email.clone().into()));
    if let Some(phone) = &customer.phone {
        fields.insert("phone", literal(phone.clone().into()));
    }
    if let Some(city) = &customer.city {
        fields.insert("city", literal(city.clone().into()));
        fields.insert("city_key", literal(text_key(city).into()));
    }
    // Tags from an import are added to those set in Realm, never removing any.
    fields.insert(
        "tags",
        doc! { "$setUnion": [{ "$ifNull": ["$tags", []] }, literal(customer.tags.clone().into())] },
    );
    fields.insert("created_at", doc! { "$ifNull": ["$created_at", now] });
    let history = customer
        .history
        .unwrap_or(crate::customers::model::ImportedHistory {
            spend_cents: 0,
            visits: 0,
            last_visit_ms: None,
        });
    let replace_imported = |total: &str, imported: &str, value: i64| {
        doc! { "$add": [
            { "$subtract": [{ "$ifNull": [format!("${total}"), 0_i64] }, { "$ifNull": [format!("$imported.{imported}"), 0_i64] }] },
            value,
        ] }
    };
    if customer.history.is_some() {
        fields.insert(
            "total_spend_cents",
            replace_imported("total_spend_cents", "spend_cents", history.spend_cents),
        );
        fields.insert(
            "order_count",
            replace_imported("order_count", "visits", history.visits as i64),
        );
        fields.insert(
            "imported",
            literal(
                doc! { "spend_cents": history.spend_cents, "visits": history.visits as i64 }.into(),
            ),
        );
        if let Some(ms) = history.last_visit_ms {
            // A later import with an earlier date does not move the last order back: orders may have set it.
            fields.insert(
                "last_order_at",
                doc! { "$max": ["$last_order_at", DateTime::from_millis(ms)] },
            );
        }
    } else {
        fields.insert(
            "total_spend_cents",
            doc! { "$ifNull": ["$total_spend_cents", 0_i64] },
        );
        fields.insert("order_count", doc! { "$ifNull": ["$order_count", 0_i64] });
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_cover_name_words_email_and_domain() {
        assert_eq!(
            keywords("Ada  Lovelace", "ada@example.com"),
            ["ada", "ada@example.com", "example.com", "lovelace"]
        );
    }
}
