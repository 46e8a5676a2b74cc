//! [`Host`]: an embedded Hearth host over one data directory. It installs plugins,
//! keeps them across restarts, and routes events and service calls to their workers.

use crate::bindings::{Caller, Event, EventBody, OrderConfirmation, PartnerPluginPre, ServiceRequest, ServiceResponse};
use crate::breaker::{Breaker, Quarantine};
use crate::capabilities::commerce::{Order, OrderStatus, Orders};
use crate::capabilities::config::{ConfigStore, SledConfig};
use crate::capabilities::devices::{CommandQueue, QueuedCommand};
use crate::capabilities::kv::SledKv;
use crate::capabilities::log::LogBudget;
use crate::capabilities::notify::{Notification, Notifications, RateLimit};
use crate::capabilities::services::ServiceRouter;
use crate::component::{self, ArtifactCache};
use crate::engine::{self, Allocator, EngineConfig};
use crate::events::catalog::{CONSENT_REVOKED, ORDER_CONFIRMED};
use crate::events::dead_letters::{DeadLetter, DeadLetters};
use crate::events::dispatch::{self, Delivery, DeliveryConfig, PluginCounters, PluginLink, PluginPool, Subscription};
use crate::events::ingest::{self, IngestError, IngestLimits, Receipt};
use crate::events::log::{EventLog, Seq, SledLog, StoredEvent};
use crate::households::{Device, Grant, Households};
use crate::ledger::{Ledger, LedgerEntry, Statement};
use crate::limits::Limits;
use crate::refs::Pseudonyms;
use crate::refs::RefKind;
use crate::state::{self, Backends, PluginGrants};
use crate::trust::TrustStore;
use crate::worker::{self, PluginRuntime, ServiceCall};
use crate::{CallError, HostError};
use hearth_registry::{Capabilities, Manifest, Package, RequestedLimits};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wasmtime::Engine;

/// Picks one counter of a plugin's counters (for rendering metrics).
type CounterOf = fn(&PluginCounters) -> &std::sync::atomic::AtomicU64;

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub engine: EngineConfig,
    /// Limits for plugins that request none.
    pub default_limits: Limits,
    /// The operator's caps: no plugin gets more, whatever it requests.
    pub max_limits: Limits,
    /// Retries, batches and quarantine of event delivery.
    pub delivery: DeliveryConfig,
    pub ingest: IngestLimits,
    /// Flush each group of appends before acknowledging it (on by default).
    pub durable: bool,
    /// How long delivered events stay in the log.
    pub retention: Duration,
    /// How often delivered events past the retention window are removed.
    pub compaction_interval: Duration,
    /// Notifications one plugin may send one household per window.
    pub notify_limit: RateLimit,
    /// Key-value storage per plugin.
    pub kv_quota_bytes: u64,
    /// Time and size limits of plugins' outbound HTTP.
    pub http_limits: crate::capabilities::http::HttpLimits,
    /// Accept packages without a signature (local development only; never in production).
    pub dev_allow_unsigned_packages: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            engine: EngineConfig::default(),
            default_limits: Limits::default(),
            max_limits: Limits { concurrency: 8, ..Limits::default() },
            delivery: DeliveryConfig::default(),
            ingest: IngestLimits::default(),
            durable: true,
            retention: Duration::from_secs(3600),
            compaction_interval: Duration::from_secs(30),
            notify_limit: RateLimit::default(),
            kv_quota_bytes: crate::capabilities::kv::DEFAULT_QUOTA_BYTES,
            http_limits: crate::capabilities::http::HttpLimits::default(),
            dev_allow_unsigned_packages: false,
        }
    }
}

/// An installed plugin as the host stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PluginRecord {
    manifest: String,
    component: String,
    /// Disabled plugins stay installed but do not run; their events wait in the log.
    #[serde(default)]
    disabled: bool,
    /// What the operator granted, when less than the manifest requests.
    #[serde(default)]
    grants: Option<Capabilities>,
    /// The operator's limits for this plugin, when tighter than the host's caps.
    #[serde(default)]
    limits: Option<RequestedLimits>,
    /// The version this one replaced, kept for a rollback.
    #[serde(default)]
    previous: Option<Box<PluginRecord>>,
}

impl PluginRecord {
    fn decode(bytes: &[u8]) -> Result<Self, HostError> {
        serde_json::from_slice(bytes).map_err(|error| HostError::Corrupt(format!("plugin record: {error}")))
    }

    /// The manifest the plugin runs under: its request, cut to the operator's grants
    /// and limits.
    fn effective_manifest(&self) -> Result<Manifest, HostError> {
        let mut manifest: Manifest = self.manifest.parse()?;
        if let Some(grants) = &self.grants {
            manifest.capabilities = grants.clone();
        }
        if let Some(caps) = &self.limits {
            let cut = |requested: Option<u32>, cap: Option<u32>| match (requested, cap) {
                (Some(requested), Some(cap)) => Some(requested.min(cap)),
                (requested, cap) => cap.or(requested),
            };
            let limits = &mut manifest.limits;
            limits.memory_mb = cut(limits.memory_mb, caps.memory_mb);
            limits.timeout_ms = cut(limits.timeout_ms, caps.timeout_ms);
            limits.service_timeout_ms = cut(limits.service_timeout_ms, caps.service_timeout_ms);
            limits.concurrency = cut(limits.concurrency, caps.concurrency);
        }
        Ok(manifest)
    }
}

/// What both grant: an operator's grants cut to what a new version requests.
fn intersect(granted: &Capabilities, requested: &Capabilities) -> Capabilities {
    Capabilities {
        kv: granted.kv && requested.kv,
        notify: granted.notify && requested.notify,
        commerce: granted.commerce && requested.commerce,
        devices: granted.devices.iter().filter(|command| requested.devices.contains(command)).cloned().collect(),
        http: granted.http.iter().filter(|target| requested.http.contains(target)).cloned().collect(),
    }
}

/// Whether `granted` asks for nothing `requested` did not.
fn within(granted: &Capabilities, requested: &Capabilities) -> bool {
    (!granted.kv || requested.kv)
        && (!granted.notify || requested.notify)
        && (!granted.commerce || requested.commerce)
        && granted.devices.iter().all(|command| requested.devices.contains(command))
        && granted.http.iter().all(|target| requested.http.contains(target))
}

/// What an install or a load reports.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    pub manifest: Manifest,
    pub limits: Limits,
    /// Hex SHA-256 of the component.
    pub component_hash: String,
    /// Time to compile the component or fetch it from the artifact cache.
    pub load_time: Duration,
}

