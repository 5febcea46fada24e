import { usd, usdExact } from "@/lib/format";
import { cn } from "@/lib/utils";

export interface Range {
  low: number;
  expected: number;
  high: number;
}

/** Where a dollar amount sits on a bar as wide as the budget (or the high end, if larger). */
function place(value: number, scale: number): string {
  return `${Math.min(Math.max((value / scale) * 100, 0), 100)}%`;
}

/**
 * The job's cost range against its budget: what was spent already (the planning), then the
 * forecast as a band from its low to its high end, with a tick at the expected cost.
 */
export function ForecastBar({
  forecast,
  spent,
  budget,
  className,
}: {
  forecast: Range;
  spent: number;
  budget: number;
  className?: string;
}) {
  const scale = Math.max(budget, spent + forecast.high) || 1;
  const left = budget - spent;
  const over = forecast.low > left;
  const risky = !over && forecast.high > left;
  const label =
    `Forecast ${usd(forecast.low)} to ${usd(forecast.high)}, expected ${usd(forecast.expected)}, ` +
    `after ${usd(spent)} spent, against a budget of ${usdExact(budget)}`;
  return (
    <div className={className} data-testid="forecast-bar">
      <div className="mb-1 flex flex-wrap justify-between gap-2 text-xs text-muted-foreground">
        <span>
          Forecast{" "}
          <span className="font-medium text-foreground tabular-nums" data-testid="forecast-range">
            {usd(forecast.low)}–{usd(forecast.high)}
          </span>{" "}
          (expected <span className="tabular-nums">{usd(forecast.expected)}</span>)
        </span>
        <span className="tabular-nums">
          budget {usdExact(budget)}, {usd(spent)} spent
        </span>
      </div>
      <div role="img" aria-label={label} className="relative h-3 overflow-hidden rounded-full bg-muted">
        <div
          className="absolute inset-y-0 left-0 bg-muted-foreground/50"
          style={{ width: place(spent, scale) }}
        />
        <div
          className={cn(
            "absolute inset-y-0",
            over ? "bg-destructive/60" : risky ? "bg-warning/60" : "bg-primary/40",
          )}
          style={{
            left: place(spent + forecast.low, scale),
            right: `calc(100% - ${place(spent + forecast.high, scale)})`,
          }}
        />
        <div
          className="absolute inset-y-0 w-0.5 bg-foreground"
          style={{ left: place(spent + forecast.expected, scale) }}
        />
        {budget < scale && (
          <div className="absolute inset-y-0 w-0.5 bg-destructive" style={{ left: place(budget, scale) }} />
        )}
      </div>
      {over && (
        <p role="alert" className="mt-1 text-xs text-destructive-ink" data-testid="forecast-over">
          Even the low end of the forecast ({usd(forecast.low)}) is above the {usd(left)} the budget has left:
          the job would likely stop with its budget exhausted. Raise the budget or trim the plan.
        </p>
      )}
      {risky && (
        <p className="mt-1 text-xs text-warning-ink" data-testid="forecast-risky">
          The high end of the forecast ({usd(forecast.high)}) is above the {usd(left)} the budget has left.
        </p>
      )}
    </div>
  );
}
