//! The noop plugin as Extism users write it: the event arrives as JSON, is decoded into
//! a struct, and the answer goes back as JSON.

use extism_pdk::{FnResult, Json, plugin_fn};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Event {
    pub id: String,
    pub topic: String,
    pub time_ms: u64,
    pub household: String,
    pub device: Option<String>,
    pub body: serde_json::Value,
}

#[derive(Serialize)]
pub struct Ack {
    pub ok: bool,
}

#[plugin_fn]
pub fn on_event(Json(event): Json<Event>) -> FnResult<Json<Ack>> {
    std::hint::black_box(&event);
    Ok(Json(Ack { ok: true }))
}
