//! The accounts server functions: who is signed in, signing out and in, the first owner, users, API keys and
//! passwords. Each checks access first; the work is in `auth::server`.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::auth::model::Role;
use crate::{
    auth::model::{ApiKeySummary, CurrentUser, NewApiKey, UserSummary},
    shared::error::AppError,
};

#[server]
pub async fn signed_in_user() -> Result<Option<CurrentUser>, AppError> {
    Ok(crate::auth::server::guard::signed_in_user().await)
}

#[server]
pub async fn sign_out() -> Result<(), AppError> {
    use tower_sessions::Session;
    let session: Session = leptos_axum::extract()
        .await
        .map_err(|_| AppError::Unauthorized("No session.".into()))?;
    session.flush().await.map_err(|error| {
        tracing::error!("ending a session failed: {error}");
        AppError::Unavailable("Signing out failed; try again.".to_owned())
    })?;
    leptos_axum::redirect(crate::auth::model::SIGN_IN_PATH);
    Ok(())
}

#[server]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use std::time::Instant;

    use crate::{
        auth::{
            model::safe_return_path,
            server::{
                guard,
                throttle::{too_many_failures, ThrottleKey},
            },
        },
        server::state::AppState,
    };

    let state = expect_context::<AppState>();
    let session = guard::current_session().await?;
    let client = ThrottleKey::client(guard::client_address().await);
    // Refused at once while this client must wait: no database lookup, no password check.
    if let Some(wait) = state
        .accounts
        .sign_in_throttle
        .wait_needed(&client, Instant::now())
    {
        return Err(too_many_failures(wait));
    }
    let user = state
        .accounts
        .users
        .find_by_email(&email)
        .await?
        .filter(|user| user.active);
    let mut keys = vec![client];
    if let Some(user) = &user {
        keys.push(ThrottleKey::Account(user.id.to_hex()));
    }
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let verified = state
        .accounts
        .check_password(&keys, password, stored_hash)
        .await?;
    let Some(user) = user.filter(|_| verified) else {
        // The same answer whether the email or the password was wrong, so it cannot be used to find accounts.
        return Err(AppError::Unauthorized(
            "Wrong email or password.".to_owned(),
        ));
    };
    guard::start_session(&session, &user.to_current_user()).await?;
    tracing::info!(user = %user.email, "signed in");
    if user.must_change_password {
        leptos_axum::redirect(crate::auth::model::CHANGE_PASSWORD_PATH);
    } else {
        leptos_axum::redirect(&safe_return_path(next.as_deref()));
    }
    Ok(())
}

/// First run: creates the owner (an admin) while no account exists, and signs them in.
#[server]
pub async fn create_owner(
    name: String,
    email: String,
    password: String,
    password_confirmation: String,
) -> Result<(), AppError> {
    use crate::{auth::server::guard, server::state::AppState};

    if password != password_confirmation {
        return Err(AppError::invalid(
            "password_confirmation",
            "The two passwords differ.",
        ));
    }
    let state = expect_context::<AppState>();
    let session = guard::current_session().await?;
    let owner = state
        .accounts
        .users
        .create_owner(&name, &email, &password)
        .await?;
    guard::start_session(&session, &owner.to_current_user()).await?;
    tracing::info!(user = %owner.email, "owner account created");
    leptos_axum::redirect("/");
    Ok(())
}

#[server]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::{
        auth::server::guard::require_admin,
        server::{mongo::display_time, state::AppState},
    };
    require_admin().await?;
    let state = expect_context::<AppState>();
    let users = state.accounts.users.list().await?;
    Ok(users
        .into_iter()
        .map(|user| UserSummary {
            id: user.id.to_hex(),
            name: user.name,
            email: user.email,
            role: user.role,
            active: user.active,
            created: display_time(user.created_at),
        })
        .collect())
}

#[server]
pub async fn create_user(
    name: String,
    email: String,
    role: String,
    password: String,
) -> Result<String, AppError> {
    use crate::{auth::server::guard::require_admin, server::state::AppState};
    let admin = require_admin().await?;
    let role = Role::parse(&role)?;
    let state = expect_context::<AppState>();
    let user = state
        .accounts
        .users
        .create(&name, &email, role, &password)
        .await?;
    tracing::info!(admin = %admin.email, user = %user.email, role = role.as_str(), "user created");
    Ok(user.email)
}

