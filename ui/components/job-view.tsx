"use client";

import { GitBranch, LayoutGrid } from "lucide-react";
import Link from "next/link";
import dynamic from "next/dynamic";
import { useMemo, useState } from "react";

import { SimulatedBadge } from "@/components/app-sidebar";
import { BudgetBar } from "@/components/budget-bar";
import { ElapsedTimer } from "@/components/elapsed-timer";
import { ErrorState } from "@/components/error-state";
import { JobActions } from "@/components/job-actions";
import { LogStream } from "@/components/log-stream";
import { PlanReview } from "@/components/plan-review";
import { ResultFiles } from "@/components/result-files";
import { RunTimeline } from "@/components/run-timeline";
import { JobStatusBadge, TaskCounts } from "@/components/status-badge";
import { StreamBanner } from "@/components/stream-banner";
import { TaskCard } from "@/components/task-card";
import { TaskDetailDialog } from "@/components/task-detail";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { WebhookAttempts } from "@/components/webhook-attempts";
import { title } from "@/lib/format";
import { isActive } from "@/lib/status";
import { useJob } from "@/lib/use-job";

// The graph and its layout library load when the Graph tab is first opened.
const TaskGraph = dynamic(() => import("@/components/task-graph").then((m) => m.TaskGraph), {
  ssr: false,
  loading: () => <Skeleton className="h-48" />,
});

