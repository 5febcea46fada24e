// The five fields of a job, their limits (as the server's JobSpec enforces them) and the
// client-side checks that spare a round trip. The server stays the judge: its 422 messages
// are shown next to the same fields.
import { load, YAMLException } from "js-yaml";

import type { JobCreate } from "@/lib/api";

/** The fields the form and the YAML upload edit (the API takes more: review, notify_url…). */
export const FIELDS = [
  "project_description",
  "success_criteria",
  "budget_usd",
  "time_limit_s",
  "concurrency",
] as const satisfies readonly (keyof JobCreate)[];

export type Field = (typeof FIELDS)[number];

export const LIMITS = {
  descriptionMax: 20_000,
  budgetMax: 10_000,
  timeLimitMax: 7 * 24 * 3600,
  concurrencyMin: 1,
  concurrencyMax: 10,
};

/** Keys a project file may also hold: stop for plan review (always, or above a forecast). */
export const REVIEW_KEYS = ["review", "max_forecast_usd"] as const satisfies readonly (keyof JobCreate)[];

/** The server's defaults (JobSpec) for fields left out. */
export const DEFAULTS = { budget_usd: 8, time_limit_s: 5400, concurrency: 3 };

/** The form's starting budget: enough for a first job, far below the server's $8. */
export const FORM_BUDGET = 1;

/** What the form holds: text as typed, so an emptied number field stays empty (not 0). */
export interface FormValues {
  project_description: string;
  success_criteria: string;
  budget_usd: string;
  time_limit_s: string;
  concurrency: string;
}

export const EMPTY_FORM: FormValues = {
  project_description: "",
  success_criteria: "",
  budget_usd: FORM_BUDGET.toFixed(2),
  time_limit_s: formatDuration(DEFAULTS.time_limit_s),
  concurrency: String(DEFAULTS.concurrency),
};

const UNIT_S: Record<string, number> = { h: 3600, m: 60, s: 1 };

/**
 * A time limit as people write it: "90" (minutes), "90m", "1h 30m", "1.5h", "45s" → seconds.
 * null when it is not one of those.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 60;
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)\s*(h|m|s)\s*/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== t.replace(/^\s+/, "")) return null;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_S[p[2] ?? "s"] ?? 1), 0);
}

/** 5400 → "1h 30m", 60 → "1m", 90 → "1m 30s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const parts: string[] = [];
  if (s >= 3600) parts.push(`${Math.floor(s / 3600)}h`);
  if (s % 3600 >= 60) parts.push(`${Math.floor((s % 3600) / 60)}m`);
  if (s % 60 > 0 || parts.length === 0) parts.push(`${s % 60}s`);
  return parts.join(" ");
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j] ?? 0;
      row[j] = Math.min(here + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length] ?? 0;
}

/** The job field an unknown key most likely meant ("budget" → "budget_usd"), if any is close. */
export function nearestField(key: string): Field | null {
  const k = key.toLowerCase();
  let best: Field | null = null;
  let bestScore = Infinity;
  for (const f of FIELDS) {
    const d = f.startsWith(k) || k.startsWith(f) ? 1 : distance(k, f);
    if (d < bestScore) {
      bestScore = d;
      best = f;
    }
  }
  return bestScore <= Math.max(2, Math.floor(k.length / 3)) ? best : null;
}

/** The form as another job was set up ("Duplicate and edit"). */
export function formFromJob(job: {
  project_description: string;
  success_criteria: string;
  budget_usd: number;
  time_limit_s: number;
  concurrency: number;
}): FormValues {
  return {
    project_description: job.project_description,
    success_criteria: job.success_criteria,
    budget_usd: String(job.budget_usd),
    time_limit_s: formatDuration(job.time_limit_s),
    concurrency: String(job.concurrency),
  };
}

export type FieldErrors = Partial<Record<Field | "_", string>>;

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

function checkNumber(
  raw: unknown,
  {
    integer = false,
    min,
    max,
    exclusiveMin = false,
  }: { integer?: boolean; min: number; max: number; exclusiveMin?: boolean },
): string | null {
  const n = typeof raw === "number" ? raw : Number(raw);
  if (typeof raw === "string" && raw.trim() === "") return null;
  if (typeof raw !== "number" && typeof raw !== "string") return `must be a number, not ${typeName(raw)}`;
  if (!Number.isFinite(n)) return "must be a number";
  if (integer && !Number.isInteger(n)) return "must be a whole number";
  if (exclusiveMin ? n <= min : n < min)
    return exclusiveMin ? `must be greater than ${min}` : `must be at least ${min}`;
  if (n > max) return `must be at most ${max}`;
  return null;
}

