//! The gate in front of every route: who is asking, and may they.

use std::sync::atomic::Ordering;

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    Extension,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{
    auth::model::{CurrentUser, SETUP_PATH, SIGN_IN_PATH},
    server::state::AppState,
    shared::error::AppError,
};

const SESSION_USER_KEY: &str = "user";
/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: time::Duration = time::Duration::hours(8);
/// And, however active, this long after signing in.
pub const ABSOLUTE_LIFETIME: time::Duration = time::Duration::days(7);

#[derive(Serialize, Deserialize)]
struct SessionUser {
    user_id: String,
    signed_in_at: i64,
}

/// Who made the request, put into the request's extensions by [`guard`].
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    User(CurrentUser),
    ApiKey { id: String, name: String },
}

impl Principal {
    /// Who, for records such as a batch's submitter: the user's email or the API key's name.
    pub fn describe(&self) -> String {
        match self {
            Principal::User(user) => user.email.clone(),
            Principal::ApiKey { name, .. } => format!("API key {name:?}"),
        }
    }
}

enum Access {
    /// Probes and static files.
    Open,
    /// The first-run page and its server function.
    Setup,
    /// The sign-in page and its server function.
    SignIn,
    Protected,
}

fn classify(path: &str) -> Access {
    use leptos::server_fn::ServerFn;
    match path {
        "/healthz" | "/readyz" | "/favicon.svg" => Access::Open,
        // The vendor's webhook proves itself with its own token, checked by the handler.
        "/api/receipts" => Access::Open,
        // The mail provider's events prove themselves with a signature, checked by the handler.
        "/api/webhooks/email-events" => Access::Open,
        _ if path.starts_with("/pkg/") => Access::Open,
        // Links in sent messages (open pixel, click redirect, unsubscribe): their signed token is the authority.
        _ if path.starts_with("/t/") || path.starts_with("/u/") => Access::Open,
        SETUP_PATH => Access::Setup,
        _ if path == crate::auth::api::CreateOwner::PATH => Access::Setup,
        SIGN_IN_PATH => Access::SignIn,
        _ if path == crate::auth::api::SignIn::PATH => Access::SignIn,
        _ => Access::Protected,
    }
}

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "realm_session";

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .any(|pair| pair.trim_start().starts_with(&format!("{SESSION_COOKIE}=")))
}

/// What a user whose password was reset may still reach: the page to choose a new one, and signing out.
fn serves_password_change(path: &str) -> bool {
    use leptos::server_fn::ServerFn;
    path == crate::auth::model::CHANGE_PASSWORD_PATH
        || path == crate::auth::api::ChangePassword::PATH
        || path == crate::auth::api::SignOut::PATH
        || path == crate::auth::api::SignedInUser::PATH
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Whether a state-changing request comes from a page of this site. Browsers send `Origin` with every POST, and
/// an attacker's page cannot forge it; `public_origin` covers deployments behind a proxy that rewrites `Host`.
fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let Some(source) = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let source_authority = source
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').next());
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let matches_host = source_authority.is_some() && source_authority == host;
    let matches_public = public_origin
        .is_some_and(|origin| source == origin || source.starts_with(&format!("{origin}/")));
    matches_host || matches_public
}

fn session_unavailable(error: tower_sessions::session::Error) -> AppError {
    tracing::error!("session store failed: {error}");
    AppError::Unavailable("Sessions are unavailable; try again in a moment.".to_owned())
}

/// The address of the client behind the current request: the connection's peer, or, when that peer is a trusted
/// proxy (`REALM_TRUSTED_PROXIES`), the last address in `X-Forwarded-For` that is not one.
pub async fn client_address() -> std::net::IpAddr {
    use axum::extract::ConnectInfo;
    let peer = leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|ConnectInfo(address)| address.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let state = leptos::prelude::expect_context::<AppState>();
    let headers = leptos::prelude::use_context::<axum::http::request::Parts>()
        .map(|parts| parts.headers)
        .unwrap_or_default();
    state.trusted_proxies.client_address(peer, &headers)
}

