//! The original app's clients against Realm: every request its frontend and API clients make, with their exact
//! bodies, and every field they read from the answers. Realm's own fields stay beside them, and no answer repeats a
//! key (strict JSON parsers refuse that).

mod common;

use std::{collections::HashSet, fmt, time::Duration};

use axum::http::{Method, StatusCode};
use common::{eventually, Credentials, Reply, TestApp};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Value};

/// Fails on the first object in `body` that has a key twice.
fn assert_no_repeated_keys(body: &str) {
    struct Strict;
    impl<'de> Visitor<'de> for Strict {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(de::Error::custom(format!("the key {key:?} appears twice")));
                }
                map.next_value::<StrictValue>()?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<StrictValue>()?.is_some() {}
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
    struct StrictValue;
    impl<'de> de::Deserialize<'de> for StrictValue {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Strict).map(|()| StrictValue)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(body);
    if let Err(error) = deserializer.deserialize_any(Strict) {
        panic!("{error} in {body}");
    }
}

fn strict(reply: &Reply) -> Value {
    assert_no_repeated_keys(&reply.body);
    reply.json()
}

fn is_object_id(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|id| id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn the_key_checker_catches_a_repeated_key() {
    assert_no_repeated_keys(r#"{"id": 1, "nested": [{"id": 2}, {"a": {"b": 1}}]}"#);
    let repeated = std::panic::catch_unwind(|| assert_no_repeated_keys(r#"[{"id": 1, "id": 1}]"#));
    assert!(repeated.is_err());
}

#[tokio::test]
async fn the_original_frontend_and_api_clients_read_every_field_they_expect() {
    let app = TestApp::start().await;
    let key = app.api_key().await;

    // Customers: one at a time, answered `{success, data: {_id, ...}}`.
    let created = app
        .post_json(
            "/api/customers",
            &json!({ "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958", "totalSpending": 1200, "visits": 3 }),
            &key,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let customer = strict(&created);
    assert_eq!(customer["success"], true);
    assert!(is_object_id(&customer["data"]["_id"]), "{customer}");
    assert_eq!(customer["data"]["_id"], customer["id"]);
    assert_eq!(customer["data"]["email"], "ada@example.com");
    assert_eq!(customer["data"]["name"], "Ada Lovelace");
    for (name, spend, visits) in [("Bob", 90, 1), ("Cy", 5_000, 7), ("Di", 2_500, 4)] {
        let reply = app
            .post_json(
                "/api/customers",
                &json!({ "name": name, "email": format!("{}@example.com", name.to_lowercase()), "totalSpending": spend, "visits": visits }),
                &key,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let refused = app
        .post_json(
            "/api/customers",
            &json!({ "name": "No Mail", "email": "not-an-address" }),
            &key,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let refused = strict(&refused);
    assert_eq!(refused["success"], false);
    assert_eq!(refused["field"], "email");
    assert!(refused["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Orders: 202 with `{success, message}` beside the batch.
    let orders = app
        .post_json(
            "/api/orders",
            &json!([{ "customerEmail": "ada@example.com", "amount": 120.5, "items": 2, "date": "2026-11-01T10:00:00Z" }]),
            &key,
        )
        .await;
    assert_eq!(orders.status, StatusCode::ACCEPTED, "{}", orders.body);
    let orders = strict(&orders);
    assert_eq!(orders["success"], true);
    assert!(orders["message"]
        .as_str()
        .is_some_and(|m| m.contains("1 orders")));
    assert!(orders["batch_id"].is_string());
    let bad_orders = app
        .post_json("/api/orders", &json!({ "orders": "none" }), &key)
        .await;
    assert_eq!(
        bad_orders.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_orders.body
    );
    let bad_orders = strict(&bad_orders);
    assert_eq!(bad_orders["success"], false);
    assert!(bad_orders["message"].is_string());

    // Segments: the original rule shape; `_id` and `audienceCount` beside `id` and `size`.
    let created = app
        .post_json(
            "/api/segments",
            &json!({ "name": "Regulars", "conditions": [{ "field": "visits", "operator": ">=", "value": 3 }], "logicOperator": "AND" }),
            &key,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let segment = strict(&created);
    assert!(is_object_id(&segment["_id"]));
    assert_eq!(segment["_id"], segment["id"]);
    assert_eq!(segment["audienceCount"], 3);
    assert_eq!(segment["size"], 3);
    let segment_id = segment["_id"].as_str().unwrap().to_owned();
    let listed = app.get("/api/segments", Credentials::Bearer(&key)).await;
    let listed = strict(&listed);
    let listed = listed.as_array().expect("an array of segments");
    let regulars = listed
        .iter()
        .find(|s| s["_id"] == segment_id.as_str())
        .expect("the new segment is listed");
    assert_eq!(regulars["name"], "Regulars");
    assert_eq!(regulars["audienceCount"], 3);
    let one = app
        .get(
            &format!("/api/segments/{segment_id}"),
            Credentials::Bearer(&key),
        )
        .await;
    assert_eq!(strict(&one)["_id"], segment_id.as_str());

    // The audience: an array of customers with `_id`, in pages linked by `Link: rel="next"`.
    let mut emails = Vec::new();
    let mut next = Some(format!("/api/segments/audience/{segment_id}?limit=2"));
    while let Some(path) = next.take() {
        let page = app.get(&path, Credentials::Bearer(&key)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for member in strict(&page).as_array().expect("an array of customers") {
            assert!(is_object_id(&member["_id"]), "{member}");
            emails.push(member["email"].as_str().unwrap().to_owned());
        }
        next = page
            .headers
            .get("link")
            .and_then(|link| link.to_str().ok())
            .and_then(|link| link.strip_prefix('<'))
            .and_then(|link| link.split_once(">; rel=\"next\""))
            .map(|(path, _)| path.to_owned());
    }
    emails.sort();
    assert_eq!(
        emails,
        ["ada@example.com", "cy@example.com", "di@example.com"]
    );
    // Realm's own clients page through the same members as an object.
    let members = app
        .get(
            &format!("/api/segments/{segment_id}/members?limit=2"),
            Credentials::Bearer(&key),
        )
        .await;
    let members = strict(&members);
    assert_eq!(members["customers"].as_array().unwrap().len(), 2);
    assert!(members["next_after"].is_string());

    // Campaigns as the original frontend creates them: no message, a date in the future.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let later_text = later
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let created = app
        .post_json(
            "/api/campaigns",
            &json!({ "name": "Spring", "segmentId": segment_id, "scheduledFor": later_text }),
            &key,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let spring = strict(&created);
    assert!(is_object_id(&spring["_id"]));
    assert_eq!(spring["_id"], spring["id"]);
    assert_eq!(spring["name"], "Spring");
    assert_eq!(spring["segmentId"], segment_id.as_str());
    assert_eq!(spring["status"], "scheduled");
    let scheduled_for = time::OffsetDateTime::parse(
        spring["scheduledFor"].as_str().expect("scheduledFor"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(scheduled_for.unix_timestamp(), later.unix_timestamp());
    assert!(
        spring["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Hi {{first_name|there}},")),
        "a default message to edit: {spring}"
    );
    assert!(spring.get("note").is_none());
    let bad = app
        .post_json(
            "/api/campaigns",
            &json!({ "name": "Bad", "segmentId": segment_id, "message": "Hi {{nickname}}" }),
            &key,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(strict(&bad)["field"], "message");

    // Today's date without a time reads as midnight, already past: the campaign stays a draft and says why.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let created = app
        .post_json(
            "/api/campaigns",
            &json!({ "name": "Today", "segmentId": segment_id, "scheduledFor": today }),
            &key,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let today = strict(&created);
    assert_eq!(today["status"], "draft");
    assert!(
        today["note"].as_str().is_some_and(|n| n.contains("draft")),
        "{today}"
    );
    let today_id = today["_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let still = app
        .get(
            &format!("/api/campaigns/{today_id}"),
            Credentials::Bearer(&key),
        )
        .await;
    let still = strict(&still);
    assert_eq!(still["status"], "draft", "nothing went out on its own");
    assert_eq!(still["name"], "Today");
    assert_eq!(still["segmentId"], segment_id.as_str());
    assert!(still["scheduledFor"].is_string());

    let listed = app.get("/api/campaigns", Credentials::Bearer(&key)).await;
    let listed = strict(&listed);
    let names: HashSet<&str> = listed
        .as_array()
        .expect("an array of campaigns")
        .iter()
        .inspect(|c| assert!(is_object_id(&c["_id"]), "{c}"))
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, HashSet::from(["Spring", "Today"]));
    let aimed = app
        .get(
            &format!("/api/campaigns/segment/{segment_id}"),
            Credentials::Bearer(&key),
        )
        .await;
    assert_eq!(strict(&aimed).as_array().unwrap().len(), 2);

    // Sending, statistics, and the metrics route the original let clients write.
    let sent = app
        .send_json(
            Method::POST,
            &format!("/api/campaigns/send/{today_id}"),
            None,
            &key,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(
        eventually(Duration::from_secs(30), || async {
            app.get(
                &format!("/api/campaigns/statistics/{today_id}"),
                Credentials::Bearer(&key),
            )
            .await
            .json()["status"]
                == "completed"
        })
        .await
    );
    let statistics = app
        .get(
            &format!("/api/campaigns/statistics/{today_id}"),
            Credentials::Bearer(&key),
        )
        .await;
    let statistics = strict(&statistics);
    for field in [
        "audience",
        "sent",
        "delivered",
        "failed",
        "opened",
        "clicked",
    ] {
        assert!(statistics[field].is_u64(), "{field} missing: {statistics}");
    }
    assert_eq!(statistics["audience"], 3);
    assert_eq!(
        statistics["sent"].as_u64().unwrap() + statistics["failed"].as_u64().unwrap(),
        3
    );
    let metrics = app
        .send_json(
            Method::PATCH,
            &format!("/api/campaigns/metrics/{today_id}"),
            Some(&json!({ "sent": 1000, "opened": 900 })),
            &key,
        )
        .await;
    assert_eq!(metrics.status, StatusCode::GONE, "{}", metrics.body);
    let metrics = strict(&metrics);
    assert_eq!(metrics["success"], false);
    assert!(metrics["message"]
        .as_str()
        .is_some_and(|m| m.contains(&format!("/api/campaigns/statistics/{today_id}"))));
    let after = app
        .get(
            &format!("/api/campaigns/statistics/{today_id}"),
            Credentials::Bearer(&key),
        )
        .await
        .json();
    assert_eq!(after["sent"], statistics["sent"], "nothing was overwritten");
    app.stop().await;
}

fn cross_origin(method: Method, path: &str, origin: &str) -> axum::http::request::Builder {
    axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", common::HOST)
        .header("origin", origin)
}

#[tokio::test]
async fn other_sites_call_the_api_with_a_key_only_when_listed() {
    const LISTED: &str = "https://app.example.com";
    let mut config = common::isolated_config();
    config.cors_origins = vec![LISTED.to_owned()];
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;

    let preflight = app
        .send(
            cross_origin(Method::OPTIONS, "/api/segments", LISTED)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(preflight.headers["access-control-allow-origin"], LISTED);
    assert!(preflight
        .headers
        .get("access-control-allow-credentials")
        .is_none());

    let read = |origin: &'static str| {
        cross_origin(Method::GET, "/api/segments", origin)
            .header("authorization", format!("Bearer {key}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let listed = app.send(read(LISTED)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.headers["access-control-allow-origin"], LISTED);
    let unlisted = app.send(read("https://evil.example")).await;
    assert!(unlisted
        .headers
        .get("access-control-allow-origin")
        .is_none());

    // Without REALM_CORS_ORIGINS no site is let in.
    let closed = TestApp::start().await;
    let key = closed.api_key().await;
    let reply = closed
        .send(
            cross_origin(Method::GET, "/api/segments", LISTED)
                .header("authorization", format!("Bearer {key}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
    closed.stop().await;
    app.stop().await;
}
