// Starts and stops a real `orchestrator serve` for the browser tests: port 0, a temporary
// data dir, the simulator (whatever keys the machine has), the built export (ui/out).
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const UI = resolve(__dirname, "..");
const ROOT = resolve(UI, "..");

export interface RunningServer {
  pid: number;
  dataDir: string;
  baseURL: string;
}

/** The address uvicorn says it listens on: the server binds port 0 and the kernel picks a
 *  free one (a port found free beforehand could be taken by another process meanwhile). */
function listeningAddress(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(
      () => fail(new Error(`orchestrator serve did not start within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    const look = (chunk: Buffer) => {
      seen += chunk.toString();
      const url = /Uvicorn running on (http:\/\/\S+)/.exec(seen)?.[1];
      if (url) {
        clearTimeout(timer);
        ok(url);
      }
    };
    child.stdout?.on("data", look);
    child.stderr?.on("data", look);
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`orchestrator serve exited with ${code}`));
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
  // Info level for uvicorn's "running on" line (the port it got); no line per request.
  const args = ["serve", "--port", "0", "--log-level", "info", "--no-access-log"];
  const child = spawn(python, args, {
    cwd: dataDir,
    env: fullEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const running = { pid: child.pid ?? 0, dataDir, baseURL: "" };
  try {
    running.baseURL = await listeningAddress(child, 180_000);
    await waitHealthy(running.baseURL, child, 180_000);
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
