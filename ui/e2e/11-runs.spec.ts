import { createJob, ended, expect, JOBS, openJob, test, waitForJob } from "./fixtures";

// A resumed job's page shows every run: the stream goes on past the first `done`, each run is
// marked in the log, and a reload shows the same lines as the stream holds.

async function streamLogCount(api: (path: string) => Promise<Response>, jobId: string): Promise<number> {
  // A finished job's stream replays its history and ends after the last `done`.
  const text = await (await api(`/api/jobs/${jobId}/stream`)).text();
  return text.split("\n").filter((l) => l.startsWith("data:") && l.includes('"type":"log"')).length;
}

test("after a resume, the page (and a reload of it) shows every run's log, runs marked", async ({
  page,
  api,
}) => {
  const jobId = await createJob(api, JOBS.tinyBudget);
  await openJob(page, jobId);
  await expect(page.locator("[data-final-status]")).toHaveAttribute("data-final-status", "BUDGET_EXHAUSTED", {
    timeout: 60_000,
  });

  // Resumed from elsewhere (the CLI, another tab): the open page follows the new run.
  const res = await api(`/api/jobs/${jobId}/resume`, {
    method: "POST",
    body: JSON.stringify({ budget_usd: 0.5 }),
  });
  expect(res.status).toBe(202);
  await waitForJob(api, jobId, ended);
  const lines = await streamLogCount(api, jobId);
  await expect(page.getByTestId("log-line")).toHaveCount(lines);
  await expect(page.locator('[data-testid="log-line"][data-run="2"]').first()).toBeVisible();

  await page.reload();
  await expect(page.getByTestId("job-title")).toBeVisible();
  await expect(page.getByTestId("log-line")).toHaveCount(lines);
  await expect(page.getByTestId("log-line").filter({ hasText: /resuming: \d+ unfinished task/ })).toHaveCount(
    1,
  );
  const marks = page.getByTestId("log-run");
  await expect(marks).toHaveCount(2);
  await expect(marks.nth(0)).toContainText("Run 1 — started");
  await expect(marks.nth(1)).toContainText("Run 2 — resumed");
  await expect(marks.nth(1)).toContainText("(now $0.50)");
  // Elapsed counts the runs, not the pause between them.
  await expect(page.getByTestId("elapsed")).toHaveAttribute("data-runs", "2");
  await expect(page.getByTestId("elapsed")).toHaveAttribute("title", /Run 1: .*; Run 2: /);
  // The timeline: one entry per run, the second saying what it added and how it ended.
  const runs = page.getByTestId("run-timeline-run");
  await expect(runs).toHaveCount(2);
  await expect(runs.nth(0)).toHaveAttribute("data-outcome", "BUDGET_EXHAUSTED");
  await expect(runs.nth(0)).toContainText("budget exhausted");
  await expect(runs.nth(1)).toContainText(/Run 2 · resumed .* · budget \+\$[\d.]+ \(now \$0\.50\)/);
});
