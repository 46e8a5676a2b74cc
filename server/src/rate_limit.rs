//! Requests per token: a token bucket per token id. Over the limit a request gets 429
//! with `Retry-After`.

use crate::error::ApiError;
use axum::http::StatusCode;
use hearth_host::rate::TokenBucket;
use std::collections::HashMap;
use std::sync::Mutex;

/// Requests one token may make.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { per_second: 100.0, burst: 200.0 }
    }
}

/// Token buckets per bearer token.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` per token.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter { limit, buckets: Mutex::default() }
    }

    /// Takes one request from the token's bucket, or says when to retry.
    pub fn admit(&self, token: &str) -> Result<(), ApiError> {
        let mut buckets = hearth_host::sync::lock(&self.buckets);
        let bucket = buckets.entry(token.to_owned()).or_insert_with(|| TokenBucket::full(self.limit.burst));
        let Err(wait) = bucket.take(self.limit.per_second, self.limit.burst) else {
            return Ok(());
        };
        let wait = wait.ceil().max(1.0) as u64;
        Err(ApiError {
            retry_after_s: Some(wait),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this token; retry later",
            )
        })
    }
}
