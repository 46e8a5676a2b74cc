//! Heartbeats, leases and the claims consumers hold.

use super::{ClusterConfig, stable_hash};
use crate::clock::now_ms;
use crate::storage::{Bucket, Revision, Storage, StorageError};
use crate::sync::lock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::watch;

/// A heartbeat or a lease: who, and until when (ms since the epoch, by its clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    host: String,
    until_ms: u64,
}

/// A live member as the cluster sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its host id.
    pub host: String,
    /// Its heartbeat holds until then (ms since the epoch).
    pub until_ms: u64,
    /// Units whose lease it holds.
    pub units: usize,
}

/// Which units this host runs: every one ([`Leases::solo`]) or those whose lease it
/// holds in a cluster.
#[derive(Clone, Default)]
pub struct Leases {
    shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases").field("clustered", &self.shared.is_some()).finish()
    }
}

struct Shared {
    config: ClusterConfig,
    members: Arc<dyn Bucket>,
    leases: Arc<dyn Bucket>,
    units: Mutex<BTreeMap<String, Unit>>,
}

/// A unit this host could run.
struct Unit {
    owned: watch::Sender<bool>,
    /// The claimant's task is running the unit's work (it may still be finishing
    /// after `owned` turned false).
    running: Arc<AtomicBool>,
    /// The lease's revision while this host holds it, and until when it holds.
    held: Option<(Revision, u64)>,
    /// Ticks the unit had no live holder.
    orphaned: u32,
    claims: usize,
}

/// A unit nobody took up for this many ticks goes to any host that claims it (its
/// rendezvous owner may not run that plugin, e.g. it failed to start there).
const ORPHANED_TICKS: u32 = 3;

/// The right to run one unit, while [`Claim::owned`] says so.
pub struct Claim {
    unit: String,
    owned: watch::Receiver<bool>,
    running: Arc<AtomicBool>,
    shared: Weak<Shared>,
    /// Alone, the sender of `owned`, kept so that it never closes.
    _solo: Option<watch::Sender<bool>>,
}

impl Claim {
    /// Whether this host runs the unit now; changes when a lease is taken or lost.
    pub fn owned(&self) -> watch::Receiver<bool> {
        self.owned.clone()
    }

    /// The claimant reports whether it is running the unit's work: a lease is let go
    /// only once the work stopped.
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Release);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else { return };
        let release = {
            let mut units = lock(&shared.units);
            let Some(unit) = units.get_mut(&self.unit) else { return };
            unit.claims -= 1;
            if unit.claims > 0 {
                return;
            }
            units.remove(&self.unit).and_then(|unit| unit.held)
        };
        if let Some((revision, _)) = release {
            // The next owner need not wait for the lease to run out.
            let _ = shared.leases.delete_if(self.unit.as_bytes(), revision);
        }
    }
}

fn decode(bytes: &[u8]) -> Option<Stamp> {
    serde_json::from_slice(bytes).ok()
}

fn encode(stamp: &Stamp) -> Vec<u8> {
    serde_json::to_vec(stamp).unwrap_or_default()
}

impl Leases {
    /// One host alone: every claim is owned at once and for good.
    pub fn solo() -> Self {
        Leases { shared: None }
    }

