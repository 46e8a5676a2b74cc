// Generates `generated/`: TypeScript declarations of the `partner-plugin` world, from
// the repository's WIT. Run by `npm run generate` after a WIT change; `npm run check`
// fails when the committed files are stale.
//
// jco's type generator runs a WebAssembly component under jco's WASI shim, whose
// filesystem starts with no preopened directory, so it cannot read any WIT file
// ("failed to read path for WIT"). The shim is a module singleton: opening the host
// root in it before the generator runs is the whole fix.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wit = resolve(here, '../../../wit');
const out = resolve(here, '../generated');

const transpile = import.meta.resolve('@bytecodealliance/jco-transpile');
const shim = createRequire(new URL(transpile)).resolve('@bytecodealliance/preview2-shim/filesystem');
const { _setPreopens } = await import(pathToFileURL(shim));
_setPreopens({ '/': '/' });
const { generateGuestTypes } = await import(transpile);
const files = await generateGuestTypes(wit, { worldName: 'partner-plugin' });

const check = process.argv.includes('--check');
const stale = [];
if (!check) rmSync(out, { recursive: true, force: true });
for (const [name, bytes] of Object.entries(files)) {
  const path = join(out, name);
  if (check) {
    let current = null;
    try {
      current = readFileSync(path);
    } catch {}
    if (current === null || !Buffer.from(bytes).equals(current)) stale.push(name);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  }
}
if (stale.length > 0) {
  console.error(`generated/ is stale (${stale.join(', ')}): run npm run generate in sdk/typescript`);
  process.exit(1);
}
console.error(check ? 'generated/ matches the WIT' : `wrote ${Object.keys(files).length} files to generated/`);
