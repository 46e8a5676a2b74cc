//! Home Connect events, as its event stream and status API carry them: one key
//! (`{"haId", "key", "value", "unit", "timestamp"}`, the timestamp in seconds) or
//! several (`{"haId", "items": [{"key", "value", …}]}`). Fields Home Connect adds
//! (`uri`, `handling`, `level`, `name`, `displayvalue`) are ignored.

use super::{Translation, centi_celsius, event, seconds};
use serde_json::{Map, Value, json};

/// One key of a message.
struct Item<'a> {
    key: &'a str,
    value: &'a Value,
    unit: &'a str,
}

const OPERATION_STATE: &str = "BSH.Common.Status.OperationState";
const DOOR_STATE: &str = "BSH.Common.Status.DoorState";
const ACTIVE_PROGRAM: &str = "BSH.Common.Root.ActiveProgram";
const REMAINING: &str = "BSH.Common.Option.RemainingProgramTime";
const ELAPSED: &str = "BSH.Common.Option.ElapsedProgramTime";
const PROGRESS: &str = "BSH.Common.Option.ProgramProgress";
const PROGRAM_FINISHED: &str = "BSH.Common.Event.ProgramFinished";
const WASHER_TEMPERATURE: &str = "LaundryCare.Washer.Option.Temperature";
const SPIN_SPEED: &str = "LaundryCare.Washer.Option.SpinSpeed";
const SETPOINT: &str = "Cooking.Oven.Option.SetpointTemperature";
const CAVITY: &str = "Cooking.Oven.Status.CurrentCavityTemperature";
const VENTING: &str = "Cooking.Common.Option.Hood.VentingLevel";
const INTENSIVE: &str = "Cooking.Common.Option.Hood.IntensiveLevel";
const LIGHTING: &str = "Cooking.Common.Setting.Lighting";
const BATTERY: &str = "BSH.Common.Status.BatteryLevel";
const CHARGING: &str = "BSH.Common.Status.BatteryChargingState";
const FRIDGE_DOORS: &[&str] =
    &[DOOR_STATE, "Refrigeration.Common.Status.Door.Refrigerator", "Refrigeration.Common.Status.Door.Freezer"];
const FRIDGE_DOOR_ALARMS: &[&str] =
    &["Refrigeration.FridgeFreezer.Event.DoorAlarmRefrigerator", "Refrigeration.FridgeFreezer.Event.DoorAlarmFreezer"];

/// Event keys that report a consumable running low: (key, consumable, indication
/// while the event is present).
const CONSUMABLE_EVENTS: &[(&str, &str, &str)] = &[
    ("Dishcare.Dishwasher.Event.SaltNearlyEmpty", "salt", "warning"),
    ("Dishcare.Dishwasher.Event.SaltLack", "salt", "critical"),
    ("Dishcare.Dishwasher.Event.RinseAidNearlyEmpty", "rinse-aid", "warning"),
    ("Dishcare.Dishwasher.Event.RinseAidLack", "rinse-aid", "critical"),
    ("LaundryCare.Washer.Event.IDos1FillLevelPoor", "detergent", "warning"),
    ("LaundryCare.Washer.Event.IDos2FillLevelPoor", "softener", "warning"),
    ("ConsumerProducts.CoffeeMaker.Event.BeanContainerEmpty", "beans", "critical"),
    ("ConsumerProducts.CoffeeMaker.Event.WaterTankEmpty", "water-tank", "critical"),
    ("ConsumerProducts.CoffeeMaker.Event.DescalingIn20Cups", "descaling", "warning"),
    ("ConsumerProducts.CoffeeMaker.Event.DeviceDescalingOverdue", "descaling", "critical"),
    ("Cooking.Hood.Event.GreaseFilterMaxSaturationNearlyReached", "grease-filter", "warning"),
    ("Cooking.Hood.Event.GreaseFilterMaxSaturationReached", "grease-filter", "critical"),
    ("ConsumerProducts.CleaningRobot.Event.EmptyDustBoxAndCleanFilter", "dust-bag", "critical"),
];

