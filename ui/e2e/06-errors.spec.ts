import { createJob, expect, openJob, test } from "./fixtures";

test.describe("the way on when things go wrong", () => {
  test.use({ allowConsole: /status of 404|ERR_FAILED|ERR_CONNECTION_REFUSED|net::/ });

  test("an unknown job id says so and offers a way on", async ({ page, shot }) => {
    await page.goto("/jobs/nosuchjb/");
    await expect(page.getByText("There is no job “nosuchjb”")).toBeVisible();
    // Said once: the title, then what may have happened (not "job 'nosuchjb' not found" again).
    await expect(page.getByTestId("error-state")).not.toContainText("not found");
    await shot("12-unknown-job");
    await page.getByRole("link", { name: "Open the history" }).click();
    await expect(page).toHaveURL(/\/history\/$/);
  });

  test("an unknown page is a 404 page with a link home", async ({ page }) => {
    const res = await page.goto("/no/such/page/");
    expect(res?.status()).toBe(404);
    await page.getByRole("link", { name: "Go to the dashboard" }).click();
    await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  });

  test("API down: a clear message, and the page recovers when it is back", async ({ page, shot }) => {
    await page.route("**/api/**", (route) => route.abort("connectionrefused"));
    await page.goto("/");
    await expect(page.getByText("The orchestrator API is not reachable")).toBeVisible();
    await expect(page.getByText("API unreachable")).toBeVisible();
    await shot("13-api-down");
    await page.unroute("**/api/**");
    await page.getByRole("button", { name: "Try again" }).click();
    await expect(page.getByText("The orchestrator API is not reachable")).toBeHidden();
  });

  test("stream dropped: a banner, then it resumes without losing lines", async ({ page, api }) => {
    const jobId = await createJob(api, {
      project_description: "Write a Python script that prints the first ten primes",
      budget_usd: 0.5,
      concurrency: 1,
    });
    await openJob(page, jobId);
    await expect(page.getByTestId("log-line").first()).toBeVisible();
    // The network goes away: the server goes on with the job, the page is cut off from it.
    await page.context().setOffline(true);
    await expect(page.getByTestId("stream-banner")).toBeVisible();
    const before = await page.getByTestId("log-line").count();
    await page.context().setOffline(false);
    await expect(page.getByTestId("stream-banner")).toBeHidden();
    await expect.poll(() => page.getByTestId("log-line").count()).toBeGreaterThan(before);
    await expect(page.locator("[data-final-status]")).toHaveAttribute("data-final-status", "SUCCESS", {
      timeout: 150_000,
    });
    // Every event exactly once: the page's lines match the server's log events.
    const events = await (await fetch(`${process.env.E2E_BASE_URL}/api/jobs/${jobId}/stream`)).text();
    const serverLines = events.split("\n").filter((l) => l.startsWith("data:") && l.includes('"type":"log"'));
    await expect(page.getByTestId("log-line")).toHaveCount(serverLines.length);
  });
});

test("keyboard: the new-job form can be filled and sent without a mouse", async ({ page, api }) => {
  await page.goto("/new/");
  await page.getByLabel("Project description").focus();
  await page.keyboard.type("Write a hello world Python script");
  const fields = [
    "Success criteria",
    "Budget (USD)",
    "Time limit",
    "Concurrency",
    "Review the plan before it runs",
  ];
  for (const label of fields) {
    await page.keyboard.press("Tab");
    await expect(page.getByLabel(label)).toBeFocused();
  }
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Start Job" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/jobs\/[0-9a-z]{8}\/$/);
  await expect(page.getByTestId("job-title")).toBeVisible();
  const jobId = /\/jobs\/([^/]+)\//.exec(page.url())?.[1];
  await api(`/api/jobs/${jobId}/cancel`, { method: "POST" }); // not needed past this point
});
