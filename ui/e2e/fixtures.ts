import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { test as base, expect, type Page } from "@playwright/test";

export const ARTIFACTS = join(__dirname, "..", "e2e-artifacts");

interface Fixtures {
  /** Console errors a test expects, e.g. Chrome's line for a 404 it provokes on purpose. */
  allowConsole: RegExp | null;
  consoleGuard: void;
  api: (path: string, init?: RequestInit) => Promise<Response>;
  shot: (name: string) => Promise<void>;
}

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    const url = process.env.E2E_BASE_URL;
    if (!url) throw new Error("E2E_BASE_URL is not set: global setup did not run");
    await use(url);
  },
  allowConsole: [null, { option: true }],
  // No console errors on any page: every test fails if the page logs one it did not expect.
  consoleGuard: [
    async ({ page, allowConsole }, use) => {
      const problems: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() !== "error") return;
        const text = msg.text();
        if (!allowConsole?.test(text)) problems.push(`console.error: ${text}`);
      });
      page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
      // Chrome's "Failed to load resource" line does not say which: record the URLs too.
      const failed: string[] = [];
      page.on("response", (res) => {
        if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
      });
      await use();
      expect(problems, `console errors on the page (HTTP errors: ${failed.join(", ") || "none"})`).toEqual(
        [],
      );
    },
    { auto: true },
  ],
  api: async ({ baseURL }, use) => {
    await use((path, init) =>
      fetch(`${baseURL}${path}`, {
        ...init,
        headers: { "Content-Type": "application/json", ...(init?.headers ?? {}) },
      }),
    );
  },
  shot: async ({ page }, use) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await use(async (name) => {
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    });
  },
});

export { expect };

export async function createJob(api: Fixtures["api"], body: Record<string, unknown>): Promise<string> {
  const res = await api("/api/jobs", { method: "POST", body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { job_id: string }).job_id;
}

export async function waitForJob(
  api: Fixtures["api"],
  jobId: string,
  done: (status: string) => boolean,
  timeoutMs = 120_000,
): Promise<string> {
  let status = "";
  await expect
    .poll(
      async () => {
        const res = await api(`/api/jobs/${jobId}`);
        status = ((await res.json()) as { status: string }).status;
        return done(status);
      },
      { timeout: timeoutMs, intervals: [250, 500, 1000] },
    )
    .toBe(true);
  return status;
}

export async function openJob(page: Page, jobId: string): Promise<void> {
  await page.goto(`/jobs/${jobId}/`);
  await expect(page.getByTestId("job-title")).toBeVisible();
}

/** A job has ended: any status but pending and running. */
export const ended = (status: string) => status !== "pending" && status !== "running";

/** Jobs the simulator runs the same way every time. */
export const JOBS = {
  /** Out of its $0.003 within seconds: BUDGET_EXHAUSTED, its tasks done, degraded, failed, skipped. */
  tinyBudget: {
    project_description: "Write a python script that prints the fibonacci numbers",
    budget_usd: 0.003,
  },
  /** SUCCESS within seconds. */
  hello: { project_description: "Write a python script that prints hello world", budget_usd: 0.5 },
  /** Long enough to act on while it runs. */
  todo: {
    project_description: "Build a command line todo app in Python with add, list, done and delete commands",
    budget_usd: 1,
  },
};
