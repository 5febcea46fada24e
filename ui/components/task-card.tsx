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
  return (
    <button
      type="button"
      onClick={() => onOpen(task.task_id)}
      data-testid="task-card"
      data-task-id={task.task_id}
      data-status={task.status}
      data-outcome={outcome}
      aria-label={`Task ${task.task_id}${task.title ? `: ${task.title}` : ""}, ${outcome}. Open details`}
      className="flex min-w-0 flex-col gap-1.5 rounded-xl border bg-card p-4 text-left text-sm shadow-sm transition-colors outline-none hover:border-primary/40 focus-visible:ring-[3px] focus-visible:ring-ring"
    >
      <div className="flex items-start justify-between gap-2">
        <span className="min-w-0">
          <span className="line-clamp-2 font-semibold" data-testid="task-title" title={name}>
            {name}
          </span>
          {task.title && <span className="font-mono text-xs text-muted-foreground">{task.task_id}</span>}
        </span>
        <TaskStatusBadge status={outcome} />
      </div>
      <div className="truncate text-xs text-muted-foreground" title={task.model ?? undefined}>
        {routeText(task, jobEnded)}
      </div>
      <div className="flex flex-wrap gap-x-3 gap-y-1 text-xs">
        <span>
          Score: <strong className="tabular-nums">{score(task.score)}</strong>
        </span>
        <span>
          Cost: <strong className="tabular-nums">{usd(task.cost)}</strong>
        </span>
        <span>
          Iters: <strong className="tabular-nums">{task.iterations}</strong>
        </span>
      </div>
      {task.reason && <p className="line-clamp-2 text-xs text-muted-foreground">{task.reason}</p>}
    </button>
  );
}
