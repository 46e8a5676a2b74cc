//! The HTTP API: `fn app(state) -> Router` over an embedded [`Host`](hearth_host::Host).
//!
//! Routes by caller (see [`auth`] for roles):
//! - operator: `/v1/tokens`, `/v1/plugins…`, `/v1/households`, `/v1/devices`,
//!   `/v1/agreements/{publisher}`;
//! - device: `POST /v1/events`, `GET /v1/commands`, `POST /v1/services/{service}/{operation}`;
//! - household (user): `/v1/me/…` and `POST /v1/services/{service}/{operation}`;
//! - partner: `/v1/partner/…`, only its own plugins and statements.
//!
//! Errors are `{"error": {"code", "message"}}` (see [`error`]); bodies are limited to
//! [`MAX_BODY_BYTES`] (16 MiB for plugin uploads).

pub mod audit;
pub mod auth;
pub mod error;
mod http_metrics;
mod packages;
mod rate_limit;

pub use rate_limit::{RateLimit, RateLimiter};
use std::sync::Arc;

use audit::Audit;
use auth::{Principal, Role, Tokens};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use error::ApiError;
use hearth_host::bindings::Caller;
use hearth_host::households::{Device, Grant};
use hearth_host::{Host, HostError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body, except plugin uploads.
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct ApiState {
    pub host: Host,
    /// Whether `/metrics` is answered on the API listener; off when the operator
    /// serves it on a private one (`hearth serve --metrics-listen`).
    pub metrics_on_api: bool,
    pub tokens: Tokens,
    pub audit: Audit,
    pub rate_limit: Arc<RateLimiter>,
    pub http_metrics: Arc<http_metrics::HttpMetrics>,
}

impl ApiState {
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
        })
    }

    /// The same state with another per-token request limit.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Arc::new(RateLimiter::new(limit));
        self
    }

    /// Checks the caller is an operator and records the action it is about to take.
    async fn operator_action(&self, who: &Principal, action: &str, target: &str) -> Result<(), ApiError> {
        who.require(Role::Operator)?;
        self.audit.record(&who.0.id, action, target).await?;
        Ok(())
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

pub(crate) type ApiResult = Result<Response, ApiError>;

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

pub(crate) fn ok(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
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
    routes().split_for_parts().1
}

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Hearth",
    description = "Plugin host for connected home appliances: operator, appliance, household and partner API"
))]
struct ApiDoc;

/// Every route, registered with its OpenAPI description.
fn routes() -> OpenApiRouter<ApiState> {
    let upload = OpenApiRouter::new()
        .routes(routes!(install_plugin))
        .routes(routes!(packages::install_package))
        .routes(routes!(packages::verify_package))
        .layer(DefaultBodyLimit::max(hearth_host::runtime::component::MAX_COMPONENT_BYTES + (64 << 10)));
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_plugins))
        .routes(routes!(plugin_status, remove_plugin))
        .routes(routes!(disable_plugin))
        .routes(routes!(enable_plugin))
        .routes(routes!(audit_log))
        .routes(routes!(set_config))
        .routes(routes!(set_grants))
        .routes(routes!(set_limits))
        .routes(routes!(resume_plugin))
        .routes(routes!(packages::rollback))
        .routes(routes!(packages::list_trust))
        .routes(routes!(packages::trust))
        .routes(routes!(packages::distrust))
        .routes(routes!(operator_dead_letters))
        .routes(routes!(redrive))
        .routes(routes!(add_household))
        .routes(routes!(add_device))
        .routes(routes!(set_agreement))
        .routes(routes!(send_events))
        .routes(routes!(take_commands))
        .routes(routes!(call_service))
        .routes(routes!(my_notifications))
        .routes(routes!(my_offers))
        .routes(routes!(my_devices))
        .routes(routes!(confirm_order))
        .routes(routes!(decline_order))
        .routes(routes!(grant, revoke))
        .routes(routes!(erase_me))
        .routes(routes!(partner_plugins))
        .routes(routes!(partner_dead_letters))
        .routes(routes!(partner_statement))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(upload)
}

/// The router.
pub fn app(state: ApiState) -> Router {
    let (router, _) = routes().split_for_parts();
    router
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
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
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

// ---- operator ----

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    role: Role,
    #[serde(default)]
    scope: String,
    /// Seconds until the token expires (1 to 10 years' worth); never when absent.
    ttl_s: Option<u64>,
}

