import { createJob, expect, test, waitForJob } from "./fixtures";

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
