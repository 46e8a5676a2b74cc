/// <reference path="./hearth-plugin-types.d.ts" />
declare module 'hearth:plugin/devices@0.2.0' {
  /**
   * Kind, model and region of a device the plugin received events from.
   */
  export function describe(device: DeviceRef): DeviceInfo;
  /**
   * Queues a command for the appliance; returns the command id.
   */
  export function send(device: DeviceRef, command: Command): string;
  export type DeviceRef = import('hearth:plugin/types@0.2.0').DeviceRef;
  export type Command = CommandSetTemperature | CommandPreheat | CommandStartProgram | CommandStop;
  /**
   * Cooling/heating setpoint, 0.01 °C.
   */
  export interface CommandSetTemperature {
    tag: 'set-temperature',
    val: number,
  }
  /**
   * Oven preheat to a temperature, 0.01 °C.
   */
  export interface CommandPreheat {
    tag: 'preheat',
    val: number,
  }
  /**
   * Start a named program.
   */
  export interface CommandStartProgram {
    tag: 'start-program',
    val: string,
  }
  export interface CommandStop {
    tag: 'stop',
  }
  /**
   * What a plugin may know about a device: coarse, never identifying.
   */
  export interface DeviceInfo {
    /**
     * `fridge`, `oven`, `water-purifier`, `air-conditioner`, …
     */
    kind: string,
    model: string,
    /**
     * Country or region code the appliance is used in, e.g. `DE`, `KR-11`.
     */
    region: string,
  }
  export type DeviceError = DeviceErrorUnknownDevice | DeviceErrorNotGranted | DeviceErrorNoConsent | DeviceErrorInvalid;
  /**
   * The ref is not one this plugin was given.
   */
  export interface DeviceErrorUnknownDevice {
    tag: 'unknown-device',
    val: string,
  }
  /**
   * The plugin's grant does not include this command kind for this device kind.
   */
  export interface DeviceErrorNotGranted {
    tag: 'not-granted',
    val: string,
  }
  /**
   * The household has not given this plugin control of the device.
   */
  export interface DeviceErrorNoConsent {
    tag: 'no-consent',
    val: string,
  }
  export interface DeviceErrorInvalid {
    tag: 'invalid',
    val: string,
  }
}
