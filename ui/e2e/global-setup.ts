import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { startServer } from "./server";

export const RESULTS = process.env.E2E_OUTPUT_DIR
  ? resolve(process.env.E2E_OUTPUT_DIR)
  : join(resolve(__dirname, ".."), "test-results");
export const STATE_FILE = join(RESULTS, "e2e-server.json");

export default async function globalSetup(): Promise<void> {
  const server = await startServer("server");
  writeFileSync(STATE_FILE, JSON.stringify(server));
  process.env.E2E_BASE_URL = server.baseURL;
}
