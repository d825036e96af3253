//! Bulk order ingestion end to end: REST API → RabbitMQ → consumer → MongoDB, against the real services.

mod common;

use std::{collections::HashMap, time::Duration};

use axum::http::StatusCode;
use common::{Credentials, TestApp};
use futures::TryStreamExt;
use lapin::{options::BasicGetOptions, BasicProperties};
use mongodb::bson::{doc, Document};
use realm::server::mongo::collections;
use serde_json::{json, Value};

async fn customer(app: &TestApp, email: &str) -> Document {
    app.mongo()
        .collection(collections::CUSTOMERS)
        .find_one(doc! { "email": email })
        .await
        .unwrap()
        .expect(email)
}

/// A customer's total spend in cents and order count.
fn spend_and_orders(customer: &Document) -> (i64, i64) {
    (
        customer.get_i64("total_spend_cents").unwrap(),
        customer.get_i64("order_count").unwrap(),
    )
}

async fn count(app: &TestApp, collection: &str, filter: Document) -> u64 {
    app.mongo()
        .collection(collection)
        .count_documents(filter)
        .await
        .unwrap()
}

/// Puts a message on the orders queue as RabbitMQ would redeliver it.
async fn queue_message(app: &TestApp, payload: &[u8]) {
    app.state
        .broker
        .publish_confirmed(
            "",
            &app.state.broker.topology().orders_queue,
            payload,
            BasicProperties::default(),
        )
        .await
        .unwrap();
}

/// Orders and revenue over every day the consumer has added batches to.
async fn day_totals(app: &TestApp) -> (i64, i64) {
    let days = app.documents(collections::ORDER_DAYS, doc! {}).await;
    days.iter().fold((0, 0), |(orders, revenue), day| {
        (
            orders + day.get_i64("orders").unwrap(),
            revenue + day.get_i64("revenue_cents").unwrap(),
        )
    })
}

#[tokio::test]
async fn accepted_orders_are_stored_and_customer_totals_follow_them() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let body = json!({ "orders": [
        { "customer_email": "ada@example.com", "customer_name": "Ada Lovelace", "amount": 120.50, "items": 2, "date": "2026-11-01T10:00:00Z", "order_id": "A-1" },
        { "customerEmail": "ada@example.com", "amount": "79.50", "items": [{"sku": "T-1", "name": "Tea", "quantity": 3, "unit_price": "26.50"}], "date": "2026-11-20" },
        { "customer_email": "bob@example.com", "amount": 10, "items": 1 }
    ]});

    let reply = app.post_json("/api/orders", &body, &key).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let accepted = reply.json();
    assert_eq!(accepted["accepted"], 3);
    let status_url = accepted["status_url"].as_str().unwrap();
    assert_eq!(
        status_url,
        format!(
            "/api/orders/batches/{}",
            accepted["batch_id"].as_str().unwrap()
        )
    );

    let batch = app.finished_batch(status_url, &key).await;
    assert_eq!(batch["status"], "completed", "{batch}");
    assert_eq!(
        (
            batch["total"].as_u64(),
            batch["stored"].as_u64(),
            batch["duplicates"].as_u64()
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(batch["rejected"], json!([]));
    assert!(batch["processing_ms"].as_i64().is_some());

    let ada = customer(&app, "ada@example.com").await;
    assert_eq!(ada.get_str("name").unwrap(), "Ada Lovelace");
    assert_eq!(ada.get_i64("total_spend_cents").unwrap(), 20_000);
    assert_eq!(ada.get_i64("order_count").unwrap(), 2);
    assert_eq!(
        ada.get_datetime("first_order_at")
            .unwrap()
            .try_to_rfc3339_string()
            .unwrap(),
        "2026-11-01T10:00:00Z"
    );
    assert_eq!(
        ada.get_datetime("last_order_at")
            .unwrap()
            .try_to_rfc3339_string()
            .unwrap(),
        "2026-11-20T00:00:00Z"
    );
    let bob = customer(&app, "bob@example.com").await;
    assert_eq!(spend_and_orders(&bob), (1_000, 1));
    assert_eq!(
        bob.get_str("name").unwrap(),
        "bob",
        "a nameless customer is named after their email"
    );

    let stored = app
        .mongo()
        .collection(collections::ORDERS)
        .find_one(doc! { "order_id": "A-1" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_i64("amount_cents").unwrap(), 12_050);
    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 3);

    app.stop().await;
}

#[tokio::test]
async fn invalid_orders_are_rejected_with_their_index_and_reason_and_the_rest_are_stored() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let existing = app
        .mongo()
        .collection(collections::CUSTOMERS)
        .insert_one(doc! { "email": "carol@example.com", "name": "Carol", "total_spend_cents": 0_i64, "order_count": 0_i64 })
        .await
        .unwrap()
        .inserted_id
        .as_object_id()
        .unwrap()
        .to_hex();
    let body = json!({ "orders": [
        { "customer_id": existing, "amount": 50, "items": 1, "order_id": "ok-1" },
        { "customer_email": "dan@example.com", "amount": 0, "items": 1, "order_id": "bad-amount" },
        { "customer_id": "ffffffffffffffffffffffff", "amount": 5, "items": 1, "order_id": "unknown-customer" },
        { "amount": 5, "items": 1 },
        { "customer_email": "dan@example.com", "amount": 12.345, "items": 1 },
        { "customer_email": "dan@example.com", "amount": 5, "items": 2, "date": "yesterday" },
        { "customer_email": "erin@example.com", "amount": 5, "items": 1, "order_id": "ok-2" }
    ]});
    let accepted = app.post_json("/api/orders", &body, &key).await.json();
    let batch = app
        .finished_batch(accepted["status_url"].as_str().unwrap(), &key)
        .await;

    assert_eq!(batch["status"], "completed_with_errors", "{batch}");
    assert_eq!(batch["stored"], 2);
    let rejected: Vec<(u64, String)> = batch["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, "amount: must be greater than 0".to_owned()),
            (
                2,
                "customer_id: no customer has the id \"ffffffffffffffffffffffff\"".to_owned()
            ),
            (
                3,
                "customer_id or customer_email: one of them is required".to_owned()
            ),
            (4, "amount: at most two decimals, got 12.345".to_owned()),
            (
                5,
                "date: expected an ISO 8601 date such as 2026-11-27 or 2026-11-27T14:30:00Z"
                    .to_owned()
            ),
        ]
    );
    assert_eq!(batch["rejected"][1]["order_id"], "unknown-customer");
    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 2);
    // Each order carries its customer's sample bucket, whether it named them by id or by email.
    for (order_id, email) in [("ok-1", "carol@example.com"), ("ok-2", "erin@example.com")] {
        let stored = app
            .documents(collections::ORDERS, doc! { "order_id": order_id })
            .await;
        assert_eq!(
            stored[0].get_i32("sample_bucket"),
            Ok(realm::customers::server::sampling::sample_bucket(email)),
            "{stored:?}"
        );
    }
    assert_eq!(
        customer(&app, "carol@example.com")
            .await
            .get_i64("total_spend_cents")
            .unwrap(),
        5_000
    );
    assert_eq!(
        count(
            &app,
            collections::CUSTOMERS,
            doc! { "email": "dan@example.com" }
        )
        .await,
        0,
        "a customer was created from rejected orders only"
    );

    app.stop().await;
}

