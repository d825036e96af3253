//! Segment preview latency: the audience count (and sample) of a rule through the `preview_segment` server
//! function of a running Realm, beside the raw `count_documents` of the same compiled filter against the same
//! database server in the same run, at each customer count of `BENCH_CUSTOMER_SIZES` (default 100,000 and
//! 1,000,000). Run through `bench/segments.sh`, which starts the server.

use std::{
    env,
    time::{Duration, Instant},
};

use futures::{stream, StreamExt};
use leptos::server_fn::ServerFn;
use mongodb::bson::{doc, DateTime, Document};
use realm::{
    segments::{rules::RuleGroup, PreviewSegment},
    server::{
        customers::{name_fields, text_key},
        mongo::{collections, Mongo},
        segments::rule_filter,
    },
};
use serde_json::{json, Value};

const OWNER_EMAIL: &str = "bench@example.com";
const OWNER_PASSWORD: &str = "benchmark password";
const CITIES: [&str; 8] = ["Berlin", "Paris", "Rome", "Madrid", "Oslo", "Lisbon", "Vienna", "Prague"];
const DAY_MS: i64 = 86_400_000;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Customer `n` as the app stores it: spread spend, order counts, dates, cities and tags.
fn customer(n: usize, now_ms: i64) -> Document {
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
        "created_at": DateTime::from_millis(now_ms - ((hash >> 24) % 700) as i64 * DAY_MS),
        "total_spend_cents": if orders == 0 { 0 } else { ((hash >> 32) % 500_000) as i64 },
        "order_count": orders,
    });
    if orders > 0 {
        document.insert("last_order_at", DateTime::from_millis(now_ms - ((hash >> 40) % 365) as i64 * DAY_MS));
        document.insert("first_order_at", DateTime::from_millis(now_ms - ((hash >> 40) % 365 + 200) as i64 * DAY_MS));
    }
    document
}

/// Adds generated customers until the collection holds `target`.
async fn fill_to(mongo: &Mongo, target: usize) {
    let customers = mongo.collection(collections::CUSTOMERS);
    let have = customers.count_documents(doc! {}).await.expect("count") as usize;
    let now_ms = DateTime::now().timestamp_millis();
    let started = Instant::now();
    stream::iter((have..target).step_by(5_000))
        .for_each_concurrent(2, |from| {
            let customers = customers.clone();
            async move {
                let documents: Vec<Document> = (from..(from + 5_000).min(target)).map(|n| customer(n, now_ms)).collect();
                customers.insert_many(documents).ordered(false).await.expect("insert customers");
            }
        })
        .await;
    eprintln!("filled to {target} customers in {:.1} s", started.elapsed().as_secs_f64());
}

fn condition(field: &str, operator: &str, value: &str) -> Value {
    json!({ "kind": "condition", "field": field, "operator": operator, "value": value })
}

fn rules() -> Vec<(&'static str, RuleGroup)> {
    let all = |rules: Vec<Value>| json!({ "combinator": "all", "rules": rules });
    let cases = [
        ("total spend > 2,500", all(vec![condition("total_spend", "gt", "2500")])),
        ("city is one of Berlin, Paris", all(vec![condition("city", "in_list", "Berlin, Paris")])),
        ("tags has any of vip", all(vec![condition("tags", "has_any", "vip")])),
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
        ("name contains \"bench12\"", all(vec![condition("name", "contains", "bench12")])),
    ];
    cases.into_iter().map(|(label, rule)| (label, serde_json::from_value(rule).expect("rule"))).collect()
}

async fn session_cookie(client: &reqwest::Client, base_url: &str) -> String {
    let response = client
        .post(format!("{base_url}{}", realm::pages::sign_in::SignIn::PATH))
        .header("origin", base_url)
        .form(&[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD), ("next", "/")])
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

#[tokio::main]
async fn main() {
    let base_url: String = setting("BENCH_BASE_URL", "http://127.0.0.1:3200".to_owned());
    let mongo_uri: String = setting("REALM_MONGODB_URI", "mongodb://127.0.0.1:27017".to_owned());
    let database: String = setting("REALM_MONGODB_DB", "realm_bench".to_owned());
    let sizes: Vec<usize> = setting("BENCH_CUSTOMER_SIZES", "100000,1000000".to_owned())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect();
    let runs: usize = setting("BENCH_RUNS", 30);

    let mongo = Mongo::new(&mongo_uri, &database).await.expect("mongo");
    mongo.ensure_indexes().await.expect("indexes");
    realm::server::auth::Accounts::new(&mongo)
        .users
        .create_owner("Bench", OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .expect("owner");
    let client = reqwest::Client::new();
    let cookie = session_cookie(&client, &base_url).await;
    let customers = mongo.collection(collections::CUSTOMERS);

    println!("| customers | rule | matching | server function p50 | p95 | raw count_documents p50 | p95 | p50 ratio |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        fill_to(&mongo, size).await;
        for (label, rule) in rules() {
            let body = json!({ "rule": rule }).to_string();
            let (mut through_app, mut raw) = (Vec::new(), Vec::new());
            let mut matching = 0;
            // The first two rounds warm caches on both paths and are not counted; the paths then alternate.
            for round in 0..runs + 2 {
                let started = Instant::now();
                let response = client
                    .post(format!("{base_url}{}", PreviewSegment::PATH))
                    .header("cookie", &cookie)
                    .header("origin", &base_url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("preview");
                assert!(response.status().is_success(), "{:?}", response.text().await);
                let preview: Value = response.json().await.expect("preview JSON");
                let app_time = started.elapsed();

                let filter = rule_filter(&rule).expect("rule");
                let started = Instant::now();
                let count = customers.count_documents(filter).await.expect("count");
                let raw_time = started.elapsed();
                assert_eq!(preview["count"].as_u64(), Some(count), "{label}");
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
