//! The HTTP API: `fn app(state) -> Router` over an embedded [`Host`](hearth_host::Host).
//!
//! One module per caller (see [`auth`] for roles), each with its own router; a
//! handler takes its role's extractor ([`roles`]), so it cannot run for another role:
//! - operator (`operator`, `packages`): tokens, plugins, packages and trust,
//!   households and devices, agreements, provider rankings, the audit log;
//! - device (`device`): `POST /v1/events`, `GET /v1/commands`, and service calls
//!   (`POST /v1/services/{service}/{operation}`, also for households);
//! - household (`household`): `/v1/me/…`;
//! - partner (`partner`): `/v1/partner/…`, only its own plugins and statements;
//! - any token (`session`): `GET /v1/session`, who the token is.
//!
//! `/console/` serves the web console ([`console`]), a client of these routes.
//!
//! Every answer has a typed body ([`views`]) with its schema in the OpenAPI document.
//!
//! Errors are `{"error": {"code", "message"}}` (see [`error`]); bodies are limited to
//! [`MAX_BODY_BYTES`] (16 MiB for plugin uploads).

#![deny(missing_docs)]

pub mod audit;
pub mod auth;
mod console;
mod device;
pub mod error;
mod household;
mod http_metrics;
mod inspect;
mod logs;
mod meters;
mod operator;
mod packages;
mod partner;
mod rate_limit;
mod registry;
mod request_id;
mod revenue;
pub mod roles;
mod session;
pub mod views;

pub use rate_limit::{RateLimit, RateLimiter};
use std::sync::Arc;

use audit::Audit;
use auth::Tokens;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use error::ApiError;
use hearth_host::{Host, HostError};
use serde::de::DeserializeOwned;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body, except plugin uploads.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    /// The embedded host.
    pub host: Host,
    /// Whether `/metrics` is answered on the API listener; off when the operator
    /// serves it on a private one (`hearth serve --metrics-listen`).
    pub metrics_on_api: bool,
    /// Bearer tokens.
    pub tokens: Tokens,
    /// Operator actions.
    pub audit: Audit,
    /// Requests per token.
    pub rate_limit: Arc<RateLimiter>,
    /// Request counters and latencies.
    pub http_metrics: Arc<http_metrics::HttpMetrics>,
    /// The registry installs and upgrades may come from (`hearth serve --registry`).
    pub registry: Option<Arc<hearth_registry_client::Registry>>,
}

impl ApiState {
    /// The API's state over `host` (its tokens and audit log live in the host's storage).
    pub fn new(host: Host) -> Result<Self, HostError> {
        let tokens = Tokens::open(host.storage())?;
        let audit = Audit::open(host.storage())?;
        Ok(ApiState {
            host,
            metrics_on_api: true,
            tokens,
            audit,
            rate_limit: Arc::new(RateLimiter::new(RateLimit::default())),
            http_metrics: Arc::default(),
            registry: None,
        })
    }

    /// The same state with another per-token request limit.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Arc::new(RateLimiter::new(limit));
        self
    }
}

/// JSON bodies whose rejections use the API's error format.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// Query strings whose rejections use the API's error format (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        Ok(ApiQuery(value))
    }
}

/// 415 unless the request says its body is JSON (routes that take raw bytes and
/// parse JSON themselves; [`ApiJson`] checks the same).
fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let essence = content_type.and_then(|value| value.split(';').next()).map(str::trim);
    match essence {
        Some(essence) if essence.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected application/json",
        )),
    }
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The server is up")))]
async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "The server serves requests")))]
async fn readyz() -> &'static str {
    "ready"
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "health", responses((status = 200, description = "This document")))]
async fn openapi_json() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let document = DOCUMENT.get_or_init(|| openapi().to_json().unwrap_or_default());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], document.clone()).into_response()
}

/// The OpenAPI document of every route [`app`] serves, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes(hearth_host::runtime::component::DEFAULT_MAX_COMPONENT_BYTES).split_for_parts().1
}

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Hearth",
    description = "Plugin host for connected home appliances: operator, appliance, household and partner API"
))]
struct ApiDoc;

/// Every route, registered with its OpenAPI description: the open ones here, then
/// each role's router (whose handlers take that role's extractor). Uploads may
/// carry a component of `max_component_bytes` and a package's overhead.
fn routes(max_component_bytes: usize) -> OpenApiRouter<ApiState> {
    let upload = operator::upload_routes()
        .merge(packages::upload_routes())
        .layer(DefaultBodyLimit::max(max_component_bytes + hearth_package::package::PACKAGE_OVERHEAD_BYTES));
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .merge(operator::routes())
        .merge(packages::routes())
        .merge(device::routes())
        .merge(household::routes())
        .merge(partner::routes())
        .merge(logs::routes())
        .merge(inspect::routes())
        .merge(session::routes())
        .merge(revenue::routes())
        .merge(meters::routes())
        .merge(registry::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(upload)
}

/// The router.
pub fn app(state: ApiState) -> Router {
    let (router, _) = routes(state.host.config().max_component_bytes).split_for_parts();
    router
        .merge(console::routes())
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(axum::middleware::map_response(error::one_shape))
        .route_layer(axum::middleware::from_fn_with_state(state.http_metrics.clone(), http_metrics::track))
        .with_state(state)
        // Innermost first: echo the request id, trace with it, assign it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let id = request.headers().get("x-request-id").and_then(|id| id.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                })
                // A 502/504 is a plugin failing, logged (within its budget) where it
                // happens; a line per answer would let callers write the log at their
                // request rate. Host failures are logged by `ApiError` at error level.
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(SetRequestIdLayer::x_request_id(request_id::RequestIds::new()))
}

/// Prometheus text; open like the health checks unless the server runs with
/// `--metrics-listen` (then only there).
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text"), (status = 404, description = "Served on the metrics listener only")))]
async fn metrics(State(state): State<ApiState>) -> Response {
    if !state.metrics_on_api {
        return ApiError::not_found("no such route").into_response();
    }
    prometheus_text(&state)
}

/// A router with only `/metrics`, for a private listener.
pub fn metrics_app(state: ApiState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(|State(state): State<ApiState>| async move { prometheus_text(&state) }))
        .with_state(state)
}

fn prometheus_text(state: &ApiState) -> Response {
    let mut text = state.host.render_metrics();
    state.http_metrics.render(&mut text);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
