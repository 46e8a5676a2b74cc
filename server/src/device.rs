//! Device routes (events in, commands out) and ecosystem service calls, which
//! devices make for their household and households make for themselves.

use crate::error::ApiError;
use crate::roles::{DeviceCaller, ServiceCaller};
use crate::views::{AuthErrors, Commands, Receipts};
use crate::{ApiState, auth::Role, require_json};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_host::bindings::Caller;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Devices' routes and service calls.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(send_events)).routes(routes!(take_commands)).routes(routes!(call_service))
}

#[utoipa::path(post, path = "/v1/events", request_body(content = Object, content_type = "application/json", description = "One event or an array of events"), tag = "device", responses((status = 202, body = Receipts, description = "Durable receipts"), AuthErrors))]
async fn send_events(
    State(state): State<ApiState>,
    DeviceCaller(device): DeviceCaller,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Receipts>), ApiError> {
    require_json(&headers)?;
    let receipts = state.host.ingest(&device, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(Receipts { receipts })))
}

#[utoipa::path(get, path = "/v1/commands", tag = "device", responses((status = 200, body = Commands, description = "Pending commands, taken"), AuthErrors))]
async fn take_commands(
    State(state): State<ApiState>,
    DeviceCaller(device): DeviceCaller,
) -> Result<Json<Commands>, ApiError> {
    Ok(Json(Commands { commands: state.host.take_commands(&device)? }))
}

/// Devices call for their household, households for themselves.
#[utoipa::path(post, path = "/v1/services/{service}/{operation}", request_body(content = Object, content_type = "application/json", description = "JSON"), tag = "device", responses((status = 200, description = "The provider's JSON answer"), AuthErrors))]
async fn call_service(
    State(state): State<ApiState>,
    ServiceCaller(who): ServiceCaller,
    Path((service, operation)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if !body.is_empty() {
        require_json(&headers)?;
    }
    let (caller, household) = match who.0.role {
        Role::Device => {
            let device =
                state.host.device(&who.0.scope)?.ok_or_else(|| ApiError::forbidden("this device is not registered"))?;
            (Caller::Device(device.id.clone()), device.household)
        }
        _ => (Caller::Household(who.0.scope.clone()), who.0.scope.clone()),
    };
    if !body.is_empty() && serde_json::from_slice::<Value>(&body).is_err() {
        return Err(ApiError::bad_request("the request body must be JSON"));
    }
    let response = state.host.call_service(&service, &operation, caller, Some(household), body.to_vec()).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], response.output).into_response())
}
