//! One client cannot exhaust the server: parallel sign-ins and oversized uploads are refused with their memory
//! bounded, while the server goes on answering. These measure the test process itself (the app runs in it), so
//! they run one after another in a single test.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Credentials, TestApp};

/// The resident memory of this process, and its peak since the last [`reset_peak`], in MiB.
fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .expect(name)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident size");
}

/// Runs `load` and answers how far resident memory rose above where it started, in MiB, while checking that
/// `/healthz` kept answering meanwhile.
async fn rise_during<F: std::future::Future<Output = ()>>(app: &TestApp, load: F) -> u64 {
    let before = memory_mib().0;
    reset_peak();
    let answered = std::cell::Cell::new(0_u32);
    let probing = async {
        loop {
            let reply = app.get("/healthz", Credentials::None).await;
            assert_eq!(reply.status, StatusCode::OK);
            answered.set(answered.get() + 1);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        () = load => {}
        () = probing => {}
    }
    println!("/healthz answered {} times meanwhile", answered.get());
    let peak = memory_mib().1;
    println!("resident before {before} MiB, peak during {peak} MiB");
    peak.saturating_sub(before)
}

/// Sends an oversized `request`, which must be refused with 413 while resident memory rises by less than
/// 150 MiB.
async fn refused_within_bounds(
    app: &TestApp,
    request: axum::http::Request<axum::body::Body>,
    what: &str,
) {
    let rise = rise_during(app, async {
        let reply = app.send(request).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{what}: {}",
            reply.body
        );
    })
    .await;
    assert!(rise < 150, "{what} raised resident memory by {rise} MiB");
}

fn post(
    path: &str,
    key: &str,
    content_type: &str,
    body: String,
) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post(path)
        .header("host", common::HOST)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type)
        .body(axum::body::Body::from(body))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_sign_ins_and_oversized_uploads_keep_memory_bounded() {
    let app = TestApp::start().await;
    app.create_owner().await;
    let key = app.api_key().await;
    // A little traffic first, so that what the first requests allocate once is not counted as a rise.
    app.get("/healthz", Credentials::None).await;
    app.sign_in("warm@example.com", "warm-up password", "/")
        .await;

    // 200 sign-ins at once with unknown emails: each would run Argon2 (19 MiB) at the same time.
    let rise = rise_during(&app, async {
        let attempts = (0..200).map(|i| {
            let app = &app;
            async move {
                app.sign_in(
                    &format!("nobody{i}@example.com"),
                    "some password guess",
                    "/",
                )
                .await
                .status
            }
        });
        let statuses = futures::future::join_all(attempts).await;
        assert!(
            statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
            "{statuses:?}"
        );
    })
    .await;
    assert!(
        rise < 150,
        "200 parallel sign-ins raised resident memory by {rise} MiB"
    );

    // 8 MiB of one-character CSV rows: 4 million rows, refused at the 10,001st.
    let csv = format!("customer_email\n{}", "x\n".repeat(4 * 1024 * 1024 - 10));
    refused_within_bounds(
        &app,
        post("/api/orders", &key, "text/csv", csv),
        "an 8 MiB CSV",
    )
    .await;

    // 8 MiB of JSON numbers in one order: millions of values, refused once the record's value budget is spent.
    let json = format!(
        "{{\"orders\": [{{\"items\": [{}1]}}]}}",
        "1,".repeat(4 * 1024 * 1024 - 20)
    );
    refused_within_bounds(
        &app,
        post("/api/orders", &key, "application/json", json),
        "an 8 MiB JSON order",
    )
    .await;

    // One customer object with hundreds of thousands of fields.
    let fields: Vec<String> = (0..500_000).map(|i| format!("\"f{i}\":1")).collect();
    let json = format!("{{{}}}", fields.join(","));
    refused_within_bounds(
        &app,
        post("/api/customers", &key, "application/json", json),
        "a customer with 500,000 fields",
    )
    .await;

    // A segment value of a million characters: 150,000 distinct list entries, whose check for repeats would be
    // quadratic. Refused for its length before any of it is read.
    let values: Vec<String> = (0..150_000).map(|i| i.to_string()).collect();
    let mut value = values.join(",");
    value.truncate(1_000_000);
    let rule = serde_json::json!({ "combinator": "all", "rules": [
        { "kind": "condition", "field": "tags", "operator": "has_any", "value": value }
    ] });
    let body = serde_json::json!({ "rule": rule }).to_string();
    let reply = tokio::time::timeout(
        Duration::from_secs(60),
        app.send(post(
            "/api/segments/preview",
            &key,
            "application/json",
            body,
        )),
    )
    .await
    .expect("the preview answers instead of stalling a worker");
    reply.assert_refused("at most");

    assert_eq!(
        app.get("/healthz", Credentials::None).await.status,
        StatusCode::OK
    );
    app.stop().await;
}
