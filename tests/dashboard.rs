//! The dashboard against orders ingested over several days, customers created at known times and campaigns with
//! known messages: every figure and chart series is compared with values worked out here from the same data.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::{Credentials, TestApp};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use realm::{
    campaigns::server::figures,
    dashboard::{
        model::{CampaignFigures, Dashboard},
        server as dashboard,
    },
    orders::server::daily,
    server::mongo::collections,
};
use serde_json::json;
use time::{Duration, OffsetDateTime, Time};

/// (days ago, amount in cents) of every order the test ingests.
const ORDERS: [(i64, i64); 14] = [
    (0, 12_50),
    (0, 7_25),
    (0, 100_00),
    (1, 40_00),
    (1, 2_99),
    (3, 15_00),
    (6, 8_00),
    (7, 33_33),
    (12, 61_00),
    (29, 5_00),
    (30, 70_00),
    (45, 19_99),
    (75, 250_00),
    (120, 999_00),
];

/// A moment on the day `days_ago` days before today (UTC) that is never in the future.
fn moment(days_ago: i64, now: OffsetDateTime) -> OffsetDateTime {
    let midnight = now.replace_time(Time::MIDNIGHT);
    if days_ago == 0 {
        midnight + (now - midnight) / 2
    } else {
        midnight - Duration::days(days_ago) + Duration::hours(12)
    }
}

/// Orders and revenue summed over the orders placed between `from` and `to` days ago, both included.
fn expected_between(from: i64, to: i64) -> (u64, i64) {
    ORDERS
        .iter()
        .filter(|(ago, _)| (to..=from).contains(ago))
        .fold((0, 0), |(orders, revenue), (_, cents)| {
            (orders + 1, revenue + cents)
        })
}

async fn ingest_orders(app: &TestApp, key: &str, now: OffsetDateTime) {
    let orders: Vec<_> = ORDERS
        .iter()
        .enumerate()
        .map(|(i, (ago, cents))| {
            json!({
                "customer_email": format!("buyer{}@example.com", i % 5),
                "amount": format!("{}.{:02}", cents / 100, cents % 100),
                "items": 1,
                "date": moment(*ago, now).format(&time::format_description::well_known::Rfc3339).unwrap(),
                "order_id": format!("D-{i}"),
            })
        })
        .collect();
    let accepted = app
        .post_json("/api/orders", &json!({ "orders": orders }), key)
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let batch = app
        .finished_batch(accepted.json()["status_url"].as_str().unwrap(), key)
        .await;
    assert_eq!(batch["stored"], ORDERS.len(), "{batch}");
}

/// Customers created the given days (and an hour) ago.
fn customers_created(days_ago: &[i64], now: OffsetDateTime) -> Vec<Document> {
    days_ago
        .iter()
        .enumerate()
        .map(|(i, ago)| {
            doc! {
                "email": format!("early{i}@example.com"),
                "name": format!("Early {i}"),
                "tags": [],
                "created_at": DateTime::from_millis(((now - Duration::days(*ago) - Duration::hours(1)).unix_timestamp_nanos() / 1_000_000) as i64),
                "total_spend_cents": 0_i64,
                "order_count": 0_i64,
            }
        })
        .collect()
}

