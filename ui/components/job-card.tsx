import Link from "next/link";

import { BudgetBar } from "@/components/budget-bar";
import { ElapsedTimer } from "@/components/elapsed-timer";
import { JobStatusBadge, TaskCounts } from "@/components/status-badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Progress } from "@/components/ui/progress";
import type { JobDetail, JobSummary } from "@/lib/api";
import { title, usd } from "@/lib/format";

/** Finished / total tasks; a task counts as finished in any terminal state. */
export function taskProgress(job: JobDetail): { finished: number; total: number } {
  const tasks = Object.values(job.tasks);
  const finished = tasks.filter((t) =>
    ["completed", "degraded", "failed", "skipped"].includes(t.status),
  ).length;
  return { finished, total: tasks.length };
}

export function JobCard({ job, detail }: { job: JobSummary; detail?: JobDetail }) {
  const progress = detail ? taskProgress(detail) : null;
  return (
    <Link
      href={`/jobs/${job.job_id}/`}
      className="group rounded-xl outline-none focus-visible:ring-[3px] focus-visible:ring-ring"
      data-testid="job-card"
    >
      <Card className="h-full transition-colors group-hover:border-primary/40">
        <CardHeader>
          <div className="flex items-start justify-between gap-2">
            <CardTitle className="line-clamp-2 text-sm leading-snug" title={job.project_description}>
              {title(job.project_description, 90)}
            </CardTitle>
            <JobStatusBadge status={job.status} />
          </div>
          <p className="font-mono text-xs text-muted-foreground">
            {job.job_id} ·{" "}
            <ElapsedTimer
              start={job.created_at}
              end={job.status === "running" || job.status === "pending" ? null : job.updated_at}
            />
          </p>
        </CardHeader>
        <CardContent className="space-y-3">
          {detail ? (
            <BudgetBar spent={detail.total_cost} budget={detail.budget_usd} />
          ) : (
            <p className="text-xs text-muted-foreground">{usd(job.total_cost)} spent</p>
          )}
          {progress && progress.total > 0 ? (
            <div>
              <div className="mb-1 flex justify-between text-xs text-muted-foreground">
                <span>Tasks</span>
                <TaskCounts tasks={Object.values(detail?.tasks ?? {})} className="text-xs" />
              </div>
              <Progress
                value={(progress.finished / progress.total) * 100}
                aria-label={`${progress.finished} of ${progress.total} tasks finished`}
                className="h-1.5"
                indicatorClassName="bg-success"
              />
            </div>
          ) : (
            <p className="text-xs text-muted-foreground">Planning tasks…</p>
          )}
        </CardContent>
      </Card>
    </Link>
  );
}
