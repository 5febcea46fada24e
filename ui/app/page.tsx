"use client";

import { Plus, Rocket } from "lucide-react";
import Link from "next/link";

import { ErrorState } from "@/components/error-state";
import { JobCard } from "@/components/job-card";
import { PageHeader } from "@/components/page-header";
import { JobStatusBadge } from "@/components/status-badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { api, type JobDetail, type JobSummary } from "@/lib/api";
import { dateTime, title, usd } from "@/lib/format";
import { isActive } from "@/lib/status";
import { usePoll } from "@/lib/use-poll";

interface Overview {
  active: JobSummary[];
  details: Record<string, JobDetail>;
  recent: JobSummary[];
  total: number;
}

async function loadOverview(): Promise<Overview> {
  const page = await api.jobs.list({ limit: 50 });
  const active = page.items.filter((j) => isActive(j.status));
  // Budget and task progress live on the detail; active jobs are few, so fetch each one.
  const details: Record<string, JobDetail> = {};
  await Promise.all(
    active.map(async (j) => {
      try {
        details[j.job_id] = await api.jobs.get(j.job_id);
      } catch {
        // Deleted between the two calls: the card shows what the summary has.
      }
    }),
  );
  const recent = page.items.filter((j) => !isActive(j.status)).slice(0, 5);
  return { active, details, recent, total: page.total };
}

function NewJobButton() {
  return (
    <Button asChild>
      <Link href="/new/">
        <Plus /> New Job
      </Link>
    </Button>
  );
}

export default function DashboardPage() {
  const overview = usePoll(loadOverview, 5_000, []);
  const data = overview.data;

  return (
    <div className="mx-auto max-w-6xl">
      <PageHeader title="Dashboard" actions={<NewJobButton />} />
      {overview.error && (
        <div className="mb-4">
          <ErrorState error={overview.error} onRetry={overview.refresh}>
            <span className="text-xs">Retrying every 5 seconds.</span>
          </ErrorState>
        </div>
      )}
      <section aria-labelledby="active-title">
        <h2 id="active-title" className="mb-3 font-semibold">
          Active Jobs ({data?.active.length ?? 0})
        </h2>
        {!data && overview.loading ? (
          <div className="grid grid-cols-1 gap-4 md:grid-cols-2 lg:grid-cols-3">
            <Skeleton className="h-40" />
            <Skeleton className="h-40" />
          </div>
        ) : data && data.active.length > 0 ? (
          <div className="grid grid-cols-1 gap-4 md:grid-cols-2 lg:grid-cols-3">
            {data.active.map((j) => (
              <JobCard key={j.job_id} job={j} detail={data.details[j.job_id]} />
            ))}
          </div>
        ) : data ? (
          <Card className="border-dashed" data-testid="empty-state">
            <CardContent className="flex flex-col items-center gap-3 py-8 text-center">
              <Rocket className="size-8 text-muted-foreground" />
              <div>
                <p className="font-medium">No active jobs</p>
                <p className="text-sm text-muted-foreground">
                  {data.total === 0
                    ? "Describe a project, set a budget, and watch several models build it."
                    : "Everything has finished. Start another one?"}
                </p>
              </div>
              <NewJobButton />
            </CardContent>
          </Card>
        ) : null}
      </section>

      {data && data.recent.length > 0 && (
        <section aria-labelledby="recent-title" className="mt-8">
          <div className="mb-3 flex items-center justify-between">
            <h2 id="recent-title" className="font-semibold">
              Recently finished
            </h2>
            <Link href="/history/" className="text-sm text-info-ink underline-offset-4 hover:underline">
              All history →
            </Link>
          </div>
          <ul className="divide-y rounded-xl border bg-card">
            {data.recent.map((j) => (
              <li key={j.job_id}>
                <Link
                  href={`/jobs/${j.job_id}/`}
                  className="flex items-center gap-3 px-4 py-3 text-sm outline-none hover:bg-muted/50 focus-visible:ring-[3px] focus-visible:ring-ring"
                >
                  <span className="font-mono text-xs text-muted-foreground">{j.job_id}</span>
                  <span className="min-w-0 flex-1 truncate">{title(j.project_description, 80)}</span>
                  <JobStatusBadge status={j.status} finalStatus={j.final_status} />
                  <span className="hidden w-20 text-right tabular-nums sm:inline">{usd(j.total_cost)}</span>
                  <span className="hidden w-40 text-right text-xs text-muted-foreground md:inline">
                    {dateTime(j.created_at)}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
