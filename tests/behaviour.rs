//! Segments on what customers bought and when: order conditions with windows, through the REST API, against a real
//! MongoDB-compatible server. Every count is checked against one worked out here over the same seeded orders.

mod common;

use std::{collections::HashMap, collections::HashSet, time::Duration};

use axum::http::StatusCode;
use common::{
    campaigns::{create_from, everyone_segment, seed_customers, send_now, wait_for_status},
    Credentials, TestApp,
};
use mongodb::bson::{doc, oid::ObjectId, Document};
use realm::{
    customers::server::sampling::{sample_bucket, sample_key},
    server::mongo::collections,
};
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;

/// A seeded line item, as this test knows it.
#[derive(Clone, Debug)]
struct Item {
    sku: &'static str,
    name: &'static str,
    quantity: i64,
}

/// A seeded order, as this test knows it independently of the app.
#[derive(Clone, Debug)]
struct Order {
    id: String,
    email: String,
    at_ms: i64,
    cents: i64,
    /// None: the order gives only an item count.
    items: Option<Vec<Item>>,
}

impl Order {
    fn json(&self) -> Value {
        let at =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.at_ms) * 1_000_000)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
        let items = match &self.items {
            Some(items) => json!(items
                .iter()
                .map(|item| json!({
                    "sku": item.sku, "name": item.name, "quantity": item.quantity, "unit_price": "1.00"
                }))
                .collect::<Vec<_>>()),
            None => json!(2),
        };
        json!({
            "order_id": self.id, "customer_email": self.email, "date": at, "items": items,
            "amount": format!("{}.{:02}", self.cents / 100, self.cents % 100),
        })
    }

    fn quantity_of(&self, sku: &str) -> i64 {
        self.items
            .iter()
            .flatten()
            .filter(|item| item.sku == sku)
            .map(|item| item.quantity)
            .sum()
    }
}

const PRODUCTS: [(&str, &str); 4] = [
    ("MUG-BLUE", "Blue Mug"),
    ("MUG-RED", "Red mug"),
    ("TEA-1", "Green Tea"),
    ("CUP", "Teacup"),
];

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Deterministic, varied orders over the last 120 days for 30 customers, some with line items and some with an
/// item count only, plus orders placed just inside and just outside a 30-day window, and a customer whose two
/// orders reach a quantity of exactly 3.
fn seeded_orders(now: i64) -> Vec<Order> {
    let mut state: u64 = 0xbe4a_710e;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let mut orders = Vec::new();
    for customer in 0..30 {
        for n in 0..next(6) {
            let items = (next(4) > 0).then(|| {
                (0..1 + next(2))
                    .map(|_| {
                        let (sku, name) = PRODUCTS[next(4) as usize];
                        Item {
                            sku,
                            name,
                            quantity: 1 + next(3) as i64,
                        }
                    })
                    .collect()
            });
            orders.push(Order {
                id: format!("B-{customer}-{n}"),
                email: format!("buyer{customer}@example.com"),
                at_ms: now - next(120) as i64 * DAY_MS - next(600) as i64 * MINUTE_MS - MINUTE_MS,
                cents: 100 + next(30_000) as i64,
                items,
            });
        }
    }
    let blue = |quantity| {
        Some(vec![Item {
            sku: "MUG-BLUE",
            name: "Blue Mug",
            quantity,
        }])
    };
    // Ten minutes inside and outside the window's edge: the test counts well within ten minutes.
    orders.push(Order {
        id: "EDGE-IN".into(),
        email: "edge-in@example.com".into(),
        at_ms: now - 30 * DAY_MS + 10 * MINUTE_MS,
        cents: 5_000,
        items: blue(3),
    });
    orders.push(Order {
        id: "EDGE-OUT".into(),
        email: "edge-out@example.com".into(),
        at_ms: now - 30 * DAY_MS - 10 * MINUTE_MS,
        cents: 5_000,
        items: blue(5),
    });
    for (n, quantity) in [1, 2].into_iter().enumerate() {
        orders.push(Order {
            id: format!("EXACT-{n}"),
            email: "exactly-three@example.com".into(),
            at_ms: now - (n as i64 + 1) * DAY_MS,
            cents: 1_000,
            items: blue(quantity),
        });
    }
    orders
}

