//! Shared by the benchmarks: settings from the environment, percentiles, and generated customers stored the way
//! the app stores them.

// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::{env, time::Duration, time::Instant};

use futures::{stream, StreamExt, TryStreamExt};
use leptos::server_fn::ServerFn;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use realm::{
    customers::server::{name_fields, of_orders::OrderCustomer, text_key},
    segments::rules::RuleGroup,
    server::mongo::{collections, Mongo},
};

use serde_json::{json, Value};

const CITIES: [&str; 8] = [
    "Berlin", "Paris", "Rome", "Madrid", "Oslo", "Lisbon", "Vienna", "Prague",
];
const DAY_MS: i64 = 86_400_000;
/// Documents per bulk insert.
const CHUNK: usize = 5_000;

pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Customer `n` as the app stores it: spread spend, order counts, dates, cities and tags; created at a moment
/// spread over the last `days` days.
pub fn customer_created_within(n: usize, now_ms: i64, days: i64) -> Document {
    let hash = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let orders = (hash % 12) as i64;
    let email = format!("bench{n}@example.com");
    let name = format!("Customer{} Bench{}", n % 1_000, n);
    let city = CITIES[(hash >> 8) as usize % CITIES.len()];
    let tags: Vec<&str> = match (hash >> 16) % 10 {
        0 => vec!["vip"],
        1 => vec!["vip", "newsletter"],
        2 => vec!["blocked"],
        3 | 4 => vec!["newsletter"],
        _ => vec![],
    };
    let mut document = name_fields(&name, &email);
    document.extend(doc! {
        "email": email,
        "city": city,
        "city_key": text_key(city),
        "tags": tags,
        "created_at": DateTime::from_millis(now_ms - ((hash >> 24) % (days * DAY_MS) as u64) as i64),
        "total_spend_cents": if orders == 0 { 0 } else { ((hash >> 32) % 500_000) as i64 },
        "order_count": orders,
    });
    if orders > 0 {
        document.insert(
            "last_order_at",
            DateTime::from_millis(now_ms - ((hash >> 40) % 365) as i64 * DAY_MS),
        );
        document.insert(
            "first_order_at",
            DateTime::from_millis(now_ms - ((hash >> 40) % 365 + 200) as i64 * DAY_MS),
        );
    }
    document
}

/// Adds generated customers until the collection holds `target`.
pub async fn fill_to(mongo: &Mongo, target: usize) {
    fill_created_within(mongo, target, 700).await;
}

/// Adds generated customers, created over the last `days` days, until the collection holds `target`.
pub async fn fill_created_within(mongo: &Mongo, target: usize, days: i64) {
    let customers = mongo.collection(collections::CUSTOMERS);
    let have = customers.count_documents(doc! {}).await.expect("count") as usize;
    let now_ms = DateTime::now().timestamp_millis();
    insert_numbered(&customers, have..target, "customers", |n| {
        customer_created_within(n, now_ms, days)
    })
    .await;
}

/// Inserts document `n` for every `n` of `range`, `CHUNK` at a time and two chunks at once, and says how long it
/// took.
async fn insert_numbered(
    collection: &mongodb::Collection<Document>,
    range: std::ops::Range<usize>,
    what: &str,
    document: impl Fn(usize) -> Document,
) {
    let started = Instant::now();
    let end = range.end;
    stream::iter(range.clone().step_by(CHUNK))
        .for_each_concurrent(2, |from| {
            let documents: Vec<Document> = (from..(from + CHUNK).min(end)).map(&document).collect();
            async move {
                collection
                    .insert_many(documents)
                    .ordered(false)
                    .await
                    .unwrap_or_else(|error| panic!("insert {what}: {error}"));
            }
        })
        .await;
    eprintln!(
        "stored {} {what} in {:.1} s",
        range.len(),
        started.elapsed().as_secs_f64()
    );
}

pub const OWNER_EMAIL: &str = "bench@example.com";
pub const OWNER_PASSWORD: &str = "benchmark password";

