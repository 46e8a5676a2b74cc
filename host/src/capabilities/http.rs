//! Outbound HTTP through `wasi:http/outgoing-handler`, only to the `host:port` pairs
//! the operator granted the plugin, with a time limit and a response-size cap.
//!
//! A request anywhere else fails inside the plugin with `HTTP-request-denied`; a
//! response larger than the cap fails with `HTTP-response-body-size`. Both are errors
//! the plugin sees, not traps.

use super::{Capability, PluginStore, Setup};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Limits of one outbound request.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connect, first byte and between bytes each, and the whole exchange up to the
    /// response head.
    pub timeout: Duration,
    /// Largest response body a plugin may read, in bytes.
    pub max_response_bytes: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits { timeout: Duration::from_secs(5), max_response_bytes: 1 << 20 }
    }
}

/// The policy hooks of one plugin's outbound HTTP.
pub struct HttpPolicy {
    pub(crate) plugin: Arc<str>,
    /// The plugin's log budget: a denial's log line counts against it.
    pub(crate) log: Arc<super::log::LogBudget>,
    /// `host:port` destinations granted to the plugin.
    pub(crate) allowed: Arc<[String]>,
    pub(crate) limits: HttpLimits,
}

/// `host:port` of a request URI, with the scheme's default port.
fn destination(uri: &http::Uri) -> Option<String> {
    let authority = uri.authority()?;
    let port = match (authority.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("https")) => 443,
        (None, Some("http")) => 80,
        _ => return None,
    };
    Some(format!("{}:{port}", authority.host().to_ascii_lowercase()))
}

type ResponseFuture = Box<
    dyn Future<Output = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>>
        + Send,
>;

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        drop(fut);
        let allowed = destination(request.uri()).filter(|target| self.allowed.contains(target));
        let Some(target) = allowed else {
            self.log.report(|| format!("outbound HTTP denied: {}", super::log::cut(&request.uri().to_string())));
            return Box::new(async { Err(Error::HttpRequestDenied) });
        };
        let limits = self.limits;
        let cap = |requested: Option<Duration>| Some(requested.map_or(limits.timeout, |d| d.min(limits.timeout)));
        let options = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: cap(options.connect_timeout),
            first_byte_timeout: cap(options.first_byte_timeout),
            between_bytes_timeout: cap(options.between_bytes_timeout),
        };
        let plugin = self.plugin.clone();
        Box::new(async move {
            tracing::debug!(%plugin, %target, "outbound HTTP");
            let sent = wasmtime_wasi_http::default_send_request(request, Some(options));
            let (response, io) =
                tokio::time::timeout(limits.timeout, sent).await.map_err(|_| Error::ConnectionReadTimeout)??;
            let declared = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|length| length > limits.max_response_bytes) {
                return Err(Error::HttpResponseBodySize(declared));
            }
            let response = response.map(|body| {
                CappedBody { inner: body.boxed_unsync(), seen: 0, cap: limits.max_response_bytes }.boxed_unsync()
            });
            Ok((response, Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>))
        })
    }
}

/// A response body that fails once it has carried more than `cap` bytes.
struct CappedBody {
    inner: WasiBody,
    seen: u64,
    cap: u64,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.seen += data.len() as u64;
            if self.seen > self.cap {
                return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(self.cap)))));
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Per-store context of outbound HTTP (`wasi:http`): wasi-http's own context and the
/// policy that allows only the granted destinations.
pub struct HttpCtx {
    /// wasi-http's context.
    pub ctx: wasmtime_wasi_http::WasiHttpCtx,
    /// Checks and limits every request.
    pub policy: HttpPolicy,
}

/// Linked like every capability (see [`super::Ungranted`]); a plugin without an `http`
/// grant has no destination allowed, so every request it makes is denied.
impl Capability for HttpCtx {
    fn new(setup: &Setup<'_>) -> Self {
        HttpCtx {
            ctx: wasmtime_wasi_http::WasiHttpCtx::new(),
            policy: HttpPolicy {
                plugin: setup.plugin.clone(),
                log: setup.log.clone(),
                allowed: setup.grants.http.clone(),
                limits: setup.backends.http_limits,
            },
        }
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, _: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_include_default_ports() {
        let dest = |uri: &str| destination(&uri.parse().unwrap());
        assert_eq!(dest("https://API.clearflow.example/v1/filters").as_deref(), Some("api.clearflow.example:443"));
        assert_eq!(dest("http://127.0.0.1:8080/x").as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(dest("http://example.org").as_deref(), Some("example.org:80"));
        assert_eq!(dest("/relative"), None);
    }
}
