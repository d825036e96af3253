//! Argon2id password hashing (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane, as OWASP recommends).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        LazyLock,
    },
    time::Duration,
};

use tokio::sync::{Semaphore, SemaphorePermit};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use rand_core::OsRng;

use crate::shared::error::AppError;

/// Argon2 runs at most once per core at a time: each run takes 19 MiB and a core for tens of milliseconds, so
/// unbounded parallel sign-ins would take gigabytes. Requests wait a moment for a turn; past a short queue they are
/// told to come back instead of piling up.
static TURNS: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, |cores| cores.get()))
});
static WAITING: AtomicUsize = AtomicUsize::new(0);
const MAX_WAITING: usize = 32;
const MAX_WAIT: Duration = Duration::from_secs(3);
/// What a client told to come back should wait, in seconds.
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

fn busy() -> AppError {
    AppError::TooManyRequests(
        "The server is busy checking other passwords; try again in a second.".to_owned(),
    )
}

/// A turn to run Argon2, held while it runs.
pub struct Turn(#[allow(dead_code)] SemaphorePermit<'static>);

/// Waits for a turn, or refuses at once when too many requests are already waiting.
pub async fn turn() -> Result<Turn, AppError> {
    if let Ok(permit) = TURNS.try_acquire() {
        return Ok(Turn(permit));
    }
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(busy());
    }
    let permit = tokio::time::timeout(MAX_WAIT, TURNS.acquire()).await;
    WAITING.fetch_sub(1, Ordering::SeqCst);
    match permit {
        Ok(Ok(permit)) => Ok(Turn(permit)),
        _ => Err(busy()),
    }
}

pub async fn hash(password: String) -> Result<String, AppError> {
    let _turn = turn().await?;
    // Hashing takes tens of milliseconds of CPU on purpose: keep it off the async worker threads.
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| AppError::Unavailable("The password could not be stored; try again.".to_owned()))
}

/// Whether `password` matches `stored_hash`, or without one (an unknown email) whether it matches nothing, taking
/// as long either way so that response times do not tell which accounts exist. Needs a [`turn`].
pub async fn verify(_turn: &Turn, password: String, stored_hash: Option<String>) -> bool {
    let known = stored_hash.is_some();
    let matched = tokio::task::spawn_blocking(move || {
        let stored_hash = stored_hash.unwrap_or_else(|| UNKNOWN_USER_HASH.clone());
        PasswordHash::new(&stored_hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    known && matched
}

/// Checked against when the email is unknown.
static UNKNOWN_USER_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"no account has this password", &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_turns_are_bounded() {
        let stored = hash("correct horse battery".to_owned()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        let turn = turn().await.unwrap();
        assert!(
            verify(
                &turn,
                "correct horse battery".to_owned(),
                Some(stored.clone())
            )
            .await
        );
        assert!(!verify(&turn, "correct horse batterz".to_owned(), Some(stored)).await);
        assert!(!verify(&turn, "anything".to_owned(), Some("not a hash".to_owned())).await);
        assert!(!verify(&turn, "no account has this password".to_owned(), None).await);
        drop(turn);
        super::turn_tests::turns_are_bounded_and_a_long_queue_is_refused().await;
    }
}

#[cfg(test)]
mod turn_tests {
    use super::*;

    // Run after the hash test in the same test so the two do not compete for turns.
    pub async fn turns_are_bounded_and_a_long_queue_is_refused() {
        // Hold every turn, fill the queue, and the next request is refused at once rather than waiting.
        let held: Vec<_> = std::iter::from_fn(|| TURNS.try_acquire().ok()).collect();
        assert!(!held.is_empty());
        let waiters: Vec<_> = (0..MAX_WAITING).map(|_| tokio::spawn(turn())).collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused = tokio::time::timeout(Duration::from_millis(500), turn())
            .await
            .expect("refused at once, not after waiting");
        assert!(matches!(refused, Err(AppError::TooManyRequests(_))));
        drop(held);
        for waiter in waiters {
            assert!(waiter.await.unwrap().is_ok(), "waiters get their turn");
        }
    }
}
