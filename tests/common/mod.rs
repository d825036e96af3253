//! Helpers shared by the integration tests: each test gets its own database and queue names, so tests can run
//! in parallel against the same MongoDB-compatible server and RabbitMQ.
#![allow(dead_code)]

pub mod campaigns;
pub mod smtp;

use std::{future::Future, time::Duration};

use leptos::config::LeptosOptions;
use realm::server::{broker::Topology, config::Config};

pub fn mongo_uri() -> String {
    std::env::var("REALM_TEST_MONGODB_URI")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017".to_owned())
}

pub fn amqp_url() -> String {
    std::env::var("REALM_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The secret test apps sign and check webhook requests with.
pub const WEBHOOK_SECRET: &str = "a-webhook-secret-for-tests";

/// A configuration pointing at the test services, with a fresh database and queue prefix.
pub fn isolated_config() -> Config {
    let defaults = Config::from_lookup(|_| None).expect("default configuration");
    Config {
        mongodb_uri: mongo_uri(),
        mongodb_database: unique("realm_test"),
        amqp_url: amqp_url(),
        amqp_queue_prefix: format!("{}.", unique("test")),
        public_origin: None,
        // Tests that need a real mail server say so; the others count the simulator's requests.
        email: realm::server::config::EmailTransport::Simulated,
        sms: realm::server::config::SmsTransport::Simulated,
        webhook_secret: Some(WEBHOOK_SECRET.to_owned()),
        vendor: realm::campaigns::server::vendor::SimulatedVendorSettings {
            latency_ms: 5,
            ..defaults.vendor.clone()
        },
        ..defaults
    }
}

pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("realm")
        .site_root("target/site")
        .build()
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
    let client = mongodb::Client::with_uri_str(&config.mongodb_uri)
        .await
        .expect("mongo client");
    client
        .database(&config.mongodb_database)
        .drop()
        .await
        .expect("drop test database");
}

/// Removes the queues and exchange a test declared, so repeated runs leave nothing behind on the broker.
pub async fn delete_topology(config: &Config) {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let topology = Topology::with_prefix(&config.amqp_queue_prefix);
    let connection =
        lapin::Connection::connect(&config.amqp_url, lapin::ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ");
    let channel = connection.create_channel().await.expect("channel");
    for queue in [&topology.orders_queue, &topology.dead_letter_queue] {
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .expect("delete queue");
    }
    channel
        .exchange_delete(
            topology.dead_letter_exchange.as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await
        .expect("delete exchange");
    let _ = connection.close(200, "test done".into()).await;
}

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "correct horse battery staple";
/// What the test client claims as its site: requests that change state carry it as their Origin.
pub const HOST: &str = "realm.test";

pub struct Reply {
    pub status: axum::http::StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(axum::http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The `name=value` part of the session cookie this reply sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("realm_session="))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
    }

    /// A 413 whose message names `limit`, e.g. "8 MiB".
    pub fn assert_too_large(&self, limit: &str) {
        assert_eq!(
            self.status,
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            self.body
        );
        let message = self.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            message.contains(&format!("larger than the limit of {limit}")),
            "{message}"
        );
    }

    /// A 400 whose body mentions `mentioning`: the field or the rule that was broken.
    pub fn assert_refused(&self, mentioning: &str) {
        assert_eq!(
            self.status,
            axum::http::StatusCode::BAD_REQUEST,
            "{}",
            self.body
        );
        assert!(self.body.contains(mentioning), "{}", self.body);
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The whole app (router, services, background tasks) on an isolated database and queue prefix.
pub struct TestApp {
    pub config: Config,
    pub state: realm::server::state::AppState,
    router: axum::Router,
    services: realm::server::Services,
    shutdown: tokio_util::sync::CancellationToken,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(isolated_config()).await
    }

    /// Starts on a database that already holds `documents` in `collection`: data made before this app ran, as its
    /// background tasks find it when they start. (The app never writes a customer into an hour that has passed.)
    pub async fn start_with_history(
        collection: &str,
        documents: Vec<mongodb::bson::Document>,
    ) -> Self {
        let config = isolated_config();
        let mongo = realm::server::mongo::Mongo::new(&config.mongodb_uri, &config.mongodb_database)
            .await
            .expect("mongo");
        mongo
            .collection(collection)
            .insert_many(documents)
            .await
            .expect("history");
        Self::start_with(config).await
    }

    /// Also serves HTTP on a port of its own, where the simulated vendor posts its receipts.
    pub async fn start_with(mut config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("test listener");
        let address = listener.local_addr().expect("test listener address");
        config.vendor.receipts_url = format!("http://{address}/api/receipts");
        if config.public_origin.is_none() {
            config.link_base = format!("http://{address}");
        }
        let shutdown = tokio_util::sync::CancellationToken::new();
        let services = realm::server::Services::start(&config, &shutdown)
            .await
            .expect("services start");
        let state = services.state(leptos_options(), &config);
        let router = realm::server::router(state.clone());
        // Requests race the broker connection and the indexes at start-up; tests that take a service down go on
        // after the wait.
        eventually(Duration::from_secs(5), || async {
            state.broker.is_connected()
        })
        .await;
        // Creating the indexes takes a while on a busy test server; a test that keeps MongoDB down goes on as
        // soon as a ping fails.
        eventually(Duration::from_secs(60), || async {
            state.mongo.is_prepared() || state.mongo.ping().await.is_err()
        })
        .await;
        let served = router
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let stop_serving = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, served)
                .with_graceful_shutdown(stop_serving.cancelled_owned())
                .await;
        });
        Self {
            config,
            state,
            router,
            services,
            shutdown,
        }
    }

    pub async fn send(&self, request: axum::http::Request<axum::body::Body>) -> Reply {
        use tower::ServiceExt;
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// The status `GET /api/me` answers: whether `credentials` are let in.
    pub async fn me_status(&self, credentials: Credentials<'_>) -> axum::http::StatusCode {
        self.get("/api/me", credentials).await.status
    }

    pub async fn get(&self, path: &str, credentials: Credentials<'_>) -> Reply {
        let request = credentials.apply(axum::http::Request::get(path).header("host", HOST));
        self.send(request.body(axum::body::Body::empty()).unwrap())
            .await
    }

    /// A same-site form POST, as the app's code sends it.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        credentials: Credentials<'_>,
    ) -> Reply {
        let request = credentials.apply(form_post(path));
        self.send(request.body(form_body(form)).unwrap()).await
    }

    /// A same-site form POST as a browser sends it without the app's code: it accepts HTML and names the page it
    /// was sent from, so the server answers with a redirect.
    pub async fn post_plain_form(&self, path: &str, form: &[(&str, &str)], from: &str) -> Reply {
        let request = form_post(path)
            .header("referer", format!("http://{HOST}{from}"))
            .header("accept", "text/html,application/xhtml+xml");
        self.send(request.body(form_body(form)).unwrap()).await
    }

    /// A same-site JSON POST, as the browser calls a server function with a JSON input.
    pub async fn post_server_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        credentials: Credentials<'_>,
    ) -> Reply {
        let request = credentials.apply(
            axum::http::Request::post(path)
                .header("host", HOST)
                .header("origin", format!("http://{HOST}"))
                .header("content-type", "application/json"),
        );
        self.send(
            request
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn create_owner(&self) -> realm::auth::server::users::UserRecord {
        self.state
            .accounts
            .users
            .create_owner("Olive Owner", OWNER_EMAIL, OWNER_PASSWORD)
            .await
            .expect("owner created")
    }

    /// A second user, Mark Eter (`mark@example.com`, password "marketing password"), with `role`.
    pub async fn create_marketer(
        &self,
        role: realm::auth::model::Role,
    ) -> realm::auth::server::users::UserRecord {
        self.state
            .accounts
            .users
            .create("Mark Eter", "mark@example.com", role, "marketing password")
            .await
            .expect("user created")
    }

    /// Signs in through the sign-in server function; gives the reply (with its session cookie, on success).
    pub async fn sign_in(&self, email: &str, password: &str, next: &str) -> Reply {
        use leptos::server_fn::ServerFn;
        let form = [("email", email), ("password", password), ("next", next)];
        self.post_form(realm::auth::api::SignIn::PATH, &form, Credentials::None)
            .await
    }

    pub async fn signed_in_cookie(&self, email: &str, password: &str) -> String {
        let reply = self.sign_in(email, password, "/").await;
        reply
            .session_cookie()
            .unwrap_or_else(|| panic!("no session cookie: {} {}", reply.status, reply.body))
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.services.stopped().await;
        drop_database(&self.config).await;
        delete_topology(&self.config).await;
    }
}

#[derive(Clone, Copy)]
pub enum Credentials<'a> {
    None,
    Cookie(&'a str),
    Bearer(&'a str),
}

impl Credentials<'_> {
    fn apply(self, builder: axum::http::request::Builder) -> axum::http::request::Builder {
        match self {
            Credentials::None => builder,
            Credentials::Cookie(cookie) => builder.header("cookie", cookie),
            Credentials::Bearer(key) => builder.header("authorization", format!("Bearer {key}")),
        }
    }
}

fn form_post(path: &str) -> axum::http::request::Builder {
    axum::http::Request::post(path)
        .header("host", HOST)
        .header("origin", format!("http://{HOST}"))
        .header("content-type", "application/x-www-form-urlencoded")
}

fn form_body(form: &[(&str, &str)]) -> axum::body::Body {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    axum::body::Body::from(body)
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TestApp {
    /// Creates the owner and an API key, for calling the REST API as a machine would.
    pub async fn api_key(&self) -> String {
        let owner = match self
            .state
            .accounts
            .users
            .find_by_email(OWNER_EMAIL)
            .await
            .unwrap()
        {
            Some(owner) => owner,
            None => self.create_owner().await,
        };
        self.state
            .accounts
            .api_keys
            .create("tests", owner.id)
            .await
            .unwrap()
            .1
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value, key: &str) -> Reply {
        self.send_json(axum::http::Method::POST, path, Some(body), key)
            .await
    }

    /// An API request with a key, and a JSON body if given.
    pub async fn send_json(
        &self,
        method: axum::http::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        key: &str,
    ) -> Reply {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                body.map(ToString::to_string).unwrap_or_default(),
            ))
            .unwrap();
        self.send(request).await
    }

    /// Polls a batch until it has finished processing and its totals are folded into its customers and days, and
    /// gives its final status.
    pub async fn finished_batch(&self, status_url: &str, key: &str) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let batch = self.get(status_url, Credentials::Bearer(key)).await.json();
            let status = batch["status"].as_str().unwrap_or_default().to_owned();
            let settled = status == "failed" || !batch["totals_applied_at"].is_null();
            if !["queued", "processing"].contains(&status.as_str()) && settled {
                return batch;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "batch still {status}: {batch}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub fn mongo(&self) -> &realm::server::mongo::Mongo {
        &self.state.mongo
    }

    /// Puts `documents` into `collection` directly, as data stored before the test begins.
    pub async fn insert_documents(
        &self,
        collection: &str,
        documents: Vec<mongodb::bson::Document>,
    ) {
        self.mongo()
            .collection(collection)
            .insert_many(documents)
            .await
            .unwrap();
    }

    /// The live estimate of `rule`'s audience, as the rule builder asks for it.
    pub async fn estimate(
        &self,
        cookie: &str,
        rule: &serde_json::Value,
    ) -> realm::customers::model::AudienceEstimate {
        use leptos::server_fn::ServerFn;
        let reply = self
            .post_server_json(
                realm::segments::api::EstimateAudience::PATH,
                &serde_json::json!({ "rule": rule }),
                Credentials::Cookie(cookie),
            )
            .await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    }

    /// Every document of `collection` that matches `filter`.
    pub async fn documents(
        &self,
        collection: &str,
        filter: mongodb::bson::Document,
    ) -> Vec<mongodb::bson::Document> {
        use futures::TryStreamExt;
        self.mongo()
            .collection(collection)
            .find(filter)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }
}

