//! `hearth.toml`: who a plugin is, what it subscribes to, which services it provides
//! and calls, which capabilities and limits it requests. Parsing validates all of it,
//! so a manifest value that exists is a valid one.

use crate::topic;
use serde::{Deserialize, Serialize};

/// The newest version of the WIT package `hearth:plugin` this release speaks,
/// `MAJOR.MINOR` (a macro, so other crates build constant names from it; the WIT files
/// under `wit/` declare the same version, which a test checks). New plugins are built
/// against it; older versions stay loadable ([`SUPPORTED_APIS`]).
#[macro_export]
macro_rules! api_version {
    () => {
        "0.2"
    };
}

/// The full version of the WIT package, `MAJOR.MINOR.PATCH`.
#[macro_export]
macro_rules! wit_version {
    () => {
        concat!($crate::api_version!(), ".0")
    };
}

/// WIT API versions (`hearth:plugin@X.Y`) this release can load, oldest first. Each
/// older one is frozen under `wit/vX.Y/`.
pub const SUPPORTED_APIS: &[&str] = &["0.1", api_version!()];

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    /// Not TOML, or not shaped like a manifest (unknown or missing keys).
    #[error("hearth.toml is not valid TOML for a manifest: {0}")]
    Syntax(String),
    /// A field parsed but its value is not allowed.
    #[error("hearth.toml: {field}: {reason}")]
    Invalid {
        /// The manifest key, e.g. `plugin.id`.
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// A parsed and validated `hearth.toml`.
pub struct Manifest {
    /// Who the plugin is.
    pub plugin: PluginInfo,
    /// The events it receives.
    #[serde(default)]
    pub subscriptions: Subscriptions,
    /// The service operations it offers and calls.
    #[serde(default)]
    pub services: Services,
    /// What it asks to be allowed to do.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The resources it asks for.
    #[serde(default)]
    pub limits: RequestedLimits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The `[plugin]` table.
pub struct PluginInfo {
    /// Reverse-DNS, unique across the ecosystem: `com.clearflow.water-filter`.
    pub id: String,
    /// The plugin's own version.
    pub version: semver::Version,
    /// The partner who publishes it; packages must be signed by one of its keys.
    pub publisher: String,
    /// The WIT API version the plugin was built against, `MAJOR.MINOR`.
    pub api: String,
    /// One line for operators and households.
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The `[subscriptions]` table.
pub struct Subscriptions {
    /// Topic patterns in NATS subject syntax.
    #[serde(default)]
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The `[services]` table.
pub struct Services {
    /// Operations this plugin serves, `service.operation`.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Operations of other plugins this plugin calls.
    #[serde(default)]
    pub calls: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The `[capabilities]` table: each one the plugin may import.
pub struct Capabilities {
    /// Key-value storage of its own.
    #[serde(default)]
    pub kv: bool,
    /// Notifications to households.
    #[serde(default)]
    pub notify: bool,
    /// Order proposals to households.
    #[serde(default)]
    pub commerce: bool,
    /// Device commands, `kind:command`, e.g. `air-conditioner:set-temperature`.
    #[serde(default)]
    pub devices: Vec<String>,
    /// Outbound HTTP destinations, `host:port`.
    #[serde(default)]
    pub http: Vec<String>,
}

impl Capabilities {
    /// What both grant: an operator's grants cut to what a new version requests.
    pub fn intersect(&self, requested: &Capabilities) -> Capabilities {
        let both =
            |mine: &[String], theirs: &[String]| mine.iter().filter(|item| theirs.contains(item)).cloned().collect();
        Capabilities {
            kv: self.kv && requested.kv,
            notify: self.notify && requested.notify,
            commerce: self.commerce && requested.commerce,
            devices: both(&self.devices, &requested.devices),
            http: both(&self.http, &requested.http),
        }
    }

    /// Whether these ask for nothing `requested` did not.
    pub fn within(&self, requested: &Capabilities) -> bool {
        self.intersect(requested) == *self
    }
}

/// Limits the plugin asks for; the operator's caps win.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedLimits {
    /// Linear memory, all memories together.
    pub memory_mb: Option<u32>,
    /// Per event call.
    pub timeout_ms: Option<u32>,
    /// Per service call.
    pub service_timeout_ms: Option<u32>,
    /// Instances serving this plugin's events in parallel (events of one device stay in order).
    pub concurrency: Option<u32>,
}

impl std::str::FromStr for Manifest {
    type Err = ManifestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let manifest: Manifest = toml::from_str(text).map_err(|error| ManifestError::Syntax(error.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }
}

impl Manifest {
    /// The manifest as TOML text.
    pub fn to_toml(&self) -> String {
        // Serializing plain structs of strings, numbers and lists cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let invalid = |field, reason: String| ManifestError::Invalid { field, reason };
        validate_plugin_id(&self.plugin.id).map_err(|reason| invalid("plugin.id", reason))?;
        if !is_name(&self.plugin.publisher, 64) {
            return Err(invalid(
                "plugin.publisher",
                format!("{:?} must be 1-64 of a-z, 0-9 and '-'", self.plugin.publisher),
            ));
        }
        if !SUPPORTED_APIS.contains(&self.plugin.api.as_str()) {
            return Err(invalid(
                "plugin.api",
                format!(
                    "API {:?} is not supported by this host (supported: {})",
                    self.plugin.api,
                    SUPPORTED_APIS.join(", ")
                ),
            ));
        }
        for pattern in &self.subscriptions.topics {
            topic::validate_pattern(pattern).map_err(|reason| invalid("subscriptions.topics", reason))?;
        }
        for (field, names) in [("services.provides", &self.services.provides), ("services.calls", &self.services.calls)]
        {
            for name in names {
                validate_operation(name).map_err(|reason| invalid(field, reason))?;
            }
        }
        for command in &self.capabilities.devices {
            let valid =
                command.split_once(':').is_some_and(|(kind, command)| is_name(kind, 64) && is_name(command, 64));
            if !valid {
                return Err(invalid("capabilities.devices", format!("{command:?} must be `device-kind:command`")));
            }
        }
        for destination in &self.capabilities.http {
            let valid = destination.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok_and(|port| port != 0)
            });
            if !valid {
                return Err(invalid("capabilities.http", format!("{destination:?} must be `host:port`")));
            }
        }
        self.limits.validate()
    }
}

impl RequestedLimits {
    /// Checks every limit is within its range.
    pub fn validate(&self) -> Result<(), ManifestError> {
        check_range("limits.memory_mb", self.memory_mb, 1, 4096)?;
        check_range("limits.timeout_ms", self.timeout_ms, 1, 60_000)?;
        check_range("limits.service_timeout_ms", self.service_timeout_ms, 1, 60_000)?;
        check_range("limits.concurrency", self.concurrency, 1, 64)?;
        Ok(())
    }
}

fn check_range(field: &'static str, value: Option<u32>, min: u32, max: u32) -> Result<(), ManifestError> {
    match value {
        Some(value) if !(min..=max).contains(&value) => {
            Err(ManifestError::Invalid { field, reason: format!("{value} is outside {min}..={max}") })
        }
        _ => Ok(()),
    }
}

fn is_name(name: &str, max_len: usize) -> bool {
    !name.is_empty()
        && name.len() <= max_len
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn validate_plugin_id(id: &str) -> Result<(), String> {
    let labels: Vec<&str> = id.split('.').collect();
    if id.len() > 128 || labels.len() < 2 || !labels.iter().all(|label| is_name(label, 63)) {
        return Err(format!(
            "{id:?} must be reverse-DNS, e.g. `com.example.recipes`: two or more dot-separated labels of a-z, 0-9 and '-'"
        ));
    }
    Ok(())
}

fn validate_operation(name: &str) -> Result<(), String> {
    match name.split_once('.') {
        Some((service, operation)) if is_name(service, 64) && is_name(operation, 64) => Ok(()),
        _ => Err(format!("{name:?} must be `service.operation`, e.g. `recipes.suggest`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
[plugin]
id = "com.clearflow.water-filter"
version = "1.4.0"
publisher = "clearflow"
api = "0.1"
[subscriptions]
topics = ["appliance.water-purifier.>"]
[services]
provides = ["water.filter-advice"]
calls = ["shop.quote"]
[capabilities]
kv = true
notify = true
devices = ["air-conditioner:set-temperature"]
http = ["api.clearflow.example:443"]
[limits]
memory_mb = 32
timeout_ms = 100
"#;

    fn with(replace: &str, by: &str) -> Result<Manifest, ManifestError> {
        assert!(VALID.contains(replace), "{replace}");
        VALID.replace(replace, by).parse()
    }

    fn field_of(result: Result<Manifest, ManifestError>) -> &'static str {
        match result {
            Err(ManifestError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_design_example_parses() {
        let manifest: Manifest = VALID.parse().unwrap();
        assert_eq!(manifest.plugin.id, "com.clearflow.water-filter");
        assert_eq!(manifest.plugin.version, semver::Version::new(1, 4, 0));
        assert_eq!(manifest.limits.memory_mb, Some(32));
        let again: Manifest = manifest.to_toml().parse().unwrap();
        assert_eq!(again, manifest);
    }

    #[test]
    fn each_invalid_field_is_named() {
        assert_eq!(field_of(with("com.clearflow.water-filter", "waterfilter")), "plugin.id");
        assert_eq!(field_of(with("com.clearflow.water-filter", "Com.X.Y")), "plugin.id");
        assert_eq!(field_of(with("\"clearflow\"", "\"Clear Flow\"")), "plugin.publisher");
        assert_eq!(field_of(with("api = \"0.1\"", "api = \"9.0\"")), "plugin.api");
        assert_eq!(field_of(with("appliance.water-purifier.>", "appliance.>.x")), "subscriptions.topics");
        assert_eq!(field_of(with("\"water.filter-advice\"", "\"advice\"")), "services.provides");
        assert_eq!(field_of(with("air-conditioner:set-temperature", "set-temperature")), "capabilities.devices");
        assert_eq!(field_of(with("api.clearflow.example:443", "https://x/y")), "capabilities.http");
        assert_eq!(field_of(with("memory_mb = 32", "memory_mb = 0")), "limits.memory_mb");
        assert_eq!(field_of(with("timeout_ms = 100", "timeout_ms = 600000")), "limits.timeout_ms");
        assert_eq!(field_of(with("timeout_ms = 100", "timeout_ms = 100\nconcurrency = 0")), "limits.concurrency");
    }

    #[test]
    fn syntax_errors_and_unknown_fields_are_refused() {
        assert!(matches!(with("[limits]", "[limits"), Err(ManifestError::Syntax(_))));
        let error = with("kv = true", "kv = true\nfilesystem = true").unwrap_err();
        assert!(error.to_string().contains("filesystem"), "{error}");
        assert!(matches!(with("version = \"1.4.0\"", "version = \"1.4\""), Err(ManifestError::Syntax(_))));
    }
}
