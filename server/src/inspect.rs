//! Development servers only (`--dev-allow-unsigned-packages`): the operator reads a
//! plugin's kv data, as the SDK's test harness asserts on it. A production server
//! answers 403: there, a plugin's data is its own.

use crate::error::ApiError;
use crate::roles::Operator;
use crate::views::AuthErrors;
use crate::{ApiQuery, ApiState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The inspection routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(kv_keys)).routes(routes!(kv_value))
}

/// Which keys: under `prefix`, within the household's part when `household` is given
/// (the keys `kv::household_key(household, …)` makes).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KeysQuery {
    #[serde(default)]
    prefix: String,
    household: Option<String>,
}

/// One key, within the household's part when `household` is given.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KeyQuery {
    key: String,
    household: Option<String>,
}

/// A plugin's keys.
#[derive(Serialize, utoipa::ToSchema)]
struct KvKeys {
    /// As the plugin wrote them (a household's keys start with its ref).
    keys: Vec<String>,
}

fn require_dev(state: &ApiState, plugin: &str) -> Result<(), ApiError> {
    if !state.host.config().dev_allow_unsigned_packages {
        return Err(ApiError::forbidden("reading a plugin's data is for development servers only"));
    }
    crate::operator::require_running(&state.host, plugin)
}

fn scoped(state: &ApiState, plugin: &str, household: Option<&str>, key: &str) -> Result<String, ApiError> {
    Ok(match household {
        Some(household) => format!("{}/{key}", state.host.household_ref(plugin, household)?),
        None => key.to_owned(),
    })
}

#[utoipa::path(get, path = "/v1/plugins/{id}/kv", tag = "operator", params(KeysQuery), responses((status = 200, body = KvKeys, description = "The plugin's keys (development servers only)"), AuthErrors))]
async fn kv_keys(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<KeysQuery>,
) -> Result<Json<KvKeys>, ApiError> {
    require_dev(&state, &id)?;
    let prefix = scoped(&state, &id, query.household.as_deref(), &query.prefix)?;
    Ok(Json(KvKeys { keys: state.host.kv_keys(&id, &prefix)? }))
}

#[utoipa::path(get, path = "/v1/plugins/{id}/kv/value", tag = "operator", params(KeyQuery), responses((status = 200, content_type = "application/octet-stream", description = "The value as stored (development servers only)"), AuthErrors))]
async fn kv_value(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<KeyQuery>,
) -> Result<Response, ApiError> {
    require_dev(&state, &id)?;
    let key = scoped(&state, &id, query.household.as_deref(), &query.key)?;
    let value = state.host.kv_get(&id, &key)?.ok_or_else(|| ApiError::not_found(format!("{id} has no key {key:?}")))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], value).into_response())
}
