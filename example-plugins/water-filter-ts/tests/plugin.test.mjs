// The TypeScript water-filter plugin in a real host: `hearth plugin test` (or, with
// HEARTH_BIN set, `npm test`).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestHost, events } from '@hearth/sdk/testing';

const project = fileURLToPath(new URL('..', import.meta.url));
let host;
let plugin;

before(async () => {
  host = await TestHost.start();
  plugin = await host.installProject(project);
  await host.addDevice('purifier-1', 'water-purifier');
});
after(() => host?.stop());

test('a worn filter gets a regional offer, a leak an urgent notice with a visit to book', async () => {
  await host.send('purifier-1', events.purifierTelemetry(180, 12, 'ro', 80, 'ok'));
  assert.deepEqual(await host.offers(), [], 'a healthy filter needs nothing');
  const advice = await host.call('water', 'filter-advice');
  assert.equal(advice.rejection_percent, 93);
  assert.equal(advice.recommendation, null);

  await host.send('purifier-1', events.purifierTelemetry(180, 12, 'ro', 3, 'critical'));
  const offers = await host.offers();
  assert.equal(offers.length, 1);
  assert.equal(offers[0].currency, 'EUR', 'the test device is in DE');
  assert.equal(offers[0].items[0].sku, 'CF-DE-SCALE-RO');
  assert.equal(offers[0].items[0].unit_price_minor, 3990);

  await host.send('purifier-1', events.purifierFault('leak', 'under the sink'));
  const urgent = (await host.notifications()).filter((n) => n.category === 'urgent');
  assert.equal(urgent.length, 1);
  assert.equal(urgent[0].action.operation, 'water.book-visit');

  // The notification's button, as the household's app would press it: its input is JSON text.
  const booked = await host.call('water', 'book-visit', JSON.parse(urgent[0].action.input));
  assert.match(booked.order_id, /^visit-/);
  assert.equal((await host.offers()).length, 2);
  assert.deepEqual(await host.deadLetters(plugin), []);
});

test('bad input is the caller\'s error, and a household without readings gets not-found', async () => {
  await host.addHousehold('household-2');
  await assert.rejects(host.call('water', 'filter-advice', {}, 'household-2'), (error) => {
    assert.equal(error.status, 404, error.message);
    assert.match(error.message, /no purifier readings yet/);
    return true;
  });
  await assert.rejects(host.call('water', 'book-visit', { device: 7 }), (error) => {
    assert.equal(error.status, 422, error.message);
    assert.match(error.message, /book-visit takes/);
    return true;
  });
});

test('a component written against the WIT without the SDK, with a kv-only manifest, is refused everything else', async () => {
  // Built with the project's own componentize-js against the WIT `hearth plugin build` wrote.
  const raw = fileURLToPath(new URL('raw/', import.meta.url));
  const component = `${project}target/hearth/raw-js.wasm`;
  execFileSync(`${project}node_modules/.bin/componentize-js`, [
    `${raw}plugin.js`, '--wit', `${project}target/hearth/wit`, '--world-name', 'partner-plugin', '--out', component,
  ]);
  const rawPlugin = await host.install(`${raw}hearth.toml`, component);
  await host.addDevice('purifier-raw', 'water-purifier');
  const before = (await host.notifications()).length;
  await host.send('purifier-raw', events.purifierTelemetry(180, 12, 'ro', 3, 'critical'));

  const tried = await host.call('raw-js', 'tried');
  const byName = Object.fromEntries(tried.map((t) => [t.name, t]));
  assert.equal(byName.notify.outcome, 'not-granted');
  assert.match(byName.notify.message, /\[capabilities\] notify = true/);
  assert.equal(byName.commerce.outcome, 'not-granted');
  assert.match(byName.commerce.message, /\[capabilities\] commerce = true/);
  assert.equal(byName.services.outcome, 'not-allowed');
  assert.match(byName.services.message, /calls = \["water.filter-advice"\]/);
  assert.equal((await host.status(rawPlugin)).calls_not_granted, 3);
  assert.equal((await host.notifications()).length, before, 'nothing reached the household');
  assert.ok(!(await host.offers()).some((offer) => offer.plugin === rawPlugin), 'no offer from the kv-only plugin');
});
