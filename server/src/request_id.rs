//! Ids for requests that come without an `x-request-id`.

use axum::http::{HeaderValue, Request};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower_http::request_id::{MakeRequestId, RequestId};

/// A random prefix drawn once per server and a counter: unique across the hosts of a
/// cluster and their restarts (64 random bits), and unlike a UUID per request, no
/// system call on the request path.
#[derive(Clone, Debug)]
pub struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    pub fn new() -> Self {
        // Without randomness the ids stay unique within this server; only their
        // uniqueness across servers suffers, so a failure is not worth refusing to start.
        RequestIds { prefix: getrandom::u64().unwrap_or_default(), next: Arc::new(AtomicU64::new(0)) }
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:016x}-{n:x}", self.prefix)).ok().map(RequestId::new)
    }
}
