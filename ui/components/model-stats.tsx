import Link from "next/link";

import type { ModelStat } from "@/lib/api";
import { price, rate } from "@/lib/format";

/** The sidebar's compact per-model lines: success rate, trust, input price. */
export function ModelStats({ models }: { models: ModelStat[] }) {
  return (
    <div data-testid="sidebar-models">
      <ul className="space-y-2">
        {models.map((m) => (
          <li key={`${m.provider}/${m.model}`}>
            <p className="truncate text-xs font-semibold" title={m.model}>
              {m.model}
            </p>
            <div className="flex justify-between gap-1 text-[11px] text-muted-foreground tabular-nums">
              <span title="Success rate">
                SR {rate(Math.max(0, m.call_count - m.failure_count), m.call_count)}
              </span>
              <span title="Trust factor">T {m.call_count > 0 ? m.trust_factor.toFixed(2) : "—"}</span>
              <span title="USD per million input tokens">{price(m.cost_per_1m_input)}/1M</span>
            </div>
          </li>
        ))}
      </ul>
      <Link
        href="/models"
        className="mt-3 inline-block text-xs text-info-ink underline-offset-4 hover:underline"
      >
        View all →
      </Link>
    </div>
  );
}
