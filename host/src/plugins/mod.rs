//! The installed plugins: their records (install, upgrade, rollback, enable, disable,
//! grants, limits, removal), package trust, and the supervisor that starts a plugin's
//! instances and consumers and hands a running plugin over to its next version.

mod follow;
pub mod logbook;
mod record;
pub mod running;
pub mod status;
pub mod trust;

use crate::capabilities::log::LogBudget;
use crate::capabilities::{Backends, PluginGrants};
use crate::config::HostConfig;
use crate::events::consumer::{self, Subscription};
use crate::events::delivery::Delivery;
use crate::runtime::breaker::Breaker;
use crate::runtime::component::{self, ArtifactCache};
use crate::runtime::counters;
use crate::runtime::limits::{HostMemory, Limits};
use crate::runtime::pool::{PluginLink, PluginPool};
use crate::runtime::worker::{self, PluginRuntime};
use crate::storage::{Bucket, BucketExt, Storage};
use crate::{HostError, bindings::GuestPre};
use hearth_package::{Capabilities, Manifest, Package, RequestedLimits};
use logbook::LogBook;
use record::PluginRecord;
use running::{Directory, Running};
use status::LoadedPlugin;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;
use trust::TrustStore;
use wasmtime::Engine;

/// The installed plugins and the running ones.
pub struct Plugins {
    engine: Engine,
    /// WASI and every capability: the same for every plugin (what a manifest does not
    /// request refuses its calls at run time), so built once.
    linker: wasmtime::component::Linker<crate::runtime::state::PluginState>,
    config: HostConfig,
    storage: Arc<dyn Storage>,
    /// Plugin records by id.
    records: Arc<dyn Bucket>,
    /// Component bytes by hash.
    components: Arc<dyn Bucket>,
    artifacts: Arc<ArtifactCache>,
    /// Stored quarantines by plugin id.
    quarantine: Arc<dyn Bucket>,
    /// Stored counters by plugin id.
    counters: Arc<dyn Bucket>,
    /// Log events each plugin passed over because its backlog hit the bound.
    backlog_skipped: Arc<dyn Bucket>,
    /// Each plugin's recent log lines.
    logbook: Arc<LogBook>,
    trust: TrustStore,
    backends: Backends,
    memory: Arc<HostMemory>,
    delivery: Arc<Delivery>,
    directory: Arc<Directory>,
    /// Held while a plugin is being changed, so that a change another host recorded
    /// is not applied in the middle of one made here.
    changing: tokio::sync::Mutex<()>,
}

impl Plugins {
    /// Opens the plugin stores; nothing runs until [`Plugins::start_installed`].
    pub fn open(
        engine: Engine,
        config: HostConfig,
        storage: Arc<dyn Storage>,
        backends: Backends,
        delivery: Arc<Delivery>,
        directory: Arc<Directory>,
    ) -> Result<Self, HostError> {
        let linker = crate::runtime::state::linker(&engine).map_err(|error| HostError::Engine(format!("{error:#}")))?;
        Ok(Plugins {
            linker,
            artifacts: Arc::new(ArtifactCache::new(storage.bucket("artifacts")?, &engine)),
            records: storage.bucket("plugins")?,
            components: storage.bucket("components")?,
            quarantine: storage.bucket("quarantine")?,
            counters: storage.bucket("plugin-counters")?,
            backlog_skipped: storage.bucket("backlog-skipped")?,
            logbook: LogBook::open(&*storage)?,
            trust: TrustStore::open(&*storage)?,
            memory: Arc::new(HostMemory::new(config.engine.max_total_memory_bytes)),
            engine,
            config,
            storage,
            backends,
            delivery,
            directory,
            changing: tokio::sync::Mutex::new(()),
        })
    }

    /// Starts every installed plugin that is not disabled.
    pub async fn start_installed(&self) -> Result<(), HostError> {
        for (id, entry) in self.records.scan(b"")? {
            let record = PluginRecord::decode(&entry.value)?;
            if record.disabled {
                continue;
            }
            let component = self.component_of(&String::from_utf8_lossy(&id), &record)?;
            self.start(record.effective_manifest()?, component, record.component).await?;
        }
        Ok(())
    }

