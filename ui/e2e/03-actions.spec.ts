import { createJob, expect, openJob, test, waitForJob } from "./fixtures";

// Concurrency 1 and a larger project: long enough to act on while it runs.
const LONG_JOB = {
  project_description: "Build a command line todo app in Python with add, list, done and delete commands",
  success_criteria: "All commands work and are tested",
  budget_usd: 1,
  concurrency: 1,
};

test("cancel a running job, then resume it to the end", async ({ page, api, shot }) => {
  const jobId = await createJob(api, LONG_JOB);
  await openJob(page, jobId);
  await expect(page.getByTestId("task-card").first()).toBeVisible();

  await page.getByRole("button", { name: `Cancel job ${jobId}` }).click();
  await page.getByTestId("confirm-cancel").click();
  await expect(page.locator("[data-final-status]")).toHaveAttribute("data-final-status", "CANCELLED", {
    timeout: 60_000,
  });
  await expect(page.locator('[data-testid="job-status"] [data-status]')).toHaveAttribute(
    "data-status",
    "cancelled",
  );
  await expect(page.getByTestId("elapsed")).toHaveAttribute("data-running", "false");
  await shot("10-job-cancelled");
  const logsBefore = await page.getByTestId("log-line").count();

  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.locator('[data-testid="job-status"] [data-status]')).toHaveAttribute(
    "data-status",
    "running",
  );
  // The resumed run streams into the same page: new log lines, then the end.
  await expect(page.locator("[data-final-status]")).toHaveAttribute(
    "data-final-status",
    /SUCCESS|PARTIAL_SUCCESS/,
    {
      timeout: 150_000,
    },
  );
  expect(await page.getByTestId("log-line").count()).toBeGreaterThan(logsBefore);
  const total = await page.getByTestId("task-card").count();
  await expect(page.locator('[data-testid="task-card"][data-status="pending"]')).toHaveCount(0);
  expect(total).toBeGreaterThan(1);
});

test.describe("with the stream blocked", () => {
  test.use({ allowConsole: /status of 409|ERR_FAILED|net::/ });

  test("an action the server refuses says why (409)", async ({ page, api }) => {
    const jobId = await createJob(api, { ...LONG_JOB, project_description: "Write a haiku about queues" });
    // Without the stream the page does not learn that the job ended: a stale Cancel button.
    await page.route("**/stream*", (route) => route.abort());
    await openJob(page, jobId);
    await expect(page.getByRole("button", { name: `Cancel job ${jobId}` })).toBeVisible();
    expect((await api(`/api/jobs/${jobId}/cancel`, { method: "POST" })).status).toBe(202);
    await waitForJob(api, jobId, (s) => s === "cancelled");
    await page.getByRole("button", { name: `Cancel job ${jobId}` }).click();
    await page.getByTestId("confirm-cancel").click();
    await expect(page.getByRole("alert").filter({ hasText: "Cannot cancel now" })).toBeVisible();
  });
});

test("delete from history, with confirmation", async ({ page, api, shot }) => {
  const jobId = await createJob(api, {
    project_description: "Summarise the benefits of unit tests in three bullet points",
    budget_usd: 0.2,
  });
  await api(`/api/jobs/${jobId}/cancel`, { method: "POST" });
  await waitForJob(api, jobId, (s) => s !== "pending" && s !== "running");
  await page.goto("/history/");
  const row = page.locator(`[data-testid="history-row"][data-job-id="${jobId}"]`);
  await expect(row).toBeVisible();
  await row.getByRole("button", { name: `Delete job ${jobId}` }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText(`Delete job ${jobId}?`);
  await shot("11-delete-confirm");
  await dialog.getByRole("button", { name: "Keep it" }).click();
  await expect(row).toBeVisible();

  await row.getByRole("button", { name: `Delete job ${jobId}` }).click();
  await page.getByTestId("confirm-delete").click();
  await expect(row).toHaveCount(0);
  expect((await api(`/api/jobs/${jobId}`)).status).toBe(404);
});
