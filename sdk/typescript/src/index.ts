/// <reference path="../generated/partner-plugin.d.ts" />
/// <reference path="./runtime.d.ts" />

/**
 * Hearth SDK for TypeScript: write a Hearth plugin as a plain object or class, build it
 * with `hearth plugin build` into a `partner-plugin` component.
 *
 * ```ts
 * import { definePlugin, kv, type Event } from '@hearth/sdk';
 *
 * export const handler = definePlugin({
 *   onEvent(event: Event) {
 *     if (event.body.tag === 'fridge-door' && event.body.val === 'open') {
 *       const key = kv.householdKey(event.household, 'opens');
 *       kv.set(key, (kv.get<number>(key) ?? 0) + 1);
 *     }
 *   },
 *   handle(request) {
 *     return { opens: kv.get<number>(kv.householdKey(request.requireHousehold(), 'opens')) ?? 0 };
 *   },
 * });
 * ```
 *
 * The host may discard an instance at any time (after a trap, a timeout, an upgrade):
 * keep what must survive in `kv`, not in fields.
 */

import * as witCommerce from 'hearth:plugin/commerce@0.2.0';
import * as witConfig from 'hearth:plugin/config@0.2.0';
import * as witDevices from 'hearth:plugin/devices@0.2.0';
import * as witKv from 'hearth:plugin/kv@0.2.0';
import * as witLog from 'hearth:plugin/log@0.2.0';
import * as witNotify from 'hearth:plugin/notify@0.2.0';
import * as witServices from 'hearth:plugin/services@0.2.0';
import type * as types from 'hearth:plugin/types@0.2.0';

export type {
  AirQuality,
  AirTelemetry,
  ApplianceFault,
  Caller,
  ChangeIndication,
  Consumable,
  CooktopState,
  Date,
  DeviceRef,
  DoorState,
  Event,
  EventBody,
  FilterStatus,
  HoodState,
  InventoryChange,
  OperationalState,
  OrderConfirmation,
  OtherEvent,
  OvenState,
  ProgramFinished,
  ProgramState,
  PurifierFault,
  PurifierFaultKind,
  PurifierTelemetry,
  UserRef,
  VacuumState,
} from 'hearth:plugin/types@0.2.0';
export type { Command, DeviceInfo } from 'hearth:plugin/devices@0.2.0';
export type { Category } from 'hearth:plugin/notify@0.2.0';

/** What a plugin tells its caller (or the host, for an event) went wrong. */
export type PluginErrorKind = types.PluginError['tag'];

/**
 * An error a plugin returns: to the caller of a service, or to the host for an event
 * (which is then retried and, after its retries, dead-lettered with this message).
 */
export class PluginError extends Error {
  constructor(
    readonly kind: PluginErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PluginError';
  }

  /** The input was malformed; the message says why. */
  static invalidInput(message: string): PluginError {
    return new PluginError('invalid-input', message);
  }

  /** The thing asked for does not exist. */
  static notFound(message: string): PluginError {
    return new PluginError('not-found', message);
  }

  /** A dependency is down; retrying later may work. */
  static unavailable(message: string): PluginError {
    return new PluginError('unavailable', message);
  }

  /** A bug or unexpected state in the plugin. */
  static internal(message: string): PluginError {
    return new PluginError('internal', message);
  }
}

/**
 * A capability call the host refused: `capability` is `kv`, `notify`, `commerce`,
 * `devices` or `services`, `kind` the WIT error case (`not-granted`, `rate-limited`,
 * `no-consent`, …). Uncaught, it fails the event or call like a {@link PluginError}:
 * `unavailable` when retrying may help, `internal` otherwise.
 */
export class HostError extends Error {
  constructor(
    readonly capability: string,
    readonly kind: string,
    message: string,
    /** For `services` `failed`: the provider's own error. */
    readonly pluginError?: PluginError,
  ) {
    super(`${capability}: ${kind}: ${message}`);
    this.name = 'HostError';
  }