#[utoipa::path(post, path = "/v1/tokens", request_body = NewToken, tag = "operator", responses((status = 201, description = "The token, shown once"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn create_token(State(state): State<ApiState>, who: Principal, ApiJson(new): ApiJson<NewToken>) -> ApiResult {
    let role = format!("{:?}", new.role).to_lowercase();
    // A token is for something that exists: no tokens for made-up scopes.
    match new.role {
        Role::Operator => {}
        Role::User if state.host.has_household(&new.scope)? => {}
        Role::Device if state.host.device(&new.scope)?.is_some() => {}
        Role::Partner => hearth_host::validate::publisher(&new.scope)?,
        Role::User | Role::Device => {
            return Err(ApiError::invalid(format!("no {role} is registered under this scope")));
        }
    }
    state.operator_action(&who, "token.create", &format!("{role} {}", new.scope)).await?;
    if new.ttl_s.is_some_and(|ttl| ttl == 0 || ttl > 10 * 365 * 86_400) {
        return Err(ApiError::invalid("ttl_s must be 1 second to 10 years"));
    }
    let ttl = new.ttl_s.map(std::time::Duration::from_secs);
    let (record, secret) = state.tokens.create_expiring(new.role, &new.scope, ttl).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": record.id, "role": record.role, "scope": record.scope, "expires_ms": record.expires_ms, "token": secret })),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "operator", responses((status = 204, description = "Revoked"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn revoke_token(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "token.revoke", &id).await?;
    if !state.tokens.revoke(&id).await? {
        return Err(ApiError::not_found(format!("token {id}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn plugin_json(host: &Host, plugin: &hearth_host::LoadedPlugin) -> Value {
    let info = &plugin.manifest.plugin;
    let status = host.status(&info.id);
    json!({
        "id": info.id,
        "version": info.version.to_string(),
        "publisher": info.publisher,
        "description": info.description,
        "component": plugin.component_hash,
        "subscriptions": plugin.manifest.subscriptions.topics,
        "provides": plugin.manifest.services.provides,
        "rollback_to": host.previous_version(&info.id).ok().flatten(),
        "status": status.map(|s| json!({
            "quarantined": s.quarantined, "quarantine": s.quarantine, "delivered": s.delivered, "failed": s.failed,
            "retried": s.retried, "dead_lettered": s.dead_lettered, "skipped_without_consent": s.skipped_without_consent,
            "calls_failed": s.calls_failed, "callers_suspended": s.callers_suspended,
            "lag": s.lag, "overflowing": s.overflowing, "backlog_skipped": s.backlog_skipped,
        })),
    })
}

#[utoipa::path(get, path = "/v1/plugins", tag = "operator", responses((status = 200, description = "Installed plugins"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn list_plugins(State(state): State<ApiState>, who: Principal) -> ApiResult {
    who.require(Role::Operator)?;
    let plugins: Vec<Value> = state.host.plugins().iter().map(|plugin| plugin_json(&state.host, plugin)).collect();
    ok(json!({ "plugins": plugins, "disabled": state.host.disabled_plugins()? }))
}

#[utoipa::path(get, path = "/v1/plugins/{id}", tag = "operator", responses((status = 200, description = "One plugin with its delivery status"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn plugin_status(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    who.require(Role::Operator)?;
    let plugin = state.host.plugins().into_iter().find(|p| p.manifest.plugin.id == id);
    let plugin = plugin.ok_or_else(|| ApiError::not_found(format!("plugin {id} is not installed")))?;
    ok(plugin_json(&state.host, &plugin))
}

/// An unsigned upload for local development, refused unless the server runs with
/// `--dev-allow-unsigned-packages`: `multipart/form-data` with a `manifest` part
/// (hearth.toml) and a `component` part (wasm). Production installs go through
/// `POST /v1/packages`.
#[utoipa::path(post, path = "/v1/plugins", tag = "operator", responses((status = 201, description = "Installed (multipart: manifest, component)"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route, or unsigned uploads are not allowed")))]
async fn install_plugin(State(state): State<ApiState>, who: Principal, mut form: Multipart) -> ApiResult {
    who.require(Role::Operator)?;
    if !state.host.allows_unsigned_packages() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "untrusted_package",
            "unsigned uploads are refused: upload a signed package to POST /v1/packages \
             (`hearth plugin pack --key`), or run the server with --dev-allow-unsigned-packages",
        ));
    }
    let (mut manifest, mut component) = (None, None);
    while let Some(field) = form.next_field().await.map_err(|error| ApiError::bad_request(error.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|error| ApiError::new(error.status(), "body", error.body_text()))?;
        match name.as_str() {
            "manifest" => {
                manifest = Some(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| ApiError::bad_request("the manifest is not UTF-8"))?,
                )
            }
            "component" => component = Some(bytes.to_vec()),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected part {other:?}; send `manifest` and `component`"
                )));
            }
        }
    }
    let (Some(manifest), Some(component)) = (manifest, component) else {
        return Err(ApiError::bad_request("send both a `manifest` and a `component` part"));
    };
    let manifest: hearth_package::Manifest = manifest.parse().map_err(HostError::from)?;
    state
        .audit
        .record(&who.0.id, "plugin.install", &format!("{} {}", manifest.plugin.id, manifest.plugin.version))
        .await?;
    let loaded = state.host.install(manifest, component).await?;
    Ok((StatusCode::CREATED, Json(plugin_json(&state.host, &loaded))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfigValue {
    value: String,
}

#[utoipa::path(put, path = "/v1/plugins/{id}/config/{key}", request_body = ConfigValue, tag = "operator", responses((status = 204, description = "Set"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn set_config(
    State(state): State<ApiState>,
    who: Principal,
    Path((id, key)): Path<(String, String)>,
    ApiJson(config): ApiJson<ConfigValue>,
) -> ApiResult {
    state.operator_action(&who, "plugin.config", &format!("{id} {key}")).await?;
    state.host.set_config(&id, &key, &config.value).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/v1/plugins/{id}/resume", tag = "operator", responses((status = 200, description = "Quarantine lifted"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn resume_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.resume", &id).await?;
    let was = state.host.resume(&id).await?;
    ok(json!({ "was_quarantined": was }))
}