    /// Validates, compiles (or fetches from the artifact cache), links and starts a
    /// plugin, and records it so it is started again after a restart. Installing a
    /// plugin id again replaces the running version.
    ///
    /// Installing another version upgrades: the operator's grants (cut to what the new
    /// version requests) and limits carry over, the consumers' cursors are handed over,
    /// and the replaced version is kept for [`Plugins::rollback`].
    pub async fn install(&self, manifest: Manifest, component: Vec<u8>) -> Result<LoadedPlugin, HostError> {
        let _changing = self.changing.lock().await;
        component::check_bytes(&component, self.config.max_component_bytes)?;
        for warning in crate::events::catalog::unmatched_subscriptions(&manifest) {
            tracing::warn!(plugin = %manifest.plugin.id, "{warning}");
        }
        let hash = component::content_hash(&component);
        let mut record = PluginRecord {
            manifest: manifest.to_toml(),
            component: hash.clone(),
            disabled: false,
            grants: None,
            limits: None,
            previous: None,
        };
        if let Ok(mut existing) = self.record(&manifest.plugin.id) {
            let installed = existing.manifest()?;
            if installed.plugin.version == manifest.plugin.version && existing.component != hash {
                return Err(HostError::Conflict(format!(
                    "{} {} is installed with a different component; publish a new version",
                    manifest.plugin.id, manifest.plugin.version
                )));
            }
            record.grants = existing.grants.as_ref().map(|granted| granted.intersect(&manifest.capabilities));
            record.limits = existing.limits.clone();
            if installed.plugin.version == manifest.plugin.version {
                record.previous = existing.previous.take();
            } else {
                existing.previous = None;
                existing.disabled = false;
                record.previous = Some(Box::new(existing));
            }
        }
        self.components.put(hash.as_bytes(), &component)?;
        let loaded = self.start(record.effective_manifest()?, component, hash).await?;
        self.put_record(&manifest.plugin.id, &record).await?;
        tracing::info!(plugin = %manifest.plugin.id, version = %manifest.plugin.version, "installed");
        Ok(loaded)
    }

    /// Reads a package and checks its signature against the trust store (or accepts
    /// it unsigned, when the dev flag allows that).
    pub fn verify_package(&self, bytes: &[u8]) -> Result<Package, HostError> {
        let package = Package::read_within(bytes, self.config.max_component_bytes)?;
        if package.signature.is_none() && self.config.dev_allow_unsigned_packages {
            tracing::warn!(plugin = %package.manifest.plugin.id, "installing an unsigned package (dev flag)");
            return Ok(package);
        }
        let trusted = self.trust.verifying_keys(&package.manifest.plugin.publisher)?;
        package.verify(trusted.as_deref())?;
        Ok(package)
    }

    /// The operator's trust store of publisher keys.
    pub fn trust_store(&self) -> &TrustStore {
        &self.trust
    }

    /// Goes back to the version the last upgrade replaced, handing the cursors over the
    /// same way; the version rolled back from becomes the one to roll forward to.
    pub async fn rollback(&self, plugin: &str) -> Result<LoadedPlugin, HostError> {
        let _changing = self.changing.lock().await;
        let mut current = self.record(plugin)?;
        let Some(mut previous) = current.previous.take() else {
            return Err(HostError::Conflict(format!("{plugin} has no previous version to roll back to")));
        };
        previous.disabled = false;
        previous.previous = Some(Box::new(current));
        let loaded = self.restart_with(plugin, *previous).await?;
        tracing::info!(plugin, version = %loaded.manifest.plugin.version, "rolled back");
        Ok(loaded)
    }

    /// The version a rollback would go back to.
    pub fn previous_version(&self, plugin: &str) -> Result<Option<String>, HostError> {
        let record = self.record(plugin)?;
        let Some(previous) = record.previous else { return Ok(None) };
        Ok(Some(previous.manifest()?.plugin.version.to_string()))
    }

