//! Segment preview latency: the audience count of a rule through the `count_audience` server
//! function of a running Realm, beside the raw `count_documents` of the same compiled filter against the same
//! database server in the same run, at each customer count of `BENCH_CUSTOMER_SIZES` (default 100,000 and
//! 1,000,000). Run through `bench/segments.sh`, which starts the server.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use common::{
    bench_database, call_server_json, fill_to, ms, percentile, segment_rules, session_cookie,
    setting,
};
use leptos::server_fn::ServerFn;
use realm::{
    customers::server::sampling::Among,
    segments::{api::CountAudience, server::rule_filter},
    server::mongo::collections,
};
use serde_json::{json, Value};

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = setting("BENCH_CUSTOMER_SIZES", "100000,1000000".to_owned())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect();
    let runs: usize = setting("BENCH_RUNS", 30);

    let (base_url, mongo) = bench_database().await;
    let client = reqwest::Client::new();
    let cookie = session_cookie(&client, &base_url).await;
    let customers = mongo.collection(collections::CUSTOMERS);

    println!("| customers | rule | matching | server function p50 | p95 | raw count_documents p50 | p95 | p50 ratio |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        fill_to(&mongo, size).await;
        for (label, rule) in segment_rules() {
            let body = json!({ "rule": rule }).to_string();
            let (mut through_app, mut raw) = (Vec::new(), Vec::new());
            let mut matching = 0;
            // The first two rounds warm caches on both paths and are not counted; the paths then alternate.
            for round in 0..runs + 2 {
                let started = Instant::now();
                let counted: Value = call_server_json(
                    &client,
                    &base_url,
                    &cookie,
                    CountAudience::PATH,
                    body.clone(),
                )
                .await;
                let app_time = started.elapsed();

                let filter = rule_filter(&mongo, &rule, Among::Everyone)
                    .await
                    .expect("rule");
                let started = Instant::now();
                let count = customers.count_documents(filter).await.expect("count");
                let raw_time = started.elapsed();
                assert_eq!(counted.as_u64(), Some(count), "{label}");
                matching = count;
                if round >= 2 {
                    through_app.push(app_time);
                    raw.push(raw_time);
                }
            }
            through_app.sort();
            raw.sort();
            println!(
                "| {size} | {label} | {matching} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |",
                ms(percentile(&through_app, 0.5)),
                ms(percentile(&through_app, 0.95)),
                ms(percentile(&raw, 0.5)),
                ms(percentile(&raw, 0.95)),
                ms(percentile(&through_app, 0.5)) / ms(percentile(&raw, 0.5)),
            );
        }
    }
}