#[utoipa::path(get, path = "/v1/plugins/{id}/dead-letters", tag = "operator", responses((status = 200, description = "Dead letters"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn operator_dead_letters(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    who.require(Role::Operator)?;
    dead_letters(&state.host, &id)
}

fn dead_letters(host: &Host, plugin: &str) -> ApiResult {
    if host.status(plugin).is_none() {
        return Err(ApiError::not_found(format!("plugin {plugin} is not installed")));
    }
    let letters: Vec<Value> = host
        .dead_letters(plugin)?
        .into_iter()
        .map(|letter| {
            json!({ "seq": letter.seq, "event_id": letter.event.id, "topic": letter.event.topic,
            "error": letter.error, "attempts": letter.attempts, "time_ms": letter.time_ms })
        })
        .collect();
    ok(json!({ "dead_letters": letters }))
}

#[utoipa::path(post, path = "/v1/plugins/{id}/dead-letters/{seq}/redrive", tag = "operator", responses((status = 204, description = "Delivered again"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn redrive(State(state): State<ApiState>, who: Principal, Path((id, seq)): Path<(String, u64)>) -> ApiResult {
    state.operator_action(&who, "plugin.redrive", &format!("{id} {seq}")).await?;
    state.host.redrive(&id, seq).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewHousehold {
    id: String,
}

#[utoipa::path(post, path = "/v1/households", request_body = NewHousehold, tag = "operator", responses((status = 201, description = "Registered"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn add_household(
    State(state): State<ApiState>,
    who: Principal,
    ApiJson(new): ApiJson<NewHousehold>,
) -> ApiResult {
    state.operator_action(&who, "household.add", &new.id).await?;
    state.host.add_household(&new.id)?;
    Ok(StatusCode::CREATED.into_response())
}

#[utoipa::path(post, path = "/v1/devices", request_body = Device, tag = "operator", responses((status = 201, description = "Registered"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn add_device(State(state): State<ApiState>, who: Principal, ApiJson(device): ApiJson<Device>) -> ApiResult {
    state.operator_action(&who, "device.add", &format!("{} {}", device.id, device.household)).await?;
    state.host.add_device(device)?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Agreement {
    publisher_bp: u32,
}

#[utoipa::path(put, path = "/v1/agreements/{publisher}", request_body = Agreement, tag = "operator", responses((status = 204, description = "Set"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn set_agreement(
    State(state): State<ApiState>,
    who: Principal,
    Path(publisher): Path<String>,
    ApiJson(agreement): ApiJson<Agreement>,
) -> ApiResult {
    state.operator_action(&who, "agreement.set", &format!("{publisher} {}", agreement.publisher_bp)).await?;
    state.host.set_agreement(&publisher, agreement.publisher_bp)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/v1/plugins/{id}/disable", tag = "operator", responses((status = 200, description = "Stopped; events wait"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn disable_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.disable", &id).await?;
    let was_running = state.host.disable(&id).await?;
    ok(json!({ "was_running": was_running }))
}

#[utoipa::path(post, path = "/v1/plugins/{id}/enable", tag = "operator", responses((status = 200, description = "Started again"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn enable_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.enable", &id).await?;
    let loaded = state.host.enable(&id).await?;
    ok(plugin_json(&state.host, &loaded))
}

