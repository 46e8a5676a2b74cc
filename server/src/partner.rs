//! A partner's routes: only its own plugins, their dead letters, and its statements.

use crate::ApiState;
use crate::error::ApiError;
use crate::operator::dead_letters;
use crate::roles::Partner;
use crate::views::{AuthErrors, DeadLetterList, PluginList, PluginView};
use axum::Json;
use axum::extract::{Path, State};
use hearth_host::commerce::ledger::Statement;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The partner's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(partner_plugins))
        .routes(routes!(partner_dead_letters))
        .routes(routes!(partner_statement))
}

#[utoipa::path(get, path = "/v1/partner/plugins", tag = "partner", responses((status = 200, body = PluginList, description = "The publisher's plugins"), AuthErrors))]
async fn partner_plugins(
    State(state): State<ApiState>,
    Partner(publisher): Partner,
) -> Result<Json<PluginList>, ApiError> {
    let plugins = state
        .host
        .plugins()
        .iter()
        .filter(|plugin| plugin.manifest.plugin.publisher == publisher)
        .map(|plugin| PluginView::of(&state.host, plugin))
        .collect();
    Ok(Json(PluginList { plugins, disabled: None }))
}

#[utoipa::path(get, path = "/v1/partner/plugins/{id}/dead-letters", tag = "partner", responses((status = 200, body = DeadLetterList, description = "Dead letters"), AuthErrors))]
async fn partner_dead_letters(
    State(state): State<ApiState>,
    Partner(publisher): Partner,
    Path(id): Path<String>,
) -> Result<Json<DeadLetterList>, ApiError> {
    require_own(&state, &publisher, &id)?;
    dead_letters(&state.host, &id).map(Json)
}

/// 404 unless `plugin` runs and is published by `publisher`: the same answer for
/// another publisher's plugin as for none, so nothing about others leaks.
pub(crate) fn require_own(state: &ApiState, publisher: &str, plugin: &str) -> Result<(), ApiError> {
    let own =
        state.host.plugins().iter().any(|p| p.manifest.plugin.id == plugin && p.manifest.plugin.publisher == publisher);
    if own { Ok(()) } else { Err(ApiError::not_found(format!("plugin {plugin} is not installed"))) }
}

#[utoipa::path(get, path = "/v1/partner/statements/{month}", tag = "partner", responses((status = 200, body = Statement, description = "The month's statement"), AuthErrors))]
async fn partner_statement(
    State(state): State<ApiState>,
    Partner(publisher): Partner,
    Path(month): Path<String>,
) -> Result<Json<Statement>, ApiError> {
    crate::revenue::check_month(&month)?;
    Ok(Json(state.host.statement(&publisher, &month)?))
}
