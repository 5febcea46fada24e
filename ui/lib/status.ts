// How each status looks: one table for badges, task cards and the task graph.
import type { FinalStatus, JobStatus, TaskStatus } from "@/lib/api";

export type Tone = "success" | "warning" | "info" | "destructive" | "muted" | "outline";

const JOB_TONE: Record<JobStatus, Tone> = {
  pending: "muted",
  running: "info",
  done: "success",
  failed: "destructive",
  cancelled: "warning",
};

const FINAL_TONE: Record<FinalStatus, Tone> = {
  SUCCESS: "success",
  PARTIAL_SUCCESS: "warning",
  BUDGET_EXHAUSTED: "destructive",
  TIMEOUT: "destructive",
  SYSTEM_FAILURE: "destructive",
  CANCELLED: "warning",
};

const TASK_TONE: Record<TaskStatus, Tone> = {
  pending: "muted",
  running: "info",
  completed: "success",
  degraded: "warning",
  failed: "destructive",
  skipped: "outline",
};

export function jobTone(status: string): Tone {
  return JOB_TONE[status as JobStatus] ?? "outline";
}

export function finalTone(status: string): Tone {
  return FINAL_TONE[status as FinalStatus] ?? "outline";
}

export function taskTone(status: string): Tone {
  return TASK_TONE[status as TaskStatus] ?? "outline";
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
