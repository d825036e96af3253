//! Segments on behaviour at the scale: 100,000 customers, 1,000,000 orders with line items over the last
//! year, 10 campaigns of 10,000 messages with opens and clicks over the last 90 days. `BENCH_PHASE=fill` builds
//! what is missing of the data set (bulk inserts, kept between runs in `BENCH_DATABASE`, default
//! `realm_bench_behaviour`); `BENCH_PHASE=measure` times the exact count and the estimate of rules that mix a
//! windowed order condition, a product condition and an engagement condition, through the server functions of a
//! running Realm (`BENCH_RUNS` each, default 20, after 2 rounds that warm caches). Run through
//! `bench/behaviour.sh`.

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{
    bench_database, call_server_json, customer_ids, fill_created_within, ms, percentile,
    session_cookie, setting, wait_until_idle,
};
use leptos::server_fn::ServerFn;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use realm::{
    customers::{model::AudienceEstimate, server::of_orders::OrderCustomer},
    segments::api::{CountAudience, EstimateAudience},
    server::mongo::{collections, Mongo},
};
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;
const CHUNK: usize = 5_000;
/// Products on sale; the first ones sell most (product `p` is chosen with weight about 1 / (p + 1)).
const PRODUCTS: u64 = 200;

fn product(hash: u64) -> u64 {
    // A rough Zipf: the square of a uniform number favours the low products.
    let uniform = (hash % 10_000) as f64 / 10_000.0;
    ((uniform * uniform) * PRODUCTS as f64) as u64
}

fn order(n: usize, customers: &[OrderCustomer], now_ms: i64) -> Document {
    let hash = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let lines = 1 + (hash >> 60) % 3;
    let items: Vec<Document> = (0..lines)
        .map(|line| {
            let line_hash = hash.rotate_left(13 * line as u32 + 7);
            let p = product(line_hash);
            doc! {
                "sku": format!("SKU-{p:03}"), "name": format!("Product {p}"),
                "quantity": 1 + ((line_hash >> 20) % 3) as i64, "unit_price_cents": 500 + (p as i64) * 10,
            }
        })
        .collect();
    let customer = customers[(hash % customers.len() as u64) as usize];
    doc! {
        "order_id": format!("behaviour-{n}"),
        "batch_id": format!("behaviour-batch-{}", n / 1_000),
        "customer_id": customer.id,
        "sample_bucket": customer.sample_bucket,
        "amount_cents": 500 + ((hash >> 16) % 50_000) as i64,
        "item_count": lines as i64,
        "items": items,
        "ordered_at": DateTime::from_millis(now_ms - ((hash >> 24) % (365 * DAY_MS as u64)) as i64),
        "stored_at": DateTime::now(),
    }
}

