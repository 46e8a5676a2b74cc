//! The API's one error type: `{"error": {"code": …, "message": …}}` with the right
//! status. Internal failures are logged with their detail and answered without it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_host::events::ingest::IngestError;
use hearth_host::{CallError, HostError};
use serde_json::json;

/// An API error: `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable code for programs.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Extra JSON merged into the error object (e.g. per-event errors).
    pub details: Option<serde_json::Value>,
    /// Seconds to wait (429, 503), sent as `Retry-After`.
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    /// An error with its own status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: None, retry_after_s: None }
    }

    /// 401: no or unknown token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: not for this token.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400: not readable.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: readable but not valid.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }

    fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error answering a request");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
    }
}

/// Longest error message answered: messages may quote what the caller sent (an id
/// from the path), and a caller must not get its 64 KB id echoed back.
pub const MAX_MESSAGE_BYTES: usize = 512;

fn cut(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        message.truncate(message.floor_char_boundary(MAX_MESSAGE_BYTES));
        message.push('…');
    }
    message
}

/// The API's code for a status, for errors raised outside the handlers (the router,
/// axum's extractors, the body limit).
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        status if status.is_server_error() => "internal",
        _ => "error",
    }
}

/// Gives every error answer the one shape: an error response that is not already
/// the API's JSON (axum's rejections and the body limit answer `text/plain`) is
/// rewritten as `{"error": {"code", "message"}}` with its status kept.
pub async fn one_shape(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let text = match axum::body::to_bytes(response.into_body(), 4 << 10).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_lowercase() } else { text };
    let mut answer = ApiError::new(status, code_of(status), message).into_response();
    if let Some(retry_after) = retry_after {
        answer.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    answer
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": cut(self.message) });
        if let (Some(object), Some(serde_json::Value::Object(details))) = (error.as_object_mut(), self.details) {
            object.extend(details);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after_s {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => ApiError::invalid(error.body_text()),
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "expected application/json")
            }
            JsonRejection::BytesRejection(error) => ApiError::new(error.status(), "body", error.body_text()),
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

impl From<HostError> for ApiError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::InvalidInput(message) => ApiError::invalid(message),
            HostError::NotFound(message) => ApiError::not_found(message),
            HostError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            HostError::UnknownPlugin(plugin) => ApiError::not_found(format!("plugin {plugin} is not installed")),
            HostError::InvalidComponent(message) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_component", message)
            }
            HostError::InvalidManifest(error) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_manifest", error.to_string())
            }
            HostError::Package(error) => {
                use hearth_package::PackageError;
                match error {
                    PackageError::Malformed(_)
                    | PackageError::Manifest(_)
                    | PackageError::InvalidComponent(_)
                    | PackageError::InvalidKey(_) => {
                        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_package", error.to_string())
                    }
                    PackageError::Unsigned
                    | PackageError::UnknownPublisher(_)
                    | PackageError::UntrustedKey { .. }
                    | PackageError::BadSignature => {
                        ApiError::new(StatusCode::FORBIDDEN, "untrusted_package", error.to_string())
                    }
                }
            }
            HostError::Delivery(error) => error.into(),
            other => ApiError::internal(&other),
        }
    }
}

impl From<CallError> for ApiError {
    fn from(error: CallError) -> Self {
        use hearth_host::bindings::PluginError;
        match error {
            CallError::Plugin(PluginError::InvalidInput(message)) => ApiError::invalid(message),
            CallError::Plugin(PluginError::NotFound(message)) => ApiError::not_found(message),
            CallError::Plugin(PluginError::Unavailable(message)) => ApiError {
                retry_after_s: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            },
            CallError::Plugin(PluginError::Internal(message)) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "plugin_error", message)
            }
            CallError::NoProvider(name) => ApiError::not_found(format!("no plugin provides {name}")),
            CallError::Quarantined(name) => ApiError {
                retry_after_s: Some(30),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "quarantined",
                    format!("every provider of {name} is quarantined"),
                )
            },
            CallError::Suspended { retry_after, .. } => ApiError {
                retry_after_s: Some(retry_after.as_secs().max(1)),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "suspended", error.to_string())
            },
            CallError::Timeout(_) => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", error.to_string()),
            CallError::Storage(_) | CallError::Stopped => ApiError::internal(&error),
            other => ApiError::new(StatusCode::BAD_GATEWAY, "plugin_failed", other.to_string()),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Malformed(message) => ApiError::bad_request(message),
            IngestError::Invalid { total, errors } => ApiError {
                details: Some(json!({ "events": errors })),
                ..ApiError::invalid(format!("{} of {total} events are invalid; none was stored", errors.len()))
            },
            IngestError::TooLarge { count, max } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_events",
                format!("{count} events in one request; at most {max}"),
            ),
            IngestError::UnknownDevice(device) => ApiError::forbidden(format!("device {device} is not registered")),
            other => ApiError::internal(&other),
        }
    }
}
