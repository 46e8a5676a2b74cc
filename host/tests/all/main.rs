//! The host's integration tests, in one binary (one link instead of one per file):
//! real plugin components, a real sled database in a temp dir.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod architecture;
mod capabilities;
mod containment;
mod delivery;
mod hostile;
mod lagging_log;
mod leases;
mod plugins;
mod properties;
mod recipe_service;
mod support;
mod upgrade;
mod versions;