/// Heating modes (`Cooking.Oven.Program.HeatingMode.*`) and the catalogue's oven modes.
const OVEN_MODES: &[(&str, &str)] = &[
    ("HotAir", "convection"),
    ("HotAirEco", "convection"),
    ("HotAirGrilling", "convection-roast"),
    ("TopBottomHeating", "bake"),
    ("TopBottomHeatingEco", "bake"),
    ("BottomHeating", "bake"),
    ("PizzaSetting", "convection-bake"),
    ("SlowCook", "roast"),
    ("IntensiveHeat", "bake"),
    ("KeepWarm", "warming"),
    ("PreheatOvenware", "warming"),
    ("FrozenHeatupSpecial", "convection-bake"),
    ("Desiccation", "warming"),
    ("Defrost", "warming"),
    ("Proof", "proofing"),
    ("GrillLargeArea", "grill"),
    ("GrillSmallArea", "grill"),
];

/// Maps one Home Connect message from a device of `kind`.
pub fn translate(message: &Value, kind: &str) -> Translation {
    let items = items(message)?;
    let time_ms = timestamp_ms(message)?;
    let mut used = vec![false; items.len()];
    let mut take = |key: &str| {
        let index = items.iter().position(|item| item.key == key)?;
        used[index] = true;
        Some(&items[index])
    };
    let mut events: Vec<(String, Value)> = Vec::new();
    let topic = |event: &str| format!("appliance.{kind}.{event}");
    match kind {
        "fridge" => {
            if let Some(alarm) = FRIDGE_DOOR_ALARMS.iter().find_map(|key| take(key)) {
                let state = if present(alarm) { "alarm" } else { "closed" };
                events.push((topic("door"), json!({"state": state})));
            } else if let Some(door) = FRIDGE_DOORS.iter().find_map(|key| take(key)) {
                events.push((topic("door"), json!({"state": door_state(door)?})));
            }
        }
        "oven" => {
            let has_state = items.iter().any(|item| item.key == OPERATION_STATE);
            let mode = items.iter().find(|item| item.key == ACTIVE_PROGRAM).and_then(|program| oven_mode(program));
            if let (true, Some(mode)) = (has_state, mode) {
                let state = operation_state(take(OPERATION_STATE).map_or(&Value::Null, |item| item.value))?;
                take(ACTIVE_PROGRAM);
                let mut body = json!({"state": state, "mode": mode});
                if let Some(setpoint) = take(SETPOINT) {
                    body["setpoint_centi_celsius"] = temperature(setpoint)?.into();
                }
                if let Some(cavity) = take(CAVITY) {
                    body["current_centi_celsius"] = temperature(cavity)?.into();
                }
                events.push((topic("state"), body));
            }
            program_finished(&items, &mut take, &mut events, topic("program-finished"))?;
        }
        "washer" | "dryer" | "dishwasher" | "coffee-maker" => {
            if let Some(state) = take(OPERATION_STATE) {
                let mut body = json!({"state": operation_state(state.value)?});
                if let Some(program) = take(ACTIVE_PROGRAM) {
                    body["program"] = program_key(program)?.into();
                }
                if let Some(remaining) = take(REMAINING) {
                    body["remaining_s"] = duration(remaining)?.into();
                }
                if let Some(progress) = take(PROGRESS) {
                    body["progress_percent"] = (number(progress)?.round() as i64).into();
                }
                if kind == "washer" {
                    if let Some(centi) = take(WASHER_TEMPERATURE).and_then(|item| washer_temperature(item.value)) {
                        body["temperature_centi_celsius"] = centi.into();
                    }
                    if let Some(rpm) = take(SPIN_SPEED).and_then(|item| spin_speed(item.value)) {
                        body["spin_rpm"] = rpm.into();
                    }
                }
                events.push((topic("state"), body));
            }
            if kind != "coffee-maker"
                && let Some(door) = take(DOOR_STATE)
            {
                events.push((topic("door"), json!({"state": door_state(door)?})));
            }
            program_finished(&items, &mut take, &mut events, topic("program-finished"))?;
        }
        "hood" => {
            if let Some(venting) = take(VENTING) {
                let level = stage(venting.value, "FanStage").ok_or_else(|| unexpected(venting))?;
                let boost = take(INTENSIVE).and_then(|item| stage(item.value, "IntensiveStage")).is_some_and(|n| n > 0);
                let light = take(LIGHTING).and_then(|item| item.value.as_bool()).unwrap_or(false);
                events.push((topic("state"), json!({"fan_level": level, "boost": boost, "light": light})));
            }
        }
        "robot-vacuum" => {
            let has_battery = items.iter().any(|item| item.key == BATTERY);
            if has_battery && let Some(state) = take(OPERATION_STATE) {
                let charging = take(CHARGING)
                    .and_then(|item| item.value.as_str())
                    .is_some_and(|value| value.ends_with(".Charging"));
                let battery = number(take(BATTERY).ok_or("the battery level went missing")?)?.round() as i64;
                let activity = if charging { "charging" } else { vacuum_activity(state.value)? };
                events.push((topic("state"), json!({"activity": activity, "battery_percent": battery})));
            }
        }
        _ => {}
    }
    let consumables: Vec<Value> = CONSUMABLE_EVENTS
        .iter()
        .filter_map(|(key, consumable, indication)| {
            let item = take(key)?;
            let indication = if present(item) { *indication } else { "ok" };
            Some(json!({"kind": consumable, "change_indication": indication}))
        })
        .collect();
    if !consumables.is_empty() {
        events.push((topic("consumables"), json!({"consumables": consumables})));
    }
    for (item, used) in items.iter().zip(&used) {
        if !used {
            events.push((format!("ext.homeconnect.{}", topic_tokens(item.key)), extension_body(item)?));
        }
    }
    Ok(events.into_iter().map(|(topic, body)| event(message, &topic, time_ms, body)).collect())
}

