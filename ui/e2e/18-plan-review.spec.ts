import AxeBuilder from "@axe-core/playwright";

import { createJob, expect, openJob, test, waitForJob } from "./fixtures";

// Plan review in the browser against the real server: New Job with review on → the plan with
// its cost range against the budget → edit a prompt, the forecast follows → approve → it runs,
// and its page shows forecast against actual. Axe finds no serious violation on the review.

// The invalid edit is refused with a 422 on purpose.
test.use({ allowConsole: /status of 422/ });

test("review a plan: edit a prompt, see the forecast change, approve, watch it run", async ({
  page,
  shot,
}) => {
  await page.goto("/new/");
  await page.getByLabel("Project description").fill("Weigh the options for heating a small house");
  await page.getByLabel("Budget (USD)").fill("0.5");
  await page.getByLabel("Review the plan before it runs").check();
  const request = page.waitForRequest((r) => r.url().endsWith("/api/jobs") && r.method() === "POST");
  await page.getByRole("button", { name: "Start Job" }).click();
  expect((await request).postDataJSON()).toMatchObject({ review: true, budget_usd: 0.5 });

  const review = page.getByTestId("plan-review");
  await expect(page.getByRole("heading", { name: "Review the plan" })).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("job-status").locator("[data-status]").first()).toHaveAttribute(
    "data-status",
    "awaiting_review",
  );
  const range = page.getByTestId("forecast-range");
  await expect(range).toHaveText(/^\$[\d.]+–\$[\d.]+$/);
  const before = await range.textContent();
  // Priors on a fresh server, else the calls of earlier tests' jobs (and, once enough of them
  // ran against a forecast, the band from those forecasts' errors).
  await expect(review.getByTestId("forecast-basis")).toHaveText(
    /^(no history: priors|from \d+ recorded calls(, band from \d+ past jobs' forecast errors)?)$/,
  );
  await shot("18-review");

  const { violations } = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

  // A much longer prompt for the first task: the forecast is asked again and grows.
  const prompt = review.getByRole("textbox", { name: /^Prompt of task / }).first();
  await prompt.fill(`${await prompt.inputValue()} ${"Compare every option in detail. ".repeat(200)}`);
  await expect(review.getByTestId("plan-save")).toHaveText("Saved");
  await expect(range).not.toHaveText(before ?? "");

  // A dependency on a task that does not exist: the server's reason, nothing saved.
  const deps = review.getByRole("textbox", { name: /^Dependencies of task / }).first();
  await deps.fill("nope");
  await expect(review.getByTestId("plan-error")).toContainText("nope");
  await expect(review.getByRole("button", { name: "Approve and run" })).toBeDisabled();
  await deps.fill("");
  await expect(review.getByTestId("plan-save")).toHaveText("Saved");

  await review.getByRole("button", { name: "Approve and run" }).click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-final-status", /SUCCESS/, {
    timeout: 180_000,
  });
  await expect(page.getByRole("heading", { name: "Forecast and actual cost" })).toBeVisible();
  await expect(page.getByTestId("forecast-vs-actual")).toContainText("against a forecast of");
  await shot("18-after");
});

test("reject asks first: keeping the plan sends nothing, confirming ends the job cancelled", async ({
  page,
  api,
}) => {
  const jobId = await createJob(api, {
    project_description: "Summarise the benefits of code review in three bullet points",
    budget_usd: 0.3,
    review: true,
  });
  await waitForJob(api, jobId, (s) => s === "awaiting_review", 60_000);
  const rejects: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith(`/api/jobs/${jobId}/reject`)) rejects.push(r.method());
  });
  await openJob(page, jobId);
  const status = page.getByTestId("job-status").locator("[data-status]").first();
  await expect(status).toHaveAttribute("data-status", "awaiting_review");

  const reject = page.getByRole("button", { name: `Reject the plan of job ${jobId}` });
  await reject.click();
  const dialog = page.getByRole("alertdialog", { name: `Reject the plan of job ${jobId}?` });
  await expect(dialog).toContainText("paid $");
  await dialog.getByRole("button", { name: "Keep reviewing" }).click();
  await expect(dialog).toBeHidden();
  expect(rejects).toEqual([]);
  expect(((await (await api(`/api/jobs/${jobId}`)).json()) as { status: string }).status).toBe(
    "awaiting_review",
  );

  await reject.click();
  await page.getByTestId("confirm-reject").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-final-status", "CANCELLED", {
    timeout: 30_000,
  });
  expect(rejects).toEqual(["POST"]);
});
