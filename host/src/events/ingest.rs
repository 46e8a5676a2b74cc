//! Ingest: appliance JSON in, durable typed events out.
//!
//! A request is one event object or an array of them. Every event is validated
//! (shape, id, time, topic, body against the catalogue) before any is stored: a batch
//! is accepted whole or refused whole, with one error per bad event. Accepted events
//! are durable when this returns; an id already in the log is acknowledged again
//! without being stored twice.

use super::log::{EventLog, LogError, Seq, StoredEvent};
use super::{adapters, catalog};
use crate::HostError;
use crate::households::Households;
use serde::{Deserialize, Serialize};

/// Limits that keep ingest from growing memory or the backlog without bound.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    /// Events in one request.
    pub max_batch: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits { max_batch: 1_000 }
    }
}

/// One event as an appliance sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEvent {
    /// Unique per event; the host assigns one when absent.
    id: Option<String>,
    topic: String,
    /// When the appliance observed the event; the host's time when absent.
    time_ms: Option<u64>,
    body: serde_json::Value,
}

/// What the host acknowledges for one accepted event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// The event's id.
    pub id: String,
    /// The event's position in the log. Not sent to devices: positions are shared by
    /// every tenant, so they would tell a device how busy the host is.
    #[serde(skip)]
    pub seq: Seq,
    /// This device already sent an event with this id (still in the log); this one
    /// was not stored again. Ids are scoped to the device: other devices' ids never
    /// collide with it.
    pub duplicate: bool,
}

/// Why one event of a request is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventError {
    /// Position in the request (0 for a single event).
    pub index: usize,
    /// The event's id, if it had one.
    pub id: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

/// Why an ingest request was refused; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not a JSON array (or object) of events.
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("{} of {total} events are invalid; none was stored", errors.len())]
    /// Some events are invalid (the whole request is refused).
    Invalid {
        /// Events in the request.
        total: usize,
        /// What is wrong, per event.
        errors: Vec<EventError>,
    },
    #[error("the request has {count} events; at most {max} are accepted at once")]
    /// More events than one request may carry.
    TooLarge {
        /// Events sent.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// The device is not registered.
    #[error("unknown device {0}")]
    UnknownDevice(String),
    /// The log could not store the events.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The host failed.
    #[error(transparent)]
    Host(#[from] HostError),
}

/// Oldest event time accepted (2000-01-01), and how far ahead of the host's clock an
/// appliance's clock may be.
const MIN_TIME_MS: u64 = 946_684_800_000;
const MAX_CLOCK_SKEW_MS: u64 = 24 * 3_600_000;

/// Validates and durably appends the events `device` sent.
pub async fn ingest(
    log: &dyn EventLog,
    households: &Households,
    limits: &IngestLimits,
    device: &str,
    request: &[u8],
) -> Result<Vec<Receipt>, IngestError> {
    let device = households.device(device)?.ok_or_else(|| IngestError::UnknownDevice(device.to_owned()))?;
    let parsed = parse(request, limits.max_batch, crate::clock::now_ms(), &device.kind)?;
    // A catalogue topic comes from its kind of appliance: an oven cannot report a fridge door.
    let errors: Vec<EventError> = parsed
        .iter()
        .enumerate()
        .filter_map(|(index, event)| {
            let kinds = catalog::kinds_for(&event.topic)?;
            (!kinds.contains(&device.kind.as_str())).then(|| EventError {
                index,
                id: Some(event.id.clone()),
                reason: format!(
                    "this device is registered as {:?}; {} comes from {} devices",
                    device.kind,
                    event.topic,
                    kinds.join(" or ")
                ),
            })
        })
        .collect();
    if !errors.is_empty() {
        return Err(IngestError::Invalid { total: parsed.len(), errors });
    }
    let events: Vec<StoredEvent> = parsed
        .into_iter()
        .map(|event| StoredEvent {
            id: event.id,
            topic: event.topic,
            time_ms: event.time_ms,
            household: device.household.clone(),
            device: Some(device.id.clone()),
            body: event.body,
            target: None,
            pseudonymous: false,
        })
        .collect();
    let ids: Vec<String> = events.iter().map(|event| event.id.clone()).collect();
    let appended = log.append(events).await?;
    Ok(ids
        .into_iter()
        .zip(appended)
        .map(|(id, appended)| Receipt { id, seq: appended.seq, duplicate: appended.duplicate })
        .collect())
}

/// One valid event of a request, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    /// Unique per device; the host makes one when missing.
    pub id: String,
    /// A catalogue topic or an `ext.` topic.
    pub topic: String,
    /// When it happened, ms since the epoch.
    pub time_ms: u64,
    /// The typed body.
    pub body: crate::bindings::EventBody,
}

