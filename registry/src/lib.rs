//! The Hearth registry server: partners publish signed packages to it, hosts install
//! from it. The package format itself is `hearth-package`.

#![deny(missing_docs)]

pub mod server;
pub mod store;
