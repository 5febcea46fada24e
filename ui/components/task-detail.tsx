"use client";

import { CheckCircle2, XCircle } from "lucide-react";
import { type ReactNode, useEffect, useState } from "react";

import { CodeOutput } from "@/components/code-output";
import { ErrorState } from "@/components/error-state";
import { SelfEvaluatedBadge } from "@/components/self-evaluated-badge";
import { TaskStatusBadge } from "@/components/status-badge";
import { Badge } from "@/components/ui/badge";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { ApiError, api, type IterationDetail, type TaskDetail } from "@/lib/api";
import { ms, score, usd } from "@/lib/format";

function Stat({ label, value, children }: { label: string; value: string; children?: ReactNode }) {
  return (
    <div>
      <p className="text-xs text-muted-foreground">{label}</p>
      <p className="flex flex-wrap items-center gap-1 text-sm font-semibold tabular-nums">
        {value}
        {children}
      </p>
    </div>
  );
}

function Iteration({ it, code }: { it: IterationDetail; code: boolean }) {
  return (
    <div className="space-y-4" data-testid="iteration">
      <div className="grid grid-cols-2 gap-3 rounded-lg border p-3 sm:grid-cols-4">
        <Stat label="Model" value={it.model} />
        <Stat label="Score" value={score(it.score)}>
          {it.self_evaluated && <SelfEvaluatedBadge />}
        </Stat>
        <Stat label="Cost" value={usd(it.cost_usd)} />
        <Stat label="Latency" value={ms(it.latency_ms)} />
        <Stat label="Input tokens" value={String(it.input_tokens ?? 0)} />
        <Stat label="Output tokens" value={String(it.output_tokens ?? 0)} />
        <Stat
          label="Evaluations"
          value={it.scores?.length ? it.scores.map((s) => score(s)).join(", ") : "—"}
        />
        <Stat label="Critic" value={it.critic_model ?? "—"} />
      </div>
      <section>
        <h4 className="mb-2 text-sm font-semibold">Output</h4>
        <CodeOutput text={it.output} code={code} />
      </section>
      {it.critique && (
        <section>
          <h4 className="mb-2 text-sm font-semibold">
            Critique{" "}
            {it.critic_model && (
              <span className="font-normal text-muted-foreground">by {it.critic_model}</span>
            )}
          </h4>
          <div className="rounded-lg border bg-muted/40 p-3">
            <CodeOutput text={it.critique} />
          </div>
        </section>
      )}
      <section>
        <h4 className="mb-2 text-sm font-semibold">Validators</h4>
        {!it.validators || it.validators.length === 0 ? (
          <p className="text-sm text-muted-foreground">No validator applies to this output.</p>
        ) : (
          <ul className="space-y-1.5" data-testid="validators">
            {it.validators.map((v) => (
              <li key={v.name} className="flex items-start gap-2 text-sm">
                {v.passed ? (
                  <CheckCircle2 className="mt-0.5 size-4 shrink-0 text-success-ink" aria-label="passed" />
                ) : (
                  <XCircle className="mt-0.5 size-4 shrink-0 text-destructive-ink" aria-label="failed" />
                )}
                <span className="font-mono text-xs">{v.name}</span>
                {v.detail && (
                  <span className="text-xs break-words whitespace-pre-wrap text-muted-foreground">
                    {v.detail}
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

/** A task opened from its card, graph node or log line: prompt, dependencies, every
 * iteration (the one asked for shown first, else the latest). */
export function TaskDetailDialog({
  jobId,
  taskId,
  iteration,
  status,
  onClose,
}: {
  jobId: string;
  taskId: string | null;
  iteration?: number;
  /** The live status, so a task finishing while open is fetched again. */
  status?: string;
  onClose: () => void;
}) {
  const [detail, setDetail] = useState<TaskDetail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!taskId) return;
    let alive = true;
    setError(null);
    api.jobs
      .task(jobId, taskId)
      .then((d) => alive && setDetail(d))
      .catch((e: unknown) => alive && setError(e instanceof ApiError ? e : new ApiError(0, String(e))));
    return () => {
      alive = false;
    };
  }, [jobId, taskId, status, tick]);

  useEffect(() => {
    if (!taskId) setDetail(null);
  }, [taskId]);

  const its = detail?.task_id === taskId ? detail.history : null;
  const lastTab = its && its.length > 0 ? String(its[its.length - 1]?.iteration) : undefined;
  const shown = its?.some((it) => it.iteration === iteration) ? String(iteration) : lastTab;

  return (
    <Dialog open={taskId !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="sm:max-w-4xl" data-testid="task-detail">
        <DialogHeader>
          <DialogTitle className="flex flex-wrap items-center gap-2">
            {detail?.task_id === taskId && detail.title && <span>{detail.title}</span>}
            <span className="font-mono text-muted-foreground">{taskId}</span>
            {detail && detail.task_id === taskId && <TaskStatusBadge status={detail.status} />}
          </DialogTitle>
          <DialogDescription>
            {detail?.dependencies && detail.dependencies.length > 0
              ? `Depends on ${detail.dependencies.join(", ")}`
              : "No dependencies"}
          </DialogDescription>
        </DialogHeader>
        {error ? (
          <ErrorState error={error} onRetry={() => setTick((t) => t + 1)}>
            <span />
          </ErrorState>
        ) : !detail || detail.task_id !== taskId ? (
          <div className="space-y-3">
            <Skeleton className="h-16" />
            <Skeleton className="h-40" />
          </div>
        ) : (
          <div className="min-w-0 space-y-4">
            <details className="rounded-lg border p-3">
              <summary className="cursor-pointer text-sm font-semibold">Prompt</summary>
              <p className="mt-2 text-sm break-words whitespace-pre-wrap">{detail.prompt}</p>
            </details>
            {its && its.length > 0 ? (
              <Tabs key={`${taskId}-${its.length}-${shown}`} defaultValue={shown}>
                <TabsList>
                  {its.map((it) => (
                    <TabsTrigger key={it.iteration} value={String(it.iteration)}>
                      Iteration {it.iteration}
                      {it.score !== undefined && (
                        <Badge variant="muted" className="ml-1">
                          {score(it.score)}
                        </Badge>
                      )}
                    </TabsTrigger>
                  ))}
                </TabsList>
                {its.map((it) => (
                  <TabsContent key={it.iteration} value={String(it.iteration)}>
                    <Iteration it={it} code={detail.type === "code_generation"} />
                  </TabsContent>
                ))}
              </Tabs>
            ) : (
              <p className="text-sm text-muted-foreground">No iteration has finished yet.</p>
            )}
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