#[server]
pub async fn change_role(id: String, role: String) -> Result<(), AppError> {
    use crate::{auth::server::guard::require_admin, server::state::AppState};
    let admin = require_admin().await?;
    let role = Role::parse(&role)?;
    expect_context::<AppState>()
        .accounts
        .users
        .set_role(&id, role)
        .await?;
    tracing::info!(admin = %admin.email, user = %id, role = role.as_str(), "role changed");
    Ok(())
}

#[server]
pub async fn set_user_active(id: String, active: bool) -> Result<(), AppError> {
    use crate::{auth::server::guard::require_admin, server::state::AppState};
    let admin = require_admin().await?;
    if !active && admin.id == id {
        return Err(AppError::Conflict(
            "You cannot deactivate your own account.".to_owned(),
        ));
    }
    expect_context::<AppState>()
        .accounts
        .users
        .set_active(&id, active)
        .await?;
    tracing::info!(admin = %admin.email, user = %id, active, "user activation changed");
    Ok(())
}

/// An admin sets a temporary password; the user must choose their own at their next request.
#[server]
pub async fn reset_password(id: String, password: String) -> Result<String, AppError> {
    use crate::{auth::server::guard::require_admin, server::state::AppState};
    let admin = require_admin().await?;
    let users = &expect_context::<AppState>().accounts.users;
    users.set_password(&id, &password, true).await?;
    let email = users
        .find_by_id(&id)
        .await?
        .map(|user| user.email)
        .unwrap_or_default();
    tracing::info!(admin = %admin.email, user = %email, "password reset");
    Ok(email)
}

#[server]
pub async fn list_api_keys() -> Result<Vec<ApiKeySummary>, AppError> {
    use crate::{
        auth::server::guard::require_admin,
        server::{mongo::display_time, state::AppState},
    };
    require_admin().await?;
    let keys = expect_context::<AppState>()
        .accounts
        .api_keys
        .list()
        .await?;
    Ok(keys
        .into_iter()
        .map(|key| ApiKeySummary {
            id: key.id.to_hex(),
            name: key.name,
            display_prefix: key.display_prefix,
            created: display_time(key.created_at),
            last_used: key.last_used_at.map(display_time),
            revoked: key.revoked_at.map(display_time),
        })
        .collect())
}

#[server]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    use crate::{auth::server::guard::require_admin, server::state::AppState};
    let admin = require_admin().await?;
    let created_by = crate::auth::server::users::parse_id(&admin.id)?;
    let (key, secret) = expect_context::<AppState>()
        .accounts
        .api_keys
        .create(&name, created_by)
        .await?;
    tracing::info!(admin = %admin.email, key = %key.name, "API key created");
    Ok(NewApiKey {
        name: key.name,
        secret,
    })
}

#[server]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    use crate::{auth::server::guard::require_admin, server::state::AppState};
    let admin = require_admin().await?;
    expect_context::<AppState>()
        .accounts
        .api_keys
        .revoke(&id)
        .await?;
    tracing::info!(admin = %admin.email, key = %id, "API key revoked");
    Ok(())
}

#[server]
pub async fn change_password(
    current_password: String,
    password: String,
    password_confirmation: String,
) -> Result<(), AppError> {
    use crate::{
        auth::server::{
            guard::{self, require_user},
            throttle::ThrottleKey,
        },
        server::state::AppState,
    };

    let user = require_user().await?;
    let state = expect_context::<AppState>();
    if password != password_confirmation {
        return Err(AppError::invalid(
            "password_confirmation",
            "The two new passwords differ.",
        ));
    }
    crate::auth::model::validate_new_password(&password)?;
    if password == current_password {
        return Err(AppError::invalid(
            "password",
            "Choose a password other than the current one.",
        ));
    }
    // Checking the current password is a sign-in attempt: it is throttled like one.
    let keys = [
        ThrottleKey::client(guard::client_address().await),
        ThrottleKey::Account(user.id.clone()),
    ];
    let stored = state
        .accounts
        .users
        .find_by_id(&user.id)
        .await?
        .map(|record| record.password_hash);
    if !state
        .accounts
        .check_password(&keys, current_password, stored)
        .await?
    {
        return Err(AppError::invalid(
            "current_password",
            "This is not your current password.",
        ));
    }
    state
        .accounts
        .users
        .set_password(&user.id, &password, false)
        .await?;
    tracing::info!(user = %user.email, "password changed");
    Ok(())
}
