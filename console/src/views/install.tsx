// Install or upgrade: from a package file, or from the registry the server is
// configured with. What the package asks for is shown first; nothing is installed
// before the operator confirms that review.

import { useState } from "preact/hooks";
import { seg } from "../api";
import { time } from "../format";
import type { Context } from "../main";
import type { Capabilities, PackageReview, Plugin, RegistryPlugin } from "../types";
import { ErrorNote, Progress, Section, message, useLoad } from "../ui";

type Source = { kind: "file"; file: File } | { kind: "registry"; id: string; version: string };

const STEPS = ["Send the package", "Check the signature, compile and start", "Running"];

export function Install({ context, plugin }: { context: Context; plugin?: string }) {
  const [review, setReview] = useState<{ source: Source; review: PackageReview }>();
  const [step, setStep] = useState<number>();
  const [share, setShare] = useState<number>();
  const [error, setError] = useState<string>();
  const [installed, setInstalled] = useState<Plugin>();

  const reviewed = (source: Source, result: PackageReview) => {
    setInstalled(undefined);
    setReview({ source, review: result });
  };

  const install = async () => {
    if (!review) return;
    setError(undefined);
    setStep(0);
    setShare(undefined);
    try {
      let result: Plugin;
      if (review.source.kind === "file") {
        result = await context.api.upload<Plugin>("/v1/packages", review.source.file, (sent) => {
          setShare(sent);
          if (sent >= 1) (setStep(1), setShare(undefined));
        });
      } else {
        setStep(1);
        result = await context.api.send<Plugin>("POST", "/v1/registry/install", {
          id: review.source.id,
          version: review.source.version,
          package: review.review.package,
        });
      }
      setStep(2);
      setInstalled(result);
      setReview(undefined);
    } catch (failure) {
      setError(message(failure));
      setStep(undefined);
    }
  };

  return (
    <>
      <h1>{plugin ? `Upgrade ${plugin}` : "Install a plugin"}</h1>
      <div class="columns">
        <FromFile context={context} onReview={reviewed} />
        <FromRegistry context={context} initial={plugin} onReview={reviewed} />
      </div>
      {review && (
        <Review context={context} review={review.review}>
          <button type="button" class="primary" disabled={step !== undefined && step < 2} onClick={() => void install()}>
            {review.review.installed_version ? `Upgrade ${review.review.installed_version} → ${review.review.version}` : `Install ${review.review.version}`}
          </button>{" "}
          <button type="button" onClick={() => setReview(undefined)}>
            Cancel
          </button>
        </Review>
      )}
      {step !== undefined && <Progress steps={STEPS} current={step} share={share} />}
      <ErrorNote error={error} />
      {installed && (
        <p role="status" class="ok" data-testid="installed">
          {installed.id} {installed.version} is running. <a href={`#/plugins/${seg(installed.id)}`}>Open {installed.id}</a>
        </p>
      )}
    </>
  );
}

function FromFile({ context, onReview }: { context: Context; onReview: (source: Source, review: PackageReview) => void }) {
  const [error, setError] = useState<string>();
  const [share, setShare] = useState<number>();
  const chosen = async (file: File | undefined) => {
    setError(undefined);
    if (!file) return;
    try {
      setShare(0);
      const review = await context.api.upload<PackageReview>("/v1/packages/verify", file, setShare);
      onReview({ kind: "file", file }, review);
    } catch (failure) {
      setError(message(failure));
    } finally {
      setShare(undefined);
    }
  };
  return (
    <Section title="From a package file">
      <label for="package-file">Signed package (.hpkg)</label>
      <input id="package-file" type="file" accept=".hpkg" onChange={(event) => void chosen(event.currentTarget.files?.[0])} />
      {share !== undefined && <Progress steps={["Send for review", "Check the signature"]} current={share < 1 ? 0 : 1} share={share < 1 ? share : undefined} />}
      <ErrorNote error={error} />
    </Section>
  );
}

