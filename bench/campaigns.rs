//! Campaign delivery: a campaign to BENCH_AUDIENCE customers (default 100,000) through a running Realm whose
//! simulated vendor answers at once (`REALM_VENDOR_LATENCY_MS=0`, set by `bench/campaigns.sh`). Measures the time
//! from "send now" to the first message sent, and recipients per second from the first message to completion.
//! With `BENCH_TRANSPORT=smtp` the email goes through SMTP to the local mail catcher instead.

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{bench_database, fill_to, owner_api_key, setting, CpuMeter};
use mongodb::bson::doc;
use realm::server::mongo::collections;
use serde_json::{json, Value};

#[tokio::main]
async fn main() {
    let audience: usize = setting("BENCH_AUDIENCE", 100_000);
    let (base_url, mongo) = bench_database().await;
    let key = owner_api_key(&mongo).await;
    fill_to(&mongo, audience).await;

    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base_url}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let rule = json!({ "combinator": "all", "rules": [] });
    let segment: Value = post("/api/segments", json!({ "name": "Everyone", "rule": rule }))
        .await
        .expect("segment")
        .json()
        .await
        .expect("json");
    let segment_id = segment["id"].as_str().expect("segment id").to_owned();
    let campaign: Value = post(
        "/api/campaigns",
        json!({ "name": "Bench", "segment_id": segment_id, "channel": "email", "subject": "Hi {{first_name}}",
                "message": "Dear {{name}}, you spent {{total_spend}}.", "rate_per_second": 10_000 }),
    )
    .await
    .expect("campaign")
    .json()
    .await
    .expect("json");
    let id = campaign["id"].as_str().expect("campaign id").to_owned();

    let communications = mongo.collection(collections::COMMUNICATIONS);
    // Where the cores go while the campaign sends: what each recipient costs each process.
    let cpu = CpuMeter::start(&[
        ("database", "BENCH_DB_PID"),
        ("Realm", "BENCH_APP_PID"),
        ("RabbitMQ", "BENCH_BROKER_PID"),
    ]);
    let started = Instant::now();
    let reply = post(&format!("/api/campaigns/{id}/send-now"), json!({}))
        .await
        .expect("send now");
    assert!(reply.status().is_success(), "{:?}", reply.text().await);
    let mut first_sent = None;
    let campaign_id = mongodb::bson::oid::ObjectId::parse_str(&id).expect("campaign id");
    loop {
        if first_sent.is_none()
            && communications
                .count_documents(doc! { "status": "sent" })
                .limit(1)
                .await
                .expect("count")
                > 0
        {
            first_sent = Some(started.elapsed());
        }
        // The campaign's status, read from its document: the stats route counts every message, and asking it ten
        // times a second would load the database more than the delivery being measured.
        let completed = mongo
            .collection(collections::CAMPAIGNS)
            .count_documents(doc! { "_id": campaign_id, "status": "completed" })
            .await
            .expect("campaign status")
            > 0;
        if !completed {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let done = started.elapsed();
        let cpu_row = cpu.row("send now → completed");
        let stats: Value = client
            .get(format!("{base_url}/api/campaigns/{id}/stats"))
            .bearer_auth(&key)
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        {
            let first = first_sent.unwrap_or(done);
            let processed =
                stats["sent"].as_u64().unwrap_or(0) + stats["failed"].as_u64().unwrap_or(0);
            println!("| transport | audience | send now → first message sent | first message → completed | recipients/s after the first | send now → completed | recipients/s overall | sent | failed |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            println!(
                "| {} | {} | {:.2} s | {:.1} s | {:.0} | {:.1} s | {:.0} | {} | {} |",
                std::env::var("REALM_EMAIL_TRANSPORT").unwrap_or_default(),
                stats["audience"],
                first.as_secs_f64(),
                (done - first).as_secs_f64(),
                processed as f64 / (done - first).as_secs_f64().max(0.001),
                done.as_secs_f64(),
                processed as f64 / done.as_secs_f64().max(0.001),
                stats["sent"],
                stats["failed"],
            );
            println!();
            println!("{}", cpu.header());
            println!("{cpu_row}");
            return;
        }
    }
}
