import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setUp } from "./world";

export default async function setup(): Promise<void> {
  const world = await setUp();
  const file = join(world.dir, "world.json");
  writeFileSync(file, JSON.stringify(world));
  process.env.HEARTH_CONSOLE_WORLD = file;
}
