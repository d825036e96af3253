//! How pages and the browser's files travel: compressed when the client accepts it, and cached for as long as their
//! names allow.

use axum::{
    http::{header, HeaderValue},
    response::Response,
    Router,
};
use leptos::config::LeptosOptions;
use tower_http::{
    compression::{
        predicate::{NotForContentType, Predicate, SizeAbove},
        CompressionLayer, CompressionLevel,
    },
    services::ServeDir,
};

/// Answers smaller than this go as they are: compressing them saves less than it costs.
pub const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// Pages and JSON are compressed per request, where brotli's own default (quality 11) costs tens of milliseconds
/// for a page; quality 4 keeps most of the saving. The browser's files are compressed once, at build time, at
/// the highest quality (`cargo leptos build --release --precompress`).
const PER_REQUEST_QUALITY: i32 = 4;

/// A hashed file name never changes content, so a browser may keep it for a year without asking again.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Kept, but checked with the server before each use.
pub const REVALIDATE: &str = "no-cache";

/// Serves `/pkg/…` (the WASM, JS and CSS cargo-leptos built) from the site root, from their precompressed `.br` or
/// `.gz` siblings when the client accepts one. With hashed names (`hash-files`) they are immutable; without, the
/// browser revalidates them.
pub fn with_site_files<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    options: &LeptosOptions,
) -> Router<S> {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let policy = if options.hash_files {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    router.nest_service(
        &format!("/{}", options.site_pkg_dir),
        tower::ServiceBuilder::new()
            .map_response(move |response: Response<_>| cache_when_found(response, policy))
            .service(files),
    )
}

/// Only a file that was found is cached: a 404 for a file of a newer build must not stick.
fn cache_when_found<B>(mut response: Response<B>, policy: &'static str) -> Response<B> {
    if response.status().is_success() || response.status() == axum::http::StatusCode::NOT_MODIFIED {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Compresses every answer above [`COMPRESS_ABOVE_BYTES`] with brotli or gzip, as the client accepts, except images
/// (already compressed) and answers that are compressed already (the precompressed files). Pages are marked to be
/// revalidated, so that a deployment is seen on the next visit while the files they name stay cached.
pub fn with_compression<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let worth_it = SizeAbove::new(COMPRESS_ABOVE_BYTES)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::GRPC);
    router
        .layer(axum::middleware::map_response(pages_revalidate))
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Precise(PER_REQUEST_QUALITY))
                .compress_when(worth_it),
        )
}

async fn pages_revalidate(mut response: axum::response::Response) -> axum::response::Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if is_html && !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    }
    response
}
