//! `hearth demo`: a scripted day in one household, end to end through an embedded host
//! and the four example plugins, printed as a timeline of event → plugin → action.
//!
//! The output is deterministic for a given day: no timings, no refs or ids (both are
//! random per data directory), times of day from the script.

use anyhow::Context as _;
use hearth_host::bindings::Caller;
use hearth_host::commerce::ledger::Statement;
use hearth_host::commerce::orders::Order;
use hearth_host::households::{Device, Grant};
use hearth_host::{Host, HostConfig};
use hearth_package::Manifest;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

const HOUSEHOLD: &str = "kim-household";
const RECIPES: &str = "com.example.recipe-service";
const SHOP: &str = "com.freshcart.ingredient-shop";
const WATER: &str = "com.clearflow.water-filter";
const AIR: &str = "com.breeze.air-care";

/// The example plugins: (component file name, manifest).
pub(crate) const PLUGINS: &[(&str, &str)] = &[
    ("recipe_service.wasm", include_str!("../../../example-plugins/recipe-service/hearth.toml")),
    ("ingredient_shop.wasm", include_str!("../../../example-plugins/ingredient-shop/hearth.toml")),
    ("water_filter.wasm", include_str!("../../../example-plugins/water-filter/hearth.toml")),
    ("air_care.wasm", include_str!("../../../example-plugins/air-care/hearth.toml")),
];

/// (device id, kind, model, region)
const DEVICES: &[(&str, &str, &str, &str)] = &[
    ("kim-fridge", "fridge", "Family Hub RF85", "KR-11"),
    ("kim-oven", "oven", "Bespoke NV7B", "KR-11"),
    ("kim-purifier", "water-purifier", "Bespoke Purifier WP-500", "KR-11"),
    ("kim-aircon", "air-conditioner", "WindFree AR-9500", "KR-11"),
];

/// What the demo needs: where the built plugins are, and where to keep data.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Directory with the example plugins' `.wasm` files.
    pub plugins: PathBuf,
    /// Data directory; a temporary one when `None`.
    pub data: Option<PathBuf>,
    /// The example-plugins directory whose TypeScript and Python ports replace the Rust
    /// water-filter and air-care (same ids and services, built in their `target/hearth`).
    pub ports: Option<PathBuf>,
}

/// The ports: (the Rust plugin's component file it replaces, project directory).
const PORTS: &[(&str, &str)] = &[("water_filter.wasm", "water-filter-ts"), ("air_care.wasm", "air-care-py")];

/// The demo's key effects.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DemoReport {
    pub notifications: usize,
    pub orders_proposed: usize,
    pub orders_confirmed: usize,
    pub commands: Vec<String>,
    /// (publisher, currency, gross, publisher share, platform share)
    pub statements: Vec<(String, String, u64, u64, u64)>,
}

/// Runs the scripted day, writing the timeline to `out`.
pub async fn run(options: &DemoOptions, out: &mut dyn Write) -> anyhow::Result<DemoReport> {
    let temp;
    let data: &Path = match &options.data {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir()?;
            temp.path()
        }
    };
    let host = Host::open(data, HostConfig::default()).await?;
    let result =
        Day { host: host.clone(), out, report: DemoReport::default(), seen: Seen::default() }.play(options).await;
    host.shutdown().await?;
    result
}

/// Notifications, orders and commands already printed.
#[derive(Default)]
struct Seen {
    notifications: BTreeSet<String>,
    orders: BTreeSet<(String, String)>,
}

struct Day<'a> {
    host: Host,
    out: &'a mut dyn Write,
    report: DemoReport,
    seen: Seen,
}

fn money(minor: u64, currency: &str) -> String {
    match currency {
        // The won has no minor unit in use.
        "KRW" | "JPY" => format!("{minor} {currency}"),
        _ => format!("{}.{:02} {currency}", minor / 100, minor % 100),
    }
}

fn short(plugin: &str) -> &str {
    plugin.rsplit('.').next().unwrap_or(plugin)
}

