//! Installs and upgrades from the registry `hearth serve --registry URL` names, for
//! the console (the browser talks only to this server): look a plugin's versions
//! up, review a version (what it requests, before anything is installed), install
//! exactly the package that was reviewed.

use crate::error::ApiError;
use crate::packages::{install_verified, review_of};
use crate::roles::Operator;
use crate::views::{AuthErrors, PackageReview, PluginView};
use crate::{ApiJson, ApiState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_registry_client::{PluginRecord, Registry, RegistryError, Resolved};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The registry routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(registry_plugin)).routes(routes!(review)).routes(routes!(install))
}

/// One version of a plugin in the registry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VersionChoice {
    /// Plugin id.
    id: String,
    /// Its exact version.
    version: String,
}

/// The version that was reviewed, pinned by its package's hash.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReviewedVersion {
    /// Plugin id.
    id: String,
    /// Its exact version.
    version: String,
    /// Hex SHA-256 of the package the review showed.
    package: String,
}

fn registry(state: &ApiState) -> Result<Arc<Registry>, ApiError> {
    state
        .registry
        .clone()
        .ok_or_else(|| ApiError::not_found("this server has no registry configured (`hearth serve --registry URL`)"))
}

fn failed(error: RegistryError) -> ApiError {
    match error {
        RegistryError::Refused { status: 404, message, .. } => ApiError::not_found(format!("registry: {message}")),
        other => ApiError::new(StatusCode::BAD_GATEWAY, "registry_error", other.to_string()),
    }
}

/// Runs a blocking registry call off the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::from(hearth_host::HostError::Engine(error.to_string())))?
        .map_err(failed)
}

async fn fetch(state: &ApiState, id: String, version: &str) -> Result<Resolved, ApiError> {
    let version: semver::Version =
        version.parse().map_err(|_| ApiError::invalid(format!("{version:?} is not a version")))?;
    let requirement = semver::VersionReq::parse(&format!("={version}"))
        .map_err(|error| ApiError::invalid(format!("{version}: {error}")))?;
    let registry = registry(state)?;
    blocking(move || registry.fetch(&id, &requirement)).await
}

#[utoipa::path(get, path = "/v1/registry/plugins/{id}", tag = "operator", responses((status = 200, body = Object, description = "The registry's record: id, publisher, description, versions"), AuthErrors, (status = 404, description = "No registry configured, or no such plugin there"), (status = 502, description = "The registry failed")))]
async fn registry_plugin(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<Json<PluginRecord>, ApiError> {
    let registry = registry(&state)?;
    Ok(Json(blocking(move || registry.plugin(&id)).await?))
}

/// Downloads one version and shows what it requests; installs nothing.
#[utoipa::path(post, path = "/v1/registry/review", tag = "operator", request_body = VersionChoice, responses((status = 200, body = PackageReview, description = "What the package requests, with its hash in `package`"), AuthErrors, (status = 403, description = "Not signed by a key trusted for its publisher"), (status = 404, description = "No registry, plugin or version"), (status = 502, description = "The registry failed")))]
async fn review(
    State(state): State<ApiState>,
    _: Operator,
    ApiJson(choice): ApiJson<VersionChoice>,
) -> Result<Json<PackageReview>, ApiError> {
    let resolved = fetch(&state, choice.id.clone(), &choice.version).await?;
    let package = state.host.verify_package(&resolved.package)?;
    check_id(&package, &choice.id)?;
    let mut review = review_of(&state, &package);
    review.package = Some(resolved.hash);
    Ok(Json(review))
}

/// Installs (or upgrades to) the reviewed version, if the registry still serves the
/// package that was reviewed.
#[utoipa::path(post, path = "/v1/registry/install", tag = "operator", request_body = ReviewedVersion, responses((status = 201, body = PluginView, description = "Installed or upgraded"), AuthErrors, (status = 403, description = "Not signed by a key trusted for its publisher"), (status = 404, description = "No registry, plugin or version"), (status = 409, description = "The registry now serves another package for this version"), (status = 502, description = "The registry failed")))]
async fn install(
    State(state): State<ApiState>,
    operator: Operator,
    ApiJson(reviewed): ApiJson<ReviewedVersion>,
) -> Result<(StatusCode, Json<PluginView>), ApiError> {
    let resolved = fetch(&state, reviewed.id.clone(), &reviewed.version).await?;
    if resolved.hash != reviewed.package {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "the registry now serves another package for {} {}: review it again",
                reviewed.id, reviewed.version
            ),
        ));
    }
    let package = state.host.verify_package(&resolved.package)?;
    check_id(&package, &reviewed.id)?;
    Ok((StatusCode::CREATED, Json(install_verified(&state, &operator, package).await?)))
}

/// A registry answering another plugin's package for an id is refused, not installed.
fn check_id(package: &hearth_package::Package, id: &str) -> Result<(), ApiError> {
    if package.manifest.plugin.id == id {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "registry_error",
            format!("the registry answered a package of {} for {id}", package.manifest.plugin.id),
        ))
    }
}
