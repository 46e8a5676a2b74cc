//! [`Host`]: an embedded Hearth host over one data directory — a thin facade over the
//! parts that do the work: [`Plugins`], the service [`Router`], [`Households`],
//! [`Commerce`], the event log and its consumers.

use crate::backend::Backend;
use crate::bindings::{Caller, ServiceRequest, ServiceResponse};
use crate::capabilities::Backends;
use crate::capabilities::kv::PluginKv;
use crate::cluster::Leases;
use crate::commerce::Commerce;
use crate::commerce::ledger::{LedgerEntry, Statement};
use crate::commerce::orders::{Order, OrderStatus, Orders};
use crate::config::HostConfig;
use crate::events::dead_letters::{DeadLetter, DeadLetters};
use crate::events::delivery::Delivery;
use crate::events::ingest::{self, IngestError, Receipt};
use crate::events::log::{EventLog, Seq, SledLog, StoredEvent};
use crate::households::commands::{CommandQueue, QueuedCommand};
use crate::households::notifications::{Notification, Notifications};
use crate::households::refs::Pseudonyms;
use crate::households::{Device, Grant, Households};
use crate::plugins::Plugins;
use crate::plugins::logbook::LogBook;
use crate::plugins::running::Directory;
use crate::plugins::status::{LoadedPlugin, PluginStatus};
use crate::plugins::trust::TrustStore;
use crate::runtime::engine::{self, Allocator};
use crate::services::Router;
use crate::storage::Storage;
use crate::storage::sled::SledStorage;
use crate::{CallError, HostError};
use hearth_package::{Capabilities, Manifest, RequestedLimits};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

/// Counters that show what the host did since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostStats {
    /// The instance allocator in use.
    pub allocator: Allocator,
    /// Components loaded from the compiled-artifact cache.
    pub artifact_cache_hits: u64,
    /// Components compiled.
    pub compiles: u64,
    /// Running plugins.
    pub plugins: usize,
}

/// An embedded Hearth host. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: HostConfig,
    pub(crate) storage: Arc<dyn Storage>,
    allocator: Allocator,
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) delivery: Arc<Delivery>,
    pub(crate) plugins: Arc<Plugins>,
    pub(crate) directory: Arc<Directory>,
    pub(crate) router: Arc<Router>,
    pub(crate) households: Households,
    pub(crate) refs: Pseudonyms,
    pub(crate) kv: PluginKv,
    pub(crate) notifications: Arc<Notifications>,
    pub(crate) commands: CommandQueue,
    pub(crate) commerce: Commerce,
    /// Events stored by ingest since the host started.
    pub(crate) ingested: AtomicU64,
    /// The upkeep task and its stop signal; shutdown waits for it.
    upkeep: std::sync::Mutex<Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>>,
}

impl Host {
    /// Opens (or creates) the host's database in `data_dir` and starts every
    /// installed plugin. Must be called within a tokio runtime.
    pub async fn open(data_dir: &Path, config: HostConfig) -> Result<Host, HostError> {
        std::fs::create_dir_all(data_dir)?;
        let sled = SledStorage::open(&data_dir.join("db"))?;
        let log = SledLog::open(sled.database(), config.durable)?;
        Host::open_on(Backend { storage: Arc::new(sled), log, cluster: None }, config).await
    }