impl TestApp {
    /// Stops the app as SIGTERM would (the consumer finishes the batch in hand), keeping its database and queues.
    pub async fn shut_down(self) -> Config {
        self.shutdown.cancel();
        self.services.stopped().await;
        self.config
    }
}

/// A MongoDB-compatible server of the test's own, which the test can stop and start again on the same data, to
/// take the database away from a running app. The daemon is the one the test script uses
/// (`REALM_TEST_MONGOD`, e.g. `secantusd-rs` or `secantusd-py`; both take `--host --port --storage-path`).
pub struct OwnMongod {
    daemon: String,
    port: u16,
    storage: std::path::PathBuf,
    process: Option<std::process::Child>,
}

impl OwnMongod {
    pub async fn start() -> Self {
        let daemon = std::env::var("REALM_TEST_MONGOD").expect(
            "REALM_TEST_MONGOD names the MongoDB-compatible daemon to start (scripts/test.sh sets it)",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let storage = std::env::temp_dir().join(unique("realm_own_mongod"));
        std::fs::create_dir_all(&storage).expect("storage folder");
        let mut server = Self {
            daemon,
            port,
            storage,
            process: None,
        };
        server.start_again().await;
        server
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Starts the daemon on the same port and data, and waits until it accepts connections.
    pub async fn start_again(&mut self) {
        assert!(self.process.is_none(), "already running");
        let log = std::fs::File::create(self.storage.with_extension("log")).expect("log file");
        let process = std::process::Command::new(&self.daemon)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--storage-path",
            ])
            .arg(&self.storage)
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.daemon));
        self.process = Some(process);
        let listening = eventually(Duration::from_secs(60), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
        })
        .await;
        assert!(listening, "{} did not listen on {}", self.daemon, self.port);
    }

    /// Stops the daemon as a service manager would (SIGTERM), and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = std::process::Command::new("kill")
                .arg(process.id().to_string())
                .status();
            let _ = process.wait();
        }
    }
}

