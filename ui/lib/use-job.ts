"use client";

// The live state of one job: the snapshot from GET /api/jobs/{id}, then every stream event
// folded in, so task cards, cost, status and log move as the server reports them.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";

import { ApiError, api, type FinalStatus, type JobDetail, type JobStatus, type TaskSummary } from "@/lib/api";
import type { LogLevel, StreamEvent } from "@/lib/events";
import { usd, usdExact } from "@/lib/format";
import { type StreamState, useSSE } from "@/lib/sse";

export interface LogLine {
  id: number;
  level: LogLevel;
  msg: string;
  ts: number;
  /** Which run of the job wrote it: 1, then 2 after the first resume, ... */
  run: number;
}

/** One run of the job: the first, then one per resume. Times are epoch seconds. */
export interface Run {
  n: number;
  start: number;
  /** When it ended; null while it runs. */
  end: number | null;
  /** The outcome its `done` reported. */
  outcome: FinalStatus | null;
  /** The cap during this run (from its cost events) and during the run before it. */
  budget: number | null;
  budgetBefore: number | null;
}

/** "budget +$0.25 (now $0.50)" when the run began with more budget than the run before it. */
export function budgetRaise(run: Run): string | null {
  if (run.budget === null || run.budgetBefore === null || run.budget <= run.budgetBefore) return null;
  return `budget +${usd(run.budget - run.budgetBefore)} (now ${usdExact(run.budget)})`;
}

/** A task as the page knows it: a task event may arrive before the snapshot that has its plan. */
export type LiveTask = Omit<TaskSummary, "type" | "dependencies" | "title" | "self_evaluated"> &
  Partial<Pick<TaskSummary, "type" | "dependencies" | "title" | "self_evaluated">>;

interface State {
  tasks: Record<string, LiveTask>;
  logs: LogLine[];
  status: JobStatus | null;
  finalStatus: FinalStatus | null;
  totalCost: number | null;
  endedAt: number | null;
  runs: Run[];
  /** The time of the latest event seen (a `done` carries none). */
  lastTs: number | null;
  /** How many `plan` events arrived: the plan (or its forecast) changed that often. */
  planVersion: number;
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
  runs: [],
  lastTs: null,
  planVersion: 0,
};

// The log keeps the most recent lines; a browser tab should not hold a million rows.
const MAX_LOG_LINES = 5000;
// How often the page of an ended job checks whether it was resumed elsewhere.
const ENDED_POLL_MS = 5000;
// After the task events of a new plan, how long to wait before reading their details.
const PLAN_REFRESH_MS = 300;

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
  const state2 = trackRuns(state, action.event);
  return applyEvent(state2, action.event);
}

/**
 * Runs from the stream: the first event opens run 1; after a `done`, the next event opens
 * the next run (a resume). A run ends at its `done`, at the time of the last event before it.
 */
function trackRuns(state: State, event: StreamEvent): State {
  const ts = "ts" in event ? event.ts : state.lastTs;
  const runs = [...state.runs];
  let last = runs[runs.length - 1];
  if (event.type !== "done" && (!last || last.end !== null) && ts !== null) {
    const budgetBefore = last?.budget ?? null;
    last = { n: runs.length + 1, start: ts, end: null, outcome: null, budget: budgetBefore, budgetBefore };
    runs.push(last);
  }
  if (last && event.type === "cost") runs[runs.length - 1] = { ...last, budget: event.budget_usd };
  if (last && event.type === "done") {
    runs[runs.length - 1] = { ...last, end: ts ?? last.start, outcome: event.status };
  }
  return { ...state, runs, lastTs: ts };
}

function applyEvent(state: State, event: StreamEvent): State {
  switch (event.type) {
    case "log": {
      const line: LogLine = {
        id: event.id,
        level: event.level,
        msg: event.msg,
        ts: event.ts,
        run: Math.max(1, state.runs.length),
      };
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
    case "plan":
      // A reviewer may have added or removed tasks: the snapshot that follows has them all.
      return { ...state, planVersion: state.planVersion + 1, tasks: {} };
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
  // A task event of a task the snapshot did not have (the plan was just made): its title,
  // type and dependencies are in the job's detail, read once the burst of events is over.
  const known = useRef(new Set<string>());
  useEffect(() => {
    known.current = new Set(Object.keys(job?.tasks ?? {}));
  }, [job]);
  const planTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // The job's `updated_at` when its stream last ended: a later one means it ran again.
  const seenUpdate = useRef<number | null>(null);
  useEffect(() => () => clearTimeout(planTimer.current), []);

  const stream = useSSE(job && jobId ? api.jobs.streamUrl(jobId) : null, {
    onEvent: (event) => {
      dispatch({ kind: "event", event });
      if (event.type === "plan") {
        clearTimeout(planTimer.current);
        planTimer.current = setTimeout(() => void refresh(), PLAN_REFRESH_MS);
      } else if (event.type === "task" && !known.current.has(event.task_id)) {
        known.current.add(event.task_id);
        clearTimeout(planTimer.current);
        planTimer.current = setTimeout(() => void refresh(), PLAN_REFRESH_MS);
      }
    },
    onDone: async () => {
      // The stream ended after a `done`. If the job was resumed meanwhile, follow the new run.
      const fresh = await refresh();
      seenUpdate.current = fresh?.updated_at ?? null;
      return fresh !== null && ["pending", "running"].includes(fresh.status);
    },
  });

  // An ended job can be resumed from elsewhere (the CLI, another tab): look now and then, and
  // read the new run's events when one started, even one that has already ended again.
  const { state: streamState, reconnect } = stream;
  useEffect(() => {
    if (streamState !== "ended") return;
    const timer = setInterval(() => {
      void refresh().then((fresh) => {
        if (!fresh) return;
        const changed = seenUpdate.current !== null && fresh.updated_at > seenUpdate.current;
        if (changed || ["pending", "running"].includes(fresh.status)) reconnect();
      });
    }, ENDED_POLL_MS);
    return () => clearInterval(timer);
  }, [streamState, refresh, reconnect]);

  return { job, state, error, stream, refresh };
}
