//! Nobody reaches customer data without being let in: pages, server functions and the REST API, against the real
//! router, session store and database.

mod common;

use axum::http::StatusCode;
use common::{Credentials, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use leptos::server_fn::ServerFn;
use realm::{
    auth::{
        api::{SignIn, SignOut},
        model::Role,
    },
    dashboard::api::LoadDashboard,
};

#[tokio::test]
async fn before_the_owner_exists_everything_leads_to_the_setup_page() {
    let app = TestApp::start().await;

    for path in ["/", "/customers", "/sign-in"] {
        let reply = app.get(path, Credentials::None).await;
        assert!(reply.status.is_redirection(), "{path}: {}", reply.status);
        assert_eq!(reply.location(), Some("/setup"), "{path}");
    }
    let api = app.get("/api/me", Credentials::None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.json()["error"].as_str().unwrap().contains("/setup"));
    assert_eq!(
        app.get("/setup", Credentials::None).await.status,
        StatusCode::OK
    );

    app.create_owner().await;
    let second = app
        .state
        .accounts
        .users
        .create_owner("Mallory", "mallory@example.com", "another long password")
        .await;
    assert!(second.is_err(), "a second owner account was created");
    let setup = app.get("/setup", Credentials::None).await;
    assert_eq!(
        setup.location(),
        Some("/sign-in"),
        "the setup page stays reachable after setup"
    );

    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_and_setup_pages_load_no_wasm_and_their_plain_forms_answer_with_redirects() {
    let app = TestApp::start().await;
    let loads_wasm = |reply: &common::Reply| reply.body.contains(".wasm");

    let setup = app.get("/setup", Credentials::None).await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(!loads_wasm(&setup), "{}", setup.body);
    app.create_owner().await;
    let sign_in_page = app.get("/sign-in?next=%2Forders", Credentials::None).await;
    assert_eq!(sign_in_page.status, StatusCode::OK);
    assert!(sign_in_page.body.contains("Sign in"));
    assert!(!loads_wasm(&sign_in_page), "{}", sign_in_page.body);

    // A wrong password: back to the form, with the error in the address, which the page then shows.
    let from = "/sign-in?next=%2Forders";
    let form = [
        ("email", OWNER_EMAIL),
        ("password", "not the password"),
        ("next", "/orders"),
    ];
    let refused = app.post_plain_form(SignIn::PATH, &form, from).await;
    assert!(refused.status.is_redirection(), "{}", refused.status);
    assert!(refused.session_cookie().is_none());
    let back = refused.location().expect("a redirect back to the form");
    let back = back
        .strip_prefix(&format!("http://{}", common::HOST))
        .unwrap_or(back);
    assert!(back.starts_with(&format!("{from}&__path=")), "{back}");
    let shown = app.get(back, Credentials::None).await;
    assert!(
        shown.body.contains("Wrong email or password."),
        "{}",
        shown.body
    );
    assert!(!loads_wasm(&shown));

    // The right one: on to the page asked for, signed in, and that page loads the app.
    let form = [
        ("email", OWNER_EMAIL),
        ("password", OWNER_PASSWORD),
        ("next", "/orders"),
    ];
    let signed_in = app.post_plain_form(SignIn::PATH, &form, back).await;
    assert!(signed_in.status.is_redirection(), "{}", signed_in.status);
    assert_eq!(signed_in.location(), Some("/orders"));
    let cookie = signed_in.session_cookie().expect("session cookie");
    let orders = app.get("/orders", Credentials::Cookie(&cookie)).await;
    assert_eq!(orders.status, StatusCode::OK);
    assert!(loads_wasm(&orders), "{}", orders.body);

    app.stop().await;
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_come_back_to_the_page_they_asked_for() {
    let app = TestApp::start().await;
    app.create_owner().await;

    let asked = app.get("/segments?page=2", Credentials::None).await;
    assert!(asked.status.is_redirection());
    assert_eq!(
        asked.location(),
        Some("/sign-in?next=%2Fsegments%3Fpage%3D2")
    );

    // The server function client follows `Location` itself; only a plain HTML form post gets a 3xx status.
    let signed_in = app
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD, "/segments?page=2")
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(signed_in.location(), Some("/segments?page=2"));
    let cookie = signed_in.session_cookie().expect("session cookie");
    assert_eq!(
        app.get("/segments", Credentials::Cookie(&cookie))
            .await
            .status,
        StatusCode::OK
    );

    // A return address off this site is ignored.
    let elsewhere = app
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD, "https://evil.example/")
        .await;
    assert_eq!(elsewhere.location(), Some("/"));
    // Browsers drop tabs from URLs, so "/<TAB>/evil.example" would lead to //evil.example; line breaks would make
    // the redirect header itself invalid.
    for sneaky in [
        "/\t/evil.example",
        "/\\evil.example",
        "/ok\r\nSet-Cookie: x=1",
    ] {
        let reply = app.sign_in(OWNER_EMAIL, OWNER_PASSWORD, sneaky).await;
        assert_eq!(reply.location(), Some("/"), "{sneaky:?}: {}", reply.status);
    }

    app.stop().await;
}

#[tokio::test]
async fn a_script_without_a_key_or_a_session_is_told_to_send_a_key_whatever_its_origin() {
    let app = TestApp::start().await;
    app.create_owner().await;
    for origin in [None, Some("https://elsewhere.example")] {
        let mut request = axum::http::Request::post("/api/orders")
            .header("host", common::HOST)
            .header("content-type", "application/json");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let reply = app
            .send(
                request
                    .body(axum::body::Body::from(r#"{"orders": []}"#))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "origin {origin:?}: {}",
            reply.body
        );
        assert!(
            reply.json()["error"].as_str().unwrap().contains("Bearer"),
            "{}",
            reply.body
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn unauthenticated_server_functions_and_api_calls_are_refused_with_401() {
    let app = TestApp::start().await;
    app.create_owner().await;

    let server_fn = app
        .post_form(LoadDashboard::PATH, &[("days", "30")], Credentials::None)
        .await;
    assert_eq!(
        server_fn.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        server_fn.body
    );
    let api = app.get("/api/me", Credentials::None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.json()["error"].as_str().unwrap().contains("Bearer"));
    let bad_key = app
        .get("/api/me", Credentials::Bearer("realm_0123456789abcdef"))
        .await;
    assert_eq!(bad_key.status, StatusCode::UNAUTHORIZED);

    let cookie = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;
    let counted = app
        .post_form(
            LoadDashboard::PATH,
            &[("days", "30")],
            Credentials::Cookie(&cookie),
        )
        .await;
    assert_eq!(counted.status, StatusCode::OK, "{}", counted.body);
    assert_eq!(counted.json()["customers"], 0, "{}", counted.body);

    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer_and_repeated_failures_are_slowed(
) {
    let app = TestApp::start().await;
    app.create_owner().await;

    let wrong_password = app.sign_in(OWNER_EMAIL, "not the password", "/").await;
    let unknown_email = app.sign_in("nobody@example.com", OWNER_PASSWORD, "/").await;
    assert!(
        wrong_password.body.contains("Wrong email or password."),
        "{}",
        wrong_password.body
    );
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.status, unknown_email.status);
    assert!(wrong_password.session_cookie().is_none());

    for _ in 0..3 {
        app.sign_in(OWNER_EMAIL, "still wrong", "/").await;
    }
    // Five failures from this address: even the right password must now wait, and is told for how long.
    let throttled = app.sign_in(OWNER_EMAIL, OWNER_PASSWORD, "/").await;
    assert!(
        throttled.body.contains("Too many failed sign-ins"),
        "{}",
        throttled.body
    );
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(throttled.session_cookie().is_none());

    app.stop().await;
}

#[tokio::test]
async fn a_session_works_until_sign_out_and_a_deactivated_users_sessions_end_at_once() {
    let app = TestApp::start().await;
    app.create_owner().await;
    let marketer = app.create_marketer(Role::Marketer).await;

    let cookie = app
        .signed_in_cookie("mark@example.com", "marketing password")
        .await;
    let me = app.get("/api/me", Credentials::Cookie(&cookie)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["kind"], "user");
    assert_eq!(me.json()["email"], "mark@example.com");
    assert_eq!(me.json()["role"], "marketer");

    app.state
        .accounts
        .users
        .set_active(&marketer.id.to_hex(), false)
        .await
        .unwrap();
    assert_eq!(
        app.me_status(Credentials::Cookie(&cookie)).await,
        StatusCode::UNAUTHORIZED
    );
    let page = app.get("/customers", Credentials::Cookie(&cookie)).await;
    assert_eq!(page.location(), Some("/sign-in?next=%2Fcustomers"));
    let again = app
        .sign_in("mark@example.com", "marketing password", "/")
        .await;
    assert!(
        again.body.contains("Wrong email or password."),
        "a deactivated user signed in"
    );

    let owner_cookie = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;
    app.post_form(SignOut::PATH, &[], Credentials::Cookie(&owner_cookie))
        .await;
    assert_eq!(
        app.me_status(Credentials::Cookie(&owner_cookie)).await,
        StatusCode::UNAUTHORIZED
    );

    app.stop().await;
}

#[tokio::test]
async fn signing_in_rotates_the_session_id() {
    let app = TestApp::start().await;
    app.create_owner().await;

    let first = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;
    let form = [
        ("email", OWNER_EMAIL),
        ("password", OWNER_PASSWORD),
        ("next", "/"),
    ];
    let second = app
        .post_form(
            realm::auth::api::SignIn::PATH,
            &form,
            Credentials::Cookie(&first),
        )
        .await
        .session_cookie()
        .expect("a new session cookie");
    assert_ne!(first, second);
    assert_eq!(
        app.me_status(Credentials::Cookie(&first)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.me_status(Credentials::Cookie(&second)).await,
        StatusCode::OK
    );

    app.stop().await;
}

#[tokio::test]
async fn an_api_key_works_until_it_is_revoked() {
    let app = TestApp::start().await;
    let owner = app.create_owner().await;
    let (key, secret) = app
        .state
        .accounts
        .api_keys
        .create("warehouse sync", owner.id)
        .await
        .unwrap();
    assert!(
        secret.starts_with("realm_") && secret.len() == 70,
        "{secret}"
    );

    let me = app.get("/api/me", Credentials::Bearer(&secret)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["kind"], "api_key");
    assert_eq!(me.json()["name"], "warehouse sync");
    let listed = app.state.accounts.api_keys.list().await.unwrap();
    assert!(listed[0].last_used_at.is_some(), "last use not recorded");
    assert_ne!(
        listed[0].secret_hash, secret,
        "the secret itself was stored"
    );

    app.state
        .accounts
        .api_keys
        .revoke(&key.id.to_hex())
        .await
        .unwrap();
    let revoked = app.get("/api/me", Credentials::Bearer(&secret)).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);

    app.stop().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_anything_happens() {
    let app = TestApp::start().await;
    app.create_owner().await;
    let cookie = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;

    for origin in [Some("https://evil.example"), None] {
        let mut request = axum::http::Request::post(SignOut::PATH)
            .header("host", common::HOST)
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let reply = app
            .send(request.body(axum::body::Body::empty()).unwrap())
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "origin {origin:?}");
        assert!(reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("Cross-site"));
    }
    assert_eq!(
        app.me_status(Credentials::Cookie(&cookie)).await,
        StatusCode::OK,
        "the session was ended"
    );

    app.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_413_that_says_so() {
    let app = TestApp::start().await;
    app.create_owner().await;
    let body = "x".repeat(2 * 1024 * 1024);
    let request = axum::http::Request::post(realm::auth::api::SignIn::PATH)
        .header("host", common::HOST)
        .header("origin", format!("http://{}", common::HOST))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", body.len())
        .body(axum::body::Body::from(body))
        .unwrap();
    app.send(request).await.assert_too_large("1 MiB");

    app.stop().await;
}

#[tokio::test]
async fn responses_carry_security_headers_and_the_session_cookie_is_locked_down() {
    let app = TestApp::start().await;
    app.create_owner().await;

    let reply = app.get("/healthz", Credentials::None).await;
    assert_eq!(reply.headers["x-content-type-options"], "nosniff");
    assert_eq!(reply.headers["x-frame-options"], "DENY");
    assert!(reply.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));

    let signed_in = app.sign_in(OWNER_EMAIL, OWNER_PASSWORD, "/").await;
    let cookie = signed_in.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP cookie marked Secure: {cookie}"
    );
    app.stop().await;

    let https = TestApp::start_with(realm::server::config::Config {
        public_origin: Some("https://crm.example.com".to_owned()),
        ..common::isolated_config()
    })
    .await;
    https.create_owner().await;
    let signed_in = https.sign_in(OWNER_EMAIL, OWNER_PASSWORD, "/").await;
    let cookie = signed_in.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    let hsts = https.get("/healthz", Credentials::None).await.headers["strict-transport-security"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(hsts.contains("max-age=31536000"), "{hsts}");
    https.stop().await;
}

#[tokio::test]
async fn hsts_is_sent_only_for_an_https_site() {
    let app = TestApp::start().await;
    let reply = app.get("/healthz", Credentials::None).await;
    assert!(reply.headers.get("strict-transport-security").is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_bulk_routes_take_the_documented_8_mib_and_a_413_names_that_limit() {
    let app = TestApp::start().await;
    let key = app.api_key().await;
    let post_csv = |body: String| {
        axum::http::Request::post("/api/orders")
            .header("host", common::HOST)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "text/csv")
            .header("content-length", body.len())
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    // 3 MB (over axum's own default of 2 MB) of a few long rows: read, not refused for its size.
    let long_name = "n".repeat(150);
    let mut csv = String::from("customer_email,amount,items,customer_name,note\n");
    let mut row = 0;
    while csv.len() < 3_000_000 {
        csv.push_str(&format!(
            "big{row}@example.com,1,1,{long_name},{}\n",
            "x".repeat(1_000)
        ));
        row += 1;
    }
    let reply = app.send(post_csv(csv)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);

    app.send(post_csv("x".repeat(9 * 1024 * 1024)))
        .await
        .assert_too_large("8 MiB");
    app.stop().await;
}

#[tokio::test]
async fn an_api_key_stops_working_when_its_creator_is_deactivated() {
    let app = TestApp::start().await;
    app.create_owner().await;
    let marketer = app.create_marketer(Role::Admin).await;
    let (_, secret) = app
        .state
        .accounts
        .api_keys
        .create("mark's script", marketer.id)
        .await
        .unwrap();
    assert_eq!(
        app.me_status(Credentials::Bearer(&secret)).await,
        StatusCode::OK
    );
    app.state
        .accounts
        .users
        .set_active(&marketer.id.to_hex(), false)
        .await
        .unwrap();
    assert_eq!(
        app.me_status(Credentials::Bearer(&secret)).await,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::start().await;
    let owner = app.create_owner().await;
    let users = &app.state.accounts.users;
    for round in 0..5 {
        let other = users
            .create(
                "Second Admin",
                &format!("second{round}@example.com"),
                Role::Admin,
                "second admin password",
            )
            .await
            .unwrap();
        let (owner_id, other_id) = (owner.id.to_hex(), other.id.to_hex());
        let (first, second) = tokio::join!(
            users.set_role(&owner_id, Role::Marketer),
            users.set_role(&other_id, Role::Marketer),
        );
        assert!(
            first.is_err() || second.is_err(),
            "round {round}: both admins were demoted"
        );
        let admins = users
            .list()
            .await
            .unwrap()
            .into_iter()
            .filter(|user| user.active && user.role == Role::Admin)
            .count();
        assert_eq!(admins, 1, "round {round}");
        // Put the owner back as the only admin for the next round.
        if first.is_ok() {
            users
                .set_role(&owner.id.to_hex(), Role::Admin)
                .await
                .unwrap();
            users
                .set_role(&other.id.to_hex(), Role::Marketer)
                .await
                .unwrap();
        }
        users.set_active(&other.id.to_hex(), false).await.unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn sessions_are_stored_under_a_hash_of_the_cookie() {
    let app = TestApp::start().await;
    app.create_owner().await;
    let cookie = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;
    let id = cookie.trim_start_matches("realm_session=").to_owned();
    let sessions = app
        .documents(
            realm::server::mongo::collections::SESSIONS,
            mongodb::bson::doc! {},
        )
        .await;
    assert_eq!(sessions.len(), 1);
    let stored = sessions[0].get_str("_id").unwrap();
    assert_ne!(stored, id);
    assert!(
        !sessions[0].to_string().contains(&id),
        "the cookie is readable in the store"
    );
    assert_eq!(
        app.me_status(Credentials::Cookie(&cookie)).await,
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reset_password_must_be_changed_before_anything_else() {
    use realm::auth::api::{ChangePassword, ResetPassword};
    let app = TestApp::start().await;
    app.create_owner().await;
    let admin = app.signed_in_cookie(OWNER_EMAIL, OWNER_PASSWORD).await;
    let marketer = app.create_marketer(Role::Marketer).await;
    let reset = app
        .post_form(
            ResetPassword::PATH,
            &[
                ("id", &marketer.id.to_hex()),
                ("password", "temporary password 1"),
            ],
            Credentials::Cookie(&admin),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    // The old password is gone.
    assert!(app
        .sign_in("mark@example.com", "marketing password", "/")
        .await
        .session_cookie()
        .is_none());

    let signed_in = app
        .sign_in("mark@example.com", "temporary password 1", "/customers")
        .await;
    assert_eq!(signed_in.location(), Some("/account/password"));
    let cookie = signed_in.session_cookie().unwrap();
    let page = app.get("/customers", Credentials::Cookie(&cookie)).await;
    assert_eq!(page.location(), Some("/account/password"));
    let api = app
        .post_form(
            LoadDashboard::PATH,
            &[("days", "30")],
            Credentials::Cookie(&cookie),
        )
        .await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", api.body);
    assert_eq!(
        app.get("/account/password", Credentials::Cookie(&cookie))
            .await
            .status,
        StatusCode::OK
    );

    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            app.post_form(
                ChangePassword::PATH,
                &[
                    ("current_password", current),
                    ("password", new),
                    ("password_confirmation", again),
                ],
                Credentials::Cookie(&cookie),
            )
            .await
        }
    };
    let wrong = change(
        "not it at all",
        "my own new password",
        "my own new password",
    )
    .await;
    assert!(
        wrong.body.contains("not your current password"),
        "{}",
        wrong.body
    );
    let differ = change(
        "temporary password 1",
        "my own new password",
        "my own new passw0rd",
    )
    .await;
    assert!(differ.body.contains("differ"), "{}", differ.body);
    let changed = change(
        "temporary password 1",
        "my own new password",
        "my own new password",
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);

    assert_eq!(
        app.get("/customers", Credentials::Cookie(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert!(app
        .sign_in("mark@example.com", "my own new password", "/")
        .await
        .session_cookie()
        .is_some());
    app.stop().await;
}
