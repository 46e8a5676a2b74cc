/**
 * Water filter service, in TypeScript: from purifier telemetry it computes the
 * rejection rate (tds-in − tds-out) / tds-in; below 75 %, a filter at ≤ 10 %, or a
 * critical change indication, it recommends the filter suited to the household's
 * regional water, proposes the order and notifies. A leak or TDS anomaly gets an urgent
 * notification with a technician visit to book (`water.book-visit`).
 */

import {
  type Event,
  type FilterStatus,
  type PurifierFault,
  type PurifierTelemetry,
  PluginError,
  type ServiceRequest,
  commerce,
  definePlugin,
  devices,
  kv,
  notify,
} from '@hearth/sdk';
import { money, needsFilter, regionalOffer, rejectionPercent } from './water.js';

/** The latest assessment of a household's purifier, for `filter-advice`. */
interface Status {
  rejectionPercent?: number;
  filters: [string, number][];
  recommendation?: string;
  /** Day the last offer was made, per filter. */
  offered: Record<string, number>;
}

const today = (): number => Math.floor(Date.now() / 86_400_000);

function onTelemetry(event: Event, device: string, telemetry: PurifierTelemetry): void {
  const key = kv.householdKey(event.household, 'purifier');
  const status: Status = kv.get<Status>(key) ?? { filters: [], offered: {} };
  status.rejectionPercent = rejectionPercent(telemetry);
  status.filters = telemetry.filters.map((filter: FilterStatus) => [filter.name, filter.conditionPercent]);
  status.recommendation = undefined;
  const needed = needsFilter(telemetry);
  if (needed) {
    const { filter, reason } = needed;
    const offer = regionalOffer(devices.describe(device).region);
    const name = `ClearFlow ${filter.name} filter for ${offer.water}`;
    status.recommendation = `${name}: ${reason}`;
    const day = today();
    // One offer per filter a week, however often the purifier reports.
    const last = status.offered[filter.name];
    if (last === undefined || day - last >= 7) {
      commerce.propose({
        orderId: `filter-${device}-${filter.name}-${day}`,
        household: event.household,
        currency: offer.currency,
        items: [
          {
            sku: `${offer.skuPrefix}-${filter.name.toUpperCase()}`,
            name,
            quantity: 1,
            unitPriceMinor: offer.filterPriceMinor,
          },
        ],
        note: `Your purifier says ${reason}.`,
      });
      notify.send(event.household, {
        title: 'Time for a new water filter',
        body: `Your purifier says ${reason}. ${name}: ${money(offer.filterPriceMinor, offer.currency)}.`,
        category: 'alert',
      });
      status.offered[filter.name] = day;
    }
  }
  kv.set(key, status);
}

function onFault(event: Event, device: string, fault: PurifierFault): void {
  const what =
    fault.kind === 'leak' ? 'a leak' : fault.kind === 'tds-anomaly' ? 'unusual dissolved solids in the purified water' : undefined;
  if (what === undefined) return;
  notify.send(event.household, {
    title: 'Water purifier needs attention',
    body: `Your purifier detected ${what} (${fault.detail}). Stop using the purified water and book a technician.`,
    category: 'urgent',
    action: { label: 'Book a technician', operation: 'water.book-visit', input: { device, reason: what } },
  });
}

export const handler = definePlugin({
  onEvent(event: Event) {
    const device = event.device;
    if (device === undefined) return;
    if (event.body.tag === 'purifier-telemetry') onTelemetry(event, device, event.body.val);
    else if (event.body.tag === 'purifier-fault') onFault(event, device, event.body.val);
  },

  handle(request: ServiceRequest) {
    const household = request.requireHousehold();
    switch (request.operation) {
      case 'filter-advice': {
        const status = kv.get<Status>(kv.householdKey(household, 'purifier'));
        if (status === undefined) throw PluginError.notFound('no purifier readings yet');
        return {
          rejection_percent: status.rejectionPercent ?? null,
          filters: status.filters,
          recommendation: status.recommendation ?? null,
        };
      }
      case 'book-visit': {
        const visit = request.json<{ device?: unknown; reason?: unknown }>();
        if (typeof visit.device !== 'string' || typeof visit.reason !== 'string') {
          throw PluginError.invalidInput('book-visit takes {"device": string, "reason": string}');
        }
        const offer = regionalOffer(devices.describe(visit.device).region);
        const orderId = `visit-${visit.device}-${today()}`;
        commerce.propose({
          orderId,
          household,
          currency: offer.currency,
          items: [{ sku: 'CF-VISIT', name: 'Technician visit', quantity: 1, unitPriceMinor: offer.visitPriceMinor }],
          note: `Follow-up of ${visit.reason}.`,
        });
        return { order_id: orderId };
      }
      default:
        throw PluginError.notFound(`no operation water.${request.operation}`);
    }
  },
});
