//! The first run: a failed attempt at creating the owner leaves the first run open. In a test binary of its own,
//! since it holds every password-hashing turn of the process for a moment.

mod common;

use common::{TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use realm::{auth::server::passwords, shared::error::AppError};

#[tokio::test]
async fn a_failed_owner_creation_does_not_block_the_first_run() {
    let app = TestApp::start().await;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut held = Vec::new();
    for _ in 0..cores {
        held.push(passwords::turn().await.expect("a turn"));
    }
    // No turn to hash the password: the owner cannot be created now.
    let refused = app
        .state
        .accounts
        .users
        .create_owner("Olive Owner", OWNER_EMAIL, OWNER_PASSWORD)
        .await;
    assert!(
        matches!(refused, Err(AppError::TooManyRequests(_))),
        "{refused:?}"
    );
    drop(held);

    let owner = app
        .state
        .accounts
        .users
        .create_owner("Olive Owner", OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .expect("the first run is still open");
    assert_eq!(owner.email, OWNER_EMAIL);
    app.stop().await;
}
