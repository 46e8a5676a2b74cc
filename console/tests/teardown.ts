import { world } from "./world";

export default async function teardown(): Promise<void> {
  for (const pid of world().pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
