import { expect, test } from "./fixtures";

const yamlFile = (text: string, name = "project.yaml") => ({
  name,
  mimeType: "application/yaml",
  buffer: Buffer.from(text, "utf8"),
});

test("a job from a YAML file: preview, submit, runs to SUCCESS", async ({ page, shot }) => {
  await page.goto("/new/");
  await page.getByRole("tab", { name: "YAML Upload" }).click();
  await page
    .getByTestId("yaml-input")
    .setInputFiles(
      yamlFile(
        [
          "project_description: Write a Python function that adds two numbers",
          "success_criteria: add(2, 3) returns 5",
          "budget_usd: 0.4",
          "concurrency: 2",
          "",
        ].join("\n"),
      ),
    );
  const preview = page.getByTestId("yaml-preview");
  await expect(preview).toContainText("Write a Python function that adds two numbers");
  await expect(preview).toContainText("0.4");
  await expect(preview).toContainText("(default)"); // time_limit_s not given
  await shot("04-new-yaml-preview");

  await page.getByRole("button", { name: "Start Job" }).click();
  await expect(page).toHaveURL(/\/jobs\/[0-9a-z]{8}\/$/);
  await expect(page.getByTestId("job-title")).toHaveText("Write a Python function that adds two numbers");
  await expect(page.getByTestId("task-card").first()).toBeVisible();
  await expect(page.locator("[data-final-status]")).toHaveAttribute("data-final-status", "SUCCESS", {
    timeout: 150_000,
  });
});

test("a bad YAML file shows its error with the line; wrong fields are named", async ({ page, shot }) => {
  await page.goto("/new/");
  await page.getByRole("tab", { name: "YAML Upload" }).click();
  const input = page.getByTestId("yaml-input");

  await input.setInputFiles(
    yamlFile("project_description: Build a CLI\nbudget_usd: [1, 2\nconcurrency: 3\n", "broken.yaml"),
  );
  const error = page.getByTestId("yaml-error");
  await expect(error).toContainText("broken.yaml cannot be used");
  await expect(error).toContainText(/line \d+, column \d+/);
  await page.getByRole("button", { name: "Start Job" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The file cannot be used" })).toBeVisible();
  await expect(page).toHaveURL(/\/new\/$/);
  await shot("04-new-yaml-error");

  await input.setInputFiles(yamlFile("- just\n- a list\n", "list.yaml"));
  await expect(page.getByTestId("yaml-error")).toContainText("must be a mapping");

  await input.setInputFiles(
    yamlFile("project_description: Build a CLI\nbudget_usd: -2\nconcurency: 3\n", "fields.yaml"),
  );
  await expect(page.getByTestId("error-budget_usd")).toHaveText("must be greater than 0");
  // Listed once, with the key it most likely meant.
  await expect(page.getByTestId("yaml-unknown")).toContainText("concurency — did you mean concurrency?");
  await page.getByRole("button", { name: "Start Job" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "marks as unknown" })).toBeVisible();
  await expect(page.getByText("concurency", { exact: true })).toHaveCount(1);
  await expect(page).toHaveURL(/\/new\/$/);
});

test.describe("with the server refusing", () => {
  // Chrome logs every 4xx answer as a console error; this one is provoked on purpose.
  test.use({ allowConsole: /status of 422/ });

  test("the server's 422 messages are shown next to the fields", async ({ page }) => {
    await page.goto("/new/");
    await page.getByLabel("Project description").fill("Write a hello world Python script");
    // The form refuses a bad budget itself; change the request on its way out so the real
    // server judges it, and check that its answer lands next to the field.
    await page.route("**/api/jobs", async (route) => {
      const body = route.request().postDataJSON() as Record<string, unknown>;
      await route.continue({ postData: JSON.stringify({ ...body, budget_usd: -1, concurrency: 99 }) });
    });
    await page.getByRole("button", { name: "Start Job" }).click();
    await expect(page.getByTestId("error-budget_usd")).toContainText("greater than 0");
    await expect(page.getByTestId("error-concurrency")).toContainText("less than or equal to 10");
    await expect(page.getByLabel("Budget (USD)")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByText("The server did not accept the job.")).toBeVisible();
  });
});

test("form limits are checked before sending; a cleared number is not sent as 0", async ({ page }) => {
  await page.goto("/new/");
  await page.getByLabel("Project description").fill("x");
  await page.getByLabel("Concurrency").fill("11");
  await page.getByLabel("Budget (USD)").fill("0");
  let posted = false;
  page.on("request", (r) => {
    if (r.url().endsWith("/api/jobs") && r.method() === "POST") posted = true;
  });
  await page.getByRole("button", { name: "Start Job" }).click();
  await expect(page.getByTestId("error-concurrency")).toHaveText("must be at most 10");
  await expect(page.getByTestId("error-budget_usd")).toHaveText("must be greater than 0");
  expect(posted).toBe(false);
});