/// The request's session, for the server functions that sign people in.
pub async fn current_session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|error| {
        tracing::error!("no session on the request: {error}");
        AppError::Unavailable("Sessions are unavailable; try again in a moment.".to_owned())
    })
}

/// Starts a signed-in session for `user`, under a new session id so that an id planted before sign-in is useless.
pub async fn start_session(session: &Session, user: &CurrentUser) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_unavailable)?;
    let record = SessionUser {
        user_id: user.id.clone(),
        signed_in_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    session
        .insert(SESSION_USER_KEY, record)
        .await
        .map_err(session_unavailable)
}

/// The API key with this secret, while it is unrevoked and the user who created it is still active: a key
/// carries its creator's authority, which ends with their account.
async fn api_key_principal(state: &AppState, secret: &str) -> Result<Option<Principal>, AppError> {
    let Some(key) = state.accounts.api_keys.authenticate(secret).await? else {
        return Ok(None);
    };
    let creator_active = state
        .accounts
        .users
        .find_by_id(&key.created_by.to_hex())
        .await?
        .is_some_and(|user| user.active);
    Ok(creator_active.then(|| Principal::ApiKey {
        id: key.id.to_hex(),
        name: key.name,
    }))
}

pub async fn user_from_session(
    state: &AppState,
    session: &Session,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(stored) = session
        .get::<SessionUser>(SESSION_USER_KEY)
        .await
        .map_err(session_unavailable)?
    else {
        return Ok(None);
    };
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - stored.signed_in_at;
    let user = if age > ABSOLUTE_LIFETIME.whole_seconds() {
        None
    } else {
        state
            .accounts
            .users
            .find_by_id(&stored.user_id)
            .await?
            .filter(|user| user.active)
    };
    match user {
        Some(user) => Ok(Some(user.to_current_user())),
        None => {
            // Expired, deleted or deactivated: this session is over.
            session.flush().await.map_err(session_unavailable)?;
            Ok(None)
        }
    }
}

