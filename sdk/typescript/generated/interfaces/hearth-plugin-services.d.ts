/// <reference path="./hearth-plugin-types.d.ts" />
declare module 'hearth:plugin/services@0.2.0' {
  /**
   * Calls `service.operation` with a JSON body, for `household` if given; returns the
   * JSON answer. The call shares the caller's deadline.
   */
  export function call(service: string, operation: string, household: UserRef | undefined, input: Uint8Array): Uint8Array;
  export type UserRef = import('hearth:plugin/types@0.2.0').UserRef;
  export type PluginError = import('hearth:plugin/types@0.2.0').PluginError;
  export type CallError = CallErrorNotFound | CallErrorNotAllowed | CallErrorCycle | CallErrorUnavailable | CallErrorFailed;
  /**
   * No installed plugin provides the operation.
   */
  export interface CallErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  /**
   * The operation is not in this plugin's `[services] calls`.
   */
  export interface CallErrorNotAllowed {
    tag: 'not-allowed',
    val: string,
  }
  /**
   * The call would loop back into a plugin already in the call chain, or the chain is too deep.
   */
  export interface CallErrorCycle {
    tag: 'cycle',
    val: string,
  }
  /**
   * Every provider is quarantined or failed; retry later.
   */
  export interface CallErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
  /**
   * The provider answered with an error.
   */
  export interface CallErrorFailed {
    tag: 'failed',
    val: PluginError,
  }
}
