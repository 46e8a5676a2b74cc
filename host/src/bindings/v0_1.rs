//! `hearth:plugin@0.1.0`, frozen in `wit/v0.1/`: the exports of plugins built against
//! it, and the conversions between its values and the newest version's.
//!
//! Its capability interfaces that kept their shape are the newest ones under older
//! names, so they are remapped here and never generated twice; kv, notify and commerce
//! (whose errors gained `not-granted`) are generated for 0.1 and implemented beside
//! the newest, in each capability's module. Events of topics 0.1 does not know
//! (catalogue topics added later) reach a 0.1 plugin as `other`, with the typed body
//! as JSON, which is what the 0.1 contract promises for topics outside its catalogue.

#![allow(missing_docs)]

use super as latest;

wasmtime::component::bindgen!({
    path: "../wit/v0.1",
    world: "partner-plugin",
    imports: { default: trappable },
    exports: { default: async },
    // kv, notify and commerce gained `not-granted` in 0.2: they are generated here and
    // implemented beside the newest (in each capability's module).
    with: {
        "hearth:plugin/log@0.1.0": crate::bindings::hearth::plugin::log,
        "hearth:plugin/config@0.1.0": crate::bindings::hearth::plugin::config,
        "hearth:plugin/devices@0.1.0": crate::bindings::hearth::plugin::devices,
        "hearth:plugin/services@0.1.0": crate::bindings::hearth::plugin::services,
    },
});

use hearth::plugin::types as old;

/// A value of the newest WIT turned into its 0.1 twin.
pub trait ToV0_1 {
    type Output;
    fn to_v0_1(&self) -> Self::Output;
}

macro_rules! same {
    ($($ty:ty),*) => {$(
        impl ToV0_1 for $ty {
            type Output = $ty;
            fn to_v0_1(&self) -> $ty {
                self.clone()
            }
        }
    )*};
}
same!(String, u8, u16, u32, u64, i32);

impl<T: ToV0_1> ToV0_1 for Option<T> {
    type Output = Option<T::Output>;
    fn to_v0_1(&self) -> Self::Output {
        self.as_ref().map(ToV0_1::to_v0_1)
    }
}

impl<T: ToV0_1> ToV0_1 for Vec<T> {
    type Output = Vec<T::Output>;
    fn to_v0_1(&self) -> Self::Output {
        self.iter().map(ToV0_1::to_v0_1).collect()
    }
}

/// Records and enums whose shape did not change: field by field, case by case.
macro_rules! unchanged {
    (record $name:ident { $($field:ident),* $(,)? }) => {
        impl ToV0_1 for latest::$name {
            type Output = old::$name;
            fn to_v0_1(&self) -> old::$name {
                old::$name { $($field: self.$field.to_v0_1(),)* }
            }
        }
    };
    (enum $name:ident { $($case:ident),* $(,)? }) => {
        impl ToV0_1 for latest::$name {
            type Output = old::$name;
            fn to_v0_1(&self) -> old::$name {
                match self { $(latest::$name::$case => old::$name::$case,)* }
            }
        }
    };
}

unchanged!(record Date { year, month, day });
unchanged!(
    enum InventoryAction {
        Added,
        Removed,
        Counted,
    }
);
unchanged!(
    enum QuantityUnit {
        Pieces,
        Grams,
        Millilitres,
    }
);
unchanged!(record Quantity { amount, unit });
unchanged!(record InventoryChange { item, action, quantity, best_before });
unchanged!(
    enum DoorState {
        Open,
        Closed,
        Alarm,
    }
);
unchanged!(
    enum OperationalState {
        Stopped,
        Running,
        Paused,
        Error,
    }
);
unchanged!(
    enum OvenMode {
        Bake,
        Convection,
        Grill,
        Roast,
        Clean,
        ConvectionBake,
        ConvectionRoast,
        Warming,
        Proofing,
        Steam,
    }
);
unchanged!(record OvenState { state, mode, setpoint_centi_celsius, current_centi_celsius });
unchanged!(record ProgramFinished { program, duration_s });
unchanged!(
    enum ChangeIndication {
        Ok,
        Warning,
        Critical,
    }
);
unchanged!(record FilterStatus { name, condition_percent, change_indication });
unchanged!(record PurifierTelemetry { tds_in_ppm, tds_out_ppm, litres_total, filters });
unchanged!(
    enum PurifierFaultKind {
        Leak,
        TdsAnomaly,
        FilterExpired,
        LowPressure,
        Other,
    }
);
unchanged!(record PurifierFault { kind, detail });
unchanged!(
    enum AirQuality {
        Unknown,
        Good,
        Fair,
        Moderate,
        Poor,
        VeryPoor,
        ExtremelyPoor,
    }
);
unchanged!(record AirTelemetry {
    temperature_centi_celsius, humidity_centi_percent, air_quality, filter_condition_percent,
    cooling_setpoint_centi_celsius,
});
unchanged!(record OrderConfirmation { order_id });
unchanged!(record OtherEvent { topic, json });
unchanged!(record ServiceRequest { service, operation, caller, household, input });