/// Every seeded customer's orders, with customers who never ordered.
fn customers(orders: &[Order], idle: &[&str]) -> Vec<(String, Vec<Order>)> {
    let mut by_email: Vec<(String, Vec<Order>)> = Vec::new();
    for order in orders {
        match by_email.iter_mut().find(|(email, _)| *email == order.email) {
            Some((_, theirs)) => theirs.push(order.clone()),
            None => by_email.push((order.email.clone(), vec![order.clone()])),
        }
    }
    by_email.extend(idle.iter().map(|email| (email.to_string(), Vec::new())));
    by_email
}

fn condition(field: &str, operator: &str, value: Value, window: Value) -> Value {
    json!({ "kind": "condition", "field": field, "operator": operator, "value": value, "window": window })
}

fn last_days(days: i64) -> Value {
    json!({ "kind": "last_days", "days": days })
}

fn date_of(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    at.date().to_string()
}

async fn preview_count(app: &TestApp, key: &str, rule: &Value) -> u64 {
    let reply = app
        .post_json("/api/segments/preview", &json!({ "rule": rule }), key)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{rule}: {}", reply.body);
    reply.json()["count"].as_u64().unwrap()
}

async fn send_orders(app: &TestApp, key: &str, orders: &[Order]) -> Value {
    let body = json!({ "orders": orders.iter().map(Order::json).collect::<Vec<_>>() });
    let accepted = app.post_json("/api/orders", &body, key).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    app.finished_batch(accepted.json()["status_url"].as_str().unwrap(), key)
        .await
}

