//! The event catalogue's JSON form, as appliances send it, parsed and validated once
//! at ingest into the typed `event-body` plugins receive.
//!
//! Each catalogue topic has one body schema (snake_case names, unknown fields refused,
//! values range-checked). Topics under `ext.` carry any JSON object to plugins as
//! `other`; `household.` topics are the host's own and cannot be sent.

use crate::bindings as wit;

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

/// The catalogue topics of the appliance kinds in it since WIT 0.1.
const FIRST_TOPICS: &[&str] = &[
    "appliance.fridge.inventory",
    "appliance.fridge.door",
    "appliance.oven.state",
    "appliance.oven.program-finished",
    "appliance.water-purifier.telemetry",
    "appliance.water-purifier.fault",
    "appliance.air.telemetry",
];

/// Every catalogue topic an appliance may send.
pub fn topics() -> Vec<String> {
    let programs = programs::KINDS
        .iter()
        .flat_map(|(kind, events)| events.iter().map(move |event| format!("appliance.{kind}.{event}")));
    FIRST_TOPICS.iter().map(|topic| (*topic).to_owned()).chain(programs).collect()
}

/// Whether any event can ever match the (valid) subscription `pattern`: a catalogue
/// topic, an event the host emits, or some `ext.` topic.
pub fn can_match(pattern: &str) -> bool {
    let mut tokens = pattern.split('.');
    let (first, more) = (tokens.next().unwrap_or_default(), tokens.next().is_some());
    // `ext.` topics have at least two tokens and may be anything after the first.
    let extension = first == ">" || (more && (first == "*" || first == EXTENSION_PREFIX.trim_end_matches('.')));
    extension
        || topics()
            .iter()
            .map(String::as_str)
            .chain([CONSENT_REVOKED, ORDER_CONFIRMED])
            .any(|topic| hearth_package::topic::matches(pattern, topic))
}

/// A warning for each of the manifest's subscriptions no event can match (a typo, or a
/// kind the catalogue does not have), naming what the catalogue has. Installs and
/// packs go ahead: the warning is for the partner and the operator.
pub fn unmatched_subscriptions(manifest: &hearth_package::Manifest) -> Vec<String> {
    manifest
        .subscriptions
        .topics
        .iter()
        .filter(|pattern| !can_match(pattern))
        .map(|pattern| {
            let hint = unknown_topic(pattern).replace(&format!("unknown topic {pattern:?}: "), "");
            format!("subscription {pattern:?} matches no event: {hint}")
        })
        .collect()
}

/// A valid example body for a catalogue topic (what `hearth dev send` sends, and what
/// the docs show); `None` for topics outside the catalogue.
pub fn example(topic: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match topic {
        "appliance.fridge.inventory" => json!({"item": "egg", "action": "added",
            "quantity": {"amount": 6, "unit": "pieces"}, "best_before": "2026-12-01"}),
        "appliance.fridge.door" => json!({"state": "open"}),
        "appliance.oven.state" => {
            json!({"state": "running", "mode": "convection-bake", "setpoint_centi_celsius": 18000})
        }
        "appliance.oven.program-finished" => {
            json!({"program": "Cooking.Oven.Program.HeatingMode.HotAir", "duration_s": 2700})
        }
        "appliance.water-purifier.telemetry" => json!({"tds_in_ppm": 310, "tds_out_ppm": 12, "litres_total": 1450,
            "filters": [{"name": "carbon", "condition_percent": 8, "change_indication": "critical"}]}),
        "appliance.water-purifier.fault" => json!({"kind": "tds-anomaly", "detail": "E42"}),
        "appliance.air.telemetry" => {
            json!({"temperature_centi_celsius": 2600, "humidity_centi_percent": 4500, "air_quality": "very-poor"})
        }
        _ => {
            let (kind, event) = programs::kind_and_event(topic)?;
            programs::example(kind, event)
        }
    })
}

/// Parses the body of an event on `topic`. The error says which field is wrong and why.
pub fn parse_body(topic: &str, body: serde_json::Value) -> Result<wit::EventBody, String> {
    hearth_package::topic::validate_topic(topic)?;
    match topic {
        "appliance.fridge.inventory" => {
            parse::<bodies::InventoryChange>(body)?.into_wit().map(wit::EventBody::FridgeInventory)
        }
        "appliance.fridge.door" => Ok(wit::EventBody::FridgeDoor(parse::<bodies::FridgeDoor>(body)?.state.into())),
        "appliance.oven.state" => parse::<bodies::OvenState>(body)?.into_wit().map(wit::EventBody::OvenState),
        "appliance.oven.program-finished" => {
            parse::<bodies::ProgramFinished>(body)?.into_wit().map(wit::EventBody::OvenProgramFinished)
        }
        "appliance.water-purifier.telemetry" => {
            parse::<bodies::PurifierTelemetry>(body)?.into_wit().map(wit::EventBody::PurifierTelemetry)
        }
        "appliance.water-purifier.fault" => {
            parse::<bodies::PurifierFault>(body)?.into_wit().map(wit::EventBody::PurifierFault)
        }
        "appliance.air.telemetry" => parse::<bodies::AirTelemetry>(body)?.into_wit().map(wit::EventBody::AirTelemetry),
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
        _ => match programs::kind_and_event(topic) {
            Some((kind, event)) => programs::parse_program(kind, event, body),
            None => Err(unknown_topic(topic)),
        },
    }
}

