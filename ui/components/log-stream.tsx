"use client";

import { ArrowDown } from "lucide-react";
import { Fragment, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";

import { LogFilters } from "@/components/log-filters";

import { Button } from "@/components/ui/button";
import { clock } from "@/lib/format";
import { filterLogs, type LogFilter, NO_FILTER, splitTaskIds } from "@/lib/log-filter";
import { budgetRaise, type LogLine, type Run } from "@/lib/use-job";
import { cn } from "@/lib/utils";

const LEVEL_COLOR: Record<string, string> = {
  ERROR: "text-red-400",
  WARNING: "text-yellow-300",
  INFO: "text-green-300",
  DEBUG: "text-gray-400",
};

// How close to the bottom (px) still counts as "following" the log.
const STICKY_PX = 24;

/**
 * Terminal-style log. Follows new lines while the reader is at the bottom; once they scroll
 * up, it stays where they are and offers a button to jump back to the live end.
 */
/** "Run 2 — resumed 02:14:16, budget +$1.00 (now $1.50)". */
export function runLabel(run: Run): string {
  const verb = run.n === 1 ? "started" : "resumed";
  const raised = budgetRaise(run);
  return `Run ${run.n} — ${verb} ${clock(run.start)}${raised ? `, ${raised}` : ""}`;
}

export function LogStream({
  logs: all,
  runs,
  waiting,
  tasks,
  models,
  onOpenTask,
}: {
  logs: LogLine[];
  runs: Run[];
  waiting: string;
  /** Task ids with their titles, for the task filter and the task ids that open a task. */
  tasks: { id: string; title?: string }[];
  models: string[];
  /** Opens a task, at one of its iterations when the line names it. */
  onOpenTask: (taskId: string, iteration?: number) => void;
}) {
  const [filter, setFilter] = useState<LogFilter>(NO_FILTER);
  const logs = useMemo(() => filterLogs(all, filter), [all, filter]);
  const ids = useMemo(() => tasks.map((t) => t.id), [tasks]);
  const boxRef = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [unseen, setUnseen] = useState(0);
  const seen = useRef(0);

  useLayoutEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    if (follow) {
      box.scrollTop = box.scrollHeight;
      seen.current = logs.length;
      setUnseen(0);
    } else {
      setUnseen(logs.length - seen.current);
    }
  }, [logs, follow]);

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const onScroll = () => {
      const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight <= STICKY_PX;
      setFollow(atBottom);
    };
    box.addEventListener("scroll", onScroll, { passive: true });
    return () => box.removeEventListener("scroll", onScroll);
  }, []);

  const jump = () => {
    const box = boxRef.current;
    if (box) box.scrollTop = box.scrollHeight;
    setFollow(true);
  };

  return (
    <div className="space-y-2">
      <LogFilters
        filter={filter}
        onChange={setFilter}
        tasks={tasks}
        models={models}
        shown={logs.length}
        total={all.length}
      />
      <div className="relative">
        <div
          ref={boxRef}
          data-testid="log-stream"
          role="log"
          aria-live="polite"
          aria-label="Job log"
          tabIndex={0}
          className="h-80 overflow-y-auto rounded-lg bg-gray-950 p-4 font-mono text-xs leading-relaxed text-gray-200 outline-none focus-visible:ring-[3px] focus-visible:ring-ring"
        >
          {logs.length === 0 && (
            <p className="text-gray-400">{all.length > 0 ? "No line matches these filters." : waiting}</p>
          )}
          {logs.map((line, i) => (
            <Fragment key={line.id || `i${i}`}>
              {runs.length > 1 && line.run !== logs[i - 1]?.run && runs[line.run - 1] && (
                <div
                  className="my-1 border-y border-gray-700 py-0.5 font-semibold text-sky-300"
                  data-testid="log-run"
                  data-run={line.run}
                >
                  {runLabel(runs[line.run - 1] as Run)}
                </div>
              )}
              <div className="flex gap-2" data-level={line.level} data-testid="log-line" data-run={line.run}>
                <span className="shrink-0 text-gray-400 select-none">{clock(line.ts)}</span>
                <span className={cn("shrink-0", LEVEL_COLOR[line.level] ?? "text-gray-400")}>
                  [{line.level}]
                </span>
                <span className="min-w-0 break-words whitespace-pre-wrap">
                  {splitTaskIds(line.msg, ids).map((part, k) =>
                    part.task ? (
                      <button
                        key={k}
                        type="button"
                        onClick={() => onOpenTask(part.task ?? "", part.iteration)}
                        className="rounded-sm text-sky-300 underline underline-offset-2 outline-none focus-visible:ring-2 focus-visible:ring-sky-300"
                        // The name starts with the visible text (WCAG 2.5.3, label in name).
                        aria-label={`${part.text}: open ${part.iteration ? "this iteration" : "this task"}`}
                      >
                        {part.text}
                      </button>
                    ) : (
                      <Fragment key={k}>{part.text}</Fragment>
                    ),
                  )}
                </span>
              </div>
            </Fragment>
          ))}
        </div>
        {!follow && (
          <Button
            size="sm"
            variant="secondary"
            onClick={jump}
            className="absolute right-4 bottom-4 shadow"
            data-testid="log-jump"
          >
            <ArrowDown /> {unseen > 0 ? `${unseen} new line${unseen === 1 ? "" : "s"}` : "Follow"}
          </Button>
        )}
      </div>
    </div>
  );
}