#[tokio::test]
async fn a_bad_envelope_is_refused_at_once_and_nothing_is_published() {
    let app = TestApp::start().await;
    let key = app.api_key().await;

    let not_array = app
        .post_json("/api/orders", &json!({ "orders": { "amount": 1 } }), &key)
        .await;
    assert_eq!(not_array.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        not_array.json(),
        json!({
            "error": "orders: expected an array of orders", "field": "orders",
            "success": false, "message": "orders: expected an array of orders",
        })
    );
    let empty = app
        .post_json("/api/orders", &json!({ "orders": [] }), &key)
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty.json()["error"], "orders: the list is empty");
    let too_many = app
        .post_json(
            "/api/orders",
            &json!({ "orders": vec![json!({"amount": 1}); 10_001] }),
            &key,
        )
        .await;
    assert_eq!(too_many.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_many.json()["error"]
        .as_str()
        .unwrap()
        .contains("at most 10000"));
    let not_json = app
        .send(
            axum::http::Request::post("/api/orders")
                .header("host", common::HOST)
                .header("authorization", format!("Bearer {key}"))
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    let anonymous = app
        .post_json("/api/orders", &json!({ "orders": [{}] }), "realm_wrong")
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    assert_eq!(count(&app, collections::ORDER_BATCHES, doc! {}).await, 0);
    let channel = app.state.broker.channel().unwrap();
    let queued = channel
        .basic_get(
            app.state.broker.topology().orders_queue.as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap();
    assert!(queued.is_none(), "a refused submission reached the queue");

    app.stop().await;
}

#[tokio::test]
async fn a_csv_upload_is_accepted_like_json() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let csv = "customer_email,amount,items,date,order_id\nfay@example.com,19.99,1,2026-10-05,C-1\nfay@example.com,5.01,3,2026-10-06,C-2\n";
    let reply = app
        .send(
            axum::http::Request::post("/api/orders")
                .header("host", common::HOST)
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "text/csv")
                .body(axum::body::Body::from(csv))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let batch = app
        .finished_batch(reply.json()["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(batch["stored"], 2);
    assert_eq!(
        customer(&app, "fay@example.com")
            .await
            .get_i64("total_spend_cents")
            .unwrap(),
        2_500
    );
    app.stop().await;
}

#[tokio::test]
async fn the_same_message_delivered_twice_and_a_resent_batch_change_nothing() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let orders = json!({ "orders": [
        { "customer_email": "gus@example.com", "amount": 30, "items": 1, "order_id": "R-1" },
        { "customer_email": "gus@example.com", "amount": 20, "items": 1, "order_id": "R-2" }
    ]});
    let first = app.post_json("/api/orders", &orders, &key).await.json();
    let first_batch = app
        .finished_batch(first["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(first_batch["stored"], 2);

    // Redelivery: the very same message again, as RabbitMQ would after a lost acknowledgement.
    let message = json!({
        "batch_id": first["batch_id"],
        "received_at_ms": 1_790_000_000_000_i64,
        "orders": orders["orders"],
    });
    queue_message(&app, message.to_string().as_bytes()).await;
    let settled = common::eventually(Duration::from_secs(15), || async {
        let channel = app.state.broker.channel().unwrap();
        let queue = app.state.broker.topology().orders_queue.clone();
        channel
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .map(|q| q.message_count() == 0)
            .unwrap_or(false)
    })
    .await;
    assert!(settled);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let redelivered = app
        .get(
            first["status_url"].as_str().unwrap(),
            Credentials::Bearer(&key),
        )
        .await
        .json();
    assert_eq!(
        (
            redelivered["stored"].as_u64(),
            redelivered["duplicates"].as_u64()
        ),
        (Some(2), Some(0)),
        "{redelivered}"
    );

    // A client sending the same orders again: a new batch whose orders are all duplicates.
    let resent = app.post_json("/api/orders", &orders, &key).await.json();
    let resent_batch = app
        .finished_batch(resent["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(
        (
            resent_batch["stored"].as_u64(),
            resent_batch["duplicates"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(resent_batch["status"], "completed");

    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 2);
    assert_eq!(day_totals(&app).await, (2, 5_000));
    assert_eq!(
        realm::orders::server::daily::total(app.mongo())
            .await
            .unwrap(),
        2
    );
    let gus = customer(&app, "gus@example.com").await;
    assert_eq!(spend_and_orders(&gus), (5_000, 2));

    app.stop().await;
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_with_its_reason_and_the_consumer_goes_on() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let topology = app.state.broker.topology().clone();
    queue_message(&app, b"\x00 not json").await;

    let next = app.post_json("/api/orders", &json!({ "orders": [{ "customer_email": "hal@example.com", "amount": 1, "items": 1 }] }), &key).await.json();
    assert_eq!(
        app.finished_batch(next["status_url"].as_str().unwrap(), &key)
            .await["status"],
        "completed"
    );

    let channel = app.state.broker.channel().unwrap();
    let dead = channel
        .basic_get(
            topology.dead_letter_queue.as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("the poison message is in the dead-letter queue");
    assert_eq!(dead.delivery.data, b"\x00 not json");
    let headers = dead.delivery.properties.headers().clone().expect("headers");
    let Some(lapin::types::AMQPValue::LongString(reason)) = headers.inner().get("x-realm-reason")
    else {
        panic!("no reason header: {headers:?}");
    };
    let reason = String::from_utf8_lossy(reason.as_bytes()).into_owned();
    assert!(
        reason.starts_with("not an order batch: expected value"),
        "{reason}"
    );

    app.stop().await;
}

#[tokio::test]
async fn stopping_the_app_mid_batch_and_starting_it_again_stores_every_order_exactly_once() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let customers = 50;
    let mut expected_spend: HashMap<String, i64> = HashMap::new();
    let mut status_urls = Vec::new();
    for batch in 0..5 {
        let orders: Vec<Value> = (0..2_000)
            .map(|i| {
                let email = format!("c{}@example.com", (batch * 2_000 + i) % customers);
                let cents = 100 + ((batch * 7 + i) % 900) as i64;
                *expected_spend.entry(email.clone()).or_default() += cents;
                json!({ "customer_email": email, "amount": format!("{}.{:02}", cents / 100, cents % 100), "items": 1 })
            })
            .collect();
        let reply = app
            .post_json("/api/orders", &json!({ "orders": orders }), &key)
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        status_urls.push(reply.json()["status_url"].as_str().unwrap().to_owned());
    }
    // Stop while batches are still queued or in hand, then start a fresh instance on the same database and queue.
    let restarted = TestApp::start_with(app.shut_down().await).await;

    for url in &status_urls {
        let batch = restarted.finished_batch(url, &key).await;
        assert_eq!(batch["status"], "completed", "{batch}");
        assert_eq!(batch["stored"], 2_000, "{batch}");
        assert_eq!(batch["duplicates"], 0, "{batch}");
    }
    assert_eq!(
        count(&restarted, collections::ORDERS, doc! {}).await,
        10_000
    );
    let mut found = restarted
        .mongo()
        .collection(collections::CUSTOMERS)
        .find(doc! {})
        .await
        .unwrap();
    let mut seen = 0;
    while let Some(customer) = found.try_next().await.unwrap() {
        let email = customer.get_str("email").unwrap();
        assert_eq!(
            customer.get_i64("total_spend_cents").unwrap(),
            expected_spend[email],
            "{email}"
        );
        assert_eq!(customer.get_i64("order_count").unwrap(), 200, "{email}");
        seen += 1;
    }
    assert_eq!(seen, customers);
    restarted.stop().await;
}

#[tokio::test]
async fn when_rabbitmq_is_down_the_api_answers_503_and_the_batch_is_marked_failed() {
    let config = realm::server::config::Config {
        amqp_url: "amqp://guest:guest@127.0.0.1:9/%2f".to_owned(),
        ..common::isolated_config()
    };
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;
    let reply = app.post_json("/api/orders", &json!({ "orders": [{ "customer_email": "ivy@example.com", "amount": 1, "items": 1 }] }), &key).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("order queue is unavailable"));
    let batch = app
        .mongo()
        .collection(collections::ORDER_BATCHES)
        .find_one(doc! {})
        .await
        .unwrap()
        .expect("a batch record");
    assert_eq!(batch.get_str("status").unwrap(), "failed");
    assert!(batch.get_str("error").unwrap().starts_with("not queued"));
    common::drop_database(&app.shut_down().await).await;
}

#[tokio::test]
async fn a_batch_half_stored_before_a_crash_is_completed_exactly_once_on_redelivery() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let orders: Vec<Value> = (0..100)
        .map(|i| json!({ "customer_email": format!("k{}@example.com", i % 10), "amount": "10.00", "items": 1, "order_id": format!("K-{i}") }))
        .collect();
    let message = realm::orders::server::OrderBatchMessage {
        batch_id: "crashed-batch".to_owned(),
        received_at_ms: 1_790_000_000_000,
        orders: orders.clone(),
    };
    // What a process that died after inserting 60 of the orders (before adding them to the customers' totals and
    // before acknowledging) leaves behind.
    let customers = app.mongo().collection(collections::CUSTOMERS);
    let mut customer_ids = Vec::new();
    for i in 0..10 {
        let created = customers
            .insert_one(doc! { "email": format!("k{i}@example.com"), "name": format!("K{i}"), "total_spend_cents": 0_i64, "order_count": 0_i64 })
            .await
            .unwrap();
        customer_ids.push(created.inserted_id.as_object_id().unwrap());
    }
    let stored_before_crash: Vec<Document> = (0..60)
        .map(|i| doc! {
            "order_id": format!("K-{i}"), "batch_id": "crashed-batch", "customer_id": customer_ids[i % 10],
            "amount_cents": 1_000_i64, "item_count": 1_i64, "items": [],
            "ordered_at": mongodb::bson::DateTime::from_millis(1_790_000_000_000), "stored_at": mongodb::bson::DateTime::now(),
        })
        .collect();
    app.insert_documents(collections::ORDERS, stored_before_crash)
        .await;
    app.mongo()
        .collection(collections::ORDER_BATCHES)
        .insert_one(doc! { "_id": "crashed-batch", "status": "processing", "total": 100_i64, "stored": 0_i64, "duplicates": 0_i64,
            "rejected": [], "source": "api", "submitted_by": "tests", "received_at": mongodb::bson::DateTime::now(),
            "started_at": mongodb::bson::DateTime::now() })
        .await
        .unwrap();

    // RabbitMQ redelivers the whole message.
    queue_message(&app, &serde_json::to_vec(&message).unwrap()).await;
    let batch = app
        .finished_batch("/api/orders/batches/crashed-batch", &key)
        .await;
    assert_eq!(
        (batch["stored"].as_u64(), batch["duplicates"].as_u64()),
        (Some(100), Some(0)),
        "{batch}"
    );
    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 100);
    assert_eq!(day_totals(&app).await, (100, 100_000));
    for i in 0..10 {
        let customer = customer(&app, &format!("k{i}@example.com")).await;
        assert_eq!(spend_and_orders(&customer), (10_000, 10));
    }
    app.stop().await;
}

/// Has RabbitMQ itself close this app's connection, as a broker restart or a network cut would.
fn drop_connection_named(name: &str) {
    let listing = std::process::Command::new("rabbitmqctl")
        .args(["-q", "list_connections", "pid", "client_properties"])
        .output()
        .expect("rabbitmqctl runs");
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let pid = listing
        .lines()
        .find(|line| line.contains(&format!("\"{name}\"")))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("no connection named {name:?} in {listing}"));
    let closed = std::process::Command::new("rabbitmqctl")
        .args(["close_connection", pid, "test: connection dropped"])
        .status()
        .expect("rabbitmqctl runs");
    assert!(closed.success());
}

#[tokio::test]
async fn the_consumer_resumes_after_rabbitmq_drops_the_connection() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let broker = app.state.broker.clone();
    assert!(common::eventually(Duration::from_secs(15), || async { broker.is_connected() }).await);
    let before = app.post_json("/api/orders", &json!({ "orders": [{ "customer_email": "lee@example.com", "amount": 1, "items": 1 }] }), &key).await.json();
    assert_eq!(
        app.finished_batch(before["status_url"].as_str().unwrap(), &key)
            .await["status"],
        "completed"
    );

    drop_connection_named(&format!("realm {}", broker.topology().orders_queue));

    // While the app reconnects, submissions get 503 and nothing is accepted; a client sends again.
    let order = json!({ "orders": [{ "customer_email": "lee@example.com", "amount": 2, "items": 1, "order_id": "after-drop" }] });
    let mut accepted = None;
    for _ in 0..100 {
        let reply = app.post_json("/api/orders", &order, &key).await;
        if reply.status == StatusCode::ACCEPTED {
            accepted = Some(reply.json());
            break;
        }
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let accepted = accepted.expect("submissions were never accepted again after the drop");
    let batch = app
        .finished_batch(accepted["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(
        batch["status"], "completed",
        "the consumer did not resume: {batch}"
    );
    assert_eq!(
        customer(&app, "lee@example.com")
            .await
            .get_i64("total_spend_cents")
            .unwrap(),
        300
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stored_batch_counts_in_the_day_figures_at_once_and_is_folded_into_the_totals_exactly_once(
) {
    use realm::orders::server::{
        batches::{BatchOutcome, Batches},
        daily,
        totals::{self, CustomerPart, DayPart, PendingTotals},
    };
    // No app: nothing folds behind the test's back.
    let config = common::isolated_config();
    let mongo = realm::server::mongo::Mongo::new(&config.mongodb_uri, &config.mongodb_database)
        .await
        .unwrap();
    mongo.ensure_indexes().await.unwrap();
    let now = mongodb::bson::DateTime::now();
    let today = totals::day_of(now);
    let customers = mongo.collection(collections::CUSTOMERS);
    let ada = customers
        .insert_one(doc! { "email": "ada@example.com", "name": "Ada", "total_spend_cents": 1_000_i64, "order_count": 2_i64,
            "first_order_at": today, "last_order_at": today })
        .await
        .unwrap()
        .inserted_id
        .as_object_id()
        .unwrap();
    mongo
        .collection(collections::ORDER_DAYS)
        .insert_one(doc! { "_id": today, "orders": 2_i64, "revenue_cents": 1_000_i64 })
        .await
        .unwrap();
    let pending = PendingTotals {
        customers: vec![CustomerPart {
            customer_id: ada,
            spend_cents: 350,
            orders: 1,
            first_order_at: now,
            last_order_at: now,
        }],
        days: vec![DayPart {
            day: today,
            orders: 1,
            revenue_cents: 350,
        }],
    };
    let batches = mongo.collection(collections::ORDER_BATCHES);
    batches
        .insert_one(doc! { "_id": "pending-batch", "status": "processing", "received_at": now })
        .await
        .unwrap();
    let outcome = BatchOutcome {
        stored: 1,
        totals: pending.clone(),
        ..BatchOutcome::default()
    };
    Batches::new(&mongo)
        .finish("pending-batch", &outcome)
        .await
        .unwrap();
    // A record written before the parts had a collection of their own.
    batches
        .insert_one(
            doc! { "_id": "legacy-batch", "status": "completed", "received_at": now,
            "totals_pending": true, "pending_totals": mongodb::bson::to_bson(&pending).unwrap() },
        )
        .await
        .unwrap();

    let before = daily::per_day(&mongo, 7).await.unwrap();
    let today_figures = before.last().unwrap();
    assert_eq!(
        (today_figures.orders, today_figures.revenue_cents),
        (4, 1_700),
        "pending batches count in the day figures"
    );

    // Two folds at once, as two app instances would run them: the batch is added by one of them only.
    let (first, second) = tokio::join!(totals::fold_pending(&mongo), totals::fold_pending(&mongo));
    assert_eq!(first.unwrap().batches + second.unwrap().batches, 2);
    assert_eq!(totals::fold_pending(&mongo).await.unwrap().batches, 0);
    // The message delivered again after the fold: the batch is not made pending, and its part is not left behind.
    Batches::new(&mongo)
        .finish("pending-batch", &outcome)
        .await
        .unwrap();
    assert_eq!(totals::fold_pending(&mongo).await.unwrap().batches, 0);
    let parts_left = mongo
        .collection(collections::BATCH_TOTALS)
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(parts_left, 0, "parts are removed once folded in");

    let folded = customers
        .find_one(doc! { "_id": ada })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            folded.get_i64("total_spend_cents").unwrap(),
            folded.get_i64("order_count").unwrap(),
            *folded.get_datetime("last_order_at").unwrap(),
        ),
        (1_700, 4, now)
    );
    assert_eq!(daily::per_day(&mongo, 7).await.unwrap(), before);
    let day = mongo
        .collection(collections::ORDER_DAYS)
        .find_one(doc! { "_id": today })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(day.get_i64("orders").unwrap(), 4);
    for id in ["pending-batch", "legacy-batch"] {
        let batch = batches.find_one(doc! { "_id": id }).await.unwrap().unwrap();
        assert!(batch.get_datetime("totals_applied_at").is_ok(), "{batch}");
        assert!(!batch.contains_key("pending_totals") && !batch.contains_key("totals_pending"));
    }

    common::drop_database(&config).await;
}

#[tokio::test]
async fn orders_queued_while_mongodb_is_down_are_stored_once_it_is_back() {
    let mut mongod = common::OwnMongod::start().await;
    let config = realm::server::config::Config {
        mongodb_uri: mongod.uri(),
        ..common::isolated_config()
    };
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;
    let before = app
        .post_json("/api/orders", &json!({ "orders": [{ "customer_email": "una@example.com", "amount": "5.00", "items": 1 }] }), &key)
        .await;
    assert_eq!(before.status, StatusCode::ACCEPTED, "{}", before.body);
    app.finished_batch(before.json()["status_url"].as_str().unwrap(), &key)
        .await;
    // A batch accepted just before the outage, whose message is still on the queue when the database goes away.
    app.mongo()
        .collection(collections::ORDER_BATCHES)
        .insert_one(doc! { "_id": "outage-batch", "status": "queued", "total": 40_i64, "stored": 0_i64, "duplicates": 0_i64,
            "rejected": [], "source": "api", "submitted_by": "tests", "received_at": mongodb::bson::DateTime::now() })
        .await
        .unwrap();
    let orders: Vec<Value> = (0..40)
        .map(|i| json!({ "customer_email": format!("o{}@example.com", i % 4), "amount": "2.50", "items": 1, "order_id": format!("O-{i}") }))
        .collect();
    let message = realm::orders::server::OrderBatchMessage {
        batch_id: "outage-batch".to_owned(),
        received_at_ms: 1_790_000_000_000,
        orders,
    };

    mongod.stop();
    queue_message(&app, &serde_json::to_vec(&message).unwrap()).await;
    // New submissions are refused while the batch cannot be recorded, and the consumer keeps the queued one.
    let refused = app
        .post_json("/api/orders", &json!({ "orders": [{ "customer_email": "una@example.com", "amount": "1.00", "items": 1 }] }), &key)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("database"),
        "{}",
        refused.body
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    mongod.start_again().await;
    let batch = app
        .finished_batch("/api/orders/batches/outage-batch", &key)
        .await;
    assert_eq!(batch["status"], "completed", "{batch}");
    assert_eq!(
        (batch["stored"].as_u64(), batch["duplicates"].as_u64()),
        (Some(40), Some(0)),
        "{batch}"
    );
    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 41);
    for i in 0..4 {
        let customer = customer(&app, &format!("o{i}@example.com")).await;
        assert_eq!(spend_and_orders(&customer), (2_500, 10));
    }
    app.stop().await;
}

#[tokio::test]
async fn the_history_filters_by_email_prefix_and_refuses_a_prefix_too_many_customers_share() {
    use realm::orders::server::history::{self, OrderFilter, MAX_CUSTOMERS_PER_PREFIX};

    let app = TestApp::start().await;
    let key = app.api_key().await;
    let crowd: Vec<Document> = (0..=MAX_CUSTOMERS_PER_PREFIX)
        .map(|i| doc! { "email": format!("crowd{i:05}@example.com"), "name": format!("Crowd {i}") })
        .collect();
    app.insert_documents(collections::CUSTOMERS, crowd).await;
    let body = json!({ "orders": [
        { "customer_email": "crowd00042@example.com", "amount": 10, "items": 1, "date": "2026-11-01", "order_id": "P-1" },
        { "customer_email": "crowd00043@example.com", "amount": 20, "items": 1, "date": "2026-11-02", "order_id": "P-2" },
        { "customer_email": "loner@example.com", "amount": 30, "items": 1, "order_id": "P-3" }
    ]});
    let reply = app.post_json("/api/orders", &body, &key).await;
    let batch = app
        .finished_batch(reply.json()["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(batch["stored"], 3, "{batch}");

    let by_prefix =
        |prefix: &str| OrderFilter::parse(Some(prefix.to_owned()), None, None, None, None).unwrap();
    let narrow = orders_page(&app, by_prefix(" CROWD0004"), Some("oldest"), None, None).await;
    let found: Vec<&str> = narrow.rows.iter().map(|r| r.order_id.as_str()).collect();
    assert_eq!((found, narrow.total), (vec!["P-1", "P-2"], 2));

    let refused = history::page(app.mongo(), by_prefix("crowd"), None, None, None, 25)
        .await
        .unwrap_err();
    let message = refused
        .for_field("customer")
        .expect("an error about the customer field");
    assert!(message.contains("type more of the email"), "{message}");
    app.stop().await;
}

fn post_with_key_header(
    key: &str,
    idempotency_key: &str,
    body: &Value,
) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post("/api/orders")
        .header("host", common::HOST)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", idempotency_key)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_request_resent_with_its_idempotency_key_maps_to_the_same_batch_and_stores_nothing_twice()
{
    let app = TestApp::start().await;
    let key = app.api_key().await;
    // Orders without their own id: without the key, a resend would store them again under new ids.
    let body = json!({ "orders": [
        { "customer_email": "ida@example.com", "amount": 10, "items": 1 },
        { "customer_email": "ida@example.com", "amount": 20, "items": 2 }
    ]});
    let first = app
        .send(post_with_key_header(&key, "import-2026-12-03", &body))
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let batch = app
        .finished_batch(first.json()["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(batch["stored"], 2, "{batch}");

    let again = app
        .send(post_with_key_header(&key, "import-2026-12-03", &body))
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.json()["batch_id"], first.json()["batch_id"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 2);
    assert_eq!(
        spend_and_orders(&customer(&app, "ida@example.com").await),
        (3_000, 2)
    );

    let other =
        json!({ "orders": [{ "customer_email": "ida@example.com", "amount": 99, "items": 1 }] });
    let reused = app
        .send(post_with_key_header(&key, "import-2026-12-03", &other))
        .await;
    assert_eq!(reused.status, StatusCode::CONFLICT, "{}", reused.body);
    assert_eq!(
        reused.json()["error"].as_str().unwrap().split(':').next(),
        Some("Idempotency-Key")
    );

    let bad = app.send(post_with_key_header(&key, "", &body)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(bad.json()["field"], "Idempotency-Key");
    app.stop().await;
}

#[tokio::test]
async fn a_file_part_uploaded_twice_from_the_orders_page_is_one_batch() {
    use leptos::server_fn::ServerFn;
    let app = TestApp::start().await;
    app.create_owner().await;
    let cookie = app
        .signed_in_cookie(common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await;
    let part = json!({ "orders": [{ "customer_email": "page@example.com", "amount": 5, "items": 1 }], "source": "orders.csv" });
    let submit = || {
        axum::http::Request::post(realm::orders::api::SubmitOrders::PATH)
            .header("host", common::HOST)
            .header("origin", format!("http://{}", common::HOST))
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(part.to_string()))
            .unwrap()
    };
    let first = app.send(submit()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = app.send(submit()).await;
    assert_eq!(
        first.json()["batch_id"],
        second.json()["batch_id"],
        "{}",
        second.body
    );
    let key = app.api_key().await;
    app.finished_batch(first.json()["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_publish_rabbitmq_never_confirms_is_answered_as_unknown_and_a_resend_stores_it_once() {
    let (upstream, _) = common::with_authority(&common::amqp_url(), "");
    let proxy = common::FreezableProxy::start(upstream).await;
    let (_, through_proxy) =
        common::with_authority(&common::amqp_url(), &proxy.address.to_string());
    let app = TestApp::start_with(realm::server::config::Config {
        amqp_url: through_proxy,
        ..common::isolated_config()
    })
    .await;
    let key = app.api_key().await;
    let body =
        json!({ "orders": [{ "customer_email": "una@example.com", "amount": 7, "items": 1 }] });

    proxy.freeze();
    let reply = app
        .send(post_with_key_header(&key, "unknown-1", &body))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    let answer = reply.json();
    assert_eq!(answer["outcome"], "unknown", "{answer}");
    let status_url = answer["status_url"].as_str().unwrap().to_owned();
    assert!(
        answer["error"].as_str().unwrap().contains(&status_url),
        "{answer}"
    );
    let record = app.get(&status_url, Credentials::Bearer(&key)).await.json();
    assert_eq!(
        record["status"], "queued",
        "the batch may still arrive: {record}"
    );
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("did not confirm"),
        "{record}"
    );

    proxy.thaw();
    // RabbitMQ had the message all along: it is stored, and the resend the answer asked for changes nothing.
    let batch = app.finished_batch(&status_url, &key).await;
    assert_eq!(batch["stored"], 1, "{batch}");
    let resent = app
        .send(post_with_key_header(&key, "unknown-1", &body))
        .await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.body);
    assert_eq!(resent.json()["status_url"], status_url.as_str());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(&app, collections::ORDERS, doc! {}).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_batch_the_database_refuses_is_marked_failed_and_dead_lettered_instead_of_retried_for_ever(
) {
    let app = TestApp::start().await;
    let topology = app.state.broker.topology().clone();
    // A message from outside the API with 120,000 invalid orders: the outcome's list of rejections is larger than
    // a MongoDB document may be, so the batch can never be finished.
    let batch_id = "refused-batch";
    app.insert_documents(
        collections::ORDER_BATCHES,
        vec![doc! {
            "_id": batch_id, "status": "queued", "total": 120_000_i64, "stored": 0_i64, "duplicates": 0_i64,
            "rejected": [], "source": "test", "submitted_by": "test", "received_at": mongodb::bson::DateTime::now(),
        }],
    )
    .await;
    let orders: Vec<Value> = (0..120_000)
        .map(|i| json!({ "order_id": format!("{i:0>128}"), "customer_email": "x@example.com", "amount": "not money", "items": 1 }))
        .collect();
    let payload =
        json!({ "batch_id": batch_id, "received_at_ms": 0, "orders": orders }).to_string();
    queue_message(&app, payload.as_bytes()).await;

    let failed = common::eventually(Duration::from_secs(120), || async {
        app.documents(
            collections::ORDER_BATCHES,
            doc! { "_id": batch_id, "status": "failed" },
        )
        .await
        .len()
            == 1
    })
    .await;
    let record = app
        .documents(collections::ORDER_BATCHES, doc! { "_id": batch_id })
        .await;
    assert!(failed, "{:?}", record.first().map(|r| r.get_str("status")));
    let reason = record[0].get_str("error").unwrap().to_owned();
    assert!(reason.contains("refused"), "{reason}");
    let channel = app.state.broker.channel().unwrap();
    let dead = common::eventually(Duration::from_secs(10), || async {
        channel
            .queue_declare(
                topology.dead_letter_queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                lapin::types::FieldTable::default(),
            )
            .await
            .is_ok_and(|queue| queue.message_count() == 1)
    })
    .await;
    assert!(dead, "the batch is in the dead-letter queue");
    app.stop().await;
}

#[tokio::test]
async fn nothing_is_consumed_or_written_before_the_indexes_exist() {
    let mut mongod = common::OwnMongod::start().await;
    mongod.stop();
    let app = TestApp::start_with(realm::server::config::Config {
        mongodb_uri: mongod.uri(),
        ..common::isolated_config()
    })
    .await;
    assert!(!app.state.mongo.is_prepared());
    let queue = app.state.broker.topology().orders_queue.clone();
    let consumers = || async {
        app.state
            .broker
            .channel()
            .unwrap()
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                lapin::types::FieldTable::default(),
            )
            .await
            .unwrap()
            .consumer_count()
    };
    assert_eq!(
        consumers().await,
        0,
        "the consumer started before the indexes"
    );
    let write = app
        .send(
            axum::http::Request::post("/api/customers")
                .header("host", common::HOST)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(r#"{"email": "early@example.com"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(
        write.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        write.body
    );
    assert!(write.json()["error"]
        .as_str()
        .unwrap()
        .contains("being prepared"));

    mongod.start_again().await;
    let started = common::eventually(Duration::from_secs(60), || async {
        app.state.mongo.is_prepared() && consumers().await == 1
    })
    .await;
    assert!(started, "the consumer starts once the indexes exist");
    app.stop().await;
}

/// One page of 25 orders of the history.
async fn orders_page(
    app: &TestApp,
    filter: realm::orders::server::history::OrderFilter,
    sort: Option<&str>,
    after: Option<&str>,
    before: Option<&str>,
) -> realm::orders::model::OrderPage {
    realm::orders::server::history::page(app.mongo(), filter, sort, after, before, 25)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_filtered_history_counts_up_to_ten_thousand_and_every_page_is_reached_by_cursor() {
    use realm::orders::{model::OrderPage, server::history::OrderFilter};
    let app = TestApp::start().await;
    let orders: Vec<Document> = (0..=OrderPage::MAX_COUNTED)
        .map(|i| doc! { "order_id": format!("H-{i}"), "customer_id": mongodb::bson::oid::ObjectId::new(), "ordered_at": mongodb::bson::DateTime::from_millis(i as i64), "amount_cents": 100_i64, "item_count": 1_i64 })
        .collect();
    app.insert_documents(collections::ORDERS, orders).await;
    let at_least_a_cent =
        || OrderFilter::parse(None, None, None, Some("0.01".to_owned()), None).unwrap();
    let ids = |page: &OrderPage| -> Vec<String> {
        page.rows.iter().map(|row| row.order_id.clone()).collect()
    };
    let first = orders_page(&app, at_least_a_cent(), None, None, None).await;
    assert!(first.more);
    assert_eq!(first.total, OrderPage::MAX_COUNTED);
    assert!(
        first.describe_total().starts_with("More than 10,000"),
        "{}",
        first.describe_total()
    );
    assert_eq!(ids(&first)[0], "H-10000", "newest first");
    assert!(first.previous.is_none());
    let second = orders_page(&app, at_least_a_cent(), None, first.next.as_deref(), None).await;
    assert_eq!(ids(&second)[0], "H-9975");
    let back = orders_page(
        &app,
        at_least_a_cent(),
        None,
        None,
        second.previous.as_deref(),
    )
    .await;
    assert_eq!(ids(&back), ids(&first));
    // The far end, past any count, is as near as the first page in the other order.
    let oldest = orders_page(&app, at_least_a_cent(), Some("oldest"), None, None).await;
    assert_eq!(ids(&oldest)[0], "H-0");
    // Unfiltered, the day totals say how many there are: rebuilt here, as after orders written by hand.
    realm::orders::server::daily::rebuild(app.mongo())
        .await
        .unwrap();
    let everything = OrderFilter::parse(None, None, None, None, None).unwrap();
    let all = orders_page(&app, everything, None, None, None).await;
    assert_eq!((all.total, all.more), (OrderPage::MAX_COUNTED + 1, false));
    app.stop().await;
}
