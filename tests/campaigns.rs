//! Campaigns end to end against the real services: scheduling with two instances, delivery through RabbitMQ and
//! the simulated vendor, receipts, pause and resume, a restart mid-send, and the original app's routes.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{
    campaigns::{
        create_campaign, create_from, everyone_segment, seed_customers, send_now, sending_campaign,
        stats, wait_for_status,
    },
    eventually, Credentials, TestApp,
};
use mongodb::bson::doc;
use realm::server::mongo::collections;
use serde_json::{json, Value};

async fn vendor_requests(app: &TestApp) -> (u64, i64) {
    let accepted = app.documents(collections::VENDOR_MESSAGES, doc! {}).await;
    let repeats = accepted
        .iter()
        .map(|m| m.get_i64("repeat_requests").unwrap_or(0))
        .sum();
    (accepted.len() as u64, repeats)
}

/// Every one of `audience` recipients has an outcome, and the vendor took each send once.
async fn assert_each_recipient_settled_and_sent_once(app: &TestApp, done: &Value, audience: u64) {
    assert_eq!(
        done["sent"].as_u64().unwrap() + done["failed"].as_u64().unwrap(),
        audience,
        "{done}"
    );
    let (accepted, repeats) = vendor_requests(app).await;
    assert_eq!(
        (accepted, repeats),
        (done["sent"].as_u64().unwrap(), 0),
        "a recipient was sent twice"
    );
}

#[tokio::test]
async fn a_campaign_due_in_a_second_starts_once_with_two_instances_and_every_recipient_gets_one_message(
) {
    let app = TestApp::start().await;
    let second = TestApp::start_with(app.config.clone()).await;
    let key = app.api_key().await;
    seed_customers(&app, &key, 40).await;
    let segment = everyone_segment(&app, &key).await;
    let due =
        realm::server::mongo::bson_time(time::OffsetDateTime::now_utc()).timestamp_millis() + 1_000;
    let id = create_campaign(&app, &key, &segment, 1_000, Some(due)).await;

    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(60)).await;
    assert_eq!(done["audience"], 40);
    assert_eq!(
        done["sent"].as_u64().unwrap() + done["failed"].as_u64().unwrap(),
        40,
        "{done}"
    );
    let campaign = app
        .get(&format!("/api/campaigns/{id}"), Credentials::Bearer(&key))
        .await
        .json();
    let launches = campaign["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "sending")
        .count();
    assert_eq!(launches, 1, "launched more than once: {campaign}");
    let (accepted, repeats) = vendor_requests(&app).await;
    assert_eq!((accepted, repeats), (done["sent"].as_u64().unwrap(), 0));

    let log = app
        .get(
            &format!("/api/campaigns/{id}/log?status=sent"),
            Credentials::Bearer(&key),
        )
        .await
        .json();
    let first = &log.as_array().unwrap()[0];
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .starts_with("Dear Cora Camp"),
        "{first}"
    );
    assert!(
        first["message"].as_str().unwrap().contains("from Lyon"),
        "{first}"
    );
    assert_eq!(first["status"], "sent");
    // A status the log does not know is refused, naming the parameter, rather than silently matching nobody.
    let unknown = app
        .get(
            &format!("/api/campaigns/{id}/log?status=bounced-twice"),
            Credentials::Bearer(&key),
        )
        .await;
    unknown.assert_refused("status");

    // The simulated vendor reports deliveries to /api/receipts shortly after accepting.
    assert!(
        eventually(Duration::from_secs(20), || async {
            stats(&app, &key, &id).await["delivered"] == done["sent"]
        })
        .await
    );
    second.stop().await;
    app.stop().await;
}

/// More recipients than one launch chunk and more messages in flight than database connections: the first chunks
/// go out while later ones are frozen, and every recipient gets one message.
#[tokio::test]
async fn a_large_audience_is_sent_in_full_while_it_is_still_being_frozen() {
    let mut config = common::isolated_config();
    config.vendor.latency_ms = 0;
    let app = TestApp::start_with(config).await;
    let key = app.api_key().await;
    let id = sending_campaign(&app, &key, 2_500, 10_000).await;

    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(180)).await;
    assert_eq!(done["audience"], 2_500);
    assert_each_recipient_settled_and_sent_once(&app, &done, 2_500).await;
    app.stop().await;
}

