//! Customers: the fields a customer record takes when it is imported or created through the API, the rules each
//! field must meet, and the views of customers the pages show. Shared by the REST API, the server functions and the
//! browser's import preview, so that all three judge a row the same way.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    campaigns::model::Channel,
    orders::model::{cents_from_text, MoneyError},
    segments::rules::normalize_tag,
    shared::{
        email::normalize_email,
        error::AppError,
        import::{field, read_json, text, JsonRecords, ReadError, ReadLimits},
        problem::Problem,
        time::parse_date,
    },
};

/// Most customers one request or one import part may carry.
pub const MAX_CUSTOMERS_PER_REQUEST: usize = 10_000;
const MAX_NAME_LENGTH: usize = 200;
const MAX_CITY_LENGTH: usize = 100;
const MAX_TAGS: usize = 50;
const MAX_TAG_LENGTH: usize = 50;
const MAX_VISITS: u64 = 10_000_000;

/// A customer as imported: profile fields and, optionally, a history of orders made before Realm (the original
/// app's `totalSpending`, `visits` and `lastVisited`), to which later orders add.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerInput {
    /// Absent when the submission has none: a new customer is then called by their address's local part, and an
    /// existing one keeps their name.
    pub name: Option<String>,
    pub email: String,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub tags: Vec<String>,
    pub history: Option<ImportedHistory>,
    /// Consent the import states, per channel (`email_consent`, `sms_consent`); absent leaves it as it is.
    #[serde(default)]
    pub email_consent: Option<Consent>,
    #[serde(default)]
    pub sms_consent: Option<Consent>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedHistory {
    pub spend_cents: i64,
    pub visits: u64,
    /// Milliseconds since the epoch.
    pub last_visit_ms: Option<i64>,
}

/// Whether a customer may be sent marketing messages on a channel. A customer with no recorded state counts as
/// subscribed, so customers imported before consent was kept (and the original app's API) keep receiving messages;
/// every other state is recorded with when and how it was reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    #[default]
    Subscribed,
    Unsubscribed,
    /// The address does not exist: the mail server or provider said so for good.
    Bounced,
    /// The recipient marked a message as spam.
    Complained,
}

impl Consent {
    pub const ALL: [Consent; 4] = [
        Consent::Subscribed,
        Consent::Unsubscribed,
        Consent::Bounced,
        Consent::Complained,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Consent::Subscribed => "subscribed",
            Consent::Unsubscribed => "unsubscribed",
            Consent::Bounced => "bounced",
            Consent::Complained => "complained",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Consent::ALL
            .into_iter()
            .find(|consent| consent.key() == key)
    }

    pub fn allows_sending(self) -> bool {
        self == Consent::Subscribed
    }
}

fn problem(field: &str, message: impl Into<String>) -> Problem {
    Problem::new(field, message)
}