  /** The plugin error this becomes when nothing catches it. */
  toPluginError(): PluginError {
    if (this.pluginError) return this.pluginError;
    const retryable = ['unavailable', 'quota-exceeded', 'rate-limited'].includes(this.kind);
    return new PluginError(retryable ? 'unavailable' : 'internal', this.message);
  }
}

/** Calls a WIT import; a WIT error (thrown by the bindings with a `payload`) becomes a HostError. */
function host<T>(capability: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    const payload = (error as { payload?: { tag: string; val: unknown } } | null)?.payload;
    if (payload === undefined || typeof payload.tag !== 'string') throw error;
    if (payload.tag === 'failed') {
      const inner = payload.val as types.PluginError;
      const pluginError = new PluginError(inner.tag, inner.val);
      throw new HostError(capability, 'failed', inner.val, pluginError);
    }
    throw new HostError(capability, payload.tag, String(payload.val));
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toJsonBytes(value: unknown, what: string): Uint8Array {
  const text = JSON.stringify(value);
  if (text === undefined) throw PluginError.internal(`${what} is not JSON: ${String(value)}`);
  return encoder.encode(text);
}

function fromJsonBytes<T>(bytes: Uint8Array, what: string, kind: PluginErrorKind): T {
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch (error) {
    throw new PluginError(kind, `${what} is not JSON: ${(error as Error).message}`);
  }
}

/** The plugin's durable key-value store. Values are JSON; each write is durable when it returns. */
export const kv = {
  /** The value under `key` decoded from JSON, or `undefined` when the key is absent. */
  get<T = unknown>(key: string): T | undefined {
    const bytes = host('kv', () => witKv.get(key));
    return bytes === undefined ? undefined : fromJsonBytes<T>(bytes, `kv value under ${JSON.stringify(key)}`, 'internal');
  },
  /** Stores `value` as JSON under `key`. */
  set(key: string, value: unknown): void {
    const bytes = toJsonBytes(value, `kv value for ${JSON.stringify(key)}`);
    host('kv', () => witKv.set(key, bytes));
  },
  /** The raw bytes under `key`. */
  getBytes(key: string): Uint8Array | undefined {
    return host('kv', () => witKv.get(key));
  },
  /** Stores raw bytes under `key`. */
  setBytes(key: string, value: Uint8Array): void {
    host('kv', () => witKv.set(key, value));
  },
  /** Removes `key`; removing a missing key succeeds. */
  delete(key: string): void {
    host('kv', () => witKv.delete(key));
  },
  /** The keys starting with `prefix`, in byte order. */
  listKeys(prefix: string): string[] {
    return host('kv', () => witKv.listKeys(prefix));
  },
  /** Stores `value` (JSON) only if the current value is `expected` (JSON; `undefined`: absent). */
  compareAndSwap(key: string, expected: unknown, value: unknown): boolean {
    const old = expected === undefined ? undefined : toJsonBytes(expected, 'the expected kv value');
    const bytes = toJsonBytes(value, `kv value for ${JSON.stringify(key)}`);
    return host('kv', () => witKv.compareAndSwap(key, old, bytes));
  },
  /**
   * The key for `key` of one household. Data under such keys belongs to the household:
   * when it leaves the platform, the host erases it in every plugin.
   */
  householdKey(household: types.UserRef, key: string): string {
    return `${household}/${key}`;
  },
};

/** A button in a notification that calls one of the plugin's own operations. */
export interface NotificationAction {
  label: string;
  /** `service.operation` of this plugin. */
  operation: string;
  /** Sent to the operation as its JSON input when tapped. */
  input: unknown;
}

/** A notification to a household's app. */
export interface Notification {
  /** At most 120 bytes. */
  title: string;
  /** At most 2,000 bytes. */
  body: string;
  category: witNotify.Category;
  action?: NotificationAction;
}

/** Notifications to a household's app (rate-limited; the household must have granted the plugin). */
export const notify = {
  /** Sends a notification; returns its id. */
  send(household: types.UserRef, notification: Notification): string {
    const { action, ...rest } = notification;
    const wit: witNotify.Notification = {
      ...rest,
      action: action && { label: action.label, operation: action.operation, input: JSON.stringify(action.input) },
    };
    return host('notify', () => witNotify.send(household, wit));
  },
};

/** One line of an order. */
export interface LineItem {
  sku: string;
  name: string;
  quantity: number;
  /** Price of one unit in minor units of the order's currency (cents). */
  unitPriceMinor: number;
}

/** An order proposed to a household; see `commerce.propose`. */
export interface OrderProposal {
  /**
   * Unique among all of this plugin's orders (not per household): build it from the
   * household's ref and an event id. Proposing the same id with the same content again
   * is a no-op, so a retried event may propose again.
   */
  orderId: string;
  household: types.UserRef;
  /** ISO 4217, e.g. `EUR`. */
  currency: string;
  items: LineItem[];
  /** Why the household gets this offer, shown with it. */
  note: string;
}

/** Orders proposed to households; a confirmed one arrives as an `order-confirmed` event. */
export const commerce = {
  propose(proposal: OrderProposal): void {
    const items = proposal.items.map((item) => {
      if (!Number.isSafeInteger(item.unitPriceMinor) || item.unitPriceMinor < 0) {
        throw PluginError.internal(`the price of ${item.sku} is not a whole number of minor units`);
      }
      return { ...item, unitPriceMinor: BigInt(item.unitPriceMinor) };
    });
    host('commerce', () => witCommerce.propose({ ...proposal, items }));
  },
};

/** Commands to a household's appliances (granted kinds only, with the household's control consent). */
export const devices = {
  /** Kind, model and region of a device the plugin received events from. */
  describe(device: types.DeviceRef): witDevices.DeviceInfo {
    return host('devices', () => witDevices.describe(device));
  },
  /** Queues a command; returns its id. */
  send(device: types.DeviceRef, command: witDevices.Command): string {
    return host('devices', () => witDevices.send(device, command));
  },
  /** Cooling/heating setpoint in 0.01 °C. */
  setTemperature(device: types.DeviceRef, centiCelsius: number): string {
    return devices.send(device, { tag: 'set-temperature', val: centiCelsius });
  },
  /** Oven preheat, 0.01 °C. */
  preheat(device: types.DeviceRef, centiCelsius: number): string {
    return devices.send(device, { tag: 'preheat', val: centiCelsius });
  },
  startProgram(device: types.DeviceRef, program: string): string {
    return devices.send(device, { tag: 'start-program', val: program });
  },
  stop(device: types.DeviceRef): string {
    return devices.send(device, { tag: 'stop' });
  },
};

/** Calls of other plugins' services (each listed in the manifest's `[services] calls`). */
export const services = {
  /** Calls `service.operation` with a JSON input, for `household` if given; returns the JSON answer. */
  call<T = unknown>(service: string, operation: string, input: unknown, household?: types.UserRef): T {
    const bytes = toJsonBytes(input, `the input of ${service}.${operation}`);
    const answer = host('services', () => witServices.call(service, operation, household, bytes));
    return fromJsonBytes<T>(answer, `the answer of ${service}.${operation}`, 'internal');
  },
};

/** Values the operator set for this plugin. */
export const config = {
  get(key: string): string | undefined {
    return witConfig.get(key);
  },
};

/** Lines in the plugin's log (rate-limited and truncated by the host). */
export const log = {
  trace: (message: string) => witLog.log('trace', message),
  debug: (message: string) => witLog.log('debug', message),
  info: (message: string) => witLog.log('info', message),
  warn: (message: string) => witLog.log('warn', message),
  error: (message: string) => witLog.log('error', message),
};

/** A call of one of the plugin's service operations. */
export class ServiceRequest {
  readonly service: string;
  readonly operation: string;
  readonly caller: types.Caller;
  /** The household the call is made for, when there is one. */
  readonly household: types.UserRef | undefined;
  readonly #input: Uint8Array;

  constructor(request: types.ServiceRequest) {
    this.service = request.service;
    this.operation = request.operation;
    this.caller = request.caller;
    this.household = request.household;
    this.#input = request.input;
  }

  /** The input decoded from JSON; malformed JSON fails the call with `invalid-input`. */
  json<T = unknown>(): T {
    if (this.#input.length === 0) return {} as T;
    return fromJsonBytes<T>(this.#input, 'the input', 'invalid-input');
  }

  /** The household, or an `invalid-input` error for a call made for none. */
  requireHousehold(): types.UserRef {
    if (this.household === undefined) {
      throw PluginError.invalidInput(`${this.service}.${this.operation} needs a household`);
    }
    return this.household;
  }
}

/** What a plugin implements; every method is optional. */
export interface Plugin {
  /** Prepares a fresh instance before any other call. */
  init?(): void;
  /** One event; returning acknowledges it, throwing makes the host retry it later. */
  onEvent?(event: types.Event): void;
  /**
   * Several events in delivery order. Return one result per event handled (`undefined`
   * or an error); fewer results than events leave the rest to be delivered again. By
   * default each goes to `onEvent`, stopping after the first error.
   */
  onEvents?(events: types.Event[]): (PluginError | undefined)[];
  /** A call of a provided service: return any JSON value as the answer. */
  handle?(request: ServiceRequest): unknown;
}

type HandlerExports = {
  init(): void;
  onEvent(event: types.Event): void;
  onEvents(events: types.Event[]): Array<{ tag: 'ok'; val?: undefined } | { tag: 'err'; val: types.PluginError }>;
  handle(request: types.ServiceRequest): types.ServiceResponse;
};

/** The WIT form of anything thrown out of a plugin. */
function witError(error: unknown): types.PluginError {
  if (error instanceof PluginError) return { tag: error.kind, val: error.message };
  if (error instanceof HostError) return witError(error.toPluginError());
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { tag: 'internal', val: message };
}

/** Rethrows anything as the payload the bindings turn into the WIT `err`. */
function fail(error: unknown): never {
  throw { payload: witError(error) };
}

/**
 * Makes the component's `handler` export from a plugin: an object, or a class
 * (constructed once per instance). Export the result as `handler`:
 * `export const handler = definePlugin(MyPlugin);`
 */
export function definePlugin(plugin: Plugin | (new () => Plugin)): HandlerExports {
  let instance: Plugin | undefined;
  const current = (): Plugin => {
    instance ??= typeof plugin === 'function' ? new plugin() : plugin;
    return instance;
  };
  const oneByOne = (events: types.Event[]): (PluginError | undefined)[] => {
    const results: (PluginError | undefined)[] = [];
    for (const event of events) {
      try {
        current().onEvent?.(event);
        results.push(undefined);
      } catch (error) {
        const wit = witError(error);
        results.push(new PluginError(wit.tag, wit.val));
        break;
      }
    }
    return results;
  };
  return {
    init() {
      try {
        current().init?.();
      } catch (error) {
        fail(error);
      }
    },
    onEvent(event) {
      try {
        current().onEvent?.(event);
      } catch (error) {
        fail(error);
      }
    },
    onEvents(events) {
      const own = current();
      const results = own.onEvents ? own.onEvents(events) : oneByOne(events);
      return results.map((result) => (result === undefined ? { tag: 'ok' } : { tag: 'err', val: witError(result) }));
    },
    handle(request) {
      try {
        const own = current();
        const call = new ServiceRequest(request);
        if (!own.handle) throw PluginError.notFound(`this plugin provides no operation ${call.service}.${call.operation}`);
        const answer = own.handle(call);
        return { output: toJsonBytes(answer ?? null, `the answer of ${call.service}.${call.operation}`) };
      } catch (error) {
        fail(error);
      }
    },
  };
}
