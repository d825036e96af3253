//! Customer import at scale (issue #20, aim 3): `POST /api/customers` with `BENCH_PER_REQUEST` customers per
//! request (default 10,000), `BENCH_REQUESTS` requests one after another (default 10), timed end to end, into the
//! running Realm's database as it is (`bench/import.sh` runs it on an empty database, then on one holding
//! 1,000,000 customers). `BENCH_PHASE=indexes` instead measures what each of the customers' indexes costs an
//! `insert_many` of the same documents, in a scratch collection.

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{
    bench_database, customer_created_within, fill_to, ms, owner_api_key, percentile, setting,
};
use mongodb::{
    bson::{doc, DateTime, Document},
    IndexModel,
};
use realm::{
    customers::server::growth,
    server::mongo::{collections, indexes_of, Mongo},
};
use serde_json::{json, Value};

const CITIES: [&str; 5] = ["Berlin", "Paris", "Rome", "Madrid", "Oslo"];

/// Customer `n` of run `run` as a client sends it: name, email, phone, city, a tag or two, and for a third of
/// them the spend and visits of an earlier system.
fn customer(run: &str, n: usize) -> Value {
    let mut customer = json!({
        "name": format!("Imported {n}"),
        "email": format!("import-{run}-{n}@example.com"),
        "phone": format!("+4915{:08}", n % 100_000_000),
        "city": CITIES[n % CITIES.len()],
        "tags": if n % 4 == 0 { json!(["newsletter", "vip"]) } else { json!(["newsletter"]) },
    });
    if n % 3 == 0 {
        customer["totalSpending"] = json!(format!("{}.{:02}", n % 900, n % 100));
        customer["visits"] = json!(1 + n % 20);
    }
    customer
}

async fn import(base_url: &str, key: &str, per_request: usize, requests: usize) {
    let client = reqwest::Client::new();
    let run = DateTime::now().timestamp_millis().to_string();
    let bodies: Vec<String> = (0..requests)
        .map(|request| {
            let customers: Vec<Value> = (request * per_request..(request + 1) * per_request)
                .map(|n| customer(&run, n))
                .collect();
            json!({ "customers": customers }).to_string()
        })
        .collect();
    let mut times: Vec<Duration> = Vec::with_capacity(requests);
    let started = Instant::now();
    for body in bodies {
        let sent = Instant::now();
        let response = client
            .post(format!("{base_url}/api/customers"))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("import");
        let status = response.status();
        let reply: Value = response.json().await.expect("import reply");
        assert!(status.is_success(), "{status}: {reply}");
        assert_eq!(
            reply["created"].as_u64(),
            Some(per_request as u64),
            "{reply}"
        );
        times.push(sent.elapsed());
    }
    let elapsed = started.elapsed();
    times.sort();
    let total = per_request * requests;
    println!(
        "| {total} | {per_request} | {:.1} s | {:.0} | {:.0} ms | {:.0} ms |",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
    );
}

/// Removes what `import` added, so that a database kept between runs holds its base customers again, and has the
/// kept counts of customers counted again.
async fn remove_imported(mongo: &Mongo) {
    let removed = mongo
        .collection(collections::CUSTOMERS)
        .delete_many(doc! { "email": { "$regex": "^import-" } })
        .await
        .expect("remove imported")
        .deleted_count;
    growth::forget(mongo).await.expect("forget kept counts");
    eprintln!("removed {removed} imported customers");
}

/// `insert_many` of `documents` into a fresh scratch collection with `indexes`, 1,000 at a time: documents/s.
async fn raw_rate(mongo: &Mongo, documents: &[Document], indexes: Vec<IndexModel>) -> f64 {
    let scratch = mongo.collection("import_index_probe");
    scratch.drop().await.expect("drop scratch");
    mongo
        .database()
        .create_collection("import_index_probe")
        .await
        .expect("scratch");
    if !indexes.is_empty() {
        scratch.create_indexes(indexes).await.expect("indexes");
    }
    let started = Instant::now();
    for chunk in documents.chunks(1_000) {
        scratch.insert_many(chunk).await.expect("insert");
    }
    let rate = documents.len() as f64 / started.elapsed().as_secs_f64();
    scratch.drop().await.expect("drop scratch");
    rate
}

fn index_name(index: &IndexModel) -> String {
    index
        .options
        .as_ref()
        .and_then(|options| options.name.clone())
        .unwrap_or_default()
}

async fn index_costs(mongo: &Mongo, count: usize, runs: usize) {
    let now = DateTime::now().timestamp_millis();
    let documents: Vec<Document> = (0..count)
        .map(|n| customer_created_within(n, now, 30))
        .collect();
    let all = indexes_of(collections::CUSTOMERS);
    let median = |mut rates: Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let measure = |indexes: Vec<IndexModel>| {
        let documents = &documents;
        async move {
            let mut rates = Vec::with_capacity(runs);
            for _ in 0..runs {
                rates.push(raw_rate(mongo, documents, indexes.clone()).await);
            }
            median(rates)
        }
    };
    let with_all = measure(all.clone()).await;
    let none = measure(Vec::new()).await;
    println!(
        "`insert_many` of {count} customers, 1,000 per call, median of {runs}: {with_all:.0}/s with all {} indexes, {none:.0}/s with `_id` only.\n",
        all.len()
    );
    println!("| index | with it alone (docs/s) | its cost (µs per customer) | share of the insert time with all |");
    println!("|---|---:|---:|---:|");
    // Each index alone beside `_id`: the difference from `_id` only is its own cost. Leaving one out of twelve
    // changes the rate by less than the machine's noise; adding one to none does not.
    let per_doc_all = 1e6 / with_all;
    let per_doc_none = 1e6 / none;
    let mut sum = 0.0;
    for index in &all {
        let alone = measure(vec![index.clone()]).await;
        let cost = 1e6 / alone - per_doc_none;
        sum += cost;
        println!(
            "| `{}` | {alone:.0} | {cost:.1} | {:.0} % |",
            index_name(index),
            100.0 * cost / per_doc_all
        );
    }
    println!(
        "\nThe indexes' own costs add up to {sum:.1} µs per customer; with all of them an insert costs {:.1} µs more than with `_id` only.",
        per_doc_all - per_doc_none
    );
}

#[tokio::main]
async fn main() {
    let (base_url, mongo) = bench_database().await;
    match setting("BENCH_PHASE", "import".to_owned()).as_str() {
        "indexes" => {
            index_costs(
                &mongo,
                setting("BENCH_INDEX_DOCUMENTS", 50_000),
                setting("BENCH_RUNS", 5),
            )
            .await
        }
        "fill" => fill_to(&mongo, setting("BENCH_CUSTOMERS", 1_000_000)).await,
        _ => {
            let have = mongo
                .collection(collections::CUSTOMERS)
                .count_documents(doc! {})
                .await
                .expect("count");
            eprintln!("importing into a database of {have} customers");
            let key = owner_api_key(&mongo).await;
            import(
                &base_url,
                &key,
                setting("BENCH_PER_REQUEST", 10_000),
                setting("BENCH_REQUESTS", 10),
            )
            .await;
            if setting("BENCH_KEEP", false) {
                return;
            }
            remove_imported(&mongo).await;
        }
    }
}
