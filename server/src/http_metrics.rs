//! Request counts by route and status, and request latency, for `/metrics`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hearth_host::metrics::{Histogram, family, label};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// (method, route template, status) → requests
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Histogram,
}

impl HttpMetrics {
    pub fn render(&self, out: &mut String) {
        family(out, "hearth_http_requests_total", "counter", "HTTP requests by route and status.");
        let requests = hearth_host::sync::lock(&self.requests);
        for ((method, route, status), count) in requests.iter() {
            out.push_str(&format!(
                "hearth_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}\n",
                label(route)
            ));
        }
        family(out, "hearth_http_request_seconds", "histogram", "HTTP request latency.");
        self.latency.render(out, "hearth_http_request_seconds", "");
    }
}

/// Middleware recording every request.
pub async fn track(State(metrics): State<std::sync::Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    // The route template, not the path: ids in paths would make unbounded label sets.
    let route =
        request.extensions().get::<MatchedPath>().map_or("unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics.latency.record(started.elapsed());
    let key = (method, route, response.status().as_u16());
    *hearth_host::sync::lock(&metrics.requests).entry(key).or_default() += 1;
    response
}