struct Running {
    info: LoadedPlugin,
    log: Arc<LogBudget>,
    /// What each of its workers was started with (for direct instances).
    runtime: PluginRuntime,
    link: PluginLink,
    workers: Vec<JoinHandle<()>>,
    consumers: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Running {
    /// Stops the consumers (after the event each is delivering), then the instances
    /// (after the calls already queued).
    async fn stop(self) {
        self.stop_consumers().await.await;
    }

    /// Stops the consumers after the event each is delivering, so their cursors are
    /// stored; returns the instances still draining the calls already queued.
    async fn stop_consumers(self) -> impl Future<Output = ()> {
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

/// A plugin's delivery state, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStatus {
    pub quarantined: bool,
    /// Why, while quarantined.
    pub quarantine: Option<Quarantine>,
    /// Service calls into the plugin that failed (not counting its own errors).
    pub calls_failed: u64,
    /// Times a caller was suspended after its calls kept failing.
    pub callers_suspended: u64,
    /// Events its slowest subscription has not handled yet.
    pub lag: u64,
    /// Its backlog is at the bound: the oldest events are being passed over.
    pub overflowing: bool,
    /// Log events it passed over because its backlog hit the bound.
    pub backlog_skipped: u64,
    pub delivered: u64,
    pub failed: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub skipped_without_consent: u64,
    pub quarantines: u64,
    /// Log lines dropped over the plugin's log rate.
    pub log_lines_dropped: u64,
}

/// What an erasure removed, per store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub kv_entries: usize,
    /// Plugins that had the household's consent and are told it was withdrawn.
    pub plugins_told: usize,
    pub devices: usize,
    pub commands: usize,
    pub log_events: u64,
    pub dead_letters: usize,
    /// Orders removed, or (confirmed) kept without the household.
    pub orders: usize,
    pub notifications: usize,
    pub refs: usize,
    /// The devices removed (the API deletes their tokens too); not part of the answer.
    #[serde(skip)]
    pub device_ids: Vec<String>,
}

/// Counters that show what the host did since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostStats {
    pub allocator: Allocator,
    pub artifact_cache_hits: u64,
    pub compiles: u64,
    pub plugins: usize,
}

/// An embedded Hearth host. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    allocator: Allocator,
    db: sled::Db,
    plugins_tree: sled::Tree,
    components: sled::Tree,
    artifacts: ArtifactCache,
    backends: Backends,
    config_store: Arc<SledConfig>,
    config: HostConfig,
    log: Arc<SledLog>,
    delivery: Arc<Delivery>,
    quarantine: sled::Tree,
    /// Log events each plugin passed over because its backlog hit the bound.
    backlog_skipped: sled::Tree,
    /// Each plugin's delivery counters, stored by the upkeep task and on stop.
    counters: sled::Tree,
    notifications: Arc<Notifications>,
    ledger: Ledger,
    /// Operator ranking of the providers of an operation: `service.operation` → plugin ids.
    rankings: sled::Tree,
    /// A household's preferred provider: `household \0 service.operation` → plugin id.
    preferences: sled::Tree,
    running: RwLock<BTreeMap<String, Running>>,
    trust: TrustStore,
    /// Events stored by ingest since the host started.
    ingested: std::sync::atomic::AtomicU64,
    /// The periodic compaction task and its stop signal; shutdown waits for it, since it
    /// holds the database open.
    compactor: std::sync::Mutex<Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>>,
}

impl Host {
    /// Opens (or creates) the host's database in `data_dir` and starts every
    /// installed plugin. Must be called within a tokio runtime.
    pub async fn open(data_dir: &Path, config: HostConfig) -> Result<Host, HostError> {
        std::fs::create_dir_all(data_dir)?;
        let db = sled::open(data_dir.join("db"))?;
        let (engine, allocator) = engine::new_engine(&config.engine)?;
        let config_store = Arc::new(SledConfig::new(db.open_tree("plugin-config")?));
        let log = SledLog::open(&db, config.durable).map_err(|error| HostError::Engine(error.to_string()))?;
        let households = Households::open(&db)?;
        let refs = Pseudonyms::open(&db)?;
        let delivery = Arc::new(Delivery {
            log: log.clone(),
            households: households.clone(),
            refs: refs.clone(),
            dead_letters: DeadLetters::open(&db)?,
            config: config.delivery.clone(),
        });
        let notifications = Arc::new(Notifications::open(&db, config.notify_limit)?);
        let router = Arc::new(HostRouter::default());
        let trust = TrustStore::open(&db)?;
        let inner = Inner {
            trust,
            quarantine: db.open_tree("quarantine")?,
            backlog_skipped: db.open_tree("backlog-skipped")?,
            counters: db.open_tree("plugin-counters")?,
            log,
            delivery,
            compactor: std::sync::Mutex::new(None),
            artifacts: ArtifactCache::new(db.open_tree("artifacts")?, &engine),
            plugins_tree: db.open_tree("plugins")?,
            components: db.open_tree("components")?,
            backends: Backends {
                kv: Arc::new(SledKv::open(&db)?),
                kv_quota_bytes: config.kv_quota_bytes,
                config: config_store.clone(),
                refs: refs.clone(),
                households: households.clone(),
                notifications: notifications.clone(),
                orders: Orders::open(&db)?,
                commands: CommandQueue::open(&db)?,
                router: router.clone(),
                http_limits: config.http_limits,
                memory: Arc::new(crate::limits::HostMemory::new(config.engine.max_total_memory_bytes)),
            },
            notifications,
            ledger: Ledger::open(&db)?,
            rankings: db.open_tree("provider-rankings")?,
            preferences: db.open_tree("provider-preferences")?,
            config_store,
            engine,
            allocator,
            db,
            config,
            running: RwLock::new(BTreeMap::new()),
            ingested: std::sync::atomic::AtomicU64::new(0),
        };
        let host = Host { inner: Arc::new(inner) };
        let _ = router.inner.set(Arc::downgrade(&host.inner));
        let (stop_compaction, compaction_stop) = watch::channel(false);
        let every = host.inner.config.delivery.backlog_check_interval;
        let compaction = tokio::spawn(maintain(Arc::downgrade(&host.inner), every, compaction_stop));
        *host.compactor() = Some((stop_compaction, compaction));
        for entry in host.inner.plugins_tree.iter() {
            let (id, record) = entry?;
            let record = PluginRecord::decode(&record)?;
            if record.disabled {
                continue;
            }
            let component = host.component_of(&String::from_utf8_lossy(&id), &record)?;
            host.start(record.effective_manifest()?, component, record.component).await?;
        }
        Ok(host)
    }