fn item(value: &Value) -> Result<Item<'_>, String> {
    let key = value.get("key").and_then(Value::as_str).ok_or("a Home Connect item needs a string \"key\"")?;
    if key.is_empty() || key.len() > 200 {
        return Err(format!("Home Connect key {key:?} must be 1 to 200 bytes"));
    }
    let value_field = value.get("value").ok_or_else(|| format!("Home Connect item {key} has no \"value\""))?;
    Ok(Item { key, value: value_field, unit: value.get("unit").and_then(Value::as_str).unwrap_or("") })
}

fn items(message: &Value) -> Result<Vec<Item<'_>>, String> {
    match message.get("items") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 64 => items.iter().map(item).collect(),
        Some(_) => Err("Home Connect \"items\" must be an array of 1 to 64 items".into()),
        None => Ok(vec![item(message)?]),
    }
}

/// Home Connect timestamps are seconds since 1970; the newest item's time counts.
fn timestamp_ms(message: &Value) -> Result<Option<u64>, String> {
    let stamps = std::iter::once(message)
        .chain(message.get("items").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|value| value.get("timestamp"));
    let mut newest = None;
    for stamp in stamps {
        let seconds = stamp.as_u64().ok_or_else(|| format!("timestamp {stamp} is not whole seconds since 1970"))?;
        newest = newest.max(Some(seconds.saturating_mul(1000)));
    }
    Ok(newest)
}

fn present(item: &Item<'_>) -> bool {
    item.value.as_str().is_some_and(|value| value.ends_with(".Present"))
}

fn unexpected(item: &Item<'_>) -> String {
    format!("Home Connect {} has an unexpected value {}", item.key, item.value)
}

/// The last token of an enum value: `BSH.Common.EnumType.DoorState.Open` → `Open`.
fn enum_case<'a>(item: &Item<'a>) -> Result<&'a str, String> {
    item.value.as_str().and_then(|value| value.rsplit('.').next()).ok_or_else(|| unexpected(item))
}

fn door_state(item: &Item<'_>) -> Result<&'static str, String> {
    match enum_case(item)? {
        "Open" => Ok("open"),
        "Closed" | "Locked" => Ok("closed"),
        _ => Err(unexpected(item)),
    }
}

fn operation_state(value: &Value) -> Result<&'static str, String> {
    let case = value.as_str().and_then(|value| value.rsplit('.').next()).unwrap_or_default();
    Ok(match case {
        "Run" => "running",
        "Pause" | "ActionRequired" | "DelayedStart" => "paused",
        "Error" => "error",
        "Inactive" | "Ready" | "Finished" | "Aborting" => "stopped",
        _ => return Err(format!("Home Connect {OPERATION_STATE} has an unexpected value {value}")),
    })
}

fn vacuum_activity(value: &Value) -> Result<&'static str, String> {
    let case = value.as_str().and_then(|value| value.rsplit('.').next()).unwrap_or_default();
    Ok(match case {
        "Run" => "cleaning",
        "Pause" | "ActionRequired" | "DelayedStart" => "paused",
        "Error" => "error",
        "Finished" | "Aborting" => "seeking-charger",
        "Inactive" | "Ready" => "docked",
        _ => return Err(format!("Home Connect {OPERATION_STATE} has an unexpected value {value}")),
    })
}

