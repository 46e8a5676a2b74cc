// The audit log: every operator action, newest first, by token id.

import { time } from "../format";
import type { Context } from "../main";
import type { AuditEntry } from "../types";
import { ErrorNote, Loading, useLoad } from "../ui";

export function Audit({ context }: { context: Context }) {
  const audit = useLoad(() => context.api.get<{ entries: AuditEntry[] }>("/v1/audit"), [], 5000);
  return (
    <>
      <h1>Audit log</h1>
      <ErrorNote error={audit.error} />
      {!audit.data ? (
        <Loading what="the audit log" />
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Token</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.entries.map((entry, index) => (
                <tr key={index}>
                  <td>{time(entry.time_ms)}</td>
                  <td>
                    <code>{entry.token}</code>
                  </td>
                  <td>{entry.action}</td>
                  <td>{entry.target}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
