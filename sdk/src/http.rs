//! Outbound HTTP from a plugin (`wasi:http`), to the `host:port` destinations the
//! operator granted in `[capabilities] http`. Anything else is refused by the host
//! with [`HttpError::Denied`]; responses over the host's size cap fail with
//! [`HttpError::TooLarge`].

use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// An answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The whole body (at most the host's response cap).
    pub body: Vec<u8>,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The URL could not be understood.
    InvalidUrl(String),
    /// The destination is not granted to this plugin.
    Denied,
    /// The host's time limit ran out.
    Timeout,
    /// The response was larger than the host allows.
    TooLarge,
    /// Anything else (connection refused, protocol error, …).
    Failed(String),
}

impl core::fmt::Display for HttpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HttpError::InvalidUrl(url) => write!(f, "invalid URL {url}"),
            HttpError::Denied => f.write_str("destination not granted"),
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::TooLarge => f.write_str("response too large"),
            HttpError::Failed(reason) => f.write_str(reason),
        }
    }
}

impl From<HttpError> for crate::PluginError {
    fn from(error: HttpError) -> Self {
        crate::PluginError::Unavailable(format!("http: {error}"))
    }
}

fn classify(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied,
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout | ErrorCode::ConnectionWriteTimeout => {
            HttpError::Timeout
        }
        ErrorCode::HttpResponseBodySize(_) => HttpError::TooLarge,
        other => HttpError::Failed(format!("{other:?}")),
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, HttpError> {
    request(Method::Get, url, None)
}

/// `POST url` with a JSON body.
pub fn post_json(url: &str, body: &[u8]) -> Result<Response, HttpError> {
    request(Method::Post, url, Some(body))
}

fn request(method: Method, url: &str, body: Option<&[u8]>) -> Result<Response, HttpError> {
    let invalid = || HttpError::InvalidUrl(url.to_owned());
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let scheme = match scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        _ => return Err(invalid()),
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |slash| rest.split_at(slash));
    let headers = Fields::new();
    if body.is_some() {
        headers.append("content-type", b"application/json").map_err(|error| HttpError::Failed(format!("{error:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let set = |ok: Result<(), ()>| ok.map_err(|()| invalid());
    set(outgoing.set_method(&method))?;
    set(outgoing.set_scheme(Some(&scheme)))?;
    set(outgoing.set_authority(Some(authority)))?;
    set(outgoing.set_path_with_query(Some(path)))?;
    let outgoing_body = outgoing.body().map_err(|()| HttpError::Failed("request body unavailable".into()))?;
    let pending = outgoing_handler::handle(outgoing, None).map_err(classify)?;
    if let Some(bytes) = body {
        let stream = outgoing_body.write().map_err(|()| HttpError::Failed("request stream unavailable".into()))?;
        for chunk in bytes.chunks(4096) {
            stream.blocking_write_and_flush(chunk).map_err(|error| HttpError::Failed(format!("{error:?}")))?;
        }
    }
    OutgoingBody::finish(outgoing_body, None).map_err(classify)?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(classify(code)),
        _ => return Err(HttpError::Failed("no response".into())),
    };
    let status = response.status();
    let incoming = response.consume().map_err(|()| HttpError::Failed("response body unavailable".into()))?;
    let body = read_all(&incoming)?;
    drop(incoming);
    Ok(Response { status, body })
}

fn read_all(incoming: &IncomingBody) -> Result<Vec<u8>, HttpError> {
    let stream = incoming.stream().map_err(|()| HttpError::Failed("response stream unavailable".into()))?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(64 << 10) {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(error)) => {
                if let Some(code) = wasi::http::types::http_error_code(&error) {
                    return Err(classify(code));
                }
                // wasmtime 48 reports body errors as plain I/O errors (whose debug text
                // may carry a host backtrace): keep the first line, recognise the cap.
                let text = error.to_debug_string();
                let first_line = text.lines().next().unwrap_or_default();
                return Err(if first_line.contains("body size") {
                    HttpError::TooLarge
                } else {
                    HttpError::Failed(first_line.to_owned())
                });
            }
        }
    }
}