    /// Joins the cluster whose state is in `storage` and keeps the membership and the
    /// leases up to date until the returned value and its claims are dropped (or
    /// [`Leases::leave`]). Must be called within a tokio runtime.
    pub fn join(storage: &dyn Storage, config: ClusterConfig) -> Result<Self, StorageError> {
        let shared = Arc::new(Shared {
            members: storage.bucket("cluster-members")?,
            leases: storage.bucket("cluster-leases")?,
            config,
            units: Mutex::default(),
        });
        shared.heartbeat()?;
        let weak = Arc::downgrade(&shared);
        let tick = shared.config.tick();
        // A round may hang on a backend that does not answer (each call has its own
        // timeout, a round has many): the leases this host can no longer be sure to
        // hold are let go on time regardless, so their work stops before another host
        // may take them.
        let watched = Arc::downgrade(&shared);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            loop {
                ticks.tick().await;
                let Some(shared) = watched.upgrade() else { return };
                shared.stop_expiring(None);
            }
        });
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                // Storage calls block; keep them off the runtime's workers.
                let done = tokio::task::spawn_blocking(move || shared.tick()).await;
                if let Ok(Err(error)) = done {
                    tracing::warn!(%error, "cluster heartbeat or leases failed");
                }
            }
        });
        Ok(Leases { shared: Some(shared) })
    }

    /// This host's id in the cluster (`None` alone).
    pub fn host_id(&self) -> Option<&str> {
        self.shared.as_ref().map(|shared| shared.config.host_id.as_str())
    }

    /// Registers `unit` as work this host can run.
    pub fn claim(&self, unit: &str) -> Claim {
        let Some(shared) = &self.shared else {
            let (solo, owned) = watch::channel(true);
            return Claim {
                unit: unit.to_owned(),
                owned,
                running: Arc::default(),
                shared: Weak::new(),
                _solo: Some(solo),
            };
        };
        let mut units = lock(&shared.units);
        let entry = units.entry(unit.to_owned()).or_insert_with(|| Unit {
            owned: watch::channel(false).0,
            running: Arc::default(),
            held: None,
            orphaned: 0,
            claims: 0,
        });
        entry.claims += 1;
        Claim {
            unit: unit.to_owned(),
            owned: entry.owned.subscribe(),
            running: entry.running.clone(),
            shared: Arc::downgrade(shared),
            _solo: None,
        }
    }

    /// The live members and how many leases each holds (alone: empty).
    pub fn members(&self) -> Result<Vec<Member>, StorageError> {
        let Some(shared) = &self.shared else { return Ok(Vec::new()) };
        let now = now_ms();
        let mut members: Vec<Member> = shared
            .live(now)?
            .into_iter()
            .map(|stamp| Member { host: stamp.host, until_ms: stamp.until_ms, units: 0 })
            .collect();
        for (_, entry) in shared.leases.scan(b"")? {
            if let Some(lease) = decode(&entry.value).filter(|lease| lease.until_ms > now)
                && let Some(member) = members.iter_mut().find(|member| member.host == lease.host)
            {
                member.units += 1;
            }
        }
        Ok(members)
    }

    /// Units this host holds the lease of now.
    pub fn held(&self) -> Vec<String> {
        let Some(shared) = &self.shared else { return Vec::new() };
        lock(&shared.units).iter().filter(|(_, unit)| unit.held.is_some()).map(|(name, _)| name.clone()).collect()
    }

    /// Leaves the cluster: lets go of every lease (the work must have stopped) and of
    /// the heartbeat, so the others take over at their next tick.
    pub fn leave(&self) {
        let Some(shared) = &self.shared else { return };
        let held: Vec<(String, Revision)> = lock(&shared.units)
            .iter_mut()
            .filter_map(|(name, unit)| {
                unit.owned.send_replace(false);
                unit.held.take().map(|(revision, _)| (name.clone(), revision))
            })
            .collect();
        for (unit, revision) in held {
            let _ = shared.leases.delete_if(unit.as_bytes(), revision);
        }
        let _ = shared.members.delete(shared.config.host_id.as_bytes());
    }
}

impl Shared {
    fn heartbeat(&self) -> Result<(), StorageError> {
        let stamp =
            Stamp { host: self.config.host_id.clone(), until_ms: now_ms() + self.config.lease.as_millis() as u64 };
        self.members.put(self.config.host_id.as_bytes(), &encode(&stamp))?;
        Ok(())
    }

    /// Members whose heartbeat holds at `now`, by host id.
    fn live(&self, now: u64) -> Result<Vec<Stamp>, StorageError> {
        let mut live: Vec<Stamp> = self
            .members
            .scan(b"")?
            .into_iter()
            .filter_map(|(_, entry)| decode(&entry.value))
            .filter(|stamp| stamp.until_ms > now)
            .collect();
        live.sort_by(|a, b| a.host.cmp(&b.host));
        Ok(live)
    }

