// The plugin list: every plugin the signed-in role may see, with its delivery
// figures, refreshed every two seconds.

import type { Context } from "../main";
import { count } from "../format";
import type { Plugin, PluginList } from "../types";
import { ErrorNote, Loading, useAction, useLoad } from "../ui";
import { seg } from "../api";

export function pluginsPath(context: Context): string {
  return context.session.role === "operator" ? "/v1/plugins" : "/v1/partner/plugins";
}

export function statusOf(plugin: Plugin): string {
  if (!plugin.status) return "stopped";
  return plugin.status.quarantined ? "quarantined" : "running";
}

export function Plugins({ context }: { context: Context }) {
  const list = useLoad(() => context.api.get<PluginList>(pluginsPath(context)), [], 2000);
  const enable = useAction();
  const operator = context.session.role === "operator";
  return (
    <>
      <h1>{operator ? "Plugins" : "My plugins"}</h1>
      <ErrorNote error={list.error ?? enable.error} />
      {!list.data ? (
        <Loading what="plugins" />
      ) : (
        <div class="scroll">
          <table>
            <caption class="visually-hidden">Installed plugins</caption>
            <thead>
              <tr>
                <th scope="col">Plugin</th>
                <th scope="col">Version</th>
                <th scope="col">Publisher</th>
                <th scope="col">Status</th>
                <th scope="col" class="number">Lag</th>
                <th scope="col" class="number">Delivered</th>
                <th scope="col" class="number">Failed</th>
                <th scope="col" class="number">Dead</th>
                <th scope="col">Quarantine reason</th>
              </tr>
            </thead>
            <tbody>
              {list.data.plugins.map((plugin) => (
                <tr key={plugin.id} data-plugin={plugin.id}>
                  <th scope="row">
                    <a href={`#/plugins/${seg(plugin.id)}`}>{plugin.id}</a>
                  </th>
                  <td>{plugin.version}</td>
                  <td>{plugin.publisher}</td>
                  <td>
                    <span class={`badge ${statusOf(plugin)}`}>{statusOf(plugin)}</span>
                  </td>
                  <td class="number">{count(plugin.status?.lag ?? 0)}</td>
                  <td class="number" data-testid="delivered">
                    {count(plugin.status?.delivered ?? 0)}
                  </td>
                  <td class="number">{count(plugin.status?.failed ?? 0)}</td>
                  <td class="number">{count(plugin.status?.dead_lettered ?? 0)}</td>
                  <td>{plugin.status?.quarantine?.last_errors.at(-1) ?? ""}</td>
                </tr>
              ))}
              {(list.data.disabled ?? []).map((id) => (
                <tr key={id} data-plugin={id}>
                  <th scope="row">{id}</th>
                  <td colSpan={2}></td>
                  <td>
                    <span class="badge stopped">disabled</span>
                  </td>
                  <td colSpan={5}>
                    <button
                      type="button"
                      disabled={enable.busy}
                      onClick={() => void enable.run(() => context.api.send("POST", `/v1/plugins/${seg(id)}/enable`)).then(list.reload)}
                    >
                      Enable {id}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data.plugins.length + (list.data.disabled ?? []).length === 0 && <p class="muted">No plugins installed.</p>}
        </div>
      )}
    </>
  );
}
