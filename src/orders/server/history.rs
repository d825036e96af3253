//! Reading stored orders back: the filtered, sorted, paged history, and figures per day.

use std::collections::HashMap;

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::{
    customers::server::of_orders,
    orders::{
        model::parse_money,
        model::{OrderPage, OrderRow},
        server::daily,
    },
    server::{
        mongo::{bson_time, collections, display_time, number, read_as, Mongo},
        paging,
    },
    shared::error::AppError,
    shared::time::parse_date,
};

/// An order as the history shows it.
#[derive(Deserialize)]
struct StoredOrder {
    order_id: String,
    customer_id: ObjectId,
    ordered_at: DateTime,
    item_count: i64,
    amount_cents: i64,
}

/// How many customers an email prefix may match. The filter becomes an `$in` of their ids, which must stay a
/// query the database answers quickly; past this the user is asked to type more of the email.
pub const MAX_CUSTOMERS_PER_PREFIX: usize = 10_000;

#[derive(Default)]
pub struct OrderFilter {
    customer_id: Option<ObjectId>,
    customer_email_prefix: Option<String>,
    from: Option<DateTime>,
    /// Exclusive: the day after the `to` date.
    until: Option<DateTime>,
    min_cents: Option<i64>,
    max_cents: Option<i64>,
}

fn day(value: Option<String>, field: &str) -> Result<Option<OffsetDateTime>, AppError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            parse_date(&Value::String(v)).map_err(|_| {
                AppError::invalid(
                    field,
                    format!("{field}: expected a date such as 2026-11-27"),
                )
            })
        })
        .transpose()
}

fn money(value: Option<String>, field: &str) -> Result<Option<i64>, AppError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| parse_money(&Value::String(v), field).map_err(AppError::from))
        .transpose()
}

impl OrderFilter {
    /// Every order of one customer.
    pub fn for_customer(customer_id: ObjectId) -> Self {
        Self {
            customer_id: Some(customer_id),
            ..Self::default()
        }
    }

    pub fn parse(
        customer: Option<String>,
        from: Option<String>,
        to: Option<String>,
        min: Option<String>,
        max: Option<String>,
    ) -> Result<Self, AppError> {
        Ok(Self {
            customer_id: None,
            customer_email_prefix: customer
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty()),
            from: day(from, "from")?.map(bson_time),
            until: day(to, "to")?.map(|to| bson_time(to + Duration::days(1))),
            min_cents: money(min, "min")?,
            max_cents: money(max, "max")?,
        })
    }

    async fn to_query(&self, mongo: &Mongo) -> Result<Document, AppError> {
        let mut query = doc! {};
        if let Some(id) = self.customer_id {
            query.insert("customer_id", id);
        }
        if let Some(prefix) = &self.customer_email_prefix {
            let ids = of_orders::with_email_prefix(mongo, prefix, MAX_CUSTOMERS_PER_PREFIX).await?;
            if ids.len() > MAX_CUSTOMERS_PER_PREFIX {
                return Err(AppError::invalid(
                    "customer",
                    format!(
                        "customer: more than {MAX_CUSTOMERS_PER_PREFIX} customers have an email starting with \"{prefix}\"; type more of the email"
                    ),
                ));
            }
            query.insert("customer_id", doc! { "$in": ids });
        }
        let mut date = doc! {};
        if let Some(from) = self.from {
            date.insert("$gte", from);
        }
        if let Some(until) = self.until {
            date.insert("$lt", until);
        }
        if !date.is_empty() {
            query.insert("ordered_at", date);
        }
        let mut amount = doc! {};
        if let Some(min) = self.min_cents {
            amount.insert("$gte", min);
        }
        if let Some(max) = self.max_cents {
            amount.insert("$lte", max);
        }
        if !amount.is_empty() {
            query.insert("amount_cents", amount);
        }
        Ok(query)
    }
}

