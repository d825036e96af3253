//! The live audience estimate at a million customers (issue #20, aim 2): the `estimate_audience` server function
//! of a running Realm, timed over HTTP with a session, for the segment benchmarks' rules and a sweep of spend
//! thresholds, beside the exact count of each rule (`count_documents`, once) to state the estimate's error.
//! Runs on the data set of `bench/pages.sh` (1,000,000 customers), through `bench/estimate.sh`.

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{
    bench_database, call_server_json, condition, ms, percentile, segment_rules, session_cookie,
    setting, wait_until_idle,
};
use leptos::server_fn::ServerFn;
use realm::{
    customers::{model::AudienceEstimate, server::sampling::Among},
    segments::{api::EstimateAudience, rules::RuleGroup, server::rule_filter},
    server::mongo::collections,
};
use serde_json::json;

/// The segment benchmarks' rules, and "total spend > X" from a few customers to most of them.
fn rules() -> Vec<(String, RuleGroup)> {
    let mut rules: Vec<(String, RuleGroup)> = segment_rules()
        .into_iter()
        .map(|(label, rule)| (label.to_owned(), rule))
        .collect();
    for threshold in [
        10, 100, 250, 500, 1_000, 2_000, 3_000, 4_000, 4_500, 4_900, 4_990,
    ] {
        let rule = json!({ "combinator": "all", "rules": [condition("total_spend", "gt", &threshold.to_string())] });
        rules.push((
            format!("total spend > {threshold}"),
            serde_json::from_value(rule).expect("rule"),
        ));
    }
    rules
}

#[tokio::main]
async fn main() {
    let runs: usize = setting("BENCH_RUNS", 30);
    let (base_url, mongo) = bench_database().await;
    let client = reqwest::Client::new();
    let cookie = session_cookie(&client, &base_url).await;
    let customers = mongo.collection(collections::CUSTOMERS);
    wait_until_idle().await;
    let total = customers
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count");
    println!("Data: {total} customers.\n");
    println!("| rule | exact count | estimate | stated margin (95 %) | error | within the margin | estimate p50 | p95 |");
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    let mut within = 0;
    let rules = rules();
    for (label, rule) in &rules {
        let exact = customers
            .count_documents(
                rule_filter(&mongo, rule, Among::Everyone)
                    .await
                    .expect("rule"),
            )
            .await
            .expect("exact count");
        let body = json!({ "rule": rule }).to_string();
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut answer = None;
        // Two warm-up rounds are not counted.
        for round in 0..runs + 2 {
            let started = Instant::now();
            let estimate: AudienceEstimate = call_server_json(
                &client,
                &base_url,
                &cookie,
                EstimateAudience::PATH,
                body.clone(),
            )
            .await;
            if round >= 2 {
                times.push(started.elapsed());
            }
            answer = Some(estimate);
        }
        let estimate = answer.expect("runs");
        times.sort();
        let error = estimate.count.abs_diff(exact);
        within += usize::from(error <= estimate.margin);
        let share = |n: u64| 100.0 * n as f64 / exact.max(1) as f64;
        println!(
            "| {label} | {exact} | {} | ± {} ({:.1} %) | {error} ({:.1} %) | {} | {:.1} ms | {:.1} ms |",
            estimate.count,
            estimate.margin,
            share(estimate.margin),
            share(error),
            if error <= estimate.margin { "yes" } else { "no" },
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
        );
    }
    println!(
        "\n{within} of {} estimates within their stated margin.",
        rules.len()
    );
}