export function JobView({ jobId }: { jobId: string }) {
  const { job, state, error, stream, refresh } = useJob(jobId);
  const [openTask, setOpenTask] = useState<string | null>(null);
  const [openIteration, setOpenIteration] = useState<number | undefined>(undefined);
  const open = (taskId: string | null, iteration?: number) => {
    setOpenTask(taskId);
    setOpenIteration(iteration);
  };
  const [view, setView] = useState("cards");

  const tasks = useMemo(
    () =>
      Object.values(state.tasks).sort((a, b) =>
        a.task_id.localeCompare(b.task_id, undefined, { numeric: true }),
      ),
    [state.tasks],
  );

  const logTasks = useMemo(() => tasks.map((t) => ({ id: t.task_id, title: t.title })), [tasks]);
  const logModels = useMemo(
    () => [...new Set(tasks.map((t) => t.model).filter((m): m is string => Boolean(m)))].sort(),
    [tasks],
  );

  if (error && !job) {
    const notFound = error.status === 404;
    return (
      <div className="mx-auto max-w-2xl py-8">
        <ErrorState
          error={error}
          title={notFound ? `There is no job “${jobId}”` : undefined}
          description={notFound ? "It may have been deleted, or the address is mistyped." : undefined}
          onRetry={notFound ? undefined : () => void refresh()}
        >
          <Button size="sm" variant="ghost" asChild>
            <Link href="/history/">Open the history</Link>
          </Button>
          <Button size="sm" variant="ghost" asChild>
            <Link href="/new/">Start a new job</Link>
          </Button>
        </ErrorState>
      </div>
    );
  }
  if (!job) {
    return (
      <div className="space-y-4" aria-busy="true">
        <Skeleton className="h-10 w-2/3" />
        <Skeleton className="h-4 w-full" />
        <Skeleton className="h-28" />
        <Skeleton className="h-64" />
      </div>
    );
  }

  const status = state.status ?? job.status;
  const finalStatus = state.finalStatus;
  const spent = state.totalCost ?? job.total_cost;
  const running = isActive(status);
  // Planned and stopped before any task ran: its tasks are waiting, not "not run".
  const awaiting = status === "awaiting_review";
  const finished = tasks.filter((t) => !["pending", "running"].includes(t.status)).length;

  const onChanged = (action: "resume" | "cancel") => {
    void refresh().then(() => {
      if (action === "resume") stream.reconnect();
    });
  };

  return (
    <div className="mx-auto max-w-6xl space-y-6">
      <header className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1
            className="text-xl font-bold break-words"
            title={job.project_description}
            data-testid="job-title"
          >
            {title(job.project_description, 140)}
          </h1>
          <p className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-sm text-muted-foreground">
            <span className="font-mono">{job.job_id}</span>
            <span>
              Elapsed{" "}
              <ElapsedTimer
                start={job.created_at}
                end={running ? null : (state.endedAt ?? job.updated_at)}
                runs={state.runs}
              />
            </span>
            {job.success_criteria && (
              <span className="truncate">Criteria: {title(job.success_criteria, 80)}</span>
            )}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          {job.simulated && <SimulatedBadge />}
          <JobStatusBadge status={status} finalStatus={finalStatus} />
        </div>
      </header>

      <BudgetBar spent={spent} budget={job.budget_usd} />

      <RunTimeline runs={state.runs} />

      {!awaiting && (
        <JobActions job={{ ...job, status, final_status: finalStatus }} spent={spent} onChanged={onChanged} />
      )}

      {(awaiting || tasks.length > 0) && (
        <PlanReview
          jobId={job.job_id}
          editable={awaiting}
          version={`${status}:${finished}:${state.planVersion}`}
          onDecided={() => void refresh()}
        />
      )}

      <StreamBanner state={stream.state} retryIn={stream.retryIn} onReconnect={stream.reconnect} />
      {error && (
        <ErrorState error={error} onRetry={() => void refresh()}>
          <span className="text-xs">Showing the last state received.</span>
        </ErrorState>
      )}

      <section aria-labelledby="tasks-title">
        <Tabs value={view} onValueChange={setView}>
          <div className="flex flex-wrap items-center justify-between gap-2">
            <h2 id="tasks-title" className="font-semibold">
              Tasks <TaskCounts tasks={tasks} jobEnded={!running && !awaiting} />
            </h2>
            <TabsList aria-label="Task view">
              <TabsTrigger value="cards">
                <LayoutGrid /> Cards
              </TabsTrigger>
              <TabsTrigger value="graph">
                <GitBranch /> Graph
              </TabsTrigger>
            </TabsList>
          </div>
          {/* The panels are always there: a tab must control one, even before the plan. */}
          {tasks.length === 0 ? (
            ["cards", "graph"].map((v) => (
              <TabsContent key={v} value={v}>
                <p className="text-sm text-muted-foreground">
                  {running ? "Planning the tasks…" : "This job has no tasks."}
                </p>
              </TabsContent>
            ))
          ) : (
            <>
              <TabsContent value="cards">
                <div
                  className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-3"
                  data-testid="task-cards"
                >
                  {tasks.map((t) => (
                    <TaskCard key={t.task_id} task={t} jobEnded={!running && !awaiting} onOpen={open} />
                  ))}
                </div>
              </TabsContent>
              <TabsContent value="graph">
                <TaskGraph tasks={tasks} jobEnded={!running && !awaiting} onOpen={open} />
              </TabsContent>
            </>
          )}
        </Tabs>
      </section>

      <section aria-labelledby="log-title">
        <h2 id="log-title" className="mb-2 font-semibold">
          Live Logs
        </h2>
        <LogStream
          logs={state.logs}
          runs={state.runs}
          tasks={logTasks}
          models={logModels}
          onOpenTask={open}
          waiting={running ? "Waiting for logs…" : "No log lines."}
        />
      </section>

      <section aria-labelledby="files-title">
        <h2 id="files-title" className="mb-2 font-semibold">
          Result files
        </h2>
        <ResultFiles jobId={job.job_id} version={`${status}:${finished}`} />
      </section>

      <WebhookAttempts jobId={job.job_id} version={`${status}:${finished}`} />

      <TaskDetailDialog
        jobId={job.job_id}
        taskId={openTask}
        iteration={openIteration}
        status={openTask ? state.tasks[openTask]?.status : undefined}
        onClose={() => open(null)}
      />
    </div>
  );
}
