// One plugin: status and quarantine, live charts, actions, grants and limits,
// dead letters and its log. Partners see their own plugins' status, dead letters
// and log; operators everything.

import { useEffect, useState } from "preact/hooks";
import { seg } from "../api";
import { bytes, count, time } from "../format";
import type { Context } from "../main";
import type { Capabilities, DeadLetter, Limits, LogLine, LogPage, Plugin, PluginList } from "../types";
import { ConfirmButton, ErrorNote, Loading, Section, message, useAction, useLoad } from "../ui";
import { LiveCharts } from "./live";
import { pluginsPath, statusOf } from "./plugins";

export function PluginDetail({ context, id }: { context: Context; id: string }) {
  const operator = context.session.role === "operator";
  const plugin = useLoad(
    async () =>
      operator
        ? context.api.get<Plugin>(`/v1/plugins/${seg(id)}`)
        : (await context.api.get<PluginList>(pluginsPath(context))).plugins.find((p) => p.id === id) ?? null,
    [id],
    2000,
  );
  if (plugin.data === null) return <ErrorNote error={`plugin ${id} is not installed`} />;
  if (!plugin.data) return plugin.error ? <ErrorNote error={plugin.error} /> : <Loading what={id} />;
  const p = plugin.data;
  return (
    <>
      <p>
        <a href="#/plugins">← Plugins</a>
      </p>
      <h1>
        {p.id} <span class="version">{p.version}</span> <span class={`badge ${statusOf(p)}`}>{statusOf(p)}</span>
      </h1>
      <p class="muted">
        {p.description} · by {p.publisher}
      </p>
      <ErrorNote error={plugin.error} />
      <StatusFigures plugin={p} />
      {operator && <Actions context={context} plugin={p} onChange={plugin.reload} />}
      {operator && <LiveCharts context={context} id={p.id} />}
      {operator && <GrantsForm context={context} plugin={p} onChange={plugin.reload} />}
      {operator && <LimitsForm context={context} plugin={p} onChange={plugin.reload} />}
      <DeadLetters context={context} id={p.id} />
      <Logs context={context} id={p.id} />
    </>
  );
}