#[utoipa::path(delete, path = "/v1/plugins/{id}", tag = "operator", responses((status = 200, description = "Uninstalled"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn remove_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.remove", &id).await?;
    let erased = state.host.remove(&id).await?;
    ok(json!({ "erased_entries": erased }))
}

#[utoipa::path(get, path = "/v1/audit", tag = "operator", responses((status = 200, description = "Operator actions, newest first"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn audit_log(State(state): State<ApiState>, who: Principal) -> ApiResult {
    who.require(Role::Operator)?;
    ok(json!({ "entries": state.audit.recent(200)? }))
}

#[utoipa::path(put, path = "/v1/plugins/{id}/grants", tag = "operator", request_body(content = Value, description = "Capabilities: {kv, notify, commerce, devices, http}, at most what the manifest requests"), responses((status = 200, description = "Restarted under the grants"), (status = 422, description = "More than requested, or the component needs what was withheld"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn set_grants(
    State(state): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
    ApiJson(grants): ApiJson<hearth_package::Capabilities>,
) -> ApiResult {
    state.operator_action(&who, "plugin.grants", &id).await?;
    let loaded = state.host.set_grants(&id, grants).await?;
    ok(plugin_json(&state.host, &loaded))
}

#[utoipa::path(put, path = "/v1/plugins/{id}/limits", tag = "operator", request_body(content = Value, description = "{memory_mb, timeout_ms, service_timeout_ms, concurrency}"), responses((status = 200, description = "Restarted under the limits"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn set_limits(
    State(state): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
    ApiJson(limits): ApiJson<hearth_package::RequestedLimits>,
) -> ApiResult {
    state.operator_action(&who, "plugin.limits", &id).await?;
    let loaded = state.host.set_limits(&id, limits).await?;
    ok(json!({ "limits": {
        "memory_bytes": loaded.limits.memory_bytes,
        "event_timeout_ms": loaded.limits.event_timeout.as_millis() as u64,
        "service_timeout_ms": loaded.limits.service_timeout.as_millis() as u64,
        "concurrency": loaded.limits.concurrency,
    }}))
}

// ---- device ----

#[utoipa::path(post, path = "/v1/events", request_body(content = Value, content_type = "application/json", description = "JSON"), tag = "device", responses((status = 202, description = "Durable receipts"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn send_events(
    State(state): State<ApiState>,
    who: Principal,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    let device = who.require(Role::Device)?;
    require_json(&headers)?;
    let receipts = state.host.ingest(device, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "receipts": receipts }))).into_response())
}

#[utoipa::path(get, path = "/v1/commands", tag = "device", responses((status = 200, description = "Pending commands, taken"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn take_commands(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let device = who.require(Role::Device)?;
    ok(json!({ "commands": state.host.take_commands(device)? }))
}

/// Devices call for their household, households for themselves.
#[utoipa::path(post, path = "/v1/services/{service}/{operation}", request_body(content = Value, content_type = "application/json", description = "JSON"), tag = "device", responses((status = 200, description = "The provider's JSON answer"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn call_service(
    State(state): State<ApiState>,
    who: Principal,
    Path((service, operation)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    if !body.is_empty() {
        require_json(&headers)?;
    }
    let (caller, household) = match who.0.role {
        Role::Device => {
            let device =
                state.host.device(&who.0.scope)?.ok_or_else(|| ApiError::forbidden("this device is not registered"))?;
            (Caller::Device(device.id.clone()), device.household)
        }
        Role::User => (Caller::Household(who.0.scope.clone()), who.0.scope.clone()),
        _ => return Err(ApiError::forbidden("services are called by devices and households")),
    };
    if !body.is_empty() && serde_json::from_slice::<Value>(&body).is_err() {
        return Err(ApiError::bad_request("the request body must be JSON"));
    }
    let response = state.host.call_service(&service, &operation, caller, Some(household), body.to_vec()).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], response.output).into_response())
}

// ---- household ----

#[utoipa::path(get, path = "/v1/me/notifications", tag = "household", responses((status = 200, description = "Notifications"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn my_notifications(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let household = who.require(Role::User)?;
    ok(json!({ "notifications": state.host.notifications(household)? }))
}

#[utoipa::path(get, path = "/v1/me/offers", tag = "household", responses((status = 200, description = "Pending orders"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn my_offers(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let household = who.require(Role::User)?;
    ok(json!({ "offers": state.host.offers(household)? }))
}

