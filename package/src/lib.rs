//! Hearth plugin packages: the `hearth.toml` manifest a plugin ships with, the topic
//! syntax its subscriptions use, the signed `.hpkg` package, and building a plugin
//! crate into its component. Hosts, the registry server and the CLI all read packages
//! through this crate; it carries no server or client.

#![deny(missing_docs)]

pub mod build;
mod manifest;
pub mod package;
pub mod topic;

pub use manifest::{
    Capabilities, Manifest, ManifestError, PluginInfo, RequestedLimits, SUPPORTED_APIS, Services, Subscriptions,
};
pub use package::{Package, PackageError};
