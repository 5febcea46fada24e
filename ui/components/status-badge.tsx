import { Badge } from "@/components/ui/badge";
import { countOutcomes, finalTone, jobTone, taskTone } from "@/lib/status";
import { cn } from "@/lib/utils";

const LABEL: Record<string, string> = {
  PARTIAL_SUCCESS: "partial success",
  BUDGET_EXHAUSTED: "budget exhausted",
  SYSTEM_FAILURE: "system failure",
};

/** How an outcome reads: "budget exhausted", "success". */
export function finalLabel(finalStatus: string): string {
  return LABEL[finalStatus] ?? finalStatus.toLowerCase();
}

export function JobStatusBadge({ status, finalStatus }: { status: string; finalStatus?: string | null }) {
  return (
    <span
      className="inline-flex items-center gap-1.5"
      data-testid="job-status"
      data-final-status={finalStatus ?? undefined}
    >
      <Badge variant={jobTone(status)} data-status={status}>
        {status === "running" && <span className="size-1.5 animate-pulse rounded-full bg-current" />}
        {status}
      </Badge>
      {/* The outcome, when it says more than the status (not "cancelled cancelled"). */}
      {finalStatus && finalStatus.toLowerCase() !== status && (
        <Badge variant={finalTone(finalStatus)}>{finalLabel(finalStatus)}</Badge>
      )}
    </span>
  );
}

export function TaskStatusBadge({ status }: { status: string }) {
  return (
    <Badge variant={taskTone(status)} data-status={status}>
      {status === "running" && <span className="size-1.5 animate-pulse rounded-full bg-current" />}
      {status}
    </Badge>
  );
}

const COUNT_COLOR: Record<string, string> = {
  completed: "text-success-ink",
  degraded: "text-warning-ink",
  failed: "text-destructive-ink",
};

/** "(5 tasks: 2 done · 1 failed · 2 skipped)": one number per outcome, never "5/5". */
export function TaskCounts({
  tasks,
  jobEnded = false,
  className,
}: {
  tasks: { status: string; reason?: string | null }[];
  jobEnded?: boolean;
  className?: string;
}) {
  const counts = countOutcomes(tasks, jobEnded);
  return (
    <span className={cn("text-sm font-normal text-muted-foreground", className)} data-testid="task-counts">
      ({tasks.length} {tasks.length === 1 ? "task" : "tasks"}
      {counts.length > 0 && ": "}
      {counts.map((c, i) => (
        <span key={c.outcome} data-outcome={c.outcome}>
          {i > 0 && " · "}
          <span className={cn("tabular-nums", COUNT_COLOR[c.outcome])}>{c.count}</span> {c.label}
        </span>
      ))}
      )
    </span>
  );
}
