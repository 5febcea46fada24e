import { readFileSync } from "node:fs";

import { STATE_FILE } from "./global-setup";
import { type RunningServer, stopServer } from "./server";

export default async function globalTeardown(): Promise<void> {
  await stopServer(JSON.parse(readFileSync(STATE_FILE, "utf8")) as RunningServer);
}
