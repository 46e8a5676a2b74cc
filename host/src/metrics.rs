//! Latency histograms and the Prometheus text format, rendered by
//! [`Host::render_metrics`](crate::Host::render_metrics) (see [`crate::exposition`]). Plain atomics: recording is
//! a few relaxed increments on the hot path, and no global registry is involved.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: &[f64] = &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// A latency histogram with fixed buckets.
#[derive(Debug)]
pub struct Histogram {
    /// One count per bucket plus the overflow (`+Inf`) bucket; not cumulative.
    counts: [AtomicU64; 14],
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: std::array::from_fn(|_| AtomicU64::new(0)), sum_nanos: AtomicU64::new(0) }
    }
}

impl Histogram {
    /// Counts one call that took `elapsed`.
    pub fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&bound| seconds <= bound).unwrap_or(BUCKETS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Calls per bucket, not cumulative: one count per bound of [`BUCKETS`], then
    /// the calls over the last bound.
    pub fn counts(&self) -> Vec<u64> {
        self.counts.iter().map(|count| count.load(Ordering::Relaxed)).collect()
    }

    /// Appends `name_bucket`, `name_sum` and `name_count` lines with `labels`.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = BUCKETS.get(index).map_or("+Inf".to_owned(), |bound| bound.to_string());
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        let trimmed = labels.trim_end_matches(',');
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{trimmed}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{trimmed}}} {cumulative}");
    }
}

/// Appends a `# TYPE` header once per metric family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and newlines escaped.
pub fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets() {
        let histogram = Histogram::default();
        histogram.record(Duration::from_micros(80));
        histogram.record(Duration::from_millis(3));
        histogram.record(Duration::from_secs(2));
        let mut out = String::new();
        histogram.render(&mut out, "x_seconds", "plugin=\"p\",");
        assert!(out.contains("x_seconds_bucket{plugin=\"p\",le=\"0.0001\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{plugin=\"p\",le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{plugin=\"p\",le=\"1\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{plugin=\"p\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_count{plugin=\"p\"} 3\n"), "{out}");
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
