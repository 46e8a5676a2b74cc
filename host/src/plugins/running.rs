//! The running plugins: one [`Running`] per plugin in the [`Directory`], which the
//! consumers, the service router and operators read.

use super::status::LoadedPlugin;
use crate::runtime::pool::PluginLink;
use crate::runtime::worker::PluginRuntime;
use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running plugin: what it was started as, and its tasks.
pub struct Running {
    pub(crate) info: LoadedPlugin,
    /// What each of its workers was started with (for direct instances).
    pub(crate) runtime: PluginRuntime,
    pub(crate) link: PluginLink,
    pub(crate) workers: Vec<JoinHandle<()>>,
    pub(crate) consumers: Vec<JoinHandle<()>>,
    pub(crate) stop: watch::Sender<bool>,
}

impl Running {
    /// Stops the consumers (after the event each is delivering), then the instances
    /// (after the calls already queued).
    pub(crate) async fn stop(self) {
        self.stop_consumers().await.await;
    }

    /// Stops the consumers after the event each is delivering, so their cursors are
    /// stored; returns the instances still draining the calls already queued.
    pub(crate) async fn stop_consumers(self) -> impl Future<Output = ()> {
        self.stop.send_replace(true);
        for consumer in self.consumers {
            let _ = consumer.await;
        }
        drop(self.link);
        async move {
            for worker in self.workers {
                let _ = worker.await;
            }
        }
    }
}

/// The running plugins, by id.
#[derive(Default)]
pub struct Directory(RwLock<BTreeMap<String, Running>>);

impl Directory {
    /// Reads the running plugins.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Running>> {
        crate::sync::read(&self.0)
    }

    /// Changes the running plugins.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Running>> {
        crate::sync::write(&self.0)
    }

    /// One running plugin's link.
    pub fn link(&self, plugin: &str) -> Option<PluginLink> {
        self.read().get(plugin).map(|running| running.link.clone())
    }

    /// Every running plugin's link.
    pub fn links(&self) -> Vec<PluginLink> {
        self.read().values().map(|running| running.link.clone()).collect()
    }

    /// The running plugins that provide `service.operation`, by id.
    pub fn providers(&self, operation: &str) -> Vec<PluginLink> {
        self.read()
            .values()
            .filter(|running| running.info.manifest.services.provides.iter().any(|provided| provided == operation))
            .map(|running| running.link.clone())
            .collect()
    }
}