    /// Validates, compiles (or fetches from the artifact cache), links and starts a
    /// plugin, and records it so it is started again after a restart. Installing a
    /// plugin id again replaces the running version.
    ///
    /// Installing another version upgrades: the operator's grants (cut to what the new
    /// version requests) and limits carry over, the consumers' cursors are handed over
    /// (see [`Host::start`]), and the replaced version is kept for [`Host::rollback`].
    pub async fn install(&self, manifest: Manifest, component: Vec<u8>) -> Result<LoadedPlugin, HostError> {
        component::check_bytes(&component)?;
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
            let installed: Manifest = existing.manifest.parse()?;
            if installed.plugin.version == manifest.plugin.version && existing.component != hash {
                return Err(HostError::Conflict(format!(
                    "{} {} is installed with a different component; publish a new version",
                    manifest.plugin.id, manifest.plugin.version
                )));
            }
            record.grants = existing.grants.as_ref().map(|granted| intersect(granted, &manifest.capabilities));
            record.limits = existing.limits.clone();
            if installed.plugin.version == manifest.plugin.version {
                record.previous = existing.previous.take();
            } else {
                existing.previous = None;
                existing.disabled = false;
                record.previous = Some(Box::new(existing));
            }
        }
        self.inner.components.insert(hash.as_bytes(), component.as_slice())?;
        let loaded = self.start(record.effective_manifest()?, component, hash).await?;
        self.put_record(&manifest.plugin.id, &record).await?;
        tracing::info!(plugin = %manifest.plugin.id, version = %manifest.plugin.version, "installed");
        Ok(loaded)
    }

    /// Installs a signed package: refused unless it is signed by a key the operator
    /// trusts for its publisher (or unsigned, when the dev flag allows that).
    pub async fn install_package(&self, bytes: &[u8]) -> Result<LoadedPlugin, HostError> {
        let package = self.verify_package(bytes)?;
        self.install(package.manifest, package.component).await
    }

    /// Reads a package and checks its signature against the trust store.
    pub fn verify_package(&self, bytes: &[u8]) -> Result<Package, HostError> {
        let package = Package::read(bytes)?;
        if package.signature.is_none() && self.inner.config.dev_allow_unsigned_packages {
            tracing::warn!(plugin = %package.manifest.plugin.id, "installing an unsigned package (dev flag)");
            return Ok(package);
        }
        let trusted = self.inner.trust.verifying_keys(&package.manifest.plugin.publisher)?;
        package.verify(trusted.as_deref())?;
        Ok(package)
    }

    /// Whether unsigned packages are accepted (the dev flag).
    pub fn allows_unsigned_packages(&self) -> bool {
        self.inner.config.dev_allow_unsigned_packages
    }

    /// The operator's trust store of publisher keys.
    pub fn trust_store(&self) -> &TrustStore {
        &self.inner.trust
    }

    /// Goes back to the version the last upgrade replaced, handing the cursors over the
    /// same way; the version rolled back from becomes the one to roll forward to.
    pub async fn rollback(&self, plugin: &str) -> Result<LoadedPlugin, HostError> {
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
        let manifest: Manifest = previous.manifest.parse()?;
        Ok(Some(manifest.plugin.version.to_string()))
    }

    /// Compiles (or fetches from the artifact cache), links and runs a component
    /// already checked at install and stored under `hash`.
    async fn start(&self, manifest: Manifest, component: Vec<u8>, hash: String) -> Result<LoadedPlugin, HostError> {
        let started = Instant::now();
        let inner = self.inner.clone();
        let compile_hash = hash.clone();
        let compiled =
            tokio::task::spawn_blocking(move || inner.artifacts.load(&inner.engine, &compile_hash, &component))
                .await
                .map_err(|error| HostError::Engine(format!("compile task failed: {error}")))??;
        let load_time = started.elapsed();
        let engine = &self.inner.engine;
        component::check_world(engine, &compiled)?;
        let linker = state::linker(engine, &manifest).map_err(|error| HostError::Engine(format!("{error:#}")))?;
        let pre = linker
            .instantiate_pre(&compiled)
            .and_then(PartnerPluginPre::new)
            .map_err(|error| HostError::InvalidComponent(link_error(&manifest, &error)))?;
        let limits =
            Limits::resolve(&manifest.limits, &self.inner.config.default_limits, &self.inner.config.max_limits);
        let id: Arc<str> = manifest.plugin.id.as_str().into();
        let mut handles = Vec::with_capacity(limits.concurrency);
        let mut workers = Vec::with_capacity(limits.concurrency);
        let log = Arc::new(LogBudget::new(id.clone()));
        let runtime = PluginRuntime {
            id: id.clone(),
            engine: engine.clone(),
            pre: pre.clone(),
            limits,
            backends: self.inner.backends.clone(),
            grants: PluginGrants::of(&manifest),
            log: log.clone(),
        };
        for _ in 0..limits.concurrency.max(1) {
            let (handle, worker) = worker::spawn(runtime.clone());
            handles.push(handle);
            workers.push(worker);
        }
        let breaker =
            Breaker::open(id.clone(), self.inner.config.delivery.quarantine_after, self.inner.quarantine.clone())?;
        // The counters go on across upgrades, restarts and enabling (they are stored).
        let counters = match self.running().get(id.as_ref()) {
            Some(running) => running.link.counters.clone(),
            None => Arc::new(self.stored_counters(&id)),
        };
        let link = PluginLink {
            id: id.clone(),
            pool: PluginPool::new(handles),
            breaker: Arc::new(breaker),
            counters,
            log: log.clone(),
        };
        let (stop, stopped) = watch::channel(false);
        let subscriptions: Vec<Subscription> = manifest
            .subscriptions
            .topics
            .iter()
            .map(|pattern| Subscription::Pattern(pattern.clone()))
            .chain([Subscription::HostEvents])
            .collect();
        let info = LoadedPlugin { manifest, limits, component_hash: hash, load_time };
        // Hand-over: service calls go to the new instances at once; the old version's
        // consumers finish the event each is delivering and store their cursors, and
        // only then do the new consumers open those same cursors. No event is skipped,
        // and none is delivered to both versions except one a crash interrupted.
        let running =
            Running { info: info.clone(), link: link.clone(), workers, consumers: Vec::new(), stop, log, runtime };
        let replaced = self.running_mut().insert(id.to_string(), running);
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
                dispatch::spawn_consumer(self.inner.delivery.clone(), link.clone(), subscription, stopped.clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(running) = self.running_mut().get_mut(id.as_ref()) {
            running.consumers = consumers;
        }
        if let Some((draining, old_hash)) = draining {
            draining.await;
            self.release_component(&old_hash);
        }
        Ok(info)
    }

    /// Drops the in-memory copy of a component once no running plugin uses it.
    fn release_component(&self, hash: &str) {
        if !self.running().values().any(|running| running.info.component_hash == hash) {
            self.inner.artifacts.unload(hash);
        }
    }

    /// Stops a plugin without uninstalling it: its events wait in the log (and count
    /// towards the backlog bound) until it is enabled again. Returns whether it ran.
    pub async fn disable(&self, plugin: &str) -> Result<bool, HostError> {
        let mut record = self.record(plugin)?;
        record.disabled = true;
        self.put_record(plugin, &record).await?;
        let running = self.running_mut().remove(plugin);
        let was_running = running.is_some();
        if let Some(running) = running {
            let hash = running.info.component_hash.clone();
            // Not the link: its instance handles would keep the workers from stopping.
            let counters = running.link.counters.clone();
            running.stop().await;
            store_counters(&self.inner.counters, plugin, &counters)?;
            self.release_component(&hash);
        }
        tracing::info!(plugin, "disabled");
        Ok(was_running)
    }

    /// Starts a disabled plugin again; it resumes from its consumers' cursors.
    pub async fn enable(&self, plugin: &str) -> Result<LoadedPlugin, HostError> {
        let mut record = self.record(plugin)?;
        if !record.disabled
            && let Some(running) = self.running().get(plugin)
        {
            return Ok(running.info.clone());
        }
        record.disabled = false;
        let loaded = self.restart_with(plugin, record).await?;
        tracing::info!(plugin, "enabled");
        Ok(loaded)
    }

    /// Uninstalls a plugin: stops it, forgets its subscriptions' cursors (so the log
    /// can be compacted past them), and deletes its key-value data and config.
    /// Ledger entries of its confirmed orders stay. Returns how many kv entries went.
    pub async fn remove(&self, plugin: &str) -> Result<usize, HostError> {
        self.record(plugin)?;
        let running = self.running_mut().remove(plugin);
        if let Some(running) = running {
            let hash = running.info.component_hash.clone();
            running.stop().await;
            self.release_component(&hash);
        }
        self.inner.plugins_tree.remove(plugin.as_bytes())?;
        self.inner.backlog_skipped.remove(plugin.as_bytes())?;
        self.inner.counters.remove(plugin.as_bytes())?;
        self.inner.quarantine.remove(plugin.as_bytes())?;
        self.inner.delivery.refs.remove_plugin(plugin)?;
        self.inner.log.remove_consumers(&format!("{plugin}|")).map_err(|error| HostError::Engine(error.to_string()))?;
        let erased = self.inner.backends.kv.delete_prefix(plugin, "")?;
        self.inner.config_store.remove_all(plugin)?;
        self.inner.db.flush_async().await?;
        tracing::info!(plugin, erased, "removed");
        Ok(erased)
    }

    /// Grants the plugin part (or all) of the capabilities its manifest requests and
    /// restarts it under them. A component that imports something no longer granted
    /// fails to link: the change is refused and the plugin keeps running as it was.
    pub async fn set_grants(&self, plugin: &str, grants: Capabilities) -> Result<LoadedPlugin, HostError> {
        let mut record = self.record(plugin)?;
        let requested: Manifest = record.manifest.parse()?;
        if !within(&grants, &requested.capabilities) {
            return Err(HostError::InvalidInput(format!("a grant may not exceed what {plugin} requests")));
        }
        record.grants = Some(grants);
        self.restart_with(plugin, record).await
    }

    /// Tightens the plugin's limits below what it requests (and the host's caps).
    pub async fn set_limits(&self, plugin: &str, limits: RequestedLimits) -> Result<LoadedPlugin, HostError> {
        limits.validate()?;
        let mut record = self.record(plugin)?;
        record.limits = Some(limits);
        self.restart_with(plugin, record).await
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

    /// Ids of installed plugins that are disabled.
    pub fn disabled_plugins(&self) -> Result<Vec<String>, HostError> {
        let mut disabled = Vec::new();
        for entry in self.inner.plugins_tree.iter() {
            let (id, record) = entry?;
            if PluginRecord::decode(&record)?.disabled {
                disabled.push(String::from_utf8_lossy(&id).into_owned());
            }
        }
        Ok(disabled)
    }

    fn record(&self, plugin: &str) -> Result<PluginRecord, HostError> {
        let bytes = self
            .inner
            .plugins_tree
            .get(plugin.as_bytes())?
            .ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))?;
        PluginRecord::decode(&bytes)
    }

    /// The stored component of an installed plugin.
    fn component_of(&self, plugin: &str, record: &PluginRecord) -> Result<Vec<u8>, HostError> {
        let bytes = self.inner.components.get(&record.component)?.ok_or_else(|| {
            HostError::Corrupt(format!("component {} of plugin {plugin} is missing", record.component))
        })?;
        Ok(bytes.to_vec())
    }

    async fn put_record(&self, plugin: &str, record: &PluginRecord) -> Result<(), HostError> {
        let bytes = serde_json::to_vec(record).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.inner.plugins_tree.insert(plugin.as_bytes(), bytes)?;
        self.inner.db.flush_async().await?;
        Ok(())
    }

    /// The installed plugins, by id.
    pub fn plugins(&self) -> Vec<LoadedPlugin> {
        self.running().values().map(|running| running.info.clone()).collect()
    }

    /// Delivers one event straight to one plugin, bypassing the log, subscriptions
    /// and consent, and waits until it is handled. For tests and tools; appliances
    /// go through [`Host::ingest`].
    pub async fn deliver(&self, plugin: &str, event: Event) -> Result<(), CallError> {
        let link = self.link(plugin).ok_or_else(|| CallError::NoProvider(plugin.to_owned()))?;
        let lane = link.pool.lane_of(event.device.as_deref().unwrap_or(&event.household));
        link.pool.on_event(lane, event).await
    }

    /// Validates and durably appends the events a device sent; they are then
    /// delivered to every plugin that subscribes and has the household's consent.
    pub async fn ingest(&self, device: &str, request: &[u8]) -> Result<Vec<Receipt>, IngestError> {
        let delivery = &self.inner.delivery;
        let receipts =
            ingest::ingest(delivery.log.as_ref(), &delivery.households, &self.inner.config.ingest, device, request)
                .await?;
        let fresh = receipts.iter().filter(|receipt| !receipt.duplicate).count() as u64;
        self.inner.ingested.fetch_add(fresh, Ordering::Relaxed);
        Ok(receipts)
    }

    /// The household's registered devices.
    pub fn devices_of(&self, household: &str) -> Result<Vec<Device>, HostError> {
        self.inner.delivery.households.devices_of(household)
    }

    /// Calls `service.operation` for an appliance, app or operator. The provider is
    /// the household's preferred one, then the operator's ranking, then by plugin id; a
    /// quarantined or failing provider falls through to the next. `household` is the
    /// real household id; the provider sees its own ref of it.
    pub async fn call_service(
        &self,
        service: &str,
        operation: &str,
        caller: Caller,
        household: Option<String>,
        input: Vec<u8>,
    ) -> Result<ServiceResponse, CallError> {
        let request = ServiceRequest {
            service: service.to_owned(),
            operation: operation.to_owned(),
            caller,
            household: None,
            input,
        };
        route_call(&self.inner, request, household, Vec::new(), None).await
    }

    /// Calls a service operation on one specific plugin, passing the request as given.
    pub async fn call_plugin(&self, plugin: &str, request: ServiceRequest) -> Result<ServiceResponse, CallError> {
        let link = self.link(plugin).ok_or_else(|| CallError::NoProvider(plugin.to_owned()))?;
        call_link(&link, ServiceCall { request, chain: Vec::new(), deadline: None }, "operator").await
    }

    /// The operator's order of preference among the providers of `service.operation`.
    pub fn set_provider_ranking(&self, operation: &str, plugins: &[&str]) -> Result<(), HostError> {
        let list = serde_json::to_vec(plugins).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.inner.rankings.insert(operation.as_bytes(), list)?;
        Ok(())
    }

    /// A household's preferred provider of `service.operation`.
    pub fn set_provider_preference(&self, household: &str, operation: &str, plugin: &str) -> Result<(), HostError> {
        self.inner
            .preferences
            .insert(crate::capabilities::config::scoped_key(household, operation), plugin.as_bytes())?;
        Ok(())
    }

    /// The household's notifications, oldest first.
    pub fn notifications(&self, household: &str) -> Result<Vec<Notification>, HostError> {
        self.inner.notifications.list(household)
    }

    /// Orders proposed to the household that wait for its answer.
    pub fn offers(&self, household: &str) -> Result<Vec<Order>, HostError> {
        self.inner.backends.orders.of_household(household, Some(OrderStatus::Pending))
    }

    /// Every order proposed to the household.
    pub fn orders(&self, household: &str) -> Result<Vec<Order>, HostError> {
        self.inner.backends.orders.of_household(household, None)
    }

    /// The household confirms an order: it is booked in the ledger (once, however
    /// often this is called) and the plugin receives `household.order.confirmed`.
    pub async fn confirm_order(&self, household: &str, plugin: &str, order_id: &str) -> Result<LedgerEntry, HostError> {
        let orders = &self.inner.backends.orders;
        let mut order = self.household_order(household, plugin, order_id)?;
        if order.status == OrderStatus::Declined {
            return Err(HostError::InvalidInput(format!("order {order_id} was declined")));
        }
        let decided = order.decided_ms.unwrap_or_else(crate::clock::now_ms);
        let key = format!("{plugin}/{order_id}");
        let entry =
            self.inner.ledger.book(&key, &order.publisher, plugin, &order.currency, order.total_minor, decided)?;
        if order.status == OrderStatus::Pending {
            order.status = OrderStatus::Confirmed;
            order.decided_ms = Some(decided);
            orders.put(&order)?;
        }
        let notice = StoredEvent {
            // Deterministic, so a retried confirmation is not announced twice.
            id: format!("order-confirmed:{key}"),
            topic: ORDER_CONFIRMED.to_owned(),
            time_ms: decided,
            household: household.to_owned(),
            device: None,
            body: EventBody::OrderConfirmed(OrderConfirmation { order_id: order_id.to_owned() }),
            target: Some(plugin.to_owned()),
            pseudonymous: false,
        };
        // The append's flush also makes the booking durable.
        self.inner.log.append(vec![notice]).await.map_err(|error| HostError::Engine(error.to_string()))?;
        Ok(entry)
    }

    /// The household declines an order.
    pub async fn decline_order(&self, household: &str, plugin: &str, order_id: &str) -> Result<(), HostError> {
        let mut order = self.household_order(household, plugin, order_id)?;
        match order.status {
            OrderStatus::Declined => return Ok(()),
            OrderStatus::Confirmed => return Err(HostError::InvalidInput(format!("order {order_id} is confirmed"))),
            OrderStatus::Pending => {}
        }
        order.status = OrderStatus::Declined;
        order.decided_ms = Some(crate::clock::now_ms());
        self.inner.backends.orders.put(&order)?;
        self.inner.db.flush_async().await?;
        Ok(())
    }

    fn household_order(&self, household: &str, plugin: &str, order_id: &str) -> Result<Order, HostError> {
        self.inner
            .backends
            .orders
            .get(plugin, order_id)?
            .filter(|order| order.household == household)
            .ok_or_else(|| HostError::NotFound(format!("order {order_id} of {plugin} for this household")))
    }

    /// Sets the publisher's share of gross, in basis points.
    pub fn set_agreement(&self, publisher: &str, publisher_bp: u32) -> Result<(), HostError> {
        crate::validate::publisher(publisher)?;
        self.inner.ledger.set_agreement(publisher, publisher_bp)
    }

    /// The publisher's statement for a month (`YYYY-MM`).
    pub fn statement(&self, publisher: &str, month: &str) -> Result<Statement, HostError> {
        self.inner.ledger.statement(publisher, month)
    }

    /// Takes the commands queued for a device, oldest first (the appliance fetching them).
    pub fn take_commands(&self, device: &str) -> Result<Vec<QueuedCommand>, HostError> {
        self.inner.backends.commands.take(device)
    }

    /// Registers a household.
    pub fn add_household(&self, id: &str) -> Result<(), HostError> {
        self.inner.delivery.households.add_household(id)
    }

    /// Whether the household is registered.
    pub fn has_household(&self, id: &str) -> Result<bool, HostError> {
        self.inner.delivery.households.has_household(id)
    }

    /// Registers a device to a household.
    pub fn add_device(&self, device: Device) -> Result<(), HostError> {
        self.inner.delivery.households.add_device(device)
    }

    /// A household lets `plugin` receive events of the devices `grant` covers.
    pub async fn grant(&self, household: &str, plugin: &str, grant: &Grant) -> Result<(), HostError> {
        self.inner.delivery.households.grant(household, plugin, grant)?;
        self.inner.db.flush_async().await?;
        Ok(())
    }

    /// The host's database, for the parts of the server that keep their own trees.
    pub fn database(&self) -> &sled::Db {
        &self.inner.db
    }

    /// A registered device.
    pub fn device(&self, id: &str) -> Result<Option<Device>, HostError> {
        self.inner.delivery.households.device(id)
    }

    /// The household's grant to `plugin`, if any.
    pub fn grant_of(&self, household: &str, plugin: &str) -> Result<Option<Grant>, HostError> {
        self.inner.delivery.households.grant_of(household, plugin)
    }

    /// Withdraws a household's consent. Nothing not yet delivered reaches the plugin
    /// any more, and the plugin receives `household.consent.revoked` (with its ref of
    /// the household) so it can forget the household. Returns whether a grant existed.
    pub async fn revoke(&self, household: &str, plugin: &str) -> Result<bool, HostError> {
        if !self.inner.delivery.households.revoke(household, plugin)? {
            return Ok(false);
        }
        let notice = StoredEvent {
            id: ingest::new_event_id()?,
            topic: CONSENT_REVOKED.to_owned(),
            time_ms: crate::clock::now_ms(),
            household: household.to_owned(),
            device: None,
            body: EventBody::ConsentRevoked,
            target: Some(plugin.to_owned()),
            pseudonymous: false,
        };
        // Appending flushes, which also makes the revocation itself durable.
        self.inner.log.append(vec![notice]).await.map_err(|error| HostError::Engine(error.to_string()))?;
        Ok(true)
    }

    /// A fresh instance of a running plugin on a store of its own, outside its workers
    /// (for benchmarks: the raw wasmtime call cost, and instantiation time).
    pub async fn direct(&self, plugin: &str) -> Result<crate::direct::DirectPlugin, HostError> {
        let runtime = self
            .running()
            .get(plugin)
            .map(|running| running.runtime.clone())
            .ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))?;
        crate::direct::DirectPlugin::start(&runtime).await
    }

    /// What `plugin` sees as `household`'s id (a pseudonym per plugin).
    pub fn household_ref(&self, plugin: &str, household: &str) -> Result<String, HostError> {
        self.inner.delivery.refs.mint(plugin, RefKind::Household, household)
    }

    /// One value of a plugin's key-value data, for tests and tools.
    pub fn kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.inner.backends.kv.get(plugin, key)?)
    }

    /// A plugin's keys starting with `prefix`, for tests and tools.
    pub fn kv_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, HostError> {
        Ok(self.inner.backends.kv.list_keys(plugin, prefix)?)
    }

    /// Erases a household from every store: each installed plugin's household-scoped
    /// kv data (keys under its ref of the household), whatever the plugin's state
    /// (running, disabled, quarantined; the version kept for rollback shares its data),
    /// grants (each plugin that had one is told, by its ref only), refs, notifications,
    /// pending and declined orders, dead letters, the household's events still in the
    /// log and their dedupe entries, provider preferences, its devices with their
    /// pending commands, and the household record. Confirmed orders stay for accounting
    /// without the household. Erasing an unknown (or already erased) household erases
    /// nothing and succeeds.
    pub async fn erase_household(&self, household: &str) -> Result<Erasure, HostError> {
        let delivery = &self.inner.delivery;
        let backends = &self.inner.backends;
        let mut erasure = Erasure::default();
        let plugins: Vec<String> = self
            .inner
            .plugins_tree
            .iter()
            .keys()
            .map(|id| id.map(|id| String::from_utf8_lossy(&id).into_owned()))
            .collect::<Result<_, _>>()?;
        let consented: Vec<bool> = plugins
            .iter()
            .map(|plugin| delivery.households.grant_of(household, plugin).map(|grant| grant.is_some()))
            .collect::<Result<_, _>>()?;
        // Consent goes first: from here on nothing of the household is delivered. A
        // run of events a plugin is already in stops before its next event; waiting
        // for each lane once lets such a run end before the plugin's data is erased.
        let devices = delivery.households.remove_household(household)?;
        let links: Vec<PluginLink> = self.running().values().map(|running| running.link.clone()).collect();
        for link in links {
            link.pool.barrier().await;
        }
        let mut notices = Vec::new();
        for (plugin, consented) in plugins.into_iter().zip(consented) {
            let reference = delivery.refs.reference(&plugin, RefKind::Household, household);
            erasure.kv_entries += backends.kv.delete_prefix(&plugin, &format!("{reference}/"))?;
            if consented {
                notices.push(StoredEvent {
                    id: ingest::new_event_id()?,
                    topic: CONSENT_REVOKED.to_owned(),
                    time_ms: crate::clock::now_ms(),
                    household: reference,
                    device: None,
                    body: EventBody::ConsentRevoked,
                    target: Some(plugin),
                    pseudonymous: true,
                });
            }
        }
        erasure.plugins_told = notices.len();
        for device in &devices {
            erasure.commands += backends.commands.erase_device(device)?;
        }
        erasure.devices = devices.len();
        erasure.device_ids = devices.clone();
        erasure.log_events =
            delivery.log.erase_household(household, &devices).map_err(|error| HostError::Engine(error.to_string()))?;
        erasure.dead_letters = delivery.dead_letters.erase_household(household)?;
        erasure.orders = backends.orders.erase_household(household)?;
        erasure.notifications = self.inner.notifications.erase(household)?;
        for key in self.inner.preferences.scan_prefix(crate::capabilities::config::scoped_key(household, "")).keys() {
            self.inner.preferences.remove(key?)?;
        }
        let ids: Vec<&str> = std::iter::once(household).chain(devices.iter().map(String::as_str)).collect();
        erasure.refs = delivery.refs.erase(&ids)?;
        // The notices carry only refs; appending flushes everything above with them.
        if notices.is_empty() {
            self.inner.db.flush_async().await?;
        } else {
            self.inner.log.append(notices).await.map_err(|error| HostError::Engine(error.to_string()))?;
        }
        tracing::info!(?erasure, "household erased");
        Ok(erasure)
    }

    /// The plugin's dead letters, oldest first.
    pub fn dead_letters(&self, plugin: &str) -> Result<Vec<DeadLetter>, HostError> {
        self.inner.delivery.dead_letters.list(plugin)
    }

    /// One dead letter, with the event and the last error.
    pub fn dead_letter(&self, plugin: &str, seq: Seq) -> Result<Option<DeadLetter>, HostError> {
        self.inner.delivery.dead_letters.get(plugin, seq)
    }

    /// Delivers a dead letter again (consent is checked again); on success it is
    /// removed, on failure it stays with the new error.
    pub async fn redrive(&self, plugin: &str, seq: Seq) -> Result<(), HostError> {
        let delivery = &self.inner.delivery;
        let link = self.link(plugin).ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))?;
        let mut letter = delivery
            .dead_letters
            .get(plugin, seq)?
            .ok_or_else(|| HostError::NotFound(format!("dead letter {seq} of {plugin}")))?;
        let event = &letter.event;
        if event.target.is_none() && !delivery.households.allows(plugin, &event.household, event.device.as_deref())? {
            return Err(HostError::InvalidInput("the household no longer consents to this plugin".into()));
        }
        let lane = link.pool.lane_of(event.device.as_deref().unwrap_or(&event.household));
        let wit_event = dispatch::pseudonymise(&delivery.refs, plugin, event)?;
        match link.pool.on_event(lane, wit_event).await {
            Ok(()) => {
                delivery.dead_letters.remove(plugin, seq)?;
                link.counters.delivered.fetch_add(1, Ordering::Relaxed);
                self.inner.db.flush_async().await?;
                Ok(())
            }
            Err(error) => {
                letter.attempts += 1;
                letter.error = error.to_string();
                letter.time_ms = crate::clock::now_ms();
                delivery.dead_letters.put(plugin, &letter)?;
                Err(HostError::Delivery(error))
            }
        }
    }

    /// Lifts a plugin's quarantine; its waiting events flow again. Returns whether it
    /// was quarantined.
    pub async fn resume(&self, plugin: &str) -> Result<bool, HostError> {
        let link = self.link(plugin).ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))?;
        let was = link.breaker.resume()?;
        self.inner.db.flush_async().await?;
        Ok(was)
    }

    /// Delivery counters and quarantine state of a plugin.
    pub fn status(&self, plugin: &str) -> Option<PluginStatus> {
        let (link, log_lines_dropped) =
            self.running().get(plugin).map(|running| (running.link.clone(), running.log.dropped()))?;
        let counters = &link.counters;
        let read = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let lag = self.inner.log.lag_of(&format!("{plugin}|")).unwrap_or(0);
        Some(PluginStatus {
            quarantined: link.breaker.is_quarantined(),
            quarantine: link.breaker.quarantine(),
            calls_failed: read(&counters.calls_failed),
            callers_suspended: read(&link.breaker.counters.callers_suspended),
            lag,
            overflowing: lag >= self.inner.config.delivery.max_backlog,
            backlog_skipped: self.backlog_skipped(plugin),
            delivered: read(&counters.delivered),
            failed: read(&counters.failed),
            retried: read(&counters.retried),
            dead_lettered: read(&counters.dead_lettered),
            skipped_without_consent: read(&counters.skipped_without_consent),
            quarantines: read(&link.breaker.counters.quarantines),
            log_lines_dropped,
        })
    }

    /// Prometheus text: per-plugin delivery counters, quarantine, call latency
    /// histograms; the log's backlog; the artifact cache.
    pub fn render_metrics(&self) -> String {
        use crate::metrics::{family, label};
        let mut out = String::new();
        let links: Vec<PluginLink> = self.running().values().map(|running| running.link.clone()).collect();
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
            family(&mut out, name, "counter", help);
            for link in &links {
                let value = counter(&link.counters).load(Ordering::Relaxed);
                out.push_str(&format!("{name}{{plugin=\"{}\"}} {value}\n", label(&link.id)));
            }
        }
        family(
            &mut out,
            "hearth_plugin_lag_events",
            "gauge",
            "Events a plugin's slowest subscription has not handled yet.",
        );
        for link in &links {
            let lag = self.inner.log.lag_of(&format!("{}|", link.id)).unwrap_or(0);
            out.push_str(&format!("hearth_plugin_lag_events{{plugin=\"{}\"}} {lag}\n", label(&link.id)));
        }
        family(
            &mut out,
            "hearth_plugin_log_lines_dropped_total",
            "counter",
            "Log lines dropped over a plugin's log rate.",
        );
        let dropped: Vec<(String, u64)> =
            self.running().iter().map(|(id, running)| (id.clone(), running.log.dropped())).collect();
        for (id, dropped) in dropped {
            out.push_str(&format!("hearth_plugin_log_lines_dropped_total{{plugin=\"{}\"}} {dropped}\n", label(&id)));
        }
        family(
            &mut out,
            "hearth_plugin_backlog_skipped_total",
            "counter",
            "Log events a plugin passed over because its backlog hit the bound.",
        );
        for link in &links {
            let skipped = self.backlog_skipped(&link.id);
            out.push_str(&format!("hearth_plugin_backlog_skipped_total{{plugin=\"{}\"}} {skipped}\n", label(&link.id)));
        }
        family(&mut out, "hearth_quarantines_total", "counter", "Times a plugin was quarantined.");
        for link in &links {
            let value = link.breaker.counters.quarantines.load(Ordering::Relaxed);
            out.push_str(&format!("hearth_quarantines_total{{plugin=\"{}\"}} {value}\n", label(&link.id)));
        }
        family(&mut out, "hearth_plugin_quarantined", "gauge", "1 while a plugin is quarantined.");
        for link in &links {
            let value = u8::from(link.breaker.is_quarantined());
            out.push_str(&format!("hearth_plugin_quarantined{{plugin=\"{}\"}} {value}\n", label(&link.id)));
        }
        family(&mut out, "hearth_plugin_event_call_seconds", "histogram", "Duration of on-event calls.");
        for link in &links {
            link.counters.event_latency.render(
                &mut out,
                "hearth_plugin_event_call_seconds",
                &format!("plugin=\"{}\",", label(&link.id)),
            );
        }
        family(&mut out, "hearth_plugin_service_call_seconds", "histogram", "Duration of service calls into a plugin.");
        for link in &links {
            link.counters.service_latency.render(
                &mut out,
                "hearth_plugin_service_call_seconds",
                &format!("plugin=\"{}\",", label(&link.id)),
            );
        }
        family(
            &mut out,
            "hearth_consumer_lag_events",
            "gauge",
            "Events appended but not yet handled by the slowest consumer.",
        );
        out.push_str(&format!("hearth_consumer_lag_events {}\n", self.lag().unwrap_or(0)));
        let stats = self.stats();
        family(&mut out, "hearth_plugins", "gauge", "Running plugins.");
        out.push_str(&format!("hearth_plugins {}\n", stats.plugins));
        family(
            &mut out,
            "hearth_artifact_cache_hits_total",
            "counter",
            "Components loaded from the compiled-artifact cache.",
        );
        out.push_str(&format!("hearth_artifact_cache_hits_total {}\n", stats.artifact_cache_hits));
        family(&mut out, "hearth_component_compiles_total", "counter", "Components compiled.");
        out.push_str(&format!("hearth_component_compiles_total {}\n", stats.compiles));
        family(
            &mut out,
            "hearth_events_ingested_total",
            "counter",
            "Events stored by ingest (duplicates not counted).",
        );
        out.push_str(&format!("hearth_events_ingested_total {}\n", self.inner.ingested.load(Ordering::Relaxed)));
        out
    }

    /// The counters stored for `plugin`, or zeros.
    fn stored_counters(&self, plugin: &str) -> PluginCounters {
        let stored = self.inner.counters.get(plugin.as_bytes()).ok().flatten();
        let snapshot = stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
        PluginCounters::restore(&snapshot)
    }

    /// Log events `plugin` passed over because its backlog hit the bound.
    fn backlog_skipped(&self, plugin: &str) -> u64 {
        match self.inner.backlog_skipped.get(plugin.as_bytes()) {
            Ok(Some(count)) => <[u8; 8]>::try_from(count.as_ref()).map_or(0, u64::from_be_bytes),
            _ => 0,
        }
    }

    /// Events appended but not yet handled by the slowest consumer.
    pub fn lag(&self) -> Result<u64, HostError> {
        self.inner.log.lag().map_err(|error| HostError::Engine(error.to_string()))
    }

    /// Removes delivered events older than the retention window now.
    pub fn compact(&self) -> Result<u64, HostError> {
        self.inner.log.compact(self.inner.config.retention).map_err(|error| HostError::Engine(error.to_string()))
    }
    /// Sets an operator config value for a plugin; the plugin reads it on its next call.
    pub async fn set_config(&self, plugin: &str, key: &str, value: &str) -> Result<(), HostError> {
        crate::validate::config_key(key)?;
        crate::validate::config_value(value)?;
        if self.link(plugin).is_none() {
            return Err(HostError::UnknownPlugin(plugin.to_owned()));
        }
        self.inner.config_store.set(plugin, key, value)?;
        self.inner.db.flush_async().await?;
        Ok(())
    }

    pub fn stats(&self) -> HostStats {
        HostStats {
            allocator: self.inner.allocator,
            artifact_cache_hits: self.inner.artifacts.hits(),
            compiles: self.inner.artifacts.compiles(),
            plugins: self.running().len(),
        }
    }

    /// Stops every plugin worker once the calls already queued are answered, and
    /// flushes the database. The database closes when the last clone of the host is
    /// dropped.
    pub async fn shutdown(self) -> Result<(), HostError> {
        let running = std::mem::take(&mut *self.running_mut());
        for (id, plugin) in running {
            // Not the link: its instance handles would keep the workers from stopping.
            let counters = plugin.link.counters.clone();
            plugin.stop().await;
            store_counters(&self.inner.counters, &id, &counters)?;
        }
        let compactor = self.compactor().take();
        if let Some((stop, task)) = compactor {
            stop.send_replace(true);
            let _ = task.await;
        }
        self.inner.log.close().await;
        self.inner.db.flush_async().await?;
        Ok(())
    }

    fn link(&self, plugin: &str) -> Option<PluginLink> {
        self.running().get(plugin).map(|running| running.link.clone())
    }

    fn compactor(&self) -> std::sync::MutexGuard<'_, Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>> {
        self.inner.compactor.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn running(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Running>> {
        // A panic while holding this lock cannot leave the map half-updated (every
        // write is one insert/remove/clear), so a poisoned lock is still usable.
        read_running(&self.inner)
    }

    fn running_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Running>> {
        self.inner.running.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Explains a link failure in terms of the manifest where it can.
pub(crate) fn link_error(manifest: &Manifest, error: &wasmtime::Error) -> String {
    let message = format!("{error:#}");
    if message.contains("hearth:plugin/kv") && !manifest.capabilities.kv {
        return "the component uses the kv capability, but hearth.toml does not request it \
                ([capabilities] kv = true)"
            .into();
    }
    format!("the component cannot be linked against this host: {message}")
}

/// A service call by `caller` to one plugin; failures other than the plugin's own
/// errors count towards its breaker, per caller (see [`crate::breaker`]).
async fn call_link(link: &PluginLink, call: ServiceCall, caller: &str) -> Result<ServiceResponse, CallError> {
    if let Err(retry_after) = link.breaker.admit(caller) {
        return Err(CallError::Suspended { plugin: link.id.to_string(), retry_after });
    }
    let started = std::time::Instant::now();
    let result = link.pool.handle(call).await;
    link.counters.service_latency.record(started.elapsed());
    match &result {
        Ok(_) | Err(CallError::Plugin(_)) => link.breaker.record_call_success(caller),
        Err(error) => {
            link.counters.calls_failed.fetch_add(1, Ordering::Relaxed);
            link.breaker.record_call_failure(caller, &error.to_string());
        }
    }
    result
}

/// Who a call counts against in a plugin's breaker: the household it is for, else
/// the plugin that made it, else the operator.
fn caller_key(household: Option<&str>, chain: &[Arc<str>]) -> String {
    match (household, chain.last()) {
        (Some(household), _) => format!("household:{household}"),
        (None, Some(plugin)) => format!("plugin:{plugin}"),
        (None, None) => "operator".to_owned(),
    }
}

/// The host's upkeep, each `backlog_check_interval`: every plugin's backlog kept
/// within its bound and its counters stored; each `compaction_interval`, delivered
/// events past retention removed. Holds the host weakly: it ends with the host.
async fn maintain(host: std::sync::Weak<Inner>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut compacted = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let Some(inner) = host.upgrade() else { return };
        let config = &inner.config;
        if let Err(error) = bound_backlogs(inner.log.as_ref(), &inner.backlog_skipped, config.delivery.max_backlog) {
            tracing::error!(%error, "bounding the plugins' backlogs failed");
        }
        let counters: Vec<(Arc<str>, Arc<PluginCounters>)> = read_running(&inner)
            .values()
            .map(|running| (running.link.id.clone(), running.link.counters.clone()))
            .collect();
        for (plugin, counters) in counters {
            if let Err(error) = store_counters(&inner.counters, &plugin, &counters) {
                tracing::error!(%plugin, %error, "storing the plugin's counters failed");
            }
        }
        if compacted.elapsed() < config.compaction_interval {
            continue;
        }
        compacted = Instant::now();
        match inner.log.compact(config.retention) {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "compacted the event log"),
            Err(error) => tracing::error!(%error, "compacting the event log failed"),
        }
    }
}