    /// Opens a host on `backend` (a cluster's shared state, for one) and starts every
    /// installed plugin. Must be called within a tokio runtime.
    pub async fn open_on(backend: Backend, config: HostConfig) -> Result<Host, HostError> {
        let Backend { storage, log, cluster } = backend;
        let clustered = cluster.is_some();
        let leases = match cluster {
            Some(cluster) => Leases::join(&*storage, cluster)?,
            None => Leases::solo(),
        };
        let (engine, allocator) = engine::new_engine(&config.engine)?;
        let households = Households::open(&*storage)?;
        let refs = Pseudonyms::open(&*storage)?;
        let delivery = Arc::new(Delivery {
            log: log.clone(),
            households: households.clone(),
            refs: refs.clone(),
            dead_letters: DeadLetters::open(&*storage)?,
            config: config.delivery.clone(),
            leases: leases.clone(),
        });
        let directory = Arc::new(Directory::default());
        let router = Arc::new(Router::open(&*storage, &directory, households.clone(), refs.clone())?);
        let notifications = Arc::new(Notifications::open(storage.clone(), config.notify_limit)?);
        let orders = Orders::open(&*storage)?;
        let backends = Backends {
            storage: storage.clone(),
            kv: PluginKv::open(&*storage)?,
            kv_quota_bytes: config.kv_quota_bytes,
            config: crate::capabilities::config::PluginConfig::open(&*storage)?,
            refs: refs.clone(),
            households: households.clone(),
            notifications: notifications.clone(),
            orders: orders.clone(),
            commands: CommandQueue::open(storage.clone())?,
            router: router.clone(),
            http_limits: config.http_limits,
        };
        let plugins = Arc::new(Plugins::open(
            engine,
            config.clone(),
            storage.clone(),
            backends.clone(),
            delivery.clone(),
            directory.clone(),
        )?);
        let (stop_upkeep, upkeep_stop) = watch::channel(false);
        let upkeep = tokio::spawn(crate::upkeep::run(
            Arc::downgrade(&plugins),
            Arc::downgrade(&log),
            config.clone(),
            upkeep_stop,
        ));
        let inner = Inner {
            commerce: Commerce::open(storage.clone(), orders, log.clone())?,
            kv: backends.kv,
            commands: backends.commands,
            config,
            storage,
            allocator,
            log,
            delivery,
            plugins,
            directory,
            router,
            households,
            refs,
            notifications,
            ingested: AtomicU64::new(0),
            upkeep: std::sync::Mutex::new(Some((stop_upkeep, upkeep))),
        };
        let host = Host { inner: Arc::new(inner) };
        if clustered {
            // Other hosts change plugins and consent too: follow what they write.
            host.inner.households.follow()?;
            host.inner.plugins.follow()?;
        }
        host.inner.plugins.start_installed().await?;
        Ok(host)
    }

    /// The storage every part of the host keeps its state in (the server keeps its
    /// tokens and audit log there too).
    pub fn storage(&self) -> Arc<dyn Storage> {
        self.inner.storage.clone()
    }

    // Plugins.

    /// Validates, compiles, links and starts a plugin (an upgrade when another version
    /// is installed); see [`Plugins::install`].
    pub async fn install(&self, manifest: Manifest, component: Vec<u8>) -> Result<LoadedPlugin, HostError> {
        self.inner.plugins.install(manifest, component).await
    }

    /// Installs a signed package: refused unless it is signed by a key the operator
    /// trusts for its publisher (or unsigned, when the dev flag allows that).
    pub async fn install_package(&self, bytes: &[u8]) -> Result<LoadedPlugin, HostError> {
        let package = self.inner.plugins.verify_package(bytes)?;
        self.install(package.manifest, package.component).await
    }

    /// Reads a package and checks its signature against the trust store.
    pub fn verify_package(&self, bytes: &[u8]) -> Result<hearth_package::Package, HostError> {
        self.inner.plugins.verify_package(bytes)
    }

    /// What the host was opened with (the dev flag, the largest component, limits).
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// The operator's trust store of publisher keys.
    pub fn trust_store(&self) -> &TrustStore {
        self.inner.plugins.trust_store()
    }

    /// Goes back to the version the last upgrade replaced.
    pub async fn rollback(&self, plugin: &str) -> Result<LoadedPlugin, HostError> {
        self.inner.plugins.rollback(plugin).await
    }

    /// The version a rollback would go back to.
    pub fn previous_version(&self, plugin: &str) -> Result<Option<String>, HostError> {
        self.inner.plugins.previous_version(plugin)
    }

    /// Stops a plugin without uninstalling it; returns whether it ran.
    pub async fn disable(&self, plugin: &str) -> Result<bool, HostError> {
        self.inner.plugins.disable(plugin).await
    }

    /// Starts a disabled plugin again.
    pub async fn enable(&self, plugin: &str) -> Result<LoadedPlugin, HostError> {
        self.inner.plugins.enable(plugin).await
    }

    /// Uninstalls a plugin and deletes what is kept for it; see [`Plugins::remove`].
    pub async fn remove(&self, plugin: &str) -> Result<usize, HostError> {
        self.inner.plugins.remove(plugin).await
    }

    /// Grants the plugin part (or all) of what its manifest requests.
    pub async fn set_grants(&self, plugin: &str, grants: Capabilities) -> Result<LoadedPlugin, HostError> {
        self.inner.plugins.set_grants(plugin, grants).await
    }

    /// Tightens the plugin's limits.
    pub async fn set_limits(&self, plugin: &str, limits: RequestedLimits) -> Result<LoadedPlugin, HostError> {
        self.inner.plugins.set_limits(plugin, limits).await
    }

    /// Ids of installed plugins that are disabled.
    pub fn disabled_plugins(&self) -> Result<Vec<String>, HostError> {
        self.inner.plugins.disabled()
    }

