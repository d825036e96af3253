//! Protections every response gets: security headers and a request body limit that explains itself.

use axum::{
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json, Router,
};
use tower_http::{limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer};

/// Requests larger than this are refused with 413. Endpoints that take bulk uploads set their own limit.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

// 'unsafe-inline' for scripts: the hydration bootstrap is an inline module script. 'wasm-unsafe-eval' lets the
// browser compile the app's WebAssembly. ws: is for cargo-leptos' live reload during development.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws:; frame-ancestors 'none'; \
    base-uri 'self'; form-action 'self'; object-src 'none'";

/// Every answer carries this: no browser may guess a type other than the one declared.
const NOSNIFF: (&str, &str) = ("x-content-type-options", "nosniff");

/// These only matter for what a browser may show as a document. A WASM, script or style file never is one, and
/// with a request per split-off piece of WASM they would be most of the bytes of the smaller pieces.
const DOCUMENT_HEADERS: [(&str, &str); 4] = [
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
    ("content-security-policy", CONTENT_SECURITY_POLICY),
];

pub fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(axum::middleware::map_response(add_security_headers))
}

async fn add_security_headers(mut response: Response) -> Response {
    let subresource = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| {
            [
                "application/wasm",
                "text/javascript",
                "application/javascript",
                "text/css",
            ]
            .iter()
            .any(|file| kind.starts_with(file))
        });
    let wanted = DOCUMENT_HEADERS.iter().filter(|_| !subresource);
    let headers = response.headers_mut();
    for (name, value) in std::iter::once(&NOSNIFF).chain(wanted) {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Strict-Transport-Security for a site served over https: browsers then never try plain http for a year.
pub fn with_hsts<S: Clone + Send + Sync + 'static>(router: Router<S>, https: bool) -> Router<S> {
    if !https {
        return router;
    }
    router.layer(SetResponseHeaderLayer::if_not_present(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    ))
}

/// Refuses bodies over `limit` with 413 and a message naming it. axum's extractors have a default limit of their
/// own (2 MB), which is raised to the same `limit` so that the documented figure is the one that applies.
pub fn with_body_limit<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limit: usize,
) -> Router<S> {
    router
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(
            move |response: Response| async move { explain_payload_too_large(response, limit) },
        ))
}

fn explain_payload_too_large(response: Response, limit: usize) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || is_json {
        return response;
    }
    let message = format!(
        "The request body is larger than the limit of {}.",
        describe_bytes(limit)
    );
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

/// Server functions answer every error with 500 unless told otherwise: this gives `error` its own status, and a
/// `Retry-After` when given. A plain HTML form post keeps the redirect back to its form that Leptos gives it.
pub fn refuse_with(
    error: crate::shared::error::AppError,
    retry_after: Option<std::time::Duration>,
) -> crate::shared::error::AppError {
    use leptos::prelude::use_context;
    let plain_form_post = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    });
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if !plain_form_post {
            response.set_status(error.status());
        }
        if let Some(wait) = retry_after {
            response.insert_header(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
    }
    error
}

/// A size as people write it: `8 MiB`, `512 KiB`, `100 bytes`.
pub fn describe_bytes(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_the_largest_whole_unit() {
        assert_eq!(describe_bytes(8 * 1024 * 1024), "8 MiB");
        assert_eq!(describe_bytes(1024 * 1024), "1 MiB");
        assert_eq!(describe_bytes(1536), "1536 bytes");
        assert_eq!(describe_bytes(512 * 1024), "512 KiB");
    }
}

/// Lets the pages of `origins` call the API with an API key (`Authorization: Bearer`), never with cookies. With no
/// origins nothing changes: browsers keep refusing cross-site reads.
pub fn with_cors<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    origins: &[String],
) -> Router<S> {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if allowed.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([header::LINK, header::RETRY_AFTER, header::LOCATION])
            .max_age(std::time::Duration::from_secs(3_600)),
    )
}
