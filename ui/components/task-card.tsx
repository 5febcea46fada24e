import { TaskStatusBadge } from "@/components/status-badge";
import { score, usd } from "@/lib/format";
import type { LiveTask } from "@/lib/use-job";

export function TaskCard({ task, onOpen }: { task: LiveTask; onOpen: (taskId: string) => void }) {
  return (
    <button
      type="button"
      onClick={() => onOpen(task.task_id)}
      data-testid="task-card"
      data-task-id={task.task_id}
      data-status={task.status}
      aria-label={`Task ${task.task_id}, ${task.status}. Open details`}
      className="flex flex-col gap-1.5 rounded-xl border bg-card p-4 text-left text-sm shadow-sm transition-colors outline-none hover:border-primary/40 focus-visible:ring-[3px] focus-visible:ring-ring/50"
    >
      <div className="flex items-center justify-between gap-2">
        <span className="truncate font-mono font-semibold">{task.task_id}</span>
        <TaskStatusBadge status={task.status} />
      </div>
      <div className="truncate text-xs text-muted-foreground">{task.model ?? "not routed yet"}</div>
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
