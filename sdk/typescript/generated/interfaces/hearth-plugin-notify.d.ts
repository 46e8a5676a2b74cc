/// <reference path="./hearth-plugin-types.d.ts" />
declare module 'hearth:plugin/notify@0.2.0' {
  /**
   * Sends a notification; returns its id.
   */
  export function send(household: UserRef, notification: Notification): string;
  export type UserRef = import('hearth:plugin/types@0.2.0').UserRef;
  /**
   * # Variants
   * 
   * ## `"info"`
   * 
   * Something the household may like to know.
   * ## `"advice"`
   * 
   * A suggestion (save energy, try a recipe).
   * ## `"offer"`
   * 
   * A proposed order is waiting for the household.
   * ## `"alert"`
   * 
   * Something needs attention soon (a filter to change).
   * ## `"urgent"`
   * 
   * Something needs attention now (a leak).
   */
  export type Category = 'info' | 'advice' | 'offer' | 'alert' | 'urgent';
  /**
   * A button in the notification that calls one of the plugin's service operations.
   */
  export interface Action {
    label: string,
    /**
     * `service.operation` of this plugin, called with `input` when tapped.
     */
    operation: string,
    /**
     * JSON.
     */
    input: string,
  }
  export interface Notification {
    /**
     * At most 120 bytes.
     */
    title: string,
    /**
     * At most 2,000 bytes.
     */
    body: string,
    category: Category,
    action?: Action,
  }
  export type NotifyError = NotifyErrorUnknownHousehold | NotifyErrorRateLimited | NotifyErrorInvalid | NotifyErrorNotGranted;
  /**
   * The plugin has no grant from this household, or the ref is not one it was given.
   */
  export interface NotifyErrorUnknownHousehold {
    tag: 'unknown-household',
    val: string,
  }
  /**
   * Too many notifications to this household; retry after the window.
   */
  export interface NotifyErrorRateLimited {
    tag: 'rate-limited',
    val: string,
  }
  export interface NotifyErrorInvalid {
    tag: 'invalid',
    val: string,
  }
  /**
   * The manifest does not request notify: the message names the line to add to
   * `hearth.toml`. Retrying does not help.
   */
  export interface NotifyErrorNotGranted {
    tag: 'not-granted',
    val: string,
  }
}