#[tokio::test]
async fn receipts_sent_twice_count_once_and_need_the_vendor_token() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let id = sending_campaign(&app, &key, 3, 100).await;
    wait_for_status(&app, &key, &id, "completed", Duration::from_secs(30)).await;

    let rows = app
        .documents(collections::COMMUNICATIONS, doc! { "status": "sent" })
        .await;
    let receipts: Vec<Value> = rows
        .iter()
        .map(|row| json!({ "receipt_id": format!("r-{}", row.get_object_id("_id").unwrap()), "message_id": row.get_object_id("_id").unwrap().to_hex(), "event": "opened", "at_ms": 1_790_000_000_000_i64 }))
        .collect();
    let post = |token: &str| {
        axum::http::Request::post("/api/receipts")
            .header("host", common::HOST)
            .header("content-type", "application/json")
            .header("x-realm-receipts-token", token)
            .body(axum::body::Body::from(
                json!({ "receipts": receipts }).to_string(),
            ))
            .unwrap()
    };
    assert_eq!(
        app.send(post("wrong")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let token = app.state.receipts_token.to_string();
    let opened_before = stats(&app, &key, &id).await["opened"].as_u64().unwrap();
    let first = app.send(post(&token)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    app.send(post(&token)).await;
    // The counts are at most a second old.
    eventually(Duration::from_secs(5), || async {
        stats(&app, &key, &id).await["opened"].as_u64() == Some(rows.len() as u64)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let opened = stats(&app, &key, &id).await["opened"].as_u64().unwrap();
    assert_eq!(
        opened,
        rows.len() as u64,
        "each sent message opened once (before: {opened_before})"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_paused_campaign_sends_nothing_until_resumed_and_then_finishes() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let id = sending_campaign(&app, &key, 30, 4).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            stats(&app, &key, &id).await["sent"].as_u64().unwrap_or(0) > 0
        })
        .await
    );
    let paused = app
        .send_json(
            Method::POST,
            &format!("/api/campaigns/{id}/pause"),
            None,
            &key,
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    // The sends already in flight finish and are recorded (on a busy machine that can take a moment); after that
    // nothing more goes out.
    let outcomes = |figures: &Value| (figures["sent"].clone(), figures["failed"].clone());
    let mut during = stats(&app, &key, &id).await;
    let mut settled = false;
    for _ in 0..15 {
        // Longer than the second for which the figures are cached.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let now = stats(&app, &key, &id).await;
        settled = outcomes(&now) == outcomes(&during);
        during = now;
        if settled {
            break;
        }
    }
    assert!(settled, "still sending 15 s after the pause: {during}");
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let later = stats(&app, &key, &id).await;
    assert_eq!(outcomes(&during), outcomes(&later), "sent while paused");
    assert!(later["pending"].as_u64().unwrap() > 0, "{later}");
    let refused = app
        .send_json(
            Method::POST,
            &format!("/api/campaigns/{id}/pause"),
            None,
            &key,
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);

    app.send_json(
        Method::POST,
        &format!("/api/campaigns/{id}/resume"),
        None,
        &key,
    )
    .await;
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(30)).await;
    assert_eq!(
        done["sent"].as_u64().unwrap() + done["failed"].as_u64().unwrap(),
        30,
        "{done}"
    );
    assert_eq!(vendor_requests(&app).await.1, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_app_restarted_mid_send_finishes_without_sending_twice() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let id = sending_campaign(&app, &key, 40, 15).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            stats(&app, &key, &id).await["sent"].as_u64().unwrap_or(0) >= 5
        })
        .await
    );
    let config = app.shut_down().await;

    let restarted = TestApp::start_with(config).await;
    let done = wait_for_status(&restarted, &key, &id, "completed", Duration::from_secs(60)).await;
    assert_each_recipient_settled_and_sent_once(&restarted, &done, 40).await;
    restarted.stop().await;
}

#[tokio::test]
async fn a_job_that_outlives_the_reclaim_window_sends_each_recipient_once() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    // One message a second: one job of 30 recipients takes 30 seconds, nearly four times the reclaim window below.
    let id = sending_campaign(&app, &key, 30, 1).await;
    let reclaim_window = Duration::from_secs(8);
    let finished = eventually(Duration::from_secs(90), || async {
        // What the scheduler's recovery does every ten seconds, here every half second with a short window.
        realm::campaigns::server::scheduler::recover(
            app.mongo(),
            &app.state.broker,
            reclaim_window,
        )
        .await
        .unwrap();
        stats(&app, &key, &id).await["status"] == "completed"
    })
    .await;
    let done = stats(&app, &key, &id).await;
    assert!(finished, "{done}");
    assert_each_recipient_settled_and_sent_once(&app, &done, 30).await;
    let list = app
        .get("/api/campaigns", Credentials::Bearer(&key))
        .await
        .json();
    let listed = list
        .as_array()
        .and_then(|campaigns| campaigns.iter().find(|c| c["id"] == id.as_str()))
        .cloned()
        .unwrap_or(list);
    assert_eq!(listed["processed"], 30, "{listed}");
    app.stop().await;
}

