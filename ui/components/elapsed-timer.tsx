"use client";

import { useEffect, useState } from "react";

import { duration } from "@/lib/format";

export interface Span {
  start: number;
  end: number | null;
}

/**
 * Active time: the sum of the job's runs (a resumed job does not count the idle time between
 * them), ticking each second while one is open; each run's own time on hover. Without runs
 * (before the stream replied), the time since `start` until `end`.
 */
export function ElapsedTimer({
  start,
  end,
  runs = [],
}: {
  start: number;
  end: number | null;
  runs?: Span[];
}) {
  const [now, setNow] = useState<number | null>(null);
  const spans: Span[] =
    runs.length > 0
      ? runs.map((r, i) => (i === runs.length - 1 && r.end === null && end !== null ? { ...r, end } : r))
      : [{ start, end }];
  const ticking = spans.some((s) => s.end === null);

  useEffect(() => {
    setNow(Date.now() / 1000);
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => clearInterval(timer);
  }, [ticking]);

  const lengths = spans.map((s) => {
    const stop = s.end ?? now;
    return stop === null ? null : Math.max(0, stop - s.start);
  });
  const known = lengths.every((l) => l !== null);
  const total = lengths.reduce<number>((sum, l) => sum + (l ?? 0), 0);
  const perRun =
    spans.length > 1
      ? lengths.map((l, i) => `Run ${i + 1}: ${l === null ? "…" : duration(l)}`).join("; ")
      : undefined;
  return (
    <span
      className="tabular-nums"
      data-testid="elapsed"
      data-running={ticking}
      data-runs={spans.length}
      title={perRun}
    >
      {known ? duration(total) : "…"}
      {spans.length > 1 && <span className="sr-only"> ({perRun})</span>}
    </span>
  );
}
