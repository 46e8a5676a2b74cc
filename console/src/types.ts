// The API's JSON bodies, as docs/API.md and /v1/openapi.json describe them.

export type Role = "operator" | "device" | "user" | "partner";

export interface Session {
  role: Role;
  scope: string;
  token_id: string;
  expires_ms: number | null;
}

export interface Quarantine {
  cause: string;
  since_ms: number;
  consecutive_failures: number;
  lanes: number[];
  callers: number;
  last_errors: string[];
}

export interface Status {
  quarantined: boolean;
  quarantine: Quarantine | null;
  delivered: number;
  failed: number;
  retried: number;
  dead_lettered: number;
  skipped_without_consent: number;
  calls_failed: number;
  callers_suspended: number;
  lag: number;
  overflowing: boolean;
  backlog_skipped: number;
  calls_not_granted: number;
}

export interface Capabilities {
  kv: boolean;
  notify: boolean;
  commerce: boolean;
  devices: string[];
  http: string[];
}

export interface Limits {
  memory_bytes: number;
  event_timeout_ms: number;
  service_timeout_ms: number;
  concurrency: number;
}

export interface Plugin {
  id: string;
  version: string;
  publisher: string;
  description: string;
  component: string;
  subscriptions: string[];
  provides: string[];
  rollback_to: string | null;
  status: Status | null;
  capabilities: Capabilities;
  limits: Limits;
}

export interface PluginList {
  plugins: Plugin[];
  disabled?: string[];
}

export interface PackageReview {
  id: string;
  version: string;
  publisher: string;
  description: string;
  signed_by: string | null;
  component: string;
  subscriptions: string[];
  provides: string[];
  calls: string[];
  capabilities: Capabilities;
  limits: Record<string, number | null>;
  warnings: string[];
  installed_version: string | null;
  /** Hex SHA-256 of the package file, when it was fetched from a registry. */
  package?: string;
}

export interface RegistryVersion {
  version: string;
  package: string;
  component: string;
  yanked: boolean;
  published_ms: number;
}

export interface RegistryPlugin {
  id: string;
  publisher: string;
  description: string;
  versions: RegistryVersion[];
}

export interface DeadLetter {
  seq: number;
  event_id: string;
  topic: string;
  error: string;
  attempts: number;
  time_ms: number;
}

export interface DeadLetterDetail {
  seq: number;
  event: { id: string; topic: string; time_ms: number; household: string | null; device: string | null; body: unknown };
  error: string;
  attempts: number;
  time_ms: number;
}

export interface Device {
  id: string;
  household: string;
  kind: string;
  model: string;
  region: string;
}

export interface HouseholdView {
  id: string;
  devices: Device[];
}

export interface Agreement {
  publisher: string;
  publisher_bp: number;
}

export interface Agreements {
  default_bp: number;
  agreements: Agreement[];
}

export interface CurrencyTotals {
  orders: number;
  gross_minor: number;
  publisher_minor: number;
  platform_minor: number;
}

export interface LedgerEntry {
  order: string;
  publisher: string;
  plugin: string;
  currency: string;
  gross_minor: number;
  publisher_minor: number;
  platform_minor: number;
  publisher_bp: number;
  month: string;
  time_ms: number;
}

export interface Statement {
  publisher: string;
  month: string;
  totals: Record<string, CurrencyTotals>;
  entries: LedgerEntry[];
}

export interface AuditEntry {
  time_ms: number;
  token: string;
  action: string;
  target: string;
}

export interface LogLine {
  cursor: string;
  time_ms: number;
  level: string;
  source: string;
  message: string;
}

export interface LogPage {
  plugin: string;
  level: string;
  lines: LogLine[];
  next: string | null;
}

/** Calls of one kind: counts per latency bucket (not cumulative; the last is +Inf). */
export interface CallHistogram {
  bounds_s: number[];
  counts: number[];
}

export interface PluginMeter {
  id: string;
  delivered: number;
  failed: number;
  dead_lettered: number;
  lag: number;
  event_calls: CallHistogram;
  service_calls: CallHistogram;
}

export interface MeterSnapshot {
  time_ms: number;
  plugins: PluginMeter[];
}
