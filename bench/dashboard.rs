//! Dashboard latency: the `load_dashboard` server function of a running Realm, over HTTP with a session, with
//! `BENCH_CUSTOMERS` customers (default 100,000), `BENCH_ORDERS` orders (default 1,000,000) spread over the last
//! year, `BENCH_CAMPAIGNS` launched campaigns (default 10) of `BENCH_MESSAGES` messages each (default 10,000) and
//! 20 counted segments. Orders are stored directly and their day totals rebuilt with `rebuild-rollups`' code, whose
//! time is reported too. Run through `bench/dashboard.sh`, which starts the server.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use common::{
    bench_database, count_segments, customer_ids, fill_to, launch_campaigns, ms, percentile,
    session_cookie, setting, store_orders,
};
use leptos::server_fn::ServerFn;
use realm::{campaigns::server::figures, dashboard::api::LoadDashboard, orders::server::daily};
use serde_json::Value;

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
    store_orders(&mongo, &customers, 0..order_count).await;
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
