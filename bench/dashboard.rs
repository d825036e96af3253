//! Dashboard latency: the `load_dashboard` server function of a running Realm, over HTTP with a session, with
//! `BENCH_CUSTOMERS` customers (default 100,000), `BENCH_ORDERS` orders (default 1,000,000) spread over the last
//! year, `BENCH_CAMPAIGNS` launched campaigns (default 10) of `BENCH_MESSAGES` messages each (default 10,000) and
//! 20 counted segments. Orders are stored directly and their day totals rebuilt with `rebuild-rollups`' code, whose
//! time is reported too. Run through `bench/dashboard.sh`, which starts the server.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use common::{bench_database, fill_to, ms, percentile, session_cookie, setting};
use futures::{stream, StreamExt, TryStreamExt};
use leptos::server_fn::ServerFn;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use realm::{
    campaigns::server::figures,
    dashboard::api::LoadDashboard,
    orders::server::daily,
    server::mongo::{collections, Mongo},
};
use serde_json::Value;

const DAY_MS: i64 = 86_400_000;
const CHUNK: usize = 5_000;

async fn customer_ids(mongo: &Mongo) -> Vec<ObjectId> {
    mongo
        .collection(collections::CUSTOMERS)
        .find(doc! {})
        .projection(doc! { "_id": 1 })
        .await
        .expect("customers")
        .try_collect::<Vec<Document>>()
        .await
        .expect("customer ids")
        .iter()
        .filter_map(|customer| customer.get_object_id("_id").ok())
        .collect()
}

async fn store_orders(mongo: &Mongo, customers: &[ObjectId], count: usize) {
    let orders = mongo.collection(collections::ORDERS);
    let now_ms = DateTime::now().timestamp_millis();
    let started = Instant::now();
    stream::iter((0..count).step_by(CHUNK))
        .for_each_concurrent(2, |from| {
            let orders = orders.clone();
            async move {
                let documents: Vec<Document> = (from..(from + CHUNK).min(count))
                    .map(|n| {
                        let hash = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        doc! {
                            "order_id": format!("bench-{n}"),
                            "batch_id": format!("bench-batch-{}", n / 1_000),
                            "customer_id": customers[(hash % customers.len() as u64) as usize],
                            "amount_cents": 500 + ((hash >> 16) % 50_000) as i64,
                            "item_count": 1 + ((hash >> 8) % 5) as i64,
                            "items": [],
                            "ordered_at": DateTime::from_millis(now_ms - ((hash >> 24) % (365 * DAY_MS as u64)) as i64),
                            "stored_at": DateTime::now(),
                        }
                    })
                    .collect();
                orders
                    .insert_many(documents)
                    .ordered(false)
                    .await
                    .expect("insert orders");
            }
        })
        .await;
    eprintln!(
        "stored {count} orders in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn launch_campaigns(
    mongo: &Mongo,
    customers: &[ObjectId],
    campaigns: usize,
    messages: usize,
) {
    for c in 0..campaigns {
        let id = ObjectId::new();
        mongo
            .collection(collections::CAMPAIGNS)
            .insert_one(doc! {
                "_id": id, "name": format!("Bench campaign {c}"), "segment_id": ObjectId::new(), "status": "completed",
                "channel": "email", "subject": "Hello", "message": "Hello {{first_name}}", "rate_per_second": 50_i64,
                "attribution_days": 7_i64, "created_by": "bench",
                "launched_at": DateTime::now(), "audience": messages as i64, "processed": messages as i64, "history": [],
            })
            .await
            .expect("campaign");
        let communications: Vec<Document> = customers
            .iter()
            .take(messages)
            .enumerate()
            .map(|(n, customer)| {
                let failed = n % 10 == 0;
                let mut message = doc! {
                    "campaign_id": id, "customer_id": customer,
                    "status": if failed { "failed" } else { "sent" },
                };
                if !failed && n % 10 != 1 {
                    message.insert("delivered_at", DateTime::now());
                }
                if n % 3 == 0 && !failed {
                    message.insert("opened_at", DateTime::now());
                }
                message
            })
            .collect();
        for chunk in communications.chunks(CHUNK) {
            mongo
                .collection(collections::COMMUNICATIONS)
                .insert_many(chunk)
                .await
                .expect("communications");
        }
    }
}

async fn count_segments(mongo: &Mongo) {
    let segments: Vec<Document> = (0..20)
        .map(|n| {
            doc! {
                "name": format!("Bench segment {n}"),
                "description": "",
                "rule": { "combinator": "all", "rules": [] },
                "created_at": DateTime::now(),
                "created_by": "bench",
                "last_size": (n * 4_999) as i64,
                "last_counted_at": DateTime::now(),
                "updated_at": DateTime::now(),
            }
        })
        .collect();
    mongo
        .collection(collections::SEGMENTS)
        .insert_many(segments)
        .await
        .expect("segments");
}

#[tokio::main]
async fn main() {
    let customer_count: usize = setting("BENCH_CUSTOMERS", 100_000);
    let order_count: usize = setting("BENCH_ORDERS", 1_000_000);
    let campaign_count: usize = setting("BENCH_CAMPAIGNS", 10);
    let messages: usize = setting("BENCH_MESSAGES", 10_000);
    let runs: usize = setting("BENCH_RUNS", 50);

    let (base_url, mongo) = bench_database().await;
    fill_to(&mongo, customer_count).await;
    let customers = customer_ids(&mongo).await;
    store_orders(&mongo, &customers, order_count).await;
    let started = Instant::now();
    let rebuilt = daily::rebuild(&mongo).await.expect("rebuild");
    let rebuild_time = started.elapsed();
    launch_campaigns(&mongo, &customers, campaign_count, messages).await;
    let started = Instant::now();
    figures::refresh(&mongo).await.expect("campaign figures");
    let tally_time = started.elapsed();
    count_segments(&mongo).await;

    let client = reqwest::Client::new();
    let cookie = session_cookie(&client, &base_url).await;
    println!(
        "Data: {customer_count} customers, {order_count} orders over 365 days ({} day totals), {campaign_count} campaigns × {messages} messages, 20 segments.",
        rebuilt.days
    );
    println!(
        "Rebuilding the day totals from the orders (`realm rebuild-rollups`): {:.1} s. Tallying the campaigns' messages (one background pass): {:.0} ms.\n",
        rebuild_time.as_secs_f64(),
        ms(tally_time)
    );
    println!("| chart span | runs | server function p50 | p95 | max |");
    println!("|---:|---:|---:|---:|---:|");
    for days in [30_u32, 90] {
        let mut times = Vec::new();
        for round in 0..runs + 3 {
            let started = Instant::now();
            let response = client
                .post(format!("{base_url}{}", LoadDashboard::PATH))
                .header("cookie", &cookie)
                .header("origin", &base_url)
                .form(&[("days", days)])
                .send()
                .await
                .expect("dashboard");
            assert!(
                response.status().is_success(),
                "{:?}",
                response.text().await
            );
            let dashboard: Value = response.json().await.expect("dashboard JSON");
            let elapsed = started.elapsed();
            assert_eq!(dashboard["customers"].as_u64(), Some(customer_count as u64));
            assert_eq!(
                dashboard["daily"].as_array().map(Vec::len),
                Some(days as usize)
            );
            // The first rounds warm caches and connections and are not counted.
            if round >= 3 {
                times.push(elapsed);
            }
        }
        times.sort();
        println!(
            "| {days} days | {runs} | {:.1} ms | {:.1} ms | {:.1} ms |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().expect("runs")),
        );
    }
}
