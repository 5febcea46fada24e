import { finalLabel } from "@/components/status-badge";
import { clock, duration } from "@/lib/format";
import { finalTone, TONE_COLOR } from "@/lib/status";
import { budgetRaise, type Run } from "@/lib/use-job";

/**
 * The runs of a resumed job side by side: one segment per run, as wide as its active time (an
 * open run takes the width of the longest), coloured by how it ended, with when it started, how
 * long it ran, what it added to the budget and its outcome. Nothing for a job that ran once.
 */
export function RunTimeline({ runs }: { runs: Run[] }) {
  if (runs.length < 2) return null;
  const lengths = runs.map((r) => (r.end === null ? null : Math.max(1, r.end - r.start)));
  const longest = Math.max(1, ...lengths.map((l) => l ?? 0));
  return (
    <section aria-label="Runs of this job" data-testid="run-timeline">
      <div className="flex h-2 gap-0.5 overflow-hidden rounded-full" aria-hidden="true">
        {runs.map((run, i) => (
          <div
            key={run.n}
            className="h-full min-w-2"
            style={{
              flexGrow: lengths[i] ?? longest,
              backgroundColor: TONE_COLOR[run.outcome ? finalTone(run.outcome) : "info"],
            }}
          />
        ))}
      </div>
      <ol className="mt-1 flex flex-wrap gap-x-4 gap-y-0.5 text-xs text-muted-foreground">
        {runs.map((run, i) => {
          const length = lengths[i];
          const raised = budgetRaise(run);
          return (
            <li key={run.n} data-testid="run-timeline-run" data-outcome={run.outcome ?? undefined}>
              <span className="font-medium text-foreground">Run {run.n}</span>
              {` · ${run.n === 1 ? "started" : "resumed"} ${clock(run.start)}`}
              {length != null && ` · ${duration(length)}`}
              {raised && ` · ${raised}`}
              {` · ${run.outcome ? finalLabel(run.outcome) : run.end === null ? "running" : "ended"}`}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
