//! [`Host`]: an embedded Hearth host over one data directory. It installs plugins,
//! keeps them across restarts, and routes events and service calls to their workers.

use crate::bindings::{Caller, Event, PartnerPluginPre, ServiceRequest, ServiceResponse};
use crate::capabilities::config::{ConfigStore, SledConfig};
use crate::capabilities::kv::SledKv;
use crate::component::{self, ArtifactCache};
use crate::engine::{self, Allocator, EngineConfig};
use crate::limits::Limits;
use crate::state::{self, Backends};
use crate::worker::{self, PluginHandle, PluginRuntime};
use crate::{CallError, HostError};
use hearth_registry::Manifest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use wasmtime::Engine;

/// How a host is set up.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    pub engine: EngineConfig,
    /// Limits for plugins that request none.
    pub default_limits: Limits,
    /// The operator's caps: no plugin gets more, whatever it requests.
    pub max_limits: Limits,
}

/// An installed plugin as the host stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PluginRecord {
    manifest: String,
    component: String,
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
    handle: PluginHandle,
    worker: tokio::task::JoinHandle<()>,
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
    running: RwLock<BTreeMap<String, Running>>,
}

impl Host {
    /// Opens (or creates) the host's database in `data_dir` and starts every
    /// installed plugin. Must be called within a tokio runtime.
    pub async fn open(data_dir: &Path, config: HostConfig) -> Result<Host, HostError> {
        std::fs::create_dir_all(data_dir)?;
        let db = sled::open(data_dir.join("db"))?;
        let (engine, allocator) = engine::new_engine(&config.engine)?;
        let config_store = Arc::new(SledConfig::new(db.open_tree("plugin-config")?));
        let inner = Inner {
            artifacts: ArtifactCache::new(db.open_tree("artifacts")?, &engine),
            plugins_tree: db.open_tree("plugins")?,
            components: db.open_tree("components")?,
            backends: Backends {
                kv: Arc::new(SledKv::new(db.open_tree("kv")?)),
                config: config_store.clone(),
            },
            config_store,
            engine,
            allocator,
            db,
            config,
            running: RwLock::new(BTreeMap::new()),
        };
        let host = Host {
            inner: Arc::new(inner),
        };
        for entry in host.inner.plugins_tree.iter() {
            let (id, record) = entry?;
            let record: PluginRecord = serde_json::from_slice(&record)
                .map_err(|error| HostError::Corrupt(format!("plugin record: {error}")))?;
            let manifest: Manifest = record.manifest.parse()?;
            let bytes = host
                .inner
                .components
                .get(&record.component)?
                .ok_or_else(|| {
                    HostError::Corrupt(format!(
                        "component {} of plugin {} is missing",
                        record.component,
                        String::from_utf8_lossy(&id)
                    ))
                })?;
            host.start(manifest, bytes.to_vec()).await?;
        }
        Ok(host)
    }

    /// Validates, compiles (or fetches from the artifact cache), links and starts a
    /// plugin, and records it so it is started again after a restart. Installing a
    /// plugin id again replaces the running version.
    pub async fn install(
        &self,
        manifest: Manifest,
        component: Vec<u8>,
    ) -> Result<LoadedPlugin, HostError> {
        component::check_bytes(&component)?;
        let hash = component::content_hash(&component);
        self.inner
            .components
            .insert(hash.as_bytes(), component.as_slice())?;
        let loaded = self.start(manifest.clone(), component).await?;
        let record = PluginRecord {
            manifest: manifest.to_toml(),
            component: hash,
        };
        let record =
            serde_json::to_vec(&record).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.inner
            .plugins_tree
            .insert(manifest.plugin.id.as_bytes(), record)?;
        self.inner.db.flush_async().await?;
        tracing::info!(plugin = %manifest.plugin.id, version = %manifest.plugin.version, "installed");
        Ok(loaded)
    }

