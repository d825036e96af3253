//! The probes and the page router, served by the real router against real services.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Credentials, TestApp};
use realm::server::{config::Config, health::Readiness};

#[tokio::test]
async fn readyz_answers_200_once_mongodb_and_rabbitmq_are_connected() {
    let app = TestApp::start().await;

    let alive = app.get("/healthz", Credentials::None).await;
    assert_eq!(alive.status, StatusCode::OK);
    assert!(alive.body.contains("alive"), "{}", alive.body);

    let ready = common::eventually(Duration::from_secs(20), || async {
        app.get("/readyz", Credentials::None).await.status == StatusCode::OK
    })
    .await;
    let reply = app.get("/readyz", Credentials::None).await;
    assert!(ready, "readyz never became ready: {}", reply.body);
    let readiness: Readiness = serde_json::from_str(&reply.body).unwrap();
    assert!(readiness.ready);
    assert_eq!(
        readiness.dependencies.keys().collect::<Vec<_>>(),
        ["mongodb", "rabbitmq"]
    );
    assert!(
        !reply.body.contains("guest"),
        "credentials shown in /readyz: {}",
        reply.body
    );

    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("background tasks stop");
}

#[tokio::test]
async fn readyz_answers_503_naming_each_dependency_that_is_down() {
    let config = Config {
        mongodb_uri: "mongodb://127.0.0.1:9".to_owned(),
        amqp_url: "amqp://realm:hunter2@127.0.0.1:9/%2f".to_owned(),
        ..common::isolated_config()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let services = realm::server::Services::start(&config, &shutdown)
        .await
        .unwrap();
    let app = realm::server::router(services.state(common::leptos_options(), &config));
    let get = |path: &'static str| {
        let app = app.clone();
        async move {
            use tower::ServiceExt;
            let request = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };

    let (status, body) = get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let readiness: Readiness = serde_json::from_str(&body).unwrap();
    assert!(!readiness.ready);
    let mongodb = &readiness.dependencies["mongodb"];
    let rabbitmq = &readiness.dependencies["rabbitmq"];
    assert_eq!(serde_json::to_value(mongodb.state).unwrap(), "down");
    assert_eq!(serde_json::to_value(rabbitmq.state).unwrap(), "down");
    // Anyone may probe: they learn the states, not internal addresses or driver errors.
    assert!(
        mongodb.target.is_none() && rabbitmq.target.is_none(),
        "{body}"
    );
    assert!(
        mongodb.error.is_none() && rabbitmq.error.is_none(),
        "{body}"
    );
    assert!(
        !body.contains("127.0.0.1") && !body.contains("hunter2"),
        "{body}"
    );

    // The liveness probe does not depend on the services.
    assert_eq!(get("/healthz").await.0, StatusCode::OK);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), services.stopped())
        .await
        .expect("retry loops stop on shutdown");
}

#[tokio::test]
async fn an_admin_sees_where_each_dependency_is_without_its_password() {
    let app = TestApp::start_with(Config {
        amqp_url: common::amqp_url().replace("guest:guest@", "guest:gu/e?s#t@"),
        ..common::isolated_config()
    })
    .await;
    app.create_owner().await;
    let cookie = app
        .signed_in_cookie(common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await;
    let reply = app.get("/readyz", Credentials::Cookie(&cookie)).await;
    let readiness: Readiness = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        readiness.dependencies["mongodb"].target.as_deref(),
        Some(common::mongo_uri().as_str())
    );
    let rabbitmq = readiness.dependencies["rabbitmq"].target.clone().unwrap();
    assert!(rabbitmq.starts_with("amqp://guest:***@"), "{rabbitmq}");
    assert!(
        !reply.body.contains("gu/e"),
        "password leaked: {}",
        reply.body
    );
    // RabbitMQ never accepted that password, so there is no topology to remove.
    common::drop_database(&app.shut_down().await).await;
}

#[tokio::test]
async fn pages_render_on_the_server_and_unknown_paths_get_the_404_page() {
    let app = TestApp::start().await;
    app.create_owner().await;
    let cookie = app
        .signed_in_cookie(common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await;

    for (path, heading) in [
        ("/", "Dashboard"),
        ("/customers", "Customers"),
        ("/orders", "Orders"),
        ("/segments", "Segments"),
        ("/segments/new", "New segment"),
        ("/campaigns", "Campaigns"),
        ("/admin/users", "Users"),
        ("/admin/api-keys", "API keys"),
    ] {
        let page = app.get(path, Credentials::Cookie(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.contains(&format!(
                "<h1 class=\"text-2xl font-semibold tracking-tight\">{heading}</h1>"
            )),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body
                .contains(&format!("<title>{heading} · Realm</title>")),
            "{path} has no title"
        );
    }

    let missing = app.get("/no/such/page", Credentials::Cookie(&cookie)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"), "{}", missing.body);

    app.stop().await;
}
