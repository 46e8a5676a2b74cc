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
/// The host tells a plugin a household withdrew its consent.
pub const CONSENT_REVOKED: &str = "household.consent.revoked";
/// The host tells a plugin a household confirmed its order.
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
    hearth_package::topic::validate_topic(topic)?;
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

/// The device kinds that may send a catalogue topic (`appliance.<kind>.…`; air
/// telemetry comes from air conditioners and air purifiers). `None` for topics
/// outside the catalogue, which any device may send.
pub fn kinds_for(topic: &str) -> Option<&'static [&'static str]> {
    let family = topic.strip_prefix("appliance.")?.split('.').next()?;
    Some(match family {
        "fridge" => &["fridge"],
        "oven" => &["oven"],
        "water-purifier" => &["water-purifier"],
        "air" => &["air-conditioner", "air-purifier"],
        _ => return None,
    })
}

/// Checks a temperature in hundredths of a degree Celsius against a plausible range,
/// and names the likely mistake when it is not: whole degrees, or Fahrenheit.
fn centi_celsius(field: &str, value: i32, min: i32, max: i32) -> Result<i32, String> {
    let range = min..=max;
    if range.contains(&value) {
        return Ok(value);
    }
    let celsius = |centi: i32| f64::from(centi) / 100.0;
    let mut message =
        format!("{field} = {value} is {:.2} °C, outside {:.2}..={:.2} °C", celsius(value), celsius(min), celsius(max));
    let from_fahrenheit = |fahrenheit: f64| ((fahrenheit - 32.0) * 5.0 / 9.0 * 100.0).round() as i32;
    if range.contains(&value.saturating_mul(100)) {
        message.push_str(&format!(
            "; the unit is hundredths of a degree Celsius: {value} °C is {}",
            value.saturating_mul(100)
        ));
    } else if range.contains(&from_fahrenheit(f64::from(value))) {
        message.push_str(&format!("; if you meant {value} °F, send {}", from_fahrenheit(f64::from(value))));
    } else if range.contains(&from_fahrenheit(celsius(value))) {
        message.push_str(&format!("; if that was {:.0} °F, send {}", celsius(value), from_fahrenheit(celsius(value))));
    }
    Err(message)
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

/// Oven temperatures in 0.01 °C: a domestic oven is set from about 25 °C (proofing,
/// warming) to 300 °C; pyrolytic cleaning runs near 500 °C. What it measures inside
/// ranges from a cold kitchen to cleaning.
const OVEN_SETPOINT_MIN_CENTI: i32 = 2_500;
const OVEN_SETPOINT_MAX_CENTI: i32 = 30_000;
const OVEN_MAX_CENTI: i32 = 50_000;
/// An air conditioner's cooling setpoint: 10 °C to 35 °C.
const AIR_SETPOINT_MIN_CENTI: i32 = 1_000;
const AIR_SETPOINT_MAX_CENTI: i32 = 3_500;

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
struct ProgramFinished {
    program: String,
    duration_s: u32,
}

impl ProgramFinished {
    fn into_wit(self) -> Result<wit::ProgramFinished, String> {
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

    /// Implausible temperatures are refused with the likely mistake named; plausible
    /// ones pass. Randomized over the whole i32 range (fixed seed): a value is accepted
    /// exactly when it is within the range.
    #[test]
    fn temperatures_are_plausible_and_mistakes_are_named() {
        let oven = |setpoint: i32, mode: &str| {
            parse_body(
                "appliance.oven.state",
                json!({"state": "running", "mode": mode, "setpoint_centi_celsius": setpoint}),
            )
        };
        let whole_degrees = oven(180, "bake").unwrap_err();
        assert!(whole_degrees.contains("180 °C is 18000"), "{whole_degrees}");
        let fahrenheit = oven(35_600, "bake").unwrap_err();
        assert!(fahrenheit.contains("356 °F, send 18000"), "{fahrenheit}");
        let fahrenheit_whole = oven(356, "bake").unwrap_err();
        assert!(fahrenheit_whole.contains("356 °F, send 18000"), "{fahrenheit_whole}");
        assert!(oven(45_000, "clean").is_ok(), "pyrolytic cleaning is hot");
        assert!(oven(45_000, "bake").is_err());
        let mut seed = 0x7e57_u64;
        for _ in 0..10_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let value = (seed >> 32) as i32 % 60_000;
            let plausible = (OVEN_SETPOINT_MIN_CENTI..=OVEN_SETPOINT_MAX_CENTI).contains(&value);
            assert_eq!(oven(value, "bake").is_ok(), plausible, "{value}");
        }
        let air = |setpoint: i32| {
            parse_body(
                "appliance.air.telemetry",
                json!({"temperature_centi_celsius": 2400, "humidity_centi_percent": 4000,
                "air_quality": "good", "cooling_setpoint_centi_celsius": setpoint}),
            )
        };
        assert!(air(2_400).is_ok());
        assert!(air(24).unwrap_err().contains("24 °C is 2400"));
        let long_program =
            parse_body("appliance.oven.program-finished", json!({"program": "bake", "duration_s": 2_700_000}));
        assert!(long_program.unwrap_err().contains("2700000 ms is 2700 s"));
    }

    #[test]
    fn catalogue_topics_name_the_device_kinds_that_send_them() {
        assert_eq!(kinds_for("appliance.fridge.door"), Some(&["fridge"][..]));
        assert_eq!(kinds_for("appliance.air.telemetry"), Some(&["air-conditioner", "air-purifier"][..]));
        assert_eq!(kinds_for("ext.acme.anything"), None);
    }
}