/// The running app's address (`BENCH_BASE_URL`) and its database (`REALM_MONGODB_URI`, `REALM_MONGODB_DB`, as
/// `bench/lib.sh` set them for the app), with the indexes in place and the owner account created.
pub async fn bench_database() -> (String, Mongo) {
    let base_url: String = setting("BENCH_BASE_URL", "http://127.0.0.1:3200".to_owned());
    let mongo_uri: String = setting("REALM_MONGODB_URI", "mongodb://127.0.0.1:27017".to_owned());
    let database: String = setting("REALM_MONGODB_DB", "realm_bench".to_owned());
    let mongo = Mongo::new(&mongo_uri, &database).await.expect("mongo");
    mongo.ensure_indexes().await.expect("indexes");
    let users = realm::auth::server::Accounts::new(&mongo).users;
    // A database kept between runs has its owner already.
    if users
        .find_by_email(OWNER_EMAIL)
        .await
        .expect("owner lookup")
        .is_none()
    {
        users
            .create_owner("Bench", OWNER_EMAIL, OWNER_PASSWORD)
            .await
            .expect("owner");
    }
    (base_url, mongo)
}

/// A new API key of the owner.
pub async fn owner_api_key(mongo: &Mongo) -> String {
    let accounts = realm::auth::server::Accounts::new(mongo);
    let owner = accounts
        .users
        .find_by_email(OWNER_EMAIL)
        .await
        .expect("owner lookup")
        .expect("owner");
    accounts
        .api_keys
        .create("benchmark", owner.id)
        .await
        .expect("key")
        .1
}

