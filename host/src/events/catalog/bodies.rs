//! Bodies of the appliance kinds in the catalogue since WIT 0.1: fridge, oven, water
//! purifier, air conditioner / purifier.

use super::{centi_celsius, check_range, check_text, parse_date, wit};
use serde::Deserialize;

wire_enum!(InventoryAction => InventoryAction { Added, Removed, Counted });
wire_enum!(QuantityUnit => QuantityUnit { Pieces, Grams, Millilitres });
wire_enum!(DoorState => DoorState { Open, Closed, Alarm });
wire_enum!(OperationalState => OperationalState { Stopped, Running, Paused, Error });
wire_enum!(OvenMode => OvenMode {
    Bake, Convection, Grill, Roast, Clean, ConvectionBake, ConvectionRoast, Warming, Proofing, Steam,
});
wire_enum!(ChangeIndication => ChangeIndication { Ok, Warning, Critical });
wire_enum!(PurifierFaultKind => PurifierFaultKind { Leak, TdsAnomaly, FilterExpired, LowPressure, Other });
wire_enum!(AirQuality => AirQuality { Unknown, Good, Fair, Moderate, Poor, VeryPoor, ExtremelyPoor });

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Quantity {
    amount: u32,
    unit: QuantityUnit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InventoryChange {
    item: String,
    action: InventoryAction,
    quantity: Quantity,
    best_before: Option<String>,
}

impl InventoryChange {
    pub(super) fn into_wit(self) -> Result<wit::InventoryChange, String> {
        Ok(wit::InventoryChange {
            item: check_text("item", self.item, 64)?.to_lowercase(),
            action: self.action.into(),
            quantity: wit::Quantity {
                amount: check_range("quantity.amount", self.quantity.amount, 0, 1_000_000)?,
                unit: self.quantity.unit.into(),
            },
            best_before: self.best_before.map(|date| parse_date("best_before", &date)).transpose()?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FridgeDoor {
    pub(super) state: DoorState,
}

/// Oven temperatures in 0.01 °C: a domestic oven is set from about 25 °C (proofing,
/// warming) to 300 °C; pyrolytic cleaning runs near 500 °C. What it measures inside
/// ranges from a cold kitchen to cleaning.
pub(super) const OVEN_SETPOINT_MIN_CENTI: i32 = 2_500;
pub(super) const OVEN_SETPOINT_MAX_CENTI: i32 = 30_000;
const OVEN_MAX_CENTI: i32 = 50_000;
/// An air conditioner's cooling setpoint: 10 °C to 35 °C.
const AIR_SETPOINT_MIN_CENTI: i32 = 1_000;
const AIR_SETPOINT_MAX_CENTI: i32 = 3_500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OvenState {
    state: OperationalState,
    mode: OvenMode,
    setpoint_centi_celsius: Option<i32>,
    current_centi_celsius: Option<i32>,
}

impl OvenState {
    pub(super) fn into_wit(self) -> Result<wit::OvenState, String> {
        let setpoint_max = if matches!(self.mode, OvenMode::Clean) { OVEN_MAX_CENTI } else { OVEN_SETPOINT_MAX_CENTI };
        let setpoint = self
            .setpoint_centi_celsius
            .map(|value| centi_celsius("setpoint_centi_celsius", value, OVEN_SETPOINT_MIN_CENTI, setpoint_max))
            .transpose()?;
        let current = self
            .current_centi_celsius
            .map(|value| centi_celsius("current_centi_celsius", value, -5_000, OVEN_MAX_CENTI))
            .transpose()?;
        Ok(wit::OvenState {
            state: self.state.into(),
            mode: self.mode.into(),
            setpoint_centi_celsius: setpoint,
            current_centi_celsius: current,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgramFinished {
    program: String,
    duration_s: u32,
}

impl ProgramFinished {
    pub(super) fn into_wit(self) -> Result<wit::ProgramFinished, String> {
        Ok(wit::ProgramFinished {
            program: check_text("program", self.program, 128)?,
            duration_s: check_range("duration_s", self.duration_s, 0, 7 * 86_400).map_err(|message| {
                if self.duration_s / 1000 <= 7 * 86_400 {
                    format!("{message}; the unit is seconds: {} ms is {} s", self.duration_s, self.duration_s / 1000)
                } else {
                    message
                }
            })?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilterStatus {
    name: String,
    condition_percent: u8,
    change_indication: ChangeIndication,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PurifierTelemetry {
    tds_in_ppm: u32,
    tds_out_ppm: u32,
    litres_total: u32,
    #[serde(default)]
    filters: Vec<FilterStatus>,
}

impl PurifierTelemetry {
    pub(super) fn into_wit(self) -> Result<wit::PurifierTelemetry, String> {
        if self.filters.len() > 16 {
            return Err(format!("filters has {} entries; at most 16", self.filters.len()));
        }
        let filters = self
            .filters
            .into_iter()
            .map(|filter| {
                Ok(wit::FilterStatus {
                    name: check_text("filters.name", filter.name, 32)?,
                    condition_percent: check_range("filters.condition_percent", filter.condition_percent, 0, 100)?,
                    change_indication: filter.change_indication.into(),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(wit::PurifierTelemetry {
            tds_in_ppm: check_range("tds_in_ppm", self.tds_in_ppm, 0, 10_000)?,
            tds_out_ppm: check_range("tds_out_ppm", self.tds_out_ppm, 0, 10_000)?,
            litres_total: self.litres_total,
            filters,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PurifierFault {
    kind: PurifierFaultKind,
    #[serde(default)]
    detail: String,
}

impl PurifierFault {
    pub(super) fn into_wit(self) -> Result<wit::PurifierFault, String> {
        if self.detail.len() > 256 {
            return Err("detail is longer than 256 bytes".into());
        }
        Ok(wit::PurifierFault { kind: self.kind.into(), detail: self.detail })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AirTelemetry {
    temperature_centi_celsius: i32,
    humidity_centi_percent: u16,
    air_quality: AirQuality,
    filter_condition_percent: Option<u8>,
    cooling_setpoint_centi_celsius: Option<i32>,
}

impl AirTelemetry {
    pub(super) fn into_wit(self) -> Result<wit::AirTelemetry, String> {
        Ok(wit::AirTelemetry {
            temperature_centi_celsius: centi_celsius(
                "temperature_centi_celsius",
                self.temperature_centi_celsius,
                -5_000,
                7_000,
            )?,
            humidity_centi_percent: check_range("humidity_centi_percent", self.humidity_centi_percent, 0, 10_000)?,
            air_quality: self.air_quality.into(),
            filter_condition_percent: self
                .filter_condition_percent
                .map(|percent| check_range("filter_condition_percent", percent, 0, 100))
                .transpose()?,
            cooling_setpoint_centi_celsius: self
                .cooling_setpoint_centi_celsius
                .map(|centi| {
                    centi_celsius(
                        "cooling_setpoint_centi_celsius",
                        centi,
                        AIR_SETPOINT_MIN_CENTI,
                        AIR_SETPOINT_MAX_CENTI,
                    )
                })
                .transpose()?,
        })
    }
}
