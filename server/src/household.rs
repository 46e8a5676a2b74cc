//! A household's own routes (`/v1/me/…`): notifications, offers and orders, consent,
//! preferred providers, its devices, and erasure.

use crate::error::ApiError;
use crate::roles::Household;
use crate::views::{AuthErrors, Booked, Devices, Erased, Notifications, Offers};
use crate::{ApiJson, ApiState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_host::households::Grant;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The household's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(my_notifications))
        .routes(routes!(my_offers))
        .routes(routes!(my_devices))
        .routes(routes!(confirm_order))
        .routes(routes!(decline_order))
        .routes(routes!(grant, revoke))
        .routes(routes!(prefer))
        .routes(routes!(erase_me))
}

type Answer<T> = Result<Json<T>, ApiError>;

#[utoipa::path(get, path = "/v1/me/notifications", tag = "household", responses((status = 200, body = Notifications, description = "Notifications"), AuthErrors))]
async fn my_notifications(State(state): State<ApiState>, Household(household): Household) -> Answer<Notifications> {
    Ok(Json(Notifications { notifications: state.host.notifications(&household)? }))
}

#[utoipa::path(get, path = "/v1/me/offers", tag = "household", responses((status = 200, body = Offers, description = "Pending orders"), AuthErrors))]
async fn my_offers(State(state): State<ApiState>, Household(household): Household) -> Answer<Offers> {
    Ok(Json(Offers { offers: state.host.offers(&household)? }))
}

#[utoipa::path(post, path = "/v1/me/orders/{plugin}/{order}/confirm", tag = "household", responses((status = 200, body = Booked, description = "Booked"), AuthErrors))]
async fn confirm_order(
    State(state): State<ApiState>,
    Household(household): Household,
    Path((plugin, order)): Path<(String, String)>,
) -> Answer<Booked> {
    let entry = state.host.confirm_order(&household, &plugin, &order).await?;
    Ok(Json(Booked { order, gross_minor: entry.gross_minor, currency: entry.currency }))
}

#[utoipa::path(post, path = "/v1/me/orders/{plugin}/{order}/decline", tag = "household", responses((status = 204, description = "Declined"), AuthErrors))]
async fn decline_order(
    State(state): State<ApiState>,
    Household(household): Household,
    Path((plugin, order)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.host.decline_order(&household, &plugin, &order).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/v1/me/grants/{plugin}", request_body = Grant, tag = "household", responses((status = 204, description = "Granted"), AuthErrors))]
async fn grant(
    State(state): State<ApiState>,
    Household(household): Household,
    Path(plugin): Path<String>,
    ApiJson(grant): ApiJson<Grant>,
) -> Result<StatusCode, ApiError> {
    if state.host.status(&plugin).is_none() {
        return Err(ApiError::not_found(format!("plugin {plugin} is not installed")));
    }
    state.host.grant(&household, &plugin, &grant).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/me/grants/{plugin}", tag = "household", responses((status = 204, description = "Revoked"), AuthErrors))]
async fn revoke(
    State(state): State<ApiState>,
    Household(household): Household,
    Path(plugin): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.host.revoke(&household, &plugin).await? {
        return Err(ApiError::not_found(format!("no grant to {plugin}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Preference {
    /// The plugin that should serve this household first.
    plugin: String,
}

/// The household's preferred provider of an operation (it still needs the household's grant).
#[utoipa::path(put, path = "/v1/me/preferences/{service}/{operation}", request_body = Preference, tag = "household", responses((status = 204, description = "Set"), AuthErrors))]
async fn prefer(
    State(state): State<ApiState>,
    Household(household): Household,
    Path((service, operation)): Path<(String, String)>,
    ApiJson(preference): ApiJson<Preference>,
) -> Result<StatusCode, ApiError> {
    if state.host.status(&preference.plugin).is_none() {
        return Err(ApiError::not_found(format!("plugin {} is not installed", preference.plugin)));
    }
    state.host.set_provider_preference(&household, &format!("{service}.{operation}"), &preference.plugin)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/me", tag = "household", responses((status = 200, body = Erased, description = "Erased"), AuthErrors))]
async fn erase_me(State(state): State<ApiState>, Household(household): Household) -> Answer<Erased> {
    let erased = state.host.erase_household(&household).await?;
    // The API's own stores: the household's and its devices' tokens (this one too),
    // and the ids in the audit log.
    let ids: Vec<&str> =
        std::iter::once(household.as_str()).chain(erased.device_ids.iter().map(String::as_str)).collect();
    let tokens = state.tokens.erase_scopes(&ids).await?;
    state.audit.redact(&ids).await?;
    Ok(Json(Erased { erased, tokens }))
}

#[utoipa::path(get, path = "/v1/me/devices", tag = "household", responses((status = 200, body = Devices, description = "The household's devices"), AuthErrors))]
async fn my_devices(State(state): State<ApiState>, Household(household): Household) -> Answer<Devices> {
    Ok(Json(Devices { devices: state.host.devices_of(&household)? }))
}