function StatusFigures({ plugin }: { plugin: Plugin }) {
  const s = plugin.status;
  if (!s) return <p class="muted">Not running.</p>;
  const figures: [string, number][] = [
    ["Delivered", s.delivered],
    ["Failed attempts", s.failed],
    ["Retried", s.retried],
    ["Dead-lettered", s.dead_lettered],
    ["Withheld without consent", s.skipped_without_consent],
    ["Lag", s.lag],
    ["Calls failed", s.calls_failed],
    ["Callers suspended", s.callers_suspended],
  ];
  return (
    <Section title="Status">
      <dl class="figures">
        {figures.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd data-figure={label}>{count(value)}</dd>
          </div>
        ))}
      </dl>
      {s.overflowing && <p class="warning">The backlog is at its bound: the oldest events are being passed over.</p>}
      {s.calls_not_granted > 0 && (
        <p class="warning">
          {count(s.calls_not_granted)} calls its manifest does not allow were refused: its log names the
          line to add.
        </p>
      )}
      {s.quarantine && (
        <div class="quarantine" role="region" aria-label="Quarantine">
          <p>
            <strong>Quarantined</strong> since {time(s.quarantine.since_ms)} after {s.quarantine.consecutive_failures} failures in a
            row ({s.quarantine.cause}).
          </p>
          <ul>
            {s.quarantine.last_errors.map((error, index) => (
              <li key={index}>
                <code>{error}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Section>
  );
}

function Actions({ context, plugin, onChange }: { context: Context; plugin: Plugin; onChange: () => void }) {
  const action = useAction();
  const base = `/v1/plugins/${seg(plugin.id)}`;
  const act = (method: string, path: string, then?: () => void) =>
    void action.run(() => context.api.send(method, path)).then((ok) => {
      if (ok) (then ?? onChange)();
    });
  return (
    <Section title="Actions">
      <div class="actions">
        {plugin.status?.quarantined && (
          <button type="button" class="primary" disabled={action.busy} onClick={() => act("POST", `${base}/resume`)}>
            Resume
          </button>
        )}
        <ConfirmButton
          label="Disable"
          question={`Stop ${plugin.id}? Its events wait in the log until it is enabled again.`}
          confirm="Disable"
          disabled={action.busy}
          onConfirm={() => act("POST", `${base}/disable`, () => (location.hash = "#/plugins"))}
        />
        <a class="button" href={`#/install/${seg(plugin.id)}`}>
          Upgrade…
        </a>
        {plugin.rollback_to && (
          <ConfirmButton
            label={`Roll back to ${plugin.rollback_to}`}
            question={`Go back from ${plugin.version} to ${plugin.rollback_to}? Delivery is handed over without losing events.`}
            confirm="Roll back"
            disabled={action.busy}
            onConfirm={() => act("POST", `${base}/rollback`)}
          />
        )}
        <ConfirmButton
          label="Remove"
          danger
          question={`Remove ${plugin.id}? Its kv data, config, dead letters and counters are erased; this cannot be undone.`}
          confirm={`Remove ${plugin.id}`}
          disabled={action.busy}
          onConfirm={() => act("DELETE", base, () => (location.hash = "#/plugins"))}
        />
      </div>
      {action.busy && <p role="status">Working…</p>}
      <ErrorNote error={action.error} />
    </Section>
  );
}

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter(Boolean);

function GrantsForm({ context, plugin, onChange }: { context: Context; plugin: Plugin; onChange: () => void }) {
  const [grants, setGrants] = useState<Capabilities>(plugin.capabilities);
  const [devices, setDevices] = useState(plugin.capabilities.devices.join(", "));
  const [http, setHttp] = useState(plugin.capabilities.http.join(", "));
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const submit = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const body = { ...grants, devices: list(devices), http: list(http) };
    void action.run(() => context.api.send("PUT", `/v1/plugins/${seg(plugin.id)}/grants`, body)).then((ok) => {
      setSaved(ok);
      if (ok) onChange();
    });
  };
  const flag = (key: "kv" | "notify" | "commerce", label: string) => (
    <label class="check">
      <input type="checkbox" checked={grants[key]} onChange={(event) => setGrants({ ...grants, [key]: event.currentTarget.checked })} />
      {label}
    </label>
  );
  return (
    <Section title="Grants">
      <form onSubmit={submit} aria-label="Grants">
        <fieldset>
          <legend>Capabilities granted (within what the manifest requests)</legend>
          {flag("kv", "Key-value storage")}
          {flag("notify", "Notifications to households")}
          {flag("commerce", "Order proposals")}
          <label for="grant-devices">Device commands (kind:command, comma-separated)</label>
          <input id="grant-devices" value={devices} onInput={(event) => setDevices(event.currentTarget.value)} />
          <label for="grant-http">Outbound HTTP (host:port, comma-separated)</label>
          <input id="grant-http" value={http} onInput={(event) => setHttp(event.currentTarget.value)} />
        </fieldset>
        <button type="submit" disabled={action.busy}>
          Save grants
        </button>
        {saved && <span role="status"> Saved: the plugin restarted under them.</span>}
        <ErrorNote error={action.error} />
      </form>
    </Section>
  );
}

function LimitsForm({ context, plugin, onChange }: { context: Context; plugin: Plugin; onChange: () => void }) {
  const current: Limits = plugin.limits;
  const [memory, setMemory] = useState(String(Math.round(current.memory_bytes / (1 << 20))));
  const [timeout, setTimeout_] = useState(String(current.event_timeout_ms));
  const [serviceTimeout, setServiceTimeout] = useState(String(current.service_timeout_ms));
  const [concurrency, setConcurrency] = useState(String(current.concurrency));
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const submit = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const body = {
      memory_mb: Number(memory),
      timeout_ms: Number(timeout),
      service_timeout_ms: Number(serviceTimeout),
      concurrency: Number(concurrency),
    };
    void action.run(() => context.api.send("PUT", `/v1/plugins/${seg(plugin.id)}/limits`, body)).then((ok) => {
      setSaved(ok);
      if (ok) onChange();
    });
  };
  const field = (id: string, label: string, value: string, set: (value: string) => void) => (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} type="number" min="1" required value={value} onInput={(event) => set(event.currentTarget.value)} />
    </div>
  );
  return (
    <Section title="Limits">
      <p class="muted">
        Now: {bytes(current.memory_bytes)} memory, {current.event_timeout_ms} ms per event, {current.service_timeout_ms} ms per call,{" "}
        {current.concurrency} instance{current.concurrency === 1 ? "" : "s"}.
      </p>
      <form onSubmit={submit} aria-label="Limits" class="inline">
        {field("limit-memory", "Memory (MiB)", memory, setMemory)}
        {field("limit-timeout", "Event timeout (ms)", timeout, setTimeout_)}
        {field("limit-service-timeout", "Call timeout (ms)", serviceTimeout, setServiceTimeout)}
        {field("limit-concurrency", "Instances", concurrency, setConcurrency)}
        <button type="submit" disabled={action.busy}>
          Save limits
        </button>
        {saved && <span role="status"> Saved.</span>}
      </form>
      <ErrorNote error={action.error} />
    </Section>
  );
}

