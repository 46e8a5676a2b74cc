/// <reference path="./hearth-plugin-types.d.ts" />
declare module 'hearth:plugin/commerce@0.2.0' {
  export function propose(proposal: OrderProposal): void;
  export type UserRef = import('hearth:plugin/types@0.2.0').UserRef;
  export interface LineItem {
    sku: string,
    name: string,
    quantity: number,
    /**
     * Price of one unit in minor units of the order's currency (cents).
     */
    unitPriceMinor: bigint,
  }
  export interface OrderProposal {
    /**
     * Chosen by the plugin, unique among all of the plugin's orders: the scope is
     * the plugin, not the household, so make it from the household's ref and your
     * own counter or event id (e.g. `{household}-{event-id}`). Proposing the same id
     * again with the same content is a no-op (a retried event may propose again);
     * with different content — another household's order, too — a `conflict`.
     */
    orderId: string,
    household: UserRef,
    /**
     * ISO 4217, e.g. `EUR`.
     */
    currency: string,
    items: Array<LineItem>,
    /**
     * Why the household gets this offer, shown with it.
     */
    note: string,
  }
  export type CommerceError = CommerceErrorUnknownHousehold | CommerceErrorInvalid | CommerceErrorConflict | CommerceErrorNotGranted;
  export interface CommerceErrorUnknownHousehold {
    tag: 'unknown-household',
    val: string,
  }
  export interface CommerceErrorInvalid {
    tag: 'invalid',
    val: string,
  }
  /**
   * The order id is already used for a different order.
   */
  export interface CommerceErrorConflict {
    tag: 'conflict',
    val: string,
  }
  /**
   * The manifest does not request commerce: the message names the line to add
   * to `hearth.toml`. Retrying does not help.
   */
  export interface CommerceErrorNotGranted {
    tag: 'not-granted',
    val: string,
  }
}
