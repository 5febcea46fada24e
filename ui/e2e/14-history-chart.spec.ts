import { createJob, ended, expect, test, waitForJob } from "./fixtures";

// The history chart explains itself (axis titles with units, a legend, time ticks that do not
// repeat) and shows the jobs the filters select, like the table under it.

test("the chart follows the filters, with labelled axes, a legend and distinct ticks", async ({
  page,
  api,
}) => {
  // A few jobs started within the same minute: the old ticks read "02:09" three times.
  const ids: string[] = [];
  for (const n of [1, 2, 3]) {
    ids.push(
      await createJob(api, { project_description: `Write haiku number ${n} about queues`, budget_usd: 0.2 }),
    );
  }
  for (const id of ids) await api(`/api/jobs/${id}/cancel`, { method: "POST" });
  // And one that is not cancelled (it runs out of its tiny budget at once).
  ids.push(
    await createJob(api, { project_description: "Write a python script that prints pi", budget_usd: 0.001 }),
  );
  for (const id of ids) await waitForJob(api, id, ended);

  const res = await api("/api/jobs?status=cancelled&limit=1");
  const cancelled = Number(res.headers.get("X-Total-Count"));
  const all = Number((await api("/api/jobs?limit=1")).headers.get("X-Total-Count"));
  expect(cancelled).toBeGreaterThan(1);
  expect(all).toBeGreaterThan(cancelled);

  await page.goto("/history/?status=cancelled");
  await expect(page.getByTestId("history-row")).toHaveCount(Math.min(cancelled, 20));
  const chart = page.getByTestId("cost-chart");
  await expect(chart).toHaveAttribute("data-points", String(Math.min(cancelled, 200)));
  await expect(page.getByTestId("chart-title")).toContainText(`${cancelled} matching jobs`);

  for (const label of ["Job cost (USD)", "Running total (USD)", "Job started (local time)"]) {
    await expect(chart.locator(".recharts-label").filter({ hasText: label })).toBeVisible();
  }
  await expect(chart.locator(".recharts-legend-item-text")).toHaveText([
    "Job cost (left axis)",
    "Running total (right axis)",
  ]);
  const ticks = await chart.locator(".time-tick").allTextContents();
  expect(ticks.length).toBeGreaterThan(0);
  expect(new Set(ticks).size).toBe(ticks.length);

  await page.getByLabel("Status").selectOption("");
  await expect(chart).toHaveAttribute("data-points", String(Math.min(all, 200)));
});
