//! Argon2id password hashing (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane, as OWASP recommends).

use std::sync::LazyLock;

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use rand_core::OsRng;

use crate::error::AppError;

pub async fn hash(password: String) -> Result<String, AppError> {
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

pub async fn verify(password: String, stored_hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Checked against when the email is unknown, so that a wrong email takes as long as a wrong password and
/// response times do not tell which accounts exist.
static UNKNOWN_USER_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"no account has this password", &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

pub async fn verify_against_nothing(password: String) {
    let hash = tokio::task::spawn_blocking(|| UNKNOWN_USER_HASH.clone())
        .await
        .unwrap_or_default();
    verify(password, hash).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".to_owned()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery".to_owned(), stored.clone()).await);
        assert!(!verify("correct horse batterz".to_owned(), stored).await);
        assert!(!verify("anything".to_owned(), "not a hash".to_owned()).await);
    }
}
