declare module 'hearth:plugin/kv@0.2.0' {
  /**
   * The value stored under `key`, if any.
   */
  export function get(key: string): Uint8Array | undefined;
  /**
   * Store `value` under `key`, replacing what was there.
   */
  export function set(key: string, value: Uint8Array): void;
  /**
   * Remove `key`. Removing a missing key is not an error.
   */
  export { _delete as delete };
  function _delete(key: string): void;
  /**
   * Keys that start with `prefix`, in byte order.
   */
  export function listKeys(prefix: string): Array<string>;
  /**
   * Stores `value` only if the current value is `expected` (`none`: the key is
   * absent); returns whether it did.
   */
  export function compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): boolean;
  export type KvError = KvErrorInvalidKey | KvErrorValueTooLarge | KvErrorQuotaExceeded | KvErrorUnavailable | KvErrorNotGranted;
  /**
   * The key is empty or longer than the host allows (the message says the limit).
   */
  export interface KvErrorInvalidKey {
    tag: 'invalid-key',
    val: string,
  }
  /**
   * The value is larger than the per-value limit.
   */
  export interface KvErrorValueTooLarge {
    tag: 'value-too-large',
    val: string,
  }
  /**
   * The plugin's storage quota is used up.
   */
  export interface KvErrorQuotaExceeded {
    tag: 'quota-exceeded',
    val: string,
  }
  /**
   * The store could not serve the call right now; retrying later may succeed.
   */
  export interface KvErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
  /**
   * The manifest does not request kv: the message names the line to add to
   * `hearth.toml`. Retrying does not help.
   */
  export interface KvErrorNotGranted {
    tag: 'not-granted',
    val: string,
  }
}
