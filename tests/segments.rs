//! Customers and segments through the REST API and server functions, against a real MongoDB-compatible server.
//! Segment counts are checked against counts worked out here in Rust over the same seeded customers.

mod common;

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use common::{Credentials, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use mongodb::bson::{doc, oid::ObjectId};
use realm::server::mongo::collections;
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;

/// A seeded customer, as this test knows it independently of the app.
#[derive(Clone, Debug)]
struct Seed {
    name: String,
    email: String,
    city: Option<&'static str>,
    tags: Vec<&'static str>,
    spend_cents: i64,
    visits: i64,
    last_visit_ms: Option<i64>,
}

impl Seed {
    fn json(&self) -> Value {
        let mut customer = json!({
            "name": self.name, "email": self.email, "tags": self.tags,
            "totalSpending": format!("{}.{:02}", self.spend_cents / 100, self.spend_cents % 100),
            "visits": self.visits,
        });
        if let Some(city) = self.city {
            customer["city"] = json!(city);
        }
        if let Some(ms) = self.last_visit_ms {
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .unwrap();
            customer["lastVisited"] = json!(at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap());
        }
        customer
    }
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Deterministic, varied customers: spend 0–2,000.00, visits 0–9, some without orders, cities and tags mixed.
fn seeds(count: usize) -> Vec<Seed> {
    const CITIES: [Option<&str>; 5] = [
        Some("Berlin"),
        Some("Paris"),
        Some("São Paulo"),
        None,
        Some("berlin"),
    ];
    const FIRST: [&str; 6] = ["Ann", "Annika", "Bob", "Chen", "Dana", "Émile"];
    let mut state: u64 = 0x5eed;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let now = now_ms();
    (0..count)
        .map(|i| {
            let visits = next(10) as i64;
            let tags = match next(6) {
                0 => vec!["vip"],
                1 => vec!["vip", "new"],
                2 => vec!["new"],
                3 => vec!["blocked"],
                _ => vec![],
            };
            Seed {
                name: format!("{} Tester{i}", FIRST[i % FIRST.len()]),
                email: if i % 4 == 0 {
                    format!("c{i}@shop.test")
                } else {
                    format!("c{i}@example.com")
                },
                city: CITIES[next(5) as usize],
                tags,
                spend_cents: if visits == 0 { 0 } else { next(200_000) as i64 },
                visits,
                // Whole hours back, up to 200 days; none for customers without visits.
                last_visit_ms: (visits > 0)
                    .then(|| now - next(200 * 24) as i64 * 3_600_000 - 60_000),
            }
        })
        .collect()
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn seed(app: &TestApp, key: &str, customers: &[Seed]) {
    let body = json!({ "customers": customers.iter().map(Seed::json).collect::<Vec<_>>() });
    let reply = app.post_json("/api/customers", &body, key).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["created"], customers.len());
}

fn condition(field: &str, operator: &str, value: Value) -> Value {
    json!({ "kind": "condition", "field": field, "operator": operator, "value": value })
}

fn group(combinator: &str, negated: bool, rules: Vec<Value>) -> Value {
    json!({ "kind": "group", "combinator": combinator, "negated": negated, "rules": rules })
}

async fn preview_count(app: &TestApp, key: &str, rule: &Value) -> u64 {
    let reply = app
        .post_json("/api/segments/preview", &json!({ "rule": rule }), key)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{rule}: {}", reply.body);
    reply.json()["count"].as_u64().unwrap()
}

#[tokio::test]
async fn segment_counts_agree_with_counts_computed_independently() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let customers = seeds(400);
    seed(&app, &key, &customers).await;
    let now = now_ms();
    let lower = |text: Option<&str>| text.map(str::to_lowercase);

    type Check = Box<dyn Fn(&Seed) -> bool>;
    let cases: Vec<(Value, Check)> = vec![
        (
            condition("total_spend", "gt", json!(500)),
            Box::new(|c| c.spend_cents > 50_000),
        ),
        (
            condition("total_spend", "lte", json!("250.50")),
            Box::new(|c| c.spend_cents <= 25_050),
        ),
        (
            condition("total_spend", "eq", json!(0)),
            Box::new(|c| c.spend_cents == 0),
        ),
        (
            condition("order_count", "ne", json!(3)),
            Box::new(|c| c.visits != 3),
        ),
        (
            json!({ "kind": "condition", "field": "order_count", "operator": "between", "value": "5", "value_to": "2" }),
            Box::new(|c| (2..=5).contains(&c.visits)),
        ),
        (
            condition("average_order_value", "gte", json!(300)),
            Box::new(|c| c.visits > 0 && c.spend_cents as f64 / c.visits as f64 >= 30_000.0),
        ),
        (
            condition("last_order_at", "within_days", json!(30)),
            Box::new(move |c| c.last_visit_ms.is_some_and(|at| at >= now - 30 * DAY_MS)),
        ),
        (
            condition("last_order_at", "more_than_days_ago", json!(90)),
            Box::new(move |c| c.last_visit_ms.is_some_and(|at| at < now - 90 * DAY_MS)),
        ),
        (
            condition("last_order_at", "never", json!(null)),
            Box::new(|c| c.last_visit_ms.is_none()),
        ),
        (
            condition("first_order_at", "never", json!(null)),
            Box::new(|_| true),
        ),
        (
            condition("created_at", "within_days", json!(1)),
            Box::new(|_| true),
        ),
        (
            condition("city", "in_list", json!("BERLIN, Paris")),
            Box::new(move |c| matches!(lower(c.city).as_deref(), Some("berlin" | "paris"))),
        ),
        (
            condition("city", "ne", json!("berlin")),
            Box::new(move |c| lower(c.city).as_deref() != Some("berlin")),
        ),
        (
            condition("city", "contains", json!("ão")),
            Box::new(|c| c.city == Some("São Paulo")),
        ),
        (
            condition("name", "starts_with", json!("ann")),
            Box::new(|c| c.name.to_lowercase().starts_with("ann")),
        ),
        (
            condition("name", "eq", json!("bob tester2")),
            Box::new(|c| c.name == "Bob Tester2"),
        ),
        (
            condition("email", "ends_with", json!("@SHOP.test")),
            Box::new(|c| c.email.ends_with("@shop.test")),
        ),
        (
            condition("tags", "has_any", json!(["vip"])),
            Box::new(|c| c.tags.contains(&"vip")),
        ),
        (
            condition("tags", "has_all", json!("vip, new")),
            Box::new(|c| c.tags.contains(&"vip") && c.tags.contains(&"new")),
        ),
        (
            condition("tags", "has_none", json!("vip, blocked")),
            Box::new(|c| !c.tags.iter().any(|t| *t == "vip" || *t == "blocked")),
        ),
        (
            group(
                "all",
                false,
                vec![
                    condition("total_spend", "gt", json!(100)),
                    group(
                        "any",
                        false,
                        vec![
                            condition("order_count", "lt", json!(3)),
                            condition("last_order_at", "more_than_days_ago", json!(90)),
                        ],
                    ),
                    group(
                        "all",
                        true,
                        vec![condition("tags", "has_any", json!("blocked"))],
                    ),
                ],
            ),
            Box::new(move |c| {
                c.spend_cents > 10_000
                    && (c.visits < 3 || c.last_visit_ms.is_some_and(|at| at < now - 90 * DAY_MS))
                    && !c.tags.contains(&"blocked")
            }),
        ),
        (group("any", false, vec![]), Box::new(|_| true)),
    ];
    for (rule, check) in &cases {
        let rule = if rule["kind"] == "group" {
            rule.clone()
        } else {
            group("all", false, vec![rule.clone()])
        };
        let expected = customers.iter().filter(|c| check(c)).count() as u64;
        assert_eq!(preview_count(&app, &key, &rule).await, expected, "{rule}");
    }
    app.stop().await;
}

#[tokio::test]
async fn customers_are_idempotent_on_email_and_imported_history_adds_to_orders() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let ada = json!({
        "name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+44 20 7946 0958", "city": "London",
        "totalSpending": 1000, "visits": 4, "lastVisited": "2026-01-10T12:00:00Z", "tags": ["vip"]
    });
    let first = app.post_json("/api/customers", &ada, &key).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.json()["email"], "ada@example.com");
    assert_eq!(first.json()["total_spend"], "1000.00");
    let again = app.post_json("/api/customers", &ada, &key).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        again.json()["total_spend"],
        "1000.00",
        "the same import twice counts once"
    );
    assert_eq!(again.json()["order_count"], 4);

    let orders = json!({ "orders": [{ "customer_email": "ada@example.com", "amount": "50.25", "items": 1, "date": "2026-02-01" }] });
    let accepted = app.post_json("/api/orders", &orders, &key).await.json();
    let batch = app
        .finished_batch(accepted["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(batch["stored"], 1, "{batch}");

    // A corrected history replaces the imported one; the order stays counted.
    let corrected = json!({ "email": "ada@example.com", "totalSpending": "1200", "visits": 5 });
    let reply = app.post_json("/api/customers", &corrected, &key).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stored = reply.json();
    assert_eq!(
        (
            stored["total_spend"].as_str(),
            stored["order_count"].as_i64()
        ),
        (Some("1250.25"), Some(6))
    );
    assert_eq!(
        stored["name"], "Ada Lovelace",
        "a missing name keeps the stored one"
    );
    assert_eq!(stored["tags"], json!(["vip"]));
    assert_eq!(stored["phone"], "+442079460958");

    let customers = app.mongo().collection(collections::CUSTOMERS);
    let before = customers.count_documents(doc! {}).await.unwrap();
    let bad_single = app
        .post_json(
            "/api/customers",
            &json!({ "name": "No Mail", "email": "nope" }),
            &key,
        )
        .await;
    assert_eq!(bad_single.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_single.json()["field"], "email");
    let bad_bulk = json!({ "customers": [{ "email": "fine@example.com" }, { "email": "x@y.co", "visits": -1 }] });
    let reply = app.post_json("/api/customers", &bad_bulk, &key).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["field"],
        "customers[1].visits",
        "{}",
        reply.body
    );
    assert_eq!(
        customers.count_documents(doc! {}).await.unwrap(),
        before,
        "a refused request changes nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_customer_named_in_two_chunks_of_one_import_ends_with_the_later_entry() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    // 2,500 rows are written in three chunks; the first and the last name the same email.
    let mut rows: Vec<serde_json::Value> = (0..2_499)
        .map(|n| json!({ "name": format!("Row {n}"), "email": format!("row-{n}@example.com") }))
        .collect();
    rows[0] = json!({ "name": "Earlier Entry", "email": "both@example.com", "city": "Lyon" });
    rows.push(json!({ "name": "Later Entry", "email": "both@example.com" }));
    let reply = app
        .post_json("/api/customers", &json!({ "customers": rows }), &key)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (
            reply.json()["created"].as_u64(),
            reply.json()["updated"].as_u64()
        ),
        (Some(2_499), Some(1)),
        "{}",
        reply.body
    );
    let both = app
        .documents(collections::CUSTOMERS, doc! { "email": "both@example.com" })
        .await;
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].get_str("name").unwrap(), "Later Entry");
    assert_eq!(
        both[0].get_str("city").unwrap(),
        "Lyon",
        "what the later entry leaves out stays: {}",
        both[0]
    );
    app.stop().await;
}

