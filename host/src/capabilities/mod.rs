//! Host capabilities a plugin imports. One module per capability, each with the
//! context it keeps per plugin store and, where it stores data, a backend trait with
//! the embedded sled implementation. The runtime links only what a plugin is granted.

pub mod commerce;
pub mod config;
pub mod devices;
pub mod http;
pub mod kv;
pub mod log;
pub mod notify;
pub mod services;
