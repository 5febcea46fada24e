"""Prometheus metrics of one server process, in a registry the app owns (not the global one).

LLM calls feed a `MeteredHealthBook` (the runtime's health book, which every call attempt
reports to); job counts are read from the store when `/metrics` is scraped, so they are
true for every worker sharing the database.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from orchestrator.config import Catalog
from orchestrator.domain import JobStatus, ProjectStatus
from orchestrator.engine.health import HealthBook
from orchestrator.store import Store

__all__ = ["CONTENT_TYPE_LATEST", "MeteredHealthBook", "Metrics"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
LAG_PROBE_S = 0.05
_PAGE = 1000


class Metrics:
    def __init__(self, catalog: Catalog) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._catalog = catalog
        labels = ("model", "provider")
        self.jobs = Gauge(
            "orchestrator_jobs", "Stored jobs by status", ("status",), registry=self.registry
        )
        self.budget_exhausted = Gauge(
            "orchestrator_budget_exhausted_jobs",
            "Jobs stopped because no further call fitted their budget (budget rejections)",
            registry=self.registry,
        )
        self.webhook_attempts = Gauge(
            "orchestrator_webhook_attempts",
            "Webhook delivery attempts so far, by event and outcome (from the store)",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.calls = Counter(
            "orchestrator_llm_calls",
            "LLM call attempts made by this process",
            (*labels, "outcome"),
            registry=self.registry,
        )
        self.cost = Counter(
            "orchestrator_llm_cost_usd",
            "Cost of the LLM calls made by this process, USD",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "orchestrator_llm_call_latency_seconds",
            "Latency of LLM call attempts",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "orchestrator_event_loop_lag_seconds",
            "How late the server's event loop ran a timer (time it was blocked)",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag_max = Gauge(
            "orchestrator_event_loop_lag_max_seconds",
            "The longest event-loop stall seen since the server started",
            registry=self.registry,
        )
        self.sse_subscribers = Gauge(
            "orchestrator_sse_subscribers",
            "Clients following a job's event stream now",
            registry=self.registry,
        )

    def provider_of(self, model: str) -> str:
        info = self._catalog.models.get(model)
        return info.provider if info is not None else "unknown"

    def observe_call(self, model: str, *, ok: bool, latency_ms: float, cost: float) -> None:
        provider = self.provider_of(model)
        self.calls.labels(model, provider, "ok" if ok else "failed").inc()
        self.cost.labels(model, provider).inc(max(cost, 0.0))
        self.latency.labels(model, provider).observe(max(latency_ms, 0.0) / 1000)

    async def watch_loop(self, interval: float = LAG_PROBE_S) -> None:
        """Run until cancelled: sleep `interval`, record how much later than that it woke."""
        loop = asyncio.get_running_loop()
        worst = 0.0
        while True:
            started = loop.time()
            await asyncio.sleep(interval)
            lag = max(loop.time() - started - interval, 0.0)
            self.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                self.loop_lag_max.set(lag)

    async def render(self, store: Store) -> bytes:
        """The exposition text, with job gauges read from the store now."""
        for status in JobStatus:
            _, total = await store.list_jobs(status=status, limit=0)
            self.jobs.labels(status.value).set(total)
        self.budget_exhausted.set(await _count_final(store, ProjectStatus.BUDGET_EXHAUSTED))
        for (event, outcome), count in (await store.webhook_attempt_counts()).items():
            self.webhook_attempts.labels(event, outcome).set(count)
        return generate_latest(self.registry)


async def _count_final(store: Store, final: ProjectStatus) -> int:
    """Jobs that ended with `final` (only failed jobs can have an unsuccessful end)."""
    count, offset = 0, 0
    while True:
        page, total = await store.list_jobs(status=final.job_status, limit=_PAGE, offset=offset)
        count += sum(1 for job in page if job.final_status is final)
        offset += len(page)
        if not page or offset >= total:
            return count


class MeteredHealthBook(HealthBook):
    """The runtime's health book, also counting each call attempt into `metrics`."""

    def __init__(self, metrics: Metrics, *, cooldown_s: float) -> None:
        super().__init__(cooldown_s=cooldown_s)
        self._metrics = metrics

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
        super().record(
            model, ok=ok, latency_ms=latency_ms, cost=cost, outage=outage, timeout=timeout
        )
        self._metrics.observe_call(model, ok=ok, latency_ms=latency_ms, cost=cost)
