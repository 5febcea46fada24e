"use client";

import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { providerColor, providerLabel } from "@/lib/providers";

export interface ModelBar {
  model: string;
  provider: string;
  value: number;
}

/**
 * Horizontal bars, one per model, coloured by provider. Labels are the full model names:
 * the axis is as wide as the longest one (the plan's cut names made two models look alike).
 */
export function ModelBarChart({
  data,
  unit,
  format,
  label,
}: {
  data: ModelBar[];
  unit: string;
  format: (v: number) => string;
  label: string;
}) {
  const longest = Math.max(...data.map((d) => d.model.length), 8);
  const height = Math.max(160, data.length * 30 + 40);
  return (
    <div role="img" aria-label={label} data-testid="model-chart">
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} layout="vertical" margin={{ left: 4, right: 16, top: 4, bottom: 4 }}>
          <CartesianGrid horizontal={false} stroke="var(--border)" />
          <XAxis
            type="number"
            tick={{ fontSize: 11, fill: "var(--muted-foreground)" }}
            tickFormatter={format}
            stroke="var(--border)"
          />
          <YAxis
            type="category"
            dataKey="model"
            width={Math.min(220, longest * 7 + 12)}
            tick={{ fontSize: 11, fill: "var(--foreground)" }}
            interval={0}
            stroke="var(--border)"
          />
          <Tooltip
            cursor={{ fill: "var(--muted)" }}
            contentStyle={{
              background: "var(--popover)",
              border: "1px solid var(--border)",
              borderRadius: 8,
              color: "var(--popover-foreground)",
              fontSize: 12,
            }}
            formatter={(v) => [format(Number(v)), unit]}
            labelFormatter={(name, payload) => {
              const provider = (payload?.[0]?.payload as ModelBar | undefined)?.provider;
              return provider ? `${String(name)} (${providerLabel(provider)})` : String(name);
            }}
          />
          <Bar dataKey="value" radius={[0, 4, 4, 0]} isAnimationActive={false}>
            {data.map((d) => (
              <Cell key={`${d.provider}/${d.model}`} fill={providerColor(d.provider)} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
