import { expect, test } from "./fixtures";

test("history: table, search, status filter, pagination, cost chart, row click", async ({
  page,
  api,
  shot,
}) => {
  // Earlier files left finished, cancelled and deleted jobs behind.
  const all = (await (await api("/api/jobs?limit=1000")).json()) as { job_id: string }[];
  expect(all.length).toBeGreaterThan(3);

  await page.goto("/history/");
  await expect(page.getByRole("heading", { name: "History" })).toBeVisible();
  const rows = page.getByTestId("history-row");
  await expect(rows).toHaveCount(all.length);
  await expect(page.getByTestId("cost-chart").locator(".recharts-bar-rectangle").first()).toBeVisible();
  const range = page.getByTestId("history-range");
  await expect(range).toHaveText(`1–${all.length} of ${all.length}`);
  await shot("07-history");

  // Pages of 2, through the API's limit/offset and X-Total-Count.
  await page.goto("/history/?limit=2");
  await expect(rows).toHaveCount(2);
  await expect(range).toHaveText(`1–2 of ${all.length}`);
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(range).toHaveText(`3–4 of ${all.length}`);
  expect(await rows.nth(0).getAttribute("data-job-id")).toBe(all[2]?.job_id);
  await page.getByRole("button", { name: "Previous" }).click();
  await expect(range).toHaveText(`1–2 of ${all.length}`);

  await page.goto("/history/");
  await page.getByLabel("Search descriptions").fill("hello world");
  await expect(page).toHaveURL(/q=hello\+world/);
  await expect(rows.first()).toContainText(/hello world/i);
  for (const text of await rows.allTextContents()) expect(text.toLowerCase()).toContain("hello world");

  await page.getByLabel("Search descriptions").fill("");
  await expect(page).not.toHaveURL(/q=/);
  await page.getByLabel("Status").selectOption("cancelled");
  await expect(page).toHaveURL(/status=cancelled/);
  await expect(rows.first()).toBeVisible();
  const statuses = await rows
    .locator("[data-status]")
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
  expect(new Set(statuses)).toEqual(new Set(["cancelled"]));

  await page.getByLabel("Status").selectOption("done");
  await expect(page).toHaveURL(/status=done/);
  const first = rows.first();
  await expect(first.locator('[data-status="done"]')).toBeVisible();
  const id = await first.getAttribute("data-job-id");
  await first.locator("td").nth(1).click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${id}/$`));
  await expect(page.getByTestId("job-title")).toBeVisible();
});
