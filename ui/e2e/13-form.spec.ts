import { expect, test } from "./fixtures";

// The New Job form guides: a budget that fits a first job and is required, checks as soon as
// a field is left, focus on the first field to fix with a summary, time limits as people
// write them, YAML type errors that name the expected type.

const yamlFile = (text: string, name = "project.yaml") => ({
  name,
  mimeType: "application/yaml",
  buffer: Buffer.from(text, "utf8"),
});

test("the budget is required: cleared or 'abc' is an error on leaving the field, never $8", async ({
  page,
}) => {
  await page.goto("/new/");
  const budget = page.getByLabel("Budget (USD)");
  await expect(budget).toHaveValue("1.00");

  await budget.fill("");
  await page.getByLabel("Time limit").focus(); // leave the field
  await expect(page.getByTestId("error-budget_usd")).toHaveText("is required");
  await expect(budget).toHaveAttribute("aria-invalid", "true");

  await budget.fill("abc");
  await page.getByLabel("Concurrency").focus();
  await expect(page.getByTestId("error-budget_usd")).toHaveText("must be a number");

  let posted = false;
  page.on("request", (r) => {
    if (r.url().endsWith("/api/jobs") && r.method() === "POST") posted = true;
  });
  await page.getByLabel("Project description").fill("Write a haiku about queues");
  await page.getByRole("button", { name: "Start Job" }).click();
  // Focus goes to the first field to fix, and a summary says what is wrong.
  await expect(budget).toBeFocused();
  await expect(page.getByTestId("form-summary")).toContainText("Budget (USD) must be a number");
  expect(posted).toBe(false);
});

test("time limits in minutes or '1h 30m'; the budget hint says what jobs here cost", async ({
  page,
  api,
}) => {
  const jobs = (await (await api("/api/jobs?limit=100")).json()) as { final_status: string | null }[];
  const finished = jobs.filter((j) => j.final_status === "SUCCESS" || j.final_status === "PARTIAL_SUCCESS");

  await page.goto("/new/");
  if (finished.length > 0) {
    await expect(page.getByTestId("hint-budget_usd")).toContainText(`(median of ${finished.length} job`);
  } else {
    await expect(page.getByTestId("hint-budget_usd")).toContainText("first job");
  }
  await expect(page.getByLabel("Time limit")).toHaveValue("1h 30m");

  await page.getByLabel("Project description").fill("Write a haiku about queues");
  await page.getByLabel("Time limit").fill("soon");
  await page.getByLabel("Concurrency").focus();
  await expect(page.getByTestId("error-time_limit_s")).toHaveText("must be minutes, or like 1h 30m");

  await page.getByLabel("Time limit").fill("1h 15m");
  await page.getByLabel("Budget (USD)").fill("0.25");
  const request = page.waitForRequest((r) => r.url().endsWith("/api/jobs") && r.method() === "POST");
  await page.getByRole("button", { name: "Start Job" }).click();
  const body = (await request).postDataJSON() as Record<string, unknown>;
  expect(body).toMatchObject({ budget_usd: 0.25, time_limit_s: 4500 });
  await expect(page).toHaveURL(/\/jobs\/[0-9a-z]{8}\/$/);
  const jobId = /\/jobs\/([^/]+)\//.exec(page.url())?.[1];
  await api(`/api/jobs/${jobId}/cancel`, { method: "POST" });
});

test("YAML: a wrong type says the type expected", async ({ page }) => {
  await page.goto("/new/");
  await page.getByRole("tab", { name: "YAML Upload" }).click();
  await page
    .getByTestId("yaml-input")
    .setInputFiles(yamlFile("project_description: 42\nbudget_usd: cheap\n"));
  await expect(page.getByTestId("error-project_description")).toHaveText("must be text, not a number");
  await expect(page.getByTestId("error-budget_usd")).toHaveText("must be a number");
});
