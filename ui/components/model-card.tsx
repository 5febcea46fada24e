import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Progress } from "@/components/ui/progress";
import type { ModelStat } from "@/lib/api";
import { ms, pct, price } from "@/lib/format";
import { providerColor, providerLabel } from "@/lib/providers";

function Metric({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <p className="text-muted-foreground">{label}</p>
      <p className="font-semibold tabular-nums">{value}</p>
    </div>
  );
}

function Bar({ label, value, shown }: { label: string; value: number; shown: string }) {
  return (
    <div>
      <div className="mb-1 flex justify-between text-xs">
        <span>{label}</span>
        <span className="tabular-nums">{shown}</span>
      </div>
      <Progress value={value * 100} aria-label={`${label}: ${shown}`} className="h-1.5" />
    </div>
  );
}

export function ModelCard({ m }: { m: ModelStat }) {
  const used = m.call_count > 0;
  return (
    <Card data-testid="model-card">
      <CardHeader>
        <div className="flex items-start justify-between gap-2">
          <CardTitle className="font-mono text-sm break-all">{m.model}</CardTitle>
          {!used && <Badge variant="muted">no calls yet</Badge>}
        </div>
        <p className="flex items-center gap-1.5 text-xs text-muted-foreground">
          <span className="size-2 rounded-full" style={{ background: providerColor(m.provider) }} />
          {providerLabel(m.provider)}
        </p>
      </CardHeader>
      <CardContent className="space-y-3">
        <Bar
          label="Success rate"
          value={used ? m.success_rate : 0}
          shown={used ? pct(m.success_rate) : "—"}
        />
        <Bar label="Trust factor" value={m.trust_factor} shown={m.trust_factor.toFixed(3)} />
        <div className="grid grid-cols-2 gap-2 text-xs">
          <Metric label="Avg latency" value={used ? ms(m.avg_latency_ms) : "—"} />
          <Metric label="p95 latency" value={used ? ms(m.latency_p95_ms) : "—"} />
          <Metric label="Calls" value={String(m.call_count)} />
          <Metric label="Failures" value={String(m.failure_count)} />
          <Metric label="$/1M input" value={price(m.cost_per_1m_input)} />
          <Metric label="$/1M output" value={price(m.cost_per_1m_output)} />
        </div>
      </CardContent>
    </Card>
  );
}