impl Drop for OwnMongod {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.storage);
        let _ = std::fs::remove_file(self.storage.with_extension("log"));
    }
}

/// A TCP proxy in front of a server that can be frozen: while frozen, what the server sends is held back (its
/// reads stop), while what the client sends still goes through. Used to make RabbitMQ take a message but never
/// get its confirm to the app.
pub struct FreezableProxy {
    pub address: std::net::SocketAddr,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: tokio_util::sync::CancellationToken,
}

/// Copies what `from` sends to `to` until either side closes or `stop` fires, holding back while `held` is set.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    held: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    stop: tokio_util::sync::CancellationToken,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let holding = || {
        held.as_ref()
            .is_some_and(|h| h.load(std::sync::atomic::Ordering::SeqCst))
    };
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        while holding() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            () = stop.cancelled() => return,
        };
        let Ok(n) = read else { return };
        if n == 0 {
            return;
        }
        while holding() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

impl FreezableProxy {
    pub async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let frozen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = tokio_util::sync::CancellationToken::new();
        let (held, stopping) = (frozen.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let (client, _) = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => return },
                    () = stopping.cancelled() => return,
                };
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, None, stopping.clone()));
                tokio::spawn(pump(
                    server_read,
                    client_write,
                    Some(held.clone()),
                    stopping.clone(),
                ));
            }
        });
        Self {
            address,
            frozen,
            stop,
        }
    }

    pub fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.frozen
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The `host:port` of a `scheme://user:pass@host:port/...` URL, and the URL with another `host:port`.
pub fn with_authority(url: &str, authority: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (userinfo, after) = match rest.rsplit_once('@') {
        Some((userinfo, after)) => (format!("{userinfo}@"), after),
        None => (String::new(), rest),
    };
    let end = after.find('/').unwrap_or(after.len());
    (
        after[..end].to_owned(),
        format!("{scheme}://{userinfo}{authority}{}", &after[end..]),
    )
}
