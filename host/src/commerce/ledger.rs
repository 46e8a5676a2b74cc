//! The revenue-share ledger: confirmed orders split between publisher and platform.
//!
//! Split rule (exact integer arithmetic, per order): the platform's share is
//! `gross × platform_bp / 10 000`, rounded down; the publisher gets the rest, so any
//! fraction of a minor unit goes to the publisher and every entry sums to its gross.
//! `platform_bp = 10 000 − publisher_bp` from the operator's agreement with the
//! publisher. Statements sum entries per publisher, month (UTC) and currency, and so
//! reconcile to the minor unit.

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage, StorageError, decode_json, encode_json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Basis points of a whole (100 % = 10 000).
pub const WHOLE_BP: u32 = 10_000;

/// The publisher's share of gross when the operator set no agreement.
pub const DEFAULT_PUBLISHER_BP: u32 = 7_000;

/// (publisher share, platform share) of `gross` minor units.
pub fn split(gross: u64, publisher_bp: u32) -> (u64, u64) {
    let platform_bp = u128::from(WHOLE_BP.saturating_sub(publisher_bp.min(WHOLE_BP)));
    let platform = (u128::from(gross) * platform_bp / u128::from(WHOLE_BP)) as u64;
    (gross - platform, platform)
}

/// One confirmed order in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    /// `plugin/order-id`.
    pub order: String,
    /// Who is paid the publisher share.
    pub publisher: String,
    /// The plugin that proposed the order.
    pub plugin: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The order total, in minor units.
    pub gross_minor: u64,
    /// The publisher's share, in minor units.
    pub publisher_minor: u64,
    /// The platform's share, in minor units.
    pub platform_minor: u64,
    /// The publisher's share of gross when booked, in basis points.
    pub publisher_bp: u32,
    /// `YYYY-MM`, UTC, of the confirmation.
    pub month: String,
    /// When the order was confirmed, ms since the epoch.
    pub time_ms: u64,
}

/// Totals of one currency in a statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct CurrencyTotals {
    /// Orders booked.
    pub orders: u64,
    /// Their gross, in minor units.
    pub gross_minor: u64,
    /// The publisher's part.
    pub publisher_minor: u64,
    /// The platform's part.
    pub platform_minor: u64,
}

/// A publisher's statement for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Statement {
    /// The publisher.
    pub publisher: String,
    /// `YYYY-MM`, UTC.
    pub month: String,
    /// By currency code.
    pub totals: BTreeMap<String, CurrencyTotals>,
    /// Every entry of the month, in key order.
    pub entries: Vec<LedgerEntry>,
}

/// The ledger: the `ledger` bucket (keys `publisher \0 month \0 order`) and the
/// operator's agreements.
#[derive(Clone)]
pub struct Ledger {
    entries: Arc<dyn Bucket>,
    agreements: Arc<dyn Bucket>,
}

fn entry_key(publisher: &str, month: &str, order: &str) -> Vec<u8> {
    [publisher.as_bytes(), &[0], month.as_bytes(), &[0], order.as_bytes()].concat()
}

impl Ledger {
    /// Opens the buckets.
    pub fn open(storage: &dyn Storage) -> Result<Self, HostError> {
        Ok(Ledger { entries: storage.bucket("ledger")?, agreements: storage.bucket("agreements")? })
    }

    /// Sets the publisher's share, in basis points of gross.
    pub fn set_agreement(&self, publisher: &str, publisher_bp: u32) -> Result<(), HostError> {
        if publisher_bp > WHOLE_BP {
            return Err(HostError::InvalidInput(format!(
                "a share is 0 to {WHOLE_BP} basis points, got {publisher_bp}"
            )));
        }
        self.agreements.put(publisher.as_bytes(), &publisher_bp.to_be_bytes())?;
        Ok(())
    }

    /// The publisher's share, in basis points of gross.
    pub fn agreement(&self, publisher: &str) -> Result<u32, HostError> {
        match self.agreements.value(publisher.as_bytes())? {
            Some(bytes) => <[u8; 4]>::try_from(bytes.as_slice())
                .map(u32::from_be_bytes)
                .map_err(|_| HostError::Corrupt("agreement".into())),
            None => Ok(DEFAULT_PUBLISHER_BP),
        }
    }

    /// Every agreement: publisher and share of gross in basis points, by publisher.
    pub fn agreements(&self) -> Result<Vec<(String, u32)>, HostError> {
        let mut agreements = Vec::new();
        for (key, entry) in self.agreements.scan(b"")? {
            let share = <[u8; 4]>::try_from(entry.value.as_slice())
                .map(u32::from_be_bytes)
                .map_err(|_| HostError::Corrupt("agreement".into()))?;
            agreements.push((String::from_utf8_lossy(&key).into_owned(), share));
        }
        agreements.sort();
        Ok(agreements)
    }

