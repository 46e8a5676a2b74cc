//! Appliance events as devices send them, built from typed arguments. The host
//! validates each one at ingest exactly as in production, so a wrong field fails the
//! test with the ingest error.

use serde_json::{Value, json};

/// One event: a catalogue topic and its JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct TestEvent {
    /// The event's id (the host makes one when `None`).
    pub id: Option<String>,
    /// Its topic.
    pub topic: String,
    /// Its body, as an appliance sends it.
    pub body: Value,
}

impl TestEvent {
    /// Any event of the catalogue (or `ext.*`), by topic and body.
    pub fn new(topic: &str, body: Value) -> Self {
        TestEvent { id: None, topic: topic.to_owned(), body }
    }

    /// Sets the event id (the same id twice is stored once).
    pub fn with_id(mut self, id: &str) -> Self {
        self.id = Some(id.to_owned());
        self
    }

    /// Sets one more body field (an optional one the builder does not take).
    pub fn with_field(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.body[field] = value.into();
        self
    }

    /// The event as an appliance sends it.
    pub fn into_json(self) -> Value {
        let mut event = json!({ "topic": self.topic, "body": self.body });
        if let Some(id) = self.id {
            event["id"] = id.into();
        }
        event
    }
}

impl From<TestEvent> for Vec<TestEvent> {
    fn from(event: TestEvent) -> Self {
        vec![event]
    }
}

/// `appliance.fridge.inventory`: `action` is `added`, `removed` or `counted`; `unit`
/// is `pieces`, `grams` or `millilitres`.
pub fn fridge_inventory(item: &str, action: &str, amount: u32, unit: &str) -> TestEvent {
    TestEvent::new(
        "appliance.fridge.inventory",
        json!({ "item": item, "action": action, "quantity": { "amount": amount, "unit": unit } }),
    )
}

/// `appliance.fridge.inventory` with a best-before date (`YYYY-MM-DD`).
pub fn fridge_inventory_until(item: &str, action: &str, amount: u32, unit: &str, best_before: &str) -> TestEvent {
    let mut event = fridge_inventory(item, action, amount, unit);
    event.body["best_before"] = best_before.into();
    event
}

/// `appliance.fridge.door`: `open` or `closed`.
pub fn fridge_door(state: &str) -> TestEvent {
    TestEvent::new("appliance.fridge.door", json!({ "state": state }))
}

/// `appliance.oven.state` (Matter OperationalState and OvenMode), setpoint in °C.
pub fn oven_state(state: &str, mode: &str, setpoint_celsius: Option<f64>) -> TestEvent {
    let mut body = json!({ "state": state, "mode": mode });
    if let Some(celsius) = setpoint_celsius {
        body["setpoint_centi_celsius"] = ((celsius * 100.0).round() as i64).into();
    }
    TestEvent::new("appliance.oven.state", body)
}

/// `appliance.oven.program-finished`.
pub fn oven_program_finished(program: &str, duration_s: u32) -> TestEvent {
    TestEvent::new("appliance.oven.program-finished", json!({ "program": program, "duration_s": duration_s }))
}

/// `appliance.water-purifier.telemetry` with one filter (Matter ResourceMonitoring):
/// `change_indication` is `ok`, `warning` or `critical`.
pub fn purifier_telemetry(
    tds_in_ppm: u32,
    tds_out_ppm: u32,
    filter: &str,
    condition_percent: u8,
    change_indication: &str,
) -> TestEvent {
    TestEvent::new(
        "appliance.water-purifier.telemetry",
        json!({
            "tds_in_ppm": tds_in_ppm,
            "tds_out_ppm": tds_out_ppm,
            "litres_total": 1000,
            "filters": [{ "name": filter, "condition_percent": condition_percent, "change_indication": change_indication }],
        }),
    )
}

/// `appliance.water-purifier.fault`.
pub fn purifier_fault(kind: &str, detail: &str) -> TestEvent {
    TestEvent::new("appliance.water-purifier.fault", json!({ "kind": kind, "detail": detail }))
}

/// `appliance.air.telemetry`, temperatures in °C, humidity in %; `air_quality` is a
/// Matter AirQuality value such as `good` or `poor`.
pub fn air_telemetry(temperature_celsius: f64, humidity_percent: f64, air_quality: &str) -> TestEvent {
    TestEvent::new(
        "appliance.air.telemetry",
        json!({
            "temperature_centi_celsius": (temperature_celsius * 100.0).round() as i64,
            "humidity_centi_percent": (humidity_percent * 100.0).round() as i64,
            "air_quality": air_quality,
        }),
    )
}