/// A consent column or field: a state's name, or yes/no (`true`, `false`, `yes`, `no`, `1`, `0`) for subscribed
/// or unsubscribed; empty leaves the customer's consent as it is.
fn consent_field(
    record: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<Consent>, Problem> {
    let Some(value) = field(record, &[key]) else {
        return Ok(None);
    };
    if let Value::Bool(yes) = value {
        return Ok(Some(if *yes {
            Consent::Subscribed
        } else {
            Consent::Unsubscribed
        }));
    }
    let given = text(value).unwrap_or_default().trim().to_ascii_lowercase();
    match given.as_str() {
        "" => Ok(None),
        "true" | "yes" | "1" => Ok(Some(Consent::Subscribed)),
        "false" | "no" | "0" => Ok(Some(Consent::Unsubscribed)),
        other => Consent::parse(other).map(Some).ok_or_else(|| {
            problem(
                key,
                "expected subscribed, unsubscribed, bounced or complained (or yes/no)",
            )
        }),
    }
}

/// How a customer without a name is called: the part of the address before the @.
pub fn name_from_email(email: &str) -> &str {
    email.split('@').next().unwrap_or(email)
}

/// Checks one submitted customer, in our field names or the original app's (`totalSpending`, `visits`,
/// `lastVisited`).
pub fn parse_customer(raw: &Value) -> Result<CustomerInput, Problem> {
    let record = raw
        .as_object()
        .ok_or_else(|| problem("customer", "expected an object with the customer's fields"))?;
    let email = field(record, &["email"])
        .and_then(text)
        .ok_or_else(|| problem("email", "required"))?;
    let email = normalize_email(&email).map_err(|error| problem("email", error.to_string()))?;
    let name = field(record, &["name"])
        .and_then(text)
        .map(|name| clean_name(&name))
        .transpose()?;
    let phone = field(record, &["phone"])
        .and_then(text)
        .map(|phone| normalize_phone(&phone))
        .transpose()?;
    let city = match field(record, &["city"]).and_then(text) {
        Some(city) if city.chars().count() > MAX_CITY_LENGTH => {
            return Err(problem(
                "city",
                format!("at most {MAX_CITY_LENGTH} characters"),
            ))
        }
        city => city,
    };
    let tags = match field(record, &["tags"]) {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            parse_tags(&items.iter().filter_map(text).collect::<Vec<_>>().join(","))?
        }
        Some(value) => {
            parse_tags(&text(value).ok_or_else(|| problem("tags", "expected a list of tags"))?)?
        }
    };

    let spend = field(record, &["totalSpending", "total_spend"]);
    let visits = field(record, &["visits", "order_count"]);
    let last_visit = field(record, &["lastVisited", "last_order_at"]);
    let history = if spend.is_none() && visits.is_none() && last_visit.is_none() {
        None
    } else {
        let spend_cents = match spend {
            None => 0,
            Some(value) => cents_from_text(&text(value).unwrap_or_default()).map_err(|error| {
                problem(
                    "totalSpending",
                    match error {
                        MoneyError::Negative => "must be 0 or more",
                        MoneyError::TooManyDecimals => "at most two decimals",
                        MoneyError::TooLarge => "larger than any total Realm keeps",
                        MoneyError::NotANumber => "must be an amount such as 1250.50",
                    },
                )
            })?,
        };
        let visits = match visits {
            None => 0,
            Some(value) => text(value)
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v <= MAX_VISITS)
                .ok_or_else(|| problem("visits", "must be a whole number of 0 or more"))?,
        };
        let last_visit_ms = last_visit
            .map(|value| {
                parse_date(value)
                    .map(crate::shared::time::ms_of)
                    .map_err(|_| {
                        problem(
                            "lastVisited",
                            "expected an ISO 8601 date such as 2026-11-27",
                        )
                    })
            })
            .transpose()?;
        Some(ImportedHistory {
            spend_cents,
            visits,
            last_visit_ms,
        })
    };
    Ok(CustomerInput {
        name,
        email,
        phone,
        city,
        tags,
        history,
        email_consent: consent_field(record, "email_consent")?,
        sms_consent: consent_field(record, "sms_consent")?,
    })
}

fn clean_name(name: &str) -> Result<String, Problem> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err(problem("name", "required")),
        n if n > MAX_NAME_LENGTH => Err(problem(
            "name",
            format!("at most {MAX_NAME_LENGTH} characters"),
        )),
        _ => Ok(name),
    }
}

/// A phone number as digits with an optional leading `+`; spaces, dashes, dots and brackets are dropped.
pub fn normalize_phone(phone: &str) -> Result<String, Problem> {
    let plus = phone.trim_start().starts_with('+');
    let mut digits = String::new();
    for c in phone.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            '+' if digits.is_empty() => {}
            _ => {
                return Err(problem(
                    "phone",
                    "use digits, spaces and dashes only, e.g. +49 30 1234567",
                ))
            }
        }
    }
    if !(5..=20).contains(&digits.len()) {
        return Err(problem("phone", "must have 5 to 20 digits"));
    }
    Ok(if plus { format!("+{digits}") } else { digits })
}

