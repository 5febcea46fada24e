import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const UI = resolve(__dirname, "..");
const ROOT = resolve(UI, "..");
export const STATE_FILE = join(UI, "test-results", "e2e-server.json");

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`orchestrator serve exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`orchestrator serve did not answer ${url}/healthz within ${timeoutMs / 1000}s`);
}

export default async function globalSetup(): Promise<void> {
  const out = join(UI, "out");
  if (!existsSync(join(out, "index.html"))) {
    throw new Error("ui/out is missing: run `npm run build` (or `make ui`) before the browser tests");
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "orch-e2e-"));
  mkdirSync(join(UI, "test-results"), { recursive: true });
  const log = createWriteStream(join(UI, "test-results", "server.log"));
  const python = process.env.ORCH_BIN ?? join(ROOT, ".venv", "bin", "orchestrator");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ORCH_DATA_DIR: dataDir,
    ORCH_UI_DIR: out,
    // Slow enough to watch tasks move, fast enough for the suite (a hello-world job ≈ 8 s).
    ORCH_SIM_LATENCY_SCALE: process.env.ORCH_SIM_LATENCY_SCALE ?? "0.2",
  };
  // The tests exercise the simulator, whatever keys the machine has.
  for (const key of Object.keys(env)) if (key.endsWith("_API_KEY")) delete env[key];
  const child = spawn(python, ["serve", "--port", String(port), "--log-level", "warning"], {
    cwd: dataDir,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const baseURL = `http://127.0.0.1:${port}`;
  writeFileSync(STATE_FILE, JSON.stringify({ pid: child.pid, dataDir, baseURL }));
  process.env.E2E_BASE_URL = baseURL;
  await waitHealthy(baseURL, child, 180_000);
  child.unref();
}
