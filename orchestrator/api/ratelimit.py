"""A token bucket per client address, for job creation (each job spends LLM budget).

In-process: every worker keeps its own buckets, so N workers behind a balancer allow up to N
times the rate; a proxy in front makes every client one address (put the limit there then).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.api.errors import TooManyRequests

__all__ = ["RateLimiter"]

# Past this many addresses, full buckets (clients idle for a minute) are forgotten.
MAX_TRACKED = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`per_min` takes per client per minute, in bursts of up to `per_min`; 0 = no limit."""

    def __init__(
        self, per_min: float, *, what: str = "requests", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = per_min
        self.per_s = per_min / 60
        self.what = what
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str) -> None:
        """Spend one token of `client`'s bucket, or raise TooManyRequests saying when to retry."""
        if self.capacity <= 0:
            return
        now = self.clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._forget_idle(now)
            bucket = self._buckets[client] = _Bucket(tokens=self.capacity, updated=now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.per_s)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = (1 - bucket.tokens) / self.per_s
        raise TooManyRequests(
            f"too many {self.what}: at most {self.capacity:g} a minute per client; "
            f"try again in {math.ceil(wait)} s",
            retry_after=wait,
        )

    def _forget_idle(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.per_s >= self.capacity
        ]
        for key in full:
            del self._buckets[key]
