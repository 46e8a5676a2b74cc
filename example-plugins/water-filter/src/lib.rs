//! Water filter service: from purifier telemetry it computes the rejection rate
//! (tds-in − tds-out) / tds-in; below 75 %, or a filter at ≤ 10 % condition, or a
//! critical change indication, it recommends the filter suited to the household's
//! regional water, proposes the order and notifies. A leak or TDS anomaly gets an
//! urgent notification with a technician visit to book (`water.book-visit`).

use hearth_sdk::commerce::{LineItem, OrderProposal};
use hearth_sdk::notify::{self, Action, Category, Notification};
use hearth_sdk::{
    ChangeIndication, Event, EventBody, FilterStatus, Plugin, PluginError, PurifierFaultKind, PurifierTelemetry,
    ServiceRequest, ServiceResponse, devices, kv,
};
use serde::{Deserialize, Serialize};

#[derive(Default)]
struct WaterFilter;

/// Below this rejection rate the membrane no longer does its job.
const MIN_REJECTION_PERCENT: u32 = 75;
const LOW_CONDITION_PERCENT: u8 = 10;

/// What a region's tap water needs, and what the shop charges there.
#[derive(Debug, PartialEq, Eq)]
pub struct RegionalOffer {
    pub water: &'static str,
    pub sku_prefix: &'static str,
    pub currency: &'static str,
    pub filter_price_minor: u64,
    pub visit_price_minor: u64,
}

#[rustfmt::skip]
const REGIONS: &[(&str, RegionalOffer)] = &[
    ("KR", RegionalOffer { water: "soft, low-mineral water", sku_prefix: "CF-KR", currency: "KRW", filter_price_minor: 39_000, visit_price_minor: 30_000 }),
    ("DE", RegionalOffer { water: "hard, calcium-rich water", sku_prefix: "CF-DE-SCALE", currency: "EUR", filter_price_minor: 3_990, visit_price_minor: 4_900 }),
    ("GB", RegionalOffer { water: "hard water", sku_prefix: "CF-GB-SCALE", currency: "GBP", filter_price_minor: 3_490, visit_price_minor: 4_500 }),
    ("US", RegionalOffer { water: "chlorinated municipal water", sku_prefix: "CF-US-CL", currency: "USD", filter_price_minor: 4_299, visit_price_minor: 5_900 }),
];

const DEFAULT_OFFER: RegionalOffer = RegionalOffer {
    water: "tap water",
    sku_prefix: "CF-STD",
    currency: "EUR",
    filter_price_minor: 3_490,
    visit_price_minor: 4_900,
};

/// The offer for a region code like `KR-11` or `DE`.
pub fn regional_offer(region: &str) -> &'static RegionalOffer {
    let country = region.split('-').next().unwrap_or_default();
    REGIONS.iter().find(|(code, _)| *code == country).map_or(&DEFAULT_OFFER, |(_, offer)| offer)
}

/// Rejection rate in whole percent; `None` without incoming TDS to compare.
pub fn rejection_percent(telemetry: &PurifierTelemetry) -> Option<u32> {
    let tds_in = telemetry.tds_in_ppm;
    (tds_in > 0).then(|| tds_in.saturating_sub(telemetry.tds_out_ppm) * 100 / tds_in)
}

/// The filter to replace and why, if one must be.
pub fn needs_filter(telemetry: &PurifierTelemetry) -> Option<(FilterStatus, String)> {
    let worst = telemetry.filters.iter().min_by_key(|filter| filter.condition_percent)?.clone();
    if let Some(critical) = telemetry.filters.iter().find(|f| f.change_indication == ChangeIndication::Critical) {
        return Some((critical.clone(), format!("the {} filter reports it must be changed", critical.name)));
    }
    if worst.condition_percent <= LOW_CONDITION_PERCENT {
        let reason = format!("the {} filter is at {} %", worst.name, worst.condition_percent);
        return Some((worst, reason));
    }
    match rejection_percent(telemetry) {
        Some(rejection) if rejection < MIN_REJECTION_PERCENT => Some((
            worst,
            format!("it removes only {rejection} % of dissolved solids (below {MIN_REJECTION_PERCENT} %)"),
        )),
        _ => None,
    }
}

/// The latest assessment of a household's purifier, for `water.filter-advice`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Status {
    rejection_percent: Option<u32>,
    filters: Vec<(String, u8)>,
    recommendation: Option<String>,
    /// day the last offer was made, per filter
    offered: std::collections::BTreeMap<String, i64>,
}

fn today() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (now.as_secs() / 86_400) as i64
}

fn money(minor: u64, currency: &str) -> String {
    if currency == "KRW" {
        format!("{minor} {currency}")
    } else {
        format!("{}.{:02} {currency}", minor / 100, minor % 100)
    }
}

impl WaterFilter {
    fn on_telemetry(&self, event: &Event, device: &str, telemetry: &PurifierTelemetry) -> hearth_sdk::Result<()> {
        let key = kv::household_key(&event.household, "purifier");
        let mut status: Status = kv::get(&key)?.unwrap_or_default();
        status.rejection_percent = rejection_percent(telemetry);
        status.filters = telemetry.filters.iter().map(|f| (f.name.clone(), f.condition_percent)).collect();
        status.recommendation = None;
        if let Some((filter, reason)) = needs_filter(telemetry) {
            let region = devices::describe(device)?.region;
            let offer = regional_offer(&region);
            let name = format!("ClearFlow {} filter for {}", filter.name, offer.water);
            status.recommendation = Some(format!("{name}: {reason}"));
            let today = today();
            // One offer per filter a week, however often the purifier reports.
            if status.offered.get(&filter.name).is_none_or(|day| today - day >= 7) {
                let proposal = OrderProposal {
                    order_id: format!("filter-{device}-{}-{today}", filter.name),
                    household: event.household.clone(),
                    currency: offer.currency.into(),
                    items: vec![LineItem {
                        sku: format!("{}-{}", offer.sku_prefix, filter.name.to_uppercase()),
                        name: name.clone(),
                        quantity: 1,
                        unit_price_minor: offer.filter_price_minor,
                    }],
                    note: format!("Your purifier says {reason}."),
                };
                hearth_sdk::commerce::propose(&proposal)?;
                let body = format!(
                    "Your purifier says {reason}. {name}: {}.",
                    money(offer.filter_price_minor, offer.currency)
                );
                notify::send(&event.household, &notify::simple(Category::Alert, "Time for a new water filter", body))?;
                status.offered.insert(filter.name, today);
            }
        }
        kv::set(&key, &status)
    }

