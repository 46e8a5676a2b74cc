//! `GET /v1/session`: who the bearer token is. Any role may ask; the console uses
//! it to pick the operator or the partner view.

use crate::ApiState;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::views::AuthErrors;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The session route.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(session))
}

/// The token's role and scope.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// `operator`, `device`, `user` or `partner`.
    pub role: Role,
    /// Device id, household id or publisher; empty for operators.
    pub scope: String,
    /// The token's public id.
    pub token_id: String,
    /// When it expires, ms since the epoch; absent when it does not.
    pub expires_ms: Option<u64>,
}

#[utoipa::path(get, path = "/v1/session", tag = "session", responses((status = 200, body = SessionView, description = "The token's role and scope"), AuthErrors))]
async fn session(who: Principal) -> Result<Json<SessionView>, ApiError> {
    let record = who.0;
    Ok(Json(SessionView { role: record.role, scope: record.scope, token_id: record.id, expires_ms: record.expires_ms }))
}
