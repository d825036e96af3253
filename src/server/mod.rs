//! Server-only infrastructure: configuration, MongoDB, RabbitMQ, background tasks and the HTTP router.

pub mod assets;
pub mod broker;
pub mod config;
pub mod fresh;
pub mod health;
pub mod http;
pub mod mongo;
pub mod paging;
pub mod retry;
pub mod state;
pub mod tasks;

use std::{process::ExitCode, time::Duration};

use axum::{body::Body, http::Request, routing::get, serve::ListenerExt, Extension, Json, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tracing::Span;

use crate::app::{shell, App};
use crate::auth::server::{guard::Principal, sessions::MongoSessionStore, Accounts};
use broker::{Broker, Topology};
use config::{redact_uri, Config};
use mongo::Mongo;
use state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot read the Leptos configuration: {0}")]
    Leptos(String),
    #[error("the MongoDB URI {uri} cannot be used: {source}")]
    MongoUri {
        uri: String,
        source: mongodb::error::Error,
    },
    #[error("a message transport cannot be used: {0}")]
    Mail(String),
    #[error("rebuilding the roll-ups failed: {0}")]
    Rebuild(crate::shared::error::AppError),
    #[error(
        "unknown command {0:?}; the only command is rebuild-rollups (no command starts the app)"
    )]
    UnknownCommand(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// The backing services and the background tasks that keep them usable.
pub struct Services {
    pub mongo: Mongo,
    pub broker: Broker,
    tracking: crate::campaigns::server::tracking::Tracking,
    tasks: Vec<JoinHandle<()>>,
}

async fn connect_mongo(config: &Config) -> Result<Mongo, StartupError> {
    Mongo::new(&config.mongodb_uri, &config.mongodb_database)
        .await
        .map_err(|source| StartupError::MongoUri {
            uri: redact_uri(&config.mongodb_uri),
            source,
        })
}

impl Services {
    /// Starts without waiting for MongoDB or RabbitMQ: both are retried in the background, so the app serves
    /// `/readyz` (which says what is missing) while a dependency is still down.
    pub async fn start(
        config: &Config,
        shutdown: &CancellationToken,
    ) -> Result<Self, StartupError> {
        let mongo_target = redact_uri(&config.mongodb_uri);
        let mongo = connect_mongo(config).await?;
        let broker = Broker::new(
            &config.amqp_url,
            Topology::with_prefix(&config.amqp_queue_prefix),
        );

        let tracking = crate::campaigns::server::tracking::Tracking::new(&config.link_base);
        let vendor = transports(config, &mongo, &tracking, shutdown)?;
        let tasks = vec![
            tokio::spawn(prepare_database(
                mongo.clone(),
                mongo_target,
                tracking.clone(),
                shutdown.clone(),
            )),
            broker.clone().spawn_supervisor(shutdown.clone()),
            tokio::spawn(start_writers(
                mongo.clone(),
                broker.clone(),
                vendor,
                shutdown.clone(),
            )),
        ];
        Ok(Self {
            mongo,
            broker,
            tracking,
            tasks,
        })
    }

    pub fn state(&self, leptos_options: LeptosOptions, config: &Config) -> AppState {
        AppState {
            leptos_options,
            mongo: self.mongo.clone(),
            mongo_target: redact_uri(&config.mongodb_uri).into(),
            broker: self.broker.clone(),
            accounts: Accounts::new(&self.mongo),
            public_origin: config.public_origin.as_deref().map(Into::into),
            secure_cookies: config.secure_cookies(),
            receipts_token: config.vendor.receipts_token.clone(),
            tracking: self.tracking.clone(),
            webhook_secret: config.webhook_secret.as_deref().map(Into::into),
            trusted_proxies: std::sync::Arc::new(config.trusted_proxies.clone()),
            cors_origins: config.cors_origins.clone().into(),
        }
    }

    /// Waits for the background tasks, which end once `shutdown` has fired.
    pub async fn stopped(self) {
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!("background task failed: {error}");
            }
        }
    }
}

