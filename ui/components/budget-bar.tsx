import { Progress } from "@/components/ui/progress";
import { usd, usdExact } from "@/lib/format";
import { cn } from "@/lib/utils";

export function BudgetBar({
  spent,
  budget,
  className,
}: {
  spent: number;
  budget: number | null | undefined;
  className?: string;
}) {
  const pct = budget && budget > 0 ? Math.min((spent / budget) * 100, 100) : 0;
  const shown = pct > 0 && pct < 1 ? "<1" : pct > 99 && pct < 100 ? ">99" : pct.toFixed(0);
  const tone = pct >= 90 ? "bg-destructive" : pct >= 70 ? "bg-warning" : "bg-primary";
  return (
    <div className={className} data-testid="budget-bar">
      <div className="mb-1 flex justify-between text-xs text-muted-foreground">
        <span>
          <span className="font-medium text-foreground tabular-nums" data-testid="budget-spent">
            {usd(spent)}
          </span>{" "}
          spent
        </span>
        <span className="tabular-nums" data-testid="budget-cap">
          {budget ? `${shown}% of ${usdExact(budget)} budget` : "—"}
        </span>
      </div>
      <Progress
        value={pct}
        aria-label={`Budget used: ${shown}% of ${usdExact(budget)}`}
        className={cn("h-2")}
        indicatorClassName={tone}
      />
    </div>
  );
}