    /// The member that should run `unit`: the highest rendezvous score.
    fn owner<'a>(unit: &str, live: &'a [Stamp]) -> Option<&'a str> {
        live.iter()
            .max_by_key(|stamp| stable_hash(&[unit.as_bytes(), stamp.host.as_bytes()]))
            .map(|stamp| stamp.host.as_str())
    }

    /// One round: heartbeat, then for every claimed unit renew, hand over or take its lease.
    fn tick(&self) -> Result<(), StorageError> {
        let now = now_ms();
        let live = match self.heartbeat().and_then(|()| self.live(now)) {
            Ok(live) => live,
            Err(error) => {
                // No round at all: every held lease goes unrenewed.
                self.stop_expiring(None);
                return Err(error);
            }
        };
        let me = self.config.host_id.as_str();
        let names: Vec<String> = lock(&self.units).keys().cloned().collect();
        for name in names {
            if let Err(error) = self.tick_unit(&name, me, &live, now) {
                tracing::warn!(unit = %name, %error, "lease round failed");
                self.stop_expiring(Some(&name));
            }
        }
        Ok(())
    }

    /// Cut off from the backend: stops the units (`only` one, or all) whose lease runs
    /// out within half the lease time, while it still holds, so their work has stopped
    /// by the time another host may take them.
    fn stop_expiring(&self, only: Option<&str>) {
        let margin = self.config.lease.as_millis() as u64 / 2;
        let deadline = now_ms() + margin;
        for (name, unit) in lock(&self.units).iter_mut() {
            if only.is_none_or(|only| only == name) && unit.held.is_some_and(|(_, until)| until <= deadline) {
                unit.held = None;
                unit.owned.send_replace(false);
            }
        }
    }

    fn tick_unit(&self, name: &str, me: &str, live: &[Stamp], now: u64) -> Result<(), StorageError> {
        let key = name.as_bytes();
        let wanted = Shared::owner(name, live) == Some(me);
        let current = self.leases.get(key)?;
        let lease = current.as_ref().and_then(|entry| decode(&entry.value).map(|stamp| (stamp, entry.revision)));
        let until = now + self.config.lease.as_millis() as u64;
        let stamp = encode(&Stamp { host: me.to_owned(), until_ms: until });
        let mut units = lock(&self.units);
        let Some(unit) = units.get_mut(name) else { return Ok(()) };
        let running = unit.running.load(Ordering::Acquire);
        match (unit.held, &lease) {
            // Ours: hand it over if another member should run it, else renew it.
            (Some((revision, _)), Some((holder, stored))) if holder.host == me && *stored == revision => {
                if !wanted {
                    unit.owned.send_replace(false);
                    if !running {
                        unit.held = None;
                        drop(units);
                        return self.leases.delete_if(key, revision).or_else(ignore_conflict);
                    }
                    // Still finishing: keep the lease until the work stopped.
                }
                drop(units);
                let renewed = self.leases.update(key, &stamp, revision);
                let mut units = lock(&self.units);
                let Some(unit) = units.get_mut(name) else { return Ok(()) };
                match renewed {
                    Ok(revision) => {
                        unit.held = Some((revision, until));
                        // The watchdog may have let it go while the renewal was slow;
                        // renewed, it is this host's again for a whole lease.
                        if wanted {
                            unit.owned.send_if_modified(|owned| !std::mem::replace(owned, true));
                        }
                    }
                    Err(StorageError::Conflict) => {
                        unit.held = None;
                        unit.owned.send_replace(false);
                    }
                    Err(error) => return Err(error),
                }
                Ok(())
            }
            (held, _) => {
                if held.is_some() {
                    // Someone else's now (it ran out and was taken): stop.
                    unit.held = None;
                    unit.owned.send_replace(false);
                }
                // A lease this host id holds but this process never took is a previous
                // run's (host ids are unique): it is free.
                let free = lease
                    .as_ref()
                    .is_none_or(|(holder, _)| holder.until_ms <= now || (holder.host == me && held.is_none()));
                unit.orphaned = if free { unit.orphaned + 1 } else { 0 };
                if !free || running || !(wanted || unit.orphaned > ORPHANED_TICKS) {
                    return Ok(());
                }
                drop(units);
                let taken = match &lease {
                    None => self.leases.create(key, &stamp),
                    Some((_, revision)) => self.leases.update(key, &stamp, *revision),
                };
                match taken {
                    Ok(revision) => {
                        let mut units = lock(&self.units);
                        if let Some(unit) = units.get_mut(name) {
                            unit.held = Some((revision, until));
                            unit.orphaned = 0;
                            unit.owned.send_replace(true);
                        }
                        Ok(())
                    }
                    Err(StorageError::Conflict) => Ok(()),
                    Err(error) => Err(error),
                }
            }
        }
    }
}

fn ignore_conflict(error: StorageError) -> Result<(), StorageError> {
    match error {
        StorageError::Conflict => Ok(()),
        error => Err(error),
    }
}
