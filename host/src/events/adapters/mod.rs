//! Appliance-cloud payloads at ingest: a device that relays what its vendor's cloud
//! sends (Home Connect events, Matter attribute reports) posts them as they are, and
//! the host maps them into the catalogue's form before the usual validation.
//!
//! A vendor message may carry several keys; the ones that together describe a
//! catalogue event become that event (an oven's operation state, program and setpoint
//! become one `appliance.oven.state`), units converted. Keys with no catalogue place
//! become `ext.homeconnect.<key>` or `ext.matter.<cluster>.<attribute>` events with
//! the value (converted where it has a unit), never errors. Each event gets an id
//! derived from the message, so a resent message is deduplicated like any event.

pub mod home_connect;
pub mod matter;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What an adapter recognized: the catalogue-form events (`{"id", "topic", "time_ms",
/// "body"}`) a vendor message becomes, or why it cannot be read.
pub type Translation = Result<Vec<Value>, String>;

/// Maps `item` when it is a vendor message; `None` when it is in Hearth's own form.
/// `kind` is the kind of the device that sent it: it picks the catalogue topics.
pub fn translate(item: &Value, kind: &str) -> Option<Translation> {
    let object = item.as_object()?;
    if object.contains_key("haId") {
        return Some(home_connect::translate(item, kind));
    }
    if object.contains_key("cluster") || object.contains_key("reports") {
        return Some(matter::translate(item, kind));
    }
    None
}

/// One catalogue-form event from a vendor message. Its id is a digest of the message
/// and the topic: stable across resends, distinct per event the message yields.
fn event(message: &Value, topic: &str, time_ms: Option<u64>, body: Value) -> Value {
    let mut digest = Sha256::new();
    digest.update(message.to_string().as_bytes());
    digest.update([0]);
    digest.update(topic.as_bytes());
    let id = format!("{}-{}", topic.rsplit('.').next().unwrap_or("event"), &hex::encode(digest.finalize())[..24]);
    let mut event = json!({"id": id, "topic": topic, "body": body});
    if let Some(time_ms) = time_ms {
        event["time_ms"] = time_ms.into();
    }
    event
}

/// A temperature in a vendor's unit as hundredths of a degree Celsius.
fn centi_celsius(value: f64, unit: &str) -> Result<i64, String> {
    let celsius = match unit {
        "°C" | "C" | "celsius" | "Celsius" => value,
        "°F" | "F" | "fahrenheit" | "Fahrenheit" => (value - 32.0) * 5.0 / 9.0,
        other => return Err(format!("unit {other:?} is not a temperature unit (°C or °F)")),
    };
    Ok((celsius * 100.0).round() as i64)
}

