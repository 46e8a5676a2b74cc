//! Households, their devices, and the consent they give plugins.
//!
//! A household grants a plugin access to device kinds (`fridge`, `oven`, …) or single
//! devices. Only events covered by a grant reach the plugin; the check runs at
//! delivery time, so a revocation holds for everything not yet delivered.

pub mod commands;
pub mod notifications;
pub mod refs;

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Index, Storage, decode_json, encode_json, scoped_key, split_scoped};
use refs::Pseudonyms;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// An appliance registered to a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Device {
    /// Unique across the host.
    pub id: String,
    /// The household it belongs to.
    pub household: String,
    /// `fridge`, `oven`, `water-purifier`, `air-conditioner`, …
    pub kind: String,
    /// The maker's model name.
    pub model: String,
    /// Where the appliance is sold and used, e.g. `KR`, `DE`.
    pub region: String,
}

/// What a household lets one plugin see: every device of the listed kinds, plus the
/// listed devices. An empty grant covers only household-level events. `control`
/// additionally lets the plugin send commands to the covered devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Grant {
    /// Every device of these kinds.
    pub device_kinds: BTreeSet<String>,
    /// These devices.
    pub devices: BTreeSet<String>,
    /// Whether the plugin may also send commands to them.
    #[serde(default)]
    pub control: bool,
}

impl Grant {
    fn covers(&self, device: &Device) -> bool {
        self.device_kinds.contains(&device.kind) || self.devices.contains(&device.id)
    }
}

/// One page of [`Households::page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdPage {
    /// Households by id, each with its devices (by device id).
    pub households: Vec<(String, Vec<Device>)>,
    /// The last id of this page when more follow.
    pub next: Option<String>,
}

/// The household registry: the `households`, `devices` and `grants` buckets, and
/// `household-devices`, the devices of each household (keys only).
#[derive(Debug, Clone)]
pub struct Households {
    households: Arc<dyn Bucket>,
    devices: Arc<dyn Bucket>,
    /// The devices of each household.
    by_household: Index,
    grants: Arc<dyn Bucket>,
    /// Bumped by every change that can alter a consent decision.
    generation: Arc<AtomicU64>,
}

fn grant_key(household: &str, plugin: &str) -> Vec<u8> {
    scoped_key(household, plugin)
}

