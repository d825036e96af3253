//! The RabbitMQ connection, kept open by a supervisor task, and the durable topology the app declares on it.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use lapin::{
    options::{
        BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{config::redact_uri, retry};

/// The queues and exchanges Realm uses, named with the configured prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Bulk order submissions, one message per accepted request.
    pub orders_queue: String,
    /// Where messages that can never be processed are routed, so that they are kept for inspection instead of
    /// being redelivered forever.
    pub dead_letter_exchange: String,
    pub dead_letter_queue: String,
    /// Campaign delivery jobs, each a slice of one campaign's recipients.
    pub deliveries_queue: String,
    pub deliveries_dead_letter_queue: String,
}

impl Topology {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            orders_queue: format!("{prefix}orders_queue"),
            dead_letter_exchange: format!("{prefix}realm.dead_letter"),
            dead_letter_queue: format!("{prefix}orders_queue.dead_letter"),
            deliveries_queue: format!("{prefix}campaign_deliveries"),
            deliveries_dead_letter_queue: format!("{prefix}campaign_deliveries.dead_letter"),
        }
    }

    /// Declares everything durable. Idempotent while the definitions stay the same; RabbitMQ refuses a redeclaration
    /// with different arguments, so these must only change together with a migration of existing queues.
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        channel
            .exchange_declare(
                self.dead_letter_exchange.as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(
                self.dead_letter_queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue.as_str().into(),
                self.dead_letter_exchange.as_str().into(),
                self.orders_queue.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut orders_arguments = FieldTable::default();
        orders_arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange.as_str().into()),
        );
        channel
            .queue_declare(
                self.orders_queue.as_str().into(),
                QueueDeclareOptions::durable(),
                orders_arguments.clone(),
            )
            .await?;
        channel
            .queue_declare(
                self.deliveries_dead_letter_queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                self.deliveries_dead_letter_queue.as_str().into(),
                self.dead_letter_exchange.as_str().into(),
                self.deliveries_queue.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(
                self.deliveries_queue.as_str().into(),
                QueueDeclareOptions::durable(),
                orders_arguments,
            )
            .await?;
        Ok(())
    }
}

struct Link {
    connection: Arc<Connection>,
    channel: Channel,
    /// In confirm mode: every publish is acknowledged by the broker once the message is safely queued.
    publisher: Channel,
}

impl Link {
    fn is_open(&self) -> bool {
        self.connection.status().connected()
            && self.channel.status().connected()
            && self.publisher.status().connected()
    }
}

/// How long a publish may wait for RabbitMQ to take the message, and then to confirm it.
pub const CONFIRM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("RabbitMQ is not connected")]
    NotConnected,
    #[error("RabbitMQ refused the message: {0}")]
    Broker(#[from] lapin::Error),
    #[error("RabbitMQ did not confirm the message")]
    NotConfirmed,
    /// The message was handed to RabbitMQ, but its confirm never came (the connection dropped, or the broker is
    /// blocking publishers): it may or may not be on the queue.
    #[error("RabbitMQ did not confirm the message within {} s ({reason}); it may or may not be queued", CONFIRM_TIMEOUT.as_secs())]
    Unknown { reason: String },
    #[error("no queue is bound to receive the message")]
    Unroutable,
}

/// A handle on the broker connection, cheap to clone. The connection itself is owned by the supervisor task
/// started with [`Broker::spawn_supervisor`], which reconnects (and redeclares the topology) whenever it drops.
#[derive(Clone)]
pub struct Broker {
    url: Arc<str>,
    redacted_url: Arc<str>,
    topology: Arc<Topology>,
    link: Arc<RwLock<Option<Link>>>,
}

