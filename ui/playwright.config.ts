import { defineConfig } from "@playwright/test";

// Browser tests against the real server: e2e/global-setup.ts starts `orchestrator serve` on a
// free port with a temporary data dir and the simulator, and serves the built export (ui/out).
// Debian's chromium: `npx playwright install` cannot download browsers here.
export default defineConfig({
  testDir: "./e2e",
  // E2E_OUTPUT_DIR: a run of its own beside another in the same checkout.
  outputDir: process.env.E2E_OUTPUT_DIR ?? "./test-results",
  globalSetup: "./e2e/global-setup.ts",
  globalTeardown: "./e2e/global-teardown.ts",
  // One server, one browser: files run in order, one at a time (2 cores in CI).
  workers: 1,
  fullyParallel: false,
  // Generous: a loaded 2-core machine runs a job several times slower than an idle one.
  timeout: 240_000,
  expect: { timeout: 15_000 },
  retries: 0,
  reporter: [["list"], ["html", { outputFolder: "playwright-report", open: "never" }]],
  use: {
    browserName: "chromium",
    viewport: { width: 1280, height: 900 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