impl Households {
    /// Opens the buckets. Data written before the per-household index existed is
    /// indexed once here.
    pub fn open(storage: &dyn Storage) -> Result<Self, HostError> {
        let devices = storage.bucket("devices")?;
        let by_household = Index::open(storage, "household-devices", &*devices, |entry| {
            decode_json::<Device>(&entry.value).map(|device| Some(device.household))
        })?;
        Ok(Households {
            households: storage.bucket("households")?,
            devices,
            by_household,
            grants: storage.bucket("grants")?,
            generation: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Changes whenever a grant, a revocation or a device registration may have
    /// changed what [`Self::allows`] answers; caches of its answers check it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Bumps the generation on every device or grant change any host makes, so that
    /// consent caches here drop decisions another host's revocation changed. The task
    /// ends when the buckets close.
    pub fn follow(&self) -> Result<tokio::task::JoinHandle<()>, HostError> {
        let mut devices = self.devices.watch(b"")?;
        let mut grants = self.grants.watch(b"")?;
        let generation = Arc::downgrade(&self.generation);
        Ok(tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(_) = devices.next() => {}
                    Some(_) = grants.next() => {}
                    else => return,
                }
                let Some(generation) = generation.upgrade() else { return };
                generation.fetch_add(1, Ordering::AcqRel);
            }
        }))
    }

    /// Registers a household; registering it again changes nothing.
    pub fn add_household(&self, id: &str) -> Result<(), HostError> {
        check_id("household id", id)?;
        self.households.put(id.as_bytes(), &[])?;
        Ok(())
    }

    /// Whether the household is registered.
    pub fn has_household(&self, id: &str) -> Result<bool, HostError> {
        Ok(self.households.get(id.as_bytes())?.is_some())
    }

    /// Registers (or re-registers) a device to an existing household.
    pub fn add_device(&self, device: Device) -> Result<(), HostError> {
        check_id("device id", &device.id)?;
        check_id("device kind", &device.kind)?;
        crate::validate::text("device model", &device.model)?;
        crate::validate::text("device region", &device.region)?;
        if !self.has_household(&device.household)? {
            return Err(HostError::NotFound(format!("household {}", device.household)));
        }
        self.by_household.add(&device.household, device.id.as_bytes())?;
        let before: Option<Device> = self.devices.get_json(device.id.as_bytes())?;
        self.devices.put_json(device.id.as_bytes(), &device)?;
        if let Some(before) = before.filter(|before| before.household != device.household) {
            self.by_household.remove(&before.household, device.id.as_bytes())?;
        }
        self.changed();
        Ok(())
    }

    /// A registered device.
    pub fn device(&self, id: &str) -> Result<Option<Device>, HostError> {
        Ok(self.devices.get_json(id.as_bytes())?)
    }

    /// The household's devices, by id.
    pub fn devices_of(&self, household: &str) -> Result<Vec<Device>, HostError> {
        let mut devices = Vec::new();
        for id in self.by_household.keys_of(household)? {
            let found: Option<Device> = self.devices.get_json(&id)?;
            if let Some(device) = found.filter(|device| device.household == household) {
                devices.push(device);
            }
        }
        Ok(devices)
    }

    /// A page of households by id: those starting with `prefix`, after `after`, at
    /// most `limit`, each with its devices.
    pub fn page(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<HouseholdPage, HostError> {
        let mut ids: Vec<String> = self
            .households
            .keys(prefix.as_bytes())?
            .into_iter()
            .map(|key| String::from_utf8_lossy(&key).into_owned())
            .filter(|id| after.is_none_or(|after| id.as_str() > after))
            .collect();
        ids.sort();
        let next = (ids.len() > limit).then(|| ids[limit - 1].clone());
        ids.truncate(limit);
        let mut households = Vec::with_capacity(ids.len());
        for id in ids {
            let devices = self.devices_of(&id)?;
            households.push((id, devices));
        }
        Ok(HouseholdPage { households, next })
    }

    /// Gives `plugin` access as described by `grant`, replacing an earlier grant.
    pub fn grant(&self, household: &str, plugin: &str, grant: &Grant) -> Result<(), HostError> {
        if !self.has_household(household)? {
            return Err(HostError::NotFound(format!("household {household}")));
        }
        self.grants.put(&grant_key(household, plugin), &encode_json(grant)?)?;
        self.changed();
        Ok(())
    }

    /// Withdraws the plugin's access; returns whether there was a grant.
    pub fn revoke(&self, household: &str, plugin: &str) -> Result<bool, HostError> {
        let key = grant_key(household, plugin);
        let removed = self.grants.get(&key)?.is_some();
        self.grants.delete(&key)?;
        self.changed();
        Ok(removed)
    }

    /// Removes the household, its devices and every grant it gave; returns the ids
    /// of the devices removed.
    pub fn remove_household(&self, household: &str) -> Result<Vec<String>, HostError> {
        let devices: Vec<String> = self.devices_of(household)?.into_iter().map(|device| device.id).collect();
        for device in &devices {
            self.devices.delete(device.as_bytes())?;
        }
        self.by_household.remove_owner(household)?;
        self.grants.delete_prefix(&grant_key(household, ""))?;
        self.households.delete(household.as_bytes())?;
        self.changed();
        Ok(devices)
    }

    /// Drops every household's grant to `plugin` (it was uninstalled: a plugin
    /// installed later under the same id asks again). Returns how many went.
    pub fn remove_plugin(&self, plugin: &str) -> Result<usize, HostError> {
        let mut removed = 0;
        for key in self.grants.keys(b"")? {
            if split_scoped(&key).is_some_and(|(_, granted)| granted == plugin) {
                self.grants.delete(&key)?;
                removed += 1;
            }
        }
        if removed > 0 {
            self.changed();
        }
        Ok(removed)
    }

    /// The household's grant to `plugin`, if any.
    pub fn grant_of(&self, household: &str, plugin: &str) -> Result<Option<Grant>, HostError> {
        Ok(self.grants.get_json(&grant_key(household, plugin))?)
    }

    /// Whether an event of `household` (from `device`, if any) may reach `plugin`.
    pub fn allows(&self, plugin: &str, household: &str, device: Option<&str>) -> Result<bool, HostError> {
        let Some(grant) = self.grant_of(household, plugin)? else {
            return Ok(false);
        };
        let Some(device) = device else {
            return Ok(true);
        };
        // A device that moved to another household is not covered by this one's grant.
        Ok(self.device(device)?.is_some_and(|device| device.household == household && grant.covers(&device)))
    }
}

/// The real household behind `reference`, if `plugin` was given that ref and still
/// has the household's grant.
pub fn consenting_household(
    refs: &Pseudonyms,
    households: &Households,
    plugin: &str,
    reference: &str,
) -> Result<Option<String>, HostError> {
    let Some(household) = refs.resolve(plugin, reference)? else {
        return Ok(None);
    };
    Ok(households.grant_of(&household, plugin)?.map(|_| household))
}

