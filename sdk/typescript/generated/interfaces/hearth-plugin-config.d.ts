declare module 'hearth:plugin/config@0.2.0' {
  /**
   * The value for `key`, if the operator set one.
   */
  export function get(key: string): string | undefined;
}
