//! Campaign email through a real SMTP server (the MailDev catcher the test command starts): MIME messages with
//! personalisation, tracked links, an open pixel and unsubscribe headers; consent that suppresses; opens, clicks
//! and unsubscribes recorded through the signed links.

mod common;

use std::time::Duration;

use axum::http::{Request, StatusCode};
use common::{
    campaigns::{
        create_from, everyone_segment, seed_customers_at, send_now, stats, wait_for_status,
    },
    eventually, isolated_config,
    smtp::SmtpServer,
    Credentials, TestApp, WEBHOOK_SECRET,
};
use mongodb::bson::doc;
use realm::{
    campaigns::server::webhook::signature,
    server::{config::EmailTransport, mongo::collections},
};
use serde_json::{json, Value};

fn smtp_url() -> String {
    std::env::var("REALM_TEST_SMTP_URL").unwrap_or_else(|_| "smtp://127.0.0.1:1025".to_owned())
}

fn maildev_url() -> String {
    std::env::var("REALM_TEST_MAILDEV_URL").unwrap_or_else(|_| "http://127.0.0.1:1080".to_owned())
}

/// The messages the catcher holds for addresses at `domain`.
async fn received(domain: &str) -> Vec<Value> {
    let all: Vec<Value> = reqwest::get(format!("{}/api/email", maildev_url()))
        .await
        .expect("MailDev answers (the test command starts it)")
        .json()
        .await
        .expect("MailDev lists its messages");
    all.into_iter()
        .filter(|message| {
            message["to"].as_array().is_some_and(|to| {
                to.iter().any(|to| {
                    to["address"]
                        .as_str()
                        .is_some_and(|a| a.ends_with(&format!("@{domain}")))
                })
            })
        })
        .collect()
}

