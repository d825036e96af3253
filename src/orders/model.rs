//! Orders as they are submitted in bulk: the limits of one submission, reading JSON and CSV files, the rules a
//! single order must meet, and the processing status of a submission. Shared by the REST API, the queue consumer
//! and the browser's preview, so that all three judge an order the same way.

use crate::shared::import::{field, read_json, text, ReadError, ReadLimits};
use crate::shared::money::thousands;
use crate::shared::problem::Problem;
use crate::shared::time::parse_date;
use crate::shared::ui::status_badge::Tone;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Most orders one request (and so one batch) may carry; larger files are sent in several requests.
pub const MAX_ORDERS_PER_BATCH: usize = 10_000;
/// Largest accepted body of `POST /api/orders`.
pub const MAX_BATCH_BODY_BYTES: usize = 8 * 1024 * 1024;
const MAX_LINE_ITEMS: usize = 1_000;
const MAX_ITEM_COUNT: u64 = 1_000_000;
/// 10 billion in the currency's main unit: far above any real order, far below overflow when summed.
const MAX_AMOUNT_CENTS: i64 = 1_000_000_000_000;
const MAX_ID_LENGTH: usize = 128;
/// Names (of a customer, of a line item) and SKUs: every text an order stores has a length limit, so no order can
/// make a document too large to store.
const MAX_TEXT_LENGTH: usize = 200;
/// How much of a refused value a rejection reason quotes.
const QUOTED_LENGTH: usize = 100;

fn bounded_text(value: String, name: &str) -> Result<String, Problem> {
    if value.chars().count() > MAX_TEXT_LENGTH {
        Err(Problem::new(
            name,
            format!("at most {MAX_TEXT_LENGTH} characters"),
        ))
    } else {
        Ok(value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CustomerRef {
    /// An existing customer's id; an unknown id rejects the order.
    Id(String),
    /// A customer's email; an unknown email creates the customer.
    Email(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidOrder {
    pub order_id: Option<String>,
    pub customer: CustomerRef,
    pub customer_name: Option<String>,
    pub amount_cents: i64,
    pub item_count: u64,
    pub line_items: Vec<LineItem>,
    /// `None` when the order gave no date: it then takes the time the batch was accepted.
    pub ordered_at: Option<OffsetDateTime>,
}

/// An order that was not stored, with its position in the submission and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedOrder {
    pub index: usize,
    pub order_id: Option<String>,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Accepted and on the queue.
    Queued,
    Processing,
    Completed,
    /// Processed; some orders were rejected.
    CompletedWithErrors,
    /// Never reached the queue, or could not be stored: the batch's `error` says which.
    Failed,
}

impl BatchStatus {
    /// How its badge reads.
    pub fn tone(self) -> Tone {
        match self {
            BatchStatus::Queued => Tone::Neutral,
            BatchStatus::Processing => Tone::Info,
            BatchStatus::Completed => Tone::Success,
            BatchStatus::CompletedWithErrors => Tone::Warning,
            BatchStatus::Failed => Tone::Danger,
        }
    }

    pub fn in_flight(self) -> bool {
        matches!(self, BatchStatus::Queued | BatchStatus::Processing)
    }

    pub fn label(self) -> &'static str {
        match self {
            BatchStatus::Queued => "queued",
            BatchStatus::Processing => "processing",
            BatchStatus::Completed => "completed",
            BatchStatus::CompletedWithErrors => "completed_with_errors",
            BatchStatus::Failed => "failed",
        }
    }

    /// The status once processing has ended.
    pub fn finished(rejected: usize) -> Self {
        if rejected == 0 {
            BatchStatus::Completed
        } else {
            BatchStatus::CompletedWithErrors
        }
    }
}

/// The processing status of one bulk submission, as `GET /api/orders/batches/{id}` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub batch_id: String,
    pub status: BatchStatus,
    /// Orders in the submission.
    pub total: u64,
    /// Orders of this batch now stored.
    pub stored: u64,
    /// Orders that were already stored before this batch (e.g. a resent file).
    pub duplicates: u64,
    pub rejected: Vec<RejectedOrder>,
    /// Where it came from: `api` or `upload`, and the file name for uploads.
    pub source: String,
    pub received_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// From the start of processing to its end.
    pub processing_ms: Option<i64>,
    /// Why the batch failed, for `failed`.
    pub error: Option<String>,
    /// When the batch's orders were added to their customers' totals and the daily figures; until then a finished
    /// batch's customers do not show its orders yet.
    #[serde(default)]
    pub totals_applied_at: Option<String>,
}

impl BatchSummary {
    /// Whether nothing more will change: processed and added to the totals, or failed.
    pub fn settled(&self) -> bool {
        match self.status {
            BatchStatus::Failed => true,
            status => !status.in_flight() && self.totals_applied_at.is_some(),
        }
    }
}

/// The answer to an accepted submission (`202 Accepted`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAccepted {
    pub batch_id: String,
    pub accepted: u64,
    pub status_url: String,
    /// The original app's answer, beside Realm's fields: `success` is true once the orders are safely queued.
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub message: String,
}

pub fn status_url(batch_id: &str) -> String {
    format!("/api/orders/batches/{batch_id}")
}

/// What one request to `POST /api/orders` may hold.
pub const BATCH_LIMITS: ReadLimits = ReadLimits::request(MAX_ORDERS_PER_BATCH);

/// The orders of a JSON submission: `{"orders": [...]}` (the API's shape) or, from a file, a bare array.
pub fn parse_orders_json(text: &str, limits: ReadLimits) -> Result<Vec<Value>, ReadError> {
    read_json(text, "orders", false, limits).map(|read| read.records)
}

/// The checks made before anything is published: a submission is refused whole if it breaks them.
pub fn check_batch_size(orders: &[Value]) -> Result<(), Problem> {
    if orders.is_empty() {
        Err(Problem::new("orders", "the list is empty"))
    } else if orders.len() > MAX_ORDERS_PER_BATCH {
        Err(Problem::new(
            "orders",
            format!(
                "{} orders in one request; at most {MAX_ORDERS_PER_BATCH} are accepted, send the rest in another request",
                orders.len()
            ),
        ))
    } else {
        Ok(())
    }
}

/// The order id given by the client, if any, even for an order that is otherwise invalid (to report it).
pub fn given_order_id(raw: &Value) -> Option<String> {
    raw.as_object()
        .and_then(|order| field(order, &["order_id", "orderId", "orderID"]))
        .and_then(text)
}

/// Why a text is not an amount of money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyError {
    NotANumber,
    TooManyDecimals,
    Negative,
    TooLarge,
}

