//! SMS through a provider's webhook: a receiver in the test checks each request's signature and body, refuses the
//! first attempt at each message with a 500 and accepts the second, which Realm sends after its backoff.

mod common;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use common::{
    campaigns::{create_from, everyone_segment, send_now, wait_for_status},
    isolated_config, TestApp, WEBHOOK_SECRET,
};
use mongodb::bson::doc;
use realm::{
    campaigns::server::webhook::signature,
    server::{config::SmsTransport, mongo::collections},
};
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Receiver {
    /// Every request: whether its signature held, and its JSON body.
    requests: Arc<Mutex<Vec<(bool, Value)>>>,
    refused_once: Arc<Mutex<HashSet<String>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signed = headers
        .get("x-realm-signature")
        .and_then(|value| value.to_str().ok())
        == Some(signature(WEBHOOK_SECRET.as_bytes(), &body).as_str());
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = payload["message_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    receiver.requests.lock().unwrap().push((signed, payload));
    if receiver.refused_once.lock().unwrap().insert(id) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::ACCEPTED
    }
}

#[tokio::test]
async fn sms_are_posted_signed_to_the_webhook_and_a_500_is_tried_again() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/sms", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut config = isolated_config();
    config.sms = SmsTransport::Webhook {
        url: format!("http://{address}/sms"),
        secret: WEBHOOK_SECRET.to_owned(),
        opt_out: Some("Reply STOP to opt out".to_owned()),
    };
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;
    let customers: Vec<Value> = (0..3)
        .map(|i| json!({ "name": format!("Sam Texter{i}"), "email": format!("sam{i}@example.com"), "phone": format!("+33612345670{i}"), "visits": 1, "totalSpending": 5 }))
        .collect();
    let seeded = app
        .post_json("/api/customers", &json!({ "customers": customers }), &key)
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.body);
    let segment = everyone_segment(&app, &key).await;
    let id = create_from(
        &app,
        &key,
        &json!({ "name": "Flash sale", "segment_id": segment, "channel": "sms",
                 "message": "Hi {{first_name}}, 20% off today. Reply STOP to opt out", "rate_per_second": 50 }),
    )
    .await;
    send_now(&app, &key, &id).await;
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(60)).await;
    assert_eq!(done["sent"], 3, "{done}");

    let requests = receiver.requests.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        6,
        "each message refused once, then accepted: {requests:?}"
    );
    assert!(
        requests.iter().all(|(signed, _)| *signed),
        "every request is signed"
    );
    let communications = app
        .documents(
            collections::COMMUNICATIONS,
            doc! { "campaign_id": mongodb::bson::oid::ObjectId::parse_str(&id).unwrap() },
        )
        .await;
    for communication in &communications {
        let message_id = communication.get_object_id("_id").unwrap().to_hex();
        let to = communication.get_str("to").unwrap();
        let bodies: Vec<&Value> = requests
            .iter()
            .map(|(_, body)| body)
            .filter(|body| body["message_id"] == message_id.as_str())
            .collect();
        assert_eq!(bodies.len(), 2, "{message_id}");
        assert_eq!(bodies[0], bodies[1], "the retry sends the same message");
        assert_eq!(bodies[0]["to"], to);
        assert_eq!(bodies[0]["campaign_id"], id.as_str());
        assert!(
            bodies[0]["body"]
                .as_str()
                .unwrap()
                .starts_with("Hi Sam, 20% off"),
            "{}",
            bodies[0]
        );
        assert_eq!(communication.get_i64("attempts"), Ok(2));
        // The webhook knows the message by Realm's id, so no other id is kept for it.
        assert!(
            communication.get("vendor_message_id").is_none(),
            "{communication}"
        );
    }
    app.stop().await;
}
