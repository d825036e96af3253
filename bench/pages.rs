//! First paint at scale: `GET` of the Dashboard, Customers, Orders, Segments and Campaigns pages with a session,
//! timed to the last byte of the server-rendered HTML, with `BENCH_CUSTOMERS` customers (default 1,000,000) all
//! created in the last 30 days, `BENCH_ORDERS` orders (default 1,000,000) over the last year, 10 completed
//! campaigns of 10,000 messages and 20 counted segments.
//!
//! The data set is stored by direct bulk inserts into a database kept between runs (`BENCH_DATABASE`, set by
//! `bench/pages.sh`), and built again when its newest customer is more than a day old, so that every customer is
//! still new in the last 30 days. `BENCH_PHASE=fill` builds what is missing; it runs before the app starts, as the
//! app's hourly counts of new customers assume customers arrive as time passes, never into hours already counted.
//! `BENCH_PHASE=measure` times the pages (`BENCH_RUNS` each, default 30, after 5 rounds that warm caches).

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{
    bench_database, count_segments, customer_ids, fill_created_within, launch_campaigns, ms,
    percentile, session_cookie, setting, store_orders, wait_until_idle,
};
use mongodb::bson::{doc, DateTime, Document};
use realm::{
    campaigns::server::figures,
    orders::server::daily,
    server::mongo::{collections, Mongo},
};

const PAGES: [(&str, &str); 5] = [
    ("Dashboard", "/"),
    ("Customers", "/customers"),
    ("Orders", "/orders"),
    ("Segments", "/segments"),
    ("Campaigns", "/campaigns"),
];
const DAY_MS: i64 = 86_400_000;

/// Whether the kept data set was built more than a day ago (its customers would no longer all be new).
async fn is_stale(mongo: &Mongo) -> bool {
    let newest: Option<Document> = mongo
        .collection(collections::CUSTOMERS)
        .find_one(doc! {})
        .sort(doc! { "created_at": -1 })
        .await
        .expect("newest customer");
    newest
        .and_then(|customer| customer.get_datetime("created_at").ok().copied())
        .is_some_and(|at| at.timestamp_millis() < DateTime::now().timestamp_millis() - DAY_MS)
}

async fn fill(mongo: &Mongo, customers: usize, orders: usize) {
    if is_stale(mongo).await {
        eprintln!("the kept data set is more than a day old: building it again");
        mongo
            .database()
            .drop()
            .await
            .expect("drop the old data set");
        bench_database().await;
    }
    fill_created_within(mongo, customers, 30).await;
    let stored = mongo
        .collection(collections::ORDERS)
        .estimated_document_count()
        .await
        .expect("orders") as usize;
    if stored < orders {
        let ids = customer_ids(mongo).await;
        store_orders(mongo, &ids, stored..orders).await;
        let started = Instant::now();
        daily::rebuild(mongo).await.expect("day totals");
        eprintln!(
            "day totals rebuilt in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let campaigns = mongo
        .collection(collections::CAMPAIGNS)
        .estimated_document_count()
        .await
        .expect("campaigns");
    if campaigns == 0 {
        let ids = customer_ids(mongo).await;
        launch_campaigns(mongo, &ids, 10, 10_000).await;
        figures::refresh(mongo).await.expect("campaign figures");
        count_segments(mongo).await;
    }
}

async fn measure(base_url: &str, runs: usize, customers: usize, orders: usize) {
    wait_until_idle().await;
    let client = reqwest::Client::new();
    let cookie = session_cookie(&client, base_url).await;
    let get = |path: &str| {
        let request = client
            .get(format!("{base_url}{path}"))
            .header("cookie", &cookie)
            .send();
        async move {
            let started = Instant::now();
            let response = request.await.expect("page");
            assert!(response.status().is_success(), "{}", response.status());
            let html = response.text().await.expect("page body");
            assert!(html.contains("</html>"), "a whole page");
            started.elapsed()
        }
    };
    println!(
        "Data: {customers} customers, all created in the last 30 days; {orders} orders over the last year; 10 campaigns × 10,000 messages; 20 segments.\n"
    );
    println!("| page | runs | first paint p50 | p95 | max |");
    println!("|---|---:|---:|---:|---:|");
    for (name, path) in PAGES {
        for _ in 0..5 {
            get(path).await;
        }
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(get(path).await);
        }
        times.sort();
        println!(
            "| {name} (`{path}`) | {runs} | {:.1} ms | {:.1} ms | {:.1} ms |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().expect("runs")),
        );
    }
}

#[tokio::main]
async fn main() {
    let customers: usize = setting("BENCH_CUSTOMERS", 1_000_000);
    let orders: usize = setting("BENCH_ORDERS", 1_000_000);
    let runs: usize = setting("BENCH_RUNS", 30);
    let (base_url, mongo) = bench_database().await;
    match setting("BENCH_PHASE", "measure".to_owned()).as_str() {
        "fill" => fill(&mongo, customers, orders).await,
        _ => measure(&base_url, runs, customers, orders).await,
    }
}
