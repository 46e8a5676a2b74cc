//! `GET /v1/metrics/plugins`: every running plugin's counters and call-latency
//! histograms as JSON, for the console's live charts. The same figures as the
//! Prometheus text at `/metrics`, but behind the operator's token, so they stay
//! readable when `--metrics-listen` moves `/metrics` to a private listener.

use crate::ApiState;
use crate::error::ApiError;
use crate::roles::Operator;
use crate::views::AuthErrors;
use axum::Json;
use axum::extract::State;
use hearth_host::exposition::PluginMeter;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The meters route.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(plugin_meters))
}

/// One reading of every running plugin's meters.
#[derive(Serialize, ToSchema)]
pub struct MeterSnapshot {
    /// When it was taken, ms since the epoch: rates are differences between two readings.
    pub time_ms: u64,
    /// By plugin.
    pub plugins: Vec<PluginMeter>,
}

#[utoipa::path(get, path = "/v1/metrics/plugins", tag = "operator", responses((status = 200, body = MeterSnapshot, description = "Counters and latency histograms per running plugin"), AuthErrors))]
async fn plugin_meters(State(state): State<ApiState>, _: Operator) -> Result<Json<MeterSnapshot>, ApiError> {
    Ok(Json(MeterSnapshot { time_ms: hearth_host::clock::now_ms(), plugins: state.host.plugin_meters() }))
}
