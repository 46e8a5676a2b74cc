//! Bodies of the program-driven appliance kinds added in WIT 0.2: washer, dryer,
//! dishwasher, coffee maker, cooktop, hood, robot vacuum. They share shapes: the state
//! of a running program, a finished program, the door, consumable levels and faults
//! (Matter OperationalState and ResourceMonitoring; Home Connect's common keys);
//! cooktop, hood and robot vacuum have a state of their own.

use super::bodies::{ChangeIndication, DoorState, OperationalState, ProgramFinished};
use super::{centi_celsius, check_range, check_text, parse, wit};
use serde::Deserialize;

/// Each program-driven kind (also its device kind) and the events it sends, as
/// `appliance.<kind>.<event>` topics.
pub(super) const KINDS: &[(&str, &[&str])] = &[
    ("washer", &["state", "program-finished", "door", "consumables", "fault"]),
    ("dryer", &["state", "program-finished", "door", "consumables", "fault"]),
    ("dishwasher", &["state", "program-finished", "door", "consumables", "fault"]),
    ("coffee-maker", &["state", "program-finished", "consumables", "fault"]),
    ("cooktop", &["state", "fault"]),
    ("hood", &["state", "consumables", "fault"]),
    ("robot-vacuum", &["state", "program-finished", "consumables", "fault"]),
];

/// `(kind, event)` of a topic of a program-driven kind, if the kind sends that event.
pub(super) fn kind_and_event(topic: &str) -> Option<(&'static str, &'static str)> {
    let (kind, event) = topic.strip_prefix("appliance.")?.split_once('.')?;
    let (kind, events) = KINDS.iter().find(|(known, _)| *known == kind)?;
    events.iter().find(|known| **known == event).map(|event| (*kind, *event))
}

/// Parses the body of `appliance.<kind>.<event>`.
pub(super) fn parse_program(kind: &str, event: &str, body: serde_json::Value) -> Result<wit::EventBody, String> {
    match (kind, event) {
        ("cooktop", "state") => parse::<CooktopState>(body)?.into_wit().map(wit::EventBody::CooktopState),
        ("hood", "state") => parse::<HoodState>(body)?.into_wit().map(wit::EventBody::HoodState),
        ("robot-vacuum", "state") => parse::<VacuumState>(body)?.into_wit().map(wit::EventBody::VacuumState),
        (_, "state") => parse::<ProgramState>(body)?.into_wit(kind).map(wit::EventBody::ProgramState),
        (_, "program-finished") => parse::<ProgramFinished>(body)?.into_wit().map(wit::EventBody::ProgramFinished),
        (_, "door") => Ok(wit::EventBody::ApplianceDoor(parse::<Door>(body)?.state.into())),
        (_, "consumables") => parse::<Consumables>(body)?.into_wit(kind).map(wit::EventBody::Consumables),
        (_, "fault") => parse::<ApplianceFault>(body)?.into_wit().map(wit::EventBody::ApplianceFault),
        _ => Err(format!("a {kind} sends no {event} events")),
    }
}

/// A valid example body of every event of every program-driven kind.
pub(super) fn example(kind: &str, event: &str) -> serde_json::Value {
    let uses = CONSUMABLES.iter().find(|(known, _)| *known == kind).map_or(&[][..], |(_, uses)| *uses);
    match (kind, event) {
        ("cooktop", "state") => serde_json::json!({"active_zones": 2, "zones": 4, "max_power_level": 7}),
        ("hood", "state") => serde_json::json!({"fan_level": 3, "light": true}),
        ("robot-vacuum", "state") => {
            serde_json::json!({"activity": "cleaning", "battery_percent": 64, "mode": "vacuum"})
        }
        ("washer", "state") => serde_json::json!({"state": "running", "program": "LaundryCare.Washer.Program.Cotton",
            "remaining_s": 5400, "progress_percent": 20, "temperature_centi_celsius": 4000, "spin_rpm": 1400}),
        (_, "state") => serde_json::json!({"state": "running", "program": "Eco50", "remaining_s": 600}),
        (_, "program-finished") => serde_json::json!({"program": "Eco50", "duration_s": 7200}),
        (_, "door") => serde_json::json!({"state": "open"}),
        (_, "consumables") => serde_json::json!({"consumables": [
            {"kind": uses[0], "level_percent": 10, "change_indication": "warning"}]}),
        _ => serde_json::json!({"severity": "error", "code": "E:24", "detail": "drain blocked"}),
    }
}