/**
 * Validates field values (form text or parsed YAML) and builds the request body. Empty number
 * fields are left out so the server's defaults apply.
 */
export function toJobCreate(
  values: Record<string, unknown>,
  source: "form" | "yaml" = "yaml",
): { body?: JobCreate; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const form = source === "form";
  // The form's time limit is written as a duration ("1h 30m"); a YAML file gives seconds.
  const input = { ...values };
  if (form && typeof input.time_limit_s === "string" && input.time_limit_s.trim() !== "") {
    const seconds = parseDuration(input.time_limit_s);
    if (seconds === null) errors.time_limit_s = "must be minutes, or like 1h 30m";
    else input.time_limit_s = seconds;
  }
  const description = input.project_description;
  if (
    description === undefined ||
    description === null ||
    (typeof description === "string" && description.trim() === "")
  ) {
    errors.project_description = "is required";
  } else if (typeof description !== "string") {
    errors.project_description = `must be text, not ${typeName(description)}`;
  } else if (description.length > LIMITS.descriptionMax) {
    errors.project_description = `must be at most ${LIMITS.descriptionMax} characters`;
  }
  const criteria = input.success_criteria ?? "";
  if (typeof criteria !== "string") errors.success_criteria = `must be text, not ${typeName(criteria)}`;
  else if (criteria.length > LIMITS.descriptionMax) {
    errors.success_criteria = `must be at most ${LIMITS.descriptionMax} characters`;
  }
  // The form asks for a budget: an empty one is not silently the server's $8.
  if (form && String(input.budget_usd ?? "").trim() === "") errors.budget_usd = "is required";
  const budget = checkNumber(input.budget_usd ?? "", { min: 0, max: LIMITS.budgetMax, exclusiveMin: true });
  if (budget) errors.budget_usd ??= budget;
  const time = checkNumber(input.time_limit_s ?? "", {
    min: 0,
    max: LIMITS.timeLimitMax,
    exclusiveMin: true,
  });
  if (time) errors.time_limit_s ??= form ? time.replace(/(\d+)$/, (n) => formatDuration(Number(n))) : time;
  const conc = checkNumber(input.concurrency ?? "", {
    integer: true,
    min: LIMITS.concurrencyMin,
    max: LIMITS.concurrencyMax,
  });
  if (conc) errors.concurrency = conc;
  if (Object.keys(errors).length > 0) return { errors };

  const body: JobCreate = { project_description: String(description).trim() };
  if (typeof criteria === "string" && criteria.trim()) body.success_criteria = criteria.trim();
  for (const key of ["budget_usd", "time_limit_s", "concurrency"] as const) {
    const raw = input[key];
    if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) continue;
    body[key] = Number(raw);
  }
  // A project file's review keys go as they are: the server checks them.
  if (input.review === true) body.review = true;
  if (typeof input.max_forecast_usd === "number") body.max_forecast_usd = input.max_forecast_usd;
  return { body, errors };
}

export interface YamlResult {
  values?: Record<string, unknown>;
  error?: string;
  /** 1-based line of a parse error, when YAML knows it. */
  line?: number;
  unknown?: string[];
}

/** Parses a project YAML file the way `orchestrator run -f` reads it. */
export function parseProjectYaml(text: string): YamlResult {
  let data: unknown;
  try {
    data = load(text);
  } catch (e) {
    if (e instanceof YAMLException) {
      const line = e.mark ? e.mark.line + 1 : undefined;
      const column = e.mark ? e.mark.column + 1 : undefined;
      const where = line ? `line ${line}, column ${column}` : "somewhere in the file";
      return { error: `YAML error at ${where}: ${e.reason || e.message}`, line };
    }
    return { error: `YAML error: ${String(e)}` };
  }
  if (data === null || data === undefined) return { error: "The file is empty." };
  if (typeof data !== "object" || Array.isArray(data)) {
    return {
      error: `The file must be a mapping of job fields (project_description, budget_usd, …), not ${Array.isArray(data) ? "a list" : typeof data}.`,
    };
  }
  const values = data as Record<string, unknown>;
  const unknown = Object.keys(values).filter(
    (k) => !FIELDS.includes(k as Field) && !(REVIEW_KEYS as readonly string[]).includes(k),
  );
  return { values, unknown };
}
