//! Host-side bindings of the `hearth:plugin` worlds, one module per WIT version.
//!
//! The newest version (`wit/`) is this module; older ones are frozen under
//! `wit/vX.Y/` and have a module each ([`v0_1`]). Capabilities are implemented against
//! the newest bindings; an interface that kept its shape since an older version is
//! linked under every version's names with the same implementation
//! ([`link_every_version`]), one that changed has its older twin implemented beside
//! it (kv, notify and commerce gained `not-granted` in 0.2). [`Guest`] calls whichever
//! handler a component exports, converting values between versions.
//!
//! Imports are synchronous (the capabilities behind them answer from storage or
//! memory) and `trappable`, so a host failure traps while the plugin's own errors stay
//! WIT results. Exports are async so calls yield to tokio on every epoch tick.

#![allow(missing_docs)] // generated from the WIT, whose comments document it

mod guest;
pub mod v0_1;

pub use guest::{Guest, GuestPre};

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
    AirQuality, AirTelemetry, ApplianceFault, Caller, ChangeIndication, Consumable, ConsumableKind, CooktopState, Date,
    DoorState, Event, EventBody, FaultSeverity, FilterStatus, HoodState, InventoryAction, InventoryChange,
    OperationalState, OrderConfirmation, OtherEvent, OvenMode, OvenState, PluginError, ProgramFinished, ProgramState,
    PurifierFault, PurifierFaultKind, PurifierTelemetry, Quantity, QuantityUnit, ServiceRequest, ServiceResponse,
    VacuumActivity, VacuumState,
};

/// The WIT versions this host loads, `MAJOR.MINOR.PATCH`, oldest first.
pub const WIT_VERSIONS: &[&str] = &["0.1.0", hearth_package::wit_version!()];

/// The handler interface of a WIT version, e.g. `hearth:plugin/handler@0.2.0`.
pub fn handler_interface(wit_version: &str) -> String {
    format!("hearth:plugin/handler@{wit_version}")
}

/// The full WIT version of a manifest's `api` (`0.2` → `0.2.0`), if this host loads it.
pub fn wit_version_of(api: &str) -> Option<&'static str> {
    WIT_VERSIONS.iter().copied().find(|version| version.rsplit_once('.').is_some_and(|(minor, _)| minor == api))
}

/// Links one capability interface (`kv`, `notify`, …) under the names of every WIT
/// version: `add` registers the newest bindings' functions into one linker instance.
/// The component model checks types structurally at instantiation, so a component
/// built against any version links as long as the interface kept its shape.
pub fn link_every_version<T>(
    linker: &mut wasmtime::component::Linker<T>,
    interface: &str,
    add: impl Fn(&mut wasmtime::component::LinkerInstance<'_, T>) -> wasmtime::Result<()>,
) -> wasmtime::Result<()> {
    for version in WIT_VERSIONS {
        add(&mut linker.instance(&format!("hearth:plugin/{interface}@{version}"))?)?;
    }
    Ok(())
}