/// Comma-separated tags, normalised and without repeats.
pub fn parse_tags(list: &str) -> Result<Vec<String>, Problem> {
    let mut tags: Vec<String> = Vec::new();
    for tag in list
        .split(',')
        .map(normalize_tag)
        .filter(|tag| !tag.is_empty())
    {
        if tag.chars().count() > MAX_TAG_LENGTH {
            return Err(problem(
                "tags",
                format!("a tag has at most {MAX_TAG_LENGTH} characters"),
            ));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(problem("tags", format!("at most {MAX_TAGS} tags")));
    }
    Ok(tags)
}

/// What one request to `POST /api/customers` may hold.
pub const CUSTOMER_LIMITS: ReadLimits = ReadLimits::request(MAX_CUSTOMERS_PER_REQUEST);

/// The customers of a JSON body or file: `{"customers": [...]}`, a bare array, or one customer object.
pub fn parse_customers_json(text: &str, limits: ReadLimits) -> Result<JsonRecords, ReadError> {
    read_json(text, "customers", true, limits)
}

pub fn check_customer_count(count: usize) -> Result<(), Problem> {
    match count {
        0 => Err(problem("customers", "the list is empty")),
        n if n > MAX_CUSTOMERS_PER_REQUEST => Err(problem(
            "customers",
            format!("{n} customers in one request; at most {MAX_CUSTOMERS_PER_REQUEST} are accepted, send the rest in another request"),
        )),
        _ => Ok(()),
    }
}

/// Checks every row; the error lists the rows at fault (numbered from 0, as in the request) and changes nothing.
pub fn parse_customer_list(rows: &[Value]) -> Result<Vec<CustomerInput>, AppError> {
    check_customer_count(rows.len())?;
    let mut customers = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match parse_customer(row) {
            Ok(customer) => customers.push(customer),
            Err(problem) => problems.push(problem.in_row("customers", index)),
        }
    }
    if let Some(first) = problems.first() {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(
                " (and {} more: {})",
                n - 1,
                problems[1..problems.len().min(6)]
                    .iter()
                    .map(Problem::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        return Err(AppError::Invalid {
            field: first.field.clone(),
            message: format!("{first}{more}; nothing was imported"),
        });
    }
    Ok(customers)
}

/// How the customer list is ordered; each order has an index that pages use as their position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerSort {
    #[default]
    Newest,
    Name,
    TopSpend,
    MostOrders,
    RecentOrder,
}

impl CustomerSort {
    pub const ALL: [CustomerSort; 5] = [
        CustomerSort::Newest,
        CustomerSort::Name,
        CustomerSort::TopSpend,
        CustomerSort::MostOrders,
        CustomerSort::RecentOrder,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CustomerSort::Newest => "newest",
            CustomerSort::Name => "name",
            CustomerSort::TopSpend => "top_spend",
            CustomerSort::MostOrders => "most_orders",
            CustomerSort::RecentOrder => "recent_order",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CustomerSort::Newest => "Newest first",
            CustomerSort::Name => "Name A–Z",
            CustomerSort::TopSpend => "Highest total spend",
            CustomerSort::MostOrders => "Most orders",
            CustomerSort::RecentOrder => "Most recent order",
        }
    }

    pub fn parse(key: &str) -> Self {
        CustomerSort::ALL
            .into_iter()
            .find(|sort| sort.key() == key)
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub tags: Vec<String>,
    /// The amount with two decimals (`"1000.00"`), as API clients read it.
    pub total_spend: String,
    pub total_spend_cents: i64,
    pub order_count: i64,
    pub last_order: Option<String>,
}

/// One page of the customer list. The cursors are opaque positions for the next and previous pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub rows: Vec<CustomerRow>,
    pub next: Option<String>,
    pub previous: Option<String>,
    /// How many customers match, counted up to [`COUNT_LIMIT`].
    pub matching: u64,
}

/// Counting stops here: past it the page says "more than", which keeps large lists fast.
pub const COUNT_LIMIT: u64 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDetail {
    pub customer: CustomerRow,
    pub created_at: String,
    pub first_order: Option<String>,
    pub average_order_cents: Option<i64>,
    /// Segments the customer belongs to now: id and name.
    pub segments: Vec<(String, String)>,
    /// Consent per channel, email first.
    pub consent: Vec<ConsentRecord>,
}

/// A customer's consent for one channel, with when and how it last changed (nothing for the default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub channel: Channel,
    pub state: Consent,
    pub at: Option<String>,
    pub via: Option<String>,
}

/// About how many customers match a filter, from a fixed random sample of them (or exactly, when the sample is
/// everyone), and the margin of error at 95 % confidence: the true count lies within `count ± margin` for 19
/// rules out of 20.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceEstimate {
    pub count: u64,
    pub margin: u64,
    pub exact: bool,
}

impl AudienceEstimate {
    pub fn exact(count: u64) -> Self {
        Self {
            count,
            margin: 0,
            exact: true,
        }
    }