    /// The running plugins (installed and not disabled), by id.
    pub fn plugins(&self) -> Vec<LoadedPlugin> {
        self.inner.plugins.running()
    }

    /// Lifts a plugin's quarantine; returns whether it was quarantined.
    pub async fn resume(&self, plugin: &str) -> Result<bool, HostError> {
        self.inner.plugins.resume(plugin).await
    }

    /// Delivery counters and quarantine state of a running plugin.
    pub fn status(&self, plugin: &str) -> Option<PluginStatus> {
        self.inner.plugins.status(plugin)
    }

    /// Sets an operator config value for a plugin; the plugin reads it on its next call.
    pub async fn set_config(&self, plugin: &str, key: &str, value: &str) -> Result<(), HostError> {
        crate::validate::config_key(key)?;
        crate::validate::config_value(value)?;
        self.inner.plugins.link(plugin)?;
        self.inner.plugins.set_config(plugin, key, value)?;
        self.inner.storage.flush().await?;
        Ok(())
    }

    // Events.

    /// Validates and durably appends the events a device sent; they are then
    /// delivered to every plugin that subscribes and has the household's consent.
    pub async fn ingest(&self, device: &str, request: &[u8]) -> Result<Vec<Receipt>, IngestError> {
        let inner = &self.inner;
        let receipts = ingest::ingest(&*inner.log, &inner.households, &inner.config.ingest, device, request).await?;
        let fresh = receipts.iter().filter(|receipt| !receipt.duplicate).count() as u64;
        inner.ingested.fetch_add(fresh, Ordering::Relaxed);
        Ok(receipts)
    }

    /// The plugin's dead letters, oldest first.
    pub fn dead_letters(&self, plugin: &str) -> Result<Vec<DeadLetter>, HostError> {
        self.inner.delivery.dead_letters.list(plugin)
    }

    /// One dead letter, with the event and the last error.
    pub fn dead_letter(&self, plugin: &str, seq: Seq) -> Result<Option<DeadLetter>, HostError> {
        self.inner.delivery.dead_letters.get(plugin, seq)
    }

    /// Delivers a dead letter again the way its consumer would; on success it is
    /// removed, on failure it stays with the new error.
    pub async fn redrive(&self, plugin: &str, seq: Seq) -> Result<(), HostError> {
        let link = self.inner.plugins.link(plugin)?;
        self.inner.delivery.redrive(&link, seq).await?;
        self.inner.storage.flush().await?;
        Ok(())
    }

    /// Events appended but not yet handled by the slowest consumer.
    pub fn lag(&self) -> Result<u64, HostError> {
        Ok(self.inner.log.lag()?)
    }

    /// Removes delivered events older than the retention window now.
    pub fn compact(&self) -> Result<u64, HostError> {
        Ok(self.inner.log.compact(self.inner.config.retention)?)
    }

    // Services.

