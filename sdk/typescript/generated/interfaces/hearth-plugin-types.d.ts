declare module 'hearth:plugin/types@0.2.0' {
  /**
   * A household as this plugin sees it: a keyed hash that is stable for this plugin
   * and unlinkable to the ref another plugin sees. Never the real account id.
   */
  export type UserRef = string;
  /**
   * A device as this plugin sees it, pseudonymous in the same way as `user-ref`.
   */
  export type DeviceRef = string;
  /**
   * A calendar date (Gregorian, no time zone), as printed on food packaging.
   */
  export interface Date {
    year: number,
    /**
     * 1..=12
     */
    month: number,
    /**
     * 1..=31
     */
    day: number,
  }
  /**
   * What happened to a fridge item.
   * # Variants
   * 
   * ## `"added"`
   * 
   * `quantity` more of the item went in.
   * ## `"removed"`
   * 
   * `quantity` of the item was taken out.
   * ## `"counted"`
   * 
   * The item was recounted: `quantity` is now the whole amount in the fridge.
   */
  export type InventoryAction = 'added' | 'removed' | 'counted';
  /**
   * Units a fridge reports quantities in.
   * # Variants
   * 
   * ## `"pieces"`
   * 
   * Countable items (eggs, lemons).
   * ## `"grams"`
   * 
   * ## `"millilitres"`
   */
  export type QuantityUnit = 'pieces' | 'grams' | 'millilitres';
  export interface Quantity {
    amount: number,
    unit: QuantityUnit,
  }
  /**
   * A fridge inventory change, as reported by camera- or scale-equipped fridges.
   */
  export interface InventoryChange {
    /**
     * Normalised item name, lower case, singular: `egg`, `whole milk`, `tomato`.
     */
    item: string,
    action: InventoryAction,
    quantity: Quantity,
    /**
     * Best-before date, when the fridge knows it.
     */
    bestBefore?: Date,
  }
  /**
   * Fridge door state (Home Connect `BSH.Common.Status.DoorState`, Matter
   * Refrigerator Alarm `DoorOpen`).
   * # Variants
   * 
   * ## `"open"`
   * 
   * ## `"closed"`
   * 
   * ## `"alarm"`
   * 
   * The door has been open longer than the appliance allows.
   */
  export type DoorState = 'open' | 'closed' | 'alarm';
  /**
   * Matter OperationalState `OperationalStateEnum`.
   * # Variants
   * 
   * ## `"stopped"`
   * 
   * ## `"running"`
   * 
   * ## `"paused"`
   * 
   * ## `"error"`
   */
  export type OperationalState = 'stopped' | 'running' | 'paused' | 'error';
  /**
   * Matter OvenMode common tags, plus the Home Connect heating modes they cover.
   * # Variants
   * 
   * ## `"bake"`
   * 
   * ## `"convection"`
   * 
   * ## `"grill"`
   * 
   * ## `"roast"`
   * 
   * ## `"clean"`
   * 
   * ## `"convection-bake"`
   * 
   * ## `"convection-roast"`
   * 
   * ## `"warming"`
   * 
   * ## `"proofing"`
   * 
   * ## `"steam"`
   */
  export type OvenMode = 'bake' | 'convection' | 'grill' | 'roast' | 'clean' | 'convection-bake' | 'convection-roast' | 'warming' | 'proofing' | 'steam';
  /**
   * The oven's state. Temperatures are in 0.01 °C, as in Matter TemperatureControl
   * (18000 = 180 °C).
   */
  export interface OvenState {
    state: OperationalState,
    mode: OvenMode,
    /**
     * Target cavity temperature, when a program sets one.
     */
    setpointCentiCelsius?: number,
    /**
     * Measured cavity temperature, when the oven reports it.
     */
    currentCentiCelsius?: number,
  }
  /**
   * Home Connect `BSH.Common.Event.ProgramFinished`. For a robot vacuum the
   * program is the cleaning mode, for a coffee maker the beverage.
   */
  export interface ProgramFinished {
    /**
     * The program key, e.g. `Cooking.Oven.Program.HeatingMode.HotAir`.
     */
    program: string,
    /**
     * How long the program ran, in seconds.
     */
    durationS: number,
  }
  /**
   * Matter ResourceMonitoring `ChangeIndicationEnum`.
   * # Variants
   * 
   * ## `"ok"`
   * 
   * ## `"warning"`
   * 
   * ## `"critical"`
   */
  export type ChangeIndication = 'ok' | 'warning' | 'critical';
  /**
   * One replaceable filter (Matter ResourceMonitoring cluster instance).
   */
  export interface FilterStatus {
    /**
     * The filter's position or kind, e.g. `sediment`, `carbon`, `ro-membrane`.
     */
    name: string,
    /**
     * Remaining life, 0..=100 %.
     */
    conditionPercent: number,
    changeIndication: ChangeIndication,
  }
  /**
   * Periodic water-purifier readings.
   */
  export interface PurifierTelemetry {
    /**
     * Total dissolved solids of the incoming water, ppm.
     */
    tdsInPpm: number,
    /**
     * Total dissolved solids of the purified water, ppm.
     */
    tdsOutPpm: number,
    /**
     * Water purified since installation, litres.
     */
    litresTotal: number,
    filters: Array<FilterStatus>,
  }
  /**
   * # Variants
   * 
   * ## `"leak"`
   * 
   * ## `"tds-anomaly"`
   * 
   * Purified water TDS out of the expected range.
   * ## `"filter-expired"`
   * 
   * A filter passed its end of life.
   * ## `"low-pressure"`
   * 
   * Inlet pressure too low to purify.
   * ## `"other"`
   * 
   * A fault the catalogue has no name for; see `detail`.
   */
  export type PurifierFaultKind = 'leak' | 'tds-anomaly' | 'filter-expired' | 'low-pressure' | 'other';
  export interface PurifierFault {
    kind: PurifierFaultKind,
    /**
     * The appliance's fault code or text, for support staff.
     */
    detail: string,
  }
  /**
   * Matter AirQuality `AirQualityEnum`.
   * # Variants
   * 
   * ## `"unknown"`
   * 
   * ## `"good"`
   * 
   * ## `"fair"`
   * 
   * ## `"moderate"`
   * 
   * ## `"poor"`
   * 
   * ## `"very-poor"`
   * 
   * ## `"extremely-poor"`
   */
  export type AirQuality = 'unknown' | 'good' | 'fair' | 'moderate' | 'poor' | 'very-poor' | 'extremely-poor';
  /**
   * Air conditioner / air purifier readings. Temperature in 0.01 °C, relative
   * humidity in 0.01 % (Matter TemperatureMeasurement, RelativeHumidityMeasurement).
   */
  export interface AirTelemetry {
    temperatureCentiCelsius: number,
    humidityCentiPercent: number,
    airQuality: AirQuality,
    /**
     * Remaining life of the air filter, 0..=100 %, when the appliance has one.
     */
    filterConditionPercent?: number,
    /**
     * The air conditioner's cooling setpoint (Matter Thermostat
     * `OccupiedCoolingSetpoint`), when it is cooling.
     */
    coolingSetpointCentiCelsius?: number,
  }
  export interface OrderConfirmation {
    /**
     * The id the plugin gave when it proposed the order.
     */
    orderId: string,
  }
  /**
   * A program-driven appliance's state (Matter OperationalState; Home Connect
   * `BSH.Common.Status.OperationState`, `BSH.Common.Root.ActiveProgram`,
   * `BSH.Common.Option.RemainingProgramTime`, `BSH.Common.Option.ProgramProgress`).
   */
  export interface ProgramState {
    state: OperationalState,
    /**
     * The active program's key, e.g. `LaundryCare.Washer.Program.Cotton`.
     */
    program?: string,
    /**
     * Time left until the program ends, in seconds.
     */
    remainingS?: number,
    /**
     * 0..=100 %.
     */
    progressPercent?: number,
    /**
     * The program's temperature (washer, dishwasher), 0.01 °C.
     */
    temperatureCentiCelsius?: number,
    /**
     * The washer's spin speed, revolutions per minute (Matter LaundryWasherControls).
     */
    spinRpm?: number,
  }
  /**
   * Things an appliance uses up or wears out.
   * # Variants
   * 
   * ## `"detergent"`
   * 
   * Washer or dishwasher detergent (Home Connect i-Dos tanks, dishwasher tabs).
   * ## `"softener"`
   * 
   * Washer fabric softener.
   * ## `"rinse-aid"`
   * 
   * Dishwasher rinse aid.
   * ## `"salt"`
   * 
   * Dishwasher regeneration salt.
   * ## `"lint-filter"`
   * 
   * Dryer lint filter.
   * ## `"grease-filter"`
   * 
   * Hood grease filter.
   * ## `"carbon-filter"`
   * 
   * Hood (recirculation) or vacuum carbon / odour filter.
   * ## `"water-filter"`
   * 
   * Coffee maker water filter.
   * ## `"beans"`
   * 
   * Coffee beans.
   * ## `"water-tank"`
   * 
   * Coffee maker water tank.
   * ## `"descaling"`
   * 
   * Coffee maker or washer descaling (Home Connect `Descaling` counters).
   * ## `"dust-bag"`
   * 
   * Robot vacuum dust bag or bin.
   * ## `"brushes"`
   * 
   * Robot vacuum main and side brushes.
   * ## `"vacuum-filter"`
   * 
   * Robot vacuum air filter.
   */
  export type ConsumableKind = 'detergent' | 'softener' | 'rinse-aid' | 'salt' | 'lint-filter' | 'grease-filter' | 'carbon-filter' | 'water-filter' | 'beans' | 'water-tank' | 'descaling' | 'dust-bag' | 'brushes' | 'vacuum-filter';
  /**
   * One consumable's level (Matter ResourceMonitoring: condition and change
   * indication).
   */
  export interface Consumable {
    kind: ConsumableKind,
    /**
     * What is left, 0..=100 %, when the appliance measures it.
     */
    levelPercent?: number,
    changeIndication: ChangeIndication,
  }
  /**
   * How bad an appliance fault is.
   * # Variants
   * 
   * ## `"warning"`
   * 
   * The appliance works on; someone should look (Home Connect events in
   * state `Present`, e.g. a blocked drain pump warning).
   * ## `"error"`
   * 
   * The program stopped (Matter OperationalState `error`).
   */
  export type FaultSeverity = 'warning' | 'error';
  /**
   * A fault a washer, dryer, dishwasher, cooktop, hood, coffee maker or robot vacuum
   * reported (Matter OperationalError, Home Connect fault events).
   */
  export interface ApplianceFault {
    severity: FaultSeverity,
    /**
     * The appliance's fault code or event key, e.g. `Dishcare.Dishwasher.Event.WaterheaterCalcified`.
     */
    code: string,
    /**
     * Text for support staff; may be empty.
     */
    detail: string,
  }
  /**
   * A cooktop's zones (Home Connect `Cooking.Hob`).
   */
  export interface CooktopState {
    /**
     * Zones switched on now.
     */
    activeZones: number,
    /**
     * Zones the cooktop has.
     */
    zones: number,
    /**
     * The power level of the hottest active zone, 0..=9 (0: all off).
     */
    maxPowerLevel: number,
  }
  /**
   * A hood's state (Matter FanControl; Home Connect `Cooking.Common.Option.Hood.*`).
   */
  export interface HoodState {
    /**
     * Fan level, 0 (off) ..= 5.
     */
    fanLevel: number,
    /**
     * Intensive (boost) level running.
     */
    boost: boolean,
    light: boolean,
    /**
     * Automatic mode: the hood follows the cooktop.
     */
    automatic: boolean,
  }
  /**
   * Matter RvcOperationalState: OperationalState plus what a robot vacuum does
   * between runs.
   * # Variants
   * 
   * ## `"stopped"`
   * 
   * ## `"cleaning"`
   * 
   * ## `"paused"`
   * 
   * ## `"error"`
   * 
   * ## `"seeking-charger"`
   * 
   * On its way back to the dock.
   * ## `"charging"`
   * 
   * ## `"docked"`
   * 
   * On the dock, charged.
   */
  export type VacuumActivity = 'stopped' | 'cleaning' | 'paused' | 'error' | 'seeking-charger' | 'charging' | 'docked';
  /**
   * A robot vacuum's state.
   */
  export interface VacuumState {
    activity: VacuumActivity,
    /**
     * 0..=100 %.
     */
    batteryPercent: number,
    /**
     * The cleaning mode (Matter RvcCleanMode), e.g. `vacuum`, `mop`, `deep-clean`.
     */
    mode?: string,
  }
  /**
   * An event outside the catalogue: a topic under `ext.` (`ext.<publisher or
   * vendor>.…`, e.g. `ext.homeconnect.BSH.Common.Status.RemoteControlActive`), or a
   * vendor key the appliance-cloud adapters at ingest have no catalogue place for.
   * Any device may send `ext.` topics; the body is a JSON object of at most 16 KiB.
   * The SDK decodes it into the plugin's own types.
   */
  export interface OtherEvent {
    /**
     * The topic, repeated so the payload is self-describing.
     */
    topic: string,
    /**
     * The event body as JSON text, validated by the host.
     */
    json: string,
  }
  /**
   * The event catalogue. Topics outside the catalogue arrive as `other`.
   */
  export type EventBody = EventBodyFridgeInventory | EventBodyFridgeDoor | EventBodyOvenState | EventBodyOvenProgramFinished | EventBodyPurifierTelemetry | EventBodyPurifierFault | EventBodyAirTelemetry | EventBodyOrderConfirmed | EventBodyConsentRevoked | EventBodyOther | EventBodyProgramState | EventBodyProgramFinished | EventBodyApplianceDoor | EventBodyConsumables | EventBodyApplianceFault | EventBodyCooktopState | EventBodyHoodState | EventBodyVacuumState;
  /**
   * `appliance.fridge.inventory`: an item was added, removed or recounted.
   */
  export interface EventBodyFridgeInventory {
    tag: 'fridge-inventory',
    val: InventoryChange,
  }
  /**
   * `appliance.fridge.door`: the door opened, closed, or has been open too long.
   */
  export interface EventBodyFridgeDoor {
    tag: 'fridge-door',
    val: DoorState,
  }
  /**
   * `appliance.oven.state`: the oven's operational state, mode or temperatures changed.
   */
  export interface EventBodyOvenState {
    tag: 'oven-state',
    val: OvenState,
  }
  /**
   * `appliance.oven.program-finished`: a cooking program ran to its end.
   */
  export interface EventBodyOvenProgramFinished {
    tag: 'oven-program-finished',
    val: ProgramFinished,
  }
  /**
   * `appliance.water-purifier.telemetry`: periodic water-quality and filter readings.
   */
  export interface EventBodyPurifierTelemetry {
    tag: 'purifier-telemetry',
    val: PurifierTelemetry,
  }
  /**
   * `appliance.water-purifier.fault`: the purifier detected a fault.
   */
  export interface EventBodyPurifierFault {
    tag: 'purifier-fault',
    val: PurifierFault,
  }
  /**
   * `appliance.air.telemetry`: air conditioner / purifier readings.
   */
  export interface EventBodyAirTelemetry {
    tag: 'air-telemetry',
    val: AirTelemetry,
  }
  /**
   * `household.order.confirmed`: the household confirmed an order this plugin proposed.
   */
  export interface EventBodyOrderConfirmed {
    tag: 'order-confirmed',
    val: OrderConfirmation,
  }
  /**
   * `household.consent.revoked`: the household withdrew this plugin's access.
   * The plugin should forget what it keeps about the household.
   */
  export interface EventBodyConsentRevoked {
    tag: 'consent-revoked',
  }
  /**
   * Any topic outside the catalogue.
   */
  export interface EventBodyOther {
    tag: 'other',
    val: OtherEvent,
  }
  /**
   * `appliance.<kind>.state` of a washer, dryer, dishwasher or coffee maker: the
   * running program and its progress changed.
   */
  export interface EventBodyProgramState {
    tag: 'program-state',
    val: ProgramState,
  }
  /**
   * `appliance.<kind>.program-finished` of a washer, dryer, dishwasher, coffee
   * maker or robot vacuum.
   */
  export interface EventBodyProgramFinished {
    tag: 'program-finished',
    val: ProgramFinished,
  }
  /**
   * `appliance.<kind>.door` of a washer, dryer or dishwasher.
   */
  export interface EventBodyApplianceDoor {
    tag: 'appliance-door',
    val: DoorState,
  }
  /**
   * `appliance.<kind>.consumables` of a washer, dryer, dishwasher, hood, coffee
   * maker or robot vacuum: the levels of what it uses up.
   */
  export interface EventBodyConsumables {
    tag: 'consumables',
    val: Array<Consumable>,
  }
  /**
   * `appliance.<kind>.fault` of a washer, dryer, dishwasher, cooktop, hood, coffee
   * maker or robot vacuum.
   */
  export interface EventBodyApplianceFault {
    tag: 'appliance-fault',
    val: ApplianceFault,
  }
  /**
   * `appliance.cooktop.state`: zones switched on or off.
   */
  export interface EventBodyCooktopState {
    tag: 'cooktop-state',
    val: CooktopState,
  }
  /**
   * `appliance.hood.state`: fan level, boost and light.
   */
  export interface EventBodyHoodState {
    tag: 'hood-state',
    val: HoodState,
  }
  /**
   * `appliance.robot-vacuum.state`: what the robot is doing and its battery.
   */
  export interface EventBodyVacuumState {
    tag: 'vacuum-state',
    val: VacuumState,
  }
  /**
   * One appliance or household event, delivered at least once. `id` is unique per
   * device (per household for events without a device), so a plugin that must not
   * act twice can remember the (device, id) pairs it has handled.
   */
  export interface Event {
    /**
     * Event id, unique per device (stable across redeliveries).
     */
    id: string,
    /**
     * Dot-separated topic, e.g. `appliance.fridge.inventory`.
     */
    topic: string,
    /**
     * When the appliance observed the event, milliseconds since the Unix epoch (UTC).
     */
    timeMs: bigint,
    /**
     * The household the event belongs to.
     */
    household: UserRef,
    /**
     * The device that sent it, when one did.
     */
    device?: DeviceRef,
    /**
     * The typed payload.
     */
    body: EventBody,
  }
  /**
   * Who is calling a service.
   */
  export type Caller = CallerOperator | CallerHousehold | CallerDevice | CallerPlugin;
  /**
   * The platform operator.
   */
  export interface CallerOperator {
    tag: 'operator',
  }
  /**
   * A household, through the household app.
   */
  export interface CallerHousehold {
    tag: 'household',
    val: UserRef,
  }
  /**
   * An appliance.
   */
  export interface CallerDevice {
    tag: 'device',
    val: DeviceRef,
  }
  /**
   * Another plugin, by plugin id.
   */
  export interface CallerPlugin {
    tag: 'plugin',
    val: string,
  }
  /**
   * A call of one service operation, e.g. service `recipes`, operation `suggest`.
   */
  export interface ServiceRequest {
    service: string,
    operation: string,
    caller: Caller,
    /**
     * The household the call is made for, when there is one.
     */
    household?: UserRef,
    /**
     * The request body, JSON.
     */
    input: Uint8Array,
  }
  export interface ServiceResponse {
    /**
     * The response body, JSON.
     */
    output: Uint8Array,
  }
  /**
   * An error a plugin returns. The host passes it to the caller; a trap is reported
   * separately and never looks like one of these.
   */
  export type PluginError = PluginErrorInvalidInput | PluginErrorNotFound | PluginErrorUnavailable | PluginErrorInternal;
  /**
   * The input was malformed or failed validation; the message says why.
   */
  export interface PluginErrorInvalidInput {
    tag: 'invalid-input',
    val: string,
  }
  /**
   * The requested thing (operation, household data, item) does not exist.
   */
  export interface PluginErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  /**
   * A dependency is down; the caller may retry later.
   */
  export interface PluginErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
  /**
   * A bug or unexpected state in the plugin.
   */
  export interface PluginErrorInternal {
    tag: 'internal',
    val: string,
  }
}