#[tokio::test]
async fn customers_new_to_an_import_are_stored_as_its_update_would_leave_them() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let customers = json!({ "customers": [
        { "name": "Grace Hopper", "email": "grace@example.com", "phone": "+1 202 555 0100", "city": "Arlington",
          "tags": ["navy", "navy", "cobol"], "totalSpending": "310.50", "visits": 3,
          "lastVisited": "2026-03-01T09:30:00Z", "email_consent": "unsubscribed", "sms_consent": "yes" },
        { "email": "nameless@example.com" },
        { "name": "Twice", "email": "twice@example.com", "tags": ["first"] },
        { "name": "Twice Again", "email": "twice@example.com", "tags": ["second"] }
    ] });
    let first = app.post_json("/api/customers", &customers, &key).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    // The same email twice in one import: created by the first row, updated by the second.
    assert_eq!(
        (
            first.json()["created"].as_u64(),
            first.json()["updated"].as_u64()
        ),
        (Some(3), Some(1)),
        "{}",
        first.body
    );
    let stored = || async {
        let mut found = app
            .documents(collections::CUSTOMERS, doc! { "email": { "$in": ["grace@example.com", "nameless@example.com", "twice@example.com"] } })
            .await;
        found.sort_by_key(|customer| customer.get_str("email").unwrap().to_owned());
        found
    };
    let inserted = stored().await;
    let grace = &inserted[0];
    assert_eq!(grace.get_array("tags").unwrap().len(), 2, "{grace}");
    assert_eq!(
        grace
            .get_document("consent")
            .unwrap()
            .get_document("email")
            .unwrap()
            .get_str("state")
            .unwrap(),
        "unsubscribed"
    );
    assert_eq!(inserted[1].get_str("name").unwrap(), "nameless");
    assert_eq!(inserted[2].get_str("name").unwrap(), "Twice Again");
    assert_eq!(
        inserted[2].get_array("tags").unwrap().len(),
        2,
        "tags add up: {}",
        inserted[2]
    );

    // Imported again, every customer takes the update path, which leaves each one exactly as it was inserted.
    let again = app.post_json("/api/customers", &customers, &key).await;
    assert_eq!(
        (
            again.json()["created"].as_u64(),
            again.json()["updated"].as_u64()
        ),
        (Some(0), Some(4)),
        "{}",
        again.body
    );
    let updated = stored().await;
    let tags = |customer: &mongodb::bson::Document| {
        let mut tags: Vec<String> = customer
            .get_array("tags")
            .unwrap()
            .iter()
            .map(|tag| tag.as_str().unwrap().to_owned())
            .collect();
        tags.sort();
        tags
    };
    for (before, after) in inserted.iter().zip(&updated) {
        let (mut before, mut after) = (before.clone(), after.clone());
        // A set union keeps no order.
        assert_eq!(tags(&before), tags(&after));
        before.remove("tags");
        after.remove("tags");
        assert_eq!(before, after);
    }
    app.stop().await;
}

