"use client";

import dynamic from "next/dynamic";

import { ErrorState } from "@/components/error-state";
import { ModelCard } from "@/components/model-card";
import { PageHeader } from "@/components/page-header";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api";
import { ms, price } from "@/lib/format";
import { providerColor, providerLabel } from "@/lib/providers";
import { usePoll } from "@/lib/use-poll";

// Recharts is loaded after the cards, outside the page's first-load JavaScript.
const ModelBarChart = dynamic(
  () => import("@/components/charts/model-bar-chart").then((m) => m.ModelBarChart),
  {
    ssr: false,
    loading: () => <Skeleton className="h-56" />,
  },
);

export default function ModelsPage() {
  const models = usePoll(() => api.models.list(), 15_000, []);
  const list = models.data ?? [];
  const providers = [...new Set(list.map((m) => m.provider))];
  const prices = list.map((m) => ({ model: m.model, provider: m.provider, value: m.cost_per_1m_input }));
  const latency = list
    .filter((m) => m.call_count > 0)
    .map((m) => ({ model: m.model, provider: m.provider, value: m.avg_latency_ms }));

  return (
    <div className="mx-auto max-w-6xl space-y-6">
      <PageHeader
        title="Model Telemetry"
        description="Measured from every recorded call: success, trust, latency and price per model."
      />
      {models.error && <ErrorState error={models.error} onRetry={models.refresh} />}
      {!models.data && models.loading ? (
        <div className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-64" />
          ))}
        </div>
      ) : (
        <>
          <div className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3">
            {list.map((m) => (
              <ModelCard key={`${m.provider}/${m.model}`} m={m} />
            ))}
          </div>
          {providers.length > 0 && (
            <ul className="flex flex-wrap gap-4 text-xs text-muted-foreground" aria-label="Provider colours">
              {providers.map((p) => (
                <li key={p} className="flex items-center gap-1.5">
                  <span className="size-2.5 rounded-sm" style={{ background: providerColor(p) }} />{" "}
                  {providerLabel(p)}
                </li>
              ))}
            </ul>
          )}
          <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
            <Card>
              <CardHeader>
                <CardTitle className="text-sm">Cost per 1M input tokens (USD)</CardTitle>
              </CardHeader>
              <CardContent>
                {prices.length > 0 ? (
                  <ModelBarChart
                    data={prices}
                    unit="$/1M input"
                    format={price}
                    label="Input price per model"
                  />
                ) : (
                  <p className="text-sm text-muted-foreground">No models.</p>
                )}
              </CardContent>
            </Card>
            <Card>
              <CardHeader>
                <CardTitle className="text-sm">Avg latency (ms)</CardTitle>
              </CardHeader>
              <CardContent>
                {latency.length > 0 ? (
                  <ModelBarChart
                    data={latency}
                    unit="avg latency"
                    format={ms}
                    label="Average latency per model"
                  />
                ) : (
                  <p className="text-sm text-muted-foreground" data-testid="latency-empty">
                    No calls recorded yet: run a job to measure latency.
                  </p>
                )}
              </CardContent>
            </Card>
          </div>
        </>
      )}
    </div>
  );
}
