//! One module per `hearth` command.

pub mod cluster_demo;
pub mod dead_letters;
pub mod demo;
pub mod dev;
pub mod develop;
pub mod events;
pub mod households;
pub mod ingest;
pub mod keys;
pub mod logs;
pub mod plugin;
pub mod publisher;
pub mod serve;
pub mod services;
pub mod token;
