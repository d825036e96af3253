//! The error every server function returns: one type, so the browser can tell a bad field from a refusal from an
//! outage, and show each where it belongs.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use crate::segments::rules::RuleProblem;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// A submitted value breaks a rule; `field` is the form field's name.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A segment rule breaks the rules of the builder; each problem names its condition.
    #[error("{}", describe_rule_problems(.0))]
    InvalidRule(Vec<RuleProblem>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A route of the original app that Realm does not keep; the message says what to use instead.
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A backing service failed; the details are in the server log, not in the message.
    #[error("{0}")]
    Unavailable(String),
    /// The server function machinery itself failed (network, encoding).
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The message to show beside `field`, if this error is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

fn describe_rule_problems(problems: &[RuleProblem]) -> String {
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    format!("The rule cannot be used yet: {}.", listed.join("; "))
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<mongodb::error::Error> for AppError {
    fn from(error: mongodb::error::Error) -> Self {
        tracing::error!("database error: {error}");
        AppError::Unavailable("The database did not answer; try again in a moment.".to_owned())
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            AppError::Invalid { .. } | AppError::InvalidRule(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// REST endpoints answer errors as `{"error": message, "field": name?}` with the matching status, plus the original
/// app's `{"success": false, "message": message}` so that its clients read them too; a refused segment rule also
/// lists `problems`, one per condition.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let field = match &self {
            AppError::Invalid { field, .. } => Some(field.clone()),
            AppError::InvalidRule(_) => Some("rule".to_owned()),
            _ => None,
        };
        let message = self.to_string();
        let mut body = serde_json::json!({
            "error": message, "field": field, "success": false, "message": message,
        });
        if let AppError::InvalidRule(problems) = &self {
            body["problems"] = problems
                .iter()
                .map(|p| serde_json::json!({ "path": p.path, "condition": p.position(), "message": p.message }))
                .collect();
        }
        (self.status(), axum::Json(body)).into_response()
    }
}