/// The stored field each order of the history is sorted by, and whether it runs from high to low.
fn sort_of(sort: Option<&str>) -> paging::Sort {
    let (field, descending, dated) = match sort {
        Some("oldest") => ("ordered_at", false, true),
        Some("amount_desc") => ("amount_cents", true, false),
        Some("amount_asc") => ("amount_cents", false, false),
        _ => ("ordered_at", true, true),
    };
    paging::Sort {
        field,
        descending,
        dated,
    }
}

/// One page of `size` orders after the cursor `after`, or before `before`, or the first, with the matching orders
/// counted up to [`OrderPage::MAX_COUNTED`] (all of them, from the day totals, when nothing filters).
pub async fn page(
    mongo: &Mongo,
    filter: OrderFilter,
    sort: Option<&str>,
    after: Option<&str>,
    before: Option<&str>,
    size: i64,
) -> Result<OrderPage, AppError> {
    let query = filter.to_query(mongo).await?;
    let orders = mongo.collection(collections::ORDERS);
    let counting = async {
        if query.is_empty() {
            return Ok::<_, AppError>((daily::total(mongo).await?, false));
        }
        let counted = orders
            .count_documents(query.clone())
            .limit(OrderPage::MAX_COUNTED + 1)
            .await?;
        Ok((
            counted.min(OrderPage::MAX_COUNTED),
            counted > OrderPage::MAX_COUNTED,
        ))
    };
    let ((total, more), page) = futures::try_join!(
        counting,
        paging::page(&orders, query.clone(), sort_of(sort), after, before, size)
    )?;
    let found: Vec<StoredOrder> = page
        .rows
        .into_iter()
        .map(|order| read_as("order", order))
        .collect::<Result<_, _>>()?;

    let customer_ids: Vec<ObjectId> = found.iter().map(|order| order.customer_id).collect();
    let customers = of_orders::names_and_emails(mongo, &customer_ids).await?;

    let rows = found
        .into_iter()
        .map(|order| {
            // An order whose customer is gone shows without a name.
            let (customer_name, customer_email) = customers
                .get(&order.customer_id)
                .cloned()
                .unwrap_or_default();
            OrderRow {
                order_id: order.order_id,
                ordered_at: display_time(order.ordered_at),
                customer_name,
                customer_email,
                item_count: order.item_count,
                amount_cents: order.amount_cents,
            }
        })
        .collect();
    Ok(OrderPage {
        rows,
        total,
        more,
        next: page.next,
        previous: page.previous,
    })
}

/// Orders placed by each customer of `since` within `window_ms` after their moment there (a message reaching them,
/// say), and what they came to: `(orders, revenue in cents)`.
pub async fn placed_after(
    mongo: &Mongo,
    since: &HashMap<ObjectId, DateTime>,
    window_ms: i64,
) -> Result<(u64, i64), AppError> {
    let Some(earliest) = since.values().min().copied() else {
        return Ok((0, 0));
    };
    let (mut orders, mut revenue) = (0, 0);
    let customers: Vec<ObjectId> = since.keys().copied().collect();
    // An `$in` of at most this many ids keeps each query a size the database answers quickly.
    for chunk in customers.chunks(10_000) {
        let mut found = mongo
            .collection(collections::ORDERS)
            .find(doc! { "customer_id": { "$in": chunk }, "ordered_at": { "$gte": earliest } })
            .projection(doc! { "customer_id": 1, "ordered_at": 1, "amount_cents": 1 })
            .await?;
        while let Some(order) = found.try_next().await? {
            let (Ok(customer), Ok(at)) = (
                order.get_object_id("customer_id"),
                order.get_datetime("ordered_at"),
            ) else {
                continue;
            };
            let Some(moment) = since.get(&customer) else {
                continue;
            };
            let after = at.timestamp_millis() - moment.timestamp_millis();
            if (0..=window_ms).contains(&after) {
                orders += 1;
                revenue += number(&order, "amount_cents");
            }
        }
    }
    Ok((orders, revenue))
}
