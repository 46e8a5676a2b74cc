//! Air care: when an air conditioner cools below 26 °C — the comfortable, efficient
//! setpoint — it advises raising it (each degree saves roughly 7 % of cooling energy)
//! and, where the household gave it control, sets 26 °C itself. A worn air filter
//! (≤ 10 %) gets a reminder. At most one message of each kind per device a day.

use hearth_sdk::devices::{self, Command, DeviceError};
use hearth_sdk::notify::{self, Category};
use hearth_sdk::{AirTelemetry, Event, EventBody, Plugin, PluginError, ServiceRequest, ServiceResponse, kv};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 26 °C in 0.01 °C.
pub const EFFICIENT_SETPOINT: i32 = 2_600;
/// Cooling energy saved per degree the setpoint is raised, percent.
pub const SAVING_PER_DEGREE_PERCENT: i32 = 7;
const FILTER_LOW_PERCENT: u8 = 10;

#[derive(Default)]
struct AirCare;

/// What the plugin did about a reading.
#[derive(Debug, PartialEq, Eq)]
pub enum Advice {
    None,
    /// Raise the setpoint; the estimated saving in percent.
    RaiseSetpoint {
        from: i32,
        saving_percent: i32,
    },
}

pub fn advise(telemetry: &AirTelemetry) -> Advice {
    match telemetry.cooling_setpoint_centi_celsius {
        Some(setpoint) if setpoint < EFFICIENT_SETPOINT => Advice::RaiseSetpoint {
            from: setpoint,
            saving_percent: (EFFICIENT_SETPOINT - setpoint) * SAVING_PER_DEGREE_PERCENT / 100,
        },
        _ => Advice::None,
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DeviceLog {
    /// message kind → day last sent
    sent: BTreeMap<String, i64>,
    last_setpoint: Option<i32>,
    actions: Vec<String>,
}

fn today() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (now.as_secs() / 86_400) as i64
}

fn degrees(centi: i32) -> String {
    format!("{}.{} °C", centi / 100, (centi % 100).abs() / 10)
}

impl Plugin for AirCare {
    fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
        let (EventBody::AirTelemetry(telemetry), Some(device)) = (&event.body, &event.device) else {
            return Ok(());
        };
        let key = kv::household_key(&event.household, &format!("air/{device}"));
        let mut log: DeviceLog = kv::get(&key)?.unwrap_or_default();
        log.last_setpoint = telemetry.cooling_setpoint_centi_celsius;
        let today = today();
        let mut first_today = |kind: &str| log.sent.insert(kind.to_owned(), today) != Some(today);

        if let Advice::RaiseSetpoint { from, saving_percent } = advise(telemetry)
            && first_today("setpoint")
        {
            let (title, body, action) = match devices::send(device, &Command::SetTemperature(EFFICIENT_SETPOINT)) {
                Ok(_) => (
                    "Cooling set to 26 °C",
                    format!(
                        "Your air conditioner was cooling to {}; we set it to 26 °C, which saves about {saving_percent} % energy and stays comfortable.",
                        degrees(from)
                    ),
                    "set 26 °C",
                ),
                Err(DeviceError::NoConsent(_) | DeviceError::NotGranted(_)) => (
                    "Save energy at 26 °C",
                    format!(
                        "Cooling to {} uses about {saving_percent} % more energy than 26 °C, which most people find just as comfortable.",
                        degrees(from)
                    ),
                    "advised 26 °C",
                ),
                Err(error) => return Err(error.into()),
            };
            notify::send(&event.household, &notify::simple(Category::Advice, title, body))?;
            log.actions.push(format!("{action} (was {})", degrees(from)));
        }
        if telemetry.filter_condition_percent.is_some_and(|percent| percent <= FILTER_LOW_PERCENT)
            && first_today("filter")
        {
            let body = format!(
                "The air filter is at {} %. A clean filter keeps the air fresh and the unit efficient.",
                telemetry.filter_condition_percent.unwrap_or_default()
            );
            notify::send(&event.household, &notify::simple(Category::Alert, "Air filter worn", body))?;
            log.actions.push("filter reminder".into());
        }
        kv::set(&key, &log)
    }

    fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
        if (request.service.as_str(), request.operation.as_str()) != ("air", "advice") {
            return Err(PluginError::NotFound(format!("no operation {}.{}", request.service, request.operation)));
        }
        let household = request.require_household()?;
        let mut devices = BTreeMap::new();
        for key in kv::list_keys(&kv::household_key(household, "air/"))? {
            let log: DeviceLog = kv::get(&key)?.unwrap_or_default();
            devices.insert(
                key.rsplit('/').next().unwrap_or_default().to_owned(),
                serde_json::json!({
                    "cooling_setpoint": log.last_setpoint.map(degrees),
                    "actions": log.actions,
                }),
            );
        }
        ServiceResponse::json(&devices)
    }
}

hearth_sdk::register_plugin!(AirCare);

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_sdk::AirQuality;

    fn reading(setpoint: Option<i32>) -> AirTelemetry {
        AirTelemetry {
            temperature_centi_celsius: 2_950,
            humidity_centi_percent: 6_000,
            air_quality: AirQuality::Good,
            filter_condition_percent: Some(50),
            cooling_setpoint_centi_celsius: setpoint,
        }
    }

    #[test]
    fn below_26_degrees_is_advised_up() {
        assert_eq!(advise(&reading(Some(2_200))), Advice::RaiseSetpoint { from: 2_200, saving_percent: 28 });
        assert_eq!(advise(&reading(Some(2_550))), Advice::RaiseSetpoint { from: 2_550, saving_percent: 3 });
        assert_eq!(advise(&reading(Some(2_600))), Advice::None);
        assert_eq!(advise(&reading(None)), Advice::None);
        assert_eq!(degrees(2_250), "22.5 °C");
    }
}
