import { readFileSync, rmSync } from "node:fs";

import { STATE_FILE } from "./global-setup";

export default async function globalTeardown(): Promise<void> {
  const { pid, dataDir } = JSON.parse(readFileSync(STATE_FILE, "utf8")) as { pid: number; dataDir: string };
  try {
    process.kill(-pid, "SIGTERM"); // the server's process group (spawned detached)
  } catch {
    // already gone
  }
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 200));
    } catch {
      break;
    }
  }
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // stopped in time
  }
  rmSync(dataDir, { recursive: true, force: true });
}
