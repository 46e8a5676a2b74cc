//! The registry's sled store: publishers with their keys, plugins with their
//! immutable versions, and package files by content hash.

use ed25519_dalek::VerifyingKey;
use hearth_package::package::{Package, PackageError, parse_public_key, sha256_hex};
use serde::{Deserialize, Serialize};

/// Why the registry refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No such publisher, plugin, version or package.
    #[error("{0}")]
    NotFound(String),
    /// A version that exists, or an id another publisher owns.
    #[error("{0}")]
    Conflict(String),
    /// Not this publisher's to do.
    #[error("{0}")]
    Forbidden(String),
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// The package is invalid or not signed by the publisher.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] sled::Error),
    /// Stored data could not be read.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// A publisher the admin registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    /// Its name, as manifests spell it.
    pub name: String,
    /// Hex ed25519 public keys whose signatures this publisher's packages may carry.
    pub keys: Vec<String>,
    /// SHA-256 of the publisher's upload token.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub token_hash: String,
}

/// One published version of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The version.
    pub version: semver::Version,
    /// SHA-256 of the package file: where to download it.
    pub package: String,
    /// SHA-256 of the component inside.
    pub component: String,
    /// Yanked versions are not resolved, but still download.
    pub yanked: bool,
    /// When it was published, ms since the epoch.
    pub published_ms: u64,
}

/// A plugin id and its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRecord {
    /// The plugin id.
    pub id: String,
    /// The publisher that owns the id.
    pub publisher: String,
    /// From the newest version's manifest.
    pub description: String,
    /// By version, ascending.
    pub versions: Vec<VersionRecord>,
}

impl PluginRecord {
    /// The newest version that is not yanked.
    pub fn latest(&self) -> Option<&VersionRecord> {
        self.versions.iter().rev().find(|version| !version.yanked)
    }
}

/// The highest non-yanked version matching `requirement` (pre-releases only when the
/// requirement names one, as in Cargo).
pub fn resolve<'a>(versions: &'a [VersionRecord], requirement: &semver::VersionReq) -> Option<&'a VersionRecord> {
    versions
        .iter()
        .filter(|record| !record.yanked && requirement.matches(&record.version))
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// The registry's storage: sled trees of publishers, plugins and packages.
#[derive(Debug, Clone)]
pub struct Store {
    publishers: sled::Tree,
    plugins: sled::Tree,
    packages: sled::Tree,
    settings: sled::Tree,
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, RegistryError> {
    serde_json::from_slice(bytes).map_err(|error| RegistryError::Corrupt(error.to_string()))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

impl Store {
    /// Opens the trees.
    pub fn open(db: &sled::Db) -> Result<Self, RegistryError> {
        Ok(Store {
            publishers: db.open_tree("publishers")?,
            plugins: db.open_tree("plugins")?,
            packages: db.open_tree("packages")?,
            settings: db.open_tree("settings")?,
        })
    }

    /// A registry setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>, RegistryError> {
        Ok(self.settings.get(key)?.map(|value| String::from_utf8_lossy(&value).into_owned()))
    }

    /// Sets a registry setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), RegistryError> {
        self.settings.insert(key, value.as_bytes())?;
        Ok(())
    }

    /// Registers a publisher with its first key; refuses a name that is taken.
    pub fn add_publisher(&self, name: &str, key: &str, token_hash: String) -> Result<Publisher, RegistryError> {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_name {
            return Err(RegistryError::Invalid(format!("publisher {name:?} must be 1-64 of a-z, 0-9 and '-'")));
        }
        let key = hex::encode(parse_public_key(key)?.as_bytes());
        let publisher = Publisher { name: name.to_owned(), keys: vec![key], token_hash };
        let swapped = self.publishers.compare_and_swap(name, None::<&[u8]>, Some(encode(&publisher)))?;
        if swapped.is_err() {
            return Err(RegistryError::Conflict(format!("publisher {name} is already registered")));
        }
        Ok(publisher)
    }

    /// A publisher by name.
    pub fn publisher(&self, name: &str) -> Result<Option<Publisher>, RegistryError> {
        self.publishers.get(name)?.map(|bytes| decode(&bytes)).transpose()
    }

    /// The publisher an upload token (by its hash) belongs to.
    pub fn publisher_by_token(&self, token_hash: &str) -> Result<Option<Publisher>, RegistryError> {
        for entry in self.publishers.iter() {
            let (_, bytes) = entry?;
            let publisher: Publisher = decode(&bytes)?;
            if !publisher.token_hash.is_empty() && publisher.token_hash == token_hash {
                return Ok(Some(publisher));
            }
        }
        Ok(None)
    }