/// Names what the catalogue has instead: the topics of the appliance kind, or the kinds.
fn unknown_topic(topic: &str) -> String {
    let all = topics();
    let family = topic.strip_prefix("appliance.").and_then(|rest| rest.split('.').next()).unwrap_or_default();
    let prefix = format!("appliance.{family}.");
    let same_kind: Vec<&str> = all.iter().filter(|known| known.starts_with(&prefix)).map(String::as_str).collect();
    if !family.is_empty() && !same_kind.is_empty() {
        return format!(
            "unknown topic {topic:?}: the catalogue's {family} topics are {}; other topics must start with \
             {EXTENSION_PREFIX:?}",
            same_kind.join(", ")
        );
    }
    let mut families: Vec<&str> =
        all.iter().filter_map(|known| known.strip_prefix("appliance.")?.split('.').next()).collect();
    families.dedup();
    format!(
        "unknown topic {topic:?}: the catalogue has appliance.<kind>.… topics for {}; other topics must start \
         with {EXTENSION_PREFIX:?}",
        families.join(", ")
    )
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
        _ => {
            return programs::KINDS
                .iter()
                .find(|(kind, _)| *kind == family)
                .map(|(kind, _)| std::slice::from_ref(kind));
        }
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
        pub(super) enum $name { $($variant),+ }

        impl From<$name> for wit::$wit {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => wit::$wit::$variant),+ }
            }
        }
    };
}

mod bodies;
mod programs;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscriptions_that_no_event_can_match_are_told_apart() {
        // Every topic, every kind's `>` and `*` patterns, and the wildcards over `ext.`
        // and the host's events can match something.
        for topic in topics() {
            let kind = topic.split('.').nth(1).unwrap_or_default().to_owned();
            for pattern in
                [topic.clone(), format!("appliance.{kind}.>"), format!("appliance.{kind}.*"), format!("*.{kind}.*")]
            {
                assert!(can_match(&pattern), "{pattern}");
            }
        }
        for pattern in
            [">", "ext.>", "ext.acme.level", "*.>", "*.anything", "household.>", CONSENT_REVOKED, "appliance.>"]
        {
            assert!(can_match(pattern), "{pattern}");
        }
        // Typos and kinds the catalogue lacks cannot; the warning names the choices.
        for pattern in [
            "appliance.washr.>",
            "appliance.fridge.doors",
            "ext",
            "household.consent.granted",
            "fridge.door",
            "appliance.toaster.*",
        ] {
            assert!(!can_match(pattern), "{pattern}");
        }
        let manifest: hearth_package::Manifest = r#"
            [plugin]
            id = "com.acme.laundry"
            version = "0.1.0"
            publisher = "acme"
            api = "0.2"
            [subscriptions]
            topics = ["appliance.washr.>", "appliance.washer.>", "ext.acme.>"]
        "#
        .parse()
        .unwrap();
        let warnings = unmatched_subscriptions(&manifest);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("\"appliance.washr.>\" matches no event") && warnings[0].contains("washer"),
            "{warnings:?}"
        );
    }

    #[test]
    fn every_catalogue_topic_parses_its_example() {
        let all = topics();
        assert_eq!(all.len(), FIRST_TOPICS.len() + 28);
        for topic in &all {
            let body = example(topic).unwrap_or_else(|| panic!("{topic} has no example"));
            assert!(parse_body(topic, body.clone()).is_ok(), "{topic}: {body}");
        }
        assert_eq!(example("ext.acme.level"), None);
        let parsed = parse_body(
            FIRST_TOPICS[0],
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
        assert!(error(FIRST_TOPICS[0], json!({"item": "milk", "action": "added", "quantity": {"amount": 1, "unit": "grams"}, "best_before": "2026-02-30"})).contains("not a date"));
        assert!(
            error(FIRST_TOPICS[0], json!({"item": "", "action": "added", "quantity": {"amount": 1, "unit": "grams"}}))
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
            let plausible = (bodies::OVEN_SETPOINT_MIN_CENTI..=bodies::OVEN_SETPOINT_MAX_CENTI).contains(&value);
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
