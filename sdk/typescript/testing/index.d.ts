/** The household a test host starts with. */
export const HOUSEHOLD: string;

/** An API refusal. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
}

/** An event as an appliance sends it. */
export interface TestEvent {
  topic: string;
  body: Record<string, unknown>;
  id?: string;
}

export interface Notification {
  id: string;
  plugin: string;
  title: string;
  body: string;
  category: string;
  action?: { label: string; operation: string; input: string } | null;
}

export interface Order {
  id: string;
  plugin: string;
  household: string;
  currency: string;
  items: { sku: string; name: string; quantity: number; unit_price_minor: number }[];
  note: string;
}

export interface QueuedCommand {
  id: string;
  plugin: string;
  command: string;
  argument?: unknown;
}

/** A `hearth serve` for one test, with the household HOUSEHOLD. */
export class TestHost {
  static start(): Promise<TestHost>;
  readonly url: string;
  readonly operatorToken: string;
  stop(): Promise<void>;
  addHousehold(id: string): Promise<void>;
  addDevice(id: string, kind: string, household?: string): Promise<void>;
  installProject(dir: string): Promise<string>;
  install(manifestPath: string, componentPath: string): Promise<string>;
  send(device: string, events: TestEvent | TestEvent[]): Promise<void>;
  call<T = any>(service: string, operation: string, input?: unknown, household?: string): Promise<T>;
  notifications(household?: string): Promise<Notification[]>;
  offers(household?: string): Promise<Order[]>;
  takeCommands(device: string): Promise<QueuedCommand[]>;
  kv<T = any>(plugin: string, key: string, household?: string): Promise<T | undefined>;
  deadLetters(plugin: string): Promise<any[]>;
  logs(plugin: string): Promise<{ level: string; message: string }[]>;
  status(plugin: string): Promise<Record<string, any>>;
}

export const events: {
  event(topic: string, body: Record<string, unknown>, id?: string): TestEvent;
  fridgeDoor(state: 'open' | 'closed' | 'alarm'): TestEvent;
  fridgeInventory(item: string, action: 'added' | 'removed' | 'counted', amount: number, unit: 'pieces' | 'grams' | 'millilitres'): TestEvent;
  purifierTelemetry(tdsInPpm: number, tdsOutPpm: number, filter: string, conditionPercent: number, changeIndication: 'ok' | 'warning' | 'critical'): TestEvent;
  purifierFault(kind: string, detail: string): TestEvent;
  airTelemetry(temperatureCelsius: number, humidityPercent: number, airQuality: string, extra?: Record<string, unknown>): TestEvent;
};