fn date_text(days_from_today: i64) -> String {
    let date = hearth_host::clock::date_in_days(days_from_today);
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

impl Day<'_> {
    async fn play(mut self, options: &DemoOptions) -> anyhow::Result<DemoReport> {
        writeln!(self.out, "Hearth demo: a day in the Kim household (Seoul)")?;
        writeln!(self.out)?;
        self.install(&options.plugins, options.ports.as_deref()).await?;
        self.set_up_household().await?;

        self.at("07:00", "fridge", "recount: 300 ml whole milk (best before yesterday), 5 eggs")?;
        self.fridge(vec![
            inventory("milk-1", "whole milk", "counted", 300, "millilitres", Some(-1)),
            inventory("eggs-1", "egg", "counted", 5, "pieces", Some(9)),
        ])
        .await?;
        self.at("07:20", "fridge", "breakfast: 2 eggs taken out")?;
        self.fridge(vec![inventory("eggs-2", "egg", "removed", 2, "pieces", None)]).await?;
        self.confirm_offers("07:30", SHOP).await?;

        self.at("08:00", "water purifier", "telemetry: TDS 310 → 95 ppm, carbon filter at 8 %")?;
        let telemetry = json!({"tds_in_ppm": 310, "tds_out_ppm": 95, "litres_total": 1840, "filters": [
            {"name": "sediment", "condition_percent": 62, "change_indication": "ok"},
            {"name": "carbon", "condition_percent": 8, "change_indication": "warning"}]});
        self.send("kim-purifier", vec![event("wp-1", "appliance.water-purifier.telemetry", telemetry)]).await?;
        self.confirm_offers("08:10", WATER).await?;

        self.at(
            "11:30",
            "fridge",
            "groceries in: spinach (best before tomorrow), feta, tomatoes, onions, peppers, butter",
        )?;
        self.fridge(vec![
            inventory("g-1", "spinach", "added", 150, "grams", Some(1)),
            inventory("g-2", "feta", "added", 200, "grams", Some(14)),
            inventory("g-3", "tomato", "added", 500, "grams", Some(5)),
            inventory("g-4", "onion", "added", 3, "pieces", None),
            inventory("g-5", "bell pepper", "added", 2, "pieces", Some(6)),
            inventory("g-6", "butter", "added", 250, "grams", None),
        ])
        .await?;

        self.at("12:00", "app", "recipes.suggest")?;
        let suggestions = self.call("recipes", "suggest", json!({"limit": 3})).await?;
        for (rank, recipe) in suggestions["ready"].as_array().into_iter().flatten().enumerate() {
            let expiring =
                recipe["uses_expiring"].as_array().filter(|items| !items.is_empty()).map_or(String::new(), |items| {
                    let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    format!(", uses the {} before it expires", names.join(" and "))
                });
            writeln!(
                self.out,
                "       ← {}. {} ({} min){expiring}",
                rank + 1,
                recipe["name"].as_str().unwrap_or("?"),
                recipe["minutes"]
            )?;
        }
        self.at("12:05", "app", "recipes.missing-quote for French toast (asks shop.quote)")?;
        let quote = self.call("recipes", "missing-quote", json!({"recipe": "french-toast"})).await?;
        for line in quote["quote"]["lines"].as_array().into_iter().flatten() {
            let currency = quote["quote"]["currency"].as_str().unwrap_or("EUR");
            writeln!(
                self.out,
                "       ← {} × {} = {}",
                line["packs"],
                line["name"].as_str().unwrap_or("?"),
                money(line["line_minor"].as_u64().unwrap_or(0), currency)
            )?;
        }

        self.at("14:00", "air conditioner", "cooling to 22 °C, filter at 9 %")?;
        let air = json!({"temperature_centi_celsius": 2950, "humidity_centi_percent": 6200, "air_quality": "moderate",
            "filter_condition_percent": 9, "cooling_setpoint_centi_celsius": 2200});
        self.send("kim-aircon", vec![event("ac-1", "appliance.air.telemetry", air)]).await?;
        self.fetch_commands("kim-aircon")?;

        self.at("18:00", "oven", "convection bake, 180 °C")?;
        let oven = json!({"state": "running", "mode": "convection-bake", "setpoint_centi_celsius": 18000});
        self.send("kim-oven", vec![event("oven-1", "appliance.oven.state", oven)]).await?;
        self.at("18:25", "oven", "program finished after 25 min")?;
        let finished = json!({"program": "Cooking.Oven.Program.HeatingMode.HotAir", "duration_s": 1500});
        self.send("kim-oven", vec![event("oven-2", "appliance.oven.program-finished", finished)]).await?;
        self.at("18:40", "household", "taps \"Rate it\": 5 stars")?;
        let rate = self.tap_action(RECIPES, json!({"stars": 5})).await?;
        writeln!(self.out, "       ← ratings: {rate}")?;

        self.at("21:10", "water purifier", "fault: leak (E-LK2)")?;
        self.send(
            "kim-purifier",
            vec![event("wp-2", "appliance.water-purifier.fault", json!({"kind": "leak", "detail": "E-LK2"}))],
        )
        .await?;
        self.at("21:12", "household", "taps \"Book a technician\"")?;
        self.tap_action(WATER, json!({})).await?;
        self.show_new().await?;
        self.confirm_offers("21:15", WATER).await?;

        self.statements()?;
        Ok(self.report)
    }

    async fn install(&mut self, dir: &Path, ports: Option<&Path>) -> anyhow::Result<()> {
        writeln!(self.out, "installing plugins")?;
        for (file, manifest) in PLUGINS {
            let port = PORTS.iter().find(|(replaced, _)| replaced == file).zip(ports);
            let (manifest, path): (Manifest, _) = match port {
                Some(((_, project), ports)) => {
                    let project = ports.join(project);
                    let text = std::fs::read_to_string(project.join("hearth.toml"))
                        .with_context(|| format!("reading {}/hearth.toml", project.display()))?;
                    let name = project.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                    (text.parse()?, project.join(format!("target/hearth/{name}.wasm")))
                }
                None => (manifest.parse()?, dir.join(file)),
            };
            let component = std::fs::read(&path).map_err(|error| {
                anyhow::anyhow!(
                    "reading {} ({error}); build the plugins with `cargo xtask plugins` (the ports: `cargo xtask languages`)",
                    path.display()
                )
            })?;
            let loaded = self.host.install(manifest, component).await?;
            let info = &loaded.manifest.plugin;
            writeln!(self.out, "  {:<32} {} by {:<10} {}", info.id, info.version, info.publisher, info.description)?;
        }
        for (publisher, share) in [("example", 7_500), ("freshcart", 7_000), ("clearflow", 8_000), ("breeze", 8_000)] {
            self.host.set_agreement(publisher, share)?;
        }
        writeln!(
            self.out,
            "revenue share (publisher / platform): example 75/25, freshcart 70/30, clearflow 80/20, breeze 80/20"
        )?;
        Ok(())
    }

    async fn set_up_household(&mut self) -> anyhow::Result<()> {
        let host = &self.host;
        host.add_household(HOUSEHOLD)?;
        for (id, kind, model, region) in DEVICES {
            host.add_device(Device {
                id: (*id).into(),
                household: HOUSEHOLD.into(),
                kind: (*kind).into(),
                model: (*model).into(),
                region: (*region).into(),
            })?;
        }
        let kinds = |kinds: &[&str], control: bool| Grant {
            device_kinds: kinds.iter().map(|kind| (*kind).to_owned()).collect(),
            control,
            ..Grant::default()
        };
        host.grant(HOUSEHOLD, RECIPES, &kinds(&["fridge", "oven"], false)).await?;
        host.grant(HOUSEHOLD, SHOP, &kinds(&["fridge"], false)).await?;
        host.grant(HOUSEHOLD, WATER, &kinds(&["water-purifier"], false)).await?;
        host.grant(HOUSEHOLD, AIR, &kinds(&["air-conditioner"], true)).await?;
        writeln!(
            self.out,
            "household: fridge, oven, water purifier, air conditioner; consent: recipes (fridge, oven),"
        )?;
        writeln!(self.out, "  shop (fridge), water filter (purifier), air care (air conditioner, with control)")?;
        writeln!(self.out)?;
        Ok(())
    }

    fn at(&mut self, time: &str, source: &str, what: &str) -> std::io::Result<()> {
        writeln!(self.out, "{time}  {source:<15} {what}")
    }

    async fn fridge(&mut self, events: Vec<Value>) -> anyhow::Result<()> {
        self.send("kim-fridge", events).await
    }

    /// Ingests events from a device, waits until every plugin handled them, prints
    /// what the plugins did.
    async fn send(&mut self, device: &str, events: Vec<Value>) -> anyhow::Result<()> {
        self.host.ingest(device, &serde_json::to_vec(&events)?).await?;
        while self.host.lag()? > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        self.show_new().await
    }

    async fn show_new(&mut self) -> anyhow::Result<()> {
        for notification in self.host.notifications(HOUSEHOLD)? {
            if self.seen.notifications.insert(notification.id.clone()) {
                self.report.notifications += 1;
                writeln!(
                    self.out,
                    "       → {:<16} {:<7} {}: {}",
                    short(&notification.plugin),
                    notification.category,
                    notification.title,
                    notification.body
                )?;
            }
        }
        for order in self.host.orders(HOUSEHOLD)? {
            if self.seen.orders.insert((order.plugin.clone(), order.id.clone())) {
                self.report.orders_proposed += 1;
                let items: Vec<String> =
                    order.items.iter().map(|item| format!("{} × {}", item.quantity, item.name)).collect();
                writeln!(
                    self.out,
                    "       → {:<16} order   {} = {} (waiting for the household)",
                    short(&order.plugin),
                    items.join(", "),
                    money(order.total_minor, &order.currency)
                )?;
            }
        }
        Ok(())
    }

    async fn confirm_offers(&mut self, time: &str, plugin: &str) -> anyhow::Result<()> {
        let offers: Vec<Order> =
            self.host.offers(HOUSEHOLD)?.into_iter().filter(|order| order.plugin == plugin).collect();
        for order in offers {
            self.at(time, "household", &format!("confirms the {} order", short(plugin)))?;
            let entry = self.host.confirm_order(HOUSEHOLD, &order.plugin, &order.id).await?;
            self.report.orders_confirmed += 1;
            writeln!(
                self.out,
                "       ← booked {}: {} {}, platform {}",
                money(entry.gross_minor, &entry.currency),
                entry.publisher,
                money(entry.publisher_minor, &entry.currency),
                money(entry.platform_minor, &entry.currency)
            )?;
        }
        while self.host.lag()? > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        Ok(())
    }

    async fn call(&mut self, service: &str, operation: &str, input: Value) -> anyhow::Result<Value> {
        let caller = Caller::Household(HOUSEHOLD.into());
        let response = self
            .host
            .call_service(service, operation, caller, Some(HOUSEHOLD.into()), serde_json::to_vec(&input)?)
            .await?;
        Ok(serde_json::from_slice(&response.output)?)
    }

    /// The household taps the action of `plugin`'s latest notification; `extra`
    /// fields are merged into the action's input (what the app asked the user).
    async fn tap_action(&mut self, plugin: &str, extra: Value) -> anyhow::Result<Value> {
        let action = self
            .host
            .notifications(HOUSEHOLD)?
            .into_iter()
            .rev()
            .find(|notification| notification.plugin == plugin)
            .and_then(|notification| notification.action)
            .ok_or_else(|| anyhow::anyhow!("{plugin} sent no notification with an action"))?;
        let mut input: Value = serde_json::from_str(&action.input)?;
        if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            input.extend(extra.clone());
        }
        let (service, operation) = action.operation.split_once('.').ok_or_else(|| anyhow::anyhow!("bad action"))?;
        self.call(service, operation, input).await
    }

    fn fetch_commands(&mut self, device: &str) -> anyhow::Result<()> {
        for command in self.host.take_commands(device)? {
            let argument = command
                .argument
                .as_ref()
                .and_then(Value::as_i64)
                .map_or(String::new(), |centi| format!(" {}.{} °C", centi / 100, centi % 100 / 10));
            writeln!(
                self.out,
                "       → {:<16} command {}{argument} (fetched by the air conditioner)",
                short(&command.plugin),
                command.command
            )?;
            self.report.commands.push(format!("{}{argument}", command.command));
        }
        Ok(())
    }

    fn statements(&mut self) -> anyhow::Result<()> {
        let month = hearth_host::commerce::ledger::month_of(hearth_host::clock::now_ms());
        writeln!(self.out)?;
        writeln!(self.out, "statements for {month}")?;
        for publisher in ["example", "freshcart", "clearflow", "breeze"] {
            let Statement { totals, .. } = self.host.statement(publisher, &month)?;
            if totals.is_empty() {
                writeln!(self.out, "  {publisher:<10} no orders")?;
            }
            for (currency, total) in totals {
                writeln!(
                    self.out,
                    "  {publisher:<10} {} order(s), gross {}, publisher {}, platform {}",
                    total.orders,
                    money(total.gross_minor, &currency),
                    money(total.publisher_minor, &currency),
                    money(total.platform_minor, &currency)
                )?;
                self.report.statements.push((
                    publisher.into(),
                    currency,
                    total.gross_minor,
                    total.publisher_minor,
                    total.platform_minor,
                ));
            }
        }
        Ok(())
    }
}

fn inventory(id: &str, item: &str, action: &str, amount: u32, unit: &str, best_before_in_days: Option<i64>) -> Value {
    let mut body = json!({"item": item, "action": action, "quantity": {"amount": amount, "unit": unit}});
    if let Some(days) = best_before_in_days {
        body["best_before"] = date_text(days).into();
    }
    event(id, "appliance.fridge.inventory", body)
}

fn event(id: &str, topic: &str, body: Value) -> Value {
    json!({"id": format!("demo-{id}"), "topic": topic, "body": body})
}