function DeadLetters({ context, id }: { context: Context; id: string }) {
  const operator = context.session.role === "operator";
  const path = operator ? `/v1/plugins/${seg(id)}/dead-letters` : `/v1/partner/plugins/${seg(id)}/dead-letters`;
  const letters = useLoad(() => context.api.get<{ dead_letters: DeadLetter[] }>(path), [path], 5000);
  return (
    <Section title="Dead letters">
      <ErrorNote error={letters.error} />
      {letters.data && letters.data.dead_letters.length === 0 && <p class="muted">None.</p>}
      {letters.data && letters.data.dead_letters.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Position</th>
                <th scope="col">Topic</th>
                <th scope="col">Error</th>
                <th scope="col" class="number">Attempts</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {letters.data.dead_letters.map((letter) => (
                <tr key={letter.seq} data-seq={letter.seq}>
                  <td>{operator ? <a href={`#/plugins/${seg(id)}/dead-letters/${letter.seq}`}>{letter.seq}</a> : letter.seq}</td>
                  <td>{letter.topic}</td>
                  <td>
                    <code>{letter.error}</code>
                  </td>
                  <td class="number">{letter.attempts}</td>
                  <td>{time(letter.time_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function Logs({ context, id }: { context: Context; id: string }) {
  const operator = context.session.role === "operator";
  const path = operator ? `/v1/plugins/${seg(id)}/logs` : `/v1/partner/plugins/${seg(id)}/logs`;
  const [lines, setLines] = useState<LogLine[]>([]);
  const [level, setLevel] = useState<string>();
  const [error, setError] = useState<string>();
  // Follows the book: the first read takes all of it, later ones what came after.
  useEffect(() => {
    let stopped = false;
    let cursor: string | null = null;
    setLines([]);
    const poll = async () => {
      try {
        const after: string = cursor ? `&after=${seg(cursor)}` : "";
        const page = await context.api.get<LogPage>(`${path}?limit=1000${after}`);
        if (stopped) return;
        cursor = page.next ?? cursor;
        setLevel(page.level);
        if (page.lines.length) setLines((old) => [...old, ...page.lines].slice(-SHOWN_LINES));
        setError(undefined);
      } catch (failure) {
        if (!stopped) setError(message(failure));
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [context, path]);
  return (
    <Section title="Log">
      <ErrorNote error={error} />
      <p class="muted">
        Level {level ?? "…"}; the last {SHOWN_LINES} lines, newest last, following.
      </p>
      <pre class="log" tabIndex={0} aria-label="Plugin log" data-testid="log">
        {lines.length === 0
          ? "No lines yet."
          : lines.map((line) => `${time(line.time_ms)} ${line.level.toUpperCase()} [${line.source}] ${line.message}`).join("\n")}
      </pre>
    </Section>
  );
}

const SHOWN_LINES = 300;
