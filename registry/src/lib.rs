//! Hearth plugin packages: the `hearth.toml` manifest a plugin ships with, the topic
//! syntax its subscriptions use, the signed `.hpkg` package, and the registry server
//! partners publish to and hosts install from.

pub mod build;
mod manifest;
pub mod package;
pub mod server;
pub mod store;
pub mod topic;

pub use manifest::{
    Capabilities, Manifest, ManifestError, PluginInfo, RequestedLimits, SUPPORTED_APIS, Services, Subscriptions,
};
pub use package::{Package, PackageError};
