import { createJob, ended, expect, JOBS, openJob, test, waitForJob } from "./fixtures";

// The buttons fit the job's state: a finished job is duplicated, not resumed into an empty
// run; a job stopped by its cap is resumed with more money; Cancel and Delete ask first.

test("a successful job offers 'Duplicate and edit' (prefilled), never Resume", async ({ page, api }) => {
  const description = "Write a python script that prints hello world";
  const jobId = await createJob(api, {
    project_description: description,
    success_criteria: "It prints Hello World",
    budget_usd: 1.25,
    concurrency: 2,
  });
  await waitForJob(api, jobId, ended);
  const { final_status } = (await (await api(`/api/jobs/${jobId}`)).json()) as { final_status: string };
  expect(final_status).toMatch(/^(SUCCESS|PARTIAL_SUCCESS)$/);

  await openJob(page, jobId);
  const actions = page.getByTestId("job-actions");
  await expect(actions.getByRole("link", { name: `Duplicate and edit job ${jobId}` })).toBeVisible();
  await expect(actions.getByRole("button", { name: /resume/i })).toHaveCount(0);

  await page.goto("/history/");
  const row = page.locator(`[data-testid="history-row"][data-job-id="${jobId}"]`);
  await expect(row.getByRole("link", { name: `Duplicate and edit job ${jobId}` })).toBeVisible();
  await expect(row.getByRole("button", { name: /resume/i })).toHaveCount(0);

  await row.getByRole("link", { name: `Duplicate and edit job ${jobId}` }).click();
  await expect(page).toHaveURL(new RegExp(`/new/\\?from=${jobId}$`));
  await expect(page.getByLabel("Project description")).toHaveValue(description);
  await expect(page.getByLabel("Success criteria")).toHaveValue("It prints Hello World");
  await expect(page.getByLabel("Budget (USD)")).toHaveValue("1.25");
  await expect(page.getByLabel("Concurrency")).toHaveValue("2");
});

test("a job out of budget resumes with the new cap asked for", async ({ page, api }) => {
  const jobId = await createJob(api, JOBS.tinyBudget);
  await waitForJob(api, jobId, ended);
  const before = (await (await api(`/api/jobs/${jobId}`)).json()) as {
    final_status: string;
    total_cost: number;
  };
  expect(before.final_status).toBe("BUDGET_EXHAUSTED");

  await openJob(page, jobId);
  await expect(page.getByRole("button", { name: /^Resume$/ })).toHaveCount(0);
  await page.getByRole("button", { name: `Resume with more budget: job ${jobId}` }).click();
  const dialog = page.getByTestId("resume-dialog");
  await expect(dialog).toContainText("$0.003 cap");
  await expect(dialog).toContainText("Spent so far");
  const field = dialog.getByLabel("New budget (USD)");
  await expect(field).toBeFocused();

  // Less than already spent is refused in place.
  await field.fill("0.001");
  await dialog.getByTestId("confirm-resume").click();
  await expect(dialog.getByRole("alert")).toContainText("more than");

  await field.fill("0.5");
  await dialog.getByTestId("confirm-resume").click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("budget-cap")).toContainText("$0.50 budget");
  const after = (await (await api(`/api/jobs/${jobId}`)).json()) as { budget_usd: number };
  expect(after.budget_usd).toBe(0.5);
  await waitForJob(api, jobId, ended);
});

test("Cancel and Delete ask first and say what they do", async ({ page, api }) => {
  const jobId = await createJob(api, {
    ...JOBS.todo,
    concurrency: 1,
  });
  await openJob(page, jobId);
  await page.getByRole("button", { name: `Delete job ${jobId}` }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("cancelled first");
  await dialog.getByRole("button", { name: "Keep it" }).click();

  await page.getByRole("button", { name: `Cancel job ${jobId}` }).click();
  await expect(dialog).toContainText("No new model call starts");
  await dialog.getByRole("button", { name: "Keep running" }).click();
  await expect(dialog).toBeHidden();
  expect(((await (await api(`/api/jobs/${jobId}`)).json()) as { status: string }).status).not.toBe(
    "cancelled",
  );

  await page.getByRole("button", { name: `Cancel job ${jobId}` }).click();
  await page.getByTestId("confirm-cancel").click();
  await expect(page.locator('[data-testid="job-status"] [data-status]')).toHaveAttribute(
    "data-status",
    "cancelled",
    { timeout: 60_000 },
  );
});

test("a job out of time resumes with the new time limit asked for", async ({ page, api }) => {
  // A fifth of a second: it runs out before its plan is done.
  const jobId = await createJob(api, { ...JOBS.hello, time_limit_s: 0.2 });
  await waitForJob(api, jobId, ended);
  const before = (await (await api(`/api/jobs/${jobId}`)).json()) as { final_status: string };
  expect(before.final_status).toBe("TIMEOUT");

  await openJob(page, jobId);
  await page.getByRole("button", { name: `Resume with more time: job ${jobId}` }).click();
  const dialog = page.getByTestId("resume-dialog");
  const field = dialog.getByLabel("New time limit of a run");
  await expect(field).toBeFocused();

  await field.fill("soon");
  await dialog.getByTestId("confirm-resume").click();
  await expect(dialog.getByRole("alert")).toContainText("time limit");

  await field.fill("10m");
  await dialog.getByTestId("confirm-resume").click();
  await expect(dialog).toBeHidden();
  const after = (await (await api(`/api/jobs/${jobId}`)).json()) as { time_limit_s: number };
  expect(after.time_limit_s).toBe(600);
  await waitForJob(api, jobId, ended);
  const done = (await (await api(`/api/jobs/${jobId}`)).json()) as { final_status: string };
  expect(done.final_status).toMatch(/^(SUCCESS|PARTIAL_SUCCESS)$/);
});
