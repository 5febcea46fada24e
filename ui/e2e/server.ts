// Starts and stops a real `orchestrator serve` for the browser tests: a free port, a temporary
// data dir, the simulator (whatever keys the machine has), the built export (ui/out).
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const UI = resolve(__dirname, "..");
const ROOT = resolve(UI, "..");

export interface RunningServer {
  pid: number;
  dataDir: string;
  baseURL: string;
}

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

/** `orchestrator serve` with `env` on top; its output goes to test-results/<name>.log. */
export async function startServer(name: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const out = join(UI, "out");
  if (!existsSync(join(out, "index.html"))) {
    throw new Error("ui/out is missing: run `npm run build` (or `make ui`) before the browser tests");
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "orch-e2e-"));
  const results = process.env.E2E_OUTPUT_DIR ? resolve(process.env.E2E_OUTPUT_DIR) : join(UI, "test-results");
  mkdirSync(results, { recursive: true });
  const log = createWriteStream(join(results, `${name}.log`));
  const python = process.env.ORCH_BIN ?? join(ROOT, ".venv", "bin", "orchestrator");
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ORCH_DATA_DIR: dataDir,
    ORCH_UI_DIR: out,
    // Slow enough to watch tasks move, fast enough for the suite (a hello-world job ≈ 8 s).
    ORCH_SIM_LATENCY_SCALE: process.env.ORCH_SIM_LATENCY_SCALE ?? "0.2",
  };
  // The tests exercise the simulator, whatever keys the machine has.
  for (const key of Object.keys(fullEnv)) if (key.endsWith("_API_KEY")) delete fullEnv[key];
  delete fullEnv.ORCH_API_TOKEN;
  Object.assign(fullEnv, env);
  const child = spawn(python, ["serve", "--port", String(port), "--log-level", "warning"], {
    cwd: dataDir,
    env: fullEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const baseURL = `http://127.0.0.1:${port}`;
  const running = { pid: child.pid ?? 0, dataDir, baseURL };
  try {
    await waitHealthy(baseURL, child, 180_000);
  } catch (e) {
    await stopServer(running);
    throw e;
  }
  child.unref();
  return running;
}

export async function stopServer({ pid, dataDir }: RunningServer): Promise<void> {
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
