// Events of GET /api/jobs/{id}/stream, mirroring orchestrator/events.py. SSE payloads are not
// part of the OpenAPI document, so they are described here, once.
import type { FinalStatus, JobStatus, TaskStatus } from "@/lib/api";

export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR";

export interface LogEvent {
  type: "log";
  level: LogLevel;
  msg: string;
  ts: number;
}

export interface TaskEvent {
  type: "task";
  task_id: string;
  status: TaskStatus;
  score: number | null;
  model: string | null;
  cost: number;
  iterations: number;
  reason: string;
}

export interface StatusEvent {
  type: "status";
  status: JobStatus;
  final_status: FinalStatus | null;
  ts: number;
}

export interface CostEvent {
  type: "cost";
  total_cost: number;
  budget_usd: number;
  ts: number;
}

/** The plan awaits review, or a reviewer changed it: its forecast range. */
export interface PlanEvent {
  type: "plan";
  task_count: number;
  low: number;
  expected: number;
  high: number;
  budget_usd: number;
  ts: number;
}

export interface DoneEvent {
  type: "done";
  status: FinalStatus;
  total_cost: number;
}

export type JobEvent = LogEvent | TaskEvent | StatusEvent | CostEvent | PlanEvent | DoneEvent;

/** An event with the id the server gave it (the SSE `id:` line). */
export type StreamEvent = JobEvent & { id: number };

const KNOWN = new Set(["log", "task", "status", "cost", "plan", "done"]);

export function parseEvent(data: string): JobEvent | null {
  try {
    const value = JSON.parse(data) as { type?: unknown };
    return typeof value.type === "string" && KNOWN.has(value.type) ? (value as JobEvent) : null;
  } catch {
    return null;
  }
}
