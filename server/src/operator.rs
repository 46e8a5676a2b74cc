//! Operator routes: tokens, plugins (status, install, config, grants, limits,
//! disable, enable, resume, removal), dead letters, households and devices, revenue
//! agreements, provider rankings, and the audit log. Signed packages and the trust
//! store are in [`crate::packages`].

use crate::error::ApiError;
use crate::roles::Operator;
use crate::views::{
    AuditList, AuthErrors, ClusterView, DeadLetterList, DeadLetterView, Disabled, HouseholdPage, HouseholdView,
    LimitsSet, LimitsView, MemberView, PluginList, PluginView, Removed, Resumed, TokenCreated,
};
use crate::{ApiJson, ApiQuery, ApiState, auth::Role};
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use hearth_host::households::Device;
use hearth_host::{Host, HostError};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operator's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_plugins))
        .routes(routes!(plugin_status, remove_plugin))
        .routes(routes!(disable_plugin))
        .routes(routes!(enable_plugin))
        .routes(routes!(set_config))
        .routes(routes!(set_grants))
        .routes(routes!(set_limits))
        .routes(routes!(resume_plugin))
        .routes(routes!(operator_dead_letters))
        .routes(routes!(redrive))
        .routes(routes!(dead_letter))
        .routes(routes!(add_household))
        .routes(routes!(list_households))
        .routes(routes!(add_device))
        .routes(routes!(set_ranking))
        .routes(routes!(audit_log))
        .routes(routes!(cluster))
}

/// The operator's routes that take a component upload (a larger body limit).
pub fn upload_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(install_plugin))
}

type Answer<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;
type NoContent = Result<StatusCode, ApiError>;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    role: Role,
    #[serde(default)]
    scope: String,
    /// Seconds until the token expires (1 to 10 years' worth); never when absent.
    ttl_s: Option<u64>,
}

#[utoipa::path(post, path = "/v1/tokens", request_body = NewToken, tag = "operator", responses((status = 201, body = TokenCreated, description = "The token, shown once"), AuthErrors))]
async fn create_token(
    State(state): State<ApiState>,
    operator: Operator,
    ApiJson(new): ApiJson<NewToken>,
) -> Created<TokenCreated> {
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
    operator.audit(&state, "token.create", &format!("{role} {}", new.scope)).await?;
    if new.ttl_s.is_some_and(|ttl| ttl == 0 || ttl > 10 * 365 * 86_400) {
        return Err(ApiError::invalid("ttl_s must be 1 second to 10 years"));
    }
    let ttl = new.ttl_s.map(std::time::Duration::from_secs);
    let (record, token) = state.tokens.create_expiring(new.role, &new.scope, ttl).await?;
    let created =
        TokenCreated { id: record.id, role: record.role, scope: record.scope, expires_ms: record.expires_ms, token };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "operator", responses((status = 204, description = "Revoked"), AuthErrors))]
