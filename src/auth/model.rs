//! Who may use Realm: roles, the signed-in user, the rules for account fields, and the server functions every
//! page shares (who is signed in, signing out).

use serde::{Deserialize, Serialize};

use crate::shared::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users and API keys, and does everything a marketer does.
    Admin,
    Marketer,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Admin, Role::Marketer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Marketer => "marketer",
        }
    }

    pub fn parse(value: &str) -> Result<Role, AppError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| {
                AppError::invalid(
                    "role",
                    format!("Unknown role {value:?}: choose admin or marketer."),
                )
            })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// After an admin reset their password, a user must choose a new one before doing anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

pub const MIN_PASSWORD_LENGTH: usize = 12;
pub const MAX_PASSWORD_LENGTH: usize = 256;

pub fn validate_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(AppError::invalid("name", "Enter a name.")),
        1..=100 => Ok(name.to_owned()),
        _ => Err(AppError::invalid(
            "name",
            "Names are at most 100 characters.",
        )),
    }
}

pub fn validate_new_password(password: &str) -> Result<(), AppError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        Err(AppError::invalid(
            "password",
            format!("Use at least {MIN_PASSWORD_LENGTH} characters."),
        ))
    } else if length > MAX_PASSWORD_LENGTH {
        Err(AppError::invalid(
            "password",
            format!("Use at most {MAX_PASSWORD_LENGTH} characters."),
        ))
    } else {
        Ok(())
    }
}

/// Where to go after signing in: only a path on this site, so a crafted link cannot send people elsewhere.
/// Where to go after signing in: a path of this site only. Browsers drop tabs and line breaks from URLs and read
/// `\\` as `/`, so `/\t/evil.example` would reach another site: anything but printable ASCII is refused outright,
/// and so is a second leading slash.
pub fn safe_return_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Where a user whose password was reset is sent until they choose a new one.
pub const CHANGE_PASSWORD_PATH: &str = "/account/password";
/// The sign-in page, one of the two a signed-out visitor may open.
pub const SIGN_IN_PATH: &str = "/sign-in";
/// The first-run page, where the owner account is created while no account exists.
pub const SETUP_PATH: &str = "/setup";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeySummary {
    pub id: String,
    pub name: String,
    pub display_prefix: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub name: String,
    /// Shown once, right after creation; only its hash is stored.
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub created: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(validate_new_password("short")
            .unwrap_err()
            .for_field("password")
            .is_some());
        assert!(validate_new_password("twelve chars").is_ok());
        assert!(validate_new_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn names_are_trimmed_and_required() {
        assert_eq!(validate_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(validate_name("   ")
            .unwrap_err()
            .for_field("name")
            .is_some());
    }

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(
            safe_return_path(Some("/segments?page=2")),
            "/segments?page=2"
        );
        assert_eq!(safe_return_path(Some("https://evil.example/")), "/");
        assert_eq!(safe_return_path(Some("//evil.example/")), "/");
        assert_eq!(safe_return_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_return_path(Some("/\t/evil.example")), "/");
        assert_eq!(safe_return_path(Some("/ /evil.example")), "/");
        assert_eq!(safe_return_path(Some("/\r\nSet-Cookie: x=1")), "/");
        assert_eq!(safe_return_path(Some("/caf\u{e9}")), "/");
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        assert_eq!(Role::parse("admin").unwrap(), Role::Admin);
        assert_eq!(Role::parse("marketer").unwrap(), Role::Marketer);
        assert!(Role::parse("owner")
            .unwrap_err()
            .for_field("role")
            .is_some());
    }
}
