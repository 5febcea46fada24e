"""Live, per-process state of one running job: control flags and caller.

Nothing here is durable, and nothing here decides about money: the job's budget and its
calls live in the store, shared by every process running calls of the job (`StoreLedger`).
After a restart a run is rebuilt from the store (cancellation from the job row).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from orchestrator import crashpoints
from orchestrator.config import Catalog, Settings
from orchestrator.domain import CallRecord, JobBudget, JobStatus, Role
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.health import HealthBook, lone_models
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


class StoreLedger:
    """The executor's `JobLedger` on the store: one job's budget and calls in the database.

    `last` is the job's money as the latest reservation or settlement left it (for the cost
    event a call emits, without another read)."""

    def __init__(self, store: Store, job_id: str) -> None:
        self._store = store
        self._job_id = job_id
        self.last: JobBudget | None = None

    async def attempts(
        self, *, job_id: str, task_id: str, iteration: int, role: Role, slot: int
    ) -> list[CallRecord]:
        return await self._store.call_attempts(
            job_id=job_id, task_id=task_id, iteration=iteration, role=role, slot=slot
        )

    async def budget(self) -> JobBudget:
        self.last = await self._store.job_budget(self._job_id)
        return self.last

    async def reserve(self, call: CallRecord, amount: Decimal) -> None:
        self.last = await self._store.reserve_call(call, amount)
        crashpoints.reach("reserved")

    async def settle(self, call: CallRecord) -> None:
        crashpoints.reach("answered")
        self.last = await self._store.settle_call(call)
        crashpoints.reach("recorded")

    async def close_interrupted(self, calls: list[CallRecord]) -> None:
        self.last = await self._store.close_interrupted(self._job_id, calls)


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
    ledger: StoreLedger
    control: Control
    caller: CallExecutor


class JobRuns:
    """The jobs this process is running, built lazily (also after recovery).

    One watcher notices cancels requested by other processes (CLI `cancel`, another API
    worker) for all of them, with one query per poll however many jobs run.
    """

    def __init__(self, deps: RuntimeDeps) -> None:
        self._deps = deps
        # A model nothing configured could stand in for is never taken out by its slowness.
        deps.health.protect(lone_models(deps.catalog, deps.clients.serves))
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
        ledger = StoreLedger(d.store, job_id)
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
