//! The web console at `/console/`: the assets `cargo xtask console` builds from
//! `console/` (TypeScript), embedded in the binary at compile time, so serving it
//! needs no node. The console is a client of this API like any other; these routes
//! only hand out its files, with a Content-Security-Policy that lets the page load
//! nothing but its own script and stylesheet and talk to nothing but this server.

use crate::error::ApiError;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

#[derive(rust_embed::RustEmbed)]
#[folder = "../console/dist/"]
#[allow_missing = true]
struct Assets;

/// No inline script or style, no other origin, no framing, no form posts.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `/console` (redirected), `/console/` (the page) and its files.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(|| async { asset("index.html") }))
        .route("/console/{*path}", get(|Path(path): Path<String>| async move { asset(&path) }))
}

fn asset(path: &str) -> Response {
    let Some(file) = Assets::get(path) else {
        if path == "index.html" {
            return ApiError::not_found(
                "this hearth binary was built without its console: run `cargo xtask console`, then build it again",
            )
            .into_response();
        }
        return ApiError::not_found("no such console file").into_response();
    };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The page is small and changes with the binary: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