    fn on_fault(&self, event: &Event, device: &str, kind: PurifierFaultKind, detail: &str) -> hearth_sdk::Result<()> {
        let what = match kind {
            PurifierFaultKind::Leak => "a leak",
            PurifierFaultKind::TdsAnomaly => "unusual dissolved solids in the purified water",
            _ => return Ok(()),
        };
        let notification = Notification {
            title: "Water purifier needs attention".into(),
            body: format!(
                "Your purifier detected {what} ({detail}). Stop using the purified water and book a technician."
            ),
            category: Category::Urgent,
            action: Some(Action {
                label: "Book a technician".into(),
                operation: "water.book-visit".into(),
                input: serde_json::json!({ "device": device, "reason": what }).to_string(),
            }),
        };
        notify::send(&event.household, &notification)?;
        Ok(())
    }
}

#[derive(Deserialize)]
struct VisitRequest {
    device: String,
    reason: String,
}

impl Plugin for WaterFilter {
    fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
        let Some(device) = event.device.clone() else {
            return Ok(());
        };
        match &event.body {
            EventBody::PurifierTelemetry(telemetry) => self.on_telemetry(&event, &device, telemetry),
            EventBody::PurifierFault(fault) => self.on_fault(&event, &device, fault.kind, &fault.detail),
            _ => Ok(()),
        }
    }

    fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
        let household = request.require_household()?.clone();
        match request.operation.as_str() {
            "filter-advice" => {
                let status: Option<Status> = kv::get(&kv::household_key(&household, "purifier"))?;
                let status = status.ok_or_else(|| PluginError::NotFound("no purifier readings yet".into()))?;
                ServiceResponse::json(&serde_json::json!({
                    "rejection_percent": status.rejection_percent,
                    "filters": status.filters,
                    "recommendation": status.recommendation,
                }))
            }
            "book-visit" => {
                let visit: VisitRequest = request.input_json()?;
                let offer = regional_offer(&devices::describe(&visit.device)?.region);
                let proposal = OrderProposal {
                    order_id: format!("visit-{}-{}", visit.device, today()),
                    household,
                    currency: offer.currency.into(),
                    items: vec![LineItem {
                        sku: "CF-VISIT".into(),
                        name: "Technician visit".into(),
                        quantity: 1,
                        unit_price_minor: offer.visit_price_minor,
                    }],
                    note: format!("Follow-up of {}.", visit.reason),
                };
                hearth_sdk::commerce::propose(&proposal)?;
                ServiceResponse::json(&serde_json::json!({ "order_id": proposal.order_id }))
            }
            other => Err(PluginError::NotFound(format!("no operation water.{other}"))),
        }
    }
}

hearth_sdk::register_plugin!(WaterFilter);

#[cfg(test)]
mod tests {
    use super::*;

    fn telemetry(tds_in: u32, tds_out: u32, filters: &[(&str, u8, ChangeIndication)]) -> PurifierTelemetry {
        PurifierTelemetry {
            tds_in_ppm: tds_in,
            tds_out_ppm: tds_out,
            litres_total: 1_000,
            filters: filters
                .iter()
                .map(|(name, condition, indication)| FilterStatus {
                    name: (*name).into(),
                    condition_percent: *condition,
                    change_indication: *indication,
                })
                .collect(),
        }
    }

    #[test]
    fn rejection_rate_and_triggers() {
        let healthy = telemetry(300, 15, &[("carbon", 60, ChangeIndication::Ok), ("ro", 80, ChangeIndication::Ok)]);
        assert_eq!(rejection_percent(&healthy), Some(95));
        assert_eq!(needs_filter(&healthy), None);

        let worn = telemetry(300, 90, &[("carbon", 60, ChangeIndication::Ok), ("ro", 40, ChangeIndication::Warning)]);
        assert_eq!(rejection_percent(&worn), Some(70));
        let (filter, reason) = needs_filter(&worn).unwrap();
        assert_eq!(filter.name, "ro");
        assert!(reason.contains("only 70 %"), "{reason}");

        let low = telemetry(300, 15, &[("carbon", 8, ChangeIndication::Warning)]);
        assert!(needs_filter(&low).unwrap().1.contains("at 8 %"));
        let critical =
            telemetry(300, 15, &[("carbon", 50, ChangeIndication::Ok), ("sediment", 30, ChangeIndication::Critical)]);
        assert_eq!(needs_filter(&critical).unwrap().0.name, "sediment");
        assert_eq!(rejection_percent(&telemetry(0, 0, &[])), None);
    }

    #[test]
    fn offers_follow_the_region() {
        assert_eq!(regional_offer("KR-11").currency, "KRW");
        assert_eq!(regional_offer("DE").sku_prefix, "CF-DE-SCALE");
        assert_eq!(regional_offer("FR"), &DEFAULT_OFFER);
    }
}