/// Parses and validates a request (one event object or an array of at most
/// `max_batch`) against the catalogue, as of the host time `now`, from a device of
/// `kind`. An item in a vendor's shape (Home Connect, Matter) is first mapped into
/// the catalogue ([`adapters`]) and may become several events. All or nothing: any
/// invalid event refuses the request with one error per bad item.
pub fn parse(request: &[u8], max_batch: usize, now: u64, kind: &str) -> Result<Vec<ParsedEvent>, IngestError> {
    let items = match serde_json::from_slice::<serde_json::Value>(request) {
        Ok(serde_json::Value::Array(items)) => items,
        Ok(item @ serde_json::Value::Object(_)) => vec![item],
        Ok(_) => {
            return Err(IngestError::Malformed("expected an event object or an array of events".into()));
        }
        Err(error) => return Err(IngestError::Malformed(format!("not valid JSON: {error}"))),
    };
    if items.len() > max_batch {
        return Err(IngestError::TooLarge { count: items.len(), max: max_batch });
    }
    let total = items.len();
    let mut events = Vec::with_capacity(total);
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let translated = match adapters::translate(&item, kind) {
            None => vec![item],
            Some(Ok(translated)) => translated,
            Some(Err(reason)) => {
                errors.push(EventError { index, id: None, reason });
                continue;
            }
        };
        for item in translated {
            match validate(item, now) {
                Ok(event) => events.push(event),
                Err((id, reason)) => errors.push(EventError { index, id, reason }),
            }
        }
    }
    if !errors.is_empty() {
        return Err(IngestError::Invalid { total, errors });
    }
    Ok(events)
}

fn validate(item: serde_json::Value, now: u64) -> Result<ParsedEvent, (Option<String>, String)> {
    let claimed_id = item.get("id").and_then(|id| id.as_str()).map(str::to_owned);
    let fail = |reason: String| (claimed_id.clone(), reason);
    let wire: WireEvent = serde_json::from_value(item).map_err(|error| fail(format!("event: {error}")))?;
    let id = match wire.id {
        Some(id) => {
            let valid = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
            if !valid {
                return Err(fail("id must be 1 to 128 printable ASCII characters without spaces".into()));
            }
            id
        }
        None => crate::events::log::new_event_id().map_err(|error| fail(error.to_string()))?,
    };
    let time_ms = wire.time_ms.unwrap_or(now);
    let plausible = |time: u64| (MIN_TIME_MS..=now + MAX_CLOCK_SKEW_MS).contains(&time);
    if !plausible(time_ms) {
        let hint = if plausible(time_ms.saturating_mul(1000)) {
            format!("; it looks like seconds since 1970: in milliseconds that is {}", time_ms.saturating_mul(1000))
        } else if plausible(time_ms / 1000) {
            format!("; it looks like microseconds: in milliseconds that is {}", time_ms / 1000)
        } else {
            String::new()
        };
        return Err(fail(format!(
            "time_ms = {time_ms} is before 2000 or more than a day ahead of the host's clock{hint}"
        )));
    }
    let body = catalog::parse_body(&wire.topic, wire.body).map_err(fail)?;
    Ok(ParsedEvent { id, topic: wire.topic, time_ms, body })
}