fn check_id(what: &str, id: &str) -> Result<(), HostError> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b':');
    if !valid {
        return Err(HostError::InvalidInput(format!("{what} {id:?} must be 1-128 of A-Z a-z 0-9 - _ . :")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (tempfile::TempDir, Households) {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
        (dir, Households::open(&storage).unwrap())
    }

    fn device(id: &str, household: &str, kind: &str) -> Device {
        Device { id: id.into(), household: household.into(), kind: kind.into(), model: "m".into(), region: "DE".into() }
    }

    #[test]
    fn grants_cover_kinds_or_single_devices() {
        let (_dir, households) = registry();
        households.add_household("h1").unwrap();
        households.add_household("h2").unwrap();
        households.add_device(device("fridge-1", "h1", "fridge")).unwrap();
        households.add_device(device("oven-1", "h1", "oven")).unwrap();
        households.add_device(device("fridge-2", "h2", "fridge")).unwrap();

        assert!(!households.allows("p", "h1", Some("fridge-1")).unwrap(), "no grant, no events");
        let fridges = Grant { device_kinds: ["fridge".into()].into(), ..Grant::default() };
        households.grant("h1", "p", &fridges).unwrap();
        assert!(households.allows("p", "h1", Some("fridge-1")).unwrap());
        assert!(!households.allows("p", "h1", Some("oven-1")).unwrap());
        assert!(households.allows("p", "h1", None).unwrap());
        assert!(!households.allows("p", "h2", Some("fridge-2")).unwrap(), "grants are per household");
        assert!(!households.allows("p", "h1", Some("fridge-2")).unwrap(), "another household's device");
        assert!(!households.allows("other", "h1", Some("fridge-1")).unwrap(), "grants are per plugin");

        let oven_only = Grant { devices: ["oven-1".into()].into(), ..Grant::default() };
        households.grant("h1", "p", &oven_only).unwrap();
        assert!(households.allows("p", "h1", Some("oven-1")).unwrap());
        assert!(!households.allows("p", "h1", Some("fridge-1")).unwrap());

        assert!(households.revoke("h1", "p").unwrap());
        assert!(!households.allows("p", "h1", Some("oven-1")).unwrap());
        assert!(!households.revoke("h1", "p").unwrap());
    }

    /// Random registrations, moves and removals (fixed seed) against a plain model:
    /// each household lists exactly its devices, also after the index is rebuilt from
    /// the devices alone (a store written before the index existed).
    #[test]
    fn each_household_lists_exactly_its_devices() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
        let households = Households::open(&storage).unwrap();
        let mut model: std::collections::BTreeMap<String, String> = Default::default();
        let mut random = fastrand::Rng::with_seed(0x5eed);
        let check = |households: &Households, model: &std::collections::BTreeMap<String, String>| {
            for h in 0..6 {
                let household = format!("h{h}");
                let listed: Vec<String> =
                    households.devices_of(&household).unwrap().into_iter().map(|device| device.id).collect();
                let expected: Vec<String> =
                    model.iter().filter(|(_, owner)| **owner == household).map(|(id, _)| id.clone()).collect();
                assert_eq!(listed, expected, "{household}");
            }
        };
        for step in 0..2_000 {
            let household = format!("h{}", random.u64(..6));
            if random.u64(..25) == 0 {
                let removed = households.remove_household(&household).unwrap();
                let expected: Vec<String> =
                    model.iter().filter(|(_, owner)| **owner == household).map(|(id, _)| id.clone()).collect();
                assert_eq!(removed, expected, "step {step}");
                model.retain(|_, owner| *owner != household);
                continue;
            }
            households.add_household(&household).unwrap();
            let id = format!("d{}", random.u64(..40));
            households.add_device(device(&id, &household, "fridge")).unwrap();
            model.insert(id, household);
            if step % 100 == 0 {
                check(&households, &model);
            }
        }
        check(&households, &model);
        let index = storage.bucket("household-devices").unwrap();
        index.delete_prefix(b"").unwrap();
        check(&Households::open(&storage).unwrap(), &model);
        let page = households.page("h", None, 10).unwrap();
        for (household, devices) in page.households {
            assert!(devices.iter().all(|device| model.get(&device.id) == Some(&household)));
            assert_eq!(devices.len(), model.values().filter(|owner| **owner == household).count());
        }
    }

    #[test]
    fn devices_need_a_known_household_and_valid_ids() {
        let (_dir, households) = registry();
        assert!(matches!(households.add_device(device("d", "nobody", "fridge")), Err(HostError::NotFound(_))));
        assert!(matches!(households.add_household("bad id"), Err(HostError::InvalidInput(_))));
    }
}
