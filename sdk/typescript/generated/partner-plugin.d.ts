/// <reference path="./interfaces/hearth-plugin-commerce.d.ts" />
/// <reference path="./interfaces/hearth-plugin-config.d.ts" />
/// <reference path="./interfaces/hearth-plugin-devices.d.ts" />
/// <reference path="./interfaces/hearth-plugin-handler.d.ts" />
/// <reference path="./interfaces/hearth-plugin-kv.d.ts" />
/// <reference path="./interfaces/hearth-plugin-log.d.ts" />
/// <reference path="./interfaces/hearth-plugin-notify.d.ts" />
/// <reference path="./interfaces/hearth-plugin-services.d.ts" />
/// <reference path="./interfaces/hearth-plugin-types.d.ts" />
declare module 'hearth:plugin/partner-plugin@0.2.0' {
  export type * as HearthPluginCommerce020 from 'hearth:plugin/commerce@0.2.0'; // import hearth:plugin/commerce@0.2.0
  export type * as HearthPluginConfig020 from 'hearth:plugin/config@0.2.0'; // import hearth:plugin/config@0.2.0
  export type * as HearthPluginDevices020 from 'hearth:plugin/devices@0.2.0'; // import hearth:plugin/devices@0.2.0
  export type * as HearthPluginKv020 from 'hearth:plugin/kv@0.2.0'; // import hearth:plugin/kv@0.2.0
  export type * as HearthPluginLog020 from 'hearth:plugin/log@0.2.0'; // import hearth:plugin/log@0.2.0
  export type * as HearthPluginNotify020 from 'hearth:plugin/notify@0.2.0'; // import hearth:plugin/notify@0.2.0
  export type * as HearthPluginServices020 from 'hearth:plugin/services@0.2.0'; // import hearth:plugin/services@0.2.0
  export type * as HearthPluginTypes020 from 'hearth:plugin/types@0.2.0'; // import hearth:plugin/types@0.2.0
  export * as handler from 'hearth:plugin/handler@0.2.0'; // export hearth:plugin/handler@0.2.0
}
