//! What a plugin's consumer delivers, and how its consumers are named.

use super::catalog::HOST_PREFIX;
use super::log::StoredEvent;

/// What a consumer delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// Topics matching a pattern from the plugin's manifest.
    Pattern(String),
    /// The host's own events addressed to this plugin (`household.…`).
    HostEvents,
}

/// What the names of a plugin's consumers start with.
pub fn consumer_prefix(plugin: &str) -> String {
    format!("{plugin}|")
}

/// The plugin a consumer belongs to.
pub fn consumer_plugin(consumer: &str) -> &str {
    consumer.split('|').next().unwrap_or(consumer)
}

impl Subscription {
    pub(crate) fn consumer_name(&self, plugin: &str) -> String {
        let prefix = consumer_prefix(plugin);
        match self {
            Subscription::Pattern(pattern) => format!("{prefix}{pattern}"),
            Subscription::HostEvents => format!("{prefix}{HOST_PREFIX}"),
        }
    }

    pub(crate) fn selects(&self, plugin: &str, event: &StoredEvent) -> bool {
        let host_event = event.topic.starts_with(HOST_PREFIX);
        match self {
            Subscription::Pattern(pattern) => {
                !host_event && event.target.is_none() && hearth_package::topic::matches(pattern, &event.topic)
            }
            Subscription::HostEvents => host_event && event.target.as_deref() == Some(plugin),
        }
    }
}
