//! The probes and the page router, served by the real router against real services.

mod common;

use std::time::Duration;

use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
    Router,
};
use realm::server::{config::Config, health::Readiness, router, Services};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

async fn get(app: &Router, path: &str) -> (StatusCode, String) {
    let response = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 4 * 1024 * 1024).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn start(config: &Config) -> (Router, Services, CancellationToken) {
    let shutdown = CancellationToken::new();
    let services = Services::start(config, &shutdown).await.expect("services start");
    let app = router(services.state(common::leptos_options(), config));
    (app, services, shutdown)
}

#[tokio::test]
async fn readyz_answers_200_once_mongodb_and_rabbitmq_are_connected() {
    let config = common::isolated_config();
    let (app, services, shutdown) = start(&config).await;

    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("alive"), "{body}");

    let ready = common::eventually(Duration::from_secs(20), || async { get(&app, "/readyz").await.0 == StatusCode::OK })
        .await;
    assert!(ready, "readyz never became ready: {}", get(&app, "/readyz").await.1);
    let readiness: Readiness = serde_json::from_str(&get(&app, "/readyz").await.1).unwrap();
    assert!(readiness.ready);
    assert_eq!(readiness.dependencies.keys().collect::<Vec<_>>(), ["mongodb", "rabbitmq"]);
    assert!(!readiness.dependencies["rabbitmq"].target.contains(":guest@"), "password shown in /readyz");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), services.stopped()).await.expect("background tasks stop");
    common::drop_database(&config).await;
    common::delete_topology(&config).await;
}

#[tokio::test]
async fn readyz_answers_503_naming_each_dependency_that_is_down() {
    let config = Config {
        mongodb_uri: "mongodb://127.0.0.1:9".to_owned(),
        amqp_url: "amqp://realm:hunter2@127.0.0.1:9/%2f".to_owned(),
        ..common::isolated_config()
    };
    let (app, services, shutdown) = start(&config).await;

    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let readiness: Readiness = serde_json::from_str(&body).unwrap();
    assert!(!readiness.ready);
    let mongodb = &readiness.dependencies["mongodb"];
    let rabbitmq = &readiness.dependencies["rabbitmq"];
    assert_eq!(serde_json::to_value(mongodb.state).unwrap(), "down");
    assert_eq!(serde_json::to_value(rabbitmq.state).unwrap(), "down");
    assert_eq!(mongodb.target, "mongodb://127.0.0.1:9");
    assert_eq!(rabbitmq.target, "amqp://realm:***@127.0.0.1:9/%2f");
    assert!(!body.contains("hunter2"), "password leaked: {body}");
    assert!(mongodb.error.is_some() && rabbitmq.error.is_some());

    // The liveness probe does not depend on the services.
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), services.stopped()).await.expect("retry loops stop on shutdown");
}

#[tokio::test]
async fn pages_render_on_the_server_and_unknown_paths_get_the_404_page() {
    let config = common::isolated_config();
    let (app, services, shutdown) = start(&config).await;

    for (path, heading) in [
        ("/", "Dashboard"),
        ("/customers", "Customers"),
        ("/orders", "Orders"),
        ("/segments", "Segments"),
        ("/campaigns", "Campaigns"),
    ] {
        let (status, body) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains(&format!("<h1 class=\"text-2xl font-semibold tracking-tight\">{heading}</h1>")), "{path}: {body}");
        assert!(body.contains(&format!("<title>{heading} · Realm</title>")), "{path} has no title: {body}");
    }

    let (status, body) = get(&app, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"), "{body}");

    shutdown.cancel();
    services.stopped().await;
    common::drop_database(&config).await;
    common::delete_topology(&config).await;
}