/// The background tasks that write to MongoDB, started once its indexes exist (a unique index cannot be created
/// over duplicates written before it), and waited for until they stop.
async fn start_writers(
    mongo: Mongo,
    broker: Broker,
    vendor: std::sync::Arc<dyn crate::campaigns::server::vendor::Vendor>,
    shutdown: CancellationToken,
) {
    tokio::select! {
        () = mongo.prepared() => {}
        () = shutdown.cancelled() => return,
    }
    let totals_due = crate::orders::server::totals::FoldSignal::default();
    let writers = [
        crate::orders::server::consumer::spawn(
            mongo.clone(),
            broker.clone(),
            totals_due.clone(),
            shutdown.clone(),
        ),
        crate::orders::server::totals::spawn(mongo.clone(), totals_due, shutdown.clone()),
        crate::segments::server::snapshots::spawn(mongo.clone(), shutdown.clone()),
        crate::customers::server::growth::spawn(mongo.clone(), shutdown.clone()),
        crate::customers::server::sampling::spawn(mongo.clone(), shutdown.clone()),
        crate::campaigns::server::scheduler::spawn(mongo.clone(), broker.clone(), shutdown.clone()),
        crate::campaigns::server::delivery::spawn(
            mongo.clone(),
            broker.clone(),
            vendor,
            shutdown.clone(),
        ),
        crate::campaigns::server::figures::spawn(mongo.clone(), shutdown.clone()),
    ];
    for writer in writers {
        if let Err(error) = writer.await {
            tracing::error!("background task failed: {error}");
        }
    }
}

/// Each channel's transport: email through SMTP and SMS through a webhook, or the simulator where configured.
fn transports(
    config: &Config,
    mongo: &Mongo,
    tracking: &crate::campaigns::server::tracking::Tracking,
    shutdown: &CancellationToken,
) -> Result<std::sync::Arc<dyn crate::campaigns::server::vendor::Vendor>, StartupError> {
    use crate::campaigns::server::{mail::SmtpVendor, vendor};
    use std::sync::Arc;
    let simulated: Arc<dyn vendor::Vendor> = Arc::new(vendor::SimulatedVendor::start(
        mongo,
        config.vendor.clone(),
        shutdown.clone(),
    ));
    let email: Arc<dyn vendor::Vendor> = match &config.email {
        config::EmailTransport::Simulated => simulated.clone(),
        config::EmailTransport::Smtp { url, from } => {
            Arc::new(SmtpVendor::new(url, from, tracking.clone()).map_err(StartupError::Mail)?)
        }
    };
    let sms: Arc<dyn vendor::Vendor> = match &config.sms {
        config::SmsTransport::Simulated => {
            tracing::warn!("SMS campaigns go to the built-in simulator: set REALM_SMS_WEBHOOK_URL and REALM_WEBHOOK_SECRET to send real ones");
            simulated
        }
        config::SmsTransport::Webhook {
            url,
            secret,
            opt_out,
        } => Arc::new(
            crate::campaigns::server::webhook::WebhookVendor::new(url, secret, opt_out.clone())
                .map_err(StartupError::Mail)?,
        ),
    };
    Ok(Arc::new(vendor::Transports { email, sms }))
}

async fn prepare_database(
    mongo: Mongo,
    target: String,
    tracking: crate::campaigns::server::tracking::Tracking,
    shutdown: CancellationToken,
) {
    let prepared = retry::until_available("MongoDB", &target, &shutdown, || async {
        mongo
            .ping()
            .await
            .map_err(crate::shared::error::AppError::from)?;
        // Before the indexes, which let the senders start: no message is composed without its links' key.
        tracking.load_key(&mongo).await?;
        mongo
            .ensure_indexes()
            .await
            .map_err(crate::shared::error::AppError::from)
    })
    .await;
    if prepared.is_some() {
        tracing::info!(target = %target, database = %mongo.database().name(), "MongoDB connected, indexes in place");
    }
}

/// `GET /api/me`: who the request is authenticated as, for API clients checking their key.
async fn whoami(Extension(principal): Extension<Principal>) -> Json<Principal> {
    Json(principal)
}

