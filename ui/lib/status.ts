// How each status looks: one table for badges, task cards and the task graph.
import type { FinalStatus, JobStatus, TaskStatus } from "@/lib/api";

export type Tone = "success" | "warning" | "info" | "destructive" | "muted" | "outline";

const JOB_TONE: Record<JobStatus, Tone> = {
  pending: "muted",
  running: "info",
  awaiting_review: "warning",
  done: "success",
  failed: "destructive",
  cancelled: "muted",
};

const FINAL_TONE: Record<FinalStatus, Tone> = {
  SUCCESS: "success",
  PARTIAL_SUCCESS: "warning",
  BUDGET_EXHAUSTED: "destructive",
  TIMEOUT: "destructive",
  FAILED: "destructive",
  SYSTEM_FAILURE: "destructive",
  CANCELLED: "muted",
};

const TASK_TONE: Record<TaskStatus, Tone> = {
  pending: "muted",
  running: "info",
  completed: "success",
  degraded: "warning",
  failed: "destructive",
  skipped: "outline",
};

const OUTCOME_TONE: Record<string, Tone> = { cancelled: "muted", "not run": "muted" };

export function jobTone(status: string): Tone {
  return JOB_TONE[status as JobStatus] ?? "outline";
}

export function finalTone(status: string): Tone {
  return FINAL_TONE[status as FinalStatus] ?? "outline";
}

export function taskTone(status: string): Tone {
  return TASK_TONE[status as TaskStatus] ?? OUTCOME_TONE[status] ?? "outline";
}

/** SVG fills/strokes for the task graph (CSS variables, so dark mode follows). */
export const TONE_COLOR: Record<Tone, string> = {
  success: "var(--success)",
  warning: "var(--warning)",
  info: "var(--info)",
  destructive: "var(--destructive)",
  muted: "var(--muted-foreground)",
  outline: "var(--border)",
};

export function isActive(status: string): boolean {
  return status === "pending" || status === "running";
}

export const JOB_STATUSES: JobStatus[] = ["pending", "running", "done", "failed", "cancelled"];

/**
 * What a task's badge says: its status, except that a task a cancel stopped is "cancelled",
 * and one still pending when its job has ended was "not run".
 */
export type TaskOutcome = TaskStatus | "cancelled" | "not run";

export function taskOutcome(task: { status: string; reason?: string | null }, jobEnded = false): TaskOutcome {
  if (task.status === "failed" && /\bcancel/i.test(task.reason ?? "")) return "cancelled";
  if (jobEnded && task.status === "pending") return "not run";
  return task.status as TaskStatus;
}

const OUTCOME_ORDER: TaskOutcome[] = [
  "completed",
  "degraded",
  "failed",
  "cancelled",
  "skipped",
  "not run",
  "running",
  "pending",
];

const OUTCOME_LABEL: Record<TaskOutcome, string> = {
  completed: "done",
  degraded: "degraded",
  failed: "failed",
  cancelled: "cancelled",
  skipped: "skipped",
  "not run": "not run",
  running: "running",
  pending: "waiting",
};

export interface OutcomeCount {
  outcome: TaskOutcome;
  label: string;
  count: number;
}

/** Tasks counted by outcome, in a fixed order, zeros left out: "2 done · 1 failed · 2 skipped". */
export function countOutcomes(
  tasks: { status: string; reason?: string | null }[],
  jobEnded = false,
): OutcomeCount[] {
  const counts = new Map<TaskOutcome, number>();
  for (const t of tasks) {
    const o = taskOutcome(t, jobEnded);
    counts.set(o, (counts.get(o) ?? 0) + 1);
  }
  return OUTCOME_ORDER.filter((o) => counts.has(o)).map((o) => ({
    outcome: o,
    label: OUTCOME_LABEL[o],
    count: counts.get(o) ?? 0,
  }));
}

export function outcomeText(counts: OutcomeCount[]): string {
  return counts.map((c) => `${c.count} ${c.label}`).join(" · ");
}

/**
 * What a job can do next, from its state: a running job can be cancelled; one that reached
 * its goal is duplicated (a resume would have nothing to run); one stopped by its cap or its
 * clock is resumed with more budget or time; a cancelled or failed one is resumed as it is.
 */
export type NextAction = "cancel" | "duplicate" | "more-budget" | "more-time" | "resume";

export function nextAction(status: string, finalStatus: string | null | undefined): NextAction {
  if (isActive(status)) return "cancel";
  if (finalStatus === "SUCCESS" || finalStatus === "PARTIAL_SUCCESS") return "duplicate";
  if (finalStatus === "BUDGET_EXHAUSTED") return "more-budget";
  if (finalStatus === "TIMEOUT") return "more-time";
  return "resume";
}
