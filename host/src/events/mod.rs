//! Events from appliances to plugins: the catalogue (JSON in, typed out), the
//! durable log, ingest, and the consumers that deliver to plugins.

pub mod adapters;
pub mod catalog;
pub mod consumer;
pub mod dead_letters;
pub mod delivery;
pub mod ingest;
pub mod log;
mod subscription;