/// Stores a plugin's counters, so they survive restarts and upgrades.
fn store_counters(tree: &sled::Tree, plugin: &str, counters: &PluginCounters) -> Result<(), HostError> {
    let bytes = serde_json::to_vec(&counters.snapshot()).map_err(|error| HostError::Corrupt(error.to_string()))?;
    tree.insert(plugin.as_bytes(), bytes)?;
    Ok(())
}

/// Moves every subscription more than `max_backlog` behind up to the bound and adds
/// what each plugin passed over to its stored count.
fn bound_backlogs(log: &dyn EventLog, skipped: &sled::Tree, max_backlog: u64) -> Result<(), HostError> {
    let moved = log.bound_backlogs(max_backlog).map_err(|error| HostError::Engine(error.to_string()))?;
    // A plugin's subscriptions pass over the same stretch of the log: count it once.
    let mut per_plugin: BTreeMap<&str, u64> = BTreeMap::new();
    for (consumer, passed) in &moved {
        let plugin = consumer.split('|').next().unwrap_or(consumer);
        let most = per_plugin.entry(plugin).or_default();
        *most = (*most).max(*passed);
    }
    for (plugin, passed) in per_plugin {
        skipped.update_and_fetch(plugin.as_bytes(), |old| {
            let old = old.and_then(|old| <[u8; 8]>::try_from(old).ok()).map_or(0, u64::from_be_bytes);
            Some(old.saturating_add(passed).to_be_bytes().to_vec())
        })?;
        tracing::warn!(plugin, passed, max_backlog, "plugin backlog over its bound: oldest events passed over");
    }
    Ok(())
}