/// A campaign in `status`, launched the given minutes ago if at all, with one message per entry of `messages`:
/// (status, delivered, opened).
async fn insert_campaign(
    app: &TestApp,
    name: &str,
    status: &str,
    launched_minutes_ago: Option<i64>,
    messages: &[(&str, bool, bool)],
) {
    let id = ObjectId::new();
    // Every field Realm writes when it creates a campaign: the dashboard reads campaigns as typed documents.
    let mut campaign = doc! {
        "_id": id, "name": name, "segment_id": ObjectId::new(), "status": status, "channel": "email",
        "subject": "Hello", "message": "Hello {{first_name}}", "scheduled_for": null, "rate_per_second": 50_i64,
        "attribution_days": 7_i64, "frequency_cap_hours": null, "history": [], "created_by": "test",
    };
    if let Some(minutes) = launched_minutes_ago {
        let at = DateTime::now().timestamp_millis() - minutes * 60_000;
        campaign.insert("launched_at", DateTime::from_millis(at));
        campaign.insert("audience", messages.len() as i64);
    }
    let communications: Vec<Document> = messages
        .iter()
        .map(|(status, delivered, opened)| {
            let mut message =
                doc! { "campaign_id": id, "customer_id": ObjectId::new(), "status": *status };
            if *delivered {
                message.insert("delivered_at", DateTime::now());
            }
            if *opened {
                message.insert("opened_at", DateTime::now());
            }
            message
        })
        .collect();
    if !communications.is_empty() {
        app.insert_documents(collections::COMMUNICATIONS, communications)
            .await;
    }
    // The campaign last: the app's own tally, which runs every few seconds, then never counts it without its messages.
    app.mongo()
        .collection(collections::CAMPAIGNS)
        .insert_one(campaign)
        .await
        .unwrap();
}

fn check_orders(dashboard: &Dashboard, days: u32) {
    let periods: Vec<(u32, u64, i64, u64, i64)> = dashboard
        .periods
        .iter()
        .map(|p| {
            (
                p.days,
                p.orders,
                p.revenue_cents,
                p.previous_orders,
                p.previous_revenue_cents,
            )
        })
        .collect();
    let expected: Vec<(u32, u64, i64, u64, i64)> = [1_i64, 7, 30]
        .into_iter()
        .map(|span| {
            let (orders, revenue) = expected_between(span - 1, 0);
            let (previous_orders, previous_revenue) = expected_between(2 * span - 1, span);
            (
                span as u32,
                orders,
                revenue,
                previous_orders,
                previous_revenue,
            )
        })
        .collect();
    assert_eq!(periods, expected);

    let mut per_day: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
    for (ago, cents) in ORDERS {
        let day = per_day.entry(ago).or_default();
        day.0 += 1;
        day.1 += cents;
    }
    assert_eq!(dashboard.daily.len(), days as usize);
    let today = OffsetDateTime::now_utc().date();
    for (index, day) in dashboard.daily.iter().enumerate() {
        let ago = i64::from(days) - 1 - index as i64;
        assert_eq!(day.day, (today - Duration::days(ago)).to_string());
        let (orders, revenue) = per_day.get(&ago).copied().unwrap_or((0, 0));
        assert_eq!(
            (day.orders, day.revenue_cents),
            (orders, revenue),
            "{ago} days ago"
        );
    }
}