/// A non-negative amount with at most two decimals (e.g. `12.5`, `1000`), in cents.
pub fn cents_from_text(text: &str) -> Result<i64, MoneyError> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || whole.len() > 13 {
        return Err(MoneyError::NotANumber);
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 2 {
        return Err(MoneyError::TooManyDecimals);
    }
    let whole: i64 = whole.parse().map_err(|_| MoneyError::NotANumber)?;
    let cents = whole * 100
        + format!("{fraction:0<2}")
            .parse::<i64>()
            .map_err(|_| MoneyError::NotANumber)?;
    if negative && cents > 0 {
        return Err(MoneyError::Negative);
    }
    if cents > MAX_AMOUNT_CENTS {
        return Err(MoneyError::TooLarge);
    }
    Ok(cents)
}

/// A money amount with at most two decimals, in cents.
pub fn parse_money(value: &Value, name: &str) -> Result<i64, Problem> {
    let invalid = || {
        Problem::new(
            name,
            "must be a number with at most two decimals, e.g. 12.50",
        )
    };
    let text = text(value).ok_or_else(invalid)?;
    match cents_from_text(&text) {
        Ok(0) | Err(MoneyError::Negative) => Err(Problem::new(name, "must be greater than 0")),
        Ok(cents) => Ok(cents),
        Err(MoneyError::TooManyDecimals) => Err(Problem::new(
            name,
            format!("at most two decimals, got {text}"),
        )),
        Err(MoneyError::TooLarge) => Err(Problem::new(
            name,
            format!("{text} is larger than any accepted order"),
        )),
        Err(MoneyError::NotANumber) => Err(invalid()),
    }
}

fn parse_count(value: &Value, name: &str) -> Result<u64, Problem> {
    let count = match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse::<u64>().ok(),
        _ => None,
    };
    match count {
        Some(count) if (1..=MAX_ITEM_COUNT).contains(&count) => Ok(count),
        _ => Err(Problem::new(
            name,
            format!("must be a whole number from 1 to {MAX_ITEM_COUNT}"),
        )),
    }
}

