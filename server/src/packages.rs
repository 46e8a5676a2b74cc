//! Operator routes for signed packages: verify, install or upgrade, roll back, and
//! the trust store of publisher keys.

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::{ApiJson, ApiResult, ApiState, ok, plugin_json};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

/// What a package asks for, so an operator sees it before installing.
#[utoipa::path(post, path = "/v1/packages/verify", tag = "operator", request_body(content = Vec<u8>, content_type = "application/vnd.hearth.package"), responses((status = 200, description = "Signed by a trusted key: the manifest's request"), (status = 403, description = "Unsigned, forged, tampered or unknown publisher"), (status = 422, description = "Not a valid package")))]
pub(super) async fn verify_package(State(state): State<ApiState>, who: Principal, body: Bytes) -> ApiResult {
    who.require(Role::Operator)?;
    let package = state.host.verify_package(&body)?;
    let manifest = &package.manifest;
    let installed = state.host.plugins().into_iter().find(|plugin| plugin.manifest.plugin.id == manifest.plugin.id);
    ok(json!({
        "id": manifest.plugin.id,
        "version": manifest.plugin.version.to_string(),
        "publisher": manifest.plugin.publisher,
        "description": manifest.plugin.description,
        "signed_by": package.signature.as_ref().map(|signature| signature.key.clone()),
        "component": package.component_hash(),
        "subscriptions": manifest.subscriptions.topics,
        "provides": manifest.services.provides,
        "calls": manifest.services.calls,
        "capabilities": manifest.capabilities,
        "limits": manifest.limits,
        "installed_version": installed.map(|plugin| plugin.manifest.plugin.version.to_string()),
    }))
}

/// Installs a signed package; a new version of an installed plugin upgrades it.
#[utoipa::path(post, path = "/v1/packages", tag = "operator", request_body(content = Vec<u8>, content_type = "application/vnd.hearth.package"), responses((status = 201, description = "Installed or upgraded"), (status = 403, description = "Unsigned, forged, tampered or unknown publisher"), (status = 409, description = "This version is installed with another component"), (status = 422, description = "Not a valid package or component")))]
pub(super) async fn install_package(State(state): State<ApiState>, who: Principal, body: Bytes) -> ApiResult {
    who.require(Role::Operator)?;
    let package = state.host.verify_package(&body)?;
    let info = &package.manifest.plugin;
    state.audit.record(&who.0.id, "plugin.install", &format!("{} {}", info.id, info.version)).await?;
    let previous = state.host.plugins().into_iter().find(|plugin| plugin.manifest.plugin.id == info.id);
    let loaded = state.host.install(package.manifest, package.component).await?;
    let mut body = plugin_json(&state.host, &loaded);
    body["upgraded_from"] = json!(previous.map(|plugin| plugin.manifest.plugin.version.to_string()));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Goes back to the version the last upgrade replaced.
#[utoipa::path(post, path = "/v1/plugins/{id}/rollback", tag = "operator", responses((status = 200, description = "Rolled back"), (status = 404, description = "Not installed"), (status = 409, description = "No previous version")))]
pub(super) async fn rollback(State(state): State<ApiState>, who: Principal, Path(id): Path<String>) -> ApiResult {
    state.operator_action(&who, "plugin.rollback", &id).await?;
    let loaded = state.host.rollback(&id).await?;
    ok(plugin_json(&state.host, &loaded))
}

/// Every publisher with the keys trusted to sign its packages.
#[utoipa::path(get, path = "/v1/trust", tag = "operator", responses((status = 200, description = "Trusted keys by publisher"), (status = 401, description = "No or unknown token"), (status = 403, description = "Another role's route")))]
pub(super) async fn list_trust(State(state): State<ApiState>, who: Principal) -> ApiResult {
    who.require(Role::Operator)?;
    ok(json!(state.host.trust_store().list()?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TrustedKey {
    /// Hex ed25519 public key (`hearth keys generate` writes it to NAME.pub).
    key: String,
}

/// Trusts a key to sign a publisher's packages.
#[utoipa::path(post, path = "/v1/trust/{publisher}", request_body = TrustedKey, tag = "operator", responses((status = 201, description = "Trusted"), (status = 422, description = "Not a public key")))]
pub(super) async fn trust(
    State(state): State<ApiState>,
    who: Principal,
    Path(publisher): Path<String>,
    ApiJson(body): ApiJson<TrustedKey>,
) -> ApiResult {
    state.operator_action(&who, "trust.add", &format!("{publisher} {}", body.key.trim())).await?;
    let added = state.host.trust_store().trust(&publisher, &body.key)?;
    Ok((StatusCode::CREATED, Json(json!({ "publisher": publisher, "added": added }))).into_response())
}

/// Stops trusting a key.
#[utoipa::path(delete, path = "/v1/trust/{publisher}/{key}", tag = "operator", responses((status = 204, description = "No longer trusted"), (status = 404, description = "Not a trusted key")))]
pub(super) async fn distrust(
    State(state): State<ApiState>,
    who: Principal,
    Path((publisher, key)): Path<(String, String)>,
) -> ApiResult {
    state.operator_action(&who, "trust.remove", &format!("{publisher} {key}")).await?;
    if !state.host.trust_store().distrust(&publisher, &key)? {
        return Err(ApiError::not_found(format!("{key} is not a trusted key of {publisher}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
