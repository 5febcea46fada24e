"""Per-model health: a circuit breaker for routing and the telemetry `/api/models` shows.

Every call attempt feeds `HealthBook.record`. Two different things are kept per model:

* the *breaker* (about now): it opens after `FAILURES_TO_OPEN` consecutive failures; after
  `cooldown_s` it is half-open and lets one probe through; the probe's success closes it, its
  failure re-opens it for another cool-down. A probe that never reports (its caller was
  cancelled) stops blocking others after one more cool-down. Only outages count: a malformed
  answer or a prompt too long is the model answering. Nor does a timeout of a model that is
  alone to serve some role or task type (`protect`): on a loaded machine the only local model
  is slow, not down, and opening its breaker would end every job that has only it.
* the *telemetry* (about the model's history): trust factor, latency EMA and p95, success rate,
  counts and cost. `seed_from` rebuilds it from recorded calls after a restart; it never
  restores the breaker, since old failures say nothing about whether the model answers now.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from enum import StrEnum

from pydantic import BaseModel

from orchestrator.config import Catalog
from orchestrator.domain import CallOutcome, CallRecord

__all__ = ["BreakerState", "HealthBook", "ModelHealth", "ModelStats", "lone_models"]

FAILURES_TO_OPEN = 3
WINDOW = 50  # attempts for the success rate, successful latencies for the p95
LATENCY_ALPHA = 0.2
TRUST_ON_FAILURE = 0.95
TRUST_ON_SUCCESS = 1.001
TRUST_FLOOR = 0.05


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class ModelStats(BaseModel):
    """A snapshot of one model's health and telemetry."""

    model: str
    breaker: BreakerState
    available: bool
    unavailable_reason: str = ""
    consecutive_failures: int
    trust_factor: float
    # With no attempt yet the success rate is the prior 1.0, like the trust factor.
    success_rate: float
    avg_latency_ms: float
    latency_p95_ms: float
    call_count: int
    failure_count: int
    total_cost_usd: float
    avg_cost_usd: float


