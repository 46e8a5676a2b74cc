//! Plugin logs: the operator reads any plugin's log book and sets its level; a partner
//! does the same for its own plugins only (another publisher's plugin answers as one
//! that is not installed).

use crate::error::ApiError;
use crate::partner::require_own;
use crate::roles::{Operator, Partner};
use crate::views::AuthErrors;
use crate::{ApiJson, ApiQuery, ApiState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_host::plugins::logbook::{LogLevel, LogLine, MAX_READ_LINES};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The log routes of both roles.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(operator_logs))
        .routes(routes!(operator_log_level))
        .routes(routes!(partner_logs))
        .routes(routes!(partner_log_level))
}

/// Which lines to read.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    /// The `cursor` of the last line already read; the oldest kept line when absent.
    after: Option<String>,
    /// Most lines to return (1–1,000; 100 by default).
    limit: Option<usize>,
}

/// A page of a plugin's log, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
struct LogPage {
    /// The plugin's id.
    plugin: String,
    /// Its level: its own lines below it are not kept.
    level: LogLevel,
    lines: Vec<LogLine>,
    /// The cursor to read on from (the last line's, or `after` when there was none).
    next: Option<String>,
}

/// A plugin's log level.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LevelBody {
    level: LogLevel,
}

fn page(state: &ApiState, plugin: &str, query: ApiQuery<LogQuery>) -> Result<Json<LogPage>, ApiError> {
    let ApiQuery(LogQuery { after, limit }) = query;
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_READ_LINES).contains(&limit) {
        return Err(ApiError::invalid(format!("limit is 1 to {MAX_READ_LINES}")));
    }
    let book = state.host.logbook();
    let lines = book.read(plugin, after.as_deref(), limit)?;
    let next = lines.last().map(|line| line.cursor.clone()).or(after);
    Ok(Json(LogPage { plugin: plugin.to_owned(), level: book.level(plugin), lines, next }))
}

/// 404 unless `plugin` is installed (running or disabled).
fn require_installed(state: &ApiState, plugin: &str) -> Result<(), ApiError> {
    let installed = state.host.plugins().iter().any(|p| p.manifest.plugin.id == plugin)
        || state.host.disabled_plugins()?.iter().any(|id| id == plugin);
    if installed { Ok(()) } else { Err(ApiError::not_found(format!("plugin {plugin} is not installed"))) }
}

#[utoipa::path(get, path = "/v1/plugins/{id}/logs", tag = "operator", params(LogQuery), responses((status = 200, body = LogPage, description = "The plugin's recent log lines"), AuthErrors))]
async fn operator_logs(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
    query: ApiQuery<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    require_installed(&state, &id)?;
    page(&state, &id, query)
}

#[utoipa::path(put, path = "/v1/plugins/{id}/log-level", tag = "operator", request_body = LevelBody, responses((status = 204, description = "Set on every host"), AuthErrors))]
async fn operator_log_level(
    State(state): State<ApiState>,
    operator: Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LevelBody>,
) -> Result<StatusCode, ApiError> {
    require_installed(&state, &id)?;
    operator.audit(&state, "plugin.log-level", &id).await?;
    state.host.logbook().set_level(&id, body.level)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/partner/plugins/{id}/logs", tag = "partner", params(LogQuery), responses((status = 200, body = LogPage, description = "The plugin's recent log lines"), AuthErrors))]
async fn partner_logs(
    State(state): State<ApiState>,
    Partner(publisher): Partner,
    Path(id): Path<String>,
    query: ApiQuery<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    require_own(&state, &publisher, &id)?;
    page(&state, &id, query)
}

#[utoipa::path(put, path = "/v1/partner/plugins/{id}/log-level", tag = "partner", request_body = LevelBody, responses((status = 204, description = "Set on every host"), AuthErrors))]
async fn partner_log_level(
    State(state): State<ApiState>,
    Partner(publisher): Partner,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LevelBody>,
) -> Result<StatusCode, ApiError> {
    require_own(&state, &publisher, &id)?;
    state.host.logbook().set_level(&id, body.level)?;
    Ok(StatusCode::NO_CONTENT)
}
