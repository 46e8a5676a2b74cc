// Test a Hearth plugin against a real host, from `node --test`: `TestHost.start()` runs
// `hearth serve` on a loopback port with a temporary data directory, builds and
// installs the plugin with `hearth plugin build`, and drives it over the HTTP API with
// appliance events and service calls. The host is `$HEARTH_BIN` (set by `hearth
// plugin test`), else `hearth` on the PATH.
//
// Plain JavaScript with declarations beside it (index.d.ts): it runs in Node.js,
// outside the component, so it needs no build step.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';

/** The household a test host starts with. */
export const HOUSEHOLD = 'household-1';

const DELIVERY_TIMEOUT_MS = 30_000;

/** An API refusal: HTTP status, the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function binary() {
  return process.env.HEARTH_BIN || 'hearth';
}

export class TestHost {
  #child;
  #data;
  #url;
  #operator;
  #plugins = [];
  /** @type {{id: string, token: string, kinds: string[]}[]} */
  #households = [];
  /** @type {Map<string, string>} */
  #devices = new Map();

  /** Starts a host with a fresh database and quick retries, and the household HOUSEHOLD. */
  static async start() {
    const host = new TestHost();
    host.#data = mkdtempSync(join(tmpdir(), 'hearth-test-'));
    host.#operator = `hth_test_${randomBytes(16).toString('hex')}`;
    const args = ['serve', '--listen', '127.0.0.1:0', '--dev-allow-unsigned-packages'];
    args.push('--retry-backoff-ms', '1', '--retry-backoff-max-ms', '5', '--data', host.#data);
    host.#child = spawn(binary(), args, {
      env: { ...process.env, HEARTH_OPERATOR_TOKEN: host.#operator, RUST_LOG: 'error' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const started = new Promise((resolve, reject) => {
      host.#child.once('error', (error) =>
        reject(new Error(`cannot run ${binary()}: ${error.message}; run the tests with \`hearth plugin test\` or set HEARTH_BIN`)),
      );
      host.#child.once('exit', (code) => reject(new Error(`${binary()} serve exited (${code}) before listening`)));
      const lines = createInterface({ input: host.#child.stdout });
      lines.once('line', (line) => {
        const address = line.trim().replace(/^hearth listening on /, '');
        if (address === line.trim()) reject(new Error(`${binary()} did not start: ${line}`));
        else resolve(address);
      });
    });
    host.#url = await started;
    await host.addHousehold(HOUSEHOLD);
    return host;
  }

  /** The host's API address and operator token, for anything this helper does not wrap. */
  get url() {
    return this.#url;
  }
  get operatorToken() {
    return this.#operator;
  }

  /** Stops the host and deletes its data. */
  async stop() {
    if (this.#child.exitCode === null) {
      const exited = new Promise((resolve) => this.#child.once('exit', resolve));
      this.#child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.#data, { recursive: true, force: true });
  }

  async #request(method, path, token, body, contentType = 'application/json') {
    const response = await fetch(`${this.#url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body instanceof FormData ? {} : { 'content-type': contentType }) },
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let value = null;
    try {
      value = text === '' ? null : JSON.parse(text);
    } catch {}
    if (response.status >= 400) {
      throw new ApiError(response.status, value?.error?.code ?? 'error', value?.error?.message ?? text);
    }
    return { status: response.status, value, text };
  }

  async #operatorCall(method, path, body) {
    return (await this.#request(method, path, this.#operator, body)).value;
  }

  async #token(role, scope) {
    return (await this.#operatorCall('POST', '/v1/tokens', { role, scope })).token;
  }

  async #grantEverything() {
    for (const household of this.#households) {
      for (const plugin of this.#plugins) {
        const grant = { device_kinds: household.kinds, devices: [], control: true };
        await this.#request('PUT', `/v1/me/grants/${plugin}`, household.token, grant);
      }
    }
  }

  /** Adds another household, consenting to every installed plugin. */
  async addHousehold(id) {
    await this.#operatorCall('POST', '/v1/households', { id });
    this.#households.push({ id, token: await this.#token('user', id), kinds: [] });
    await this.#grantEverything();
  }

  /** Adds an appliance (region DE) to `household`; every installed plugin may see it and command it. */
  async addDevice(id, kind, household = HOUSEHOLD) {
    await this.#operatorCall('POST', '/v1/devices', { id, household, kind, model: 'test-model', region: 'DE' });
    this.#devices.set(id, await this.#token('device', id));
    const known = this.#households.find((h) => h.id === household);
    if (known && !known.kinds.includes(kind)) known.kinds.push(kind);
    await this.#grantEverything();
  }

  /** Builds the plugin project in `dir` with `hearth plugin build` and installs it with its hearth.toml. */
  async installProject(dir) {
    const component = await new Promise((resolve, reject) => {
      execFile(binary(), ['plugin', 'build', '--path', dir], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`building ${dir} failed:\n${stderr}`));
        else resolve(stdout.trim().split('\n').pop());
      });
    });
    return this.install(join(dir, 'hearth.toml'), component);
  }

  /** Installs a built component with its manifest (unsigned); returns the plugin id. */
  async install(manifestPath, componentPath) {
    const form = new FormData();
    form.append('manifest', readFileSync(manifestPath, 'utf8'));
    form.append('component', new Blob([readFileSync(componentPath)], { type: 'application/wasm' }), 'plugin.wasm');
    const { value } = await this.#request('POST', '/v1/plugins', this.#operator, form);
    await this.#operatorCall('PUT', `/v1/plugins/${value.id}/log-level`, { level: 'debug' });
    this.#plugins.push(value.id);
    await this.#grantEverything();
    return value.id;
  }

  /** Sends events as `device` and waits until every plugin has handled (or dead-lettered) them. */
  async send(device, events) {
    const token = this.#devices.get(device);
    if (token === undefined) throw new Error(`no device ${device}: add it with addDevice`);
    const list = (Array.isArray(events) ? events : [events]).map(({ id, topic, body }) =>
      id === undefined ? { topic, body } : { id, topic, body },
    );
    await this.#request('POST', '/v1/events', token, list);
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    for (const plugin of this.#plugins) {
      for (;;) {
        const status = (await this.#operatorCall('GET', `/v1/plugins/${plugin}`)).status;
        if ((status.lag ?? 0) === 0) break;
        if (Date.now() > deadline) throw new Error(`${plugin} did not handle the events in time: ${JSON.stringify(status)}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  }

  #household(id) {
    const known = this.#households.find((h) => h.id === id);
    if (!known) throw new Error(`no household ${id}: add it with addHousehold`);
    return known.token;
  }

  /** Calls `service.operation` as `household` would; returns the JSON answer. */
  async call(service, operation, input = {}, household = HOUSEHOLD) {
    const path = `/v1/services/${service}/${operation}`;
    return (await this.#request('POST', path, this.#household(household), input)).value;
  }

  /** Notifications `household` received, oldest first. */
  async notifications(household = HOUSEHOLD) {
    return (await this.#request('GET', '/v1/me/notifications', this.#household(household))).value.notifications;
  }

  /** Orders proposed to `household` and not yet answered. */
  async offers(household = HOUSEHOLD) {
    return (await this.#request('GET', '/v1/me/offers', this.#household(household))).value.offers;
  }

  /** Takes the commands queued for `device`, as the appliance would. */
  async takeCommands(device) {
    return (await this.#request('GET', '/v1/commands', this.#devices.get(device))).value.commands;
  }

  /** One kv value of the plugin decoded from JSON (`undefined`: absent); `household` for household keys. */
  async kv(plugin, key, household) {
    const query = new URLSearchParams({ key, ...(household ? { household } : {}) });
    try {
      return JSON.parse((await this.#request('GET', `/v1/plugins/${plugin}/kv/value?${query}`, this.#operator)).text);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.message.includes('has no key')) return undefined;
      throw error;
    }
  }

  /** Events the plugin failed on after every retry. */
  async deadLetters(plugin) {
    return (await this.#operatorCall('GET', `/v1/plugins/${plugin}/dead-letters`)).dead_letters;
  }

  /** The plugin's log, oldest first (lines take up to 250 ms to appear). */
  async logs(plugin) {
    return (await this.#operatorCall('GET', `/v1/plugins/${plugin}/logs?limit=1000`)).lines;
  }

  /** The plugin's status (delivered, failed, lag, calls_not_granted, …). */
  async status(plugin) {
    return (await this.#operatorCall('GET', `/v1/plugins/${plugin}`)).status;
  }
}

/** Appliance events as devices send them; ingest validates them as in production. */
export const events = {
  event: (topic, body, id) => ({ topic, body, id }),
  fridgeDoor: (state) => ({ topic: 'appliance.fridge.door', body: { state } }),
  fridgeInventory: (item, action, amount, unit) => ({
    topic: 'appliance.fridge.inventory',
    body: { item, action, quantity: { amount, unit } },
  }),
  purifierTelemetry: (tdsInPpm, tdsOutPpm, filter, conditionPercent, changeIndication) => ({
    topic: 'appliance.water-purifier.telemetry',
    body: {
      tds_in_ppm: tdsInPpm,
      tds_out_ppm: tdsOutPpm,
      litres_total: 1000,
      filters: [{ name: filter, condition_percent: conditionPercent, change_indication: changeIndication }],
    },
  }),
  purifierFault: (kind, detail) => ({ topic: 'appliance.water-purifier.fault', body: { kind, detail } }),
  airTelemetry: (temperatureCelsius, humidityPercent, airQuality, extra = {}) => ({
    topic: 'appliance.air.telemetry',
    body: {
      temperature_centi_celsius: Math.round(temperatureCelsius * 100),
      humidity_centi_percent: Math.round(humidityPercent * 100),
      air_quality: airQuality,
      ...extra,
    },
  }),
};
