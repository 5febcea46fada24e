import { createJob, ended, expect, JOBS, openJob, test, waitForJob } from "./fixtures";

// The log is a tool: search it, filter it by level, task and model, and open a task from a
// line that names it.

test("search and filter the log; a task id in a line opens that task", async ({ page, api }) => {
  const jobId = await createJob(api, JOBS.hello);
  await waitForJob(api, jobId, ended);
  await openJob(page, jobId);
  const lines = page.getByTestId("log-line");
  await expect(lines.first()).toBeVisible();
  const total = await lines.count();
  await expect(page.getByTestId("log-count")).toHaveText(`${total} lines`);

  await page.getByLabel("Search the log").fill("plan");
  await expect(page.getByTestId("log-count")).toHaveText(new RegExp(`^\\d+ of ${total} lines$`));
  for (const text of await lines.allTextContents()) expect(text.toLowerCase()).toContain("plan");
  await page.getByLabel("Search the log").fill("");

  await page.getByLabel("Task", { exact: true }).selectOption("task_002");
  await expect(page.getByTestId("log-count")).not.toHaveText(`${total} lines`);
  for (const text of await lines.allTextContents()) expect(text).toContain("task_002");

  await page.getByLabel("Lowest level shown").selectOption("ERROR");
  for (const level of await lines.evaluateAll((els) => els.map((e) => e.getAttribute("data-level")))) {
    expect(level).toBe("ERROR");
  }
  await page.getByLabel("Lowest level shown").selectOption("");
  await page.getByLabel("Task", { exact: true }).selectOption("");
  await expect(page.getByTestId("log-count")).toHaveText(`${total} lines`);

  await page
    .getByTestId("log-stream")
    .getByRole("button", { name: "task_002: open this task" })
    .first()
    .click();
  const dialog = page.getByTestId("task-detail");
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("task_002");
});

test("a call line opens its task at that iteration, not the latest", async ({ page, api }) => {
  const jobId = await createJob(api, JOBS.hello);
  await waitForJob(api, jobId, ended);
  const job = (await (await api(`/api/jobs/${jobId}`)).json()) as {
    tasks: Record<string, { iterations: number }>;
  };
  const [taskId, most] = Object.entries(job.tasks)
    .map(([id, t]) => [id, t.iterations] as const)
    .reduce((a, b) => (b[1] > a[1] ? b : a));
  expect(most).toBeGreaterThanOrEqual(2); // so "the latest" and "iteration 1" differ

  await openJob(page, jobId);
  const name = `${taskId} iteration 1: open this iteration`;
  await page.getByTestId("log-stream").getByRole("button", { name }).first().click();
  const dialog = page.getByTestId("task-detail");
  await expect(dialog.getByRole("tab", { name: /^Iteration 1/ })).toHaveAttribute("aria-selected", "true");
  await expect(dialog.getByRole("tab", { name: new RegExp(`^Iteration ${most}`) })).toHaveAttribute(
    "aria-selected",
    "false",
  );
});
