//! Bulk ingestion throughput: posts orders to a running Realm in requests of 1,000 and measures, in the same run
//! against the same database server, the raw `insert_many` rate as the ceiling to compare with.
//! Run through `bench/ingest.sh`, which starts the server; settings come from the environment it sets.

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{bench_database, fill_to, owner_api_key, percentile, setting, CpuMeter};
use futures::{stream, StreamExt};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use realm::{
    customers::server::{of_orders::new_customer, sampling::sample_bucket},
    orders::model::{BatchAccepted, BatchStatus, BatchSummary},
    server::mongo::{bson_time, collections, indexes_of, Mongo},
};
use serde_json::{json, Value};

/// Order `n` of the run: its customer, amount in cents, item count and date (2026, spread over the year).
fn order_values(n: usize, customers: usize) -> (usize, i64, usize, (u8, u8)) {
    let cents = (5 + n % 200) as i64 * 100 + (n % 100) as i64;
    (
        n % customers,
        cents,
        1 + n % 4,
        ((1 + n % 11) as u8, (1 + n % 28) as u8),
    )
}

fn request_orders(request: usize, per_request: usize, customers: usize) -> Vec<Value> {
    (0..per_request)
        .map(|i| {
            let n = request * per_request + i;
            let (customer, cents, items, (month, day)) = order_values(n, customers);
            json!({
                "customer_email": format!("bench{customer}@example.com"),
                "amount": format!("{}.{:02}", cents / 100, cents % 100),
                "items": items,
                "date": format!("2026-{month:02}-{day:02}T12:00:00Z"),
            })
        })
        .collect()
}

/// The shape of a run, shared by the raw passes and the pipeline.
struct Run {
    total: usize,
    per_request: usize,
    concurrency: usize,
    customers: usize,
}

/// One raw pass: the documents the consumer would store for the same orders (the same customers, amounts and
/// dates, so the indexes see the same keys), inserted directly into a collection with `order_indexes`: the
/// ceiling for the pipeline. With `customer_indexes`, each request first inserts the customers its orders are the
/// first to name, as the consumer must when the orders create their customers.
struct RawPass {
    label: &'static str,
    order_indexes: Vec<mongodb::IndexModel>,
    customer_indexes: Option<Vec<mongodb::IndexModel>>,
}

