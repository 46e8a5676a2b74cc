//! The host's upkeep task, each `backlog_check_interval`: every plugin's backlog kept
//! within its bound and its counters stored; each `compaction_interval`, delivered
//! events past retention removed. It holds the host's parts weakly: it ends with them.

use crate::HostError;
use crate::config::HostConfig;
use crate::events::consumer::consumer_plugin;
use crate::events::log::EventLog;
use crate::plugins::Plugins;
use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::Instant;
use tokio::sync::watch;

/// Runs until `stop` turns true or the plugins are dropped.
pub async fn run(plugins: Weak<Plugins>, log: Weak<dyn EventLog>, config: HostConfig, mut stop: watch::Receiver<bool>) {
    let mut compacted = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(config.delivery.backlog_check_interval) => {}
            _ = stop.changed() => return,
        }
        let (Some(plugins), Some(log)) = (plugins.upgrade(), log.upgrade()) else { return };
        if let Err(error) = bound_backlogs(&*log, &plugins, config.delivery.max_backlog) {
            tracing::error!(%error, "bounding the plugins' backlogs failed");
        }
        plugins.store_counters();
        if compacted.elapsed() < config.compaction_interval {
            continue;
        }
        compacted = Instant::now();
        match log.compact(config.retention) {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "compacted the event log"),
            Err(error) => tracing::error!(%error, "compacting the event log failed"),
        }
    }
}

/// Moves every subscription more than `max_backlog` behind up to the bound and adds
/// what each plugin passed over to its stored count.
fn bound_backlogs(log: &dyn EventLog, plugins: &Plugins, max_backlog: u64) -> Result<(), HostError> {
    let moved = log.bound_backlogs(max_backlog)?;
    // A plugin's subscriptions pass over the same stretch of the log: count it once.
    let mut per_plugin: BTreeMap<&str, u64> = BTreeMap::new();
    for (consumer, passed) in &moved {
        let most = per_plugin.entry(consumer_plugin(consumer)).or_default();
        *most = (*most).max(*passed);
    }
    for (plugin, passed) in per_plugin {
        plugins.add_backlog_skipped(plugin, passed)?;
        tracing::warn!(plugin, passed, max_backlog, "plugin backlog over its bound: oldest events passed over");
    }
    Ok(())
}
