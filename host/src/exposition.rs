//! The host's Prometheus exposition: one snapshot of every plugin's counters, the
//! log's backlog and the artifact cache, rendered as text.

use crate::Host;
use crate::events::consumer::consumer_prefix;
use crate::metrics::{Histogram, family, label};
use crate::runtime::counters::PluginCounters;
use crate::runtime::pool::PluginLink;
use std::sync::atomic::Ordering;

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
    pub link: PluginLink,
    /// Events its slowest subscription has not handled.
    pub lag: u64,
    /// Log events it passed over because its backlog hit the bound.
    pub backlog_skipped: u64,
}

/// One kind of call of one plugin: how many took how long.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct CallHistogram {
    /// Upper bounds of the buckets, in seconds.
    pub bounds_s: Vec<f64>,
    /// Calls per bucket (not cumulative); one more than `bounds_s`: the last counts
    /// the calls over the last bound.
    pub counts: Vec<u64>,
}

impl From<&Histogram> for CallHistogram {
    fn from(histogram: &Histogram) -> Self {
        CallHistogram { bounds_s: crate::metrics::BUCKETS.to_vec(), counts: histogram.counts() }
    }
}

/// One running plugin's meters, as [`Host::plugin_meters`] reads them.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct PluginMeter {
    /// The plugin.
    pub id: String,
    /// Events it handled.
    pub delivered: u64,
    /// Failed delivery attempts.
    pub failed: u64,
    /// Events dead-lettered.
    pub dead_lettered: u64,
    /// Events its slowest subscription has not handled.
    pub lag: u64,
    /// Durations of its `on-event` calls (a batch is one call).
    pub event_calls: CallHistogram,
    /// Durations of service calls into it.
    pub service_calls: CallHistogram,
}

impl Host {
    /// Every running plugin's counters and latency histograms, by plugin id: the
    /// figures of [`Self::render_metrics`] as data.
    pub fn plugin_meters(&self) -> Vec<PluginMeter> {
        let mut meters: Vec<PluginMeter> = self
            .inner
            .directory
            .links()
            .into_iter()
            .map(|link| {
                let counters = &link.counters;
                PluginMeter {
                    lag: self.inner.log.lag_of(&consumer_prefix(&link.id)).unwrap_or(0),
                    delivered: counters.delivered.load(Ordering::Relaxed),
                    failed: counters.failed.load(Ordering::Relaxed),
                    dead_lettered: counters.dead_lettered.load(Ordering::Relaxed),
                    event_calls: CallHistogram::from(&counters.event_latency),
                    service_calls: CallHistogram::from(&counters.service_latency),
                    id: link.id.to_string(),
                }
            })
            .collect();
        meters.sort_by(|a, b| a.id.cmp(&b.id));
        meters
    }

    /// Prometheus text of the whole host.
    pub fn render_metrics(&self) -> String {
        let plugins = &self.inner.plugins;
        let stats = self.stats();
        let snapshot = Snapshot {
            plugins: self
                .inner
                .directory
                .links()
                .into_iter()
                .map(|link| PluginSnapshot {
                    lag: self.inner.log.lag_of(&consumer_prefix(&link.id)).unwrap_or(0),
                    backlog_skipped: plugins.backlog_skipped(&link.id),
                    link,
                })
                .collect(),
            lag: self.lag().unwrap_or(0),
            running: stats.plugins,
            artifact_cache_hits: stats.artifact_cache_hits,
            compiles: stats.compiles,
            ingested: self.inner.ingested.load(Ordering::Relaxed),
        };
        crate::exposition::render(&snapshot)
    }
}

/// Picks one counter of a plugin's counters.
type CounterOf = fn(&PluginCounters) -> &std::sync::atomic::AtomicU64;
/// Picks one histogram of a plugin's counters.
type HistogramOf = fn(&PluginCounters) -> &Histogram;

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
        "hearth_plugin_calls_not_granted_total",
        "counter",
        "Calls a plugin's manifest does not allow (capabilities not requested, services outside its calls), refused.",
        &|plugin| plugin.link.log.not_granted(),
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
