// The plugin in a real host: `hearth plugin test`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TestHost, events } from '@hearth/sdk/testing';

test('counts fridge openings per household', async () => {
  const host = await TestHost.start();
  try {
    await host.installProject(fileURLToPath(new URL('..', import.meta.url)));
    await host.addDevice('fridge-1', 'fridge');
    await host.send('fridge-1', [events.fridgeDoor('open'), events.fridgeDoor('closed'), events.fridgeDoor('open')]);
    const stats = await host.call('{{name}}', 'stats');
    assert.equal(stats.fridge_opens, 2);
  } finally {
    await host.stop();
  }
});
