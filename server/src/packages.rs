//! Operator routes for signed packages: verify, install or upgrade, roll back, and
//! the trust store of publisher keys.

use crate::error::ApiError;
use crate::roles::Operator;
use crate::views::{AuthErrors, PackageReview, PluginView, Trusted};
use crate::{ApiJson, ApiState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The package routes (they take a package: a larger body limit).
pub fn upload_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(install_package)).routes(routes!(verify_package))
}

/// Rollback and the trust store.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(rollback))
        .routes(routes!(list_trust))
        .routes(routes!(trust))
        .routes(routes!(distrust))
}

/// What a package asks for, so an operator sees it before installing.
#[utoipa::path(post, path = "/v1/packages/verify", tag = "operator", request_body(content = Vec<u8>, content_type = "application/vnd.hearth.package"), responses((status = 200, body = PackageReview, description = "Signed by a trusted key: the manifest's request"), AuthErrors, (status = 403, description = "Unsigned, forged, tampered or unknown publisher"), (status = 422, description = "Not a valid package")))]
async fn verify_package(
    State(state): State<ApiState>,
    _: Operator,
    body: Bytes,
) -> Result<Json<PackageReview>, ApiError> {
    let package = state.host.verify_package(&body)?;
    Ok(Json(review_of(&state, &package)))
}

/// What a verified package requests, beside the version installed now.
pub(crate) fn review_of(state: &ApiState, package: &hearth_package::Package) -> PackageReview {
    let manifest = &package.manifest;
    let installed = state.host.plugins().into_iter().find(|plugin| plugin.manifest.plugin.id == manifest.plugin.id);
    PackageReview {
        id: manifest.plugin.id.clone(),
        version: manifest.plugin.version.to_string(),
        publisher: manifest.plugin.publisher.clone(),
        description: manifest.plugin.description.clone(),
        signed_by: package.signature.as_ref().map(|signature| signature.key.clone()),
        component: package.component_hash(),
        subscriptions: manifest.subscriptions.topics.clone(),
        provides: manifest.services.provides.clone(),
        calls: manifest.services.calls.clone(),
        capabilities: manifest.capabilities.clone(),
        limits: manifest.limits.clone(),
        warnings: hearth_host::events::catalog::unmatched_subscriptions(manifest),
        installed_version: installed.map(|plugin| plugin.manifest.plugin.version.to_string()),
        package: None,
    }
}

/// Installs a signed package; a new version of an installed plugin upgrades it.
#[utoipa::path(post, path = "/v1/packages", tag = "operator", request_body(content = Vec<u8>, content_type = "application/vnd.hearth.package"), responses((status = 201, body = PluginView, description = "Installed or upgraded"), AuthErrors, (status = 403, description = "Unsigned, forged, tampered or unknown publisher"), (status = 409, description = "This version is installed with another component"), (status = 422, description = "Not a valid package or component")))]
async fn install_package(
    State(state): State<ApiState>,
    operator: Operator,
    body: Bytes,
) -> Result<(StatusCode, Json<PluginView>), ApiError> {
    let package = state.host.verify_package(&body)?;
    Ok((StatusCode::CREATED, Json(install_verified(&state, &operator, package).await?)))
}

/// Installs a verified package (audited first); a newer version upgrades.
pub(crate) async fn install_verified(
    state: &ApiState,
    operator: &Operator,
    package: hearth_package::Package,
) -> Result<PluginView, ApiError> {
    let info = &package.manifest.plugin;
    operator.audit(state, "plugin.install", &format!("{} {}", info.id, info.version)).await?;
    let previous = state.host.plugins().into_iter().find(|plugin| plugin.manifest.plugin.id == info.id);
    let loaded = state.host.install(package.manifest, package.component).await?;
    let mut view = PluginView::of(&state.host, &loaded);
    view.upgraded_from = Some(previous.map(|plugin| plugin.manifest.plugin.version.to_string()));
    Ok(view)
}

/// Goes back to the version the last upgrade replaced.
#[utoipa::path(post, path = "/v1/plugins/{id}/rollback", tag = "operator", responses((status = 200, body = PluginView, description = "Rolled back"), AuthErrors, (status = 404, description = "Not installed"), (status = 409, description = "No previous version")))]
async fn rollback(
    State(state): State<ApiState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<PluginView>, ApiError> {
    operator.audit(&state, "plugin.rollback", &id).await?;
    let loaded = state.host.rollback(&id).await?;
    Ok(Json(PluginView::of(&state.host, &loaded)))
}

/// Every publisher with the keys trusted to sign its packages.
#[utoipa::path(get, path = "/v1/trust", tag = "operator", responses((status = 200, body = BTreeMap<String, Vec<String>>, description = "Trusted keys by publisher"), AuthErrors))]
async fn list_trust(
    State(state): State<ApiState>,
    _: Operator,
) -> Result<Json<BTreeMap<String, Vec<String>>>, ApiError> {
    Ok(Json(state.host.trust_store().list()?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TrustedKey {
    /// Hex ed25519 public key (`hearth keys generate` writes it to NAME.pub).
    key: String,
}

/// Trusts a key to sign a publisher's packages.
#[utoipa::path(post, path = "/v1/trust/{publisher}", request_body = TrustedKey, tag = "operator", responses((status = 201, body = Trusted, description = "Trusted"), AuthErrors, (status = 422, description = "Not a public key")))]
async fn trust(
    State(state): State<ApiState>,
    operator: Operator,
    Path(publisher): Path<String>,
    ApiJson(body): ApiJson<TrustedKey>,
) -> Result<(StatusCode, Json<Trusted>), ApiError> {
    operator.audit(&state, "trust.add", &format!("{publisher} {}", body.key.trim())).await?;
    let added = state.host.trust_store().trust(&publisher, &body.key)?;
    Ok((StatusCode::CREATED, Json(Trusted { publisher, added })))
}

/// Stops trusting a key.
#[utoipa::path(delete, path = "/v1/trust/{publisher}/{key}", tag = "operator", responses((status = 204, description = "No longer trusted"), AuthErrors, (status = 404, description = "Not a trusted key")))]
async fn distrust(
    State(state): State<ApiState>,
    operator: Operator,
    Path((publisher, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    operator.audit(&state, "trust.remove", &format!("{publisher} {key}")).await?;
    if !state.host.trust_store().distrust(&publisher, &key)? {
        return Err(ApiError::not_found(format!("{key} is not a trusted key of {publisher}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
