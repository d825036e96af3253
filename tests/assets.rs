//! How the browser's files and the pages travel: precompressed files under hashed names cached for a year, pages
//! and large answers compressed per request and revalidated.

mod common;

use axum::{body::Body, http::Request, http::StatusCode};
use common::{Credentials, TestApp};
use leptos::config::LeptosOptions;
use realm::server::assets::{IMMUTABLE, REVALIDATE};
use tower::ServiceExt;

const WASM: &str = "/pkg/realm.0123abcd.wasm";

/// A site root holding one built file and its precompressed siblings, each with a body that says which it is.
fn site(hash_files: bool) -> LeptosOptions {
    let root = std::env::temp_dir().join(common::unique("realm-site"));
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("realm.0123abcd.wasm"), "raw module").unwrap();
    std::fs::write(pkg.join("realm.0123abcd.wasm.br"), "brotli module").unwrap();
    std::fs::write(pkg.join("realm.0123abcd.wasm.gz"), "gzip module").unwrap();
    LeptosOptions::builder()
        .output_name("realm")
        .site_root(root.to_str().unwrap())
        .hash_files(hash_files)
        .build()
}

async fn router_for(options: LeptosOptions) -> axum::Router {
    let config = common::isolated_config();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let services = realm::server::Services::start(&config, &shutdown)
        .await
        .unwrap();
    realm::server::router(services.state(options, &config))
}

struct Fetched {
    status: StatusCode,
    encoding: Option<String>,
    cache: Option<String>,
    nosniff: bool,
    policy: Option<String>,
    body: String,
}

async fn fetch(router: &axum::Router, path: &str, accept_encoding: Option<&str>) -> Fetched {
    let mut request = Request::get(path).header("host", "localhost:3000");
    if let Some(accepted) = accept_encoding {
        request = request.header("accept-encoding", accepted);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let (status, encoding, cache, nosniff, policy) = (
        response.status(),
        header("content-encoding"),
        header("cache-control"),
        header("x-content-type-options").as_deref() == Some("nosniff"),
        header("content-security-policy"),
    );
    let body = axum::body::to_bytes(response.into_body(), 1024 * 1024)
        .await
        .unwrap();
    Fetched {
        status,
        encoding,
        cache,
        nosniff,
        policy,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

#[tokio::test]
async fn the_browsers_files_come_precompressed_as_accepted_and_are_immutable_under_hashed_names() {
    let router = router_for(site(true)).await;

    let brotli = fetch(&router, WASM, Some("gzip, deflate, br")).await;
    assert_eq!(brotli.status, StatusCode::OK);
    assert_eq!(brotli.encoding.as_deref(), Some("br"));
    assert_eq!(brotli.body, "brotli module");
    assert_eq!(brotli.cache.as_deref(), Some(IMMUTABLE));
    // A file is never shown as a document: only the header that applies to it comes along.
    assert!(brotli.nosniff);
    assert_eq!(brotli.policy, None);

    let gzip = fetch(&router, WASM, Some("gzip")).await;
    assert_eq!(gzip.encoding.as_deref(), Some("gzip"));
    assert_eq!(gzip.body, "gzip module");

    let plain = fetch(&router, WASM, None).await;
    assert_eq!(plain.encoding, None);
    assert_eq!(plain.body, "raw module");
    assert_eq!(plain.cache.as_deref(), Some(IMMUTABLE));

    // A file of another build is not there: that answer must not be kept.
    let missing = fetch(&router, "/pkg/realm.ffffffff.wasm", Some("br")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_ne!(missing.cache.as_deref(), Some(IMMUTABLE));
}

#[tokio::test]
async fn without_hashed_names_the_browsers_files_are_revalidated() {
    let router = router_for(site(false)).await;
    let fetched = fetch(&router, WASM, Some("br")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.cache.as_deref(), Some(REVALIDATE));
}

#[tokio::test]
async fn pages_are_compressed_when_accepted_and_always_revalidated_while_small_answers_are_not_compressed(
) {
    let app = TestApp::start().await;
    app.create_owner().await;

    let accepted = |encoding: &'static str| {
        Request::get("/sign-in")
            .header("host", common::HOST)
            .header("accept-encoding", encoding)
            .body(Body::empty())
            .unwrap()
    };
    let brotli = app.send(accepted("br")).await;
    assert_eq!(brotli.status, StatusCode::OK);
    assert_eq!(brotli.headers["content-encoding"], "br");
    assert_eq!(brotli.headers["cache-control"], REVALIDATE);
    assert_eq!(brotli.headers["vary"], "accept-encoding");

    let gzip = app.send(accepted("gzip")).await;
    assert_eq!(gzip.headers["content-encoding"], "gzip");

    let plain = app.get("/sign-in", Credentials::None).await;
    assert!(plain.headers.get("content-encoding").is_none());
    assert!(plain.body.contains("<!DOCTYPE html>"), "{}", plain.body);
    assert_eq!(plain.headers["cache-control"], REVALIDATE);

    // Under a kilobyte, compressing costs more than it saves.
    let small = app
        .send(
            Request::get("/healthz")
                .header("host", common::HOST)
                .header("accept-encoding", "br, gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(small.status, StatusCode::OK);
    assert!(small.headers.get("content-encoding").is_none());
    assert!(small.headers.get("cache-control").is_none());
    app.stop().await;
}
