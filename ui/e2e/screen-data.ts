// Fixed answers of the API for the screenshot comparison: the same pages every run (no clock,
// no random plan), in the exact shapes the server sends (types from lib/api-types.ts).
import type { Page, Route } from "@playwright/test";

import type { JobDetail, JobPlan, JobSummary, ModelStat } from "../lib/api";

const T0 = 1_796_600_000; // a fixed moment, shown in UTC by the test's browser

function summary(i: number, over: Partial<JobSummary>): JobSummary {
  return {
    job_id: `job0000${i}`,
    project_description: "Write a python script that prints hello world",
    status: "done",
    total_cost: 0.0412,
    final_status: "SUCCESS",
    created_at: T0 + i * 600,
    updated_at: T0 + i * 600 + 35,
    task_count: 4,
    simulated: true,
    budget_usd: 1,
    time_limit_s: 5400,
    ...over,
  };
}

export const JOBS: JobSummary[] = [
  summary(5, { project_description: "Summarise the benefits of unit tests", total_cost: 0.0031 }),
  summary(4, {
    project_description: "Write a python script that prints the fibonacci numbers",
    status: "failed",
    final_status: "BUDGET_EXHAUSTED",
    total_cost: 0.00237,
    budget_usd: 0.003,
  }),
  summary(3, {
    project_description: "Build a command line todo app in Python",
    status: "cancelled",
    final_status: "CANCELLED",
    total_cost: 0.0194,
  }),
  summary(2, { project_description: "Write a haiku about queues", total_cost: 0.0088 }),
  summary(1, {}),
];

const task = (
  n: number,
  title: string,
  deps: number[],
  over: Partial<JobDetail["tasks"][string]> = {},
): JobDetail["tasks"][string] => ({
  task_id: `task_00${n}`,
  title,
  status: "completed",
  score: 0.91,
  model: "claude-sonnet-4-6",
  cost: 0.0102,
  iterations: 1,
  type: "code_generation",
  dependencies: deps.map((d) => `task_00${d}`),
  reason: "score 0.91 reached the threshold 0.85",
  self_evaluated: false,
  ...over,
});

export const DETAIL: JobDetail = {
  ...(JOBS[4] as JobSummary),
  success_criteria: "It prints Hello World",
  concurrency: 3,
  tasks: Object.fromEntries(
    [
      task(1, "Design the solution", [], { type: "complex_reasoning", model: "gpt-4o-mini" }),
      task(2, "Implement the project as one runnable Python 3 script", [1]),
      task(3, "Write test_main.py", [1], {
        status: "degraded",
        score: 0.78,
        reason: "best score 0.78 is below the threshold 0.85 (plateau)",
      }),
      task(4, "Write README.md", [2], { type: "summarization", model: "gemini-2.5-flash", cost: 0.0006 }),
    ].map((t) => [t.task_id, t]),
  ),
};

// The job's plan with a forecast, as GET /api/jobs/{id}/plan answers for a finished job.
export const PLAN: JobPlan = {
  job_id: DETAIL.job_id,
  status: DETAIL.status,
  tasks: Object.values(DETAIL.tasks).map((t, i) => ({
    id: t.task_id,
    title: t.title,
    type: t.type,
    prompt: `Prompt of ${t.title}`,
    dependencies: t.dependencies,
    acceptance_threshold: 0.85,
    pinned_model: null,
    model: t.model,
    critic: "gemini-2.5-flash",
    evaluators: ["claude-opus-4-6", "gpt-4o"],
    iterations: { low: 1, expected: 1.5, high: 2 },
    forecast: { low: 0.004 + i * 0.001, expected: 0.009 + i * 0.001, high: 0.02 + i * 0.002 },
    basis: "from 48 recorded calls",
    status: t.status,
    cost: t.cost,
  })),
  forecast: { low: 0.022, expected: 0.042, high: 0.092, basis: "from 48 recorded calls", recorded_calls: 48 },
  budget_usd: 1,
  spent_usd: DETAIL.total_cost,
  leaves_usd: { low: 0.8668, expected: 0.9168, high: 0.9368 },
  over_budget: false,
};

const model = (
  name: string,
  provider: string,
  calls: number,
  failures: number,
  price: number,
): ModelStat => ({
  model: name,
  provider,
  success_rate: calls ? (calls - failures) / calls : 0,
  trust_factor: calls ? 0.95 ** failures : 1,
  avg_latency_ms: calls ? 900 + price * 100 : 0,
  latency_p95_ms: calls ? 1500 + price * 100 : 0,
  avg_cost_usd: calls ? 0.002 : 0,
  call_count: calls,
  failure_count: failures,
  cost_per_1m_input: price,
  cost_per_1m_output: price * 4,
  simulated: true,
  available: true,
});

export const MODELS: ModelStat[] = [
  model("claude-sonnet-4-6", "anthropic", 124, 1, 3),
  model("claude-haiku-4-5", "anthropic", 0, 0, 1),
  model("gemini-2.5-flash", "google", 40, 0, 0.3),
  model("gpt-4o-mini", "openai", 57, 2, 0.15),
];

function sse(): string {
  const events: object[] = [
    { type: "status", status: "running", final_status: null, ts: T0 + 600 },
    { type: "log", level: "INFO", msg: "job started on simulated providers: budget $1.00", ts: T0 + 601 },
    { type: "log", level: "INFO", msg: "plan: 4 tasks", ts: T0 + 603 },
    ...Object.values(DETAIL.tasks).map((t, i) => ({
      type: "log",
      level: t.status === "degraded" ? "WARNING" : "INFO",
      msg: `${t.task_id} ${t.status}: ${t.reason}`,
      ts: T0 + 610 + i * 5,
    })),
    { type: "cost", total_cost: DETAIL.total_cost, budget_usd: 1, ts: T0 + 630 },
    { type: "status", status: "done", final_status: "SUCCESS", ts: T0 + 635 },
    { type: "done", status: "SUCCESS", total_cost: DETAIL.total_cost },
  ];
  return events.map((e, i) => `id: ${i + 1}\ndata: ${JSON.stringify(e)}\n\n`).join("");
}

/** Every API call of the page answered from the fixed data above. */
export async function serveFixedApi(page: Page): Promise<void> {
  const json = (route: Route, body: unknown, headers: Record<string, string> = {}) =>
    route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(body), headers });
  await page.route("**/api/**", async (route) => {
    const url = new URL(route.request().url());
    const path = url.pathname;
    if (path === "/api/models") return json(route, MODELS);
    if (path === "/api/session") return json(route, { auth_required: false, authenticated: true });
    if (path === "/api/jobs") {
      const status = url.searchParams.get("status");
      const items = JOBS.filter((j) => !status || j.status === status);
      return json(route, items, { "X-Total-Count": String(items.length) });
    }
    if (path.endsWith("/stream")) {
      return route.fulfill({ status: 200, contentType: "text/event-stream", body: sse() });
    }
    if (path.endsWith("/artifacts")) return json(route, [{ path: "main.py", size: 412 }]);
    if (path.endsWith("/plan")) return json(route, PLAN);
    if (path.endsWith("/webhooks")) return json(route, []);
    if (path.startsWith("/api/jobs/")) return json(route, DETAIL);
    return route.fulfill({ status: 404, contentType: "application/json", body: '{"detail":"not here"}' });
  });
}