    /// Calls `service.operation` for an appliance, app or operator; see [`Router::call`].
    /// `household` is the real household id; the provider sees its own ref of it.
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
        self.inner.router.call(request, household, Vec::new(), None).await
    }

    /// The operator's order of preference among the providers of `service.operation`.
    pub fn set_provider_ranking(&self, operation: &str, plugins: &[&str]) -> Result<(), HostError> {
        self.inner.router.set_ranking(operation, plugins)
    }

    /// A household's preferred provider of `service.operation`.
    pub fn set_provider_preference(&self, household: &str, operation: &str, plugin: &str) -> Result<(), HostError> {
        self.inner.router.set_preference(household, operation, plugin)
    }

    // Households.

    /// Registers a household.
    pub fn add_household(&self, id: &str) -> Result<(), HostError> {
        self.inner.households.add_household(id)
    }

    /// Whether the household is registered.
    pub fn has_household(&self, id: &str) -> Result<bool, HostError> {
        self.inner.households.has_household(id)
    }

    /// A page of households by id, with their devices (see [`Households::page`]).
    pub fn households_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<crate::households::HouseholdPage, HostError> {
        self.inner.households.page(prefix, after, limit.max(1))
    }

    /// Registers a device to a household.
    pub fn add_device(&self, device: Device) -> Result<(), HostError> {
        self.inner.households.add_device(device)
    }

    /// A registered device.
    pub fn device(&self, id: &str) -> Result<Option<Device>, HostError> {
        self.inner.households.device(id)
    }

    /// The household's registered devices.
    pub fn devices_of(&self, household: &str) -> Result<Vec<Device>, HostError> {
        self.inner.households.devices_of(household)
    }

    /// A household lets `plugin` receive events of the devices `grant` covers.
    pub async fn grant(&self, household: &str, plugin: &str, grant: &Grant) -> Result<(), HostError> {
        self.inner.households.grant(household, plugin, grant)?;
        self.inner.storage.flush().await?;
        Ok(())
    }

    /// The household's grant to `plugin`, if any.
    pub fn grant_of(&self, household: &str, plugin: &str) -> Result<Option<Grant>, HostError> {
        self.inner.households.grant_of(household, plugin)
    }

    /// Withdraws a household's consent. Nothing not yet delivered reaches the plugin
    /// any more, and the plugin receives `household.consent.revoked` (with its ref of
    /// the household) so it can forget the household. Returns whether a grant existed.
    pub async fn revoke(&self, household: &str, plugin: &str) -> Result<bool, HostError> {
        if !self.inner.households.revoke(household, plugin)? {
            return Ok(false);
        }
        let notice = StoredEvent::consent_revoked(household.to_owned(), plugin.to_owned(), false)?;
        // Appending flushes, which also makes the revocation itself durable.
        self.inner.log.append(vec![notice]).await?;
        Ok(true)
    }

    /// The household's notifications, oldest first.
    pub fn notifications(&self, household: &str) -> Result<Vec<Notification>, HostError> {
        self.inner.notifications.list(household)
    }

    /// Takes the commands queued for a device, oldest first (the appliance fetching them).
    pub fn take_commands(&self, device: &str) -> Result<Vec<QueuedCommand>, HostError> {
        self.inner.commands.take(device)
    }

    // Commerce.

    /// Orders proposed to the household that wait for its answer.
    pub fn offers(&self, household: &str) -> Result<Vec<Order>, HostError> {
        self.inner.commerce.of_household(household, Some(OrderStatus::Pending))
    }

    /// Every order proposed to the household.
    pub fn orders(&self, household: &str) -> Result<Vec<Order>, HostError> {
        self.inner.commerce.of_household(household, None)
    }

    /// The household confirms an order; see [`Commerce::confirm`].
    pub async fn confirm_order(&self, household: &str, plugin: &str, order_id: &str) -> Result<LedgerEntry, HostError> {
        self.inner.commerce.confirm(household, plugin, order_id).await
    }

    /// The household declines an order.
    pub async fn decline_order(&self, household: &str, plugin: &str, order_id: &str) -> Result<(), HostError> {
        self.inner.commerce.decline(household, plugin, order_id).await
    }

    /// Sets the publisher's share of gross, in basis points.
    pub fn set_agreement(&self, publisher: &str, publisher_bp: u32) -> Result<(), HostError> {
        self.inner.commerce.set_agreement(publisher, publisher_bp)
    }

    /// Every revenue-share agreement: publisher and basis points, by publisher.
    pub fn agreements(&self) -> Result<Vec<(String, u32)>, HostError> {
        self.inner.commerce.agreements()
    }

    /// The publisher's statement for a month (`YYYY-MM`).
    pub fn statement(&self, publisher: &str, month: &str) -> Result<Statement, HostError> {
        self.inner.commerce.statement(publisher, month)
    }

    // Operations.

    /// This host's id in its cluster and the live members (alone: `None` and none).
    pub fn cluster(&self) -> Result<(Option<String>, Vec<crate::cluster::Member>), HostError> {
        let leases = &self.inner.delivery.leases;
        Ok((leases.host_id().map(str::to_owned), leases.members()?))
    }

    /// What the host did since it started.
    pub fn stats(&self) -> HostStats {
        let (artifact_cache_hits, compiles) = self.inner.plugins.artifact_counts();
        HostStats {
            allocator: self.inner.allocator,
            artifact_cache_hits,
            compiles,
            plugins: self.inner.directory.read().len(),
        }
    }

    /// Each plugin's recent log lines (its own and the host's about it) and levels.
    pub fn logbook(&self) -> &LogBook {
        self.inner.plugins.logbook()
    }

    /// Stops every plugin worker once the calls already queued are answered, and
    /// flushes the database. The database closes when the last clone of the host is
    /// dropped.
    pub async fn shutdown(self) -> Result<(), HostError> {
        self.inner.plugins.stop_all().await?;
        // The other members take over this host's partitions at their next tick.
        self.inner.delivery.leases.leave();
        let upkeep = crate::sync::lock(&self.inner.upkeep).take();
        if let Some((stop, task)) = upkeep {
            stop.send_replace(true);
            let _ = task.await;
        }
        self.inner.log.close().await;
        self.inner.storage.flush().await?;
        Ok(())
    }
}
