// Small pieces every view shares: loading state, errors in the API's words, a
// confirmation dialog, progress for long operations.

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiFailure } from "./api";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Loads `load()` now, whenever `deps` change, on `reload()`, and every
 * `everyMs` if given (live views). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && (setData(value), setError(undefined)),
      (failure: unknown) => current && setError(message(failure)),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  useEffect(() => {
    if (!everyMs) return;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload]);
  return { data, error, reload };
}

export function message(failure: unknown): string {
  if (failure instanceof ApiFailure) return failure.message;
  if (failure instanceof Error) return failure.message;
  return String(failure);
}

export function ErrorNote({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** Runs `action`, showing its error in the API's words; `busy` while it runs. */
export function useAction(): {
  busy: boolean;
  error: string | undefined;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (failure) {
      setError(message(failure));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(undefined) };
}

/** A button that asks first, in a modal dialog (Escape cancels, focus stays inside). */
export function ConfirmButton(props: {
  label: string;
  question: string;
  confirm: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  return (
    <>
      <button type="button" class={props.danger ? "danger" : ""} disabled={props.disabled} onClick={() => dialog.current?.showModal()}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-label={props.label}>
        <form method="dialog">
          <p>{props.question}</p>
          <div class="actions">
            <button value="cancel" autofocus>
              Cancel
            </button>
            <button value="confirm" class={props.danger ? "danger" : "primary"} onClick={() => props.onConfirm()}>
              {props.confirm}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** Where a long operation is: the steps done, the one running, and its share done if known. */
export function Progress({ steps, current, share }: { steps: string[]; current: number; share?: number }) {
  return (
    <div class="progress" role="status" aria-live="polite">
      <ol>
        {steps.map((step, index) => (
          <li key={step} class={index < current ? "done" : index === current ? "running" : ""}>
            {step}
            {index === current && share !== undefined ? ` ${Math.round(share * 100)} %` : ""}
          </li>
        ))}
      </ol>
      <progress max={steps.length} value={current + (share ?? 0)} aria-label="progress" />
    </div>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