    /// Publishes a package as `publisher`: it must be signed by one of the publisher's
    /// keys, name that publisher, and be a version of a plugin the publisher owns (the
    /// first publish of an id claims it) that does not exist yet.
    pub fn publish(&self, publisher: &Publisher, bytes: &[u8]) -> Result<VersionRecord, RegistryError> {
        let package = Package::read(bytes)?;
        let info = &package.manifest.plugin;
        if info.publisher != publisher.name {
            return Err(RegistryError::Forbidden(format!(
                "the manifest names publisher {:?}; this token publishes as {:?}",
                info.publisher, publisher.name
            )));
        }
        let keys: Vec<VerifyingKey> =
            publisher.keys.iter().map(|key| parse_public_key(key)).collect::<Result<_, _>>()?;
        package.verify(Some(&keys))?;
        let record = VersionRecord {
            version: info.version.clone(),
            package: sha256_hex(bytes),
            component: package.component_hash(),
            yanked: false,
            published_ms: now_ms(),
        };
        // Store the file first: a version record never points at a missing package.
        self.packages.insert(record.package.as_bytes(), bytes)?;
        loop {
            let current = self.plugins.get(&info.id)?;
            let mut plugin = match &current {
                Some(bytes) => decode::<PluginRecord>(bytes)?,
                None => PluginRecord {
                    id: info.id.clone(),
                    publisher: publisher.name.clone(),
                    description: info.description.clone(),
                    versions: Vec::new(),
                },
            };
            if plugin.publisher != publisher.name {
                return Err(RegistryError::Forbidden(format!(
                    "{} belongs to publisher {}; choose another plugin id",
                    info.id, plugin.publisher
                )));
            }
            if plugin.versions.iter().any(|existing| existing.version == record.version) {
                return Err(RegistryError::Conflict(format!(
                    "{} {} is already published; versions are immutable, publish a new version",
                    info.id, record.version
                )));
            }
            plugin.versions.push(record.clone());
            plugin.versions.sort_by(|a, b| a.version.cmp(&b.version));
            if plugin.latest().is_some_and(|latest| latest.version == record.version) {
                plugin.description = info.description.clone();
            }
            let swapped = self.plugins.compare_and_swap(&info.id, current, Some(encode(&plugin)))?;
            if swapped.is_ok() {
                self.plugins.flush()?;
                return Ok(record);
            }
        }
    }

    /// A plugin and its versions.
    pub fn plugin(&self, id: &str) -> Result<PluginRecord, RegistryError> {
        match self.plugins.get(id)? {
            Some(bytes) => decode(&bytes),
            None => Err(RegistryError::NotFound(format!("no plugin {id} in this registry"))),
        }
    }

    /// Plugins whose id or description contains `query` (all when empty).
    pub fn search(&self, query: &str) -> Result<Vec<PluginRecord>, RegistryError> {
        let query = query.to_lowercase();
        let mut found = Vec::new();
        for entry in self.plugins.iter() {
            let (_, bytes) = entry?;
            let plugin: PluginRecord = decode(&bytes)?;
            if plugin.id.contains(&query) || plugin.description.to_lowercase().contains(&query) {
                found.push(plugin);
            }
        }
        Ok(found)
    }

    /// Marks a version yanked (or not): resolution skips it; its package stays
    /// downloadable by hash for whoever pinned it.
    pub fn set_yanked(
        &self,
        publisher: &Publisher,
        id: &str,
        version: &semver::Version,
        yanked: bool,
    ) -> Result<VersionRecord, RegistryError> {
        loop {
            let current = self.plugins.get(id)?;
            let Some(bytes) = &current else {
                return Err(RegistryError::NotFound(format!("no plugin {id} in this registry")));
            };
            let mut plugin: PluginRecord = decode(bytes)?;
            if plugin.publisher != publisher.name {
                return Err(RegistryError::Forbidden(format!("{id} belongs to publisher {}", plugin.publisher)));
            }
            let Some(record) = plugin.versions.iter_mut().find(|record| &record.version == version) else {
                return Err(RegistryError::NotFound(format!("{id} has no version {version}")));
            };
            record.yanked = yanked;
            let changed = record.clone();
            if self.plugins.compare_and_swap(id, current, Some(encode(&plugin)))?.is_ok() {
                self.plugins.flush()?;
                return Ok(changed);
            }
        }
    }

    /// A package file by its SHA-256.
    pub fn package(&self, hash: &str) -> Result<Option<Vec<u8>>, RegistryError> {
        Ok(self.packages.get(hash.as_bytes())?.map(|bytes| bytes.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: &str, yanked: bool) -> VersionRecord {
        VersionRecord {
            version: version.parse().unwrap(),
            package: String::new(),
            component: String::new(),
            yanked,
            published_ms: 0,
        }
    }

    #[test]
    fn semver_resolution_table() {
        let versions = [
            record("0.9.3", false),
            record("1.0.0", false),
            record("1.2.0", false),
            record("1.2.5", false),
            record("1.3.0-beta.1", false),
            record("1.4.0", true),
            record("2.0.0", false),
            record("2.1.0-rc.1", false),
        ];
        let table = [
            ("^1.2", Some("1.2.5")),
            ("1.2", Some("1.2.5")),
            ("~1.2.0", Some("1.2.5")),
            ("=1.2.0", Some("1.2.0")),
            ("^1", Some("1.2.5")),
            ("*", Some("2.0.0")),
            (">=1.0, <2", Some("1.2.5")),
            ("=1.4.0", None),
            ("^0.9", Some("0.9.3")),
            ("^3", None),
            ("^1.3.0-beta.1", Some("1.3.0-beta.1")),
            (">=2.1.0-rc.1", Some("2.1.0-rc.1")),
        ];
        for (requirement, expected) in table {
            let requirement: semver::VersionReq = requirement.parse().unwrap();
            let resolved = resolve(&versions, &requirement).map(|record| record.version.to_string());
            assert_eq!(resolved.as_deref(), expected, "{requirement}");
        }
    }
}