fn parse_line_item(position: usize, value: &Value) -> Result<LineItem, Problem> {
    let in_list = |problem: Problem| problem.in_row("items", position);
    let item = value.as_object().ok_or_else(|| {
        Problem::new(
            format!("items[{position}]"),
            "expected {sku, name, quantity, unit_price}",
        )
    })?;
    let required = |names: &[&str], name: &str| {
        field(item, names).ok_or_else(|| in_list(Problem::new(name, "required")))
    };
    let required_text = |names: &[&str], name: &str| {
        required(names, name)
            .and_then(|value| text(value).ok_or_else(|| in_list(Problem::new(name, "required"))))
    };
    let sku = bounded_text(required_text(&["sku"], "sku")?, "sku").map_err(in_list)?;
    let name = bounded_text(required_text(&["name"], "name")?, "name").map_err(in_list)?;
    let quantity =
        parse_count(required(&["quantity"], "quantity")?, "quantity").map_err(in_list)?;
    let unit_price_cents = parse_money(
        required(&["unit_price", "unitPrice"], "unit_price")?,
        "unit_price",
    )
    .map_err(in_list)?;
    Ok(LineItem {
        sku,
        name,
        quantity: quantity as u32,
        unit_price_cents,
    })
}

/// Checks one submitted order; the error names the field at fault.
pub fn validate_order(raw: &Value) -> Result<ValidOrder, Problem> {
    let order = raw
        .as_object()
        .ok_or_else(|| Problem::new("order", "expected an object with the order's fields"))?;

    let order_id = given_order_id(raw);
    if order_id
        .as_ref()
        .is_some_and(|id| id.chars().count() > MAX_ID_LENGTH)
    {
        return Err(Problem::new(
            "order_id",
            format!("at most {MAX_ID_LENGTH} characters"),
        ));
    }

    let customer = match (
        field(order, &["customer_id", "customerID", "customerId"]).and_then(text),
        field(order, &["customer_email", "customerEmail", "email"]),
    ) {
        (Some(id), _) if id.chars().count() > MAX_ID_LENGTH => {
            return Err(Problem::new(
                "customer_id",
                format!("at most {MAX_ID_LENGTH} characters"),
            ))
        }
        (Some(id), _) => CustomerRef::Id(id),
        (None, Some(email)) => {
            let email = text(email).unwrap_or_default();
            let normalized = crate::shared::email::normalize_email(&email).map_err(|_| {
                Problem::new(
                    "customer_email",
                    format!(
                        "{} is not an email address",
                        crate::shared::import::quote_short(&email, QUOTED_LENGTH)
                    ),
                )
            })?;
            CustomerRef::Email(normalized)
        }
        (None, None) => {
            return Err(Problem::new(
                "customer_id or customer_email",
                "one of them is required",
            ))
        }
    };
    let customer_name = field(order, &["customer_name", "customerName", "name"])
        .and_then(text)
        .map(|name| bounded_text(name, "customer_name"))
        .transpose()?;

    let amount_cents = parse_money(
        field(order, &["amount"]).ok_or_else(|| Problem::new("amount", "required"))?,
        "amount",
    )?;

    let (item_count, line_items) = match field(order, &["items"])
        .ok_or_else(|| Problem::new("items", "required (a count, or a list of line items)"))?
    {
        Value::Array(items) if items.is_empty() => {
            return Err(Problem::new("items", "the list of line items is empty"))
        }
        Value::Array(items) if items.len() > MAX_LINE_ITEMS => {
            return Err(Problem::new(
                "items",
                format!("at most {MAX_LINE_ITEMS} line items per order"),
            ))
        }
        Value::Array(items) => {
            let lines = items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_line_item(i, item))
                .collect::<Result<Vec<_>, _>>()?;
            (
                lines.iter().map(|line| u64::from(line.quantity)).sum(),
                lines,
            )
        }
        count => (parse_count(count, "items")?, Vec::new()),
    };

    let ordered_at = field(order, &["date", "orderDate", "ordered_at"])
        .map(parse_date)
        .transpose()?;

    Ok(ValidOrder {
        order_id,
        customer,
        customer_name,
        amount_cents,
        item_count,
        line_items,
        ordered_at,
    })
}

/// Cents as an amount with two decimals, e.g. 1250 → "12.50".
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
/// Orders and revenue of one day.
pub struct DailyOrders {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub orders: u64,
    pub revenue_cents: i64,
}