class ModelHealth:
    """Mutable state of one model; `HealthBook` owns one per model name."""

    def __init__(self, model: str, *, cooldown_s: float) -> None:
        self.model = model
        self.cooldown_s = cooldown_s
        self.consecutive_failures = 0
        self.opened_at: float | None = None  # None: the breaker is closed
        self.probe_started: float | None = None
        self.trust = 1.0
        self.latency_ema: float | None = None
        self.latencies: deque[float] = deque(maxlen=WINDOW)
        self.outcomes: deque[bool] = deque(maxlen=WINDOW)
        self.calls = 0
        self.failures = 0
        self.total_cost = 0.0

    # -- breaker ---------------------------------------------------------------------------

    def state(self, now: float) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now - self.opened_at < self.cooldown_s:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allows(self, now: float) -> bool:
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        return self.probe_started is None or now - self.probe_started >= self.cooldown_s

    def acquire(self, now: float) -> bool:
        if not self.allows(now):
            return False
        if self.state(now) is BreakerState.HALF_OPEN:
            self.probe_started = now
        return True

    def update_breaker(self, ok: bool, now: float) -> None:
        self.probe_started = None
        if ok:
            self.consecutive_failures = 0
            self.opened_at = None
            return
        self.consecutive_failures += 1
        # A failed probe, or a failure reported while open, restarts the cool-down.
        if self.opened_at is not None or self.consecutive_failures >= FAILURES_TO_OPEN:
            self.opened_at = now

    # -- telemetry -------------------------------------------------------------------------

    def observe(self, ok: bool, latency_ms: float, cost: float) -> None:
        self.calls += 1
        self.total_cost += cost
        self.outcomes.append(ok)
        if ok:
            self.trust = min(1.0, self.trust * TRUST_ON_SUCCESS)
            self.latencies.append(latency_ms)
            if self.latency_ema is None:
                self.latency_ema = latency_ms
            else:
                self.latency_ema += LATENCY_ALPHA * (latency_ms - self.latency_ema)
        else:
            self.failures += 1
            self.trust = max(TRUST_FLOOR, self.trust * TRUST_ON_FAILURE)

    def p95(self) -> float:
        """Nearest-rank 95th percentile of the recent successful latencies."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    def success_rate(self) -> float:
        if not self.outcomes:
            return 1.0
        return sum(self.outcomes) / len(self.outcomes)


class HealthBook:
    """Health of every model seen, in memory.

    Models marked unavailable (401/403/404) stay off for the life of this book; the executor
    keeps its own per-job set as well, so one book can be shared by several jobs.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, cooldown_s: float = 30.0
    ) -> None:
        self._clock = clock
        self._cooldown_s = cooldown_s
        self._models: dict[str, ModelHealth] = {}
        self._unavailable: dict[str, str] = {}
        self._protected: frozenset[str] = frozenset()

    def _get(self, model: str) -> ModelHealth:
        health = self._models.get(model)
        if health is None:
            health = self._models[model] = ModelHealth(model, cooldown_s=self._cooldown_s)
        return health

    def _peek(self, model: str) -> ModelHealth:
        """The model's health without adding it to the book (a query must not add rows)."""
        return self._models.get(model) or ModelHealth(model, cooldown_s=self._cooldown_s)

    def protect(self, models: Collection[str]) -> None:
        """`models` are each alone to serve some role or task type (see `lone_models`): their
        timeouts never open their breaker."""
        self._protected = frozenset(models)

    def record(
        self,
        model: str,
        *,
        ok: bool,
        latency_ms: float,
        cost: float,
        outage: bool = True,
        timeout: bool = False,
    ) -> None:
        """One attempt's outcome. A failure that is no `outage` (a malformed answer, a prompt
        too long), or a `timeout` of a protected model, lowers trust but tells the breaker the
        model answers: a small or slow model must not become unavailable to the jobs that
        have only it."""
        health = self._get(model)
        health.observe(ok, latency_ms, cost)
        slow_only = timeout and model in self._protected
        health.update_breaker(ok or not outage or slow_only, self._clock())

    def available(self, model: str) -> bool:
        """Whether the breaker would let a call through now (does not claim a probe)."""
        if model in self._unavailable:
            return False
        return self._peek(model).allows(self._clock())

    def acquire(self, model: str) -> bool:
        """Ask to call `model` now; in the half-open state this claims the single probe."""
        if model in self._unavailable:
            return False
        # A model never seen has a closed breaker: nothing to claim, nothing to store.
        return self._peek(model).acquire(self._clock())

    def release(self, model: str) -> None:
        """Give back what `acquire` claimed when no call was made after all (a call that
        did not fit the budget): a half-open breaker's probe is free again."""
        health = self._models.get(model)
        if health is not None:
            health.probe_started = None

    def mark_unavailable(self, model: str, reason: str) -> None:
        self._unavailable[model] = reason

    def trust(self, model: str) -> float:
        return self._peek(model).trust

    def state(self, model: str) -> BreakerState:
        return self._peek(model).state(self._clock())

    def models(self) -> list[str]:
        """Every model with at least one recorded attempt."""
        return sorted(self._models)

    def snapshot(self, model: str) -> ModelStats:
        health = self._peek(model)
        return ModelStats(
            model=model,
            breaker=health.state(self._clock()),
            available=self.available(model),
            unavailable_reason=self._unavailable.get(model, ""),
            consecutive_failures=health.consecutive_failures,
            trust_factor=health.trust,
            success_rate=health.success_rate(),
            avg_latency_ms=health.latency_ema or 0.0,
            latency_p95_ms=health.p95(),
            call_count=health.calls,
            failure_count=health.failures,
            total_cost_usd=health.total_cost,
            avg_cost_usd=health.total_cost / health.calls if health.calls else 0.0,
        )

    def seed_from(self, records: Iterable[CallRecord]) -> None:
        """Replay recorded calls, oldest first, into the telemetry (not the breaker)."""
        told = (r for r in records if r.outcome.says_about_model)
        for record in sorted(told, key=lambda r: r.created_at):
            self._get(record.model).observe(
                record.outcome is CallOutcome.OK, record.latency_ms, record.cost_usd
            )


def lone_models(catalog: Catalog, served: Callable[[str], bool]) -> set[str]:
    """Models that are the only one `served` (a configured client calls it) in the routing
    list of some task type or role: nothing could answer in their place."""
    lists = [p.models for p in catalog.task_types.values()] + list(catalog.roles.values())
    lone: set[str] = set()
    for names in lists:
        usable = {n for n in names if served(n)}
        if len(usable) == 1:
            lone |= usable
    return lone
