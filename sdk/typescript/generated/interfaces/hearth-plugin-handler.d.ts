/// <reference path="./hearth-plugin-types.d.ts" />
declare module 'hearth:plugin/handler@0.2.0' {
  /**
   * Called once on each fresh instance before any other call.
   */
  export function init(): void;
  /**
   * One event from a topic the plugin subscribes to. Returning `ok` acknowledges it;
   * an error makes the host retry it later.
   */
  export function onEvent(event: Event): void;
  /**
   * Several events at once, in delivery order: each device's events in the order it
   * sent them. Returns one result per event handled, in the same order; each `ok`
   * acknowledges its event, an error makes the host retry that one later. A plugin
   * may stop early and return fewer results than events (e.g. after an error, to
   * keep a device's later events behind it): the rest are delivered again. The call
   * has the event deadline once per event; if it traps or runs out of time, the
   * host delivers the same events again one by one through `on-event`, so one bad
   * event fails alone.
   */
  export function onEvents(events: Array<Event>): Array<Result<void, PluginError>>;
  /**
   * A call of a service this plugin provides.
   */
  export function handle(request: ServiceRequest): ServiceResponse;
  export type Event = import('hearth:plugin/types@0.2.0').Event;
  export type ServiceRequest = import('hearth:plugin/types@0.2.0').ServiceRequest;
  export type ServiceResponse = import('hearth:plugin/types@0.2.0').ServiceResponse;
  export type PluginError = import('hearth:plugin/types@0.2.0').PluginError;
  export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
}
