//! The reads an app makes on every refresh — a household's devices and its offers —
//! in a fleet-sized embedded store: through the per-household indexes, against
//! scanning the whole bucket and keeping the household's records, as the host did
//! before the indexes existed. Both measured here, in one run.

use hearth_host::commerce::orders::{Order, OrderStatus, Orders};
use hearth_host::households::{Device, Households};
use hearth_host::storage::{Storage as _, decode_json, sled::SledStorage};
use std::time::{Duration, Instant};

const HOUSEHOLDS: usize = 20_000;
const DEVICES_EACH: usize = 4;
const ORDERS_EACH: usize = 3;

fn offer(household: &str, n: usize) -> Order {
    Order {
        id: format!("{household}-o{n}"),
        plugin: "com.freshcart.ingredient-shop".into(),
        publisher: "freshcart".into(),
        household: household.into(),
        currency: "EUR".into(),
        items: vec![],
        note: "restock".into(),
        total_minor: 129,
        status: if n == 0 { OrderStatus::Pending } else { OrderStatus::Confirmed },
        proposed_ms: n as u64,
        decided_ms: None,
    }
}

/// Mean time of `read` over `rounds` households spread over the fleet.
fn mean(rounds: usize, mut read: impl FnMut(&str) -> anyhow::Result<usize>, each: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for round in 0..rounds {
        let household = format!("h{}", round * 7_919 % HOUSEHOLDS);
        let found = read(&household)?;
        anyhow::ensure!(found == each, "{household}: {found} records, expected {each}");
    }
    Ok(started.elapsed() / rounds as u32)
}

pub fn household_reads() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let storage = SledStorage::open(dir.path())?;
    let households = Households::open(&storage)?;
    let orders = Orders::open(&storage)?;
    for h in 0..HOUSEHOLDS {
        let household = format!("h{h}");
        households.add_household(&household)?;
        for d in 0..DEVICES_EACH {
            let id = format!("{household}-d{d}");
            let device = Device {
                id,
                household: household.clone(),
                kind: "fridge".into(),
                model: "m".into(),
                region: "DE".into(),
            };
            households.add_device(device)?;
        }
        for n in 0..ORDERS_EACH {
            orders.put(&offer(&household, n))?;
        }
    }
    let (devices, all_orders) = (storage.bucket("devices")?, storage.bucket("orders")?);
    let indexed_devices = mean(500, |household| Ok(households.devices_of(household)?.len()), DEVICES_EACH)?;
    let scanned_devices = mean(
        10,
        |household| {
            let mut found = 0;
            for (_, entry) in devices.scan(b"")? {
                found += usize::from(decode_json::<Device>(&entry.value)?.household == household);
            }
            Ok(found)
        },
        DEVICES_EACH,
    )?;
    let indexed_offers =
        mean(500, |household| Ok(orders.of_household(household, Some(OrderStatus::Pending))?.len()), 1)?;
    let scanned_offers = mean(
        10,
        |household| {
            let mut found = 0;
            for (_, entry) in all_orders.scan(b"")? {
                let order: Order = decode_json(&entry.value)?;
                found += usize::from(order.household == household && order.status == OrderStatus::Pending);
            }
            Ok(found)
        },
        1,
    )?;
    println!(
        "household reads: {HOUSEHOLDS} households, {} devices, {} orders (sled)",
        HOUSEHOLDS * DEVICES_EACH,
        HOUSEHOLDS * ORDERS_EACH
    );
    for (what, indexed, scanned) in [
        ("a household's devices", indexed_devices, scanned_devices),
        ("its pending offers", indexed_offers, scanned_offers),
    ] {
        println!(
            "  {what}: indexed {indexed:?}, scanning the bucket {scanned:?} ({:.0}×)",
            scanned.as_secs_f64() / indexed.as_secs_f64()
        );
    }
    Ok(())
}