    /// Stops a plugin without uninstalling it: its events wait in the log (and count
    /// towards the backlog bound) until it is enabled again. Returns whether it ran.
    pub async fn disable(&self, plugin: &str) -> Result<bool, HostError> {
        let _changing = self.changing.lock().await;
        let mut record = self.record(plugin)?;
        record.disabled = true;
        self.put_record(plugin, &record).await?;
        let was_running = self.stop(plugin).await?;
        tracing::info!(plugin, "disabled");
        Ok(was_running)
    }

    /// Starts a disabled plugin again; it resumes from its consumers' cursors.
    pub async fn enable(&self, plugin: &str) -> Result<LoadedPlugin, HostError> {
        let _changing = self.changing.lock().await;
        let mut record = self.record(plugin)?;
        if !record.disabled
            && let Some(running) = self.directory.read().get(plugin)
        {
            return Ok(running.info.clone());
        }
        record.disabled = false;
        let loaded = self.restart_with(plugin, record).await?;
        tracing::info!(plugin, "enabled");
        Ok(loaded)
    }

    /// Uninstalls a plugin: stops it and deletes what is kept for it — its record
    /// (with the version kept for rollback), its subscriptions' cursors (so the log can
    /// be compacted past them), households' grants to it, key-value data, config, refs,
    /// dead letters, quarantine, log lines,
    /// counters and its components when no other plugin uses them. A reinstalled id
    /// starts afresh. Ledger entries of its confirmed orders stay. Returns how many kv
    /// entries went.
    pub async fn remove(&self, plugin: &str) -> Result<usize, HostError> {
        let _changing = self.changing.lock().await;
        let record = self.record(plugin)?;
        self.stop(plugin).await?;
        self.records.delete(plugin.as_bytes())?;
        for bucket in [&self.backlog_skipped, &self.counters, &self.quarantine] {
            bucket.delete(plugin.as_bytes())?;
        }
        self.counters.delete_prefix(&crate::storage::scoped_key(plugin, ""))?;
        self.delivery.dead_letters.remove_plugin(plugin)?;
        self.delivery.households.remove_plugin(plugin)?;
        self.delivery.refs.remove_plugin(plugin)?;
        self.delivery.log.remove_consumers(&consumer::consumer_prefix(plugin))?;
        let erased = self.backends.kv.delete_prefix(plugin, "")?;
        self.backends.config.remove_all(plugin)?;
        self.logbook.remove_plugin(plugin)?;
        let still_used: Vec<String> =
            self.all_records()?.iter().flat_map(|(_, other)| other.components()).map(str::to_owned).collect();
        for hash in record.components() {
            if !still_used.iter().any(|used| used == hash) {
                self.components.delete(hash.as_bytes())?;
                self.artifacts.forget(hash)?;
            }
        }
        self.storage.flush().await?;
        tracing::info!(plugin, erased, "removed");
        Ok(erased)
    }

    /// Grants the plugin part (or all) of the capabilities its manifest requests and
    /// restarts it under them. A component that imports something no longer granted
    /// fails to link: the change is refused and the plugin keeps running as it was.
    pub async fn set_grants(&self, plugin: &str, grants: Capabilities) -> Result<LoadedPlugin, HostError> {
        let _changing = self.changing.lock().await;
        let mut record = self.record(plugin)?;
        if !grants.within(&record.manifest()?.capabilities) {
            return Err(HostError::InvalidInput(format!("a grant may not exceed what {plugin} requests")));
        }
        record.grants = Some(grants);
        self.restart_with(plugin, record).await
    }

    /// Sets the plugin's limits; a value above the host's caps is refused.
    pub async fn set_limits(&self, plugin: &str, limits: RequestedLimits) -> Result<LoadedPlugin, HostError> {
        let _changing = self.changing.lock().await;
        limits.validate()?;
        Limits::check_within(&limits, &self.config.max_limits)?;
        let mut record = self.record(plugin)?;
        record.limits = Some(limits);
        self.restart_with(plugin, record).await
    }

    /// Ids of installed plugins that are disabled.
    pub fn disabled(&self) -> Result<Vec<String>, HostError> {
        Ok(self.all_records()?.into_iter().filter(|(_, record)| record.disabled).map(|(id, _)| id).collect())
    }

