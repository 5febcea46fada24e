import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { startServer } from "./server";

export const STATE_FILE = join(resolve(__dirname, ".."), "test-results", "e2e-server.json");

export default async function globalSetup(): Promise<void> {
  const server = await startServer("server");
  writeFileSync(STATE_FILE, JSON.stringify(server));
  process.env.E2E_BASE_URL = server.baseURL;
}
