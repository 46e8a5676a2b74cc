//! Matter attribute reports, as a Matter controller relays them: one
//! (`{"cluster", "attribute", "value"}`) or several (`{"reports": [...]}`), clusters
//! and attributes by name or by number, enum values as the numbers Matter defines,
//! temperatures in 0.01 °C. An optional `time_ms` dates the whole message.

use super::home_connect::topic_tokens;
use super::{Translation, event};
use serde_json::{Value, json};

/// Clusters the adapter maps: (id, name).
const CLUSTERS: &[(u64, &str)] = &[
    (0x002F, "PowerSource"),
    (0x0056, "TemperatureControl"),
    (0x0057, "RefrigeratorAlarm"),
    (0x005B, "AirQuality"),
    (0x0060, "OperationalState"),
    (0x0061, "RvcOperationalState"),
    (0x0071, "HepaFilterMonitoring"),
    (0x0072, "ActivatedCarbonFilterMonitoring"),
    (0x0202, "FanControl"),
    (0x0402, "TemperatureMeasurement"),
    (0x0405, "RelativeHumidityMeasurement"),
];

/// Attributes the adapter maps: (cluster, id, name).
const ATTRIBUTES: &[(&str, u64, &str)] = &[
    ("PowerSource", 0x000C, "BatPercentRemaining"),
    ("TemperatureControl", 0x0000, "TemperatureSetpoint"),
    ("RefrigeratorAlarm", 0x0002, "State"),
    ("AirQuality", 0x0000, "AirQuality"),
    ("OperationalState", 0x0004, "OperationalState"),
    ("RvcOperationalState", 0x0004, "OperationalState"),
    ("HepaFilterMonitoring", 0x0000, "Condition"),
    ("HepaFilterMonitoring", 0x0002, "ChangeIndication"),
    ("ActivatedCarbonFilterMonitoring", 0x0000, "Condition"),
    ("ActivatedCarbonFilterMonitoring", 0x0002, "ChangeIndication"),
    ("FanControl", 0x0005, "SpeedSetting"),
    ("TemperatureMeasurement", 0x0000, "MeasuredValue"),
    ("RelativeHumidityMeasurement", 0x0000, "MeasuredValue"),
];

/// One attribute report, with its cluster and attribute named where the adapter
/// knows them (`None`: an unknown one, kept as it came).
struct Report<'a> {
    cluster: Option<&'static str>,
    attribute: Option<&'static str>,
    raw: &'a Value,
    value: &'a Value,
}

impl Report<'_> {
    fn is(&self, cluster: &str, attribute: &str) -> bool {
        self.cluster == Some(cluster) && self.attribute == Some(attribute)
    }

    fn number(&self) -> Result<i64, String> {
        self.value.as_i64().ok_or_else(|| {
            format!(
                "Matter {}.{} should be a number, not {}",
                self.cluster.unwrap_or("?"),
                self.attribute.unwrap_or("?"),
                self.value
            )
        })
    }
}

/// Maps one Matter message from a device of `kind`.
pub fn translate(message: &Value, kind: &str) -> Translation {
    let reports = reports(message)?;
    let time_ms = match message.get("time_ms") {
        None => None,
        Some(time) => Some(time.as_u64().ok_or("time_ms must be milliseconds since 1970")?),
    };
    let mut used = vec![false; reports.len()];
    let mut take = |cluster: &str, attribute: &str| {
        let index = reports.iter().position(|report| report.is(cluster, attribute))?;
        used[index] = true;
        Some(&reports[index])
    };
    let has = |cluster: &str, attribute: &str| reports.iter().any(|report| report.is(cluster, attribute));
    let mut events: Vec<(String, Value)> = Vec::new();
    let topic = |event: &str| format!("appliance.{kind}.{event}");
    match kind {
        "washer" | "dryer" | "dishwasher" | "coffee-maker" => {
            if let Some(state) = take("OperationalState", "OperationalState") {
                let mut body = json!({"state": operational_state(state.number()?)?});
                if kind != "dryer"
                    && let Some(setpoint) = take("TemperatureControl", "TemperatureSetpoint")
                {
                    body["temperature_centi_celsius"] = setpoint.number()?.into();
                }
                events.push((topic("state"), body));
            }
        }
        "robot-vacuum" => {
            if has("PowerSource", "BatPercentRemaining")
                && let Some(state) = take("RvcOperationalState", "OperationalState")
            {
                let activity = vacuum_activity(state.number()?)?;
                let half_percent =
                    take("PowerSource", "BatPercentRemaining").ok_or("battery went missing")?.number()?;
                // Matter counts the battery in half percent (200 = full).
                events.push((topic("state"), json!({"activity": activity, "battery_percent": half_percent / 2})));
            }
        }
        "fridge" => {
            if let Some(alarm) = take("RefrigeratorAlarm", "State") {
                let door_open = alarm.number()? & 1 == 1;
                events.push((topic("door"), json!({"state": if door_open { "open" } else { "closed" }})));
            }
        }
        "hood" => {
            if let Some(speed) = take("FanControl", "SpeedSetting") {
                events.push((topic("state"), json!({"fan_level": speed.number()?})));
            }
        }
        "air-conditioner" | "air-purifier" => {
            let complete = has("TemperatureMeasurement", "MeasuredValue")
                && has("RelativeHumidityMeasurement", "MeasuredValue")
                && has("AirQuality", "AirQuality");
            if complete {
                let temperature = take("TemperatureMeasurement", "MeasuredValue").ok_or("temperature")?.number()?;
                let humidity = take("RelativeHumidityMeasurement", "MeasuredValue").ok_or("humidity")?.number()?;
                let quality = air_quality(take("AirQuality", "AirQuality").ok_or("air quality")?.number()?)?;
                events.push((
                    "appliance.air.telemetry".to_owned(),
                    json!({"temperature_centi_celsius": temperature, "humidity_centi_percent": humidity,
                           "air_quality": quality}),
                ));
            }
        }
        _ => {}
    }
    let monitors: &[(&str, &str)] = match kind {
        "hood" => &[("ActivatedCarbonFilterMonitoring", "carbon-filter")],
        "robot-vacuum" => {
            &[("HepaFilterMonitoring", "vacuum-filter"), ("ActivatedCarbonFilterMonitoring", "carbon-filter")]
        }
        _ => &[],
    };
    let mut consumables = Vec::new();
    for (cluster, consumable) in monitors {
        if let Some(indication) = take(cluster, "ChangeIndication") {
            let mut entry = json!({"kind": consumable, "change_indication": change_indication(indication.number()?)?});
            if let Some(condition) = take(cluster, "Condition") {
                entry["level_percent"] = condition.number()?.into();
            }
            consumables.push(entry);
        }
    }
    if !consumables.is_empty() {
        events.push((topic("consumables"), json!({"consumables": consumables})));
    }
    for (report, used) in reports.iter().zip(&used) {
        if !used {
            events.push(extension(report));
        }
    }
    Ok(events.into_iter().map(|(topic, body)| event(message, &topic, time_ms, body)).collect())
}