#[tokio::test]
async fn jobs_queued_three_times_at_once_send_each_recipient_once_and_leave_no_claim_behind() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    // Slow enough that the copies below are taken while the first jobs are still sending.
    let id = sending_campaign(&app, &key, 40, 20).await;
    let oid = mongodb::bson::oid::ObjectId::parse_str(&id).unwrap();
    for _ in 0..2 {
        realm::campaigns::server::scheduler::publish_pending(app.mongo(), &app.state.broker, oid)
            .await
            .unwrap();
    }
    let done = wait_for_status(&app, &key, &id, "completed", Duration::from_secs(60)).await;
    assert_each_recipient_settled_and_sent_once(&app, &done, 40).await;
    let campaign = app
        .documents(collections::CAMPAIGNS, doc! { "_id": oid })
        .await;
    assert_eq!(campaign[0].get_i64("processed").unwrap(), 40);
    // The copies that found their recipients settled let go of their claims too.
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.documents(collections::DELIVERY_CLAIMS, doc! {})
                .await
                .is_empty()
        })
        .await
    );
    app.stop().await;
}

#[tokio::test]
async fn a_campaign_whose_tally_a_crash_left_short_is_completed_by_the_recovery() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let id = sending_campaign(&app, &key, 10, 100).await;
    wait_for_status(&app, &key, &id, "completed", Duration::from_secs(30)).await;
    // As if the app had stopped between recording outcomes and counting them: every recipient has an outcome,
    // but the tally the workers complete a campaign by is short.
    let oid = mongodb::bson::oid::ObjectId::parse_str(&id).unwrap();
    app.mongo()
        .collection(collections::CAMPAIGNS)
        .update_one(
            doc! { "_id": oid },
            doc! { "$set": { "status": "sending", "processed": 3_i64 }, "$unset": { "completed_at": "" } },
        )
        .await
        .unwrap();
    realm::campaigns::server::scheduler::recover(
        app.mongo(),
        &app.state.broker,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(stats(&app, &key, &id).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn people_cannot_complete_fail_or_launch_a_campaign_themselves() {
    use leptos::server_fn::ServerFn;
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let cookie = app
        .signed_in_cookie(common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await;
    seed_customers(&app, &key, 5).await;
    let segment = everyone_segment(&app, &key).await;
    // Far in the future: it stays scheduled while the test asks.
    let id = create_campaign(&app, &key, &segment, 1, Some(4_102_444_800_000)).await;
    let scheduled = app
        .send_json(
            Method::POST,
            &format!("/api/campaigns/{id}/schedule"),
            None,
            &key,
        )
        .await;
    assert_eq!(scheduled.status, StatusCode::OK, "{}", scheduled.body);
    for action in ["launch", "complete", "fail"] {
        let reply = app
            .post_form(
                realm::campaigns::api::ActOnCampaign::PATH,
                &[("id", &id), ("action", action)],
                Credentials::Cookie(&cookie),
            )
            .await;
        assert!(
            reply.body.contains("Only the scheduler"),
            "{action}: {} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(stats(&app, &key, &id).await["status"], "scheduled");
    let cancelled = app
        .post_form(
            realm::campaigns::api::ActOnCampaign::PATH,
            &[("id", &id), ("action", "cancel")],
            Credentials::Cookie(&cookie),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(stats(&app, &key, &id).await["status"], "cancelled");
    app.stop().await;
}

#[tokio::test]
async fn a_frequency_cap_skips_customers_another_campaign_reached_lately() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    seed_customers(&app, &key, 3).await;
    let segment = everyone_segment(&app, &key).await;
    let first = create_campaign(&app, &key, &segment, 50, None).await;
    send_now(&app, &key, &first).await;
    wait_for_status(&app, &key, &first, "completed", Duration::from_secs(60)).await;
    let reached: Vec<String> = app
        .documents(collections::COMMUNICATIONS, doc! { "status": "sent" })
        .await
        .iter()
        .map(|c| c.get_str("to").unwrap().to_owned())
        .collect();

    // One more customer, whom nothing reached yet; the capped campaign goes to everyone.
    seed_customers(&app, &key, 4).await;
    let capped = create_from(
        &app,
        &key,
        &json!({ "name": "Reminder", "segment_id": segment, "channel": "email", "subject": "Hi",
                 "message": "Hello {{first_name}}", "rate_per_second": 50, "frequency_cap_hours": 24 }),
    )
    .await;
    send_now(&app, &key, &capped).await;
    let done = wait_for_status(&app, &key, &capped, "completed", Duration::from_secs(60)).await;
    assert_eq!(done["audience"], 4, "{done}");
    assert_eq!(done["suppressed"], reached.len() as u64, "{done}");
    let campaign = mongodb::bson::oid::ObjectId::parse_str(&capped).unwrap();
    let skipped = app
        .documents(
            collections::COMMUNICATIONS,
            doc! { "campaign_id": campaign, "status": "suppressed" },
        )
        .await;
    for row in &skipped {
        assert!(reached.contains(&row.get_str("to").unwrap().to_owned()));
        assert!(row
            .get_str("failure_reason")
            .unwrap()
            .starts_with("frequency cap"));
    }
    let refused = app
        .post_json(
            "/api/campaigns",
            &json!({ "name": "Too often", "segment_id": segment, "channel": "email", "subject": "Hi",
                     "message": "Hello", "frequency_cap_hours": 0 }),
            &key,
        )
        .await;
    refused.assert_refused("frequency_cap_hours");
    app.stop().await;
}
