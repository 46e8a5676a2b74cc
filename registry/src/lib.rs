//! Hearth plugin packages. For now: the `hearth.toml` manifest a plugin ships with,
//! and the topic syntax its subscriptions use. Signing and the registry server build
//! on these.

mod manifest;
pub mod topic;

pub use manifest::{
    Capabilities, Manifest, ManifestError, PluginInfo, RequestedLimits, SUPPORTED_APIS, Services, Subscriptions,
};
