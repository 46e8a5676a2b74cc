// The world the browser tests run in: a real `hearth serve` and a real
// `hearth-registry` on loopback ports, in a temporary directory, with signed
// packages of two plugins by two publishers. Set up once (setup.ts); tests read
// it from the file named by HEARTH_CONSOLE_WORLD.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const RELEASE = process.env.HEARTH_TARGET_DIR ?? join(ROOT, "target/release");
const COMPONENTS = join(ROOT, "target/plugins/wasm32-wasip2/release");

export interface World {
  dir: string;
  url: string;
  registry: string;
  operator: string;
  /** Partner tokens by publisher. */
  partners: Record<string, string>;
  /** The household's user token. */
  user: string;
  /** A device of the test household, with its token. */
  device: { id: string; token: string };
  /** Package files: recipe 0.1.0 and 0.2.0 (by `example`), recorder 0.1.0 (by `test`). */
  packages: { recipe: string; recipeNext: string; recorder: string };
  pids: number[];
  artifacts: string;
}

export function world(): World {
  const file = process.env.HEARTH_CONSOLE_WORLD;
  if (!file) throw new Error("HEARTH_CONSOLE_WORLD is not set: run the tests through playwright's global setup");
  return JSON.parse(readFileSync(file, "utf8")) as World;
}

export const RECIPE = "com.example.recipe-service";
export const RECORDER = "test.hearth.recorder";

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? done(address.port) : fail(new Error("no port"))));
    });
  });
}

function hearth(args: string[], cwd: string): string {
  return execFileSync(join(RELEASE, "hearth"), args, { cwd, encoding: "utf8", env: { ...process.env, RUST_BACKTRACE: "0" } });
}

/** Processes started so far: killed by the teardown, or at once if the set-up fails. */
const started: ChildProcess[] = [];

function start(program: string, args: string[], log: string): ChildProcess {
  const out = openSync(log, "a");
  const child = spawn(program, args, { stdio: ["ignore", out, out], detached: false, env: { ...process.env, RUST_BACKTRACE: "0" } });
  child.unref();
  started.push(child);
  return child;
}

export async function setUp(): Promise<World> {
  try {
    return await setUpProcesses();
  } catch (failure) {
    for (const child of started) child.kill("SIGKILL");
    throw failure;
  }
}

async function ready(url: string, path: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      if ((await fetch(`${url}${path}`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  throw new Error(`${url} did not become ready in 30 s`);
}

/** A JSON request as `token`; throws with the API's message on failure. */
export async function call<T>(base: string, token: string, method: string, path: string, body?: unknown, type = "application/json"): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let payload: BodyInit | undefined;
  if (body instanceof Uint8Array) {
    headers["content-type"] = type;
    payload = new Blob([new Uint8Array(body)]);
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(`${base}${path}`, { method, headers, body: payload });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

function manifestWithVersion(source: string, version: string, dir: string): string {
  const text = readFileSync(source, "utf8").replace(/^version = ".*"$/m, `version = "${version}"`);
  const path = join(dir, `manifest-${version}.toml`);
  writeFileSync(path, text);
  return path;
}

async function setUpProcesses(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-console-"));
  const artifacts = process.env.HEARTH_CONSOLE_ARTIFACTS ?? join(ROOT, "target/console-screenshots");
  // Keys and signed packages.
  hearth(["keys", "generate", "example", "--dir", dir], dir);
  hearth(["keys", "generate", "test", "--dir", dir], dir);
  const pack = (component: string, manifest: string, key: string, out: string) => {
    hearth(["plugin", "pack", "--component", join(COMPONENTS, component), "--manifest", manifest, "--key", join(dir, key), "--out", join(dir, out)], dir);
    return join(dir, out);
  };
  const recipeManifest = join(ROOT, "example-plugins/recipe-service/hearth.toml");
  const packages = {
    recipe: pack("recipe_service.wasm", recipeManifest, "example.key", "recipe-0.1.0.hpkg"),
    recipeNext: pack("recipe_service.wasm", manifestWithVersion(recipeManifest, "0.2.0", dir), "example.key", "recipe-0.2.0.hpkg"),
    recorder: pack("recorder_plugin.wasm", join(ROOT, "tests/fixtures/recorder/hearth.toml"), "test.key", "recorder-0.1.0.hpkg"),
  };

  // The registry, with 0.2.0 of the recipe service published.
  const registryPort = await freePort();
  const registry = `http://127.0.0.1:${registryPort}`;
  const registryAdmin = randomBytes(24).toString("hex");
  writeFileSync(join(dir, "registry-admin"), registryAdmin);
  const registryProcess = start(
    join(RELEASE, "hearth-registry"),
    ["--data", join(dir, "registry"), "--listen", `127.0.0.1:${registryPort}`, "--admin-token-file", join(dir, "registry-admin")],
    join(dir, "registry.log"),
  );
  await ready(registry, "/v1/plugins?q=");
  const examplePub = readFileSync(join(dir, "example.pub"), "utf8").trim();
  const publisher = await call<{ token: string }>(registry, registryAdmin, "POST", "/v1/publishers", { name: "example", key: examplePub });
  await call(registry, publisher.token, "POST", "/v1/packages", readFileSync(packages.recipeNext), "application/vnd.hearth.package");

  // The host, trusting both publishers, with one household and a fridge.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const operator = randomBytes(24).toString("hex");
  writeFileSync(join(dir, "operator-token"), operator);
  const serve = start(
    join(RELEASE, "hearth"),
    [
      "serve",
      "--data",
      join(dir, "host"),
      "--listen",
      `127.0.0.1:${port}`,
      "--operator-token-file",
      join(dir, "operator-token"),
      "--registry",
      registry,
      "--retry-backoff-ms",
      "1",
      "--retry-backoff-max-ms",
      "2",
    ],
    join(dir, "hearth.log"),
  );
  await ready(url, "/readyz");
  await call(url, operator, "POST", "/v1/trust/example", { key: examplePub });
  await call(url, operator, "POST", "/v1/trust/test", { key: readFileSync(join(dir, "test.pub"), "utf8").trim() });
  await call(url, operator, "POST", "/v1/households", { id: "house-1" });
  await call(url, operator, "POST", "/v1/devices", { id: "fridge-1", household: "house-1", kind: "fridge", model: "RF-1", region: "DE" });
  const token = async (role: string, scope: string) =>
    (await call<{ token: string }>(url, operator, "POST", "/v1/tokens", { role, scope })).token;
  const partners = { example: await token("partner", "example"), test: await token("partner", "test") };
  const device = { id: "fridge-1", token: await token("device", "fridge-1") };
  const user = await token("user", "house-1");
  const world: World = {
    dir,
    url,
    registry,
    operator,
    partners,
    user,
    device,
    packages,
    pids: [serve.pid ?? 0, registryProcess.pid ?? 0],
    artifacts,
  };
  return world;
}