pub async fn guard(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let bearer = bearer_token(request.headers()).map(str::to_owned);
    let access = classify(&path);
    // Open paths carry no session authority (probes, static files, the vendor's token-checked webhook).
    if matches!(access, Access::Open) {
        return next.run(request).await;
    }
    // A cross-site request can only abuse the authority of a cookie the browser adds by itself, and the sign-in
    // and first-run forms, which create one. A request with neither (a script that forgot its key) is simply
    // unauthenticated, and hears so below.
    let carries_cookie_authority =
        has_session_cookie(request.headers()) || !matches!(access, Access::Protected);
    if !request.method().is_safe()
        && bearer.is_none()
        && carries_cookie_authority
        && !same_origin(request.headers(), state.public_origin.as_deref())
    {
        return AppError::Forbidden(
            "Cross-site request refused: its Origin is not this site.".to_owned(),
        )
        .into_response();
    }
    // Nothing writes before the indexes exist (see `Mongo::prepared`).
    if !request.method().is_safe() && !state.mongo.is_prepared() {
        return AppError::Unavailable(
            "The database is still being prepared; try again in a moment.".to_owned(),
        )
        .into_response();
    }
    let owner_exists = match state.accounts.owner_exists().await {
        Ok(exists) => exists,
        Err(error) => return error.into_response(),
    };
    let is_get = request.method() == Method::GET;
    match access {
        Access::Setup if owner_exists && is_get => {
            return Redirect::to(SIGN_IN_PATH).into_response()
        }
        Access::SignIn if !owner_exists && is_get => {
            return Redirect::to(SETUP_PATH).into_response()
        }
        Access::Open | Access::Setup | Access::SignIn => return next.run(request).await,
        Access::Protected => {}
    }

    let is_page = is_get && !path.starts_with("/api/");
    if !owner_exists {
        return if is_page {
            Redirect::to(SETUP_PATH).into_response()
        } else {
            AppError::Unauthorized(
                "No account exists yet: create the owner account at /setup.".to_owned(),
            )
            .into_response()
        };
    }
    let principal = match bearer {
        Some(secret) => api_key_principal(&state, &secret).await,
        None => user_from_session(&state, &session)
            .await
            .map(|user| user.map(Principal::User)),
    };
    match principal {
        Ok(Some(Principal::User(user)))
            if user.must_change_password && !serves_password_change(&path) =>
        {
            use crate::auth::model::CHANGE_PASSWORD_PATH;
            if is_page {
                Redirect::to(CHANGE_PASSWORD_PATH).into_response()
            } else {
                AppError::Forbidden(format!(
                    "An admin reset your password: choose a new one at {CHANGE_PASSWORD_PATH} first."
                ))
                .into_response()
            }
        }
        Ok(Some(principal)) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Ok(None) if is_page => {
            let asked_for = request
                .uri()
                .path_and_query()
                .map_or(path.as_str(), |pq| pq.as_str());
            let next_param = percent_encoding::utf8_percent_encode(
                asked_for,
                percent_encoding::NON_ALPHANUMERIC,
            );
            Redirect::to(&format!("{SIGN_IN_PATH}?next={next_param}")).into_response()
        }
        Ok(None) => AppError::Unauthorized(
            "Sign in, or send an API key as 'Authorization: Bearer <key>'.".to_owned(),
        )
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// Who made the current request, for server functions and handlers behind [`guard`].
pub async fn principal() -> Option<Principal> {
    leptos_axum::extract::<Extension<Principal>>()
        .await
        .ok()
        .map(|Extension(principal)| principal)
}

pub async fn signed_in_user() -> Option<CurrentUser> {
    match principal().await {
        Some(Principal::User(user)) => Some(user),
        _ => None,
    }
}

pub async fn require_user() -> Result<CurrentUser, AppError> {
    signed_in_user()
        .await
        .ok_or_else(|| AppError::Unauthorized("Sign in first.".to_owned()))
}

pub async fn require_admin() -> Result<CurrentUser, AppError> {
    let user = require_user().await?;
    if user.is_admin() {
        Ok(user)
    } else {
        Err(AppError::Forbidden(
            "Only admins can manage users and API keys.".to_owned(),
        ))
    }
}

impl super::Accounts {
    /// Whether the first-run setup is done. Cached once true: accounts are deactivated, never deleted.
    pub async fn owner_exists(&self) -> Result<bool, AppError> {
        if self.owner_exists.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let exists = self.users.any_exist().await?;
        if exists {
            self.owner_exists.store(true, Ordering::Relaxed);
        }
        Ok(exists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    #[test]
    fn same_origin_accepts_only_this_sites_pages() {
        let ours = headers(&[
            (header::HOST, "realm.example:3000"),
            (header::ORIGIN, "http://realm.example:3000"),
        ]);
        assert!(same_origin(&ours, None));
        let theirs = headers(&[
            (header::HOST, "realm.example:3000"),
            (header::ORIGIN, "https://evil.example"),
        ]);
        assert!(!same_origin(&theirs, None));
        let referred = headers(&[
            (header::HOST, "realm.example"),
            (header::REFERER, "https://realm.example/orders"),
        ]);
        assert!(same_origin(&referred, None));
        let neither = headers(&[(header::HOST, "realm.example")]);
        assert!(!same_origin(&neither, None));
        let proxied = headers(&[
            (header::HOST, "app:3000"),
            (header::ORIGIN, "https://crm.example.com"),
        ]);
        assert!(same_origin(&proxied, Some("https://crm.example.com")));
        assert!(!same_origin(&proxied, Some("https://crm.example")));
    }
}
