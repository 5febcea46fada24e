"use client";

import { useEffect, useState } from "react";

import { duration } from "@/lib/format";

/** Time since `start` (epoch s), ticking each second until `end` is known, then frozen. */
export function ElapsedTimer({ start, end }: { start: number; end: number | null }) {
  const [now, setNow] = useState<number | null>(null);

  useEffect(() => {
    setNow(Date.now() / 1000);
    if (end !== null) return;
    const timer = setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => clearInterval(timer);
  }, [end]);

  const stop = end ?? now;
  return (
    <span className="tabular-nums" data-testid="elapsed" data-running={end === null}>
      {stop === null ? "…" : duration(stop - start)}
    </span>
  );
}
