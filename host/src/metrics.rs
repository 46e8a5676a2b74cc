//! Counters and latency histograms, rendered as Prometheus text by
//! [`Host::render_metrics`](crate::Host::render_metrics). Plain atomics: recording is
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

/// What the host's metrics are rendered from: one snapshot, taken by
/// [`Host::render_metrics`](crate::Host::render_metrics).
pub struct Snapshot {
    /// Each running plugin with its lag and the log events it passed over.
    pub plugins: Vec<PluginSnapshot>,
    /// Events appended but not handled by the slowest consumer.
    pub lag: u64,
    /// Running plugins.
    pub running: usize,
    /// Components loaded from the artifact cache.
    pub artifact_cache_hits: u64,
    /// Components compiled.
    pub compiles: u64,
    /// Events stored by ingest since the host started.
    pub ingested: u64,
}

/// One plugin in a [`Snapshot`].
pub struct PluginSnapshot {
    /// Its link (counters, breaker, log budget).
    pub link: crate::runtime::pool::PluginLink,
    /// Events its slowest subscription has not handled.
    pub lag: u64,
    /// Log events it passed over because its backlog hit the bound.
    pub backlog_skipped: u64,
}

/// Picks one counter of a plugin's counters.
type CounterOf = fn(&crate::runtime::counters::PluginCounters) -> &std::sync::atomic::AtomicU64;
/// Picks one histogram of a plugin's counters.
type HistogramOf = fn(&crate::runtime::counters::PluginCounters) -> &Histogram;

/// Prometheus text: per-plugin delivery counters, quarantine, call latency
/// histograms; the log's backlog; the artifact cache.
pub fn render(snapshot: &Snapshot) -> String {
    use std::sync::atomic::Ordering;
    let mut out = String::new();
    let plugins = &snapshot.plugins;
    let per_plugin = |out: &mut String, name: &str, kind: &str, help: &str, value: &dyn Fn(&PluginSnapshot) -> u64| {
        family(out, name, kind, help);
        for plugin in plugins {
            out.push_str(&format!("{name}{{plugin=\"{}\"}} {}\n", label(&plugin.link.id), value(plugin)));
        }
    };
    let counters: [(&str, &str, CounterOf); 6] = [
        ("hearth_service_calls_failed_total", "Service calls into a plugin that failed.", |c| &c.calls_failed),
        ("hearth_events_delivered_total", "Events a plugin handled.", |c| &c.delivered),
        ("hearth_events_failed_total", "Failed delivery attempts.", |c| &c.failed),
        ("hearth_events_retried_total", "Delivery attempts retried after a failure.", |c| &c.retried),
        ("hearth_events_dead_lettered_total", "Events dead-lettered after every retry.", |c| &c.dead_lettered),
        ("hearth_events_skipped_without_consent_total", "Events withheld for lack of consent.", |c| {
            &c.skipped_without_consent
        }),
    ];
    for (name, help, counter) in counters {
        per_plugin(&mut out, name, "counter", help, &|plugin| counter(&plugin.link.counters).load(Ordering::Relaxed));
    }
    per_plugin(
        &mut out,
        "hearth_plugin_lag_events",
        "gauge",
        "Events a plugin's slowest subscription has not handled yet.",
        &|plugin| plugin.lag,
    );
    per_plugin(
        &mut out,
        "hearth_plugin_log_lines_dropped_total",
        "counter",
        "Log lines dropped over a plugin's log rate.",
        &|plugin| plugin.link.log.dropped(),
    );
    per_plugin(
        &mut out,
        "hearth_plugin_backlog_skipped_total",
        "counter",
        "Log events a plugin passed over because its backlog hit the bound.",
        &|plugin| plugin.backlog_skipped,
    );
    per_plugin(&mut out, "hearth_quarantines_total", "counter", "Times a plugin was quarantined.", &|plugin| {
        plugin.link.breaker.counters.quarantines.load(Ordering::Relaxed)
    });
    per_plugin(&mut out, "hearth_plugin_quarantined", "gauge", "1 while a plugin is quarantined.", &|plugin| {
        u64::from(plugin.link.breaker.is_quarantined())
    });
    let histograms: [(&str, &str, HistogramOf); 2] = [
        ("hearth_plugin_event_call_seconds", "Duration of on-event calls.", |c| &c.event_latency),
        ("hearth_plugin_service_call_seconds", "Duration of service calls into a plugin.", |c| &c.service_latency),
    ];
    for (name, help, histogram) in histograms {
        family(&mut out, name, "histogram", help);
        for plugin in plugins {
            histogram(&plugin.link.counters).render(&mut out, name, &format!("plugin=\"{}\",", label(&plugin.link.id)));
        }
    }
    let totals = [
        (
            "hearth_consumer_lag_events",
            "gauge",
            "Events appended but not yet handled by the slowest consumer.",
            snapshot.lag,
        ),
        ("hearth_plugins", "gauge", "Running plugins.", snapshot.running as u64),
        (
            "hearth_artifact_cache_hits_total",
            "counter",
            "Components loaded from the compiled-artifact cache.",
            snapshot.artifact_cache_hits,
        ),
        ("hearth_component_compiles_total", "counter", "Components compiled.", snapshot.compiles),
        (
            "hearth_events_ingested_total",
            "counter",
            "Events stored by ingest (duplicates not counted).",
            snapshot.ingested,
        ),
    ];
    for (name, kind, help, value) in totals {
        family(&mut out, name, kind, help);
        out.push_str(&format!("{name} {value}\n"));
    }
    out
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
