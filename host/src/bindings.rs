//! Host-side bindings of the `hearth:plugin@0.1.0` world.
//!
//! Imports are synchronous (the capabilities behind them answer from sled or memory)
//! and `trappable`, so a host failure traps while the plugin's own errors stay WIT
//! results. Exports are async so calls yield to tokio on every epoch tick.

#![allow(missing_docs)] // generated from the WIT, whose comments document it

wasmtime::component::bindgen!({
    path: "../wit",
    world: "partner-plugin",
    imports: {
        "hearth:plugin/services.call": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
});

pub use hearth::plugin::types::{
    AirQuality, AirTelemetry, Caller, ChangeIndication, Date, DoorState, Event, EventBody, FilterStatus,
    InventoryAction, InventoryChange, OperationalState, OrderConfirmation, OtherEvent, OvenMode, OvenState,
    PluginError, ProgramFinished, PurifierFault, PurifierFaultKind, PurifierTelemetry, Quantity, QuantityUnit,
    ServiceRequest, ServiceResponse,
};

/// The name of the interface every plugin must export.
pub const HANDLER_INTERFACE: &str = concat!("hearth:plugin/handler@", hearth_package::wit_version!());
