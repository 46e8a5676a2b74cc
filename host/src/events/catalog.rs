//! The event catalogue's JSON form, as appliances send it, parsed and validated once
//! at ingest into the typed `event-body` plugins receive.
//!
//! Each catalogue topic has one body schema (snake_case names, unknown fields refused,
//! values range-checked). Topics under `ext.` carry any JSON object to plugins as
//! `other`; `household.` topics are the host's own and cannot be sent.

use crate::bindings as wit;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Topics under this prefix are outside the catalogue and reach plugins as `other`.
pub const EXTENSION_PREFIX: &str = "ext.";
/// Topics the host emits itself.
pub const HOST_PREFIX: &str = "household.";
pub const CONSENT_REVOKED: &str = "household.consent.revoked";
pub const ORDER_CONFIRMED: &str = "household.order.confirmed";

/// Largest `ext.` body, serialized.
pub const MAX_OTHER_BODY_BYTES: usize = 16 << 10;

/// Catalogue topics in the order of the WIT `event-body` cases.
pub const TOPICS: &[&str] = &[
    "appliance.fridge.inventory",
    "appliance.fridge.door",
    "appliance.oven.state",
    "appliance.oven.program-finished",
    "appliance.water-purifier.telemetry",
    "appliance.water-purifier.fault",
    "appliance.air.telemetry",
];

/// Parses the body of an event on `topic`. The error says which field is wrong and why.
pub fn parse_body(topic: &str, body: serde_json::Value) -> Result<wit::EventBody, String> {
    hearth_registry::topic::validate_topic(topic)?;
    match topic {
        "appliance.fridge.inventory" => parse::<InventoryChange>(body)?.into_wit().map(wit::EventBody::FridgeInventory),
        "appliance.fridge.door" => Ok(wit::EventBody::FridgeDoor(parse::<FridgeDoor>(body)?.state.into())),
        "appliance.oven.state" => parse::<OvenState>(body)?.into_wit().map(wit::EventBody::OvenState),
        "appliance.oven.program-finished" => {
            parse::<ProgramFinished>(body)?.into_wit().map(wit::EventBody::OvenProgramFinished)
        }
        "appliance.water-purifier.telemetry" => {
            parse::<PurifierTelemetry>(body)?.into_wit().map(wit::EventBody::PurifierTelemetry)
        }
        "appliance.water-purifier.fault" => parse::<PurifierFault>(body)?.into_wit().map(wit::EventBody::PurifierFault),
        "appliance.air.telemetry" => parse::<AirTelemetry>(body)?.into_wit().map(wit::EventBody::AirTelemetry),
        _ if topic.starts_with(HOST_PREFIX) => Err(format!("topic {topic:?} is reserved for events the host emits")),
        _ if topic.starts_with(EXTENSION_PREFIX) => {
            if !body.is_object() {
                return Err("the body of an ext. event must be a JSON object".into());
            }
            let json = body.to_string();
            if json.len() > MAX_OTHER_BODY_BYTES {
                return Err(format!("body is {} bytes; ext. bodies are at most {MAX_OTHER_BODY_BYTES}", json.len()));
            }
            Ok(wit::EventBody::Other(wit::OtherEvent { topic: topic.to_owned(), json }))
        }
        _ => Err(format!(
            "unknown topic {topic:?}: the catalogue has {}; other topics must start with {EXTENSION_PREFIX:?}",
            TOPICS.join(", ")
        )),
    }
}

fn parse<T: DeserializeOwned>(body: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(body).map_err(|error| format!("body: {error}"))
}

fn check_range<T: PartialOrd + std::fmt::Display>(field: &str, value: T, min: T, max: T) -> Result<T, String> {
    if value < min || value > max {
        return Err(format!("{field} = {value} is outside {min}..={max}"));
    }
    Ok(value)
}

fn check_text(field: &str, value: String, max_len: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.len() > max_len || trimmed.chars().any(char::is_control) {
        return Err(format!("{field} must be 1 to {max_len} bytes of printable text"));
    }
    Ok(trimmed.to_owned())
}

/// `YYYY-MM-DD`, a real calendar date.
fn parse_date(field: &str, text: &str) -> Result<wit::Date, String> {
    let bad = || format!("{field} = {text:?} is not a date (YYYY-MM-DD)");
    let mut parts = text.splitn(3, '-');
    let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let year: u16 = year.parse().map_err(|_| bad())?;
    let month: u8 = month.parse().map_err(|_| bad())?;
    let day: u8 = day.parse().map_err(|_| bad())?;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(2000..=2200).contains(&year) || day == 0 || day > days_in_month {
        return Err(bad());
    }
    Ok(wit::Date { year, month, day })
}