    /// Ids of every installed plugin, running or not.
    pub fn installed(&self) -> Result<Vec<String>, HostError> {
        Ok(self.all_records()?.into_iter().map(|(id, _)| id).collect())
    }

    /// The running plugins, by id.
    pub fn running(&self) -> Vec<LoadedPlugin> {
        self.directory.read().values().map(|running| running.info.clone()).collect()
    }

    /// A running plugin's link.
    pub fn link(&self, plugin: &str) -> Result<PluginLink, HostError> {
        self.directory.link(plugin).ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))
    }

    /// What a running plugin's instances were started with.
    pub fn runtime(&self, plugin: &str) -> Result<PluginRuntime, HostError> {
        let directory = self.directory.read();
        let running = directory.get(plugin).ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))?;
        Ok(running.runtime.clone())
    }

    /// Lifts a plugin's quarantine; its waiting events flow again. Returns whether it
    /// was quarantined.
    pub async fn resume(&self, plugin: &str) -> Result<bool, HostError> {
        let was = self.link(plugin)?.breaker.resume()?;
        self.storage.flush().await?;
        Ok(was)
    }

    /// Sets an operator config value of a plugin.
    pub fn set_config(&self, plugin: &str, key: &str, value: &str) -> Result<(), HostError> {
        Ok(self.backends.config.set(plugin, key, value)?)
    }

    /// Components served from the artifact cache and compiled, since the host started.
    pub fn artifact_counts(&self) -> (u64, u64) {
        (self.artifacts.hits(), self.artifacts.compiles())
    }

    /// Stops every plugin once the calls already queued are answered.
    pub async fn stop_all(&self) -> Result<(), HostError> {
        let ids: Vec<String> = self.directory.read().keys().cloned().collect();
        for id in ids {
            self.stop(&id).await?;
        }
        // The last lines (a plugin's last words before the stop) are kept too.
        self.logbook.store_pending()
    }

    /// Each plugin's recent log lines and its level.
    pub fn logbook(&self) -> &LogBook {
        &self.logbook
    }

    /// Stops a running plugin and stores its counters; returns whether it ran.
    async fn stop(&self, plugin: &str) -> Result<bool, HostError> {
        let Some(running) = self.directory.write().remove(plugin) else { return Ok(false) };
        let hash = running.info.component_hash.clone();
        // Not the link: its instance handles would keep the workers from stopping.
        let counters = running.link.counters.clone();
        running.stop().await;
        counters::store(&*self.counters, &self.counters_key(plugin), &counters)?;
        self.release_component(&hash);
        Ok(true)
    }

    async fn restart_with(&self, plugin: &str, record: PluginRecord) -> Result<LoadedPlugin, HostError> {
        if record.disabled {
            return Err(HostError::InvalidInput(format!("{plugin} is disabled; enable it first")));
        }
        let component = self.component_of(plugin, &record)?;
        // Starting replaces the running instances only once the new ones linked, and
        // the record is saved only then, so a refused change leaves nothing behind.
        let loaded = self.start(record.effective_manifest()?, component, record.component.clone()).await?;
        self.put_record(plugin, &record).await?;
        Ok(loaded)
    }

    /// Compiles (or fetches from the artifact cache), links and runs a component
    /// already checked at install and stored under `hash`.
    ///
    /// Hand-over: service calls go to the new instances at once; the old version's
    /// consumers finish the event each is delivering and store their cursors, and only
    /// then do the new consumers open those same cursors. No event is skipped, and none
    /// is delivered to both versions except one a crash interrupted.
    async fn start(&self, manifest: Manifest, component: Vec<u8>, hash: String) -> Result<LoadedPlugin, HostError> {
        let started = Instant::now();
        let compiled = {
            let (engine, artifacts, hash) = (self.engine.clone(), self.artifacts.clone(), hash.clone());
            tokio::task::spawn_blocking(move || artifacts.load(&engine, &hash, &component))
                .await
                .map_err(|error| HostError::Engine(format!("compile task failed: {error}")))??
        };
        let load_time = started.elapsed();
        let wit_version = component::check_world(&self.engine, &compiled, &manifest.plugin.api)?;
        let pre = self
            .linker
            .instantiate_pre(&compiled)
            .and_then(|pre| GuestPre::new(wit_version, pre))
            .map_err(|error| HostError::InvalidComponent(component::link_error(&error)))?;
        let limits = Limits::resolve(&manifest.limits, &self.config.default_limits, &self.config.max_limits);
        let id: Arc<str> = manifest.plugin.id.as_str().into();
        let log = Arc::new(LogBudget::new(id.clone(), self.logbook.clone()));
        let runtime = PluginRuntime {
            id: id.clone(),
            engine: self.engine.clone(),
            pre,
            limits,
            backends: self.backends.clone(),
            memory: self.memory.clone(),
            grants: PluginGrants::of(&manifest),
            log: log.clone(),
        };
        let (handles, workers): (Vec<_>, Vec<_>) =
            (0..limits.concurrency.max(1)).map(|_| worker::spawn(runtime.clone())).unzip();
        let breaker = Breaker::open(id.clone(), self.config.delivery.quarantine_after, self.quarantine.clone())?;
        // The counters go on across upgrades, restarts and enabling (they are stored).
        let counters = match self.directory.link(&id) {
            Some(running) => running.counters,
            None => Arc::new(counters::stored(&*self.counters, &self.counters_key(&id))),
        };
        let link =
            PluginLink { id: id.clone(), pool: PluginPool::new(handles), breaker: Arc::new(breaker), counters, log };
        let (stop, stopped) = watch::channel(false);
        let subscriptions: Vec<Subscription> = manifest
            .subscriptions
            .topics
            .iter()
            .map(|pattern| Subscription::Pattern(pattern.clone()))
            .chain([Subscription::HostEvents])
            .collect();
        let info = LoadedPlugin { manifest, limits, component_hash: hash, load_time };
        let running = Running { info: info.clone(), link: link.clone(), workers, consumers: Vec::new(), stop, runtime };
        let replaced = self.directory.write().insert(id.to_string(), running);
        let draining = match replaced {
            Some(old) => {
                let old_hash = old.info.component_hash.clone();
                Some((old.stop_consumers().await, old_hash))
            }
            None => None,
        };
        let consumers = subscriptions
            .into_iter()
            .map(|subscription| {
                consumer::spawn_consumer(self.delivery.clone(), link.clone(), subscription, stopped.clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(running) = self.directory.write().get_mut(id.as_ref()) {
            running.consumers = consumers;
        }
        if let Some((draining, old_hash)) = draining {
            draining.await;
            self.release_component(&old_hash);
        }
        Ok(info)
    }

    /// Where a plugin's counters are stored: each host of a cluster keeps its own.
    pub(super) fn counters_key(&self, plugin: &str) -> Vec<u8> {
        match self.delivery.leases.host_id() {
            Some(host) => crate::storage::scoped_key(plugin, host),
            None => plugin.as_bytes().to_vec(),
        }
    }

    /// Drops the in-memory copy of a component once no running plugin uses it.
    fn release_component(&self, hash: &str) {
        if !self.directory.read().values().any(|running| running.info.component_hash == hash) {
            self.artifacts.unload(hash);
        }
    }

    fn record(&self, plugin: &str) -> Result<PluginRecord, HostError> {
        let bytes =
            self.records.value(plugin.as_bytes())?.ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))?;
        PluginRecord::decode(&bytes)
    }

    fn all_records(&self) -> Result<Vec<(String, PluginRecord)>, HostError> {
        self.records
            .scan(b"")?
            .into_iter()
            .map(|(id, entry)| Ok((String::from_utf8_lossy(&id).into_owned(), PluginRecord::decode(&entry.value)?)))
            .collect()
    }

    /// The stored component of an installed plugin.
    fn component_of(&self, plugin: &str, record: &PluginRecord) -> Result<Vec<u8>, HostError> {
        self.components
            .value(record.component.as_bytes())?
            .ok_or_else(|| HostError::Corrupt(format!("component {} of plugin {plugin} is missing", record.component)))
    }

    async fn put_record(&self, plugin: &str, record: &PluginRecord) -> Result<(), HostError> {
        self.records.put_json(plugin.as_bytes(), record)?;
        self.storage.flush().await?;
        Ok(())
    }
}