async fn revoke_token(State(state): State<ApiState>, operator: Operator, Path(id): Path<String>) -> NoContent {
    operator.audit(&state, "token.revoke", &id).await?;
    if !state.tokens.revoke(&id).await? {
        return Err(ApiError::not_found(format!("token {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/plugins", tag = "operator", responses((status = 200, body = PluginList, description = "Running plugins, and the ids of disabled ones"), AuthErrors))]
async fn list_plugins(State(state): State<ApiState>, _: Operator) -> Answer<PluginList> {
    let plugins = state.host.plugins().iter().map(|plugin| PluginView::of(&state.host, plugin)).collect();
    Ok(Json(PluginList { plugins, disabled: Some(state.host.disabled_plugins()?) }))
}

#[utoipa::path(get, path = "/v1/plugins/{id}", tag = "operator", responses((status = 200, body = PluginView, description = "One plugin with its delivery status"), AuthErrors))]
async fn plugin_status(State(state): State<ApiState>, _: Operator, Path(id): Path<String>) -> Answer<PluginView> {
    let plugin = state.host.plugins().into_iter().find(|p| p.manifest.plugin.id == id);
    let plugin = plugin.ok_or_else(|| ApiError::not_found(format!("plugin {id} is not installed")))?;
    Ok(Json(PluginView::of(&state.host, &plugin)))
}

/// An unsigned upload for local development, refused unless the server runs with
/// `--dev-allow-unsigned-packages`: `multipart/form-data` with a `manifest` part
/// (hearth.toml) and a `component` part (wasm). Production installs go through
/// `POST /v1/packages`.
#[utoipa::path(post, path = "/v1/plugins", tag = "operator", responses((status = 201, body = PluginView, description = "Installed (multipart: manifest, component)"), AuthErrors))]
async fn install_plugin(State(state): State<ApiState>, operator: Operator, mut form: Multipart) -> Created<PluginView> {
    if !state.host.config().dev_allow_unsigned_packages {
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
    operator.audit(&state, "plugin.install", &format!("{} {}", manifest.plugin.id, manifest.plugin.version)).await?;
    let loaded = state.host.install(manifest, component).await?;
    Ok((StatusCode::CREATED, Json(PluginView::of(&state.host, &loaded))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfigValue {
    value: String,
}

#[utoipa::path(put, path = "/v1/plugins/{id}/config/{key}", request_body = ConfigValue, tag = "operator", responses((status = 204, description = "Set"), AuthErrors))]
async fn set_config(
    State(state): State<ApiState>,
    operator: Operator,
    Path((id, key)): Path<(String, String)>,
    ApiJson(config): ApiJson<ConfigValue>,
) -> NoContent {
    operator.audit(&state, "plugin.config", &format!("{id} {key}")).await?;
    state.host.set_config(&id, &key, &config.value).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/plugins/{id}/resume", tag = "operator", responses((status = 200, body = Resumed, description = "Quarantine lifted"), AuthErrors))]
async fn resume_plugin(State(state): State<ApiState>, operator: Operator, Path(id): Path<String>) -> Answer<Resumed> {
    operator.audit(&state, "plugin.resume", &id).await?;
    Ok(Json(Resumed { was_quarantined: state.host.resume(&id).await? }))
}

#[utoipa::path(get, path = "/v1/plugins/{id}/dead-letters", tag = "operator", responses((status = 200, body = DeadLetterList, description = "Dead letters"), AuthErrors))]
async fn operator_dead_letters(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
) -> Answer<DeadLetterList> {
    dead_letters(&state.host, &id).map(Json)
}

/// 404 unless `plugin` is running.
pub(crate) fn require_running(host: &Host, plugin: &str) -> Result<(), ApiError> {
    match host.status(plugin) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!("plugin {plugin} is not installed"))),
    }
}

/// A running plugin's dead letters (404 for a plugin that is not running).
pub(crate) fn dead_letters(host: &Host, plugin: &str) -> Result<DeadLetterList, ApiError> {
    require_running(host, plugin)?;
    let dead_letters = host
        .dead_letters(plugin)?
        .into_iter()
        .map(|letter| DeadLetterView {
            seq: letter.seq,
            event_id: letter.event.id,
            topic: letter.event.topic,
            error: letter.error,
            attempts: letter.attempts,
            time_ms: letter.time_ms,
        })
        .collect();
    Ok(DeadLetterList { dead_letters })
}

/// One dead letter with the whole event, as stored.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct DeadLetterShown {
    seq: u64,
    /// The event: id, topic, time, household, device and body.
    #[schema(value_type = Object)]
    event: serde_json::Value,
    error: String,
    attempts: u32,
    time_ms: u64,
}

#[utoipa::path(get, path = "/v1/plugins/{id}/dead-letters/{seq}", tag = "operator", responses((status = 200, body = DeadLetterShown, description = "The dead letter with its event"), AuthErrors))]
async fn dead_letter(
    State(state): State<ApiState>,
    _: Operator,
    Path((id, seq)): Path<(String, u64)>,
) -> Answer<DeadLetterShown> {
    require_running(&state.host, &id)?;
    let letter = state
        .host
        .dead_letter(&id, seq)?
        .ok_or_else(|| ApiError::not_found(format!("{id} has no dead letter at {seq}")))?;
    let event =
        serde_json::to_value(&letter.event).map_err(|error| ApiError::from(HostError::Engine(error.to_string())))?;
    Ok(Json(DeadLetterShown { seq, event, error: letter.error, attempts: letter.attempts, time_ms: letter.time_ms }))
}

#[utoipa::path(post, path = "/v1/plugins/{id}/dead-letters/{seq}/redrive", tag = "operator", responses((status = 204, description = "Delivered again"), AuthErrors))]
async fn redrive(State(state): State<ApiState>, operator: Operator, Path((id, seq)): Path<(String, u64)>) -> NoContent {
    operator.audit(&state, "plugin.redrive", &format!("{id} {seq}")).await?;
    state.host.redrive(&id, seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewHousehold {
    id: String,
}

#[utoipa::path(post, path = "/v1/households", request_body = NewHousehold, tag = "operator", responses((status = 201, description = "Registered"), AuthErrors))]
async fn add_household(
    State(state): State<ApiState>,
    operator: Operator,
    ApiJson(new): ApiJson<NewHousehold>,
) -> NoContent {
    operator.audit(&state, "household.add", &new.id).await?;
    state.host.add_household(&new.id)?;
    Ok(StatusCode::CREATED)
}

/// `GET /v1/households` query: a page of households by id.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct HouseholdQuery {
    /// Only ids starting with this.
    prefix: Option<String>,
    /// Ids after this one (the previous page's `next`).
    after: Option<String>,
    /// 1–1,000; 100 by default.
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/households", params(HouseholdQuery), tag = "operator", responses((status = 200, body = HouseholdPage, description = "Households with their devices, by id"), AuthErrors, (status = 422, description = "A limit outside 1–1,000")))]
async fn list_households(
    State(state): State<ApiState>,
    _: Operator,
    ApiQuery(query): ApiQuery<HouseholdQuery>,
) -> Answer<HouseholdPage> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::invalid(format!("a limit is 1 to 1000, got {limit}")));
    }
    let page =
        state.host.households_page(query.prefix.as_deref().unwrap_or_default(), query.after.as_deref(), limit)?;
    let next = page.next;
    let households = page.households.into_iter().map(|(id, devices)| HouseholdView { id, devices }).collect();
    Ok(Json(HouseholdPage { households, next }))
}

#[utoipa::path(post, path = "/v1/devices", request_body = Device, tag = "operator", responses((status = 201, description = "Registered"), AuthErrors))]
async fn add_device(State(state): State<ApiState>, operator: Operator, ApiJson(device): ApiJson<Device>) -> NoContent {
    operator.audit(&state, "device.add", &format!("{} {}", device.id, device.household)).await?;
    state.host.add_device(device)?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Ranking {
    /// Plugin ids, most preferred first; providers not listed come after, by id.
    plugins: Vec<String>,
}

/// The operator's order of preference among the providers of an operation.
#[utoipa::path(put, path = "/v1/services/{service}/{operation}/ranking", request_body = Ranking, tag = "operator", responses((status = 204, description = "Set"), AuthErrors))]
async fn set_ranking(
    State(state): State<ApiState>,
    operator: Operator,
    Path((service, operation)): Path<(String, String)>,
    ApiJson(ranking): ApiJson<Ranking>,
) -> NoContent {
    let name = format!("{service}.{operation}");
    operator.audit(&state, "service.ranking", &format!("{name} {}", ranking.plugins.join(","))).await?;
    let plugins: Vec<&str> = ranking.plugins.iter().map(String::as_str).collect();
    state.host.set_provider_ranking(&name, &plugins)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/plugins/{id}/disable", tag = "operator", responses((status = 200, body = Disabled, description = "Stopped; events wait"), AuthErrors))]
async fn disable_plugin(State(state): State<ApiState>, operator: Operator, Path(id): Path<String>) -> Answer<Disabled> {
    operator.audit(&state, "plugin.disable", &id).await?;
    Ok(Json(Disabled { was_running: state.host.disable(&id).await? }))
}

#[utoipa::path(post, path = "/v1/plugins/{id}/enable", tag = "operator", responses((status = 200, body = PluginView, description = "Started again"), AuthErrors))]
async fn enable_plugin(
    State(state): State<ApiState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Answer<PluginView> {
    operator.audit(&state, "plugin.enable", &id).await?;
    let loaded = state.host.enable(&id).await?;
    Ok(Json(PluginView::of(&state.host, &loaded)))
}

#[utoipa::path(delete, path = "/v1/plugins/{id}", tag = "operator", responses((status = 200, body = Removed, description = "Uninstalled"), AuthErrors))]
async fn remove_plugin(State(state): State<ApiState>, operator: Operator, Path(id): Path<String>) -> Answer<Removed> {
    operator.audit(&state, "plugin.remove", &id).await?;
    Ok(Json(Removed { erased_entries: state.host.remove(&id).await? }))
}

#[utoipa::path(get, path = "/v1/audit", tag = "operator", responses((status = 200, body = AuditList, description = "Operator actions, newest first"), AuthErrors))]
async fn audit_log(State(state): State<ApiState>, _: Operator) -> Answer<AuditList> {
    Ok(Json(AuditList { entries: state.audit.recent(200)? }))
}

#[utoipa::path(get, path = "/v1/cluster", tag = "operator", responses((status = 200, body = ClusterView, description = "Live hosts and the consumer partitions each delivers"), AuthErrors))]
async fn cluster(State(state): State<ApiState>, _: Operator) -> Answer<ClusterView> {
    let (host, members) = state.host.cluster()?;
    let members = members
        .into_iter()
        .map(|member| MemberView { host: member.host, heartbeat_until_ms: member.until_ms, partitions: member.units })
        .collect();
    Ok(Json(ClusterView { host, members }))
}

#[utoipa::path(put, path = "/v1/plugins/{id}/grants", tag = "operator", request_body(content = Object, description = "Capabilities: {kv, notify, commerce, devices, http}, at most what the manifest requests"), responses((status = 200, body = PluginView, description = "Restarted under the grants"), (status = 422, description = "More than requested, or the component needs what was withheld"), AuthErrors))]
async fn set_grants(
    State(state): State<ApiState>,
    operator: Operator,
    Path(id): Path<String>,
    ApiJson(grants): ApiJson<hearth_package::Capabilities>,
) -> Answer<PluginView> {
    operator.audit(&state, "plugin.grants", &id).await?;
    let loaded = state.host.set_grants(&id, grants).await?;
    Ok(Json(PluginView::of(&state.host, &loaded)))
}

#[utoipa::path(put, path = "/v1/plugins/{id}/limits", tag = "operator", request_body(content = Object, description = "{memory_mb, timeout_ms, service_timeout_ms, concurrency}"), responses((status = 200, body = LimitsSet, description = "Restarted under the limits"), AuthErrors))]
async fn set_limits(
    State(state): State<ApiState>,
    operator: Operator,
    Path(id): Path<String>,
    ApiJson(limits): ApiJson<hearth_package::RequestedLimits>,
) -> Answer<LimitsSet> {
    operator.audit(&state, "plugin.limits", &id).await?;
    let limits = state.host.set_limits(&id, limits).await?.limits;
    Ok(Json(LimitsSet { limits: LimitsView::from(limits) }))
}
