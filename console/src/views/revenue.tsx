// Revenue share: the operator's agreements per publisher and any publisher's
// monthly statement; a partner sees its own statements.

import { useState } from "preact/hooks";
import { seg } from "../api";
import { money, percent, thisMonth, time } from "../format";
import type { Context } from "../main";
import type { Agreements, Statement } from "../types";
import { ErrorNote, Loading, Section, useAction, useLoad } from "../ui";

export function Revenue({ context }: { context: Context }) {
  const operator = context.session.role === "operator";
  return (
    <>
      <h1>{operator ? "Revenue share" : "Statements"}</h1>
      {operator && <AgreementsView context={context} />}
      <StatementView context={context} />
    </>
  );
}

function AgreementsView({ context }: { context: Context }) {
  const agreements = useLoad(() => context.api.get<Agreements>("/v1/agreements"), []);
  const [publisher, setPublisher] = useState("");
  const [share, setShare] = useState("");
  const action = useAction();
  return (
    <Section title="Agreements">
      <ErrorNote error={agreements.error} />
      {agreements.data && (
        <>
          <p class="muted">Publishers without an agreement get {percent(agreements.data.default_bp)} of gross.</p>
          <table>
            <thead>
              <tr>
                <th scope="col">Publisher</th>
                <th scope="col" class="number">
                  Publisher's share
                </th>
              </tr>
            </thead>
            <tbody>
              {agreements.data.agreements.map((agreement) => (
                <tr key={agreement.publisher}>
                  <td>{agreement.publisher}</td>
                  <td class="number">{percent(agreement.publisher_bp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const body = { publisher_bp: Math.round(Number(share) * 100) };
          void action.run(() => context.api.send("PUT", `/v1/agreements/${seg(publisher.trim())}`, body)).then((ok) => {
            if (ok) agreements.reload();
          });
        }}
      >
        <div class="field">
          <label for="agreement-publisher">Publisher</label>
          <input id="agreement-publisher" required value={publisher} onInput={(event) => setPublisher(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="agreement-share">Share of gross (%)</label>
          <input
            id="agreement-share"
            type="number"
            min="0"
            max="100"
            step="0.01"
            required
            value={share}
            onInput={(event) => setShare(event.currentTarget.value)}
          />
        </div>
        <button type="submit" disabled={action.busy}>
          Set agreement
        </button>
      </form>
      <ErrorNote error={action.error} />
    </Section>
  );
}

function StatementView({ context }: { context: Context }) {
  const operator = context.session.role === "operator";
  const [month, setMonth] = useState(thisMonth());
  const [publisher, setPublisher] = useState(operator ? "" : context.session.scope);
  const [asked, setAsked] = useState(operator ? null : { publisher, month });
  const statement = useLoad(
    () =>
      !asked
        ? Promise.resolve(undefined)
        : context.api.get<Statement>(
            operator ? `/v1/statements/${seg(asked.publisher)}/${seg(asked.month)}` : `/v1/partner/statements/${seg(asked.month)}`,
          ),
    [asked?.publisher, asked?.month],
  );
  return (
    <Section title="Monthly statement">
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setAsked({ publisher: publisher.trim(), month });
        }}
      >
        {operator && (
          <div class="field">
            <label for="statement-publisher">Publisher</label>
            <input id="statement-publisher" required value={publisher} onInput={(event) => setPublisher(event.currentTarget.value)} />
          </div>
        )}
        <div class="field">
          <label for="statement-month">Month</label>
          <input id="statement-month" type="month" required value={month} onInput={(event) => setMonth(event.currentTarget.value)} />
        </div>
        <button type="submit">Show statement</button>
      </form>
      <ErrorNote error={statement.error} />
      {asked && !statement.data && !statement.error && <Loading what="the statement" />}
      {statement.data && (
        <div class="scroll" data-testid="statement">
          <table>
            <caption>
              {statement.data.publisher}, {statement.data.month}
            </caption>
            <thead>
              <tr>
                <th scope="col">Currency</th>
                <th scope="col" class="number">
                  Orders
                </th>
                <th scope="col" class="number">
                  Gross
                </th>
                <th scope="col" class="number">
                  Publisher
                </th>
                <th scope="col" class="number">
                  Platform
                </th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(statement.data.totals).map(([currency, totals]) => (
                <tr key={currency}>
                  <td>{currency}</td>
                  <td class="number">{totals.orders}</td>
                  <td class="number">{money(totals.gross_minor, currency)}</td>
                  <td class="number">{money(totals.publisher_minor, currency)}</td>
                  <td class="number">{money(totals.platform_minor, currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {statement.data.entries.length === 0 ? (
            <p class="muted">No orders booked this month.</p>
          ) : (
            <table>
              <caption>Orders</caption>
              <thead>
                <tr>
                  <th scope="col">Booked</th>
                  <th scope="col">Plugin</th>
                  <th scope="col">Order</th>
                  <th scope="col" class="number">
                    Gross
                  </th>
                  <th scope="col" class="number">
                    Share
                  </th>
                  <th scope="col" class="number">
                    Publisher
                  </th>
                </tr>
              </thead>
              <tbody>
                {statement.data.entries.map((entry) => (
                  <tr key={`${entry.plugin}/${entry.order}`}>
                    <td>{time(entry.time_ms)}</td>
                    <td>{entry.plugin}</td>
                    <td>
                      <code>{entry.order}</code>
                    </td>
                    <td class="number">{money(entry.gross_minor, entry.currency)}</td>
                    <td class="number">{percent(entry.publisher_bp)}</td>
                    <td class="number">{money(entry.publisher_minor, entry.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </Section>
  );
}
