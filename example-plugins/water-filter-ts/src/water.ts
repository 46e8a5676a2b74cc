// The plugin's rules, free of host calls so that they are tested in plain Node.js.

import type { FilterStatus, PurifierTelemetry } from '@hearth/sdk';

/** Below this rejection rate the membrane no longer does its job. */
export const MIN_REJECTION_PERCENT = 75;
const LOW_CONDITION_PERCENT = 10;

/** What a region's tap water needs, and what the shop charges there. */
export interface RegionalOffer {
  water: string;
  skuPrefix: string;
  currency: string;
  filterPriceMinor: number;
  visitPriceMinor: number;
}

const REGIONS: Record<string, RegionalOffer> = {
  KR: { water: 'soft, low-mineral water', skuPrefix: 'CF-KR', currency: 'KRW', filterPriceMinor: 39_000, visitPriceMinor: 30_000 },
  DE: { water: 'hard, calcium-rich water', skuPrefix: 'CF-DE-SCALE', currency: 'EUR', filterPriceMinor: 3_990, visitPriceMinor: 4_900 },
  GB: { water: 'hard water', skuPrefix: 'CF-GB-SCALE', currency: 'GBP', filterPriceMinor: 3_490, visitPriceMinor: 4_500 },
  US: { water: 'chlorinated municipal water', skuPrefix: 'CF-US-CL', currency: 'USD', filterPriceMinor: 4_299, visitPriceMinor: 5_900 },
};

export const DEFAULT_OFFER: RegionalOffer = {
  water: 'tap water',
  skuPrefix: 'CF-STD',
  currency: 'EUR',
  filterPriceMinor: 3_490,
  visitPriceMinor: 4_900,
};

/** The offer for a region code like `KR-11` or `DE`. */
export function regionalOffer(region: string): RegionalOffer {
  return REGIONS[region.split('-')[0] ?? ''] ?? DEFAULT_OFFER;
}

/** Rejection rate in whole percent; undefined without incoming TDS to compare. */
export function rejectionPercent(telemetry: PurifierTelemetry): number | undefined {
  const tdsIn = telemetry.tdsInPpm;
  if (tdsIn <= 0) return undefined;
  return Math.floor((Math.max(tdsIn - telemetry.tdsOutPpm, 0) * 100) / tdsIn);
}

/** The filter to replace and why, if one must be. */
export function needsFilter(telemetry: PurifierTelemetry): { filter: FilterStatus; reason: string } | undefined {
  const critical = telemetry.filters.find((filter) => filter.changeIndication === 'critical');
  if (critical) return { filter: critical, reason: `the ${critical.name} filter reports it must be changed` };
  const worst = [...telemetry.filters].sort((a, b) => a.conditionPercent - b.conditionPercent)[0];
  if (worst === undefined) return undefined;
  if (worst.conditionPercent <= LOW_CONDITION_PERCENT) {
    return { filter: worst, reason: `the ${worst.name} filter is at ${worst.conditionPercent} %` };
  }
  const rejection = rejectionPercent(telemetry);
  if (rejection !== undefined && rejection < MIN_REJECTION_PERCENT) {
    return { filter: worst, reason: `it removes only ${rejection} % of dissolved solids (below ${MIN_REJECTION_PERCENT} %)` };
  }
  return undefined;
}

export function money(minor: number, currency: string): string {
  if (currency === 'KRW') return `${minor} ${currency}`;
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')} ${currency}`;
}
