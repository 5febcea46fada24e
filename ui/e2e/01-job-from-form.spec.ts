import { expect, test } from "./fixtures";

test("dashboard: empty state, sidebar model stats, simulated badge, theme toggle", async ({ page, shot }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(page.getByTestId("empty-state")).toBeVisible();
  await expect(page.getByTestId("simulated-badge").first()).toBeVisible();
  await expect(page.getByTestId("sidebar-models").getByText("claude-sonnet-4-6")).toBeVisible();
  await shot("01-dashboard");

  const html = page.locator("html");
  const toggle = page.getByTestId("theme-toggle");
  await toggle.click(); // system → light
  await expect(html).not.toHaveClass(/dark/);
  await toggle.click(); // light → dark
  await expect(html).toHaveClass(/dark/);
  await page.reload(); // the choice is kept, and applied before paint
  await expect(html).toHaveClass(/dark/);
  await shot("01-dashboard-dark");
  await page.getByTestId("theme-toggle").click(); // dark → system
  await expect(page.getByTestId("theme-toggle")).toHaveAttribute("title", "Theme: system");
});

test("a job from the form runs live to SUCCESS; task detail, graph, files, reload", async ({
  page,
  shot,
}) => {
  await page.goto("/new/");
  await page.getByLabel("Project description").fill("Write a hello world Python script");
  await page.getByLabel("Success criteria").fill("Script prints Hello World");
  await page.getByLabel("Budget (USD)").fill("0.5");
  await page.getByLabel("Time limit").fill(""); // cleared: the server default applies, not 0
  await shot("04-new-filled");

  const request = page.waitForRequest((r) => r.url().endsWith("/api/jobs") && r.method() === "POST");
  await page.getByRole("button", { name: "Start Job" }).click();
  const body = (await request).postDataJSON() as Record<string, unknown>;
  expect(body).toEqual({
    project_description: "Write a hello world Python script",
    success_criteria: "Script prints Hello World",
    budget_usd: 0.5,
    concurrency: 3,
  });

  await expect(page).toHaveURL(/\/jobs\/[0-9a-z]{8}\/$/);
  const jobId = /\/jobs\/([^/]+)\//.exec(page.url())?.[1] ?? "";
  await expect(page.getByTestId("job-title")).toHaveText("Write a hello world Python script");

  // Live: task cards appear before they are done, and log lines keep arriving.
  const cards = page.getByTestId("task-card");
  await expect(cards.first()).toBeVisible();
  const unfinished = page.locator('[data-testid="task-card"]:not([data-status="completed"])');
  await expect(unfinished.first()).toBeVisible();
  const logLines = page.getByTestId("log-line");
  await expect(logLines.first()).toBeVisible();
  const early = await logLines.count();
  await shot("05-job-logs");

  const finalBadge = page.locator("[data-final-status]");
  await expect(finalBadge).toHaveAttribute("data-final-status", "SUCCESS", { timeout: 150_000 });
  await expect(page.locator('[data-testid="job-status"] [data-status]')).toHaveAttribute(
    "data-status",
    "done",
  );
  expect(await logLines.count()).toBeGreaterThan(early);
  await expect(logLines.last()).toContainText("job finished");
  const total = await cards.count();
  expect(total).toBeGreaterThan(1);
  await expect(page.locator('[data-testid="task-card"][data-status="completed"]')).toHaveCount(total);
  await expect(page.getByTestId("elapsed")).toHaveAttribute("data-running", "false");
  await expect(page.getByTestId("budget-bar")).not.toContainText("$0.0000 spent");
  await shot("06-job-final");

  // A task's detail: its iterations with output, critique, validators, scores.
  await page.locator('[data-testid="task-card"][data-task-id="task_002"]').click();
  const dialog = page.getByTestId("task-detail");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId("iteration")).toBeVisible();
  await expect(dialog.getByTestId("code-block").first()).toBeVisible();
  await expect(dialog.getByTestId("validators")).toBeVisible();
  await shot("08-task-detail");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();

  // The graph: one node per task, coloured by status.
  await page.getByRole("tab", { name: "Graph" }).click();
  await expect(page.getByTestId("graph-node")).toHaveCount(total);
  await expect(page.locator('[data-testid="graph-node"][data-status="completed"]')).toHaveCount(total);
  await shot("09-task-graph");

  // Result files, with a working zip download.
  const files = page.getByTestId("artifacts");
  await expect(files.locator("li").first()).toBeVisible();
  const href = (await files.locator("li a").first().getAttribute("href")) ?? "";
  const file = await page.request.get(href);
  expect(file.status()).toBe(200);
  expect((await file.body()).length).toBeGreaterThan(0);
  const download = page.waitForEvent("download");
  await files.getByRole("link", { name: /Download all/ }).click();
  expect((await download).suggestedFilename()).toMatch(/\.zip$/);

  // A reload of /jobs/<id>/ is served by the placeholder page and shows the same job.
  await page.reload();
  await expect(page.getByTestId("job-title")).toHaveText("Write a hello world Python script");
  await expect(page.locator('[data-testid="task-card"][data-status="completed"]')).toHaveCount(total);
  expect(page.url()).toContain(`/jobs/${jobId}/`);
});
