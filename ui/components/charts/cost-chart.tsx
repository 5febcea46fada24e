"use client";

import {
  Bar,
  CartesianGrid,
  ComposedChart,
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

const DAY_S = 24 * 3600;

/** Dates on the axis, or times of day when every job falls within a day or two. */
function tickFormat(data: CostPoint[]): (ts: number) => string {
  const span = data.length > 1 ? (data[data.length - 1]?.ts ?? 0) - (data[0]?.ts ?? 0) : 0;
  if (span < 2 * DAY_S) {
    return (ts) => new Date(ts * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }
  return (ts) => new Date(ts * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** Cost of each past job (bars) and the running total (line), oldest to newest. */
export function CostChart({ data }: { data: CostPoint[] }) {
  const day = tickFormat(data);
  return (
    <div role="img" aria-label="Cost of past jobs over time" data-testid="cost-chart">
      <ResponsiveContainer width="100%" height={220}>
        <ComposedChart data={data} margin={{ left: 4, right: 16, top: 8, bottom: 4 }}>
          <CartesianGrid vertical={false} stroke="var(--border)" />
          <XAxis
            dataKey="ts"
            tickFormatter={day}
            tick={{ fontSize: 11, fill: "var(--muted-foreground)" }}
            stroke="var(--border)"
            minTickGap={24}
          />
          <YAxis
            yAxisId="job"
            tick={{ fontSize: 11, fill: "var(--muted-foreground)" }}
            tickFormatter={(v: number) => usd(v)}
            stroke="var(--border)"
            width={56}
          />
          <YAxis
            yAxisId="total"
            orientation="right"
            tick={{ fontSize: 11, fill: "var(--muted-foreground)" }}
            tickFormatter={(v: number) => usd(v)}
            stroke="var(--border)"
            width={56}
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
            formatter={(v, name) => [usd(Number(v)), name === "cost" ? "Job cost" : "Running total"]}
          />
          <Bar
            yAxisId="job"
            dataKey="cost"
            fill="var(--info)"
            radius={[3, 3, 0, 0]}
            isAnimationActive={false}
            maxBarSize={24}
          />
          <Line
            yAxisId="total"
            dataKey="cumulative"
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
