//! Errors at the host library's boundary.

use std::time::Duration;

/// Why the host could not do what was asked (outside a plugin call).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The engine failed (compilation, instantiation, a background task).
    #[error("engine: {0}")]
    Engine(String),
    /// The storage backend failed.
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// Stored data could not be read.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The bytes are not a loadable plugin component.
    #[error("invalid component: {0}")]
    InvalidComponent(String),
    /// The manifest is invalid.
    #[error("invalid manifest: {0}")]
    InvalidManifest(#[from] hearth_package::ManifestError),
    /// The package is malformed or not trusted.
    #[error("package refused: {0}")]
    Package(hearth_package::PackageError),
    /// The request is invalid.
    #[error("{0}")]
    InvalidInput(String),
    /// The request conflicts with what is installed or stored.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// No plugin with this id is installed (or running).
    #[error("plugin {0} is not installed")]
    UnknownPlugin(String),
    /// The data directory could not be used.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The event log failed.
    #[error("{0}")]
    Log(#[from] crate::events::log::LogError),
    /// Delivering to a plugin failed.
    #[error("delivery failed: {0}")]
    Delivery(#[from] CallError),
}

impl From<hearth_package::PackageError> for HostError {
    fn from(error: hearth_package::PackageError) -> Self {
        match error {
            hearth_package::PackageError::Manifest(error) => HostError::InvalidManifest(error),
            hearth_package::PackageError::InvalidComponent(reason) => HostError::InvalidComponent(reason),
            other => HostError::Package(other),
        }
    }
}

/// Why one plugin call failed. Only this call is affected: after a trap, timeout or
/// memory exhaustion the next call runs on a fresh instance.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The plugin ran and returned one of its own errors.
    #[error("plugin error: {0}")]
    Plugin(#[from] crate::bindings::PluginError),
    /// The call overran its wall-clock deadline and was stopped.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The plugin tried to grow its memory past its limit.
    #[error("memory limit of {limit_bytes} bytes exceeded")]
    MemoryExhausted {
        /// The limit, in bytes.
        limit_bytes: usize,
    },
    /// The plugin trapped (a panic, an out-of-bounds access, `unreachable`).
    #[error("trapped: {0}")]
    Trap(String),
    /// A fresh instance could not be created or its `init` failed.
    #[error("could not start: {0}")]
    Start(String),
    /// The host's storage failed; the call's effects are not acknowledged.
    #[error("storage failed: {0}")]
    Storage(String),
    /// A service call answered more than the output cap.
    #[error("answer of {bytes} bytes is over the {limit}-byte cap")]
    OutputTooLarge {
        /// The answer's size.
        bytes: usize,
        /// The cap.
        limit: usize,
    },
    /// The plugin's worker has stopped (the host is shutting down or the plugin was removed).
    #[error("plugin is not running")]
    Stopped,
    /// Calling the operation would loop back into a plugin already in the call chain.
    #[error("call cycle: {0}")]
    Cycle(String),
    /// This caller's calls to the plugin kept failing: it is suspended from the plugin
    /// for a while (other callers are served).
    #[error("calls from this caller to {plugin} kept failing; suspended for {retry_after:?}")]
    Suspended {
        /// The plugin called.
        plugin: String,
        /// When the caller may try again.
        retry_after: Duration,
    },
    /// Every plugin providing the operation is quarantined.
    #[error("every provider of {0} is quarantined")]
    Quarantined(String),
    /// No installed plugin provides the requested service operation.
    #[error("no plugin provides {0}")]
    NoProvider(String),
}