impl ToV0_1 for latest::Caller {
    type Output = old::Caller;
    fn to_v0_1(&self) -> old::Caller {
        match self {
            latest::Caller::Operator => old::Caller::Operator,
            latest::Caller::Household(user) => old::Caller::Household(user.clone()),
            latest::Caller::Device(device) => old::Caller::Device(device.clone()),
            latest::Caller::Plugin(plugin) => old::Caller::Plugin(plugin.clone()),
        }
    }
}

impl ToV0_1 for latest::Event {
    type Output = old::Event;
    fn to_v0_1(&self) -> old::Event {
        use latest::EventBody as New;
        use old::EventBody as Old;
        let outside = |json: Result<String, serde_json::Error>| {
            Old::Other(old::OtherEvent { topic: self.topic.clone(), json: json.unwrap_or_else(|_| "{}".into()) })
        };
        let body = match &self.body {
            New::FridgeInventory(change) => Old::FridgeInventory(change.to_v0_1()),
            New::FridgeDoor(door) => Old::FridgeDoor(door.to_v0_1()),
            New::OvenState(state) => Old::OvenState(state.to_v0_1()),
            New::OvenProgramFinished(finished) => Old::OvenProgramFinished(finished.to_v0_1()),
            New::PurifierTelemetry(telemetry) => Old::PurifierTelemetry(telemetry.to_v0_1()),
            New::PurifierFault(fault) => Old::PurifierFault(fault.to_v0_1()),
            New::AirTelemetry(telemetry) => Old::AirTelemetry(telemetry.to_v0_1()),
            New::OrderConfirmed(order) => Old::OrderConfirmed(order.to_v0_1()),
            New::ConsentRevoked => Old::ConsentRevoked,
            New::Other(other) => Old::Other(other.to_v0_1()),
            New::ProgramState(state) => outside(serde_json::to_string(state)),
            New::ProgramFinished(finished) => outside(serde_json::to_string(finished)),
            New::ApplianceDoor(door) => outside(serde_json::to_string(door)),
            New::Consumables(levels) => outside(serde_json::to_string(levels)),
            New::ApplianceFault(fault) => outside(serde_json::to_string(fault)),
            New::CooktopState(state) => outside(serde_json::to_string(state)),
            New::HoodState(state) => outside(serde_json::to_string(state)),
            New::VacuumState(state) => outside(serde_json::to_string(state)),
        };
        old::Event {
            id: self.id.clone(),
            topic: self.topic.clone(),
            time_ms: self.time_ms,
            household: self.household.clone(),
            device: self.device.clone(),
            body,
        }
    }
}

impl From<old::PluginError> for latest::PluginError {
    fn from(error: old::PluginError) -> Self {
        match error {
            old::PluginError::InvalidInput(message) => latest::PluginError::InvalidInput(message),
            old::PluginError::NotFound(message) => latest::PluginError::NotFound(message),
            old::PluginError::Unavailable(message) => latest::PluginError::Unavailable(message),
            old::PluginError::Internal(message) => latest::PluginError::Internal(message),
        }
    }
}

impl From<old::ServiceResponse> for latest::ServiceResponse {
    fn from(response: old::ServiceResponse) -> Self {
        latest::ServiceResponse { output: response.output }
    }
}