/// Declares a snake_case wire enum and its conversion to the WIT enum.
macro_rules! wire_enum {
    ($name:ident => $wit:ident { $($variant:ident),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        enum $name { $($variant),+ }

        impl From<$name> for wit::$wit {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => wit::$wit::$variant),+ }
            }
        }
    };
}

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
struct Quantity {
    amount: u32,
    unit: QuantityUnit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryChange {
    item: String,
    action: InventoryAction,
    quantity: Quantity,
    best_before: Option<String>,
}

impl InventoryChange {
    fn into_wit(self) -> Result<wit::InventoryChange, String> {
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
struct FridgeDoor {
    state: DoorState,
}

/// Oven temperatures in 0.01 °C: a domestic oven tops out near 300 °C (pyrolytic
/// cleaning near 500 °C).
const OVEN_MAX_CENTI: i32 = 50_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OvenState {
    state: OperationalState,
    mode: OvenMode,
    setpoint_centi_celsius: Option<i32>,
    current_centi_celsius: Option<i32>,
}

impl OvenState {
    fn into_wit(self) -> Result<wit::OvenState, String> {
        let temperature = |field, value: Option<i32>| {
            value.map(|value| check_range(field, value, -5_000, OVEN_MAX_CENTI)).transpose()
        };
        Ok(wit::OvenState {
            state: self.state.into(),
            mode: self.mode.into(),
            setpoint_centi_celsius: temperature("setpoint_centi_celsius", self.setpoint_centi_celsius)?,
            current_centi_celsius: temperature("current_centi_celsius", self.current_centi_celsius)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFinished {
    program: String,
    duration_s: u32,
}

impl ProgramFinished {
    fn into_wit(self) -> Result<wit::ProgramFinished, String> {
        Ok(wit::ProgramFinished {
            program: check_text("program", self.program, 128)?,
            duration_s: check_range("duration_s", self.duration_s, 0, 7 * 86_400)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterStatus {
    name: String,
    condition_percent: u8,
    change_indication: ChangeIndication,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurifierTelemetry {
    tds_in_ppm: u32,
    tds_out_ppm: u32,
    litres_total: u32,
    #[serde(default)]
    filters: Vec<FilterStatus>,
}

impl PurifierTelemetry {
    fn into_wit(self) -> Result<wit::PurifierTelemetry, String> {
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
struct PurifierFault {
    kind: PurifierFaultKind,
    #[serde(default)]
    detail: String,
}

impl PurifierFault {
    fn into_wit(self) -> Result<wit::PurifierFault, String> {
        if self.detail.len() > 256 {
            return Err("detail is longer than 256 bytes".into());
        }
        Ok(wit::PurifierFault { kind: self.kind.into(), detail: self.detail })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AirTelemetry {
    temperature_centi_celsius: i32,
    humidity_centi_percent: u16,
    air_quality: AirQuality,
    filter_condition_percent: Option<u8>,
    cooling_setpoint_centi_celsius: Option<i32>,
}

impl AirTelemetry {
    fn into_wit(self) -> Result<wit::AirTelemetry, String> {
        Ok(wit::AirTelemetry {
            temperature_centi_celsius: check_range(
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
                .map(|centi| check_range("cooling_setpoint_centi_celsius", centi, 1_000, 3_500))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_catalogue_topic_parses_its_example() {
        let examples = [
            json!({"item": "Egg", "action": "added", "quantity": {"amount": 6, "unit": "pieces"}, "best_before": "2026-12-01"}),
            json!({"state": "open"}),
            json!({"state": "running", "mode": "convection-bake", "setpoint_centi_celsius": 18000}),
            json!({"program": "Cooking.Oven.Program.HeatingMode.HotAir", "duration_s": 2700}),
            json!({"tds_in_ppm": 310, "tds_out_ppm": 12, "litres_total": 1450,
                   "filters": [{"name": "carbon", "condition_percent": 8, "change_indication": "critical"}]}),
            json!({"kind": "tds-anomaly", "detail": "E42"}),
            json!({"temperature_centi_celsius": 2600, "humidity_centi_percent": 4500, "air_quality": "very-poor"}),
        ];
        for (topic, body) in TOPICS.iter().zip(examples) {
            assert!(parse_body(topic, body).is_ok(), "{topic}");
        }
        let parsed = parse_body(
            TOPICS[0],
            json!({"item": " Egg ", "action": "removed", "quantity": {"amount": 2, "unit": "pieces"}}),
        );
        assert_eq!(
            parsed,
            Ok(wit::EventBody::FridgeInventory(wit::InventoryChange {
                item: "egg".into(),
                action: wit::InventoryAction::Removed,
                quantity: wit::Quantity { amount: 2, unit: wit::QuantityUnit::Pieces },
                best_before: None,
            }))
        );
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let error = |topic: &str, body| parse_body(topic, body).unwrap_err();
        assert!(error("appliance.fridge.door", json!({"state": "ajar"})).contains("unknown variant `ajar`"));
        assert!(error("appliance.fridge.door", json!({"state": "open", "extra": 1})).contains("unknown field `extra`"));
        assert!(error("appliance.fridge.door", json!({"state": 3})).contains("invalid type"));
        assert!(
            error(
                "appliance.air.telemetry",
                json!({"temperature_centi_celsius": 2600, "humidity_centi_percent": 12000, "air_quality": "good"})
            )
            .contains("humidity_centi_percent = 12000 is outside 0..=10000")
        );
        assert!(
            error("appliance.oven.state", json!({"state": "running", "mode": "bake", "setpoint_centi_celsius": 90000}))
                .contains("setpoint_centi_celsius")
        );
        assert!(error(TOPICS[0], json!({"item": "milk", "action": "added", "quantity": {"amount": 1, "unit": "grams"}, "best_before": "2026-02-30"})).contains("not a date"));
        assert!(
            error(TOPICS[0], json!({"item": "", "action": "added", "quantity": {"amount": 1, "unit": "grams"}}))
                .contains("item")
        );
        assert!(error("appliance.toaster.state", json!({})).contains("unknown topic"));
        assert!(error("household.consent.revoked", json!({})).contains("reserved"));
        assert!(error("ext.acme.*", json!({})).contains("wildcards"));
        assert!(error("ext.acme.ping", json!([1, 2])).contains("JSON object"));
    }

    #[test]
    fn extension_topics_carry_their_json() {
        let body = parse_body("ext.acme.dishwasher.cycle", json!({"cycle": "eco"})).unwrap();
        assert_eq!(
            body,
            wit::EventBody::Other(wit::OtherEvent {
                topic: "ext.acme.dishwasher.cycle".into(),
                json: r#"{"cycle":"eco"}"#.into()
            })
        );
    }
}
