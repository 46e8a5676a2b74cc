//! The registry's HTTP API (`fn app(state) -> Router`), JSON errors as the host's:
//! `{"error": {"code", "message"}}`.
//!
//! | route | who |
//! | --- | --- |
//! | `POST /v1/publishers` `{name, key}` → publisher token (once) | admin token |
//! | `GET /v1/publishers/{name}` → its public keys | anyone |
//! | `POST /v1/packages` (the `.hpkg` bytes) | publisher token |
//! | `GET /v1/plugins?q=` search, `GET /v1/plugins/{id}` versions | anyone |
//! | `GET /v1/plugins/{id}/resolve?req=^1.2` → version and package hash | anyone |
//! | `GET /v1/packages/{sha256}` → the package file | anyone |
//! | `POST /v1/plugins/{id}/{version}/yank` and `/unyank` | the owner's token |

use crate::store::{Publisher, RegistryError, Store, resolve};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hearth_package::package::{MAX_PACKAGE_BYTES, sha256_hex};
use serde::Deserialize;
use serde_json::{Value, json};

/// What the registry handlers share.
#[derive(Clone)]
pub struct RegistryState {
    /// Publishers, plugins, versions and packages.
    pub store: Store,
}

impl RegistryState {
    /// The state over a database.
    pub fn open(db: &sled::Db) -> Result<Self, RegistryError> {
        Ok(RegistryState { store: Store::open(db)? })
    }

    /// Accepts `token` as the admin token (stored as its hash).
    pub fn set_admin_token(&self, token: &str) -> Result<(), RegistryError> {
        self.store.set_setting("admin-token", &sha256_hex(token.as_bytes()))
    }

    /// Creates the admin token on first start; returns it once, `None` afterwards.
    pub fn bootstrap_admin(&self) -> Result<Option<String>, RegistryError> {
        if self.store.setting("admin-token")?.is_some() {
            return Ok(None);
        }
        let token = random_token()?;
        self.set_admin_token(&token)?;
        Ok(Some(token))
    }
}

fn random_token() -> Result<String, RegistryError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|error| RegistryError::Invalid(format!("no randomness: {error}")))?;
    Ok(format!("hreg_{}", hex::encode(bytes)))
}

/// The registry's router.
pub fn app(state: RegistryState) -> Router {
    Router::new()
        .route("/v1/publishers", post(add_publisher))
        .route("/v1/publishers/{name}", get(get_publisher))
        .route("/v1/packages", post(publish).layer(DefaultBodyLimit::max(MAX_PACKAGE_BYTES)))
        .route("/v1/packages/{hash}", get(download))
        .route("/v1/plugins", get(search))
        .route("/v1/plugins/{id}", get(plugin))
        .route("/v1/plugins/{id}/resolve", get(resolve_version))
        .route("/v1/plugins/{id}/{version}/yank", post(yank))
        .route("/v1/plugins/{id}/{version}/unyank", post(unyank))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// An error answer: status, code and message.
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": { "code": self.1, "message": self.2 } }))).into_response()
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        let (status, code) = match &error {
            RegistryError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            RegistryError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            RegistryError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            RegistryError::Invalid(_) | RegistryError::Package(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            RegistryError::Storage(_) | RegistryError::Corrupt(_) => {
                tracing::error!(%error, "registry storage failed");
                return ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into());
            }
        };
        ApiError(status, code, error.to_string())
    }
}

type ApiResult<T = Json<Value>> = Result<T, ApiError>;

/// The bearer token's hash, required.
struct Bearer(String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError(StatusCode::UNAUTHORIZED, "unauthorized", "send `Authorization: Bearer TOKEN`".into())
            })?;
        Ok(Bearer(sha256_hex(token.trim().as_bytes())))
    }
}