async fn fill(mongo: &Mongo, customers: usize, orders: usize) {
    fill_created_within(mongo, customers, 700).await;
    let ids = customer_ids(mongo).await;
    let now_ms = DateTime::now().timestamp_millis();
    let collection = mongo.collection(collections::ORDERS);
    let stored = collection.estimated_document_count().await.expect("orders") as usize;
    let started = Instant::now();
    for from in (stored..orders).step_by(CHUNK) {
        let chunk: Vec<Document> = (from..(from + CHUNK).min(orders))
            .map(|n| order(n, &ids, now_ms))
            .collect();
        collection.insert_many(chunk).await.expect("orders");
    }
    eprintln!(
        "stored {} orders in {:.1} s",
        orders.saturating_sub(stored),
        started.elapsed().as_secs_f64()
    );
    let campaigns = mongo.collection(collections::CAMPAIGNS);
    if campaigns
        .estimated_document_count()
        .await
        .expect("campaigns")
        == 0
    {
        for c in 0..10_usize {
            let id = ObjectId::new();
            campaigns
                .insert_one(doc! {
                    "_id": id, "name": format!("Newsletter {c}"), "segment_id": ObjectId::new(), "status": "completed",
                    "channel": "email", "subject": "Hello", "message": "Hello {{first_name}}", "rate_per_second": 50_i64,
                    "attribution_days": 7_i64, "created_by": "bench", "launched_at": DateTime::now(),
                    "audience": 10_000_i64, "processed": 10_000_i64, "history": [],
                })
                .await
                .expect("campaign");
            // Each campaign went out 9 days after the one before; a third of its messages were opened within a
            // few days, a tenth of those clicked.
            let sent_ms = now_ms - (90 - 9 * c as i64) * DAY_MS;
            let messages: Vec<Document> = (0..10_000_usize)
                .map(|n| {
                    let hash = ((c * 10_000 + n) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let customer = ids[(hash % ids.len() as u64) as usize];
                    let mut message = doc! {
                        "campaign_id": id, "customer_id": customer.id, "sample_bucket": customer.sample_bucket,
                        "status": "sent",
                        "sent_at": DateTime::from_millis(sent_ms),
                    };
                    if (hash >> 20) % 3 == 0 {
                        let opened_ms = sent_ms + ((hash >> 24) % (3 * DAY_MS as u64)) as i64;
                        message.insert("opened_at", DateTime::from_millis(opened_ms));
                        if (hash >> 40) % 10 == 0 {
                            message.insert("clicked_at", DateTime::from_millis(opened_ms + 60_000));
                        }
                    }
                    message
                })
                .collect();
            // One message per campaign and customer.
            let mut seen = std::collections::HashSet::new();
            let unique: Vec<Document> = messages
                .into_iter()
                .filter(|message| seen.insert(message.get_object_id("customer_id").unwrap()))
                .collect();
            mongo
                .collection(collections::COMMUNICATIONS)
                .insert_many(unique)
                .await
                .expect("messages");
        }
        eprintln!("stored 10 campaigns");
    }
}

fn condition(field: &str, operator: &str, value: Value, window: Value) -> Value {
    json!({ "kind": "condition", "field": field, "operator": operator, "value": value, "window": window })
}

fn rules() -> Vec<(&'static str, Value)> {
    let last = |days: i64| json!({ "kind": "last_days", "days": days });
    let all = |rules: Vec<Value>| json!({ "combinator": "all", "rules": rules });
    vec![
        (
            "ordered ≥ 2 times in 30 days",
            all(vec![condition("orders", "gte", json!(2), last(30))]),
        ),
        (
            "bought SKU-000 in 90 days",
            all(vec![condition(
                "bought_sku",
                "eq",
                json!("SKU-000"),
                last(90),
            )]),
        ),
        (
            "opened Newsletter 9",
            all(vec![
                json!({ "kind": "condition", "field": "opened_campaign", "operator": "eq", "value": "Newsletter 9" }),
            ]),
        ),
        (
            "ordered ≥ 2 in 30 days and bought SKU-003 in 90 days and opened any in 60 days",
            all(vec![
                condition("orders", "gte", json!(2), last(30)),
                condition("bought_sku", "eq", json!("SKU-003"), last(90)),
                json!({ "kind": "condition", "field": "opened_any", "operator": "within_days", "value": 60 }),
            ]),
        ),
        (
            "spent ≥ 200 in 90 days and bought ≥ 3 of SKU-001 ever and not clicked in Newsletter 5",
            all(vec![
                condition("spent", "gte", json!(200), last(90)),
                json!({ "kind": "condition", "field": "bought_sku", "operator": "eq", "value": "SKU-001", "min_quantity": 3 }),
                json!({ "kind": "group", "combinator": "all", "negated": true, "rules": [
                    { "kind": "condition", "field": "clicked_campaign", "operator": "eq", "value": "Newsletter 5" }
                ] }),
            ]),
        ),
    ]
}

async fn measure(base_url: &str, runs: usize) {
    wait_until_idle().await;
    let client = reqwest::Client::new();
    let cookie = session_cookie(&client, base_url).await;
    println!("| rule | matching | exact count p50 | p95 | estimate | estimate p50 | p95 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, rule) in rules() {
        let body = json!({ "rule": rule }).to_string();
        let (mut exact_times, mut estimate_times) = (Vec::new(), Vec::new());
        let (mut exact, mut estimate) = (0_u64, None::<AudienceEstimate>);
        for round in 0..runs + 2 {
            let started = Instant::now();
            exact = call_server_json::<u64>(
                &client,
                base_url,
                &cookie,
                CountAudience::PATH,
                body.clone(),
            )
            .await;
            let exact_time = started.elapsed();
            let started = Instant::now();
            estimate = Some(
                call_server_json(
                    &client,
                    base_url,
                    &cookie,
                    EstimateAudience::PATH,
                    body.clone(),
                )
                .await,
            );
            let estimate_time = started.elapsed();
            if round >= 2 {
                exact_times.push(exact_time);
                estimate_times.push(estimate_time);
            }
        }
        exact_times.sort();
        estimate_times.sort();
        let estimate = estimate.expect("runs");
        let p = |times: &[Duration], q| ms(percentile(times, q));
        println!(
            "| {label} | {exact} | {:.0} ms | {:.0} ms | {} ± {} | {:.0} ms | {:.0} ms |",
            p(&exact_times, 0.5),
            p(&exact_times, 0.95),
            estimate.count,
            estimate.margin,
            p(&estimate_times, 0.5),
            p(&estimate_times, 0.95),
        );
    }
}

#[tokio::main]
async fn main() {
    let customers: usize = setting("BENCH_CUSTOMERS", 100_000);
    let orders: usize = setting("BENCH_ORDERS", 1_000_000);
    let runs: usize = setting("BENCH_RUNS", 20);
    let (base_url, mongo) = bench_database().await;
    match setting("BENCH_PHASE", "measure".to_owned()).as_str() {
        "fill" => fill(&mongo, customers, orders).await,
        _ => {
            println!(
                "Data: {customers} customers; {orders} orders over the last year, 1–3 line items each from {PRODUCTS} products; 10 campaigns × 10,000 messages over the last 90 days, a third opened, a tenth of those clicked.\n"
            );
            measure(&base_url, runs).await
        }
    }
}
