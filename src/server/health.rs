//! `/healthz` (the process is alive) and `/readyz` (its backing services answer).

use std::{collections::BTreeMap, time::Duration};

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};

use super::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyState {
    Up,
    Down,
}

/// A dependency's state, and for an admin where it is expected (without its password) and what went wrong: the
/// probe is open to anyone, so others see only the state, not internal host names or driver errors.
#[derive(Debug, Serialize, Deserialize)]
pub struct DependencyReport {
    pub state: DependencyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub dependencies: BTreeMap<String, DependencyReport>,
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "alive" }))
}

const MONGO_PING_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn readyz(
    State(state): State<AppState>,
    session: tower_sessions::Session,
) -> (StatusCode, Json<Readiness>) {
    let details = crate::auth::server::guard::user_from_session(&state, &session)
        .await
        .ok()
        .flatten()
        .is_some_and(|user| user.is_admin());
    let mongo_error = match tokio::time::timeout(MONGO_PING_TIMEOUT, state.mongo.ping()).await {
        Ok(Ok(())) if !state.mongo.is_prepared() => {
            Some("answering, but the indexes are not created yet".to_owned())
        }
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some(format!(
            "no answer to ping within {} s",
            MONGO_PING_TIMEOUT.as_secs()
        )),
    };
    let broker_error = (!state.broker.is_connected()).then(|| "no open AMQP channel".to_owned());

    let report = |target: &str, error: Option<String>| DependencyReport {
        state: if error.is_none() {
            DependencyState::Up
        } else {
            DependencyState::Down
        },
        target: details.then(|| target.to_owned()),
        error: error.filter(|_| details),
    };
    let dependencies = BTreeMap::from([
        (
            "mongodb".to_owned(),
            report(state.mongo_target.as_ref(), mongo_error),
        ),
        (
            "rabbitmq".to_owned(),
            report(state.broker.redacted_url(), broker_error),
        ),
    ]);
    let ready = dependencies
        .values()
        .all(|dependency| dependency.state == DependencyState::Up);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            ready,
            dependencies,
        }),
    )
}