#[tokio::test]
async fn the_customer_list_pages_by_position_without_gaps_or_repeats() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let customers = seeds(53);
    seed(&app, &key, &customers).await;

    for sort in ["top_spend", "name", "recent_order", "newest", "most_orders"] {
        let mut seen = Vec::new();
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = format!(
                "/api/customers?sort={sort}&limit=7&after={}",
                encode(&after.clone().unwrap_or_default())
            );
            let page = app.get(&path, Credentials::Bearer(&key)).await.json();
            let ids: Vec<String> = page["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            seen.extend(ids.clone());
            pages.push((ids, page["previous"].as_str().map(str::to_owned)));
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 53, "{sort}");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>().len(),
            53,
            "{sort}: a customer appeared twice"
        );
        // Going back from the third page gives the second page again.
        let previous = pages[2].1.clone().expect("the third page links back");
        let back = app
            .get(
                &format!(
                    "/api/customers?sort={sort}&limit=7&before={}",
                    encode(&previous)
                ),
                Credentials::Bearer(&key),
            )
            .await
            .json();
        let back_ids: Vec<String> = back["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(back_ids, pages[1].0, "{sort}");
    }

    let spends: Vec<f64> = {
        let page = app
            .get(
                "/api/customers?sort=top_spend&limit=53",
                Credentials::Bearer(&key),
            )
            .await
            .json();
        page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["total_spend"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    assert!(spends.windows(2).all(|w| w[0] >= w[1]), "{spends:?}");

    let found = app
        .get(
            "/api/customers?search=annika%20tester7",
            Credentials::Bearer(&key),
        )
        .await
        .json();
    let names: Vec<&str> = found["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = customers
        .iter()
        .filter(|c| c.name.to_lowercase().starts_with("annika tester7"))
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names.len(), expected.len(), "{names:?}");
    assert_eq!(found["matching"], expected.len());
    app.stop().await;
}

#[tokio::test]
async fn the_original_segment_shape_is_translated_and_its_audience_listed() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let customers = seeds(120);
    seed(&app, &key, &customers).await;

    let body = json!({
        "name": "Big spenders",
        "conditions": [
            { "field": "totalSpending", "operator": ">", "value": 1000 },
            { "field": "visits", "operator": ">=", "value": 2 }
        ],
        "logicOperator": "AND"
    });
    let reply = app.post_json("/api/segments", &body, &key).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let segment = reply.json();
    let id = segment["id"].as_str().unwrap().to_owned();
    let expected: HashSet<String> = customers
        .iter()
        .filter(|c| c.spend_cents > 100_000 && c.visits >= 2)
        .map(|c| c.email.clone())
        .collect();
    assert_eq!(segment["size"], expected.len());

    let mut emails = HashSet::new();
    let mut after = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/segments/{id}/members?limit=10&after={after}"),
                Credentials::Bearer(&key),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let page = page.json();
        emails.extend(
            page["customers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["email"].as_str().unwrap().to_owned()),
        );
        match page["next_after"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(emails, expected);

    for (bad, field) in [
        (
            json!({ "name": "x", "conditions": [{ "field": "age", "operator": ">", "value": 3 }] }),
            "conditions[0].field",
        ),
        (
            json!({ "name": "x", "conditions": [{ "field": "visits", "operator": "~=", "value": 3 }] }),
            "conditions[0].operator",
        ),
    ] {
        let reply = app.post_json("/api/segments", &bad, &key).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.json()["field"], field, "{}", reply.body);
    }
    assert_eq!(
        app.mongo()
            .collection(collections::SEGMENTS)
            .count_documents(doc! {})
            .await
            .unwrap(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_rule_with_problems_is_refused_with_a_message_per_condition() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let rule = group(
        "all",
        false,
        vec![
            condition("total_spend", "gt", json!("lots")),
            group(
                "any",
                false,
                vec![
                    condition("order_count", "lt", json!(2)),
                    condition("email", "gt", json!("a")),
                ],
            ),
        ],
    );
    let reply = app
        .post_json(
            "/api/segments",
            &json!({ "name": "Broken", "rule": rule }),
            &key,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let problems = reply.json()["problems"].clone();
    let places: Vec<&str> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["condition"].as_str().unwrap())
        .collect();
    assert_eq!(places, ["1", "2.2"], "{problems}");
    assert_eq!(problems[1]["message"], "Email cannot be compared with “>”.");
    assert_eq!(
        app.mongo()
            .collection(collections::SEGMENTS)
            .count_documents(doc! {})
            .await
            .unwrap(),
        0
    );

    let nameless = app
        .post_json(
            "/api/segments",
            &json!({ "name": " ", "rule": group("all", false, vec![]) }),
            &key,
        )
        .await;
    assert_eq!(
        (nameless.status, nameless.json()["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("name"))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_segment_is_updated_and_cannot_be_deleted_while_a_scheduled_campaign_targets_it() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    seed(&app, &key, &seeds(30)).await;
    let rule = group(
        "all",
        false,
        vec![condition("order_count", "gte", json!(5))],
    );
    let created = app
        .post_json(
            "/api/segments",
            &json!({ "name": "Regulars", "rule": rule }),
            &key,
        )
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();

    let wider = group(
        "all",
        false,
        vec![condition("order_count", "gte", json!(1))],
    );
    let reply = app
        .send_json(
            Method::PUT,
            &format!("/api/segments/{id}"),
            Some(&json!({ "name": "Any buyer", "rule": wider })),
            &key,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["name"], "Any buyer");
    assert_eq!(reply.json()["summary"], "Order count ≥ 1");

    let campaigns = app.mongo().collection(collections::CAMPAIGNS);
    let campaign = campaigns
        .insert_one(doc! { "name": "Winter sale", "status": "scheduled", "segment_id": ObjectId::parse_str(&id).unwrap() })
        .await
        .unwrap()
        .inserted_id;
    let refused = app
        .send_json(Method::DELETE, &format!("/api/segments/{id}"), None, &key)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("Winter sale"),
        "{}",
        refused.body
    );

    campaigns
        .update_one(
            doc! { "_id": campaign },
            doc! { "$set": { "status": "completed" } },
        )
        .await
        .unwrap();
    let deleted = app
        .send_json(Method::DELETE, &format!("/api/segments/{id}"), None, &key)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(
        app.get(&format!("/api/segments/{id}"), Credentials::Bearer(&key))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn segment_analytics_describe_the_members_and_keep_a_daily_size() {
    use leptos::server_fn::ServerFn;
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let customers = seeds(150);
    seed(&app, &key, &customers).await;
    let rule = group(
        "all",
        false,
        vec![condition("order_count", "gte", json!(1))],
    );
    let id = app
        .post_json(
            "/api/segments",
            &json!({ "name": "Buyers", "rule": rule }),
            &key,
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let cookie = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;
    let reply = app
        .post_form(
            realm::segments::api::AnalyzeSegment::PATH,
            &[("id", &id)],
            Credentials::Cookie(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let analytics = reply.json();

    let members: Vec<&Seed> = customers.iter().filter(|c| c.visits >= 1).collect();
    let total: i64 = members.iter().map(|c| c.spend_cents).sum();
    assert_eq!(analytics["size"], members.len());
    assert_eq!(analytics["total_spend_cents"], total);
    assert_eq!(
        analytics["average_spend_cents"],
        total / members.len() as i64
    );
    let band = |label: &str, key: &str| {
        analytics[key]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b[0] == label)
            .map(|b| b[1].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(
        band("3–5", "order_count_bands"),
        members
            .iter()
            .filter(|c| (3..=5).contains(&c.visits))
            .count() as u64
    );
    assert_eq!(band("0", "order_count_bands"), 0);
    assert_eq!(
        band("1000–4999", "spend_bands"),
        members
            .iter()
            .filter(|c| (100_000..500_000).contains(&c.spend_cents))
            .count() as u64
    );
    let berlin = members.iter().filter(|c| c.city == Some("Berlin")).count() as u64;
    let cities = analytics["top_cities"].as_array().unwrap();
    assert!(
        cities.iter().any(|c| c[0] == "Berlin" && c[1] == berlin),
        "{cities:?}"
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(analytics["daily_sizes"], json!([[today, members.len()]]));
    app.stop().await;
}

#[tokio::test]
async fn consent_conditions_count_customers_never_asked_as_subscribed() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let customers = json!([
        { "email": "never-asked@consent.example" },
        { "email": "said-yes@consent.example", "email_consent": "subscribed" },
        { "email": "left@consent.example", "email_consent": "unsubscribed", "sms_consent": "unsubscribed" },
        { "email": "bounced@consent.example", "email_consent": "bounced" },
    ]);
    let reply = app
        .post_json("/api/customers", &json!({ "customers": customers }), &key)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let count = |field: &'static str, operator: &'static str, value: &'static str| {
        let rule = group("all", false, vec![condition(field, operator, json!(value))]);
        let (app, key) = (&app, key.clone());
        async move { preview_count(app, &key, &rule).await }
    };
    assert_eq!(count("email_consent", "eq", "subscribed").await, 2);
    assert_eq!(count("email_consent", "ne", "subscribed").await, 2);
    assert_eq!(count("email_consent", "eq", "unsubscribed").await, 1);
    assert_eq!(count("email_consent", "ne", "bounced").await, 3);
    assert_eq!(count("sms_consent", "eq", "subscribed").await, 3);
    let refused = app
        .post_json(
            "/api/segments/preview",
            &json!({ "rule": group("all", false, vec![condition("email_consent", "eq", json!("perhaps"))]) }),
            &key,
        )
        .await;
    refused.assert_refused("Choose subscribed");
    app.stop().await;
}

/// Customers `from..to` as the app stores them (sample key included), every third having spent (i mod 1,000) * 7
/// units.
fn sampled_customers(range: std::ops::Range<usize>) -> Vec<mongodb::bson::Document> {
    range
        .map(|i| {
            let email = format!("sampled{i}@example.com");
            let mut customer = realm::customers::server::name_fields(&format!("Sampled {i}"), &email);
            customer.extend(doc! { "email": email, "tags": [], "total_spend_cents": sampled_spend(i), "order_count": 0_i64 });
            customer
        })
        .collect()
}

fn sampled_spend(i: usize) -> i64 {
    if i % 3 == 0 {
        (i % 1_000) as i64 * 700
    } else {
        0
    }
}

fn spent_over(units: i64) -> Value {
    group(
        "all",
        false,
        vec![condition("total_spend", "gt", json!(units))],
    )
}

#[tokio::test]
async fn the_live_estimate_is_within_its_stated_margin_and_exact_when_the_sample_is_everyone() {
    use realm::customers::{model::AudienceEstimate, server::sampling};
    // 40,000 customers: the sample is a quarter of them. 3,000 were stored before sample keys existed.
    const CUSTOMERS: usize = 40_000;
    const UNKEYED: usize = 3_000;
    let mut documents = sampled_customers(0..CUSTOMERS);
    for customer in &mut documents[..UNKEYED] {
        customer.remove("sample_key");
    }
    let app = TestApp::start_with_history(collections::CUSTOMERS, documents).await;
    app.create_owner().await;
    let cookie = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;

    // The keys missing at start are filled in behind the app; each is the hash of the customer's email.
    assert!(
        common::eventually(std::time::Duration::from_secs(30), || async {
            app.documents(
                collections::CUSTOMERS,
                doc! { "sample_key": { "$exists": false } },
            )
            .await
            .is_empty()
        })
        .await
    );
    let first = app
        .documents(
            collections::CUSTOMERS,
            doc! { "email": "sampled0@example.com" },
        )
        .await;
    assert_eq!(
        first[0].get_i32("sample_key").unwrap(),
        sampling::sample_key("sampled0@example.com")
    );

    for units in [0, 100, 3_500, 6_900, 7_000] {
        let exact = (0..CUSTOMERS)
            .filter(|&i| sampled_spend(i) > units * 100)
            .count() as u64;
        let estimated = app.estimate(&cookie, &spent_over(units)).await;
        assert!(!estimated.exact, "{estimated:?}");
        assert!(
            estimated.count.abs_diff(exact) <= estimated.margin,
            "spend over {units}: {exact} is outside {estimated:?}"
        );
        // Narrow enough to be worth showing: within 10 % of the customers the sample stands for.
        assert!(estimated.margin <= CUSTOMERS as u64 / 10, "{estimated:?}");
    }
    app.stop().await;

    // At 10,000 customers or fewer the sample is everyone, and the estimate is the count.
    let app = TestApp::start_with_history(collections::CUSTOMERS, sampled_customers(0..500)).await;
    app.create_owner().await;
    let cookie = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;
    let exact = (0..500).filter(|&i| sampled_spend(i) > 350_000).count() as u64;
    assert_eq!(
        app.estimate(&cookie, &spent_over(3_500)).await,
        AudienceEstimate::exact(exact)
    );
    app.stop().await;
}
