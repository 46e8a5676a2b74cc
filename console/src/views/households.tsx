// Households and their devices; registering either.

import { useState } from "preact/hooks";
import type { Context } from "../main";
import type { HouseholdView } from "../types";
import { ErrorNote, Loading, Section, useAction, useLoad } from "../ui";

const PAGE = 200;

export function Households({ context }: { context: Context }) {
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState<{ prefix: string; after: string | null }>({ prefix: "", after: null });
  const households = useLoad(() => {
    const after = query.after ? `&after=${encodeURIComponent(query.after)}` : "";
    return context.api.get<{ households: HouseholdView[]; next: string | null }>(
      `/v1/households?limit=${PAGE}&prefix=${encodeURIComponent(query.prefix)}${after}`,
    );
  }, [query.prefix, query.after]);
  return (
    <>
      <h1>Households and devices</h1>
      <form
        class="inline"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ prefix: search.trim(), after: null });
        }}
      >
        <div class="field">
          <label for="household-search">Households whose id starts with</label>
          <input id="household-search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
        </div>
        <button type="submit">Find</button>
      </form>
      <div class="columns">
        <AddHousehold context={context} onAdded={households.reload} />
        <AddDevice context={context} households={households.data?.households ?? []} onAdded={households.reload} />
      </div>
      <ErrorNote error={households.error} />
      {!households.data ? (
        <Loading what="households" />
      ) : (
        <Section title={query.prefix ? `Households starting with ${query.prefix}` : "Households"}>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Household</th>
                  <th scope="col">Device</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Model</th>
                  <th scope="col">Region</th>
                </tr>
              </thead>
              <tbody>
                {households.data.households.flatMap((household) =>
                  (household.devices.length ? household.devices : [null]).map((device, index) => (
                    <tr key={`${household.id}/${device?.id ?? ""}`} data-household={household.id}>
                      {index === 0 && (
                        <th scope="rowgroup" rowSpan={Math.max(1, household.devices.length)}>
                          {household.id}
                        </th>
                      )}
                      <td>{device?.id ?? "no devices"}</td>
                      <td>{device?.kind ?? ""}</td>
                      <td>{device?.model ?? ""}</td>
                      <td>{device?.region ?? ""}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          </div>
          <div class="actions">
            {query.after && (
              <button type="button" onClick={() => setQuery({ ...query, after: null })}>
                First page
              </button>
            )}
            {households.data.next && (
              <button type="button" onClick={() => setQuery({ ...query, after: households.data?.next ?? null })}>
                Next {PAGE}
              </button>
            )}
          </div>
        </Section>
      )}
    </>
  );
}

function AddHousehold({ context, onAdded }: { context: Context; onAdded: () => void }) {
  const [id, setId] = useState("");
  const action = useAction();
  return (
    <Section title="Register a household">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(() => context.api.send("POST", "/v1/households", { id: id.trim() })).then((ok) => {
            if (ok) (setId(""), onAdded());
          });
        }}
      >
        <label for="household-id">Household id</label>
        <input id="household-id" required value={id} onInput={(event) => setId(event.currentTarget.value)} />
        <button type="submit" disabled={action.busy}>
          Register household
        </button>
        <ErrorNote error={action.error} />
      </form>
    </Section>
  );
}

const KINDS = [
  "fridge",
  "oven",
  "water-purifier",
  "air-conditioner",
  "air-purifier",
  "washer",
  "dryer",
  "dishwasher",
  "cooktop",
  "coffee-machine",
  "robot-vacuum",
];

function AddDevice({ context, households, onAdded }: { context: Context; households: HouseholdView[]; onAdded: () => void }) {
  const [device, setDevice] = useState({ id: "", household: "", kind: "fridge", model: "", region: "" });
  const action = useAction();
  const set = (key: keyof typeof device) => (event: { currentTarget: { value: string } }) =>
    setDevice({ ...device, [key]: event.currentTarget.value });
  return (
    <Section title="Register a device">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(() => context.api.send("POST", "/v1/devices", device)).then((ok) => {
            if (ok) (setDevice({ ...device, id: "" }), onAdded());
          });
        }}
      >
        <label for="device-id">Device id</label>
        <input id="device-id" required value={device.id} onInput={set("id")} />
        <label for="device-household">Household</label>
        <select id="device-household" required value={device.household} onChange={set("household")}>
          <option value="">Choose…</option>
          {households.map((household) => (
            <option key={household.id}>{household.id}</option>
          ))}
        </select>
        <label for="device-kind">Kind</label>
        <select id="device-kind" value={device.kind} onChange={set("kind")}>
          {KINDS.map((kind) => (
            <option key={kind}>{kind}</option>
          ))}
        </select>
        <label for="device-model">Model</label>
        <input id="device-model" required value={device.model} onInput={set("model")} />
        <label for="device-region">Region</label>
        <input id="device-region" required value={device.region} onInput={set("region")} placeholder="DE" />
        <button type="submit" disabled={action.busy}>
          Register device
        </button>
        <ErrorNote error={action.error} />
      </form>
    </Section>
  );
}
