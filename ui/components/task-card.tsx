import { SelfEvaluatedBadge } from "@/components/self-evaluated-badge";
import { TaskStatusBadge } from "@/components/status-badge";
import { score, usd } from "@/lib/format";
import { taskOutcome } from "@/lib/status";
import type { LiveTask } from "@/lib/use-job";

/** Who answers the task: the routed model, or where it stands before one is chosen. */
export function routeText(task: LiveTask, jobEnded: boolean): string {
  if (task.model) return task.model;
  if (task.status === "pending") return jobEnded ? "not run" : "not routed yet";
  if (task.status === "running") return "choosing a model…";
  return "no model answered";
}

export function TaskCard({
  task,
  jobEnded,
  onOpen,
}: {
  task: LiveTask;
  jobEnded: boolean;
  onOpen: (taskId: string) => void;
}) {
  const outcome = taskOutcome(task, jobEnded);
  const name = task.title || task.task_id;
  // The title is the button (named by what it shows); it stretches over the whole card.
  return (
    <div
      onClick={() => onOpen(task.task_id)}
      data-testid="task-card"
      data-task-id={task.task_id}
      data-status={task.status}
      data-outcome={outcome}
      className="relative flex min-w-0 cursor-pointer flex-col gap-1.5 rounded-xl border bg-card p-4 text-left text-sm shadow-sm transition-colors hover:border-primary/40 has-[button:focus-visible]:ring-[3px] has-[button:focus-visible]:ring-ring"
    >
      <div className="flex items-start justify-between gap-2">
        <span className="min-w-0">
          <button
            type="button"
            onClick={(e) => {
              e.stopPropagation();
              onOpen(task.task_id);
            }}
            className="line-clamp-2 text-left font-semibold outline-none after:absolute after:inset-0 after:content-['']"
            data-testid="task-title"
            title={name}
          >
            {name}
          </button>
          {task.title && <span className="font-mono text-xs text-muted-foreground">{task.task_id}</span>}
        </span>
        <TaskStatusBadge status={outcome} />
      </div>
      <div className="truncate text-xs text-muted-foreground" title={task.model ?? undefined}>
        {routeText(task, jobEnded)}
      </div>
      <div className="flex flex-wrap gap-x-3 gap-y-1 text-xs">
        <span className="inline-flex items-center gap-1">
          Score: <strong className="tabular-nums">{score(task.score)}</strong>
          {task.self_evaluated && <SelfEvaluatedBadge />}
        </span>
        <span>
          Cost: <strong className="tabular-nums">{usd(task.cost)}</strong>
        </span>
        <span>
          Iters: <strong className="tabular-nums">{task.iterations}</strong>
        </span>
      </div>
      {task.reason && <p className="line-clamp-2 text-xs text-muted-foreground">{task.reason}</p>}
    </div>
  );
}