fn publisher_of(state: &RegistryState, bearer: &Bearer) -> ApiResult<Publisher> {
    state
        .store
        .publisher_by_token(&bearer.0)?
        .ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, "unauthorized", "unknown publisher token".into()))
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|error| ApiError(StatusCode::BAD_REQUEST, "bad_request", error.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPublisher {
    name: String,
    /// Hex ed25519 public key.
    key: String,
}

async fn add_publisher(State(state): State<RegistryState>, bearer: Bearer, body: Bytes) -> ApiResult<Response> {
    if state.store.setting("admin-token")?.as_deref() != Some(bearer.0.as_str()) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            "registering publishers needs the admin token".into(),
        ));
    }
    let request: NewPublisher = json_body(&body)?;
    let token = random_token()?;
    let publisher = state.store.add_publisher(&request.name, &request.key, sha256_hex(token.as_bytes()))?;
    tracing::info!(publisher = %publisher.name, "registered publisher");
    let body = json!({ "name": publisher.name, "keys": publisher.keys, "token": token });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn get_publisher(State(state): State<RegistryState>, Path(name): Path<String>) -> ApiResult {
    let publisher = state
        .store
        .publisher(&name)?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "not_found", format!("no publisher {name}")))?;
    Ok(Json(json!({ "name": publisher.name, "keys": publisher.keys })))
}

async fn publish(State(state): State<RegistryState>, bearer: Bearer, body: Bytes) -> ApiResult<Response> {
    let publisher = publisher_of(&state, &bearer)?;
    let store = state.store.clone();
    let record = tokio::task::spawn_blocking(move || store.publish(&publisher, &body))
        .await
        .map_err(|error| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", error.to_string()))??;
    tracing::info!(version = %record.version, package = %record.package, "published");
    Ok((StatusCode::CREATED, Json(json!(record))).into_response())
}

async fn download(State(state): State<RegistryState>, Path(hash): Path<String>) -> ApiResult<Response> {
    let package = state
        .store
        .package(&hash)?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "not_found", format!("no package with hash {hash}")))?;
    Ok(([(header::CONTENT_TYPE, "application/vnd.hearth.package")], package).into_response())
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(State(state): State<RegistryState>, Query(query): Query<SearchQuery>) -> ApiResult {
    let plugins = state.store.search(&query.q)?;
    let listed: Vec<Value> = plugins
        .iter()
        .map(|plugin| {
            json!({
                "id": plugin.id,
                "publisher": plugin.publisher,
                "description": plugin.description,
                "latest": plugin.latest().map(|latest| latest.version.to_string()),
            })
        })
        .collect();
    Ok(Json(json!(listed)))
}

async fn plugin(State(state): State<RegistryState>, Path(id): Path<String>) -> ApiResult {
    Ok(Json(json!(state.store.plugin(&id)?)))
}

#[derive(Deserialize)]
struct ResolveQuery {
    req: String,
}

async fn resolve_version(
    State(state): State<RegistryState>,
    Path(id): Path<String>,
    Query(query): Query<ResolveQuery>,
) -> ApiResult {
    let requirement: semver::VersionReq = query.req.parse().map_err(|error| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{:?} is not a version requirement: {error}", query.req),
        )
    })?;
    let plugin = state.store.plugin(&id)?;
    let Some(found) = resolve(&plugin.versions, &requirement) else {
        let available: Vec<String> = plugin
            .versions
            .iter()
            .map(|record| format!("{}{}", record.version, if record.yanked { " (yanked)" } else { "" }))
            .collect();
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no version of {id} matches {requirement}; published: {}", available.join(", ")),
        ));
    };
    Ok(Json(json!({
        "id": id,
        "publisher": plugin.publisher,
        "version": found.version,
        "package": found.package,
        "component": found.component,
    })))
}

async fn set_yanked(state: RegistryState, bearer: Bearer, id: String, version: String, yanked: bool) -> ApiResult {
    let publisher = publisher_of(&state, &bearer)?;
    let version: semver::Version = version
        .parse()
        .map_err(|error| ApiError(StatusCode::BAD_REQUEST, "bad_request", format!("{version:?}: {error}")))?;
    Ok(Json(json!(state.store.set_yanked(&publisher, &id, &version, yanked)?)))
}

async fn yank(
    State(state): State<RegistryState>,
    bearer: Bearer,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult {
    set_yanked(state, bearer, id, version, true).await
}

async fn unyank(
    State(state): State<RegistryState>,
    bearer: Bearer,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult {
    set_yanked(state, bearer, id, version, false).await
}
