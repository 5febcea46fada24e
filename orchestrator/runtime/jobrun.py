"""Live, per-process state of one running job: its budget ledger, control flags and caller.

Nothing here is durable: after a restart it is rebuilt from the store (spend from the
recorded calls, budget and cancellation from the job row), which is why a recovered job
keeps its exact spend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from orchestrator.config import Catalog, Settings
from orchestrator.domain import CallRecord, JobStatus, Role
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.health import HealthBook
from orchestrator.engine.ledger import BudgetLedger
from orchestrator.engine.routing import Router
from orchestrator.providers import ClientSet, Pricing
from orchestrator.runtime.events import EventLog
from orchestrator.store import Store

CANCEL_POLL_S = 0.5

logger = logging.getLogger(__name__)


@dataclass
class RuntimeDeps:
    """Everything long-lived a job needs, built once at start-up."""

    settings: Settings
    catalog: Catalog
    store: Store
    clients: ClientSet
    pricing: Pricing
    health: HealthBook
    events: EventLog


class StoreRecorder:
    """Adapts the store to the executor's `CallRecorder`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, call: CallRecord) -> None:
        await self._store.record_call(call)

    async def attempts(
        self, *, job_id: str, task_id: str, iteration: int, role: Role, slot: int
    ) -> list[CallRecord]:
        return await self._store.call_attempts(
            job_id=job_id, task_id=task_id, iteration=iteration, role=role, slot=slot
        )


@dataclass
class Control:
    """The executor's `JobControl`: cancellation flag and deadline."""

    deadline: float
    _cancelled: bool = False

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True


@dataclass
class JobRun:
    job_id: str
    ledger: BudgetLedger
    control: Control
    caller: CallExecutor


class JobRuns:
    """The jobs this process is running, built lazily (also after recovery).

    One watcher notices cancels requested by other processes (CLI `cancel`, another API
    worker) for all of them, with one query per poll however many jobs run.
    """

    def __init__(self, deps: RuntimeDeps) -> None:
        self._deps = deps
        self._runs: dict[str, JobRun] = {}
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None

    async def get(self, job_id: str, deadline: float) -> JobRun:
        run = self._runs.get(job_id)
        if run is not None:
            run.control.deadline = deadline
            return run
        async with self._lock:
            run = self._runs.get(job_id)
            if run is None:
                run = await self._build(job_id, deadline)
                self._runs[job_id] = run
                if self._watcher is None or self._watcher.done():
                    self._watcher = asyncio.get_running_loop().create_task(self._watch())
        return run

    def cancel(self, job_id: str) -> None:
        run = self._runs.get(job_id)
        if run is not None:
            run.control.cancel()

    def is_cancelled(self, job_id: str) -> bool:
        run = self._runs.get(job_id)
        return run is not None and run.control.cancelled()

    def drop(self, job_id: str) -> None:
        self._runs.pop(job_id, None)

    async def close(self) -> None:
        self._runs.clear()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _build(self, job_id: str, deadline: float) -> JobRun:
        d = self._deps
        job = await d.store.get_job(job_id)
        spent = await d.store.job_spend(job_id)
        ledger = BudgetLedger(Decimal(str(job.spec.budget_usd)), spent)
        control = Control(deadline=deadline)
        if job.status is JobStatus.CANCELLED:
            control.cancel()
        caller = CallExecutor(
            job_id=job_id,
            clients=d.clients,
            router=Router(d.catalog, d.pricing, d.health),
            pricing=d.pricing,
            ledger=ledger,
            health=d.health,
            recorder=StoreRecorder(d.store),
            control=control,
            settings=d.settings,
            note=lambda line: d.events.log(job_id, line, "WARNING"),
        )
        return JobRun(job_id=job_id, ledger=ledger, control=control, caller=caller)

    async def _watch(self) -> None:
        """Poll while any job runs here; stops when none is left (`get` starts it again)."""
        while True:
            await asyncio.sleep(CANCEL_POLL_S)
            if not self._runs:
                return
            watched = [job_id for job_id, run in self._runs.items() if not run.control.cancelled()]
            try:
                stopped = await self._deps.store.stopped_among(watched)
            except Exception:  # a busy or unreachable database: ask again at the next poll
                logger.warning("could not check running jobs for cancels", exc_info=True)
                continue
            for job_id in stopped:
                self.cancel(job_id)


def now() -> float:
    return time.time()