#[utoipa::path(post, path = "/v1/me/orders/{plugin}/{order}/confirm", tag = "household", responses((status = 200, description = "Booked"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn confirm_order(
    State(state): State<ApiState>,
    who: Principal,
    Path((plugin, order)): Path<(String, String)>,
) -> ApiResult {
    let household = who.require(Role::User)?;
    let entry = state.host.confirm_order(household, &plugin, &order).await?;
    ok(json!({ "order": order, "gross_minor": entry.gross_minor, "currency": entry.currency }))
}

#[utoipa::path(post, path = "/v1/me/orders/{plugin}/{order}/decline", tag = "household", responses((status = 204, description = "Declined"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn decline_order(
    State(state): State<ApiState>,
    who: Principal,
    Path((plugin, order)): Path<(String, String)>,
) -> ApiResult {
    let household = who.require(Role::User)?;
    state.host.decline_order(household, &plugin, &order).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(put, path = "/v1/me/grants/{plugin}", request_body = Grant, tag = "household", responses((status = 204, description = "Granted"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn grant(
    State(state): State<ApiState>,
    who: Principal,
    Path(plugin): Path<String>,
    ApiJson(grant): ApiJson<Grant>,
) -> ApiResult {
    let household = who.require(Role::User)?;
    if state.host.status(&plugin).is_none() {
        return Err(ApiError::not_found(format!("plugin {plugin} is not installed")));
    }
    state.host.grant(household, &plugin, &grant).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(delete, path = "/v1/me/grants/{plugin}", tag = "household", responses((status = 204, description = "Revoked"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn revoke(State(state): State<ApiState>, who: Principal, Path(plugin): Path<String>) -> ApiResult {
    let household = who.require(Role::User)?;
    if !state.host.revoke(household, &plugin).await? {
        return Err(ApiError::not_found(format!("no grant to {plugin}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(delete, path = "/v1/me", tag = "household", responses((status = 200, description = "Erased"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn erase_me(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let household = who.require(Role::User)?.to_owned();
    let erasure = state.host.erase_household(&household).await?;
    // The API's own stores: the household's and its devices' tokens (this one too),
    // and the ids in the audit log.
    let ids: Vec<&str> =
        std::iter::once(household.as_str()).chain(erasure.device_ids.iter().map(String::as_str)).collect();
    let tokens = state.tokens.erase_scopes(&ids).await?;
    state.audit.redact(&ids).await?;
    ok(json!({ "erased": erasure, "tokens": tokens }))
}

#[utoipa::path(get, path = "/v1/me/devices", tag = "household", responses((status = 200, description = "The household's devices"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn my_devices(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let household = who.require(Role::User)?;
    ok(json!({ "devices": state.host.devices_of(household)? }))
}

// ---- partner ----

#[utoipa::path(get, path = "/v1/partner/plugins", tag = "partner", responses((status = 200, description = "The publisher's plugins"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn partner_plugins(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let publisher = who.require(Role::Partner)?;
    let plugins: Vec<Value> = state
        .host
        .plugins()
        .iter()
        .filter(|plugin| plugin.manifest.plugin.publisher == publisher)
        .map(|plugin| plugin_json(&state.host, plugin))
        .collect();
    ok(json!({ "plugins": plugins }))
}

#[utoipa::path(get, path = "/v1/partner/plugins/{id}/dead-letters", tag = "partner", responses((status = 200, description = "Dead letters"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn partner_dead_letters(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    let publisher = who.require(Role::Partner)?;
    let own =
        state.host.plugins().iter().any(|p| p.manifest.plugin.id == id && p.manifest.plugin.publisher == publisher);
    if !own {
        // The same answer as for a plugin that does not exist: nothing about others leaks.
        return Err(ApiError::not_found(format!("plugin {id} is not installed")));
    }
    dead_letters(&state.host, &id)
}

#[utoipa::path(get, path = "/v1/partner/statements/{month}", tag = "partner", responses((status = 200, description = "The month's statement"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
async fn partner_statement(State(state): State<ApiState>, who: Principal, Path(month): Path<String>) -> ApiResult {
    let publisher = who.require(Role::Partner)?;
    let parsed = month
        .split_once('-')
        .filter(|(year, number)| year.len() == 4 && number.len() == 2)
        .and_then(|(year, number)| Some((year.parse::<u16>().ok()?, number.parse::<u8>().ok()?)));
    if !parsed.is_some_and(|(year, number)| (1970..=9999).contains(&year) && (1..=12).contains(&number)) {
        return Err(ApiError::bad_request("months are YYYY-MM, from 1970-01"));
    }
    ok(serde_json::to_value(state.host.statement(publisher, &month)?).unwrap_or_default())
}
