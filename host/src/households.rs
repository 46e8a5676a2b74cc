//! Households, their devices, and the consent they give plugins.
//!
//! A household grants a plugin access to device kinds (`fridge`, `oven`, …) or single
//! devices. Only events covered by a grant reach the plugin; the check runs at
//! delivery time, so a revocation holds for everything not yet delivered.

use crate::HostError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// An appliance registered to a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Device {
    pub id: String,
    pub household: String,
    /// `fridge`, `oven`, `water-purifier`, `air-conditioner`, …
    pub kind: String,
    pub model: String,
    /// Where the appliance is sold and used, e.g. `KR`, `DE`.
    pub region: String,
}

/// What a household lets one plugin see: every device of the listed kinds, plus the
/// listed devices. An empty grant covers only household-level events. `control`
/// additionally lets the plugin send commands to the covered devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grant {
    pub device_kinds: BTreeSet<String>,
    pub devices: BTreeSet<String>,
    #[serde(default)]
    pub control: bool,
}

impl Grant {
    fn covers(&self, device: &Device) -> bool {
        self.device_kinds.contains(&device.kind) || self.devices.contains(&device.id)
    }
}

/// The household registry, in sled.
#[derive(Debug, Clone)]
pub struct Households {
    households: sled::Tree,
    devices: sled::Tree,
    grants: sled::Tree,
    /// Bumped by every change that can alter a consent decision.
    generation: Arc<AtomicU64>,
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, HostError> {
    serde_json::from_slice(bytes).map_err(|error| HostError::Corrupt(format!("household registry: {error}")))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and sets always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

fn grant_key(household: &str, plugin: &str) -> Vec<u8> {
    crate::capabilities::config::scoped_key(household, plugin)
}

impl Households {
    pub fn open(db: &sled::Db) -> Result<Self, HostError> {
        Ok(Households {
            households: db.open_tree("households")?,
            devices: db.open_tree("devices")?,
            grants: db.open_tree("grants")?,
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

    /// Registers a household; registering it again changes nothing.
    pub fn add_household(&self, id: &str) -> Result<(), HostError> {
        check_id("household id", id)?;
        self.households.insert(id.as_bytes(), &[])?;
        Ok(())
    }

    pub fn has_household(&self, id: &str) -> Result<bool, HostError> {
        Ok(self.households.contains_key(id.as_bytes())?)
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
        self.devices.insert(device.id.as_bytes(), encode(&device))?;
        self.changed();
        Ok(())
    }

    pub fn device(&self, id: &str) -> Result<Option<Device>, HostError> {
        self.devices.get(id.as_bytes())?.map(|bytes| decode(&bytes)).transpose()
    }

    /// The household's devices.
    pub fn devices_of(&self, household: &str) -> Result<Vec<Device>, HostError> {
        let mut devices = Vec::new();
        for value in self.devices.iter().values() {
            let device: Device = decode(&value?)?;
            if device.household == household {
                devices.push(device);
            }
        }
        Ok(devices)
    }

    /// Gives `plugin` access as described by `grant`, replacing an earlier grant.
    pub fn grant(&self, household: &str, plugin: &str, grant: &Grant) -> Result<(), HostError> {
        if !self.has_household(household)? {
            return Err(HostError::NotFound(format!("household {household}")));
        }
        self.grants.insert(grant_key(household, plugin), encode(grant))?;
        self.changed();
        Ok(())
    }

    /// Withdraws the plugin's access; returns whether there was a grant.
    pub fn revoke(&self, household: &str, plugin: &str) -> Result<bool, HostError> {
        let removed = self.grants.remove(grant_key(household, plugin))?.is_some();
        self.changed();
        Ok(removed)
    }

    /// Removes the household, its devices and every grant it gave; returns the ids
    /// of the devices removed.
    pub fn remove_household(&self, household: &str) -> Result<Vec<String>, HostError> {
        let devices: Vec<String> = self.devices_of(household)?.into_iter().map(|device| device.id).collect();
        for device in &devices {
            self.devices.remove(device.as_bytes())?;
        }
        for key in self.grants.scan_prefix(grant_key(household, "")).keys() {
            self.grants.remove(key?)?;
        }
        self.households.remove(household.as_bytes())?;
        self.changed();
        Ok(devices)
    }

    pub fn grant_of(&self, household: &str, plugin: &str) -> Result<Option<Grant>, HostError> {
        self.grants.get(grant_key(household, plugin))?.map(|bytes| decode(&bytes)).transpose()
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
        let db = sled::open(dir.path()).unwrap();
        (dir, Households::open(&db).unwrap())
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

    #[test]
    fn devices_need_a_known_household_and_valid_ids() {
        let (_dir, households) = registry();
        assert!(matches!(households.add_device(device("d", "nobody", "fridge")), Err(HostError::NotFound(_))));
        assert!(matches!(households.add_household("bad id"), Err(HostError::InvalidInput(_))));
    }
}
