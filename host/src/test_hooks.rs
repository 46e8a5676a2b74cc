//! Hooks for tests, benchmarks and the SDK's test harness (the `test-hooks` feature):
//! they reach past consent, the log and pseudonymity, so a production host has none.

use crate::bindings::{ServiceRequest, ServiceResponse};
use crate::{CallError, Host, HostError};

impl Host {
    /// Delivers one event straight to one plugin, bypassing the log, subscriptions
    /// and consent, and waits until it is handled.
    pub async fn deliver(&self, plugin: &str, event: crate::bindings::Event) -> Result<(), CallError> {
        let link = self.inner.directory.link(plugin).ok_or_else(|| CallError::NoProvider(plugin.to_owned()))?;
        let lane = link.pool.lane_of(event.device.as_deref(), &event.household);
        link.pool.on_event(lane, event).await
    }

    /// Calls a service operation on one specific plugin, passing the request as given.
    pub async fn call_plugin(&self, plugin: &str, request: ServiceRequest) -> Result<ServiceResponse, CallError> {
        let link = self.inner.directory.link(plugin).ok_or_else(|| CallError::NoProvider(plugin.to_owned()))?;
        let call = crate::runtime::worker::ServiceCall { request, chain: Vec::new(), deadline: None };
        link.call(call, "operator").await
    }

    /// A fresh instance of a running plugin on a store of its own, outside its workers
    /// (for benchmarks: the raw wasmtime call cost, and instantiation time).
    pub async fn direct(&self, plugin: &str) -> Result<crate::runtime::direct::DirectPlugin, HostError> {
        crate::runtime::direct::DirectPlugin::start(&self.inner.plugins.runtime(plugin)?).await
    }
}
