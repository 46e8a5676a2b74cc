//! The HTTP API: `fn app(state) -> Router` over an embedded [`Host`](crate::Host).
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
mod rate_limit;

pub use rate_limit::{RateLimit, RateLimiter};
use std::sync::Arc;

use crate::bindings::Caller;
use crate::households::{Device, Grant};
use crate::{Host, HostError};
use audit::Audit;
use auth::{Principal, Role, Tokens};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use error::ApiError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Largest request body, except plugin uploads.
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct ApiState {
    pub host: Host,
    pub tokens: Tokens,
    pub audit: Audit,
    pub rate_limit: Arc<RateLimiter>,
    pub http_metrics: Arc<http_metrics::HttpMetrics>,
}

impl ApiState {
    pub fn new(host: Host) -> Result<Self, HostError> {
        let tokens = Tokens::open(host.database())?;
        let audit = Audit::open(host.database())?;
        Ok(ApiState {
            host,
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
    fn operator_action(&self, who: &Principal, action: &str, target: &str) -> Result<(), ApiError> {
        who.require(Role::Operator)?;
        self.audit.record(&who.0.id, action, target)?;
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

type ApiResult = Result<Response, ApiError>;

fn ok(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
}

/// The router.
pub fn app(state: ApiState) -> Router {
    let upload = Router::new()
        .route("/v1/plugins", post(install_plugin))
        .layer(DefaultBodyLimit::max(crate::component::MAX_COMPONENT_BYTES + (64 << 10)));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .route("/metrics", get(metrics))
        .route("/v1/tokens", post(create_token))
        .route("/v1/tokens/{id}", delete(revoke_token))
        .route("/v1/plugins", get(list_plugins))
        .route("/v1/plugins/{id}", get(plugin_status).delete(remove_plugin))
        .route("/v1/plugins/{id}/disable", post(disable_plugin))
        .route("/v1/plugins/{id}/enable", post(enable_plugin))
        .route("/v1/audit", get(audit_log))
        .route("/v1/plugins/{id}/config/{key}", put(set_config))
        .route("/v1/plugins/{id}/resume", post(resume_plugin))
        .route("/v1/plugins/{id}/dead-letters", get(operator_dead_letters))
        .route("/v1/plugins/{id}/dead-letters/{seq}/redrive", post(redrive))
        .route("/v1/households", post(add_household))
        .route("/v1/devices", post(add_device))
        .route("/v1/agreements/{publisher}", put(set_agreement))
        .route("/v1/events", post(send_events))
        .route("/v1/commands", get(take_commands))
        .route("/v1/services/{service}/{operation}", post(call_service))
        .route("/v1/me/notifications", get(my_notifications))
        .route("/v1/me/offers", get(my_offers))
        .route("/v1/me/orders/{plugin}/{order}/confirm", post(confirm_order))
        .route("/v1/me/orders/{plugin}/{order}/decline", post(decline_order))
        .route("/v1/me/grants/{plugin}", put(grant).delete(revoke))
        .route("/v1/me", delete(erase_me))
        .route("/v1/partner/plugins", get(partner_plugins))
        .route("/v1/partner/plugins/{id}/dead-letters", get(partner_dead_letters))
        .route("/v1/partner/statements/{month}", get(partner_statement))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(upload)
        .fallback(|| async { ApiError::not_found("no such route") })
        .route_layer(axum::middleware::from_fn_with_state(state.http_metrics.clone(), http_metrics::track))
        .with_state(state)
        // Innermost first: echo the request id, trace with it, assign it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|id| id.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Prometheus text; open like the health checks (serve it on a private interface).
async fn metrics(State(state): State<ApiState>) -> Response {
    let mut text = state.host.render_metrics();
    state.http_metrics.render(&mut text);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

// ---- operator ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    role: Role,
    #[serde(default)]
    scope: String,
}

async fn create_token(State(state): State<ApiState>, who: Principal, ApiJson(new): ApiJson<NewToken>) -> ApiResult {
    state.operator_action(&who, "token.create", &format!("{:?} {}", new.role, new.scope).to_lowercase())?;
    let (record, secret) = state.tokens.create(new.role, &new.scope)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": record.id, "role": record.role, "scope": record.scope, "token": secret })),
    )
        .into_response())
}

async fn revoke_token(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "token.revoke", &id)?;
    if !state.tokens.revoke(&id)? {
        return Err(ApiError::not_found(format!("token {id}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn plugin_json(host: &Host, plugin: &crate::LoadedPlugin) -> Value {
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
        "status": status.map(|s| json!({
            "quarantined": s.quarantined, "delivered": s.delivered, "failed": s.failed, "retried": s.retried,
            "dead_lettered": s.dead_lettered, "skipped_without_consent": s.skipped_without_consent,
        })),
    })
}

async fn list_plugins(State(state): State<ApiState>, who: Principal) -> ApiResult {
    who.require(Role::Operator)?;
    let plugins: Vec<Value> = state.host.plugins().iter().map(|plugin| plugin_json(&state.host, plugin)).collect();
    ok(json!({ "plugins": plugins, "disabled": state.host.disabled_plugins()? }))
}

async fn plugin_status(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    who.require(Role::Operator)?;
    let plugin = state.host.plugins().into_iter().find(|p| p.manifest.plugin.id == id);
    let plugin = plugin.ok_or_else(|| ApiError::not_found(format!("plugin {id} is not installed")))?;
    ok(plugin_json(&state.host, &plugin))
}

/// `multipart/form-data` with a `manifest` part (hearth.toml) and a `component` part (wasm).
async fn install_plugin(State(state): State<ApiState>, who: Principal, mut form: Multipart) -> ApiResult {
    who.require(Role::Operator)?;
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
    let manifest: hearth_registry::Manifest = manifest.parse().map_err(HostError::from)?;
    state.audit.record(&who.0.id, "plugin.install", &format!("{} {}", manifest.plugin.id, manifest.plugin.version))?;
    let loaded = state.host.install(manifest, component).await?;
    Ok((StatusCode::CREATED, Json(plugin_json(&state.host, &loaded))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigValue {
    value: String,
}

async fn set_config(
    State(state): State<ApiState>,
    who: Principal,
    Path((id, key)): Path<(String, String)>,
    ApiJson(config): ApiJson<ConfigValue>,
) -> ApiResult {
    state.operator_action(&who, "plugin.config", &format!("{id} {key}"))?;
    state.host.set_config(&id, &key, &config.value).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn resume_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.resume", &id)?;
    let was = state.host.resume(&id).await?;
    ok(json!({ "was_quarantined": was }))
}

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

async fn redrive(State(state): State<ApiState>, who: Principal, Path((id, seq)): Path<(String, u64)>) -> ApiResult {
    state.operator_action(&who, "plugin.redrive", &format!("{id} {seq}"))?;
    state.host.redrive(&id, seq).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewHousehold {
    id: String,
}

async fn add_household(
    State(state): State<ApiState>,
    who: Principal,
    ApiJson(new): ApiJson<NewHousehold>,
) -> ApiResult {
    state.operator_action(&who, "household.add", &new.id)?;
    state.host.add_household(&new.id)?;
    Ok(StatusCode::CREATED.into_response())
}

async fn add_device(State(state): State<ApiState>, who: Principal, ApiJson(device): ApiJson<Device>) -> ApiResult {
    state.operator_action(&who, "device.add", &format!("{} {}", device.id, device.household))?;
    state.host.add_device(device)?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Agreement {
    publisher_bp: u32,
}

async fn set_agreement(
    State(state): State<ApiState>,
    who: Principal,
    Path(publisher): Path<String>,
    ApiJson(agreement): ApiJson<Agreement>,
) -> ApiResult {
    state.operator_action(&who, "agreement.set", &format!("{publisher} {}", agreement.publisher_bp))?;
    state.host.set_agreement(&publisher, agreement.publisher_bp)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn disable_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.disable", &id)?;
    let was_running = state.host.disable(&id).await?;
    ok(json!({ "was_running": was_running }))
}

async fn enable_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.enable", &id)?;
    let loaded = state.host.enable(&id).await?;
    ok(plugin_json(&state.host, &loaded))
}

async fn remove_plugin(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.remove", &id)?;
    let erased = state.host.remove(&id).await?;
    ok(json!({ "erased_entries": erased }))
}

async fn audit_log(State(state): State<ApiState>, who: Principal) -> ApiResult {
    who.require(Role::Operator)?;
    ok(json!({ "entries": state.audit.recent(200)? }))
}

// ---- device ----

async fn send_events(State(state): State<ApiState>, who: Principal, body: axum::body::Bytes) -> ApiResult {
    let device = who.require(Role::Device)?;
    let receipts = state.host.ingest(device, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "receipts": receipts }))).into_response())
}

async fn take_commands(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let device = who.require(Role::Device)?;
    ok(json!({ "commands": state.host.take_commands(device)? }))
}

/// Devices call for their household, households for themselves.
async fn call_service(
    State(state): State<ApiState>,
    who: Principal,
    Path((service, operation)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
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

async fn my_notifications(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let household = who.require(Role::User)?;
    ok(json!({ "notifications": state.host.notifications(household)? }))
}

async fn my_offers(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let household = who.require(Role::User)?;
    ok(json!({ "offers": state.host.offers(household)? }))
}

async fn confirm_order(
    State(state): State<ApiState>,
    who: Principal,
    Path((plugin, order)): Path<(String, String)>,
) -> ApiResult {
    let household = who.require(Role::User)?;
    let entry = state.host.confirm_order(household, &plugin, &order).await?;
    ok(json!({ "order": order, "gross_minor": entry.gross_minor, "currency": entry.currency }))
}

async fn decline_order(
    State(state): State<ApiState>,
    who: Principal,
    Path((plugin, order)): Path<(String, String)>,
) -> ApiResult {
    let household = who.require(Role::User)?;
    state.host.decline_order(household, &plugin, &order).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

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

async fn revoke(State(state): State<ApiState>, who: Principal, Path(plugin): Path<String>) -> ApiResult {
    let household = who.require(Role::User)?;
    if !state.host.revoke(household, &plugin).await? {
        return Err(ApiError::not_found(format!("no grant to {plugin}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn erase_me(State(state): State<ApiState>, who: Principal) -> ApiResult {
    let household = who.require(Role::User)?;
    let erased = state.host.erase_household(household).await?;
    ok(json!({ "erased_entries": erased }))
}

// ---- partner ----

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

async fn partner_statement(State(state): State<ApiState>, who: Principal, Path(month): Path<String>) -> ApiResult {
    let publisher = who.require(Role::Partner)?;
    let valid = month.len() == 7
        && month.as_bytes()[4] == b'-'
        && month.chars().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit());
    if !valid {
        return Err(ApiError::bad_request("months are YYYY-MM"));
    }
    ok(serde_json::to_value(state.host.statement(publisher, &month)?).unwrap_or_default())
}
