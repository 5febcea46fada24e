// The five fields of a job, their limits (as the server's JobSpec enforces them) and the
// client-side checks that spare a round trip. The server stays the judge: its 422 messages
// are shown next to the same fields.
import { load, YAMLException } from "js-yaml";

import type { JobCreate } from "@/lib/api";

export type Field = keyof JobCreate;

export const FIELDS: Field[] = [
  "project_description",
  "success_criteria",
  "budget_usd",
  "time_limit_s",
  "concurrency",
];

export const LIMITS = {
  descriptionMax: 20_000,
  budgetMax: 10_000,
  timeLimitMax: 7 * 24 * 3600,
  concurrencyMin: 1,
  concurrencyMax: 10,
};

export const DEFAULTS = { budget_usd: 8, time_limit_s: 5400, concurrency: 3 };

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
  budget_usd: String(DEFAULTS.budget_usd),
  time_limit_s: String(DEFAULTS.time_limit_s),
  concurrency: String(DEFAULTS.concurrency),
};

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
    time_limit_s: String(job.time_limit_s),
    concurrency: String(job.concurrency),
  };
}

export type FieldErrors = Partial<Record<Field | "_", string>>;

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
  if (typeof raw !== "number" && typeof raw !== "string") return "must be a number";
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
export function toJobCreate(values: Record<string, unknown>): { body?: JobCreate; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const description = values.project_description;
  if (typeof description !== "string" || description.trim() === "") {
    errors.project_description = "is required";
  } else if (description.length > LIMITS.descriptionMax) {
    errors.project_description = `must be at most ${LIMITS.descriptionMax} characters`;
  }
  const criteria = values.success_criteria ?? "";
  if (typeof criteria !== "string") errors.success_criteria = "must be text";
  else if (criteria.length > LIMITS.descriptionMax) {
    errors.success_criteria = `must be at most ${LIMITS.descriptionMax} characters`;
  }
  const budget = checkNumber(values.budget_usd ?? "", { min: 0, max: LIMITS.budgetMax, exclusiveMin: true });
  if (budget) errors.budget_usd = budget;
  const time = checkNumber(values.time_limit_s ?? "", {
    min: 0,
    max: LIMITS.timeLimitMax,
    exclusiveMin: true,
  });
  if (time) errors.time_limit_s = time;
  const conc = checkNumber(values.concurrency ?? "", {
    integer: true,
    min: LIMITS.concurrencyMin,
    max: LIMITS.concurrencyMax,
  });
  if (conc) errors.concurrency = conc;
  if (Object.keys(errors).length > 0) return { errors };

  const body: JobCreate = { project_description: String(description).trim() };
  if (typeof criteria === "string" && criteria.trim()) body.success_criteria = criteria.trim();
  for (const key of ["budget_usd", "time_limit_s", "concurrency"] as const) {
    const raw = values[key];
    if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) continue;
    body[key] = Number(raw);
  }
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
  const unknown = Object.keys(values).filter((k) => !FIELDS.includes(k as Field));
  return { values, unknown };
}
