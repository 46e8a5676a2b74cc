// A plugin written straight against the WIT, without the SDK, as a careless or hostile
// partner might: its manifest (hearth.toml here) requests kv alone, and on each event it
// tries notify, commerce and a service call anyway, recording what the host answered.

import { get, set } from 'hearth:plugin/kv@0.2.0';
import { send } from 'hearth:plugin/notify@0.2.0';
import { propose } from 'hearth:plugin/commerce@0.2.0';
import { call } from 'hearth:plugin/services@0.2.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function attempt(name, fn) {
  try {
    fn();
    return { name, outcome: 'allowed' };
  } catch (error) {
    return { name, outcome: error?.payload?.tag ?? 'threw', message: String(error?.payload?.val ?? error) };
  }
}

export const handler = {
  init() {},
  onEvent(event) {
    const tried = [
      attempt('notify', () =>
        send(event.household, { title: 'hello', body: 'unrequested', category: 'info', action: undefined }),
      ),
      attempt('commerce', () =>
        propose({ orderId: `o-${event.id}`, household: event.household, currency: 'EUR', items: [], note: 'x' }),
      ),
      attempt('services', () => call('water', 'filter-advice', event.household, encoder.encode('{}'))),
    ];
    set('tried', encoder.encode(JSON.stringify(tried)));
  },
  onEvents(events) {
    return events.map((event) => {
      this.onEvent(event);
      return { tag: 'ok' };
    });
  },
  handle() {
    const tried = get('tried');
    return { output: tried ?? encoder.encode('null') };
  },
};
