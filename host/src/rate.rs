//! Rate limiting: a token bucket (plugins' log lines, API requests per token).

/// A token bucket: `per_second` sustained, up to `burst` at once after a quiet period.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f64,
    last: std::time::Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens.
    pub fn full(burst: f64) -> Self {
        TokenBucket { tokens: burst, last: std::time::Instant::now() }
    }

    /// Takes one token, or answers how many seconds until one is there.
    pub fn take(&mut self, per_second: f64, burst: f64) -> Result<(), f64> {
        let now = std::time::Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * per_second).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err((1.0 - self.tokens) / per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_its_rate() {
        let mut bucket = TokenBucket::full(3.0);
        assert!((0..3).all(|_| bucket.take(1.0, 3.0).is_ok()));
        let wait = bucket.take(1.0, 3.0).unwrap_err();
        assert!(wait > 0.0 && wait <= 1.0, "{wait}");
    }
}