    async fn start(
        &self,
        manifest: Manifest,
        component: Vec<u8>,
    ) -> Result<LoadedPlugin, HostError> {
        component::check_bytes(&component)?;
        let hash = component::content_hash(&component);
        let started = Instant::now();
        let inner = self.inner.clone();
        let compile_hash = hash.clone();
        let compiled = tokio::task::spawn_blocking(move || {
            inner
                .artifacts
                .load(&inner.engine, &compile_hash, &component)
        })
        .await
        .map_err(|error| HostError::Engine(format!("compile task failed: {error}")))??;
        let load_time = started.elapsed();
        let engine = &self.inner.engine;
        component::check_world(engine, &compiled)?;
        let linker = state::linker(engine, &manifest.capabilities)
            .map_err(|error| HostError::Engine(format!("{error:#}")))?;
        let pre = linker
            .instantiate_pre(&compiled)
            .and_then(PartnerPluginPre::new)
            .map_err(|error| HostError::InvalidComponent(link_error(&manifest, &error)))?;
        let limits = Limits::resolve(
            &manifest.limits,
            &self.inner.config.default_limits,
            &self.inner.config.max_limits,
        );
        let id: Arc<str> = manifest.plugin.id.as_str().into();
        let (handle, worker) = worker::spawn(PluginRuntime {
            id: id.clone(),
            engine: engine.clone(),
            pre,
            limits,
            backends: self.inner.backends.clone(),
        });
        let info = LoadedPlugin {
            manifest,
            limits,
            component_hash: hash,
            load_time,
        };
        let replaced = self.running_mut().insert(
            id.to_string(),
            Running {
                info: info.clone(),
                handle,
                worker,
            },
        );
        if let Some(old) = replaced {
            drop(old.handle);
            let _ = old.worker.await;
        }
        Ok(info)
    }

    /// The installed plugins, by id.
    pub fn plugins(&self) -> Vec<LoadedPlugin> {
        self.running()
            .values()
            .map(|running| running.info.clone())
            .collect()
    }

    /// Delivers one event to one plugin and waits until it is handled.
    pub async fn deliver(&self, plugin: &str, event: Event) -> Result<(), CallError> {
        let handle = self
            .handle(plugin)
            .ok_or_else(|| CallError::NoProvider(plugin.to_owned()))?;
        handle.on_event(event).await
    }

    /// Calls `service.operation` on the plugin that provides it (the first by id
    /// when several do).
    pub async fn call_service(
        &self,
        service: &str,
        operation: &str,
        caller: Caller,
        household: Option<String>,
        input: Vec<u8>,
    ) -> Result<ServiceResponse, CallError> {
        let name = format!("{service}.{operation}");
        let handle = self
            .running()
            .values()
            .find(|running| running.info.manifest.services.provides.contains(&name))
            .map(|running| running.handle.clone())
            .ok_or(CallError::NoProvider(name))?;
        let request = ServiceRequest {
            service: service.to_owned(),
            operation: operation.to_owned(),
            caller,
            household,
            input,
        };
        handle.handle(request).await
    }

    /// Calls a service operation on one specific plugin.
    pub async fn call_plugin(
        &self,
        plugin: &str,
        request: ServiceRequest,
    ) -> Result<ServiceResponse, CallError> {
        let handle = self
            .handle(plugin)
            .ok_or_else(|| CallError::NoProvider(plugin.to_owned()))?;
        handle.handle(request).await
    }

    /// Sets an operator config value for a plugin; the plugin reads it on its next call.
    pub async fn set_config(&self, plugin: &str, key: &str, value: &str) -> Result<(), HostError> {
        if self.handle(plugin).is_none() {
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
        for (_, Running { handle, worker, .. }) in running {
            drop(handle);
            let _ = worker.await;
        }
        self.inner.db.flush_async().await?;
        Ok(())
    }

    fn handle(&self, plugin: &str) -> Option<PluginHandle> {
        self.running()
            .get(plugin)
            .map(|running| running.handle.clone())
    }

    fn running(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Running>> {
        // A panic while holding this lock cannot leave the map half-updated (every
        // write is one insert/remove/clear), so a poisoned lock is still usable.
        self.inner
            .running
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn running_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Running>> {
        self.inner
            .running
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Explains a link failure in terms of the manifest where it can.
fn link_error(manifest: &Manifest, error: &wasmtime::Error) -> String {
    let message = format!("{error:#}");
    if message.contains("hearth:plugin/kv") && !manifest.capabilities.kv {
        return "the component uses the kv capability, but hearth.toml does not request it \
                ([capabilities] kv = true)"
            .into();
    }
    format!("the component cannot be linked against this host: {message}")
}
