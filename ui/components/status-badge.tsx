import { Badge } from "@/components/ui/badge";
import { finalTone, jobTone, taskTone } from "@/lib/status";

const LABEL: Record<string, string> = {
  PARTIAL_SUCCESS: "partial success",
  BUDGET_EXHAUSTED: "budget exhausted",
  SYSTEM_FAILURE: "system failure",
};

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
        <Badge variant={finalTone(finalStatus)}>{LABEL[finalStatus] ?? finalStatus.toLowerCase()}</Badge>
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