    /// `matched` of `sampled` customers, a random sample of `total`, scaled to all of them.
    pub fn scaled(matched: u64, sampled: u64, total: u64) -> Self {
        if sampled == 0 || sampled >= total {
            return Self::exact(matched);
        }
        let (n, population) = (sampled as f64, total as f64);
        let share = matched as f64 / n;
        // The normal approximation to the binomial, corrected for sampling without replacement. With no match
        // (or all), it would claim no error at all; the "rule of three" bounds the share at 3/n instead.
        let spread = if matched == 0 || matched == sampled {
            3.0 / n
        } else {
            1.96 * (share * (1.0 - share) / n).sqrt()
        };
        let correction = ((population - n) / (population - 1.0)).sqrt();
        Self {
            count: (share * population).round() as u64,
            margin: (spread * correction * population).ceil() as u64,
            exact: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    pub created: u64,
    pub updated: u64,
}

/// The outcomes of an import's parts add up to the import's.
impl std::ops::AddAssign for ImportOutcome {
    fn add_assign(&mut self, part: Self) {
        self.created += part.created;
        self.updated += part.updated;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_original_shape_is_an_imported_history() {
        let customer = parse_customer(&json!({
            "name": "  Ada   Lovelace ", "email": "ADA@example.com", "phone": "+44 (20) 7946-0958",
            "totalSpending": 12500.5, "visits": 7, "lastVisited": "2026-10-01T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(customer.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(customer.email, "ada@example.com");
        assert_eq!(customer.phone.as_deref(), Some("+442079460958"));
        assert_eq!(
            customer.history,
            Some(ImportedHistory {
                spend_cents: 1_250_050,
                visits: 7,
                last_visit_ms: Some(1_790_848_800_000)
            })
        );
    }

    #[test]
    fn a_bad_field_is_named() {
        let field_of = |raw: Value| parse_customer(&raw).unwrap_err().field;
        assert_eq!(field_of(json!({"name": "Ada"})), "email");
        assert_eq!(field_of(json!({"email": "not-an-email"})), "email");
        assert_eq!(
            field_of(json!({"email": "a@b.co", "phone": "call me"})),
            "phone"
        );
        assert_eq!(
            field_of(json!({"email": "a@b.co", "totalSpending": -3})),
            "totalSpending"
        );
        assert_eq!(
            field_of(json!({"email": "a@b.co", "visits": 1.5})),
            "visits"
        );
        assert_eq!(
            field_of(json!({"email": "a@b.co", "lastVisited": "yesterday"})),
            "lastVisited"
        );
        assert_eq!(field_of(json!(["a"])), "customer");
    }

    #[test]
    fn consent_columns_take_state_names_or_yes_and_no() {
        let consent = |value: Value| {
            parse_customer(&json!({"email": "a@b.co", "email_consent": value}))
                .map(|c| c.email_consent)
        };
        assert_eq!(
            consent(json!("Unsubscribed")),
            Ok(Some(Consent::Unsubscribed))
        );
        assert_eq!(consent(json!("yes")), Ok(Some(Consent::Subscribed)));
        assert_eq!(consent(json!(false)), Ok(Some(Consent::Unsubscribed)));
        assert_eq!(consent(json!("")), Ok(None));
        assert_eq!(consent(json!("maybe")).unwrap_err().field, "email_consent");
        assert_eq!(
            parse_customer(&json!({"email": "a@b.co"}))
                .unwrap()
                .sms_consent,
            None
        );
    }

    #[test]
    fn tags_from_csv_text_or_lists_are_normalised() {
        let from_text =
            parse_customer(&json!({"email": "a@b.co", "tags": "VIP, new ,vip"})).unwrap();
        let from_list =
            parse_customer(&json!({"email": "a@b.co", "tags": ["vip", "New"]})).unwrap();
        assert_eq!(from_text.tags, ["vip", "new"]);
        assert_eq!(from_list.tags, ["vip", "new"]);
        assert_eq!(
            from_text.name, None,
            "a missing name is left to the stored one"
        );
        assert_eq!(from_text.history, None);
    }

    #[test]
    fn a_list_with_a_bad_row_is_refused_whole_naming_the_row() {
        let rows = vec![
            json!({"email": "a@b.co"}),
            json!({"email": "nope"}),
            json!({"email": "c@d.co", "visits": "x"}),
        ];
        let error = parse_customer_list(&rows).unwrap_err();
        let AppError::Invalid { field, message } = error else {
            panic!("{error:?}")
        };
        assert_eq!(field, "customers[1].email");
        assert!(message.contains("customers[2].visits"), "{message}");
        assert!(parse_customer_list(&[]).is_err());
    }

    #[test]
    fn one_object_or_a_list_is_accepted() {
        assert_eq!(
            parse_customers_json(r#"{"email": "a@b.co"}"#, CUSTOMER_LIMITS)
                .unwrap()
                .records
                .len(),
            1
        );
        assert_eq!(
            parse_customers_json(r#"{"customers": [{}, {}]}"#, CUSTOMER_LIMITS)
                .unwrap()
                .records
                .len(),
            2
        );
        assert_eq!(
            parse_customers_json(r#"[{}]"#, CUSTOMER_LIMITS)
                .unwrap()
                .records
                .len(),
            1
        );
    }

    #[test]
    fn an_estimate_scales_the_sample_and_states_its_margin() {
        // 2,000 of a 10,000 sample of a million: 200,000, give or take 1.96 * sqrt(0.2 * 0.8 / 10,000) of them.
        let estimate = AudienceEstimate::scaled(2_000, 10_000, 1_000_000);
        assert_eq!(estimate.count, 200_000);
        assert!(!estimate.exact);
        assert!((7_800..=7_900).contains(&estimate.margin), "{estimate:?}");
        // Nobody in the sample: none, but up to three in ten thousand may still match.
        let none = AudienceEstimate::scaled(0, 10_000, 1_000_000);
        assert_eq!(none.count, 0);
        assert!((290..=300).contains(&none.margin), "{none:?}");
        // A sample of everyone is a count.
        assert_eq!(
            AudienceEstimate::scaled(42, 500, 500),
            AudienceEstimate::exact(42)
        );
    }
}
