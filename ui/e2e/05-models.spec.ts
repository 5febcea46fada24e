import type { ModelStat } from "../lib/api";
import { createJob, expect, test, waitForJob } from "./fixtures";

// What /api/models says of gemini-2.5-pro since 2026-12-01 (pydantic-ai's data).
const RETIRED: Partial<ModelStat> = {
  lifecycle: "retired",
  retirement_date: "2026-12-01",
  replacement: "gemini-3.8-flash",
  rerouted_to: "gemini-3.8-flash",
  retirement_notice: "https://aistudio.google.com/docs/deprecations#gemini-2.5-pro-models",
};

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

test("models: a retired and a retiring model say so, with the date and the replacement", async ({ page }) => {
  // The live server's catalog has no retired model (and its dates follow the real calendar):
  // the real answer, with one model marked retired and another retiring, as /api/models says.
  await page.route("**/api/models", async (route) => {
    const models = (await (await route.fetch()).json()) as ModelStat[];
    const marked: ModelStat[] = models.map((m, i) => {
      if (i === 0) return { ...m, ...RETIRED };
      if (i === 1)
        return { ...m, lifecycle: "retiring", retirement_date: "2027-01-14", replacement: "gpt-6-luna" };
      return m;
    });
    await route.fulfill({ json: marked });
  });
  await page.goto("/models/");
  const cards = page.getByTestId("model-card");
  await expect(cards.first()).toBeVisible();
  const lifecycles = page.getByTestId("model-lifecycle");
  await expect(lifecycles).toHaveCount(2); // the current models have none

  const retired = cards.nth(0).getByTestId("model-lifecycle");
  await expect(retired).toHaveAttribute("data-lifecycle", "retired");
  await expect(retired.getByText("Retired 2026-12-01", { exact: true })).toBeVisible();
  await expect(retired).toContainText("Replacement: gemini-3.8-flash");
  const notice = retired.getByRole("link", { name: /^Provider notice on .+ \(opens in a new tab\)$/ });
  await expect(notice).toHaveAttribute("href", /aistudio\.google\.com/);

  const retiring = cards.nth(1).getByTestId("model-lifecycle");
  await expect(retiring.getByText("Retiring 2027-01-14", { exact: true })).toBeVisible();
  await expect(retiring).toContainText("Replacement: gpt-6-luna");
  await expect(retiring.getByRole("link")).toHaveCount(0); // no notice given, none shown
});
