// One dead letter as stored: the event, its body and the last error; redrive
// delivers it again through the plugin's normal path (consent, pseudonyms, breaker).

import { useState } from "preact/hooks";
import { seg } from "../api";
import { time } from "../format";
import type { Context } from "../main";
import type { DeadLetterDetail } from "../types";
import { ErrorNote, Loading, useAction, useLoad } from "../ui";

/** The stored body is the host's typed form (`{"FridgeDoor": …}`); an `ext.` event's
 * is `{"Other": {topic, json}}` with the device's JSON as text: shown parsed. */
export function readableBody(body: unknown): unknown {
  const other = (body as { Other?: { json?: unknown } } | null)?.Other;
  if (other && typeof other.json === "string") {
    try {
      return JSON.parse(other.json);
    } catch {
      return other.json;
    }
  }
  return body;
}

export function DeadLetterView({ context, plugin, seq }: { context: Context; plugin: string; seq: string }) {
  const path = `/v1/plugins/${seg(plugin)}/dead-letters/${seg(seq)}`;
  const letter = useLoad(() => context.api.get<DeadLetterDetail>(path), [path]);
  const redrive = useAction();
  const [redriven, setRedriven] = useState(false);
  const back = `#/plugins/${seg(plugin)}`;
  return (
    <>
      <p>
        <a href={back}>← {plugin}</a>
      </p>
      <h1>Dead letter {seq}</h1>
      <ErrorNote error={letter.error} />
      {!letter.data && !letter.error && <Loading what="the dead letter" />}
      {letter.data && (
        <>
          <dl class="pairs">
            <dt>Topic</dt>
            <dd>{letter.data.event.topic}</dd>
            <dt>Event id</dt>
            <dd>
              <code>{letter.data.event.id}</code>
            </dd>
            <dt>Event time</dt>
            <dd>{time(letter.data.event.time_ms)}</dd>
            <dt>Household</dt>
            <dd>{letter.data.event.household ?? "–"}</dd>
            <dt>Device</dt>
            <dd>{letter.data.event.device ?? "–"}</dd>
            <dt>Attempts</dt>
            <dd>{letter.data.attempts}</dd>
            <dt>Dead-lettered</dt>
            <dd>{time(letter.data.time_ms)}</dd>
            <dt>Last error</dt>
            <dd>
              <code data-testid="dead-letter-error">{letter.data.error}</code>
            </dd>
          </dl>
          <h2>Body</h2>
          <pre class="json" tabIndex={0} aria-label="Event body">
            {JSON.stringify(readableBody(letter.data.event.body), null, 2)}
          </pre>
          <div class="actions">
            <button
              type="button"
              class="primary"
              disabled={redrive.busy || redriven}
              onClick={() => void redrive.run(() => context.api.send("POST", `${path}/redrive`)).then(setRedriven)}
            >
              Redrive
            </button>
          </div>
          {redrive.busy && <p role="status">Delivering…</p>}
          {redriven && (
            <p role="status" class="ok">
              Delivered: the dead letter is gone. <a href={back}>Back to {plugin}</a>
            </p>
          )}
          <ErrorNote error={redrive.error} />
        </>
      )}
    </>
  );
}