fn program_key(item: &Item<'_>) -> Result<String, String> {
    item.value.as_str().map(str::to_owned).ok_or_else(|| unexpected(item))
}

fn oven_mode(item: &Item<'_>) -> Option<&'static str> {
    let program = item.value.as_str()?;
    let heating = program.strip_prefix("Cooking.Oven.Program.HeatingMode.")?;
    OVEN_MODES.iter().find(|(name, _)| *name == heating).map(|(_, mode)| *mode)
}

fn number(item: &Item<'_>) -> Result<f64, String> {
    item.value.as_f64().ok_or_else(|| format!("Home Connect {} should be a number, not {}", item.key, item.value))
}

fn temperature(item: &Item<'_>) -> Result<i64, String> {
    centi_celsius(number(item)?, if item.unit.is_empty() { "°C" } else { item.unit })
        .map_err(|error| format!("Home Connect {}: {error}", item.key))
}

fn duration(item: &Item<'_>) -> Result<i64, String> {
    seconds(number(item)?, item.unit).map_err(|error| format!("Home Connect {}: {error}", item.key))
}

/// `LaundryCare.Washer.EnumType.Temperature.GC40` → 4000; `Cold` has no number.
fn washer_temperature(value: &Value) -> Option<i64> {
    let case = value.as_str()?.rsplit('.').next()?;
    case.strip_prefix("GC")
        .or_else(|| case.strip_prefix("Ul"))
        .and_then(|degrees| degrees.parse::<i64>().ok())
        .map(|c| c * 100)
}

/// `LaundryCare.Washer.EnumType.SpinSpeed.RPM1400` → 1400.
fn spin_speed(value: &Value) -> Option<u64> {
    value.as_str()?.rsplit('.').next()?.strip_prefix("RPM")?.parse().ok()
}

/// `Cooking.Hood.EnumType.Stage.FanStage03` → 3, `FanOff` → 0.
fn stage(value: &Value, prefix: &str) -> Option<u64> {
    let case = value.as_str()?.rsplit('.').next()?;
    if case.ends_with("Off") {
        return Some(0);
    }
    case.strip_prefix(prefix)?.parse().ok()
}

/// A finished program becomes the kind's `program-finished` when the message names
/// the program; its run time, when given, is the duration.
fn program_finished<'a>(
    items: &'a [Item<'a>],
    take: &mut impl FnMut(&str) -> Option<&'a Item<'a>>,
    events: &mut Vec<(String, Value)>,
    topic: String,
) -> Result<(), String> {
    let finished = items.iter().any(|item| item.key == PROGRAM_FINISHED && present(item));
    let program = items.iter().any(|item| item.key == ACTIVE_PROGRAM);
    if !(finished && program) {
        return Ok(());
    }
    take(PROGRAM_FINISHED);
    let program = program_key(take(ACTIVE_PROGRAM).ok_or("the program went missing")?)?;
    let duration = take(ELAPSED).map(duration).transpose()?.unwrap_or(0);
    events.push((topic, json!({"program": program, "duration_s": duration})));
    Ok(())
}

/// `BSH.Common.Status.RemoteControlActive` → `bsh.common.status.remote-control-active`.
pub(super) fn topic_tokens(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 8);
    let mut previous: Option<char> = None;
    for c in key.chars() {
        match c {
            '.' => out.push('.'),
            c if c.is_ascii_uppercase() => {
                if previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
                    out.push('-');
                }
                out.push(c.to_ascii_lowercase());
            }
            c if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' => out.push(c),
            _ => out.push('-'),
        }
        previous = Some(c);
    }
    out
}

fn extension_body(item: &Item<'_>) -> Result<Value, String> {
    let mut body = Map::new();
    body.insert("key".into(), item.key.into());
    body.insert("value".into(), item.value.clone());
    if !item.unit.is_empty() {
        body.insert("unit".into(), item.unit.into());
        if let Some(value) = item.value.as_f64() {
            if let Ok(centi) = centi_celsius(value, item.unit) {
                body.insert("centi_celsius".into(), centi.into());
            } else if let Ok(seconds) = seconds(value, item.unit) {
                body.insert("seconds".into(), seconds.into());
            }
        }
    }
    Ok(Value::Object(body))
}
