//! Campaign helpers shared by the campaign and email tests: buyers, a segment of everyone, a campaign, its
//! statistics.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::{eventually, Credentials, TestApp};

/// `count` buyers, `cora{i}@example.com`.
pub async fn seed_customers(app: &TestApp, key: &str, count: usize) {
    seed_customers_at(app, key, count, "example.com").await;
}

/// `count` buyers with addresses `cora{i}@{domain}`: a domain of its own keeps a test's mail apart in a shared
/// catcher.
pub async fn seed_customers_at(app: &TestApp, key: &str, count: usize, domain: &str) {
    let customers: Vec<Value> = (0..count)
        .map(|i| json!({ "name": format!("Cora Camp{i}"), "email": format!("cora{i}@{domain}"), "city": "Lyon", "totalSpending": 10 + i, "visits": 1 }))
        .collect();
    let reply = app
        .post_json("/api/customers", &json!({ "customers": customers }), key)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

pub async fn everyone_segment(app: &TestApp, key: &str) -> String {
    let rule = json!({ "combinator": "all", "rules": [{ "kind": "condition", "field": "order_count", "operator": "gte", "value": 1 }] });
    let reply = app
        .post_json(
            "/api/segments",
            &json!({ "name": "Buyers", "rule": rule }),
            key,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

pub async fn create_campaign(
    app: &TestApp,
    key: &str,
    segment: &str,
    rate: u32,
    scheduled_for_ms: Option<i64>,
) -> String {
    let body = json!({
        "name": "Autumn news", "segment_id": segment, "channel": "email",
        "subject": "Hello {{first_name|there}}", "message": "Dear {{name}} from {{city|your city}}: you spent {{total_spend}}.",
        "scheduled_for_ms": scheduled_for_ms, "rate_per_second": rate,
    });
    create_from(app, key, &body).await
}

/// Creates the campaign `body` describes; gives its id.
pub async fn create_from(app: &TestApp, key: &str, body: &Value) -> String {
    let reply = app.post_json("/api/campaigns", body, key).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// Sends a campaign now.
pub async fn send_now(app: &TestApp, key: &str, id: &str) {
    let sent = app
        .send_json(
            Method::POST,
            &format!("/api/campaigns/{id}/send-now"),
            None,
            key,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
}

/// A campaign to `customers` new buyers at `rate` messages a second, sent now; gives its id.
pub async fn sending_campaign(app: &TestApp, key: &str, customers: usize, rate: u32) -> String {
    seed_customers(app, key, customers).await;
    let segment = everyone_segment(app, key).await;
    let id = create_campaign(app, key, &segment, rate, None).await;
    send_now(app, key, &id).await;
    id
}

pub async fn stats(app: &TestApp, key: &str, id: &str) -> Value {
    app.get(
        &format!("/api/campaigns/{id}/stats"),
        Credentials::Bearer(key),
    )
    .await
    .json()
}

pub async fn wait_for_status(
    app: &TestApp,
    key: &str,
    id: &str,
    status: &str,
    timeout: Duration,
) -> Value {
    let reached = eventually(timeout, || async {
        stats(app, key, id).await["status"] == status
    })
    .await;
    let last = stats(app, key, id).await;
    assert!(reached, "campaign never became {status}: {last}");
    last
}
