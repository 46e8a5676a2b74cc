//! `hearth:plugin/services`: one plugin calling another's service through the host.
//!
//! Only operations listed in the caller's `[services] calls` are reachable. The
//! household ref is translated from the caller's ref to the callee's; the call carries
//! the chain of plugins it passed through (a plugin already in the chain cannot be
//! called again: no cycles, no self-deadlock) and the caller's deadline.

use super::{Capability, PluginStore, Setup};
use crate::CallError;
use crate::bindings::hearth::plugin::services::{CallError as WitCallError, Host};
use crate::bindings::{Caller, ServiceRequest, ServiceResponse};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::{HasSelf, Linker};

/// The most plugins one call chain may pass through.
pub const MAX_CALL_DEPTH: usize = 4;

/// Where a service call goes: the host's provider selection.
pub trait ServiceRouter: Send + Sync + 'static {
    /// Calls a provider of `request`; `household` is a real household id.
    fn route(
        &self,
        request: ServiceRequest,
        real_household: Option<String>,
        chain: Vec<Arc<str>>,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<ServiceResponse, CallError>> + Send + '_>>;

    /// The real household behind a ref `plugin` was given.
    fn resolve_household(&self, plugin: &str, reference: &str) -> Option<String>;
}

/// Per-store context of the services capability.
pub struct ServicesCtx {
    pub(crate) plugin: Arc<str>,
    /// `service.operation` names the plugin may call.
    pub(crate) allowed: Arc<[String]>,
    pub(crate) router: Arc<dyn ServiceRouter>,
    /// The plugins the running call passed through, this one last.
    pub(crate) chain: Vec<Arc<str>>,
    pub(crate) deadline: Instant,
    /// Where a call outside `[services] calls` is counted and reported.
    log: Arc<super::log::LogBudget>,
}

impl Host for ServicesCtx {
    async fn call(
        &mut self,
        service: String,
        operation: String,
        household: Option<String>,
        input: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, WitCallError>> {
        let name = format!("{service}.{operation}");
        if !self.allowed.contains(&name) {
            let message = format!(
                "{name} is not in this plugin's [services] calls: add `calls = [\"{name}\"]` under [services] in hearth.toml"
            );
            return Ok(Err(WitCallError::NotAllowed(self.log.refuse_not_granted("services.call", message))));
        }
        if self.chain.len() >= MAX_CALL_DEPTH {
            return Ok(Err(WitCallError::Cycle(format!("call chain deeper than {MAX_CALL_DEPTH} plugins"))));
        }
        let real_household = match household {
            None => None,
            Some(reference) => match self.router.resolve_household(&self.plugin, &reference) {
                Some(real) => Some(real),
                None => return Ok(Err(WitCallError::NotFound(format!("no household with ref {reference}")))),
            },
        };
        let request = ServiceRequest {
            service,
            operation,
            caller: Caller::Plugin(self.plugin.to_string()),
            household: None,
            input,
        };
        // The callee gets the caller's remaining time minus a tenth, so the caller
        // can still handle the callee's timeout before its own deadline.
        let now = Instant::now();
        let callee_deadline = self.deadline - self.deadline.saturating_duration_since(now) / 10;
        let result = self.router.route(request, real_household, self.chain.clone(), callee_deadline).await;
        Ok(match result {
            Ok(response) => Ok(response.output),
            Err(CallError::Plugin(error)) => Err(WitCallError::Failed(error)),
            Err(CallError::NoProvider(name)) => Err(WitCallError::NotFound(format!("no plugin provides {name}"))),
            Err(CallError::Cycle(message)) => Err(WitCallError::Cycle(message)),
            Err(other) => Err(WitCallError::Unavailable(other.to_string())),
        })
    }
}

impl Capability for ServicesCtx {
    fn new(setup: &Setup<'_>) -> Self {
        ServicesCtx {
            plugin: setup.plugin.clone(),
            allowed: setup.grants.calls.clone(),
            router: setup.backends.router.clone(),
            chain: vec![setup.plugin.clone()],
            deadline: Instant::now(),
            log: setup.log.clone(),
        }
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        crate::bindings::link_every_version(linker, "services", |instance| {
            crate::bindings::hearth::plugin::services::add_to_linker_instance::<T, HasSelf<Self>>(instance, get)
        })
    }
}