#[tokio::test]
async fn every_figure_and_series_matches_the_data_behind_it() {
    let now = OffsetDateTime::now_utc();
    // Four customers were created before; the five of the orders are created just now.
    let app = TestApp::start_with_history(
        collections::CUSTOMERS,
        customers_created(&[3, 10, 40, 400], now),
    )
    .await;
    let key = app.api_key().await;
    ingest_orders(&app, &key, now).await;
    for (name, visits) in [("One order or more", 1), ("Three orders or more", 3)] {
        let created = app
            .post_json(
                "/api/segments",
                &json!({ "name": name, "conditions": [{ "field": "visits", "operator": ">=", "value": visits }], "logicOperator": "AND" }),
                &key,
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    insert_campaign(&app, "Later", "scheduled", None, &[]).await;
    insert_campaign(
        &app,
        "Going out",
        "sending",
        Some(10),
        &[
            ("sent", true, true),
            ("sent", false, false),
            ("pending", false, false),
        ],
    )
    .await;
    insert_campaign(
        &app,
        "Done",
        "completed",
        Some(5),
        &[
            ("sent", true, true),
            ("sent", true, false),
            ("sent", true, false),
            ("failed", false, false),
        ],
    )
    .await;
    figures::refresh(app.mongo()).await.unwrap();
    // Tallied by that call or by the app's own round just before it: the sending and the recently finished
    // campaign, not the scheduled one. Neither is due again yet: the sending one in seconds, the finished one in a
    // minute.
    let tallied: Vec<String> = app
        .documents(
            collections::CAMPAIGNS,
            doc! { "figures_counted_at": { "$exists": true } },
        )
        .await
        .iter()
        .map(|campaign| campaign.get_str("name").unwrap().to_owned())
        .collect();
    assert_eq!(tallied.len(), 2, "{tallied:?}");
    assert!(tallied.contains(&"Going out".to_owned()) && tallied.contains(&"Done".to_owned()));
    assert_eq!(figures::refresh(app.mongo()).await.unwrap(), 0);

    for days in [30, 90] {
        let dashboard = dashboard::load(app.mongo(), days).await.unwrap();
        check_orders(&dashboard, days);

        assert_eq!(dashboard.customers, 9);
        assert_eq!(
            (dashboard.new_customers_7d, dashboard.new_customers_30d),
            (6, 7)
        );

        assert_eq!(
            (dashboard.campaigns_scheduled, dashboard.campaigns_sending),
            (1, 1)
        );
        let performance: Vec<(&str, CampaignFigures)> = dashboard
            .campaign_performance
            .iter()
            .map(|c| (c.name.as_str(), c.figures.clone()))
            .collect();
        let going_out = CampaignFigures {
            audience: 3,
            sent: 2,
            failed: 0,
            delivered: 1,
            opened: 1,
            clicked: 0,
            ..CampaignFigures::default()
        };
        let done = CampaignFigures {
            audience: 4,
            sent: 3,
            failed: 1,
            delivered: 3,
            opened: 1,
            clicked: 0,
            ..CampaignFigures::default()
        };
        assert_eq!(
            performance,
            vec![("Done", done.clone()), ("Going out", going_out.clone())]
        );
        assert_eq!(
            dashboard.all_campaigns,
            CampaignFigures {
                audience: 7,
                sent: 5,
                failed: 1,
                delivered: 4,
                opened: 2,
                clicked: 0,
                ..CampaignFigures::default()
            }
        );
        assert_eq!(dashboard.all_campaigns.delivery_rate(), Some(80.0));

        // Orders were placed by buyer0..buyer4: 14 orders in turn, so every one has at least 2, and 4 have 3.
        let largest: Vec<(&str, Option<u64>)> = dashboard
            .largest_segments
            .iter()
            .map(|s| (s.name.as_str(), s.size))
            .collect();
        assert_eq!(
            largest,
            vec![
                ("One order or more", Some(5)),
                ("Three orders or more", Some(4))
            ]
        );
        let recent_campaigns: Vec<&str> = dashboard
            .recent_campaigns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(recent_campaigns, ["Done", "Going out", "Later"]);
        assert_eq!(dashboard.recent_segments.len(), 2);
    }

    // The first paint comes from the server with the figures in it.
    let cookie = app
        .signed_in_cookie(common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await;
    let page = app.get("/", Credentials::Cookie(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let (today_orders, _) = expected_between(0, 0);
    let card = page
        .body
        .split("data-stat=\"Orders today\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split("</dd>").next())
        .unwrap_or_else(|| panic!("no Orders today figure in {}", page.body));
    assert_eq!(card.replace("<!>", ""), today_orders.to_string());

    // Rebuilt from the orders, the day totals are the same as the ones folded in behind the consumer.
    let kept = daily::per_day(app.mongo(), 200).await.unwrap();
    app.mongo()
        .collection(collections::ORDER_DAYS)
        .update_many(doc! {}, doc! { "$set": { "orders": 0_i64 } })
        .await
        .unwrap();
    let rebuilt = daily::rebuild(app.mongo()).await.unwrap();
    assert_eq!(rebuilt.folded_batches, 0, "the batch was folded in before");
    assert_eq!(daily::per_day(app.mongo(), 200).await.unwrap(), kept);
    let stored = app
        .mongo()
        .collection(collections::ORDERS)
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(daily::total(app.mongo()).await.unwrap(), stored);
    app.stop().await;
}

#[tokio::test]
async fn only_the_offered_chart_spans_are_served() {
    let app = TestApp::start().await;
    app.api_key().await;
    let cookie = app
        .signed_in_cookie(common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await;
    let page = app.get("/?days=90", Credentials::Cookie(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Orders per day, last 90 days"),
        "{}",
        page.body
    );
    assert!(realm::dashboard::model::check_span(7).is_err());
    app.stop().await;
}

#[tokio::test]
async fn new_and_all_customers_match_a_direct_count_with_hours_kept_open_or_forgotten() {
    use realm::customers::server::growth;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let now = DateTime::now().timestamp_millis();
    // At the window edges (exactly 7 and 30 days ago, a millisecond before), on and beside hour starts, in the last
    // minutes (an hour not yet closed), and spread over five weeks.
    let mut moments = vec![
        now - 7 * DAY,
        now - 7 * DAY - 1,
        now - 30 * DAY,
        now - 30 * DAY - 1,
        (now - 3 * DAY).div_euclid(HOUR) * HOUR,
        (now - 3 * DAY).div_euclid(HOUR) * HOUR - 1,
        now - 2 * 60_000,
        now - 70 * 60_000,
        now,
    ];
    moments.extend((0..200).map(|i| now - (i * 6 * HOUR + i * 7_919_000) % (35 * DAY)));
    let mut customers: Vec<Document> = moments
        .iter()
        .enumerate()
        .map(|(i, at)| doc! { "email": format!("grown{i}@example.com"), "name": format!("Grown {i}"), "tags": [], "created_at": DateTime::from_millis(*at) })
        .collect();
    // Stored before customers had a creation time: counted in the total only.
    customers.push(doc! { "email": "undated@example.com", "name": "Undated", "tags": [] });
    let app = TestApp::start_with_history(collections::CUSTOMERS, customers).await;
    let key = app.api_key().await;
    let mongo = app.mongo();
    let direct = |since: i64| async move {
        mongo
            .collection(collections::CUSTOMERS)
            .count_documents(doc! { "created_at": { "$gte": DateTime::from_millis(since) } })
            .await
            .unwrap()
    };
    let check = |at: i64| async move {
        let all = mongo
            .collection(collections::CUSTOMERS)
            .count_documents(doc! {})
            .await
            .unwrap();
        assert_eq!(
            growth::total(mongo, at).await.unwrap(),
            all,
            "all customers"
        );
        for days in [1, 7, 30] {
            let since = at - days * DAY;
            assert_eq!(
                growth::created_since(mongo, since, at).await.unwrap(),
                direct(since).await,
                "new in the last {days} days"
            );
        }
    };

    check(now).await;
    let kept = mongo
        .collection(collections::CUSTOMER_HOURS)
        .count_documents(doc! {})
        .await
        .unwrap();
    assert!(kept >= 29 * 24, "closed hours are kept: {kept}");
    // Read from what was kept this time.
    check(now).await;
    // The kept total carried forward over hours that closed since it was counted.
    let three_days_ago = (now - 3 * DAY).div_euclid(HOUR) * HOUR;
    let all = mongo
        .collection(collections::CUSTOMERS)
        .count_documents(doc! {})
        .await
        .unwrap();
    mongo
        .collection(collections::CUSTOMER_COUNT)
        .update_one(
            doc! {},
            doc! { "$set": {
                "until": DateTime::from_millis(three_days_ago),
                "customers": (all - direct(three_days_ago).await) as i64,
            } },
        )
        .await
        .unwrap();
    check(now).await;

    // Customers imported now land in the open hour.
    let rows: Vec<_> = (0..25)
        .map(|i| json!({ "name": format!("New {i}"), "email": format!("new{i}@example.com") }))
        .collect();
    let imported = app
        .post_json("/api/customers", &json!({ "customers": rows }), &key)
        .await;
    assert!(imported.status.is_success(), "{}", imported.body);
    check(DateTime::now().timestamp_millis()).await;

    // `rebuild-rollups` forgets the kept counts; they are counted again, to the same figures.
    assert!(growth::forget(mongo).await.unwrap() >= kept);
    check(DateTime::now().timestamp_millis()).await;
    app.stop().await;
}
