//! Helpers shared by the integration tests: each test gets its own database and queue names, so tests can run
//! in parallel against the same MongoDB-compatible server and RabbitMQ.
#![allow(dead_code)]

use std::{future::Future, time::Duration};

use leptos::config::LeptosOptions;
use realm::server::{broker::Topology, config::Config};

pub fn mongo_uri() -> String {
    std::env::var("REALM_TEST_MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".to_owned())
}

pub fn amqp_url() -> String {
    std::env::var("REALM_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A configuration pointing at the test services, with a fresh database and queue prefix.
pub fn isolated_config() -> Config {
    Config {
        mongodb_uri: mongo_uri(),
        mongodb_database: unique("realm_test"),
        amqp_url: amqp_url(),
        amqp_queue_prefix: format!("{}.", unique("test")),
    }
}

pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder().output_name("realm").site_root("target/site").build()
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes; says whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn drop_database(config: &Config) {
    let client = mongodb::Client::with_uri_str(&config.mongodb_uri).await.expect("mongo client");
    client.database(&config.mongodb_database).drop().await.expect("drop test database");
}

/// Removes the queues and exchange a test declared, so repeated runs leave nothing behind on the broker.
pub async fn delete_topology(config: &Config) {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let topology = Topology::with_prefix(&config.amqp_queue_prefix);
    let connection = lapin::Connection::connect(&config.amqp_url, lapin::ConnectionProperties::default())
        .await
        .expect("connect to RabbitMQ");
    let channel = connection.create_channel().await.expect("channel");
    for queue in [&topology.orders_queue, &topology.dead_letter_queue] {
        channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()).await.expect("delete queue");
    }
    channel
        .exchange_delete(topology.dead_letter_exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await
        .expect("delete exchange");
    let _ = connection.close(200, "test done".into()).await;
}
