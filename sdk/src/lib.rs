//! # Hearth SDK
//!
//! Write a Hearth plugin in plain Rust: implement [`Plugin`], register it with
//! [`register_plugin!`], and build for `wasm32-wasip2`. The SDK hides the WIT
//! bindings; events arrive as typed values ([`Event`], [`EventBody`]), services are
//! called with a [`ServiceRequest`] and answer a [`ServiceResponse`], and plugin state
//! lives in the host's durable key-value store ([`kv`]).
//!
//! ```
//! use hearth_sdk::{Event, EventBody, Plugin, ServiceRequest, ServiceResponse, kv};
//!
//! /// Counts how often each household opens its fridge door.
//! #[derive(Default)]
//! struct DoorCounter;
//!
//! impl Plugin for DoorCounter {
//!     fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
//!         if let EventBody::FridgeDoor(hearth_sdk::DoorState::Open) = event.body {
//!             // Keyed under the household: erased with it when it leaves.
//!             let key = kv::household_key(&event.household, "opens");
//!             let opens: u64 = kv::get(&key)?.unwrap_or(0);
//!             kv::set(&key, &(opens + 1))?;
//!             hearth_sdk::debug!("household {} opened the fridge", event.household);
//!         }
//!         Ok(())
//!     }
//!
//!     fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
//!         let household = request.require_household()?;
//!         let opens: u64 = kv::get(&kv::household_key(household, "opens"))?.unwrap_or(0);
//!         ServiceResponse::json(&serde_json::json!({ "opens": opens }))
//!     }
//! }
//!
//! hearth_sdk::register_plugin!(DoorCounter);
//! ```
//!
//! Each plugin instance serves one call at a time. The host may discard an instance at
//! any time (after a trap, a timeout, an upgrade), so keep anything that must survive
//! in [`kv`], not in fields.
#![deny(missing_docs)]

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "partner-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_partner_plugin",
        default_bindings_module: "hearth_sdk::__private::bindings",
        additional_derives: [PartialEq],
    });
}

pub mod commerce;
pub mod config;
pub mod devices;
pub mod http;
pub mod kv;
pub mod log;
pub mod notify;
mod service;
pub mod services;

mod event;

pub use event::EXTENSION_PREFIX;

pub use bindings::hearth::plugin::types::{
    AirQuality, AirTelemetry, ApplianceFault, Caller, ChangeIndication, Consumable, ConsumableKind, CooktopState, Date,
    DeviceRef, DoorState, Event, EventBody, FaultSeverity, FilterStatus, HoodState, InventoryAction, InventoryChange,
    OperationalState, OrderConfirmation, OtherEvent, OvenMode, OvenState, PluginError, ProgramFinished, ProgramState,
    PurifierFault, PurifierFaultKind, PurifierTelemetry, Quantity, QuantityUnit, ServiceRequest, ServiceResponse,
    UserRef, VacuumActivity, VacuumState,
};

/// The result type of plugin entry points and SDK helpers.
pub type Result<T, E = PluginError> = core::result::Result<T, E>;

/// A Hearth plugin. Every method has a default, so a plugin implements only what it
/// needs: an event-only plugin leaves [`Plugin::handle`] alone, a service-only one
/// leaves [`Plugin::on_event`].
///
/// The instance is created with [`Default`] and [`Plugin::init`] runs before any other
/// call on it.
pub trait Plugin: Default + 'static {
    /// Prepares a fresh instance. An error here fails the call that needed the instance.
    fn init(&mut self) -> Result<()> {
        Ok(())
    }

    /// Handles one event from a subscribed topic. `Ok` acknowledges it; an error makes
    /// the host retry it later, so handling must be idempotent (use [`Event::id`]).
    fn on_event(&mut self, event: Event) -> Result<()> {
        let _ = event;
        Ok(())
    }

    /// Handles several events in delivery order (each device's in the order it sent
    /// them): the host delivers what is waiting for this instance in one call. The
    /// default calls [`Plugin::on_event`] for each and stops at the first error: the
    /// host retries that event and delivers the ones after it again, after it.
    ///
    /// Override it to handle a batch at once (e.g. one kv write for many events).
    /// Return one result per event handled, in order; returning fewer results than
    /// events leaves the rest to be delivered again.
    fn on_events(&mut self, events: Vec<Event>) -> Vec<Result<()>> {
        one_by_one(self, events)
    }

    /// Serves a call of one of the services this plugin provides.
    fn handle(&mut self, request: ServiceRequest) -> Result<ServiceResponse> {
        Err(PluginError::NotFound(format!(
            "this plugin provides no operation {}.{}",
            request.service, request.operation
        )))
    }
}