/// Every route of the app: health probes, the Leptos pages and server functions, and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let sessions = SessionManagerLayer::new(MongoSessionStore::new(&state.mongo))
        .with_name(crate::auth::server::guard::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            crate::auth::server::guard::IDLE_TIMEOUT,
        ));
    // Bulk submissions may be larger than anything else the app takes.
    let bulk = http::with_body_limit(
        Router::new()
            .merge(crate::orders::server::rest::bulk_routes())
            .merge(crate::customers::server::rest::bulk_routes())
            .merge(crate::campaigns::server::rest::bulk_routes()),
        crate::orders::model::MAX_BATCH_BODY_BYTES,
    );
    let everything_else = http::with_body_limit(
        assets::with_site_files(Router::new(), &state.leptos_options)
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz))
            .route("/api/me", get(whoami))
            .merge(crate::orders::server::rest::routes())
            .merge(crate::customers::server::rest::routes())
            .merge(crate::segments::server::rest::routes())
            .merge(crate::campaigns::server::rest::routes())
            .merge(crate::campaigns::server::tracking::routes())
            .leptos_routes(&state, routes, move || shell(leptos_options.clone()))
            .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell)),
        http::MAX_BODY_BYTES,
    );
    let app = bulk
        .merge(everything_else)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::server::guard::guard,
        ))
        .layer(sessions);
    // Outside the guard, so that a browser's preflight is answered without a key.
    let app = http::with_cors(app, &state.cors_origins);
    let app = http::with_hsts(http::with_security_headers(app), state.secure_cookies);
    assets::with_compression(app)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                // The status is already in the response line; a 503 from /readyz is not an error of the server's.
                .on_failure(())
                .on_response(|response: &axum::response::Response, latency: Duration, _: &Span| {
                    tracing::info!(
                        status = response.status().as_u16(),
                        duration_ms = latency.as_secs_f64() * 1000.0,
                        "served"
                    );
                }),
        )
        .with_state(state)
}

pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// Runs the app until SIGINT or SIGTERM; used by `main`.
pub async fn run() -> ExitCode {
    init_tracing();
    let outcome = match std::env::args().nth(1).as_deref() {
        None => serve().await,
        Some("rebuild-rollups") => rebuild_rollups().await,
        Some(other) => Err(StartupError::UnknownCommand(other.to_owned())),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), StartupError> {
    let config = Config::from_env()?;
    crate::shared::money::set_currency(config.currency);
    let leptos_options = leptos::config::get_configuration(None)
        .map_err(|error| StartupError::Leptos(error.to_string()))?
        .leptos_options;
    let addr = leptos_options.site_addr;
    let shutdown = CancellationToken::new();
    let services = Services::start(&config, &shutdown).await?;
    let app = router(services.state(leptos_options, &config));

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Listen { addr, source })?
        // Without it an answer written in two parts waits for the client's delayed ACK: 40 ms on every page.
        .tap_io(|connection| {
            if let Err(error) = connection.set_nodelay(true) {
                tracing::debug!("TCP_NODELAY not set on a connection: {error}");
            }
        });
    tracing::info!("Realm listening on http://{addr}");
    // Connection info gives the sign-in throttle the client's address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server =
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal(shutdown.clone()));
    if let Err(error) = server.await {
        tracing::error!("HTTP server stopped: {error}");
    }
    shutdown.cancel();
    let mongo = services.mongo.clone();
    services.stopped().await;
    mongo.shutdown().await;
    tracing::info!("Realm stopped");
    Ok(())
}

/// `realm rebuild-rollups`: recomputes the order totals per day from the stored orders, and forgets the kept counts
/// of new customers per hour (counted again when next needed), e.g. after orders or customers were changed in the
/// database by hand. Run it while no orders are being ingested.
async fn rebuild_rollups() -> Result<(), StartupError> {
    let config = Config::from_env()?;
    let mongo = connect_mongo(&config).await?;
    let rebuilt = crate::orders::server::daily::rebuild(&mongo)
        .await
        .map_err(StartupError::Rebuild)?;
    tracing::info!(
        days = rebuilt.days,
        folded_batches = rebuilt.folded_batches,
        "order day totals rebuilt"
    );
    let forgotten = crate::customers::server::growth::forget(&mongo)
        .await
        .map_err(StartupError::Rebuild)?;
    tracing::info!(hours = forgotten, "kept counts of new customers forgotten");
    mongo.shutdown().await;
    Ok(())
}

async fn shutdown_signal(shutdown: CancellationToken) {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
        () = shutdown.cancelled() => {},
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
