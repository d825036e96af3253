//! Campaign email through a real SMTP server (the MailDev catcher the test command starts): MIME messages with
//! personalisation, tracked links, an open pixel and unsubscribe headers; consent that suppresses; opens, clicks
//! and unsubscribes recorded through the signed links.

mod common;

use std::time::Duration;

use axum::http::{Method, Request, StatusCode};
use common::{
    campaigns::{everyone_segment, seed_customers_at, stats, wait_for_status},
    eventually, isolated_config, Credentials, TestApp,
};
use mongodb::bson::doc;
use realm::server::{config::EmailTransport, mongo::collections};
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
    let mut config = isolated_config();
    config.email = EmailTransport::Smtp {
        url: smtp_url(),
        from: "Corner Shop <news@shop.example>".to_owned(),
    };
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;
    (app, key)
}

async fn send_campaign(app: &TestApp, key: &str, message: &str) -> String {
    let segment = everyone_segment(app, key).await;
    let body = json!({
        "name": "Sale", "segment_id": segment, "channel": "email",
        "subject": "Hello {{first_name|there}}", "message": message, "rate_per_second": 50,
    });
    let reply = app.post_json("/api/campaigns", &body, key).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    let sent = app
        .send_json(
            Method::POST,
            &format!("/api/campaigns/{id}/send-now"),
            None,
            key,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
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