/// One row of the order history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub order_id: String,
    pub ordered_at: String,
    pub customer_name: String,
    pub customer_email: String,
    pub item_count: i64,
    pub amount_cents: i64,
}

/// A page of the order history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub rows: Vec<OrderRow>,
    /// Matching orders, counted up to [`OrderPage::MAX_COUNTED`].
    pub total: u64,
    /// Whether more orders match than were counted.
    #[serde(default)]
    pub more: bool,
    /// Cursors of the next and previous pages, where there are any.
    pub next: Option<String>,
    pub previous: Option<String>,
}

impl OrderPage {
    /// Orders counted for a filtered history: a count costs as much as it covers, so it stops here whatever the
    /// filter matches (pages are reached by cursor, so every page stays reachable).
    pub const MAX_COUNTED: u64 = 10_000;

    pub fn describe_total(&self) -> String {
        if self.more {
            format!(
                "More than {} matching orders; narrow the filters to see the rest",
                thousands(Self::MAX_COUNTED)
            )
        } else {
            format!("{} matching orders", thousands(self.total))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::import::{read_csv, ReadLimits};
    use serde_json::json;

    fn reason(raw: Value) -> String {
        validate_order(&raw).unwrap_err().to_string()
    }

    #[test]
    fn a_complete_order_in_the_original_apps_shape_is_valid() {
        let order = validate_order(&json!({
            "customerID": "66f0c0ffee", "amount": 149.9, "items": 3, "date": "2026-11-01T10:15:00+02:00", "orderId": "A-1"
        }))
        .unwrap();
        assert_eq!(order.customer, CustomerRef::Id("66f0c0ffee".into()));
        assert_eq!(order.amount_cents, 14990);
        assert_eq!(order.item_count, 3);
        assert_eq!(order.order_id.as_deref(), Some("A-1"));
        assert_eq!(order.ordered_at.unwrap().unix_timestamp(), 1_793_520_900);
    }

    #[test]
    fn line_items_give_the_item_count_and_are_checked_field_by_field() {
        let order = validate_order(&json!({
            "customer_email": " Ada@Example.com ", "amount": "30.00",
            "items": [{"sku": "T-1", "name": "Tea", "quantity": 2, "unit_price": "5.00"},
                      {"sku": "C-9", "name": "Cup", "quantity": 1, "unit_price": 20}]
        }))
        .unwrap();
        assert_eq!(order.customer, CustomerRef::Email("ada@example.com".into()));
        assert_eq!(order.item_count, 3);
        assert_eq!(
            order.line_items[1],
            LineItem {
                sku: "C-9".into(),
                name: "Cup".into(),
                quantity: 1,
                unit_price_cents: 2000
            }
        );
        assert_eq!(order.ordered_at, None);

        let bad = reason(
            json!({"customer_email": "a@b.co", "amount": 1, "items": [{"sku": "T", "name": "Tea", "quantity": 0, "unit_price": 1}]}),
        );
        assert_eq!(
            bad,
            "items[0].quantity: must be a whole number from 1 to 1000000"
        );
        let bad = reason(
            json!({"customer_email": "a@b.co", "amount": 1, "items": [{"sku": "T", "quantity": 1, "unit_price": 1}]}),
        );
        assert_eq!(bad, "items[0].name: required");
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let base = json!({"customer_id": "c1", "amount": "10.00", "items": 1});
        let with = |key: &str, value: Value| {
            let mut order = base.clone();
            order[key] = value;
            reason(order)
        };
        assert_eq!(with("amount", json!(0)), "amount: must be greater than 0");
        assert_eq!(with("amount", json!(-5)), "amount: must be greater than 0");
        assert_eq!(
            with("amount", json!("12.345")),
            "amount: at most two decimals, got 12.345"
        );
        assert_eq!(
            with("amount", json!("ten")),
            "amount: must be a number with at most two decimals, e.g. 12.50"
        );
        assert_eq!(
            with("items", json!(0)),
            "items: must be a whole number from 1 to 1000000"
        );
        assert_eq!(
            with("items", json!(1.5)),
            "items: must be a whole number from 1 to 1000000"
        );
        assert!(with("date", json!("27/11/2026")).starts_with("date: expected an ISO 8601 date"));
        assert_eq!(
            reason(json!({"amount": 1, "items": 1})),
            "customer_id or customer_email: one of them is required"
        );
        assert_eq!(
            reason(json!({"customer_email": "nope", "amount": 1, "items": 1})),
            "customer_email: \"nope\" is not an email address"
        );
        assert_eq!(
            reason(json!({"customer_id": "c1", "items": 1})),
            "amount: required"
        );
        assert_eq!(
            reason(json!("an order")),
            "order: expected an object with the order's fields"
        );
    }

    #[test]
    fn money_is_exact_to_the_cent() {
        assert_eq!(parse_money(&json!(0.1), "amount"), Ok(10));
        assert_eq!(parse_money(&json!(19.99), "amount"), Ok(1999));
        assert_eq!(parse_money(&json!("1200"), "amount"), Ok(120000));
        assert_eq!(parse_money(&json!("7.50"), "amount"), Ok(750));
        assert_eq!(parse_money(&json!("7.500"), "amount"), Ok(750));
        assert!(parse_money(&json!(1e30), "amount").is_err());
        assert_eq!(format_cents(120005), "1200.05");
        assert_eq!(format_cents(-7), "-0.07");
    }

    #[test]
    fn every_stored_text_has_a_limit_and_reasons_quote_little() {
        let long = "x".repeat(1_000_000);
        let order = |extra: serde_json::Value| {
            let mut order = json!({"customer_email": "ada@example.com", "amount": 1, "items": 1});
            order
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            order
        };
        let reason = validate_order(&order(json!({"customer_name": long})))
            .unwrap_err()
            .to_string();
        assert_eq!(reason, "customer_name: at most 200 characters");
        let items = json!({"items": [{"sku": long, "name": "n", "quantity": 1, "unit_price": 1}]});
        assert_eq!(
            validate_order(&order(items)).unwrap_err().to_string(),
            "items[0].sku: at most 200 characters"
        );
        let items = json!({"items": [{"sku": "s", "name": long, "quantity": 1, "unit_price": 1}]});
        assert_eq!(
            validate_order(&order(items)).unwrap_err().to_string(),
            "items[0].name: at most 200 characters"
        );
        let reason = validate_order(&json!({"customer_email": long, "amount": 1, "items": 1}))
            .unwrap_err()
            .to_string();
        assert!(reason.len() < 200, "{reason}");
    }

    #[test]
    fn csv_rows_become_orders_and_broken_rows_name_their_line() {
        let orders = read_csv("customer_email,amount,items,date\nada@example.com,12.50,2,2026-11-01\n\n,,,\nbob@example.com,7,1,\n", ReadLimits::UNLIMITED).unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(
            orders[0],
            json!({"customer_email": "ada@example.com", "amount": "12.50", "items": "2", "date": "2026-11-01"})
        );
        assert_eq!(validate_order(&orders[1]).unwrap().amount_cents, 700);
        let ragged = read_csv(
            "customer_email,amount,items\nada@example.com,12.50\n",
            ReadLimits::UNLIMITED,
        )
        .unwrap_err();
        assert!(ragged.to_string().starts_with("line 2:"), "{ragged}");
    }

    #[test]
    fn the_envelope_is_checked_before_anything_is_published() {
        assert_eq!(
            parse_orders_json(r#"{"orders": [{"amount": 1}]}"#, ReadLimits::UNLIMITED)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            parse_orders_json(r#"[{}, {}]"#, ReadLimits::UNLIMITED)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            parse_orders_json(r#"{"orders": {}}"#, ReadLimits::UNLIMITED)
                .unwrap_err()
                .to_string(),
            "orders: expected an array of orders"
        );
        assert!(parse_orders_json(r#"{"order": []}"#, ReadLimits::UNLIMITED)
            .unwrap_err()
            .to_string()
            .starts_with("orders: missing"));
        assert!(parse_orders_json("not json", ReadLimits::UNLIMITED)
            .unwrap_err()
            .to_string()
            .starts_with("the file is not valid JSON"));
        assert_eq!(
            check_batch_size(&[]).unwrap_err().to_string(),
            "orders: the list is empty"
        );
        assert!(check_batch_size(&vec![json!({}); MAX_ORDERS_PER_BATCH + 1])
            .unwrap_err()
            .to_string()
            .contains("at most 10000"));
        assert!(check_batch_size(&vec![json!({}); MAX_ORDERS_PER_BATCH]).is_ok());
    }
}