async fn raw_insert_many(
    mongo: &Mongo,
    run: &Run,
    pass: RawPass,
    processes: &[(&'static str, &str)],
) -> (f64, String) {
    let Run {
        total,
        per_request,
        concurrency,
        customers,
    } = *run;
    let customer_ids: Vec<ObjectId> = (0..customers).map(|_| ObjectId::new()).collect();
    let customer_ids = &customer_ids;
    let raw = mongo.collection("bench_raw_orders");
    raw.drop().await.ok();
    raw.create_indexes(pass.order_indexes)
        .await
        .expect("indexes");
    let raw_customers = match pass.customer_indexes {
        Some(indexes) => {
            let raw_customers = mongo.collection("bench_raw_customers");
            raw_customers.drop().await.ok();
            raw_customers
                .create_indexes(indexes)
                .await
                .expect("customer indexes");
            Some(raw_customers)
        }
        None => None,
    };
    let cpu = CpuMeter::start(processes);
    let started = Instant::now();
    stream::iter(0..total / per_request)
        .for_each_concurrent(concurrency, |request| {
            let (raw, raw_customers) = (raw.clone(), raw_customers.clone());
            async move {
                let first = request * per_request;
                if let Some(raw_customers) = raw_customers {
                    // Order `n` names customer `n % customers`, so the orders below `customers` name each one first.
                    let new_customers: Vec<Document> = (first..(first + per_request).min(customers))
                        .map(|customer| {
                            let email = format!("bench{customer}@example.com");
                            let mut document = new_customer(&email, None);
                            document.insert("_id", customer_ids[customer]);
                            document
                        })
                        .collect();
                    if !new_customers.is_empty() {
                        raw_customers
                            .insert_many(new_customers)
                            .ordered(false)
                            .await
                            .expect("raw customer insert");
                    }
                }
                let batch_id = ObjectId::new().to_hex();
                let documents: Vec<Document> = (0..per_request)
                    .map(|i| {
                        let n = first + i;
                        let (customer, cents, items, (month, day)) = order_values(n, customers);
                        let ordered_at = time::Date::from_calendar_date(2026, month.try_into().unwrap(), day)
                            .unwrap()
                            .with_hms(12, 0, 0)
                            .unwrap()
                            .assume_utc();
                        let email = format!("bench{customer}@example.com");
                        doc! {
                            "order_id": format!("{batch_id}-{i}"), "batch_id": &batch_id,
                            "customer_id": customer_ids[customer], "sample_bucket": sample_bucket(&email),
                            "amount_cents": cents, "item_count": items as i64,
                            "items": [], "ordered_at": bson_time(ordered_at), "stored_at": DateTime::now(),
                            "customer_email": email,
                        }
                    })
                    .collect();
                raw.insert_many(documents).ordered(false).await.expect("raw insert");
            }
        })
        .await;
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let cpu_row = cpu.row(&format!("raw insert_many, {}", pass.label));
    raw.drop().await.ok();
    if let Some(raw_customers) = raw_customers {
        raw_customers.drop().await.ok();
    }
    (rate, cpu_row)
}

/// Waits until every batch, asked for in turn by its status URL, is `done`.
async fn wait_for_batches(
    client: &reqwest::Client,
    base_url: &str,
    key: &str,
    status_urls: &[&str],
    done: impl Fn(&BatchSummary) -> bool,
) {
    for url in status_urls {
        loop {
            let batch: BatchSummary = client
                .get(format!("{base_url}{url}"))
                .bearer_auth(key)
                .send()
                .await
                .expect("GET batch")
                .json()
                .await
                .expect("batch status");
            assert_ne!(batch.status, BatchStatus::Failed, "{batch:?}");
            if done(&batch) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::main]
async fn main() {
    let total: usize = setting("BENCH_ORDERS", 200_000);
    let per_request: usize = setting("BENCH_ORDERS_PER_REQUEST", 1_000);
    let concurrency: usize = setting("BENCH_CONCURRENCY", 4);
    let customers: usize = setting("BENCH_CUSTOMERS", 20_000);
    // Whether the customers are imported before the orders arrive, or created by them.
    let customers_exist: bool = setting("BENCH_CUSTOMERS_EXIST", false);

    let (base_url, mongo) = bench_database().await;
    let key = owner_api_key(&mongo).await;
    if customers_exist {
        fill_to(&mongo, customers).await;
    }

    // The ceiling: the same documents into a collection with the orders' indexes. The unique order id alone is
    // the ceiling earlier runs used, kept for comparison.
    // Where the cores go in the raw pass and in the pipeline, for the processes `bench/ingest.sh` could name.
    let processes = [
        ("database", "BENCH_DB_PID"),
        ("Realm", "BENCH_APP_PID"),
        ("RabbitMQ", "BENCH_BROKER_PID"),
    ];
    let run = Run {
        total,
        per_request,
        concurrency,
        customers,
    };
    let (raw_rate, raw_cpu) = raw_insert_many(
        &mongo,
        &run,
        RawPass {
            label: "orders' indexes",
            order_indexes: indexes_of(collections::ORDERS),
            customer_indexes: None,
        },
        &processes,
    )
    .await;
    let unique_id_only = indexes_of(collections::ORDERS)
        .into_iter()
        .filter(|index| index.keys == doc! { "order_id": 1 })
        .collect();
    let (raw_unique_id_rate, raw_unique_id_cpu) = raw_insert_many(
        &mongo,
        &run,
        RawPass {
            label: "unique order id only",
            order_indexes: unique_id_only,
            customer_indexes: None,
        },
        &processes,
    )
    .await;
    // When the orders create their customers, the pipeline also writes those: the ceiling that includes them.
    let with_new_customers = if customers_exist {
        None
    } else {
        Some(
            raw_insert_many(
                &mongo,
                &run,
                RawPass {
                    label: "orders' and new customers' indexes",
                    order_indexes: indexes_of(collections::ORDERS),
                    customer_indexes: Some(indexes_of(collections::CUSTOMERS)),
                },
                &processes,
            )
            .await,
        )
    };

    let client = reqwest::Client::new();
    let requests = total / per_request;
    let bodies: Vec<String> = (0..requests)
        .map(|r| json!({ "orders": request_orders(r, per_request, customers) }).to_string())
        .collect();
    let orders = mongo.collection(collections::ORDERS);
    let pipeline_cpu = CpuMeter::start(&processes);
    let started = Instant::now();
    let posted: Vec<(Duration, String)> = stream::iter(bodies)
        .map(|body| {
            let client = client.clone();
            let (url, key) = (format!("{base_url}/api/orders"), key.clone());
            async move {
                let sent = Instant::now();
                let response = client
                    .post(url)
                    .bearer_auth(key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("POST");
                let latency = sent.elapsed();
                assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
                let accepted: BatchAccepted = response.json().await.expect("202 answer");
                (latency, accepted.status_url)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let all_posted = started.elapsed();
    // Watched the way a client would, through each 202 answer's status URL, one batch at a time: anything that
    // scans the orders or the batch records every few milliseconds would load the database being measured. A batch
    // is finished only after its orders are stored, so this end is a little late, never early.
    let status_urls: Vec<&str> = posted.iter().map(|(_, url)| url.as_str()).collect();
    wait_for_batches(&client, &base_url, &key, &status_urls, |batch| {
        !batch.status.in_flight()
    })
    .await;
    let all_stored = started.elapsed();
    let pipeline_cpu_row = pipeline_cpu.row("pipeline, first POST until all stored");
    let stored = orders.count_documents(doc! {}).await.expect("count") as usize;
    assert_eq!(stored, total, "every order stored once");
    wait_for_batches(
        &client,
        &base_url,
        &key,
        &status_urls,
        BatchSummary::settled,
    )
    .await;
    let all_folded = started.elapsed();
    let mut latencies: Vec<Duration> = posted.into_iter().map(|(latency, _)| latency).collect();
    latencies.sort();
    let pipeline_rate = total as f64 / all_stored.as_secs_f64();

    let with_customers_rate = with_new_customers.as_ref().map(|(rate, _)| *rate);
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "–".to_owned());
    println!("| orders | per request | concurrent requests | customers | raw insert_many, orders' indexes (docs/s) | raw insert_many, unique order id only (docs/s) | raw insert_many, with the new customers (orders/s) | pipeline end-to-end (orders/s) | pipeline / raw (orders' indexes) | pipeline / raw (unique id only) | pipeline / raw (with the new customers) | POST p50 | POST p95 | all posted after | all stored after | all totals folded in after |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {total} | {per_request} | {concurrency} | {customers} {} | {raw_rate:.0} | {raw_unique_id_rate:.0} | {} | {pipeline_rate:.0} | {:.0} % | {:.0} % | {} | {:.1} ms | {:.1} ms | {:.1} s | {:.1} s | {:.1} s |",
        if customers_exist { "imported first" } else { "created by the orders" },
        or_dash(with_customers_rate.map(|rate| format!("{rate:.0}"))),
        100.0 * pipeline_rate / raw_rate,
        100.0 * pipeline_rate / raw_unique_id_rate,
        or_dash(with_customers_rate.map(|rate| format!("{:.0} %", 100.0 * pipeline_rate / rate))),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.95).as_secs_f64() * 1000.0,
        all_posted.as_secs_f64(),
        all_stored.as_secs_f64(),
        all_folded.as_secs_f64(),
    );
    println!();
    println!("CPU time:");
    println!();
    println!("{}", pipeline_cpu.header());
    println!("{raw_cpu}");
    println!("{raw_unique_id_cpu}");
    if let Some((_, row)) = &with_new_customers {
        println!("{row}");
    }
    println!("{pipeline_cpu_row}");
}