    /// Books a confirmed order (once: booking the same order again returns the first entry).
    pub fn book(
        &self,
        order: &str,
        publisher: &str,
        plugin: &str,
        currency: &str,
        gross: u64,
        time_ms: u64,
    ) -> Result<LedgerEntry, HostError> {
        let month = month_of(time_ms);
        let key = entry_key(publisher, &month, order);
        if let Some(existing) = self.entries.get_json(&key)? {
            return Ok(existing);
        }
        let publisher_bp = self.agreement(publisher)?;
        let (publisher_minor, platform_minor) = split(gross, publisher_bp);
        let entry = LedgerEntry {
            order: order.to_owned(),
            publisher: publisher.to_owned(),
            plugin: plugin.to_owned(),
            currency: currency.to_owned(),
            gross_minor: gross,
            publisher_minor,
            platform_minor,
            publisher_bp,
            month,
            time_ms,
        };
        // Created only if absent: two confirmations at the same moment book one entry,
        // and both answer with it.
        match self.entries.create(&key, &encode_json(&entry)?) {
            Ok(_) => Ok(entry),
            Err(StorageError::Conflict) => {
                self.entries.get_json(&key)?.ok_or_else(|| HostError::Corrupt(format!("ledger entry of {order}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The publisher's statement for `month` (`YYYY-MM`).
    pub fn statement(&self, publisher: &str, month: &str) -> Result<Statement, HostError> {
        let prefix = [publisher.as_bytes(), &[0], month.as_bytes(), &[0]].concat();
        let mut statement = Statement {
            publisher: publisher.to_owned(),
            month: month.to_owned(),
            totals: BTreeMap::new(),
            entries: Vec::new(),
        };
        for (_, stored) in self.entries.scan(&prefix)? {
            let entry: LedgerEntry = decode_json(&stored.value)?;
            let totals = statement.totals.entry(entry.currency.clone()).or_default();
            totals.orders += 1;
            totals.gross_minor += entry.gross_minor;
            totals.publisher_minor += entry.publisher_minor;
            totals.platform_minor += entry.platform_minor;
            statement.entries.push(entry);
        }
        Ok(statement)
    }
}

/// `YYYY-MM` (UTC) of a time in ms since the epoch.
pub fn month_of(time_ms: u64) -> String {
    let date = crate::clock::civil_date((time_ms / 86_400_000) as i64);
    format!("{:04}-{:02}", date.year, date.month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_exact_and_the_remainder_goes_to_the_publisher() {
        assert_eq!(split(10_000, 7_000), (7_000, 3_000));
        // 999 × 30 % = 299.7: the platform gets 299, the publisher the other 700.
        assert_eq!(split(999, 7_000), (700, 299));
        assert_eq!(split(1, 7_000), (1, 0));
        assert_eq!(split(0, 7_000), (0, 0));
        assert_eq!(split(12_345, 10_000), (12_345, 0));
        assert_eq!(split(12_345, 0), (0, 12_345));
        assert_eq!(split(u64::MAX, 8_500).0 + split(u64::MAX, 8_500).1, u64::MAX);
        for gross in [1, 3, 7, 99, 101, 1_001, 65_537, 9_999_999] {
            for bp in [0, 1, 3_333, 6_667, 7_000, 9_999, 10_000] {
                let (publisher, platform) = split(gross, bp);
                assert_eq!(publisher + platform, gross);
                assert_eq!(platform, gross * u64::from(WHOLE_BP - bp) / 10_000);
            }
        }
    }

    #[test]
    fn statements_reconcile_over_many_orders_and_booking_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
        let ledger = Ledger::open(&storage).unwrap();
        ledger.set_agreement("acme", 8_250).unwrap();
        assert!(ledger.set_agreement("acme", 10_001).is_err());
        let november = 1_795_000_000_000; // 2026-11-18
        let mut gross_total = 0;
        for n in 0..500u64 {
            let gross = 1 + n * 37 % 9_973;
            gross_total += gross;
            ledger.book(&format!("shop/o{n}"), "acme", "shop", "EUR", gross, november).unwrap();
        }
        ledger.book("shop/o0", "acme", "shop", "EUR", 999_999, november).unwrap();
        ledger.book("shop/k1", "acme", "shop", "KRW", 15_000, november).unwrap();
        ledger.book("other/x", "globex", "other", "EUR", 5_000, november).unwrap();

        let statement = ledger.statement("acme", &month_of(november)).unwrap();
        assert_eq!(statement.month, "2026-11");
        let eur = &statement.totals["EUR"];
        assert_eq!(eur.orders, 500, "booking an order twice books it once");
        assert_eq!(eur.gross_minor, gross_total);
        assert_eq!(eur.publisher_minor + eur.platform_minor, eur.gross_minor);
        let summed: u64 = statement.entries.iter().filter(|e| e.currency == "EUR").map(|e| e.platform_minor).sum();
        assert_eq!(summed, eur.platform_minor);
        assert_eq!(statement.totals["KRW"].gross_minor, 15_000);
        assert!(statement.entries.iter().all(|entry| entry.publisher == "acme"), "no other publisher's entries");
        assert!(ledger.statement("acme", "2026-10").unwrap().entries.is_empty());
    }
}
