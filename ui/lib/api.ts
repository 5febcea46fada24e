// Typed client of the orchestrator HTTP API. Types come from lib/api-types.ts, generated from
// the server's /openapi.json (`npm run gen:api`), so they follow the server instead of a copy.
import type { paths } from "@/lib/api-types";
import { loginRequired } from "@/lib/auth";

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;
type Ok<Op> = Op extends { responses: infer R }
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer B }
      ? JsonOf<B>
      : R extends { 202: infer C }
        ? JsonOf<C>
        : never
  : never;
export type SessionInfo = Ok<paths["/api/session"]["get"]>;
type Body<Op> = Op extends { requestBody?: { content: { "application/json": infer T } } } ? T : never;

export type JobSummary = Ok<paths["/api/jobs"]["get"]>[number];
export type JobCreate = Body<paths["/api/jobs"]["post"]>;
export type ResumeBody = NonNullable<Body<paths["/api/jobs/{job_id}/resume"]["post"]>>;
export type JobDetail = Ok<paths["/api/jobs/{job_id}"]["get"]>;
export type TaskSummary = JobDetail["tasks"][string];
export type TaskDetail = Ok<paths["/api/jobs/{job_id}/tasks/{task_id}"]["get"]>;
export type IterationDetail = TaskDetail["history"][number];
export type Artifact = Ok<paths["/api/jobs/{job_id}/artifacts"]["get"]>[number];
export type FileHistory = Ok<paths["/api/jobs/{job_id}/files/{path}/history"]["get"]>;
export type FileVersion = FileHistory["versions"][number];
export type FileDiff = Ok<paths["/api/jobs/{job_id}/files/{path}/history/{commit}/diff"]["get"]>;
export type ModelStat = Ok<paths["/api/models"]["get"]>[number];
export type WebhookAttempt = Ok<paths["/api/jobs/{job_id}/webhooks"]["get"]>[number];
export type JobPlan = Ok<paths["/api/jobs/{job_id}/plan"]["get"]>;
export type PlanTask = JobPlan["tasks"][number];
export type PlanEdit = Body<paths["/api/jobs/{job_id}/plan"]["put"]>;
export type JobStatus = JobSummary["status"];
export type FinalStatus = NonNullable<JobSummary["final_status"]>;
export type TaskStatus = TaskSummary["status"];

/** Where the API lives: same origin when served by FastAPI, :8000 under `npm run dev`. */
export const API_BASE = (process.env.NEXT_PUBLIC_API_URL ?? "").replace(/\/$/, "");

/** A failed call: HTTP status (0 when the server could not be reached) and readable messages. */
export class ApiError extends Error {
  readonly status: number;
  /** Messages per field for 422 answers, keyed by the field name (`budget_usd`, ...). */
  readonly fields: Record<string, string>;

  constructor(status: number, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
  }

  get unreachable(): boolean {
    return this.status === 0;
  }
}

interface DetailItem {
  loc?: (string | number)[];
  msg?: string;
  type?: string;
}

type ErrorBody = { detail?: unknown; errors?: { field?: string; message?: string }[] | null };

function describe(status: number, body: unknown): ApiError {
  const { detail, errors } = (body ?? {}) as ErrorBody;
  // Our server: {"detail": "<sentence>", "errors": [{"field", "message"}]} on a 422.
  if (Array.isArray(errors) && errors.length > 0) {
    const fields: Record<string, string> = {};
    for (const e of errors) {
      if (e.field && e.message && !(e.field in fields)) fields[e.field] = e.message;
    }
    return new ApiError(status, typeof detail === "string" ? detail : "Invalid request", fields);
  }
  // FastAPI's default shape, in case a route answers with it.
  if (Array.isArray(detail)) {
    const fields: Record<string, string> = {};
    const lines: string[] = [];
    for (const item of detail as DetailItem[]) {
      const loc = (item.loc ?? []).filter((p) => p !== "body");
      const field = loc.length > 0 ? String(loc[loc.length - 1]) : "";
      const msg = item.type === "extra_forbidden" ? "is not a known field" : (item.msg ?? "invalid");
      if (field && !(field in fields)) fields[field] = msg;
      lines.push(field ? `${field}: ${msg}` : msg);
    }
    return new ApiError(status, lines.join("; ") || `HTTP ${status}`, fields);
  }
  if (typeof detail === "string" && detail) return new ApiError(status, detail);
  if (status === 404) return new ApiError(status, "Not found");
  if (status === 401) return new ApiError(status, "This server needs its API token");
  return new ApiError(status, `The server answered HTTP ${status}`);
}

export function apiUrl(path: string): string {
  return `${API_BASE}${path}`;
}

// Cookies go along cross-origin too (`npm run dev` on :3000 against the API on :8000).
const CREDENTIALS: RequestCredentials = "include";

async function send(path: string, init: RequestInit, headers: Headers): Promise<Response> {
  try {
    return await fetch(apiUrl(path), { ...init, headers, cache: "no-store", credentials: CREDENTIALS });
  } catch {
    throw new ApiError(0, "Cannot reach the orchestrator API. Is `orchestrator serve` running?");
  }
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  let res = await send(path, init, headers);
  if (res.status === 401 && !path.startsWith("/api/session")) {
    // The server has a token and this browser no session: ask for it, then try once more.
    await loginRequired();
    res = await send(path, init, headers);
  }
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      // Not JSON (a proxy's HTML page, say): the status alone will have to do.
    }
    throw describe(res.status, body);
  }
  return res;
}

