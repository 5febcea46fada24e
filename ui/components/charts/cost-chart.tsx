"use client";

import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { usd } from "@/lib/format";

export interface CostPoint {
  job_id: string;
  ts: number;
  cost: number;
  cumulative: number;
}

const HOUR_S = 3600;
const DAY_S = 24 * HOUR_S;
const MAX_TICKS = 6;

/** Labels as fine as the span needs: seconds within an hour, minutes within two days, dates. */
function tickFormat(data: CostPoint[]): (ts: number) => string {
  const span = (data[data.length - 1]?.ts ?? 0) - (data[0]?.ts ?? 0);
  const at = (ts: number, o: Intl.DateTimeFormatOptions) => new Date(ts * 1000).toLocaleString(undefined, o);
  if (span < HOUR_S)
    return (ts) => at(ts, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  if (span < 2 * DAY_S) return (ts) => at(ts, { hour: "2-digit", minute: "2-digit", hour12: false });
  return (ts) => at(ts, { month: "short", day: "numeric" });
}

/** Up to MAX_TICKS jobs, spread evenly, whose labels all differ: no time shown twice. */
export function distinctTicks(data: CostPoint[], format: (ts: number) => string): number[] {
  const step = Math.max(1, Math.ceil(data.length / MAX_TICKS));
  const seen = new Set<string>();
  const ticks: number[] = [];
  for (let i = 0; i < data.length; i += step) {
    const ts = data[i]?.ts;
    if (ts === undefined) continue;
    const label = format(ts);
    if (seen.has(label)) continue;
    seen.add(label);
    ticks.push(ts);
  }
  return ticks;
}

const AXIS_TICK = { fontSize: 11, fill: "var(--muted-foreground)" };
const AXIS_LABEL = { fontSize: 11, fill: "var(--muted-foreground)" };

/** Cost of each job (bars, left axis) and the running total (line, right axis), oldest first. */
export function CostChart({ data }: { data: CostPoint[] }) {
  const format = tickFormat(data);
  const total = data[data.length - 1]?.cumulative ?? 0;
  return (
    <div
      role="img"
      aria-label={`Cost of ${data.length} jobs over time, ${usd(total)} in all`}
      data-testid="cost-chart"
      data-points={data.length}
    >
      <ResponsiveContainer width="100%" height={260}>
        <ComposedChart data={data} margin={{ left: 8, right: 8, top: 8, bottom: 8 }}>
          <CartesianGrid vertical={false} stroke="var(--border)" />
          <XAxis
            dataKey="ts"
            ticks={distinctTicks(data, format)}
            // Of those distinct labels, the ones that do not overlap (a phone has room for few).
            interval="preserveStartEnd"
            minTickGap={12}
            tickFormatter={format}
            tick={{ ...AXIS_TICK, className: "time-tick" }}
            stroke="var(--border)"
            height={44}
            label={{ value: "Job started (local time)", position: "insideBottom", ...AXIS_LABEL }}
          />
          <YAxis
            yAxisId="job"
            tick={AXIS_TICK}
            tickFormatter={(v: number) => usd(v)}
            stroke="var(--border)"
            width={72}
            label={{ value: "Job cost (USD)", angle: -90, position: "insideLeft", ...AXIS_LABEL }}
          />
          <YAxis
            yAxisId="total"
            orientation="right"
            tick={AXIS_TICK}
            tickFormatter={(v: number) => usd(v)}
            stroke="var(--border)"
            width={72}
            label={{ value: "Running total (USD)", angle: 90, position: "insideRight", ...AXIS_LABEL }}
          />
          <Tooltip
            contentStyle={{
              background: "var(--popover)",
              border: "1px solid var(--border)",
              borderRadius: 8,
              color: "var(--popover-foreground)",
              fontSize: 12,
            }}
            labelFormatter={(ts, payload) => {
              const id = (payload?.[0]?.payload as CostPoint | undefined)?.job_id ?? "";
              return `${id} · ${new Date(Number(ts) * 1000).toLocaleString()}`;
            }}
            formatter={(v, name) => [usd(Number(v)), name]}
          />
          <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 12 }} />
          <Bar
            yAxisId="job"
            dataKey="cost"
            name="Job cost (left axis)"
            fill="var(--info)"
            radius={[3, 3, 0, 0]}
            isAnimationActive={false}
            maxBarSize={24}
          />
          <Line
            yAxisId="total"
            dataKey="cumulative"
            name="Running total (right axis)"
            stroke="var(--success)"
            strokeWidth={2}
            dot={false}
            isAnimationActive={false}
            type="monotone"
          />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
