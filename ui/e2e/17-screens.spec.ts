import { expect, test } from "./fixtures";
import { DETAIL, serveFixedApi } from "./screen-data";

// The five pages as they look, at 1280 and 390 wide, compared with the images kept beside this
// file (17-screens.spec.ts-snapshots/). A change of look is made on purpose: update them with
// `npx playwright test e2e/17-screens.spec.ts --update-snapshots` and commit the new images.

const PAGES: [string, string, string][] = [
  ["dashboard", "/", "Dashboard"],
  ["new-job", "/new/", "New Job"],
  ["history", "/history/", "History"],
  ["models", "/models/", "Model Telemetry"],
  ["job", `/jobs/${DETAIL.job_id}/`, "Write a python script that prints hello world"],
];

test.use({ locale: "en-US", timezoneId: "UTC", colorScheme: "light" });

for (const [width, height] of [
  [1280, 900],
  [390, 844],
] as const) {
  test.describe(`at ${width} wide`, () => {
    test.use({ viewport: { width, height } });

    for (const [name, path, heading] of PAGES) {
      test(`${name} looks as kept`, async ({ page }) => {
        await serveFixedApi(page);
        await page.goto(path);
        await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
        await expect(page.locator('[aria-busy="true"], [data-slot="skeleton"]')).toHaveCount(0);
        if (name === "history")
          await expect(
            page.getByTestId("cost-chart").locator(".recharts-bar-rectangle").first(),
          ).toBeVisible();
        if (name === "models") await expect(page.locator(".recharts-bar-rectangle").first()).toBeVisible();
        if (name === "job") await expect(page.getByTestId("log-line")).toHaveCount(6);
        if (name === "new-job") await expect(page.getByTestId("hint-budget_usd")).toContainText("median");
        await expect(page).toHaveScreenshot(`${name}-${width}.png`, {
          fullPage: true,
          animations: "disabled",
          caret: "hide",
          maxDiffPixelRatio: 0.01,
        });
      });
    }
  });
}
