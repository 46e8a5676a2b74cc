//! One module per `hearth` command.

pub mod cluster_demo;
pub mod demo;
pub mod dev;
pub mod develop;
pub mod events;
pub mod ingest;
pub mod keys;
pub mod logs;
pub mod plugin;
pub mod serve;
pub mod services;
pub mod token;
