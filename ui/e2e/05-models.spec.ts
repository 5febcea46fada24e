import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createJob, expect, test, waitForJob } from "./fixtures";
import { type RunningServer, startServer, stopServer } from "./server";

test("models: cards with bars and figures, both charts with full model names", async ({
  page,
  api,
  shot,
}) => {
  type Stat = { model: string; call_count: number };
  let models = (await (await api("/api/models")).json()) as Stat[];
  if (!models.some((m) => m.call_count > 0)) {
    // Run alone: make some calls to measure (earlier files have run jobs otherwise).
    const jobId = await createJob(api, { project_description: "Write a haiku about tests", budget_usd: 0.2 });
    await waitForJob(api, jobId, (s) => s !== "pending" && s !== "running");
    models = (await (await api("/api/models")).json()) as Stat[];
  }

  await page.goto("/models/");
  await expect(page.getByRole("heading", { name: "Model Telemetry" })).toBeVisible();
  await expect(page.getByTestId("model-card")).toHaveCount(models.length);
  const used = models.find((m) => m.call_count > 0);
  const card = page
    .getByTestId("model-card")
    .filter({ hasText: used?.model ?? "" })
    .first();
  await expect(card.getByRole("progressbar", { name: /Success rate/ })).toBeVisible();
  await expect(card.getByRole("progressbar", { name: /Trust factor/ })).toBeVisible();
  for (const label of ["Avg latency", "p95 latency", "Calls", "Failures", "$/1M input", "$/1M output"]) {
    await expect(card.getByText(label, { exact: true })).toBeVisible();
  }

  const charts = page.getByTestId("model-chart");
  await expect(charts).toHaveCount(2);
  // Every model has a price bar (a free local model's is empty), labelled with its full name:
  // two models of one family must not share a label.
  const tickText = (i: number) =>
    charts
      .nth(i)
      .locator(".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value")
      .allTextContents();
  await expect(charts.nth(0).locator(".recharts-bar-rectangle").first()).toBeVisible();
  expect((await tickText(0)).sort()).toEqual(models.map((m) => m.model).sort());
  // Latency: the models that served calls.
  await expect(charts.nth(1).locator(".recharts-bar-rectangle").first()).toBeVisible();
  expect((await tickText(1)).sort()).toEqual(
    models
      .filter((m) => m.call_count > 0)
      .map((m) => m.model)
      .sort(),
  );
  await shot("03-models");
});

test.describe("a catalog with a retired and a retiring model", () => {
  // gemini-2.5-pro: retired by Google on 2026-12-01 (pydantic-ai's data), so on any day these
  // tests run; deepseek-chat: dated by its own entry to retire on 9999-12-31.
  const models = {
    "gemini-2.5-pro": { provider: "google", quality: 0.94 },
    "gemini-3.8-flash": { provider: "google", quality: 0.94 },
    "deepseek-chat": {
      provider: "deepseek",
      quality: 0.86,
      deprecation: { retirement_date: "9999-12-31", replacement: "deepseek-v4-pro" },
    },
  };
  const names = Object.keys(models);
  const TYPES = ["code_generation", "code_review", "complex_reasoning", "creative_writing"];
  TYPES.push("data_extraction", "summarization", "evaluation");
  let server: RunningServer;
  let dir: string;

  test.beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "orch-retired-"));
    const catalog = {
      models,
      task_types: Object.fromEntries(
        TYPES.map((t) => [t, { threshold: 0.8, max_iterations: 1, models: names }]),
      ),
      roles: { decompose: names, critique: names, evaluate: names },
    };
    writeFileSync(join(dir, "catalog.json"), JSON.stringify(catalog));
    server = await startServer("retired-models", { ORCH_CATALOG_PATH: join(dir, "catalog.json") });
  });
  test.afterAll(async () => {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test("models: a retired and a retiring model say so, with the date and the replacement", async ({
    page,
  }) => {
    await page.goto(`${server.baseURL}/models/`);
    const cards = page.getByTestId("model-card");
    await expect(cards).toHaveCount(names.length);
    await expect(page.getByTestId("model-lifecycle")).toHaveCount(2); // not on the current model

    const retired = cards.filter({ hasText: "gemini-2.5-pro" }).getByTestId("model-lifecycle");
    await expect(retired).toHaveAttribute("data-lifecycle", "retired");
    await expect(retired.getByText("Retired 2026-12-01", { exact: true })).toBeVisible();
    await expect(retired).toContainText("Replacement: gemini-3.8-flash");
    const notice = retired.getByRole("link", {
      name: "Provider notice on gemini-2.5-pro (opens in a new tab)",
    });
    await expect(notice).toHaveAttribute("href", /^https:\/\/aistudio\.google\.com\//);

    const retiring = cards.filter({ hasText: "deepseek-chat" }).getByTestId("model-lifecycle");
    await expect(retiring).toHaveAttribute("data-lifecycle", "retiring");
    await expect(retiring.getByText("Retiring 9999-12-31", { exact: true })).toBeVisible();
    await expect(retiring).toContainText("Replacement: deepseek-v4-pro");
    await expect(retiring.getByRole("link")).toHaveCount(0); // its entry gives no notice
  });
});