/** JSON of a successful answer; `undefined` for 204 and other empty bodies (DELETE). */
async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await request(path, init);
  if (res.status === 204 || res.headers.get("content-length") === "0") return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface JobQuery {
  q?: string;
  status?: string;
  limit?: number;
  offset?: number;
}

export interface JobPage {
  items: JobSummary[];
  total: number;
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : "";
}

const id = encodeURIComponent;
/** A file's path in a URL: each folder and name encoded, the slashes kept. */
const filePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

async function text(path: string): Promise<string> {
  return (await request(path)).text();
}

export const api = {
  jobs: {
    async list(params: JobQuery = {}): Promise<JobPage> {
      const res = await request(`/api/jobs${query({ ...params })}`);
      const items = (await res.json()) as JobSummary[];
      const header = res.headers.get("X-Total-Count");
      return { items, total: header === null ? items.length : Number(header) };
    },
    get: (jobId: string) => json<JobDetail>(`/api/jobs/${id(jobId)}`),
    create: (body: JobCreate) =>
      json<{ job_id: string }>("/api/jobs", { method: "POST", body: JSON.stringify(body) }),
    /** Run what did not finish; `budget_usd` raises the cap first. */
    resume: (jobId: string, body?: ResumeBody) =>
      json<unknown>(`/api/jobs/${id(jobId)}/resume`, {
        method: "POST",
        ...(body ? { body: JSON.stringify(body) } : {}),
      }),
    cancel: (jobId: string) => json<unknown>(`/api/jobs/${id(jobId)}/cancel`, { method: "POST" }),
    remove: (jobId: string) => json<void>(`/api/jobs/${id(jobId)}`, { method: "DELETE" }),
    task: (jobId: string, taskId: string) => json<TaskDetail>(`/api/jobs/${id(jobId)}/tasks/${id(taskId)}`),
    artifacts: (jobId: string) => json<Artifact[]>(`/api/jobs/${id(jobId)}/artifacts`),
    artifactsZipUrl: (jobId: string) => apiUrl(`/api/jobs/${id(jobId)}/artifacts.zip`),
    artifactUrl: (jobId: string, path: string) =>
      apiUrl(`/api/jobs/${id(jobId)}/artifacts/${filePath(path)}`),
    artifactText: (jobId: string, path: string) => text(`/api/jobs/${id(jobId)}/artifacts/${filePath(path)}`),
    /** A result file's versions in the job's git history, newest first. */
    fileHistory: (jobId: string, path: string) =>
      json<FileHistory>(`/api/jobs/${id(jobId)}/files/${filePath(path)}/history`),
    fileVersion: (jobId: string, path: string, commit: string) =>
      text(`/api/jobs/${id(jobId)}/files/${filePath(path)}/history/${id(commit)}`),
    /** A version against the one before it, as a unified diff. */
    fileDiff: (jobId: string, path: string, commit: string) =>
      json<FileDiff>(`/api/jobs/${id(jobId)}/files/${filePath(path)}/history/${id(commit)}/diff`),
    streamUrl: (jobId: string) => apiUrl(`/api/jobs/${id(jobId)}/stream`),
    webhooks: (jobId: string) => json<WebhookAttempt[]>(`/api/jobs/${id(jobId)}/webhooks`),
    /** The plan with its cost forecast (any planned job; editable while awaiting review). */
    plan: (jobId: string) => json<JobPlan>(`/api/jobs/${id(jobId)}/plan`),
    editPlan: (jobId: string, body: PlanEdit) =>
      json<JobPlan>(`/api/jobs/${id(jobId)}/plan`, { method: "PUT", body: JSON.stringify(body) }),
    approve: (jobId: string, budgetUsd?: number) =>
      json<unknown>(`/api/jobs/${id(jobId)}/approve`, {
        method: "POST",
        ...(budgetUsd !== undefined ? { body: JSON.stringify({ budget_usd: budgetUsd }) } : {}),
      }),
    reject: (jobId: string) => json<unknown>(`/api/jobs/${id(jobId)}/reject`, { method: "POST" }),
  },
  models: {
    list: () => json<ModelStat[]>("/api/models"),
  },
  session: {
    get: () => json<SessionInfo>("/api/session"),
    /** Trade the API token for the HttpOnly session cookie (ApiError 401 when wrong). */
    login: (token: string) => json<void>("/api/session", { method: "POST", body: JSON.stringify({ token }) }),
    logout: () => json<void>("/api/session", { method: "DELETE" }),
    /** True when the server wants a token and this browser has no valid session. */
    async missing(): Promise<boolean> {
      try {
        const info = await api.session.get();
        return info.auth_required && !info.authenticated;
      } catch {
        return false;
      }
    },
  },
  /** EventSource sends cookies cross-origin only when asked to. */
  streamInit: { withCredentials: API_BASE !== "" } satisfies EventSourceInit,
};
