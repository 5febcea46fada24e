"use client";

// The live state of one job: the snapshot from GET /api/jobs/{id}, then every stream event
// folded in, so task cards, cost, status and log move as the server reports them.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";

import { ApiError, api, type FinalStatus, type JobDetail, type JobStatus, type TaskSummary } from "@/lib/api";
import type { LogLevel, StreamEvent } from "@/lib/events";
import { type StreamState, useSSE } from "@/lib/sse";

export interface LogLine {
  id: number;
  level: LogLevel;
  msg: string;
  ts: number;
}

/** A task as the page knows it: a task event may arrive before the snapshot that has its plan. */
export type LiveTask = Omit<TaskSummary, "type" | "dependencies"> &
  Partial<Pick<TaskSummary, "type" | "dependencies">>;

interface State {
  tasks: Record<string, LiveTask>;
  logs: LogLine[];
  status: JobStatus | null;
  finalStatus: FinalStatus | null;
  totalCost: number | null;
  endedAt: number | null;
}

type Action =
  { kind: "reset" } | { kind: "snapshot"; job: JobDetail } | { kind: "event"; event: StreamEvent };

const INITIAL: State = {
  tasks: {},
  logs: [],
  status: null,
  finalStatus: null,
  totalCost: null,
  endedAt: null,
};

// The log keeps the most recent lines; a browser tab should not hold a million rows.
const MAX_LOG_LINES = 5000;

function reduce(state: State, action: Action): State {
  if (action.kind === "reset") return INITIAL;
  if (action.kind === "snapshot") {
    const { job } = action;
    const terminal = !["pending", "running"].includes(job.status);
    return {
      ...state,
      // Stream events already applied are newer than nothing, but a snapshot is the truth
      // for fields the stream does not carry; merge with the snapshot underneath.
      tasks: { ...job.tasks, ...mergeNewer(job.tasks, state.tasks) },
      status: job.status,
      finalStatus: job.final_status ?? null,
      totalCost: Math.max(job.total_cost, state.totalCost ?? 0),
      endedAt: terminal ? job.updated_at : null,
    };
  }
  const { event } = action;
  switch (event.type) {
    case "log": {
      const line: LogLine = { id: event.id, level: event.level, msg: event.msg, ts: event.ts };
      const logs = state.logs.length >= MAX_LOG_LINES ? state.logs.slice(-MAX_LOG_LINES + 1) : state.logs;
      return { ...state, logs: [...logs, line] };
    }
    case "task": {
      const { type: _t, id: _i, ...task } = event;
      return {
        ...state,
        tasks: { ...state.tasks, [task.task_id]: { ...state.tasks[task.task_id], ...task } },
      };
    }
    case "status":
      return {
        ...state,
        status: event.status,
        finalStatus: event.final_status ?? null,
        endedAt: ["pending", "running"].includes(event.status) ? null : event.ts,
      };
    case "cost":
      return { ...state, totalCost: event.total_cost };
    case "done":
      // The status itself comes from a `status` event or the refresh that `done` triggers.
      return { ...state, finalStatus: event.status, totalCost: event.total_cost };
  }
}

/** Stream task states win over the snapshot only when they are further along. */
function mergeNewer(
  snapshot: Record<string, TaskSummary>,
  live: Record<string, LiveTask>,
): Record<string, LiveTask> {
  const order = ["pending", "running", "completed", "degraded", "failed", "skipped"];
  const out: Record<string, LiveTask> = {};
  for (const [id, task] of Object.entries(live)) {
    const snap = snapshot[id];
    if (!snap) out[id] = task;
    else if (order.indexOf(task.status) > order.indexOf(snap.status)) out[id] = { ...snap, ...task };
  }
  return out;
}

export interface JobHandle {
  job: JobDetail | null;
  state: State;
  error: ApiError | null;
  stream: { state: StreamState; retryIn: number; reconnect: () => void };
  refresh: () => Promise<JobDetail | null>;
}

export function useJob(jobId: string | null): JobHandle {
  const [job, setJob] = useState<JobDetail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [state, dispatch] = useReducer(reduce, INITIAL);
  const idRef = useRef(jobId);

  const refresh = useCallback(async (): Promise<JobDetail | null> => {
    if (!jobId) return null;
    try {
      const fresh = await api.jobs.get(jobId);
      if (idRef.current !== jobId) return null;
      setJob(fresh);
      setError(null);
      dispatch({ kind: "snapshot", job: fresh });
      return fresh;
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, String(e)));
      return null;
    }
  }, [jobId]);

  useEffect(() => {
    idRef.current = jobId;
    setJob(null);
    setError(null);
    dispatch({ kind: "reset" });
    void refresh();
  }, [jobId, refresh]);

  // Open the stream only once the job is known to exist (a 404 shows a message instead).
  const stream = useSSE(job && jobId ? api.jobs.streamUrl(jobId) : null, {
    onEvent: (event) => dispatch({ kind: "event", event }),
    onDone: async () => {
      // `done` closes the stream. If the job was resumed meanwhile, follow the new run.
      const fresh = await refresh();
      return fresh !== null && ["pending", "running"].includes(fresh.status);
    },
  });

  return { job, state, error, stream, refresh };
}
