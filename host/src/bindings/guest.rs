//! A plugin's exports, whichever WIT version it was built against: the host speaks the
//! newest values, and a call into an older plugin converts them on the way.

use super::v0_1::{self, ToV0_1 as _};
use super::{Event, PartnerPlugin, PartnerPluginPre, PluginError, ServiceRequest, ServiceResponse};
use wasmtime::AsContextMut;
use wasmtime::component::InstancePre;

/// A linked component, ready to instantiate.
pub enum GuestPre<T: 'static> {
    /// Built against `hearth:plugin@0.1.0`.
    V0_1(v0_1::PartnerPluginPre<T>),
    /// Built against the newest version.
    Latest(PartnerPluginPre<T>),
}

impl<T: 'static> Clone for GuestPre<T> {
    fn clone(&self) -> Self {
        match self {
            GuestPre::V0_1(pre) => GuestPre::V0_1(pre.clone()),
            GuestPre::Latest(pre) => GuestPre::Latest(pre.clone()),
        }
    }
}

/// A plugin instance's exports.
pub enum Guest {
    /// Built against `hearth:plugin@0.1.0`: no batch export.
    V0_1(v0_1::PartnerPlugin),
    /// Built against the newest version.
    Latest(PartnerPlugin),
}

/// What a call returned: the plugin's own answer, or a trap (`Err`).
pub type Returned<R> = wasmtime::Result<Result<R, PluginError>>;

impl<T: Send + 'static> GuestPre<T> {
    /// Wraps a linked component that exports the handler of `wit_version` (one of
    /// [`super::WIT_VERSIONS`]); fails when its exports do not have that shape.
    pub fn new(wit_version: &str, pre: InstancePre<T>) -> wasmtime::Result<Self> {
        if wit_version == "0.1.0" {
            v0_1::PartnerPluginPre::new(pre).map(GuestPre::V0_1)
        } else {
            PartnerPluginPre::new(pre).map(GuestPre::Latest)
        }
    }

    /// Whether the plugin takes several events per call.
    pub fn takes_batches(&self) -> bool {
        matches!(self, GuestPre::Latest(_))
    }

    /// A fresh instance in `store`.
    pub async fn instantiate(&self, store: impl AsContextMut<Data = T>) -> wasmtime::Result<Guest> {
        Ok(match self {
            GuestPre::V0_1(pre) => Guest::V0_1(pre.instantiate_async(store).await?),
            GuestPre::Latest(pre) => Guest::Latest(pre.instantiate_async(store).await?),
        })
    }
}

impl Guest {
    /// `init`.
    pub async fn init<S: AsContextMut<Data: Send>>(&self, store: S) -> Returned<()> {
        match self {
            Guest::V0_1(plugin) => Ok(plugin.hearth_plugin_handler().call_init(store).await?.map_err(Into::into)),
            Guest::Latest(plugin) => plugin.hearth_plugin_handler().call_init(store).await,
        }
    }

    /// `on-event`.
    pub async fn on_event<S: AsContextMut<Data: Send>>(&self, store: S, event: &Event) -> Returned<()> {
        match self {
            Guest::V0_1(plugin) => {
                let event = event.to_v0_1();
                Ok(plugin.hearth_plugin_handler().call_on_event(store, &event).await?.map_err(Into::into))
            }
            Guest::Latest(plugin) => plugin.hearth_plugin_handler().call_on_event(store, event).await,
        }
    }

    /// `on-events`; only for plugins that [take batches](Self::takes_batches).
    pub async fn on_events<S: AsContextMut<Data: Send>>(
        &self,
        store: S,
        events: &[Event],
    ) -> wasmtime::Result<Vec<Result<(), PluginError>>> {
        match self {
            Guest::V0_1(_) => Err(wasmtime::Error::msg("a 0.1 plugin takes one event per call")),
            Guest::Latest(plugin) => plugin.hearth_plugin_handler().call_on_events(store, events).await,
        }
    }

    /// `handle`.
    pub async fn handle<S: AsContextMut<Data: Send>>(
        &self,
        store: S,
        request: &ServiceRequest,
    ) -> Returned<ServiceResponse> {
        match self {
            Guest::V0_1(plugin) => {
                let request = request.to_v0_1();
                let returned = plugin.hearth_plugin_handler().call_handle(store, &request).await?;
                Ok(returned.map(Into::into).map_err(Into::into))
            }
            Guest::Latest(plugin) => plugin.hearth_plugin_handler().call_handle(store, request).await,
        }
    }
}
