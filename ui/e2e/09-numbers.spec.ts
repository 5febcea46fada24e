import { createJob, ended, expect, JOBS, openJob, test, waitForJob } from "./fixtures";

// Every figure on the page says exactly what the API knows: amounts by magnitude (a tiny cap
// is not "$0.00"), tasks counted by outcome, scores as the engine's reasons state them.

interface ApiTask {
  task_id: string;
  status: string;
  score: number | null;
  reason: string;
}
interface ApiJob {
  status: string;
  total_cost: number;
  budget_usd: number;
  tasks: Record<string, ApiTask>;
}

test("a $0.003 cap reads $0.003, the spend is never $0.00, tasks are counted by outcome", async ({
  page,
  api,
}) => {
  const jobId = await createJob(api, JOBS.tinyBudget);
  await waitForJob(api, jobId, ended);
  const job = (await (await api(`/api/jobs/${jobId}`)).json()) as ApiJob;
  expect(job.total_cost).toBeGreaterThan(0);

  await openJob(page, jobId);
  await expect(page.getByTestId("budget-cap")).toContainText("$0.003 budget");
  const spent = (await page.getByTestId("budget-spent").innerText()).trim();
  expect(spent).not.toBe("$0.00");
  expect(Number(spent.replace("$", ""))).toBeCloseTo(job.total_cost, 5);

  // "6 tasks: 1 done · 2 degraded · 1 failed · 2 skipped", never "6/6".
  const counts = page.getByTestId("task-counts");
  await expect(counts).not.toHaveText(/\d+\/\d+/);
  const label: Record<string, string> = { completed: "done", degraded: "degraded", skipped: "skipped" };
  const tally = new Map<string, number>();
  for (const t of Object.values(job.tasks)) {
    const name = t.status === "failed" ? "failed" : (label[t.status] ?? "not run");
    tally.set(name, (tally.get(name) ?? 0) + 1);
  }
  await expect(counts).toContainText(`${Object.keys(job.tasks).length} tasks`);
  for (const [name, n] of tally) await expect(counts).toContainText(`${n} ${name}`);

  // The card's score is the one its reason gives ("score 0.85 reached the threshold 0.85").
  for (const t of Object.values(job.tasks)) {
    const said = /score (\d\.\d\d)/.exec(t.reason)?.[1];
    if (t.score === null || !said) continue;
    const card = page.locator(`[data-testid="task-card"][data-task-id="${t.task_id}"]`);
    await expect(card).toContainText(`Score: ${said}`);
  }
});

test("a task a cancel stopped is grey 'cancelled', not red 'failed'", async ({ page, api }) => {
  const jobId = await createJob(api, {
    ...JOBS.todo,
    concurrency: 2,
  });
  await openJob(page, jobId);
  // Two tasks at work (after the first, which the others depend on): cancel them mid-call.
  await expect(page.locator('[data-testid="task-card"][data-status="running"]')).toHaveCount(2, {
    timeout: 90_000,
  });
  expect((await api(`/api/jobs/${jobId}/cancel`, { method: "POST" })).status).toBe(202);
  await waitForJob(api, jobId, ended);
  // The tasks in flight end a moment after the job: wait for their last word.
  const read = async () => (await (await api(`/api/jobs/${jobId}`)).json()) as ApiJob;
  await expect
    .poll(async () => Object.values((await read()).tasks).some((t) => t.status === "running"))
    .toBe(false);
  const job = await read();
  const stopped = Object.values(job.tasks).filter((t) => t.status === "failed" && /cancel/.test(t.reason));
  const unrun = Object.values(job.tasks).filter((t) => t.status === "pending");
  test.skip(stopped.length === 0, "the cancel landed between two calls: no task was stopped mid-way");

  await expect(page.getByTestId("task-counts")).toContainText(`${stopped.length} cancelled`);
  for (const t of stopped) {
    const card = page.locator(`[data-testid="task-card"][data-task-id="${t.task_id}"]`);
    await expect(card).toHaveAttribute("data-outcome", "cancelled");
    await expect(card.locator('[data-slot="badge"]')).toHaveText("cancelled");
    await expect(card.locator('[data-slot="badge"]')).toHaveAttribute("data-tone", "muted");
  }
  for (const t of unrun) {
    const card = page.locator(`[data-testid="task-card"][data-task-id="${t.task_id}"]`);
    await expect(card.locator('[data-slot="badge"]')).toHaveText("not run");
  }
});

test("models: rates come from the counts shown; no trust bar without calls", async ({ page, api }) => {
  const jobId = await createJob(api, { project_description: "Write a haiku about queues", budget_usd: 0.5 });
  await waitForJob(api, jobId, ended);
  const models = (await (await api("/api/models")).json()) as {
    model: string;
    call_count: number;
    failure_count: number;
  }[];
  expect(models.some((m) => m.call_count === 0)).toBe(true);
  expect(models.some((m) => m.call_count > 0)).toBe(true);

  await page.goto("/models/");
  await expect(page.getByTestId("model-card")).toHaveCount(models.length);
  for (const m of models) {
    const card = page
      .getByTestId("model-card")
      .filter({ has: page.getByText(m.model, { exact: true }) })
      .first();
    const trust = card.getByTestId("trust-factor");
    const success = card.getByTestId("success-rate");
    if (m.call_count === 0) {
      await expect(trust).toContainText("no calls yet");
      await expect(trust.getByRole("progressbar")).toHaveCount(0);
      await expect(success.getByRole("progressbar")).toHaveCount(0);
    } else {
      const ok = m.call_count - m.failure_count;
      const share = (ok / m.call_count) * 100;
      const shown = Number.isInteger(share) ? `${share}%` : `${share.toFixed(1)}%`;
      await expect(success).toContainText(shown);
      await expect(trust.getByRole("progressbar")).toHaveCount(1);
    }
  }
});