/// Routes a service call to a provider: the household's preference, then the operator's
/// ranking, then plugin id; skipping plugins already in the call chain (no cycles) and
/// quarantined ones, and falling through to the next provider when one fails.
async fn route_call(
    inner: &Inner,
    request: ServiceRequest,
    household: Option<String>,
    chain: Vec<Arc<str>>,
    deadline: Option<std::time::Instant>,
) -> Result<ServiceResponse, CallError> {
    let name = format!("{}.{}", request.service, request.operation);
    let mut providers: Vec<PluginLink> = read_running(inner)
        .values()
        .filter(|running| running.info.manifest.services.provides.contains(&name))
        .map(|running| running.link.clone())
        .collect();
    if providers.is_empty() {
        return Err(CallError::NoProvider(name));
    }
    let ranking: Vec<String> = match inner.rankings.get(name.as_bytes()) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
        _ => Vec::new(),
    };
    let preferred = household
        .as_deref()
        .and_then(|household| {
            inner.preferences.get(crate::capabilities::config::scoped_key(household, &name)).ok().flatten()
        })
        .map(|plugin| String::from_utf8_lossy(&plugin).into_owned());
    providers.sort_by_key(|link| {
        let rank = ranking.iter().position(|id| **id == *link.id).unwrap_or(usize::MAX);
        (preferred.as_deref() != Some(&*link.id), rank)
    });
    if let Some(household) = &household {
        // A provider serves a household only with its consent.
        providers.retain(|link| matches!(inner.delivery.households.grant_of(household, &link.id), Ok(Some(_))));
        if providers.is_empty() {
            return Err(CallError::NoProvider(format!("{name} (no provider has this household's consent)")));
        }
    }
    providers.retain(|link| !chain.contains(&link.id));
    if providers.is_empty() {
        let chain: Vec<&str> = chain.iter().map(|id| &**id).collect();
        return Err(CallError::Cycle(format!(
            "{name} is only provided by plugins already in the call chain {chain:?}"
        )));
    }
    let mut last_error = CallError::Quarantined(name.clone());
    let caller = caller_key(household.as_deref(), &chain);
    for link in providers.iter().filter(|link| !link.breaker.is_quarantined()) {
        let mut request = request.clone();
        if let Some(household) = &household {
            let reference = inner
                .delivery
                .refs
                .mint(&link.id, RefKind::Household, household)
                .map_err(|error| CallError::Storage(error.to_string()))?;
            request.household = Some(reference);
        }
        match call_link(link, ServiceCall { request, chain: chain.clone(), deadline }, &caller).await {
            result @ (Ok(_) | Err(CallError::Plugin(_))) => return result,
            Err(error) => {
                if link.log.admit() {
                    let error = error.to_string();
                    tracing::warn!(plugin = %link.id, operation = %name, error = crate::capabilities::log::cut(&error),
                        "provider failed, trying the next");
                }
                last_error = error;
            }
        }
    }
    Err(last_error)
}

fn read_running(inner: &Inner) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Running>> {
    // A panic while holding this lock cannot leave the map half-updated (every write
    // is one insert/remove/clear), so a poisoned lock is still usable.
    inner.running.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The host as plugins' service calls see it. Holds the host weakly: plugins' stores
/// must not keep the host alive.
#[derive(Default)]
struct HostRouter {
    inner: std::sync::OnceLock<std::sync::Weak<Inner>>,
}

impl HostRouter {
    fn inner(&self) -> Option<Arc<Inner>> {
        self.inner.get().and_then(std::sync::Weak::upgrade)
    }
}

impl ServiceRouter for HostRouter {
    fn route(
        &self,
        request: ServiceRequest,
        real_household: Option<String>,
        chain: Vec<Arc<str>>,
        deadline: std::time::Instant,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<ServiceResponse, CallError>> + Send + '_>> {
        Box::pin(async move {
            let inner = self.inner().ok_or(CallError::Stopped)?;
            route_call(&inner, request, real_household, chain, Some(deadline)).await
        })
    }

    fn resolve_household(&self, plugin: &str, reference: &str) -> Option<String> {
        self.inner()?.delivery.refs.resolve(plugin, reference).ok().flatten()
    }
}
