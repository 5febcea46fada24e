// Which log lines to show: by level (at least), task, model and text.
import type { LogLine } from "@/lib/use-job";

export interface LogFilter {
  /** The lowest level shown; "" for all. */
  level: "" | "INFO" | "WARNING" | "ERROR";
  task: string;
  model: string;
  text: string;
}

export const NO_FILTER: LogFilter = { level: "", task: "", model: "", text: "" };

const RANK: Record<string, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };

function mentions(msg: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w/.-])${escaped}($|[^\\w/.-])`).test(msg);
}

export function filterLogs(lines: LogLine[], f: LogFilter): LogLine[] {
  const text = f.text.trim().toLowerCase();
  const min = f.level ? (RANK[f.level] ?? 0) : 0;
  if (!text && !min && !f.task && !f.model) return lines;
  return lines.filter(
    (l) =>
      (RANK[l.level] ?? 0) >= min &&
      (!f.task || mentions(l.msg, f.task)) &&
      (!f.model || mentions(l.msg, f.model)) &&
      (!text || l.msg.toLowerCase().includes(text)),
  );
}

/**
 * The message in pieces, task ids apart, so each can open its task; "task_002 iteration 2"
 * (a call or an iteration of the task) opens that iteration.
 */
export function splitTaskIds(
  msg: string,
  ids: string[],
): { text: string; task?: string; iteration?: number }[] {
  if (ids.length === 0) return [{ text: msg }];
  const pattern = new RegExp(
    `\\b(${ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})\\b(?: iteration (\\d+))?`,
    "g",
  );
  const parts: { text: string; task?: string; iteration?: number }[] = [];
  let at = 0;
  for (const m of msg.matchAll(pattern)) {
    const start = m.index ?? 0;
    if (start > at) parts.push({ text: msg.slice(at, start) });
    const task = m[1] ?? m[0];
    parts.push(m[2] ? { text: m[0], task, iteration: Number(m[2]) } : { text: m[0], task });
    at = start + m[0].length;
  }
  if (at < msg.length) parts.push({ text: msg.slice(at) });
  return parts;
}