function FromRegistry({
  context,
  initial,
  onReview,
}: {
  context: Context;
  initial?: string;
  onReview: (source: Source, review: PackageReview) => void;
}) {
  const [id, setId] = useState(initial ?? "");
  const [looked, setLooked] = useState(initial ?? "");
  const [error, setError] = useState<string>();
  const entry = useLoad(
    () => (looked ? context.api.get<RegistryPlugin>(`/v1/registry/plugins/${seg(looked)}`) : Promise.resolve(undefined)),
    [looked],
  );
  const review = async (version: string) => {
    setError(undefined);
    try {
      const result = await context.api.send<PackageReview>("POST", "/v1/registry/review", { id: looked, version });
      onReview({ kind: "registry", id: looked, version }, result);
    } catch (failure) {
      setError(message(failure));
    }
  };
  return (
    <Section title="From the registry">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setLooked(id.trim());
        }}
      >
        <label for="registry-id">Plugin id</label>
        <input id="registry-id" value={id} onInput={(event) => setId(event.currentTarget.value)} placeholder="com.example.plugin" />
        <button type="submit">Look up</button>
      </form>
      <ErrorNote error={entry.error ?? error} />
      {entry.data && (
        <table>
          <caption>
            {entry.data.id} by {entry.data.publisher}
          </caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Published</th>
              <th scope="col"></th>
            </tr>
          </thead>
          <tbody>
            {[...entry.data.versions].reverse().map((version) => (
              <tr key={version.version}>
                <td>
                  {version.version}
                  {version.yanked ? " (yanked)" : ""}
                </td>
                <td>{time(version.published_ms)}</td>
                <td>
                  <button type="button" onClick={() => void review(version.version)}>
                    Review {version.version}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function capabilityList(capabilities: Capabilities): string[] {
  return [
    ...(capabilities.kv ? ["kv: its own key-value storage"] : []),
    ...(capabilities.notify ? ["notify: notifications to households"] : []),
    ...(capabilities.commerce ? ["commerce: order proposals to households"] : []),
    ...capabilities.devices.map((command) => `devices: send ${command}`),
    ...capabilities.http.map((destination) => `http: outbound requests to ${destination}`),
  ];
}

/** What the package asks for; capabilities the running version does not have are marked new. */
function Review({ context, review, children }: { context: Context; review: PackageReview; children: preact.ComponentChildren }) {
  const running = useLoad(
    () =>
      review.installed_version
        ? context.api.get<Plugin>(`/v1/plugins/${seg(review.id)}`).catch(() => undefined)
        : Promise.resolve(undefined),
    [review.id, review.installed_version],
  );
  const before = new Set(running.data ? capabilityList(running.data.capabilities) : []);
  const requested = capabilityList(review.capabilities);
  const limits = Object.entries(review.limits).filter(([, value]) => value !== null && value !== undefined);
  return (
    <section class="review" aria-label="Review">
      <h2>
        Review {review.id} {review.version}
      </h2>
      <dl class="pairs">
        <dt>Publisher</dt>
        <dd>{review.publisher}</dd>
        <dt>Signed by</dt>
        <dd>
          <code>{review.signed_by ?? "unsigned"}</code>
        </dd>
        <dt>Installed now</dt>
        <dd>{review.installed_version ?? "not installed"}</dd>
        <dt>Description</dt>
        <dd>{review.description}</dd>
      </dl>
      <h3>Capabilities requested</h3>
      {requested.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul data-testid="capabilities">
          {requested.map((capability) => (
            <li key={capability}>
              {capability}
              {review.installed_version && !before.has(capability) && <strong class="new"> new</strong>}
            </li>
          ))}
        </ul>
      )}
      <h3>Events and services</h3>
      <ul>
        {review.subscriptions.map((topic) => (
          <li key={topic}>subscribes to {topic}</li>
        ))}
        {review.provides.map((operation) => (
          <li key={operation}>provides {operation}</li>
        ))}
        {review.calls.map((operation) => (
          <li key={operation}>calls {operation}</li>
        ))}
      </ul>
      {limits.length > 0 && (
        <>
          <h3>Limits requested</h3>
          <ul>
            {limits.map(([name, value]) => (
              <li key={name}>
                {name}: {String(value)}
              </li>
            ))}
          </ul>
        </>
      )}
      {review.warnings.length > 0 && (
        <ul class="warning">
          {review.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      {children}
    </section>
  );
}