#[tokio::test]
async fn order_conditions_count_what_was_bought_in_their_window() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let now = now_ms();
    let orders = seeded_orders(now);
    let idle = ["idle1@example.com", "idle2@example.com"];
    let people = json!({ "customers": idle.iter().map(|email| json!({ "name": "Idle", "email": email })).collect::<Vec<_>>() });
    assert_eq!(
        app.post_json("/api/customers", &people, &key).await.status,
        StatusCode::OK
    );
    let batch = send_orders(&app, &key, &orders).await;
    assert_eq!(batch["stored"], orders.len(), "{batch}");
    let customers = customers(&orders, &idle);

    let in_days = |order: &Order, days: i64| order.at_ms >= now - days * DAY_MS;
    let expect = |test: &dyn Fn(&[Order]) -> bool| {
        customers.iter().filter(|(_, theirs)| test(theirs)).count() as u64
    };
    let count_in = |theirs: &[Order], days: i64| theirs.iter().filter(|o| in_days(o, days)).count();
    let spent_in = |theirs: &[Order], days: i64| -> i64 {
        theirs
            .iter()
            .filter(|o| in_days(o, days))
            .map(|o| o.cents)
            .sum()
    };
    let bought_in = |theirs: &[Order], sku: &str, days: i64| -> i64 {
        theirs
            .iter()
            .filter(|o| in_days(o, days))
            .map(|o| o.quantity_of(sku))
            .sum()
    };
    // A window of whole days, both included: from 50 to 20 days ago.
    let (from_ms, to_ms) = (now - 50 * DAY_MS, now - 20 * DAY_MS);
    let (from, to) = (date_of(from_ms), date_of(to_ms));
    let first_day = from_ms.div_euclid(DAY_MS) * DAY_MS;
    let after_last_day = to_ms.div_euclid(DAY_MS) * DAY_MS + DAY_MS;
    let between = json!({ "kind": "between", "from": from, "to": to });

    let cases: Vec<(&str, Value, u64)> = vec![
        (
            "at least 2 orders in the last 30 days",
            condition("orders", "gte", json!(2), last_days(30)),
            expect(&|o| count_in(o, 30) >= 2),
        ),
        (
            "no order in the last 30 days",
            condition("orders", "never", json!(""), last_days(30)),
            expect(&|o| count_in(o, 30) == 0),
        ),
        (
            "at most 1 order in the last 60 days, customers without any included",
            condition("orders", "lte", json!(1), last_days(60)),
            expect(&|o| count_in(o, 60) <= 1),
        ),
        (
            "exactly 1 order between two dates",
            condition("orders", "eq", json!(1), between.clone()),
            expect(&|o| {
                o.iter()
                    .filter(|o| (first_day..after_last_day).contains(&o.at_ms))
                    .count()
                    == 1
            }),
        ),
        (
            "at least 3 orders ever",
            condition("orders", "gte", json!(3), json!({ "kind": "ever" })),
            expect(&|o| o.len() >= 3),
        ),
        (
            "spent at least 200 in the last 90 days",
            condition("spent", "gte", json!("200"), last_days(90)),
            expect(&|o| spent_in(o, 90) >= 20_000),
        ),
        (
            "spent between 0 and 150 in the last 30 days",
            json!({ "kind": "condition", "field": "spent", "operator": "between", "value": "0", "value_to": "150", "window": last_days(30) }),
            expect(&|o| (0..=15_000).contains(&spent_in(o, 30))),
        ),
        (
            "bought at least 3 blue mugs in the last 30 days",
            json!({ "kind": "condition", "field": "bought_sku", "operator": "eq", "value": "MUG-BLUE",
                    "min_quantity": 3, "window": last_days(30) }),
            expect(&|o| bought_in(o, "MUG-BLUE", 30) >= 3),
        ),
        (
            "bought a blue mug or tea, ever",
            condition(
                "bought_sku",
                "in_list",
                json!(["MUG-BLUE", "TEA-1"]),
                json!({ "kind": "ever" }),
            ),
            expect(&|o| {
                o.iter()
                    .any(|o| o.quantity_of("MUG-BLUE") + o.quantity_of("TEA-1") > 0)
            }),
        ),
        (
            "bought something named like a mug in the last 60 days, whatever its case",
            condition("bought_product", "contains", json!("MUG"), last_days(60)),
            expect(&|o| {
                o.iter().any(|o| {
                    in_days(o, 60) && o.quantity_of("MUG-BLUE") + o.quantity_of("MUG-RED") > 0
                })
            }),
        ),
        (
            "a blue mug in the last 30 days and (2 orders in 60 days or not 100 spent in 90)",
            json!({ "kind": "group", "combinator": "all", "rules": [
                condition("bought_sku", "eq", json!("MUG-BLUE"), last_days(30)),
                { "kind": "group", "combinator": "any", "rules": [
                    condition("orders", "gte", json!(2), last_days(60)),
                    { "kind": "group", "combinator": "all", "negated": true, "rules": [
                        condition("spent", "gte", json!(100), last_days(90)),
                    ] },
                ] },
            ] }),
            expect(&|o| {
                bought_in(o, "MUG-BLUE", 30) > 0
                    && (count_in(o, 60) >= 2 || spent_in(o, 90) < 10_000)
            }),
        ),
        // A product narrows its group: the group's order counts read only its buyers' orders, and a test that
        // holds for no orders still keeps the buyers without any in the window.
        (
            "a red mug in the last 90 days and at most 1 order in the last 60 days",
            json!({ "kind": "group", "combinator": "all", "rules": [
                condition("bought_sku", "eq", json!("MUG-RED"), last_days(90)),
                condition("orders", "lte", json!(1), last_days(60)),
            ] }),
            expect(&|o| bought_in(o, "MUG-RED", 90) > 0 && count_in(o, 60) <= 1),
        ),
        (
            "a product nobody bought and not 2 orders in the last 60 days",
            json!({ "kind": "group", "combinator": "all", "rules": [
                condition("bought_sku", "eq", json!("NOBODY-BOUGHT"), last_days(90)),
                { "kind": "group", "combinator": "all", "negated": true, "rules": [
                    condition("orders", "gte", json!(2), last_days(60)),
                ] },
            ] }),
            0,
        ),
    ];
    for (label, rule, expected) in &cases {
        let rule = json!({ "combinator": "all", "rules": [rule] });
        assert_eq!(preview_count(&app, &key, &rule).await, *expected, "{label}");
    }
    // The seed is varied enough for the counts to tell the operators apart.
    let distinct: std::collections::HashSet<u64> = cases.iter().map(|case| case.2).collect();
    assert!(distinct.len() >= 6, "{cases:?}");

    // The edges of the window and of the quantity, seen in a saved segment's members: inside by ten minutes
    // counts, outside does not; three units over two orders meet a minimum of three.
    let three_blue = json!({ "combinator": "all", "rules": [cases[7].1] });
    let created = app
        .post_json(
            "/api/segments",
            &json!({ "name": "Blue mug fans", "rule": three_blue }),
            &key,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let segment = created.json()["id"].as_str().unwrap().to_owned();
    let members = app
        .get(
            &format!("/api/segments/{segment}/members"),
            Credentials::Bearer(&key),
        )
        .await
        .json();
    let emails: Vec<&str> = members["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|customer| customer["email"].as_str())
        .collect();
    assert_eq!(emails.len() as u64, cases[7].2, "{members}");
    assert!(emails.contains(&"edge-in@example.com"), "{emails:?}");
    assert!(emails.contains(&"exactly-three@example.com"), "{emails:?}");
    assert!(!emails.contains(&"edge-out@example.com"), "{emails:?}");

    // Sent again, as a client retrying and as RabbitMQ redelivering: nothing is counted twice.
    let again = send_orders(&app, &key, &orders).await;
    assert_eq!(again["duplicates"], orders.len(), "{again}");
    for (label, rule, expected) in &cases {
        let rule = json!({ "combinator": "all", "rules": [rule] });
        assert_eq!(
            preview_count(&app, &key, &rule).await,
            *expected,
            "{label}, after the orders were sent again"
        );
    }

    // A customer's page says which segments they are in, looking at their orders alone.
    let customer_id = |email: &'static str| {
        let app = &app;
        async move {
            app.documents(collections::CUSTOMERS, doc! { "email": email })
                .await
                .remove(0)
                .get_object_id("_id")
                .unwrap()
                .to_hex()
        }
    };
    let segments_of = |email: &'static str| {
        let (app, key) = (&app, &key);
        async move {
            let id = customer_id(email).await;
            app.get(&format!("/api/customers/{id}"), Credentials::Bearer(key))
                .await
                .json()["segments"]
                .to_string()
        }
    };
    assert!(segments_of("exactly-three@example.com")
        .await
        .contains("Blue mug fans"));
    assert!(!segments_of("edge-out@example.com")
        .await
        .contains("Blue mug fans"));
    app.stop().await;
}