/// The longest a program runs: a week (some dishwashers and washers delay their start
/// by a day; nothing runs longer).
const MAX_PROGRAM_S: u32 = 7 * 86_400;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgramState {
    state: OperationalState,
    program: Option<String>,
    remaining_s: Option<u32>,
    progress_percent: Option<u8>,
    temperature_centi_celsius: Option<i32>,
    spin_rpm: Option<u16>,
}

impl ProgramState {
    fn into_wit(self, kind: &str) -> Result<wit::ProgramState, String> {
        if self.spin_rpm.is_some() && kind != "washer" {
            return Err(format!("spin_rpm is a washer's; a {kind} does not spin"));
        }
        Ok(wit::ProgramState {
            state: self.state.into(),
            program: self.program.map(|program| check_text("program", program, 128)).transpose()?,
            remaining_s: self
                .remaining_s
                .map(|seconds| {
                    check_range("remaining_s", seconds, 0, MAX_PROGRAM_S).map_err(|message| {
                        format!("{message}; the unit is seconds: {seconds} ms is {} s", seconds / 1000)
                    })
                })
                .transpose()?,
            progress_percent: self
                .progress_percent
                .map(|percent| check_range("progress_percent", percent, 0, 100))
                .transpose()?,
            // Cold washes run at tap temperature (from about 5 °C); boiling washes and
            // coffee reach 95 °C.
            temperature_centi_celsius: self
                .temperature_centi_celsius
                .map(|centi| centi_celsius("temperature_centi_celsius", centi, 500, 9_500))
                .transpose()?,
            spin_rpm: self.spin_rpm.map(|rpm| check_range("spin_rpm", rpm, 0, 2_000)).transpose()?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Door {
    state: DoorState,
}

wire_enum!(ConsumableKind => ConsumableKind {
    Detergent, Softener, RinseAid, Salt, LintFilter, GreaseFilter, CarbonFilter, WaterFilter, Beans, WaterTank,
    Descaling, DustBag, Brushes, VacuumFilter,
});

/// What each kind uses up, as `consumable-kind` names.
const CONSUMABLES: &[(&str, &[&str])] = &[
    ("washer", &["detergent", "softener", "descaling"]),
    ("dryer", &["lint-filter"]),
    ("dishwasher", &["detergent", "rinse-aid", "salt"]),
    ("coffee-maker", &["beans", "water-tank", "water-filter", "descaling"]),
    ("hood", &["grease-filter", "carbon-filter"]),
    ("robot-vacuum", &["dust-bag", "brushes", "vacuum-filter", "carbon-filter"]),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Consumable {
    kind: String,
    level_percent: Option<u8>,
    change_indication: ChangeIndication,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Consumables {
    consumables: Vec<Consumable>,
}

impl Consumables {
    fn into_wit(self, kind: &str) -> Result<Vec<wit::Consumable>, String> {
        if self.consumables.is_empty() || self.consumables.len() > 16 {
            return Err(format!("consumables has {} entries; 1 to 16", self.consumables.len()));
        }
        let uses = CONSUMABLES.iter().find(|(known, _)| *known == kind).map_or(&[][..], |(_, uses)| *uses);
        self.consumables
            .into_iter()
            .map(|consumable| {
                if !uses.contains(&consumable.kind.as_str()) {
                    return Err(format!("consumables.kind = {:?}: a {kind} uses {}", consumable.kind, uses.join(", ")));
                }
                let consumable_kind: ConsumableKind = parse(serde_json::Value::String(consumable.kind))?;
                Ok(wit::Consumable {
                    kind: consumable_kind.into(),
                    level_percent: consumable
                        .level_percent
                        .map(|percent| check_range("consumables.level_percent", percent, 0, 100))
                        .transpose()?,
                    change_indication: consumable.change_indication.into(),
                })
            })
            .collect()
    }
}

wire_enum!(FaultSeverity => FaultSeverity { Warning, Error });

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApplianceFault {
    severity: FaultSeverity,
    code: String,
    #[serde(default)]
    detail: String,
}

impl ApplianceFault {
    fn into_wit(self) -> Result<wit::ApplianceFault, String> {
        if self.detail.len() > 256 {
            return Err("detail is longer than 256 bytes".into());
        }
        Ok(wit::ApplianceFault {
            severity: self.severity.into(),
            code: check_text("code", self.code, 128)?,
            detail: self.detail,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CooktopState {
    active_zones: u8,
    zones: u8,
    max_power_level: u8,
}

impl CooktopState {
    fn into_wit(self) -> Result<wit::CooktopState, String> {
        let zones = check_range("zones", self.zones, 1, 8)?;
        Ok(wit::CooktopState {
            active_zones: check_range("active_zones", self.active_zones, 0, zones)?,
            zones,
            max_power_level: check_range("max_power_level", self.max_power_level, 0, 9)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HoodState {
    fan_level: u8,
    #[serde(default)]
    boost: bool,
    #[serde(default)]
    light: bool,
    #[serde(default)]
    automatic: bool,
}

impl HoodState {
    fn into_wit(self) -> Result<wit::HoodState, String> {
        Ok(wit::HoodState {
            fan_level: check_range("fan_level", self.fan_level, 0, 5)?,
            boost: self.boost,
            light: self.light,
            automatic: self.automatic,
        })
    }
}

wire_enum!(VacuumActivity => VacuumActivity { Stopped, Cleaning, Paused, Error, SeekingCharger, Charging, Docked });

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VacuumState {
    activity: VacuumActivity,
    battery_percent: u8,
    mode: Option<String>,
}

impl VacuumState {
    fn into_wit(self) -> Result<wit::VacuumState, String> {
        Ok(wit::VacuumState {
            activity: self.activity.into(),
            battery_percent: check_range("battery_percent", self.battery_percent, 0, 100)?,
            mode: self.mode.map(|mode| check_text("mode", mode, 32)).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{kinds_for, parse_body, topics};
    use super::*;
    use serde_json::json;

    #[test]
    fn every_program_topic_parses_its_example_and_names_its_device_kind() {
        let mut checked = 0;
        for (kind, events) in KINDS {
            for event in *events {
                let topic = format!("appliance.{kind}.{event}");
                assert!(topics().contains(&topic), "{topic}");
                let parsed = parse_body(&topic, example(kind, event));
                assert!(parsed.is_ok(), "{topic}: {parsed:?}");
                assert_eq!(kinds_for(&topic), Some(&[*kind][..]));
                checked += 1;
            }
        }
        assert_eq!(checked, 28);
        // Seven new kinds beside fridge, oven, water purifier and air: ten appliance
        // kinds (cooktop and hood count as one).
        assert_eq!(KINDS.len(), 7);
    }

    #[test]
    fn program_bodies_say_what_is_wrong() {
        let error = |topic: &str, body| parse_body(topic, body).unwrap_err();
        assert!(
            error(
                "appliance.dishwasher.consumables",
                json!({"consumables": [
                {"kind": "beans", "change_indication": "ok"}]})
            )
            .contains("a dishwasher uses detergent, rinse-aid, salt")
        );
        assert!(error("appliance.dryer.state", json!({"state": "running", "spin_rpm": 800})).contains("does not spin"));
        assert!(
            error("appliance.washer.state", json!({"state": "running", "remaining_s": 5_400_000}))
                .contains("5400000 ms is 5400 s")
        );
        assert!(
            error("appliance.washer.state", json!({"state": "running", "temperature_centi_celsius": 40}))
                .contains("40 °C is 4000")
        );
        assert!(
            error("appliance.cooktop.state", json!({"active_zones": 5, "zones": 4, "max_power_level": 3}))
                .contains("active_zones = 5 is outside 0..=4")
        );
        assert!(
            error("appliance.cooktop.door", json!({"state": "open"})).contains("the catalogue's cooktop topics are")
        );
        assert!(error("appliance.toaster.state", json!({})).contains("washer"));
        assert!(
            error("appliance.hood.fault", json!({"severity": "fatal", "code": "x"}))
                .contains("unknown variant `fatal`")
        );
    }
}
