import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";

import { createJob, ended, expect, JOBS, test, waitForJob } from "./fixtures";

// WCAG 2.2 AA by axe-core on every page, light and dark, with a job in each state; and every
// page on a phone (390×844) without sideways scrolling.

// The not-found page is checked too: Chrome logs its 404 as a console error.
test.use({ allowConsole: /status of 404/ });

interface Jobs {
  running: string;
  success: string;
  budget: string;
  cancelled: string;
}

let jobs: Jobs | null = null;

async function setUp(api: (path: string, init?: RequestInit) => Promise<Response>): Promise<Jobs> {
  if (jobs) return jobs;
  const success = await createJob(api, JOBS.hello);
  const budget = await createJob(api, JOBS.tinyBudget);
  const cancelled = await createJob(api, {
    project_description: "Write a haiku about queues",
    budget_usd: 0.2,
  });
  await api(`/api/jobs/${cancelled}/cancel`, { method: "POST" });
  for (const id of [success, budget, cancelled]) await waitForJob(api, id, ended);
  // Concurrency 1 and a larger project: still running while the pages are checked.
  const running = await createJob(api, {
    ...JOBS.todo,
    concurrency: 1,
  });
  jobs = { running, success, budget, cancelled };
  return jobs;
}

function pages(j: Jobs): [string, string][] {
  return [
    ["dashboard", "/"],
    ["new job", "/new/"],
    ["history", "/history/"],
    ["models", "/models/"],
    ["job running", `/jobs/${j.running}/`],
    ["job success", `/jobs/${j.success}/`],
    ["job budget exhausted", `/jobs/${j.budget}/`],
    ["job cancelled", `/jobs/${j.cancelled}/`],
    ["not found", "/no-such-page/"],
  ];
}

async function settle(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await expect(page.locator("main h1").first()).toBeVisible();
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
  if (path.startsWith("/jobs/"))
    await expect(page.getByTestId("task-counts")).toBeVisible({ timeout: 60_000 });
  if (path === "/history/") await expect(page.getByTestId("cost-chart")).toBeVisible();
  if (path === "/models/") await expect(page.getByTestId("model-card").first()).toBeVisible();
}

async function serious(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test.afterAll(async () => {
  jobs = null;
});

for (const scheme of ["light", "dark"] as const) {
  test(`axe: no serious or critical WCAG 2.2 AA violation on any page (${scheme})`, async ({ page, api }) => {
    const j = await setUp(api);
    await page.emulateMedia({ colorScheme: scheme });
    const found: Record<string, string[]> = {};
    for (const [name, path] of pages(j)) {
      await settle(page, path);
      await expect(page.locator("html")).toHaveClass(scheme === "dark" ? /dark/ : /^(?!.*dark)/);
      const problems = await serious(page);
      if (problems.length) found[name] = problems;
    }
    expect(found).toEqual({});
  });
}

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test("no page scrolls sideways; axe passes; nothing is shown twice", async ({ page, api }) => {
    const j = await setUp(api);
    const found: Record<string, string[]> = {};
    for (const [name, path] of pages(j)) {
      await settle(page, path);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      const problems = await serious(page);
      if (width > 390) problems.push(`scrolls sideways: ${width}px wide`);
      if (problems.length) found[name] = problems;
    }
    expect(found).toEqual({});

    // History: stacked rows with status, cost and actions in view.
    await settle(page, "/history/");
    const row = page.getByTestId("history-row").first();
    for (const part of [
      row.getByTestId("job-status"),
      row.getByTestId("row-cost"),
      row.getByTestId("row-actions"),
    ]) {
      await expect(part).toBeInViewport();
    }

    // The job page says "Simulated providers" once, not in the header and the bar above it.
    await settle(page, `/jobs/${j.success}/`);
    await expect(page.getByTestId("simulated-badge").filter({ visible: true })).toHaveCount(1);
    // The graph fits, or says that it scrolls.
    await page.getByRole("tab", { name: "Graph" }).click();
    const graph = page.getByTestId("task-graph");
    await expect(graph).toBeVisible();
    const clipped = await graph.evaluate((el) => el.scrollWidth > el.clientWidth + 1);
    if (clipped) await expect(page.getByTestId("graph-scroll-hint")).toBeVisible();
  });
});

test("keyboard: a skip link first, and a visible ring on every focused control", async ({ page, api }) => {
  const j = await setUp(api);
  await settle(page, `/jobs/${j.success}/`);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();

  // Every stop of the Tab order shows a focus indicator (an outline or a ring shadow).
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press("Tab");
    const shown = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return "body";
      // The control's own ring, or its card's (a card's title button stretches over it).
      const drawn = (node: Element | null) => {
        if (!node) return false;
        const style = getComputedStyle(node);
        return style.boxShadow !== "none" || (style.outlineStyle !== "none" && style.outlineWidth !== "0px");
      };
      const ring = drawn(el) || drawn(el.closest('[data-testid="task-card"]'));
      return ring
        ? "ok"
        : `no focus indicator on ${el.tagName} ${el.getAttribute("aria-label") ?? el.textContent?.slice(0, 40)}`;
    });
    expect(shown).not.toMatch(/^no focus indicator/);
  }
  await api(`/api/jobs/${j.running}/cancel`, { method: "POST" });
});