impl Broker {
    pub fn new(url: &str, topology: Topology) -> Self {
        Self {
            url: url.into(),
            redacted_url: redact_uri(url).into(),
            topology: Arc::new(topology),
            link: Arc::default(),
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// The open channel, or `None` while the broker is unreachable.
    pub fn channel(&self) -> Option<Channel> {
        self.open_link(|link| link.channel.clone())
    }

    fn open_link<T>(&self, pick: impl FnOnce(&Link) -> T) -> Option<T> {
        let link = self
            .link
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        link.as_ref().filter(|link| link.is_open()).map(pick)
    }

    /// A new channel on the current connection, for a consumer that sets its own prefetch window.
    pub async fn open_channel(&self) -> Option<Channel> {
        let connection = self.open_link(|link| link.connection.clone())?;
        connection.create_channel().await.ok()
    }

    /// A consumer of `queue` on a channel of its own, with a prefetch window of `prefetch` messages. Waits while the
    /// broker is unreachable; answers `None` only once `shutdown` fires.
    pub async fn consume(
        &self,
        queue: &str,
        tag: &str,
        prefetch: u16,
        shutdown: &CancellationToken,
    ) -> Option<(Channel, lapin::Consumer)> {
        use lapin::options::{BasicConsumeOptions, BasicQosOptions};
        while !shutdown.is_cancelled() {
            // While the supervisor is reconnecting (it logs why) there is no channel to open.
            if let Some(channel) = self.open_channel().await {
                let consumer = async {
                    channel
                        .basic_qos(prefetch, BasicQosOptions::default())
                        .await?;
                    channel
                        .basic_consume(
                            queue.into(),
                            tag.into(),
                            BasicConsumeOptions::default(),
                            FieldTable::default(),
                        )
                        .await
                };
                match consumer.await {
                    Ok(consumer) => return Some((channel, consumer)),
                    Err(error) => tracing::warn!("cannot consume {queue}: {error}"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = shutdown.cancelled() => {}
            }
        }
        None
    }

    /// Publishes a persistent message and waits until the broker has confirmed that it is queued.
    pub async fn publish_confirmed(
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let publisher = self
            .open_link(|link| link.publisher.clone())
            .ok_or(PublishError::NotConnected)?;
        // A broker under a memory or disk alarm blocks publishers without a word: never wait for it forever.
        let sent = tokio::time::timeout(
            CONFIRM_TIMEOUT,
            publisher.basic_publish(
                exchange.into(),
                routing_key.into(),
                // Mandatory: a message no queue would receive comes back instead of vanishing.
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                payload,
                properties.with_delivery_mode(2),
            ),
        )
        .await
        .map_err(|_| PublishError::Unknown {
            reason: "the broker did not take it".to_owned(),
        })??;
        let confirmation = match tokio::time::timeout(CONFIRM_TIMEOUT, sent).await {
            Ok(Ok(confirmation)) => confirmation,
            Ok(Err(error)) => {
                return Err(PublishError::Unknown {
                    reason: error.to_string(),
                })
            }
            Err(_) => {
                return Err(PublishError::Unknown {
                    reason: "no confirm arrived".to_owned(),
                })
            }
        };
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_returned)) => Err(PublishError::Unroutable),
            Confirmation::Nack(_) | Confirmation::NotRequested => Err(PublishError::NotConfirmed),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.channel().is_some()
    }

    async fn connect(&self) -> lapin::Result<Link> {
        // Named after its queue, so an operator (or a test) can tell installations sharing a broker apart.
        let name = format!("realm {}", self.topology.orders_queue);
        let properties = ConnectionProperties::default().with_connection_name(name.as_str().into());
        let connection = Connection::connect(&self.url, properties).await?;
        let channel = connection.create_channel().await?;
        self.topology.declare(&channel).await?;
        let publisher = connection.create_channel().await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Link {
            connection: Arc::new(connection),
            channel,
            publisher,
        })
    }

    fn replace_link(&self, link: Option<Link>) -> Option<Link> {
        let mut slot = self
            .link
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(&mut slot, link)
    }

    /// Keeps a connection open until `shutdown` fires, then closes it.
    pub fn spawn_supervisor(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let Some(link) =
                    retry::until_available("RabbitMQ", &self.redacted_url, &shutdown, || {
                        self.connect()
                    })
                    .await
                else {
                    break;
                };
                tracing::info!(target = %self.redacted_url, queue = %self.topology.orders_queue, "RabbitMQ connected, topology declared");
                self.replace_link(Some(link));
                // Polling the status catches both a dropped connection and a channel closed by the broker.
                let mut check = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = check.tick() => if !self.is_connected() { break },
                        () = shutdown.cancelled() => break,
                    }
                }
                if let Some(old) = self.replace_link(None) {
                    if old.connection.status().connected() {
                        let _ = old.connection.close(200, "shutting down".into()).await;
                    }
                }
                if shutdown.is_cancelled() {
                    break;
                }
                tracing::warn!(target = %self.redacted_url, "RabbitMQ connection lost; reconnecting");
            }
        })
    }
}