#[tokio::test]
async fn order_conditions_with_a_bad_window_or_quantity_are_refused_by_field() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let refused = |rule: Value| {
        let (app, key) = (&app, &key);
        async move {
            let reply = app
                .post_json(
                    "/api/segments/preview",
                    &json!({ "rule": { "combinator": "all", "rules": [rule] } }),
                    key,
                )
                .await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
            reply.body
        }
    };
    assert!(refused(condition("orders", "gte", json!(1), last_days(0)))
        .await
        .contains("Window"));
    assert!(refused(condition(
        "spent",
        "gte",
        json!(1),
        json!({ "kind": "between", "from": "2026-01-01" })
    ))
    .await
    .contains("both dates"));
    assert!(refused(json!({ "kind": "condition", "field": "bought_sku", "operator": "eq", "value": "X", "min_quantity": "-1" }))
        .await
        .contains("Quantity"));
    assert!(
        refused(condition("total_spend", "gt", json!(1), last_days(30)))
            .await
            .contains("no time window")
    );
    app.stop().await;
}

/// Receipts for messages, as the vendor posts them.
async fn post_receipts(app: &TestApp, receipts: Vec<Value>) {
    let request = axum::http::Request::post("/api/receipts")
        .header("host", common::HOST)
        .header("content-type", "application/json")
        .header(
            "x-realm-receipts-token",
            app.state.receipts_token.to_string(),
        )
        .body(axum::body::Body::from(
            json!({ "receipts": receipts }).to_string(),
        ))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn engagement_conditions_count_who_was_sent_opened_and_clicked_what() {
    // Opens and clicks come only from the receipts this test posts.
    let mut config = common::isolated_config();
    config.vendor.open_percent = 0;
    config.vendor.click_percent = 0;
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;
    seed_customers(&app, &key, 8).await;
    let segment = everyone_segment(&app, &key).await;
    let mut campaigns = HashMap::new();
    for name in ["Autumn news", "Winter news"] {
        let id = create_from(
            &app,
            &key,
            &json!({ "name": name, "segment_id": segment, "channel": "email", "subject": "Hi",
                     "message": "Hello {{name}}", "rate_per_second": 100 }),
        )
        .await;
        send_now(&app, &key, &id).await;
        wait_for_status(&app, &key, &id, "completed", Duration::from_secs(30)).await;
        campaigns.insert(ObjectId::parse_str(&id).unwrap(), name);
    }
    let sent: Vec<Document> = app
        .documents(
            collections::COMMUNICATIONS,
            doc! { "sent_at": { "$type": "date" } },
        )
        .await;
    let of = |name: &str| -> Vec<&Document> {
        sent.iter()
            .filter(|message| campaigns[&message.get_object_id("campaign_id").unwrap()] == name)
            .collect()
    };
    let (autumn, winter) = (of("Autumn news"), of("Winter news"));
    assert!(autumn.len() >= 4 && winter.len() >= 4, "{sent:?}");
    // Each message carries its customer's sample bucket, for estimates.
    for message in &sent {
        let to = message.get_str("to").unwrap();
        assert_eq!(
            message.get_i32("sample_bucket"),
            Ok(sample_bucket(to)),
            "{message}"
        );
    }
    // Three of autumn's recipients open it lately, one of them clicks; another customer opened winter's 90 days ago.
    let now = now_ms();
    let customer = |message: &Document| message.get_object_id("customer_id").unwrap();
    let old_reader = winter
        .iter()
        .find(|message| autumn[..3].iter().all(|a| customer(a) != customer(message)))
        .expect("a winter recipient who does not open autumn's");
    let receipt = |message: &Document, event: &str, at_ms: i64| {
        let id = message.get_object_id("_id").unwrap().to_hex();
        json!({ "receipt_id": format!("{event}-{id}"), "message_id": id, "event": event, "at_ms": at_ms })
    };
    post_receipts(
        &app,
        vec![
            receipt(autumn[0], "opened", now - DAY_MS),
            receipt(autumn[1], "opened", now - 2 * DAY_MS),
            receipt(autumn[2], "opened", now - 3 * DAY_MS),
            receipt(autumn[0], "clicked", now - DAY_MS),
            receipt(old_reader, "opened", now - 90 * DAY_MS),
        ],
    )
    .await;

    // The expected answers, from the messages as stored.
    let messages = app.documents(collections::COMMUNICATIONS, doc! {}).await;
    let customers_where = |test: &dyn Fn(&Document) -> bool| -> HashSet<ObjectId> {
        messages
            .iter()
            .filter(|message| test(message))
            .map(|message| message.get_object_id("customer_id").unwrap())
            .collect()
    };
    let named = |message: &Document, name: &str| {
        campaigns[&message.get_object_id("campaign_id").unwrap()] == name
    };
    let at_or_after = |message: &Document, field: &str, since: i64| {
        message
            .get_datetime(field)
            .is_ok_and(|at| at.timestamp_millis() >= since)
    };
    let everyone = 8_u64;
    let opened_autumn =
        customers_where(&|m| named(m, "Autumn news") && m.get_datetime("opened_at").is_ok());
    let clicked_autumn =
        customers_where(&|m| named(m, "Autumn news") && m.get_datetime("clicked_at").is_ok());
    let sent_winter =
        customers_where(&|m| named(m, "Winter news") && m.get_datetime("sent_at").is_ok());
    let opened_60 = customers_where(&|m| at_or_after(m, "opened_at", now - 60 * DAY_MS));
    let opened_120 = customers_where(&|m| at_or_after(m, "opened_at", now - 120 * DAY_MS));
    let one = |field: &str, operator: &str, value: Value| json!({ "kind": "condition", "field": field, "operator": operator, "value": value });
    let not = |rule: Value| json!({ "kind": "group", "combinator": "all", "negated": true, "rules": [rule] });
    let cases: Vec<(&str, Vec<Value>, u64)> = vec![
        (
            "opened autumn",
            vec![one("opened_campaign", "eq", json!("Autumn news"))],
            opened_autumn.len() as u64,
        ),
        (
            "clicked in autumn",
            vec![one("clicked_campaign", "eq", json!("Autumn news"))],
            clicked_autumn.len() as u64,
        ),
        (
            "opened autumn but did not click",
            vec![
                one("opened_campaign", "eq", json!("Autumn news")),
                not(one("clicked_campaign", "eq", json!("Autumn news"))),
            ],
            opened_autumn.difference(&clicked_autumn).count() as u64,
        ),
        (
            "was sent winter",
            vec![one("was_sent_campaign", "eq", json!("Winter news"))],
            sent_winter.len() as u64,
        ),
        (
            "opened anything in the last 60 days",
            vec![one("opened_any", "within_days", json!(60))],
            opened_60.len() as u64,
        ),
        (
            "opened anything in the last 120 days",
            vec![one("opened_any", "within_days", json!(120))],
            opened_120.len() as u64,
        ),
        (
            "has not opened anything in 60 days",
            vec![not(one("opened_any", "within_days", json!(60)))],
            everyone - opened_60.len() as u64,
        ),
        (
            "opened a campaign no one sent",
            vec![one("opened_campaign", "eq", json!("Spring news"))],
            0,
        ),
    ];
    assert_eq!(
        (
            opened_autumn.len(),
            clicked_autumn.len(),
            opened_60.len(),
            opened_120.len()
        ),
        (3, 1, 3, 4),
        "the receipts were applied as posted"
    );
    for (label, rules, expected) in &cases {
        let rule = json!({ "combinator": "all", "rules": rules });
        assert_eq!(preview_count(&app, &key, &rule).await, *expected, "{label}");
    }
    app.stop().await;
}

/// A customer of the estimate's data set: what this test knows of their orders and messages.
struct Sampled {
    id: ObjectId,
    email: String,
    /// Days ago, and whether the order had a mug (else tea).
    orders: Vec<(i64, bool)>,
    /// Days ago they opened the newsletter: sent to every fifth, opened by every other of those.
    newsletter: Option<Option<i64>>,
}

fn sampled_people(count: usize) -> Vec<Sampled> {
    (0..count)
        .map(|i| Sampled {
            id: ObjectId::new(),
            email: format!("estimated{i}@example.com"),
            orders: (0..i % 4)
                .map(|k| (((i * 7 + k * 13) % 100) as i64, (i + k) % 3 == 0))
                .collect(),
            newsletter: (i % 5 == 0).then(|| (i % 2 == 0).then_some(((i * 11) % 90) as i64)),
        })
        .collect()
}

#[tokio::test]
async fn an_estimate_on_behaviour_reads_only_the_samples_orders_and_messages_and_waits_for_their_buckets(
) {
    use realm::{
        customers::{
            model::AudienceEstimate,
            server::sampling::{sample_keys_for, Among},
        },
        orders::server::behaviour::{self, OrderWindow},
        segments::rules::Measure,
    };
    // 20,000 customers: the sample is half of them.
    const CUSTOMERS: usize = 20_000;
    let people = sampled_people(CUSTOMERS);
    let customers: Vec<Document> = people
        .iter()
        .map(|person| {
            let mut customer = realm::customers::server::name_fields("Estimated", &person.email);
            customer.extend(doc! { "_id": person.id, "email": &person.email, "tags": [],
            "total_spend_cents": 0_i64, "order_count": 0_i64 });
            customer
        })
        .collect();
    let app = TestApp::start_with_history(collections::CUSTOMERS, customers).await;
    app.create_owner().await;
    let cookie = app
        .signed_in_cookie(common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await;
    let now = now_ms();
    // Half a day off each whole day, so that no order sits on a window's edge.
    let at = |days: i64| mongodb::bson::DateTime::from_millis(now - days * DAY_MS - DAY_MS / 2);
    // Stored as the consumer and the scheduler store them, with the customer's sample key.
    let orders: Vec<Document> = people
        .iter()
        .flat_map(|person| {
            person.orders.iter().enumerate().map(|(k, (days, mug))| {
                let (sku, name) = if *mug { PRODUCTS[0] } else { PRODUCTS[2] };
                doc! {
                    "order_id": format!("{}-{k}", person.email), "batch_id": "history",
                    "customer_id": person.id, "sample_bucket": sample_bucket(&person.email),
                    "amount_cents": 1_000_i64, "item_count": 1_i64, "ordered_at": at(*days),
                    "items": [{ "sku": sku, "name": name, "quantity": 1_i64, "unit_price_cents": 1_000_i64 }],
                }
            })
        })
        .collect();
    app.insert_documents(collections::ORDERS, orders).await;
    let newsletter = ObjectId::new();
    app.insert_documents(
        collections::CAMPAIGNS,
        vec![doc! {
            "_id": newsletter, "name": "Newsletter", "segment_id": ObjectId::new(), "status": "completed",
            "channel": "email", "subject": "Hello", "message": "Hello", "rate_per_second": 50_i64,
            "attribution_days": 7_i64, "created_by": "test", "launched_at": at(100),
            "audience": 0_i64, "processed": 0_i64, "history": [],
        }],
    )
    .await;
    let messages: Vec<Document> = people
        .iter()
        .filter_map(|person| {
            let opened = person.newsletter?;
            let mut message = doc! {
                "campaign_id": newsletter, "customer_id": person.id, "sample_bucket": sample_bucket(&person.email),
                "to": &person.email, "status": "sent", "sent_at": at(100),
            };
            if let Some(days) = opened {
                message.insert("opened_at", at(days));
            }
            Some(message)
        })
        .collect();
    app.insert_documents(collections::COMMUNICATIONS, messages)
        .await;

    let keys = sample_keys_for(CUSTOMERS as u64);
    let in_sample = |person: &&Sampled| sample_key(&person.email) < keys;
    let sampled = people.iter().filter(in_sample).count() as u64;
    let orders_in =
        |person: &Sampled, days: i64| person.orders.iter().filter(|o| o.0 < days).count();
    let mug_in = |person: &Sampled, days: i64| person.orders.iter().any(|o| o.0 < days && o.1);
    let opened_in =
        |person: &Sampled, days: i64| person.newsletter.flatten().is_some_and(|d| d < days);
    let one = |field: &str, operator: &str, value: Value| json!({ "kind": "condition", "field": field, "operator": operator, "value": value });
    let rules: Vec<(&str, Value, Box<dyn Fn(&Sampled) -> bool>)> = vec![
        (
            "2 orders in 30 days, a mug in 90 and opened anything in 60",
            json!({ "combinator": "all", "rules": [
                condition("orders", "gte", json!(2), last_days(30)),
                condition("bought_sku", "eq", json!("MUG-BLUE"), last_days(90)),
                one("opened_any", "within_days", json!(60)),
            ] }),
            Box::new(|p| orders_in(p, 30) >= 2 && mug_in(p, 90) && opened_in(p, 60)),
        ),
        (
            "at most one order in 60 days and no open in 60 days",
            json!({ "combinator": "all", "rules": [
                condition("orders", "lte", json!(1), last_days(60)),
                { "kind": "group", "combinator": "all", "negated": true, "rules": [one("opened_any", "within_days", json!(60))] },
            ] }),
            Box::new(|p| orders_in(p, 60) <= 1 && !opened_in(p, 60)),
        ),
        (
            "tea in 20 days or opened the newsletter",
            json!({ "combinator": "any", "rules": [
                condition("bought_product", "contains", json!("tea"), last_days(20)),
                one("opened_campaign", "eq", json!("Newsletter")),
            ] }),
            Box::new(|p| {
                p.orders.iter().any(|o| o.0 < 20 && !o.1) || p.newsletter.flatten().is_some()
            }),
        ),
    ];
    let expected = |test: &dyn Fn(&Sampled) -> bool| {
        let matched = people.iter().filter(in_sample).filter(|p| test(p)).count() as u64;
        AudienceEstimate::scaled(matched, sampled, CUSTOMERS as u64)
    };
    for (label, rule, test) in &rules {
        let estimate = app.estimate(&cookie, rule).await;
        assert_eq!(estimate, expected(test.as_ref()), "{label}");
        assert!(
            !estimate.exact && estimate.count > 0,
            "{label}: {estimate:?}"
        );
    }

    // The lookups behind it read the sample's orders only.
    let two_in_30 = behaviour::customers_by_total(
        app.mongo(),
        Measure::Orders,
        OrderWindow {
            start: Some(mongodb::bson::DateTime::from_millis(now - 30 * DAY_MS)),
            end: None,
            among: Among::Sample(keys),
        },
        doc! { "$gte": 2 }.into(),
        false,
        CUSTOMERS,
    )
    .await
    .unwrap();
    let expected_two: HashSet<ObjectId> = people
        .iter()
        .filter(in_sample)
        .filter(|p| orders_in(p, 30) >= 2)
        .map(|p| p.id)
        .collect();
    let found: HashSet<ObjectId> = two_in_30.into_iter().collect();
    assert!(!expected_two.is_empty());
    assert!(
        found == expected_two,
        "{} found, {} expected, {} of them outside the sample",
        found.len(),
        expected_two.len(),
        found.difference(&expected_two).count()
    );

    // Orders and messages stored before they carried buckets: the estimate reads everyone's until they are filled in,
    // and stays right.
    for collection in [collections::ORDERS, collections::COMMUNICATIONS] {
        let unkeyed: Vec<ObjectId> = people.iter().step_by(3).map(|p| p.id).collect();
        app.mongo()
            .collection(collection)
            .update_many(
                doc! { "customer_id": { "$in": unkeyed } },
                doc! { "$unset": { "sample_bucket": "" } },
            )
            .await
            .unwrap();
    }
    assert!(!behaviour::all_bucketed(app.mongo()).await.unwrap());
    for (label, rule, test) in &rules {
        let estimate = app.estimate(&cookie, rule).await;
        assert_eq!(
            estimate,
            expected(test.as_ref()),
            "{label}, before the buckets are filled in"
        );
    }
    behaviour::fill_sample_buckets(app.mongo()).await.unwrap();
    realm::campaigns::server::engagement::fill_sample_buckets(app.mongo())
        .await
        .unwrap();
    assert!(behaviour::all_bucketed(app.mongo()).await.unwrap());
    assert!(
        realm::campaigns::server::engagement::all_bucketed(app.mongo())
            .await
            .unwrap()
    );
    let emails: HashMap<ObjectId, &str> = people.iter().map(|p| (p.id, p.email.as_str())).collect();
    for collection in [collections::ORDERS, collections::COMMUNICATIONS] {
        for stored in app.documents(collection, doc! {}).await {
            let email = emails[&stored.get_object_id("customer_id").unwrap()];
            assert_eq!(
                stored.get_i32("sample_bucket"),
                Ok(sample_bucket(email)),
                "{stored}"
            );
        }
    }
    for (label, rule, test) in &rules {
        let estimate = app.estimate(&cookie, rule).await;
        assert_eq!(
            estimate,
            expected(test.as_ref()),
            "{label}, after the buckets are filled in"
        );
    }
    app.stop().await;
}
