/**
 * {{name}}: counts how often each household opens its fridge, and answers
 * `{{name}}.stats` with the count for the calling household.
 */

import { type Event, PluginError, type ServiceRequest, definePlugin, kv } from '@hearth/sdk';

export const handler = definePlugin({
  onEvent(event: Event) {
    if (event.body.tag === 'fridge-door' && event.body.val === 'open') {
      // Keyed under the household: erased with it when it leaves.
      const key = kv.householdKey(event.household, 'opens');
      kv.set(key, (kv.get<number>(key) ?? 0) + 1);
    }
  },

  handle(request: ServiceRequest) {
    if (request.operation !== 'stats') {
      throw PluginError.notFound(`no operation ${request.service}.${request.operation}`);
    }
    const household = request.requireHousehold();
    return { fridge_opens: kv.get<number>(kv.householdKey(household, 'opens')) ?? 0 };
  },
});