fn reports(message: &Value) -> Result<Vec<Report<'_>>, String> {
    match message.get("reports") {
        Some(Value::Array(reports)) if !reports.is_empty() && reports.len() <= 64 => {
            reports.iter().map(report).collect()
        }
        Some(_) => Err("Matter \"reports\" must be an array of 1 to 64 attribute reports".into()),
        None => Ok(vec![report(message)?]),
    }
}

fn report(raw: &Value) -> Result<Report<'_>, String> {
    let cluster = raw.get("cluster").ok_or("a Matter report needs \"cluster\" (a name or a number)")?;
    let attribute = raw.get("attribute").ok_or("a Matter report needs \"attribute\" (a name or a number)")?;
    let value = raw.get("value").ok_or("a Matter report needs \"value\"")?;
    let cluster = match cluster {
        Value::String(name) => CLUSTERS.iter().find(|(_, known)| known == name).map(|(_, name)| *name),
        Value::Number(id) => CLUSTERS.iter().find(|(known, _)| Some(*known) == id.as_u64()).map(|(_, name)| *name),
        _ => return Err("a Matter cluster is a name or a number".into()),
    };
    let attribute = match (cluster, attribute) {
        (Some(cluster_name), Value::String(name)) => ATTRIBUTES
            .iter()
            .find(|(owner, _, known)| *owner == cluster_name && known == name)
            .map(|(_, _, name)| *name),
        (Some(cluster_name), Value::Number(id)) => ATTRIBUTES
            .iter()
            .find(|(owner, known, _)| *owner == cluster_name && Some(*known) == id.as_u64())
            .map(|(_, _, name)| *name),
        (_, Value::String(_) | Value::Number(_)) => None,
        _ => return Err("a Matter attribute is a name or a number".into()),
    };
    Ok(Report { cluster, attribute, raw, value })
}

/// A report with no catalogue place: `ext.matter.<cluster>.<attribute>`, names made
/// topic tokens, numbers in hex.
fn extension(report: &Report<'_>) -> (String, Value) {
    let token = |field: &str| match report.raw.get(field) {
        Some(Value::String(name)) => topic_tokens(name).replace('.', "-"),
        Some(Value::Number(id)) => format!("0x{:04x}", id.as_u64().unwrap_or_default()),
        _ => "unknown".to_owned(),
    };
    let body = json!({"cluster": report.raw["cluster"], "attribute": report.raw["attribute"], "value": report.value});
    (format!("ext.matter.{}.{}", token("cluster"), token("attribute")), body)
}

fn enum_name(field: &str, value: i64, names: &[(i64, &'static str)]) -> Result<&'static str, String> {
    names
        .iter()
        .find(|(known, _)| *known == value)
        .map(|(_, name)| *name)
        .ok_or_else(|| format!("Matter {field} has no value {value}"))
}

fn operational_state(value: i64) -> Result<&'static str, String> {
    enum_name("OperationalState", value, &[(0, "stopped"), (1, "running"), (2, "paused"), (3, "error")])
}

fn vacuum_activity(value: i64) -> Result<&'static str, String> {
    enum_name(
        "RvcOperationalState",
        value,
        &[
            (0, "stopped"),
            (1, "cleaning"),
            (2, "paused"),
            (3, "error"),
            (0x40, "seeking-charger"),
            (0x41, "charging"),
            (0x42, "docked"),
        ],
    )
}

fn change_indication(value: i64) -> Result<&'static str, String> {
    enum_name("ChangeIndication", value, &[(0, "ok"), (1, "warning"), (2, "critical")])
}

fn air_quality(value: i64) -> Result<&'static str, String> {
    enum_name(
        "AirQuality",
        value,
        &[
            (0, "unknown"),
            (1, "good"),
            (2, "fair"),
            (3, "moderate"),
            (4, "poor"),
            (5, "very-poor"),
            (6, "extremely-poor"),
        ],
    )
}