async fn source(message: &Value) -> String {
    reqwest::get(format!(
        "{}/api/email/{}/source",
        maildev_url(),
        message["id"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap()
}

/// The path of the first URL in `text` that starts with `prefix` (e.g. `http://127.0.0.1:4000/t/o/`).
fn path_of_link(text: &str, base: &str, kind: &str) -> String {
    let start = text
        .find(&format!("{base}{kind}"))
        .unwrap_or_else(|| panic!("no {kind} link in {text}"));
    let link = &text[start + base.len()..];
    let end = link
        .find(|c: char| c.is_whitespace() || c == '"' || c == '>' || c == '<')
        .unwrap_or(link.len());
    link[..end].to_owned()
}

fn mail_domain() -> String {
    format!("t{}.example", uuid::Uuid::new_v4().simple())
}

async fn started_with_smtp() -> (TestApp, String) {
    started_with_smtp_at(smtp_url()).await
}

async fn started_with_smtp_at(url: String) -> (TestApp, String) {
    let mut config = isolated_config();
    config.email = EmailTransport::Smtp {
        url,
        from: "Corner Shop <news@shop.example>".to_owned(),
    };
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;
    (app, key)
}

async fn send_campaign(app: &TestApp, key: &str, message: &str) -> String {
    send_campaign_at(app, key, message, 50).await
}

async fn send_campaign_at(app: &TestApp, key: &str, message: &str, rate: u32) -> String {
    let segment = everyone_segment(app, key).await;
    let body = json!({
        "name": "Sale", "segment_id": segment, "channel": "email",
        "subject": "Hello {{first_name|there}}", "message": message, "rate_per_second": rate,
    });
    let id = create_from(app, key, &body).await;
    send_now(app, key, &id).await;
    id
}

#[tokio::test]
async fn a_campaign_reaches_each_consenting_customer_as_a_tracked_mime_email() {
    let (app, key) = started_with_smtp().await;
    let domain = mail_domain();
    seed_customers_at(&app, &key, 5, &domain).await;
    // Cora 4 unsubscribed earlier: she is suppressed, not sent to.
    app.state
        .mongo
        .collection(collections::CUSTOMERS)
        .update_one(
            doc! { "email": format!("cora4@{domain}") },
            doc! { "$set": { "consent.email": { "state": "unsubscribed", "via": "test" } } },
        )
        .await
        .unwrap();
    let id = send_campaign(
        &app,
        &key,
        "Dear {{name}} <3, our sale: https://shop.example/sale?from=mail. Bye",
    )
    .await;
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(60)).await;
    assert_eq!(
        (done["sent"].as_u64(), done["suppressed"].as_u64()),
        (Some(4), Some(1)),
        "{done}"
    );

    assert!(
        eventually(Duration::from_secs(20), || async {
            received(&domain).await.len() >= 4
        })
        .await,
        "four messages arrive"
    );
    let messages = received(&domain).await;
    assert_eq!(messages.len(), 4, "one message per consenting customer");
    assert!(messages
        .iter()
        .all(|m| m["to"][0]["address"] != format!("cora4@{domain}")));
    let base = &app.config.link_base;
    let communications = app
        .documents(collections::COMMUNICATIONS, doc! { "status": "sent" })
        .await;
    for message in &messages {
        let to = message["to"][0]["address"].as_str().unwrap();
        let i = to.trim_start_matches("cora").split('@').next().unwrap();
        assert_eq!(message["subject"], "Hello Cora");
        let text = message["text"].as_str().unwrap();
        let html = message["html"].as_str().unwrap();
        assert!(
            text.contains(&format!("Dear Cora Camp{i} <3, our sale: {base}/t/c/")),
            "{text}"
        );
        assert!(
            !text.contains("https://shop.example"),
            "links lead through the redirect: {text}"
        );
        assert!(
            html.contains(&format!("Dear Cora Camp{i} &lt;3")),
            "customer text is escaped: {html}"
        );
        assert!(
            html.contains(&format!(r#"<img src="{base}/t/o/"#)),
            "{html}"
        );
        let raw = source(message).await;
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains(&format!("List-Unsubscribe: <{base}/u/")),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{raw}"
        );
        let stored = communications
            .iter()
            .find(|c| c.get_str("to") == Ok(to))
            .expect("a communication per message");
        let message_id = stored.get_str("vendor_message_id").unwrap();
        assert!(
            raw.contains(&format!("Message-ID: <{message_id}>")),
            "{raw}"
        );
    }

    // Opening and clicking one message moves the campaign's figures once per recipient.
    let text = messages[0]["text"].as_str().unwrap();
    let pixel = path_of_link(messages[0]["html"].as_str().unwrap(), base, "/t/o/");
    for _ in 0..2 {
        let opened = app.get(&pixel, Credentials::None).await;
        assert_eq!(opened.status, StatusCode::OK);
        assert_eq!(opened.headers["content-type"], "image/gif");
    }
    let click = path_of_link(messages[0]["html"].as_str().unwrap(), base, "/t/c/");
    assert!(
        text.contains(&format!("{base}{click}")),
        "the text part has the same link: {text}"
    );
    let clicked = app.get(&click, Credentials::None).await;
    assert_eq!(clicked.status, StatusCode::FOUND);
    assert_eq!(
        clicked.location(),
        Some("https://shop.example/sale?from=mail")
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            let now = stats(&app, &key, &id).await;
            now["opened"] == 1 && now["clicked"] == 1
        })
        .await,
        "{}",
        stats(&app, &key, &id).await
    );
    let opens: i64 = app
        .documents(collections::COMMUNICATIONS, doc! { "opens": { "$gt": 0 } })
        .await
        .iter()
        .map(|c| c.get_i64("opens").unwrap_or_default())
        .sum();
    assert_eq!(opens, 2, "every open is counted, the first one recorded");

    // Only the message's own links, and only with an unaltered token.
    let token = click
        .trim_start_matches("/t/c/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let other_link = app.get(&format!("/t/c/{token}/1"), Credentials::None).await;
    assert_eq!(other_link.status, StatusCode::NOT_FOUND);
    let mut forged = token.clone();
    forged.replace_range(79.., if token.ends_with('0') { "1" } else { "0" });
    for path in [
        format!("/t/c/{forged}/0"),
        format!("/t/o/{forged}"),
        format!("/u/{forged}"),
    ] {
        assert_eq!(
            app.get(&path, Credentials::None).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // The unsubscribe page, then a mail client's one-click POST (RFC 8058).
    let page = app.get(&format!("/u/{token}"), Credentials::None).await;
    assert_eq!(page.status, StatusCode::OK);
    let recipient = messages[0]["to"][0]["address"].as_str().unwrap();
    assert!(page.body.contains(recipient), "{}", page.body);
    let one_click = app
        .send(
            Request::post(format!("/u/{token}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from("List-Unsubscribe=One-Click"))
                .unwrap(),
        )
        .await;
    assert_eq!(one_click.status, StatusCode::OK, "{}", one_click.body);
    let customer = app
        .documents(collections::CUSTOMERS, doc! { "email": recipient })
        .await
        .remove(0);
    let consent = customer
        .get_document("consent")
        .unwrap()
        .get_document("email")
        .unwrap();
    assert_eq!(consent.get_str("state"), Ok("unsubscribed"));
    assert!(consent.get_datetime("at").is_ok());
    // Statistics are counted at most once a second.
    assert!(
        eventually(Duration::from_secs(5), || async {
            stats(&app, &key, &id).await["unsubscribed"] == 1
        })
        .await
    );
    app.stop().await;
}

#[tokio::test]
async fn an_address_the_mail_server_refuses_fails_alone_with_the_servers_reason() {
    let server = SmtpServer::start(&["cora2@refusing.example"]).await;
    let (app, key) = started_with_smtp_at(server.url()).await;
    seed_customers_at(&app, &key, 4, "refusing.example").await;
    let id = send_campaign(&app, &key, "Hi {{first_name}}").await;
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(60)).await;
    assert_eq!(
        (done["sent"].as_u64(), done["failed"].as_u64()),
        (Some(3), Some(1)),
        "{done}"
    );
    let reasons = done["failures_by_reason"].to_string();
    assert!(
        reasons.contains("no such mailbox here"),
        "the server's own words: {reasons}"
    );
    let received = server.received();
    assert_eq!(received.len(), 3);
    assert!(received
        .iter()
        .all(|m| m.recipients != ["cora2@refusing.example"]));
    let refused = app
        .documents(
            collections::COMMUNICATIONS,
            doc! { "to": "cora2@refusing.example" },
        )
        .await;
    assert_eq!(
        refused[0].get_i64("attempts"),
        Ok(1),
        "a 5xx is not tried again"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_fast_campaign_never_hands_the_mail_server_more_messages_at_once_than_its_pool() {
    let server = SmtpServer::start(&[]).await;
    let (app, key) = started_with_smtp_at(server.url()).await;
    let recipients = 400;
    seed_customers_at(&app, &key, recipients, "pool.example").await;
    let id = send_campaign_at(&app, &key, "Hi {{first_name}}", 10_000).await;
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(120)).await;
    assert_eq!(done["sent"].as_u64(), Some(recipients as u64), "{done}");
    assert_eq!(server.received().len(), recipients);
    let most = server.most_in_flight();
    assert!(
        (2..=16).contains(&most),
        "sends overlap, within the pool of 16 connections: {most} at once"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_mail_server_down_mid_campaign_delays_the_messages_but_loses_and_doubles_none() {
    let server = SmtpServer::start(&[]).await;
    let (app, key) = started_with_smtp_at(server.url()).await;
    let recipients = 30;
    seed_customers_at(&app, &key, recipients, "outage.example").await;
    let id = send_campaign_at(&app, &key, "Hi {{first_name}}", 10).await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            server.received().len() >= 5
        })
        .await,
        "sending starts"
    );
    server.stop();
    // Down for a while: sends fail transiently, and the recipients wait instead of failing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = stats(&app, &key, &id).await;
    assert_eq!(during["status"], "sending", "{during}");
    assert_eq!(during["failed"], 0, "{during}");
    server.start_again().await;
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(120)).await;
    assert_eq!(
        (done["sent"].as_u64(), done["failed"].as_u64()),
        (Some(recipients as u64), Some(0)),
        "{done}"
    );
    let received = server.received();
    let mut addresses: Vec<String> = received.iter().flat_map(|m| m.recipients.clone()).collect();
    addresses.sort();
    let before = addresses.len();
    addresses.dedup();
    assert_eq!(before, addresses.len(), "nobody got the message twice");
    assert_eq!(addresses.len(), recipients, "everybody got it");
    app.stop().await;
}

async fn post_events(app: &TestApp, events: &Value, signed_with: &str) -> common::Reply {
    let body = serde_json::to_vec(&json!({ "events": events })).unwrap();
    app.send(
        Request::post("/api/webhooks/email-events")
            .header("content-type", "application/json")
            .header(
                "x-realm-signature",
                signature(signed_with.as_bytes(), &body),
            )
            .body(axum::body::Body::from(body))
            .unwrap(),
    )
    .await
}

fn consent_state(customer: &mongodb::bson::Document) -> Option<String> {
    customer
        .get_document("consent")
        .and_then(|c| c.get_document("email"))
        .and_then(|e| e.get_str("state"))
        .ok()
        .map(str::to_owned)
}

#[tokio::test]
async fn a_hard_bounce_or_a_complaint_withdraws_consent_and_an_unsigned_report_changes_nothing() {
    let server = SmtpServer::start(&[]).await;
    let (app, key) = started_with_smtp_at(server.url()).await;
    seed_customers_at(&app, &key, 3, "events.example").await;
    let first = send_campaign(&app, &key, "Hi {{first_name}}").await;
    wait_for_status(&app, &key, &first, "completed", Duration::from_secs(60)).await;
    let message_id = |i: usize| {
        let to = format!("cora{i}@events.example");
        let app = &app;
        async move {
            app.documents(collections::COMMUNICATIONS, doc! { "to": to })
                .await
                .remove(0)
                .get_str("vendor_message_id")
                .unwrap()
                .to_owned()
        }
    };
    let events = json!([
        { "message_id": format!("<{}>", message_id(0).await), "event": "bounced", "reason": "550 no such user" },
        { "message_id": message_id(1).await, "event": "complained" },
        { "message_id": message_id(2).await, "event": "bounced", "bounce": "soft" },
        { "message_id": message_id(2).await, "event": "delivered" },
        { "message_id": "<not-ours@elsewhere.example>", "event": "delivered" },
    ]);
    let forged = post_events(&app, &events, "not-the-secret-at-all").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let customers = app.documents(collections::CUSTOMERS, doc! {}).await;
    assert!(
        customers.iter().all(|c| consent_state(c).is_none()),
        "nothing changed"
    );

    let applied = post_events(&app, &events, WEBHOOK_SECRET).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert_eq!(applied.json()["matched"], 4);
    let state_of = |i: usize| {
        let email = format!("cora{i}@events.example");
        let app = &app;
        async move {
            consent_state(
                &app.documents(collections::CUSTOMERS, doc! { "email": email })
                    .await[0],
            )
        }
    };
    assert_eq!(state_of(0).await.as_deref(), Some("bounced"));
    assert_eq!(state_of(1).await.as_deref(), Some("complained"));
    assert_eq!(state_of(2).await, None, "a soft bounce changes no consent");
    assert!(
        eventually(Duration::from_secs(5), || async {
            let now = stats(&app, &key, &first).await;
            now["bounced"] == 1 && now["delivered"] == 1
        })
        .await,
        "{}",
        stats(&app, &key, &first).await
    );

    // The next campaign reaches only the address that still takes mail.
    let second = send_campaign(&app, &key, "Hello again {{first_name}}").await;
    let done = wait_for_status(&app, &key, &second, "completed", Duration::from_secs(60)).await;
    assert_eq!(
        (done["sent"].as_u64(), done["suppressed"].as_u64()),
        (Some(1), Some(2)),
        "{done}"
    );
    app.stop().await;
}

#[tokio::test]
async fn consent_stated_in_an_import_is_kept_with_the_time_it_changed_and_suppresses() {
    let server = SmtpServer::start(&[]).await;
    let (app, key) = started_with_smtp_at(server.url()).await;
    let import = |consent: &'static str| {
        let app = &app;
        let key = key.clone();
        async move {
            let customers = json!([
                { "email": "ivy@import.example", "name": "Ivy", "visits": 1, "email_consent": consent },
                { "email": "jon@import.example", "name": "Jon", "visits": 1, "email_consent": "yes" },
            ]);
            let reply = app
                .post_json("/api/customers", &json!({ "customers": customers }), &key)
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    };
    let ivy = || async {
        app.documents(
            collections::CUSTOMERS,
            doc! { "email": "ivy@import.example" },
        )
        .await
        .remove(0)
        .get_document("consent")
        .unwrap()
        .get_document("email")
        .unwrap()
        .clone()
    };
    import("unsubscribed").await;
    let first = ivy().await;
    assert_eq!(first.get_str("state"), Ok("unsubscribed"));
    assert_eq!(first.get_str("via"), Ok("import"));
    tokio::time::sleep(Duration::from_millis(20)).await;
    import("no").await;
    assert_eq!(
        ivy().await.get_datetime("at"),
        first.get_datetime("at"),
        "the same state keeps its time"
    );

    let refused = app
        .post_json(
            "/api/customers",
            &json!({ "customers": [{ "email": "kim@import.example", "email_consent": "maybe" }] }),
            &key,
        )
        .await;
    refused.assert_refused("email_consent");

    let id = send_campaign(&app, &key, "Hi {{first_name}}").await;
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(60)).await;
    assert_eq!(
        (done["sent"].as_u64(), done["suppressed"].as_u64()),
        (Some(1), Some(1)),
        "{done}"
    );
    assert_eq!(server.received()[0].recipients, ["jon@import.example"]);
    app.stop().await;
}
