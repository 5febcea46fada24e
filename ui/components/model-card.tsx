import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Progress } from "@/components/ui/progress";
import type { ModelStat } from "@/lib/api";
import { ms, price, rate } from "@/lib/format";
import { providerColor, providerLabel } from "@/lib/providers";

function Metric({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <p className="text-muted-foreground">{label}</p>
      <p className="font-semibold tabular-nums">{value}</p>
    </div>
  );
}

/** A labelled bar; without a value (no calls yet) the label says so and no bar is drawn. */
function Bar({
  label,
  value,
  shown,
  title,
  testId,
}: {
  label: string;
  value: number | null;
  shown: string;
  title?: string;
  testId: string;
}) {
  return (
    <div data-testid={testId}>
      <div className="mb-1 flex justify-between text-xs">
        <span>{label}</span>
        <span className="tabular-nums" title={title}>
          {shown}
        </span>
      </div>
      {value !== null && <Progress value={value * 100} aria-label={`${label}: ${shown}`} className="h-1.5" />}
    </div>
  );
}

/**
 * A model its provider has retired (routing sends its calls to the replacement, or skips it) or
 * deprecated: a badge that says so in words, with the date, and the replacement below it.
 */
function Lifecycle({ m }: { m: ModelStat }) {
  if (!m.lifecycle || m.lifecycle === "current") return null;
  const retired = m.lifecycle === "retired";
  const word = retired ? "Retired" : m.retirement_date ? "Retiring" : "Deprecated";
  const when = m.retirement_date ? ` ${m.retirement_date}` : "";
  return (
    <div data-testid="model-lifecycle" data-lifecycle={m.lifecycle} className="space-y-0.5 text-xs">
      <Badge variant={retired ? "destructive" : "warning"}>
        {word}
        {when}
      </Badge>
      {m.replacement && (
        <p>
          <span className="text-muted-foreground">Replacement: </span>
          <span className="font-mono">{m.replacement}</span>
        </p>
      )}
      {m.retirement_notice && (
        <a
          href={m.retirement_notice}
          target="_blank"
          rel="noreferrer"
          className="text-muted-foreground underline underline-offset-2"
        >
          Provider notice<span className="sr-only"> on {m.model} (opens in a new tab)</span>
        </a>
      )}
    </div>
  );
}

export function ModelCard({ m }: { m: ModelStat }) {
  const used = m.call_count > 0;
  const succeeded = Math.max(0, m.call_count - m.failure_count);
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
        <Lifecycle m={m} />
      </CardHeader>
      <CardContent className="space-y-3">
        {/* The rate of the counts shown below, so "Calls 124 · Failures 1" reads 99.2%. */}
        <Bar
          label="Success rate"
          testId="success-rate"
          value={used ? succeeded / m.call_count : null}
          shown={used ? rate(succeeded, m.call_count) : "no calls yet"}
          title={used ? `${succeeded} of ${m.call_count} calls succeeded` : undefined}
        />
        <Bar
          label="Trust factor"
          testId="trust-factor"
          value={used ? m.trust_factor : null}
          shown={used ? m.trust_factor.toFixed(3) : "no calls yet"}
        />
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
