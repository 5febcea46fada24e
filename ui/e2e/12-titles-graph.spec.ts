import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createJob, ended, expect, JOBS, openJob, test, waitForJob } from "./fixtures";
import { type RunningServer, startServer, stopServer } from "./server";

// Tasks say what they are for (the planner's titles), and the graph is laid out so that no
// edge runs through another task's box; nodes show title, model, score and cost.

interface ApiTask {
  task_id: string;
  title: string;
  model: string | null;
}

test("cards and graph nodes carry the plan's titles; edges go around the boxes", async ({ page, api }) => {
  const jobId = await createJob(api, {
    ...JOBS.todo,
    concurrency: 3,
  });
  await openJob(page, jobId);
  // A running task has a model, or says it is being chosen: never "not routed yet".
  const running = page.locator('[data-testid="task-card"][data-status="running"]').first();
  await expect(running).toBeVisible({ timeout: 60_000 });
  await expect(running).not.toContainText("not routed yet");

  await waitForJob(api, jobId, ended);
  const tasks = Object.values(
    ((await (await api(`/api/jobs/${jobId}`)).json()) as { tasks: Record<string, ApiTask> }).tasks,
  );
  expect(tasks.length).toBeGreaterThan(2);
  for (const t of tasks) {
    expect(t.title.length).toBeGreaterThan(0);
    expect(t.title.length).toBeLessThanOrEqual(60);
    const card = page.locator(`[data-testid="task-card"][data-task-id="${t.task_id}"]`);
    await expect(card.getByTestId("task-title")).toHaveText(t.title);
    await expect(card).toContainText(t.task_id);
  }

  await page.getByRole("tab", { name: "Graph" }).click();
  const nodes = page.getByTestId("graph-node");
  await expect(nodes).toHaveCount(tasks.length);
  for (const t of tasks) {
    const node = page.locator(`[data-testid="graph-node"][data-task-id="${t.task_id}"]`);
    await expect(node.getByTestId("graph-node-stats")).toContainText("$");
    // The full model name is on hover (the node's <title>), however long.
    if (t.model) await expect(node.locator("title")).toContainText(t.model);
    expect(
      t.title.startsWith((await node.getByTestId("graph-node-title").textContent())?.replace("…", "") ?? "?"),
    ).toBe(true);
  }

  // No edge passes through a box other than its own two ends.
  const crossings = await page.evaluate(() => {
    const boxes = [...document.querySelectorAll<SVGGElement>('[data-testid="graph-node"]')].map((n) => ({
      id: n.dataset.taskId ?? "",
      x: Number(n.dataset.x),
      y: Number(n.dataset.y),
      w: Number(n.dataset.w),
      h: Number(n.dataset.h),
    }));
    const found: string[] = [];
    for (const edge of document.querySelectorAll<SVGPathElement>('[data-testid="graph-edge"]')) {
      const length = edge.getTotalLength();
      for (let d = 0; d <= length; d += 4) {
        const p = edge.getPointAtLength(d);
        for (const b of boxes) {
          if (b.id === edge.dataset.from || b.id === edge.dataset.to) continue;
          if (p.x > b.x + 1 && p.x < b.x + b.w - 1 && p.y > b.y + 1 && p.y < b.y + b.h - 1) {
            found.push(`${edge.dataset.from}->${edge.dataset.to} crosses ${b.id}`);
          }
        }
      }
    }
    return [...new Set(found)];
  });
  expect(crossings).toEqual([]);
});

test.describe("a server with one model", () => {
  // Critique and scores can only come from the generator itself: the cards and the task's
  // iterations mark its scores "self-evaluated".
  const MODEL = "claude-haiku-4-5";
  const TYPES = ["code_generation", "code_review", "complex_reasoning", "creative_writing"];
  TYPES.push("data_extraction", "summarization", "evaluation");
  let server: RunningServer;
  let dir: string;

  test.beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "orch-one-model-"));
    const catalog = {
      models: { [MODEL]: { provider: "anthropic", quality: 0.84, max_output_tokens: 4096 } },
      task_types: Object.fromEntries(
        TYPES.map((t) => [t, { threshold: 0.8, max_iterations: 1, models: [MODEL] }]),
      ),
      roles: { decompose: [MODEL], critique: [MODEL], evaluate: [MODEL] },
    };
    writeFileSync(join(dir, "catalog.json"), JSON.stringify(catalog));
    server = await startServer("one-model", { ORCH_CATALOG_PATH: join(dir, "catalog.json") });
  });
  test.afterAll(async () => {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test("scores are marked self-evaluated on the cards and the iterations", async ({ page }) => {
    const api = (path: string, init?: RequestInit) =>
      fetch(`${server.baseURL}${path}`, { ...init, headers: { "Content-Type": "application/json" } });
    const jobId = await createJob(api, JOBS.hello);
    await waitForJob(api, jobId, ended);
    const tasks = Object.values(
      (
        (await (await api(`/api/jobs/${jobId}`)).json()) as {
          tasks: Record<string, ApiTask & { score: number | null; self_evaluated: boolean }>;
        }
      ).tasks,
    );
    const scored = tasks.filter((t) => t.score !== null);
    expect(scored.length).toBeGreaterThan(0);
    expect(scored.every((t) => t.self_evaluated)).toBe(true);

    await page.goto(`${server.baseURL}/jobs/${jobId}/`);
    const first = scored[0]!;
    const card = page.locator(`[data-testid="task-card"][data-task-id="${first.task_id}"]`);
    const badge = card.getByTestId("self-evaluated");
    await expect(badge).toBeVisible();
    await expect(badge).toContainText("No model of another provider could review it");
    await expect(page.getByTestId("self-evaluated")).toHaveCount(scored.length);

    await card.getByTestId("task-title").click();
    const detail = page.getByTestId("task-detail");
    await expect(detail.getByTestId("iteration").getByTestId("self-evaluated")).toBeVisible();
  });
});
