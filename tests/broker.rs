//! The broker supervisor and the durable topology, against a real RabbitMQ.

mod common;

use std::time::Duration;

use lapin::{
    options::{BasicGetOptions, BasicNackOptions, BasicPublishOptions, QueueDeclareOptions},
    types::FieldTable,
    BasicProperties,
};
use realm::server::broker::{Broker, Topology};
use tokio_util::sync::CancellationToken;

async fn connected_broker(
    config: &realm::server::config::Config,
) -> (Broker, CancellationToken, tokio::task::JoinHandle<()>) {
    let broker = Broker::new(
        &config.amqp_url,
        Topology::with_prefix(&config.amqp_queue_prefix),
    );
    let shutdown = CancellationToken::new();
    let supervisor = broker.clone().spawn_supervisor(shutdown.clone());
    let b = broker.clone();
    assert!(
        common::eventually(Duration::from_secs(15), || async { b.is_connected() }).await,
        "never connected"
    );
    (broker, shutdown, supervisor)
}

#[tokio::test]
async fn a_message_rejected_from_the_orders_queue_lands_in_the_dead_letter_queue() {
    let config = common::isolated_config();
    let (broker, shutdown, supervisor) = connected_broker(&config).await;
    let topology = broker.topology().clone();
    let channel = broker.channel().expect("open channel");

    // Declaring again with the same definitions is accepted.
    topology.declare(&channel).await.expect("redeclaration");

    channel
        .basic_publish(
            "".into(),
            topology.orders_queue.as_str().into(),
            BasicPublishOptions::default(),
            b"not an order batch",
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let message = channel
        .basic_get(
            topology.orders_queue.as_str().into(),
            BasicGetOptions::default(),
        )
        .await
        .unwrap()
        .expect("the published message is on the orders queue");
    message
        .nack(BasicNackOptions {
            requeue: false,
            ..BasicNackOptions::default()
        })
        .await
        .unwrap();

    let dead_queue = topology.dead_letter_queue.clone();
    let dead_lettered = common::eventually(Duration::from_secs(5), || {
        let channel = channel.clone();
        let dead_queue = dead_queue.clone();
        async move {
            match channel
                .basic_get(dead_queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await
            {
                Ok(Some(message)) => message.delivery.data == b"not an order batch",
                _ => false,
            }
        }
    })
    .await;
    assert!(
        dead_lettered,
        "the rejected message never reached {dead_queue}"
    );

    shutdown.cancel();
    supervisor.await.unwrap();
    assert!(
        !broker.is_connected(),
        "the connection stays open after shutdown"
    );
    common::delete_topology(&config).await;
}

#[tokio::test]
async fn the_supervisor_reconnects_after_the_broker_closes_its_channel() {
    let config = common::isolated_config();
    let (broker, shutdown, supervisor) = connected_broker(&config).await;
    let channel = broker.channel().unwrap();

    // A passive declaration of a missing queue is a channel error: RabbitMQ closes the channel.
    let failure = channel
        .queue_declare(
            "realm-test-no-such-queue".into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await;
    assert!(failure.is_err());
    assert!(!channel.status().connected());

    let b = broker.clone();
    let orders_queue = broker.topology().orders_queue.clone();
    let usable_again = common::eventually(Duration::from_secs(15), || {
        let b = b.clone();
        let orders_queue = orders_queue.clone();
        async move {
            let Some(channel) = b.channel() else {
                return false;
            };
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(orders_queue.as_str().into(), passive, FieldTable::default())
                .await
                .is_ok()
        }
    })
    .await;
    assert!(
        usable_again,
        "the broker handle never got a working channel back"
    );

    shutdown.cancel();
    supervisor.await.unwrap();
    common::delete_topology(&config).await;
}