/// A duration in a vendor's unit as whole seconds.
fn seconds(value: f64, unit: &str) -> Result<i64, String> {
    let factor = match unit {
        "seconds" | "s" | "" => 1.0,
        "minutes" | "min" => 60.0,
        "hours" | "h" => 3_600.0,
        "milliseconds" | "ms" => 0.001,
        other => return Err(format!("unit {other:?} is not a duration unit")),
    };
    Ok((value * factor).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert() {
        assert_eq!(centi_celsius(180.0, "°C"), Ok(18_000));
        assert_eq!(centi_celsius(356.0, "°F"), Ok(18_000));
        assert!(centi_celsius(1.0, "bar").unwrap_err().contains("not a temperature unit"));
        assert_eq!(seconds(90.0, "minutes"), Ok(5_400));
        assert_eq!(seconds(5_400.0, "seconds"), Ok(5_400));
        assert!(translate(&json!({"id": "x", "topic": "appliance.fridge.door"}), "fridge").is_none());
    }

    #[test]
    fn ids_are_stable_per_message_and_distinct_per_topic() {
        let message = json!({"haId": "X", "key": "k"});
        let a = event(&message, "appliance.washer.state", None, json!({}));
        assert_eq!(a, event(&message, "appliance.washer.state", None, json!({})));
        assert_ne!(a["id"], event(&message, "appliance.washer.door", None, json!({}))["id"]);
        assert_ne!(a["id"], event(&json!({"haId": "X", "key": "j"}), "appliance.washer.state", None, json!({}))["id"]);
    }
}

/// Fixtures shaped after Home Connect's public key names and Matter's cluster
/// specifications, through the whole ingest parse: mapped, converted, validated.
#[cfg(test)]
mod fixtures {
    use crate::bindings as wit;
    use crate::events::ingest::parse;
    use serde_json::{Value, json};

    const NOW: u64 = 1_800_000_000_000;

    fn ingest(kind: &str, message: Value) -> Vec<(String, wit::EventBody)> {
        match parse(message.to_string().as_bytes(), 100, NOW, kind) {
            Ok(events) => events.into_iter().map(|event| (event.topic, event.body)).collect(),
            Err(error) => panic!("{kind}: {message}: {error:?}"),
        }
    }

    fn refused(kind: &str, message: Value) -> String {
        match parse(message.to_string().as_bytes(), 100, NOW, kind) {
            Err(crate::events::ingest::IngestError::Invalid { errors, .. }) => errors[0].reason.clone(),
            other => panic!("{kind}: {message} was not refused: {other:?}"),
        }
    }

    #[test]
    fn home_connect_oven_state_with_a_setpoint_in_degrees() {
        let message = json!({"haId": "BOSCH-HBG6764S1-68A40E000000", "items": [
            {"key": "BSH.Common.Status.OperationState", "value": "BSH.Common.EnumType.OperationState.Run",
             "timestamp": 1_799_999_990, "uri": "/api/homeappliances/x/status/BSH.Common.Status.OperationState"},
            {"key": "BSH.Common.Root.ActiveProgram", "value": "Cooking.Oven.Program.HeatingMode.HotAir"},
            {"key": "Cooking.Oven.Option.SetpointTemperature", "value": 180, "unit": "°C"},
            {"key": "Cooking.Oven.Status.CurrentCavityTemperature", "value": 300, "unit": "°F"},
            {"key": "BSH.Common.Status.RemoteControlActive", "value": true},
        ]});
        let events = ingest("oven", message.clone());
        assert_eq!(
            events[0],
            (
                "appliance.oven.state".into(),
                wit::EventBody::OvenState(wit::OvenState {
                    state: wit::OperationalState::Running,
                    mode: wit::OvenMode::Convection,
                    setpoint_centi_celsius: Some(18_000),
                    current_centi_celsius: Some(14_889),
                })
            )
        );
        // The key with no catalogue place travels on an ext. topic, not as an error.
        assert_eq!(events[1].0, "ext.homeconnect.bsh.common.status.remote-control-active");
        let wit::EventBody::Other(other) = &events[1].1 else { panic!("{:?}", events[1]) };
        assert_eq!(other.json, r#"{"key":"BSH.Common.Status.RemoteControlActive","value":true}"#);
        // Seconds since 1970 become milliseconds; a resend gets the same ids.
        let parsed = parse(message.to_string().as_bytes(), 100, NOW, "oven").unwrap();
        assert_eq!(parsed[0].time_ms, 1_799_999_990_000);
        let again = parse(message.to_string().as_bytes(), 100, NOW, "oven").unwrap();
        assert_eq!(parsed.iter().map(|e| &e.id).collect::<Vec<_>>(), again.iter().map(|e| &e.id).collect::<Vec<_>>());
    }

    #[test]
    fn home_connect_single_keys_of_the_new_kinds() {
        let one = |kind: &str, key: &str, value: Value| {
            ingest(kind, json!({"haId": "SIEMENS-X", "key": key, "value": value, "timestamp": 1_799_999_000}))
        };
        assert_eq!(
            one("washer", "BSH.Common.Status.DoorState", json!("BSH.Common.EnumType.DoorState.Open")),
            [("appliance.washer.door".to_owned(), wit::EventBody::ApplianceDoor(wit::DoorState::Open))]
        );
        assert_eq!(
            one(
                "fridge",
                "Refrigeration.Common.Status.Door.Refrigerator",
                json!("BSH.Common.EnumType.DoorState.Closed")
            ),
            [("appliance.fridge.door".to_owned(), wit::EventBody::FridgeDoor(wit::DoorState::Closed))]
        );
        let salt = one(
            "dishwasher",
            "Dishcare.Dishwasher.Event.SaltNearlyEmpty",
            json!("BSH.Common.EnumType.EventPresentState.Present"),
        );
        assert_eq!(
            salt,
            [(
                "appliance.dishwasher.consumables".to_owned(),
                wit::EventBody::Consumables(vec![wit::Consumable {
                    kind: wit::ConsumableKind::Salt,
                    level_percent: None,
                    change_indication: wit::ChangeIndication::Warning,
                }])
            )]
        );
        let beans = one(
            "coffee-maker",
            "ConsumerProducts.CoffeeMaker.Event.BeanContainerEmpty",
            json!("BSH.Common.EnumType.EventPresentState.Off"),
        );
        let wit::EventBody::Consumables(levels) = &beans[0].1 else { panic!("{beans:?}") };
        assert_eq!(levels[0].change_indication, wit::ChangeIndication::Ok, "the event went away");
        // A setpoint alone cannot make an oven state: ext., with the unit converted.
        let setpoint = one("oven", "Cooking.Oven.Option.SetpointTemperature", json!(356));
        assert_eq!(setpoint[0].0, "ext.homeconnect.cooking.oven.option.setpoint-temperature");
    }

    #[test]
    fn home_connect_washer_program_with_options() {
        let events = ingest(
            "washer",
            json!({"haId": "BOSCH-WAV28", "items": [
                {"key": "BSH.Common.Status.OperationState", "value": "BSH.Common.EnumType.OperationState.Run"},
                {"key": "BSH.Common.Root.ActiveProgram", "value": "LaundryCare.Washer.Program.Cotton"},
                {"key": "BSH.Common.Option.RemainingProgramTime", "value": 90, "unit": "minutes"},
                {"key": "BSH.Common.Option.ProgramProgress", "value": 35, "unit": "%"},
                {"key": "LaundryCare.Washer.Option.Temperature", "value": "LaundryCare.Washer.EnumType.Temperature.GC40"},
                {"key": "LaundryCare.Washer.Option.SpinSpeed", "value": "LaundryCare.Washer.EnumType.SpinSpeed.RPM1400"},
            ]}),
        );
        assert_eq!(
            events,
            [(
                "appliance.washer.state".to_owned(),
                wit::EventBody::ProgramState(wit::ProgramState {
                    state: wit::OperationalState::Running,
                    program: Some("LaundryCare.Washer.Program.Cotton".into()),
                    remaining_s: Some(5_400),
                    progress_percent: Some(35),
                    temperature_centi_celsius: Some(4_000),
                    spin_rpm: Some(1_400),
                })
            )]
        );
        let finished = ingest(
            "dryer",
            json!({"haId": "BOSCH-WTX", "items": [
                {"key": "BSH.Common.Event.ProgramFinished", "value": "BSH.Common.EnumType.EventPresentState.Present"},
                {"key": "BSH.Common.Root.ActiveProgram", "value": "LaundryCare.Dryer.Program.Synthetic"},
                {"key": "BSH.Common.Option.ElapsedProgramTime", "value": 4_200, "unit": "seconds"},
            ]}),
        );
        assert_eq!(finished[0].0, "appliance.dryer.program-finished");
        assert_eq!(
            finished[0].1,
            wit::EventBody::ProgramFinished(wit::ProgramFinished {
                program: "LaundryCare.Dryer.Program.Synthetic".into(),
                duration_s: 4_200
            })
        );
    }

    #[test]
    fn matter_reports_with_numeric_enums() {
        let events = ingest("dishwasher", json!({"cluster": 96, "attribute": 4, "value": 1, "endpoint": 1}));
        let wit::EventBody::ProgramState(state) = &events[0].1 else { panic!("{events:?}") };
        assert_eq!((events[0].0.as_str(), state.state), ("appliance.dishwasher.state", wit::OperationalState::Running));
        let robot = ingest(
            "robot-vacuum",
            json!({"time_ms": 1_799_000_000_000u64, "reports": [
                {"cluster": "RvcOperationalState", "attribute": "OperationalState", "value": 0x41},
                {"cluster": "PowerSource", "attribute": "BatPercentRemaining", "value": 150},
                {"cluster": "HepaFilterMonitoring", "attribute": "ChangeIndication", "value": 2},
                {"cluster": "HepaFilterMonitoring", "attribute": "Condition", "value": 3},
            ]}),
        );
        assert_eq!(
            robot[0].1,
            wit::EventBody::VacuumState(wit::VacuumState {
                activity: wit::VacuumActivity::Charging,
                battery_percent: 75,
                mode: None
            })
        );
        assert_eq!(
            robot[1].1,
            wit::EventBody::Consumables(vec![wit::Consumable {
                kind: wit::ConsumableKind::VacuumFilter,
                level_percent: Some(3),
                change_indication: wit::ChangeIndication::Critical,
            }])
        );
        let air = ingest(
            "air-conditioner",
            json!({"reports": [
                {"cluster": 0x0402, "attribute": 0, "value": 2_450},
                {"cluster": 0x0405, "attribute": 0, "value": 5_100},
                {"cluster": 0x005B, "attribute": 0, "value": 4},
            ]}),
        );
        let wit::EventBody::AirTelemetry(telemetry) = &air[0].1 else { panic!("{air:?}") };
        assert_eq!((telemetry.temperature_centi_celsius, telemetry.air_quality), (2_450, wit::AirQuality::Poor));
        let fridge = ingest("fridge", json!({"cluster": "RefrigeratorAlarm", "attribute": "State", "value": 1}));
        assert_eq!(fridge[0].1, wit::EventBody::FridgeDoor(wit::DoorState::Open));
        let unknown = ingest("washer", json!({"cluster": 0x0101, "attribute": 0, "value": 2}));
        assert_eq!(unknown[0].0, "ext.matter.0x0101.0x0000");
    }

    #[test]
    fn vendor_mistakes_are_named() {
        assert!(refused("washer", json!({"haId": "X", "value": 1})).contains("needs a string \"key\""));
        assert!(
            refused("washer", json!({"haId": "X", "key": "BSH.Common.Status.OperationState", "value": "Bogus"}))
                .contains("unexpected value")
        );
        assert!(refused("dishwasher", json!({"cluster": 96, "attribute": 4, "value": 9})).contains("has no value 9"));
        assert!(
            refused(
                "robot-vacuum",
                json!({"reports": [
                {"cluster": "RvcOperationalState", "attribute": "OperationalState", "value": 1},
                {"cluster": "PowerSource", "attribute": "BatPercentRemaining", "value": 400}]})
            )
            .contains("battery_percent = 200 is outside 0..=100")
        );
        assert!(
            refused(
                "oven",
                json!({"haId": "X", "items": [
                {"key": "BSH.Common.Status.OperationState", "value": "BSH.Common.EnumType.OperationState.Run"},
                {"key": "BSH.Common.Root.ActiveProgram", "value": "Cooking.Oven.Program.HeatingMode.HotAir"},
                {"key": "Cooking.Oven.Option.SetpointTemperature", "value": 180, "unit": "bar"}]})
            )
            .contains("not a temperature unit")
        );
    }
}
