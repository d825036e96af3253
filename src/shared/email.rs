//! Email addresses as Realm stores and compares them: one check for sign-in, customers and orders.

use crate::shared::error::AppError;

/// The email in the form it is stored and compared in: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid && email.len() <= 254 {
        Ok(email)
    } else {
        Err(AppError::invalid(
            "email",
            "Enter an email address such as name@example.com.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "a@b@c.com",
        ] {
            assert_eq!(
                normalize_email(bad)
                    .unwrap_err()
                    .for_field("email")
                    .as_deref(),
                Some("Enter an email address such as name@example.com."),
                "{bad:?} was accepted"
            );
        }
    }
}
