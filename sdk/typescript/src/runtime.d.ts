// What the component's JavaScript engine (StarlingMonkey) provides beyond ES2022 that
// the SDK uses. Declared here so that plugins compile with `lib: ["es2022"]` and no
// DOM or Node.js types, which would promise APIs a plugin does not have.

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string);
  decode(input?: Uint8Array): string;
}