/// Signs the owner in at a running Realm and answers the session cookie to send with server-function calls.
pub async fn session_cookie(client: &reqwest::Client, base_url: &str) -> String {
    let response = client
        .post(format!("{base_url}{}", realm::auth::api::SignIn::PATH))
        .header("origin", base_url)
        .form(&[
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("realm_session="))
        .expect("session cookie");
    cookie.split(';').next().unwrap_or_default().to_owned()
}

/// Calls the server function at `path` with a JSON input, as the signed-in browser does, and answers its JSON reply.
pub async fn call_server_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    base_url: &str,
    cookie: &str,
    path: &str,
    body: String,
) -> T {
    let response = client
        .post(format!("{base_url}{path}"))
        .header("cookie", cookie)
        .header("origin", base_url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|error| panic!("{path}: {error}"));
    assert!(
        response.status().is_success(),
        "{path}: {:?}",
        response.text().await
    );
    response
        .json()
        .await
        .unwrap_or_else(|error| panic!("{path} answered: {error}"))
}

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`; `None` when the process is not
/// on this machine or not named.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // The fields after the command name, which is in parentheses and may itself contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Waits until the machine is idle (at least 1.8 of its 2 cores idle over 3 seconds), so that what the app does
/// at start (counting hours of new customers, segment sizes) is not timed as a page; gives up after 10 minutes.
pub async fn wait_until_idle() {
    let started = Instant::now();
    loop {
        let before = machine_idle_seconds();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let idle = machine_idle_seconds()
            .zip(before)
            .map(|(after, before)| (after - before) / 3.0);
        if idle.is_none_or(|idle| idle >= 1.8) {
            eprintln!("idle after {:.0} s", started.elapsed().as_secs_f64());
            return;
        }
        if started.elapsed() > Duration::from_secs(600) {
            eprintln!("still busy after 10 minutes; measuring anyway");
            return;
        }
    }
}

/// Seconds all cores together have been idle so far, from the `cpu` line of `/proc/stat` (idle and iowait).
fn machine_idle_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    Some((fields.get(3)? + fields.get(4)?) / clock_ticks_per_second())
}

/// Where the machine's CPU time goes while a phase of a benchmark runs: the named processes, and idle time.
pub struct CpuMeter {
    processes: Vec<(&'static str, Option<u32>)>,
    start: Vec<Option<f64>>,
    idle_start: Option<f64>,
    started: Instant,
}

impl CpuMeter {
    /// Processes by label and pid (from the environment variable `BENCH_<LABEL>_PID`, as `bench/lib.sh` sets
    /// them); the benchmark's own process is always counted.
    pub fn start(labels: &[(&'static str, &str)]) -> Self {
        let mut processes: Vec<(&'static str, Option<u32>)> = labels
            .iter()
            .map(|&(label, variable)| {
                (
                    label,
                    env::var(variable).ok().and_then(|pid| pid.parse().ok()),
                )
            })
            .collect();
        processes.push(("load generator", Some(std::process::id())));
        Self {
            start: processes.iter().map(|&(_, pid)| cpu_seconds(pid)).collect(),
            processes,
            idle_start: machine_idle_seconds(),
            started: Instant::now(),
        }
    }

    /// The table header of `row`.
    pub fn header(&self) -> String {
        let labels: Vec<&str> = self.processes.iter().map(|&(label, _)| label).collect();
        format!(
            "| phase | wall time | {} | idle (all cores) |\n|---|---:|{}---:|",
            labels.join(" | "),
            "---:|".repeat(labels.len())
        )
    }

    /// A table row of the CPU seconds used since `start` ("n/a" where a process could not be read).
    pub fn row(&self, phase: &str) -> String {
        let seconds = |now: Option<f64>, start: Option<f64>| match (now, start) {
            (Some(now), Some(start)) => format!("{:.1} s", now - start),
            _ => "n/a".to_owned(),
        };
        let used: Vec<String> = self
            .processes
            .iter()
            .zip(&self.start)
            .map(|(&(_, pid), &start)| seconds(cpu_seconds(pid), start))
            .collect();
        format!(
            "| {phase} | {:.1} s | {} | {} |",
            self.started.elapsed().as_secs_f64(),
            used.join(" | "),
            seconds(machine_idle_seconds(), self.idle_start)
        )
    }
}

/// The ids of every stored customer.
pub async fn customer_ids(mongo: &Mongo) -> Vec<OrderCustomer> {
    mongo
        .collection(collections::CUSTOMERS)
        .find(doc! {})
        .projection(doc! { "email": 1 })
        .await
        .expect("customers")
        .try_collect::<Vec<Document>>()
        .await
        .expect("customer ids")
        .iter()
        .filter_map(|customer| {
            Some(OrderCustomer::new(
                customer.get_object_id("_id").ok()?,
                customer.get_str("email").ok()?,
            ))
        })
        .collect()
}

/// Stores orders number `range` (the same order for the same number), placed by the given customers over the last
/// year.
pub async fn store_orders(
    mongo: &Mongo,
    customers: &[OrderCustomer],
    range: std::ops::Range<usize>,
) {
    let now_ms = DateTime::now().timestamp_millis();
    insert_numbered(&mongo.collection(collections::ORDERS), range, "orders", |n| {
        let hash = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let customer = customers[(hash % customers.len() as u64) as usize];
        doc! {
            "order_id": format!("bench-{n}"),
            "batch_id": format!("bench-batch-{}", n / 1_000),
            "customer_id": customer.id,
            "sample_bucket": customer.sample_bucket,
            "amount_cents": 500 + ((hash >> 16) % 50_000) as i64,
            "item_count": 1 + ((hash >> 8) % 5) as i64,
            "items": [],
            "ordered_at": DateTime::from_millis(now_ms - ((hash >> 24) % (365 * DAY_MS as u64)) as i64),
            "stored_at": DateTime::now(),
        }
    })
    .await;
}

/// Completed campaigns, each with `messages` messages to the first customers.
pub async fn launch_campaigns(
    mongo: &Mongo,
    customers: &[OrderCustomer],
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
                    "campaign_id": id, "customer_id": customer.id, "sample_bucket": customer.sample_bucket,
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

/// Twenty segments of everyone, counted.
pub async fn count_segments(mongo: &Mongo) {
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

pub fn condition(field: &str, operator: &str, value: &str) -> Value {
    json!({ "kind": "condition", "field": field, "operator": operator, "value": value })
}

/// The rules the segment benchmarks count: one condition on an indexed field, on a list, on tags, a nested rule
/// with a negated group, and a text search.
pub fn segment_rules() -> Vec<(&'static str, RuleGroup)> {
    let all = |rules: Vec<Value>| json!({ "combinator": "all", "rules": rules });
    let cases = [
        (
            "total spend > 2,500",
            all(vec![condition("total_spend", "gt", "2500")]),
        ),
        (
            "city is one of Berlin, Paris",
            all(vec![condition("city", "in_list", "Berlin, Paris")]),
        ),
        (
            "tags has any of vip",
            all(vec![condition("tags", "has_any", "vip")]),
        ),
        (
            "spend > 1,000 and (orders < 3 or last order > 90 days ago) and not blocked",
            all(vec![
                condition("total_spend", "gt", "1000"),
                json!({ "kind": "group", "combinator": "any", "rules": [
                    condition("order_count", "lt", "3"),
                    condition("last_order_at", "more_than_days_ago", "90"),
                ] }),
                json!({ "kind": "group", "combinator": "all", "negated": true, "rules": [condition("tags", "has_any", "blocked")] }),
            ]),
        ),
        (
            "name contains \"bench12\"",
            all(vec![condition("name", "contains", "bench12")]),
        ),
    ];
    cases
        .into_iter()
        .map(|(label, rule)| (label, serde_json::from_value(rule).expect("rule")))
        .collect()
}