/// Hands `events` to [`Plugin::on_event`] one at a time, stopping at the first error:
/// what [`Plugin::on_events`] does unless a plugin overrides it, and what an override
/// can call after looking at the batch as a whole.
pub fn one_by_one<P: Plugin>(plugin: &mut P, events: Vec<Event>) -> Vec<Result<()>> {
    let mut results = Vec::with_capacity(events.len());
    for event in events {
        let result = plugin.on_event(event);
        let failed = result.is_err();
        results.push(result);
        if failed {
            break;
        }
    }
    results
}

/// Exports a [`Plugin`] implementation as the component's `hearth:plugin/handler`.
/// Call it once, at the crate root of the plugin.
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        const _: () = {
            struct HearthExports;

            ::std::thread_local! {
                static INSTANCE: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            impl $crate::__private::Guest for HearthExports {
                fn init() -> $crate::Result<()> {
                    $crate::__private::init(&INSTANCE)
                }

                fn on_event(event: $crate::Event) -> $crate::Result<()> {
                    $crate::__private::with_plugin(&INSTANCE, |plugin| $crate::Plugin::on_event(plugin, event))
                }

                fn on_events(events: ::std::vec::Vec<$crate::Event>) -> ::std::vec::Vec<$crate::Result<()>> {
                    $crate::__private::with_plugin_batch(&INSTANCE, events)
                }

                fn handle(request: $crate::ServiceRequest) -> $crate::Result<$crate::ServiceResponse> {
                    $crate::__private::with_plugin(&INSTANCE, |plugin| $crate::Plugin::handle(plugin, request))
                }
            }

            // Natively nothing calls the exports; naming them keeps the plugin's
            // code live for dead-code analysis.
            #[cfg(not(target_arch = "wasm32"))]
            const _: [fn(); 4] = [
                || {
                    let _ = <HearthExports as $crate::__private::Guest>::init();
                },
                || {
                    let _ = <HearthExports as $crate::__private::Guest>::on_event;
                },
                || {
                    let _ = <HearthExports as $crate::__private::Guest>::on_events;
                },
                || {
                    let _ = <HearthExports as $crate::__private::Guest>::handle;
                },
            ];

            // Native builds (unit tests of a plugin's logic) link as ordinary
            // libraries, whose linkers reject the component export names.
            #[cfg(target_arch = "wasm32")]
            $crate::__private::__export_partner_plugin!(
                HearthExports with_types_in $crate::__private::bindings
            );
        };
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::bindings::__export_partner_plugin;
    pub use crate::bindings::exports::hearth::plugin::handler::Guest;
    use crate::{Plugin, Result};
    use std::cell::RefCell;
    use std::thread::LocalKey;

    pub fn init<P: Plugin>(instance: &'static LocalKey<RefCell<Option<P>>>) -> Result<()> {
        let mut plugin = P::default();
        plugin.init()?;
        instance.with(|cell| *cell.borrow_mut() = Some(plugin));
        Ok(())
    }

    pub fn with_plugin<P: Plugin, R>(
        instance: &'static LocalKey<RefCell<Option<P>>>,
        call: impl FnOnce(&mut P) -> Result<R>,
    ) -> Result<R> {
        if instance.with(|cell| cell.borrow().is_none()) {
            init(instance)?;
        }
        instance.with(|cell| match cell.borrow_mut().as_mut() {
            Some(plugin) => call(plugin),
            None => Err(crate::PluginError::Internal("plugin instance missing after init".to_owned())),
        })
    }

    /// A batch of events: a failed `init` fails the first event (the host retries it).
    pub fn with_plugin_batch<P: Plugin>(
        instance: &'static LocalKey<RefCell<Option<P>>>,
        events: Vec<crate::Event>,
    ) -> Vec<Result<()>> {
        match with_plugin(instance, |plugin| Ok(plugin.on_events(events))) {
            Ok(results) => results,
            Err(error) => vec![Err(error)],
        }
    }
}
