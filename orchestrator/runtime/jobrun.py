"""Live, per-process state of one running job: control flags, caller and fencing token.

Nothing here is durable, and nothing here decides about money: the job's budget and its
calls live in the store, shared by every process running calls of the job (`StoreLedger`).
After a restart a run is rebuilt from the store (cancellation from the job row).

A process running a job holds the job's fencing token (store/_fence.py), claimed at the run's
first write here, and names it in every write of the run. When another process claims the run
(a takeover of a worker presumed dead, a resume), this one's writes are refused with StaleRun:
its run of the job stops, and since a reservation is refused, it starts no more calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from decimal import Decimal

from orchestrator import crashpoints
from orchestrator.config import Catalog, Settings
from orchestrator.domain import CallRecord, JobBudget, JobStatus, Role
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.health import HealthBook, lone_models
from orchestrator.engine.routing import Router
from orchestrator.errors import StaleRun
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
    event a call emits, without another read). `run` is the fencing token this process holds
    for the job: a reservation, or a close of others' attempts, is made only while it is the
    job's. A settlement is not fenced: it records what the provider billed for a call that
    was made, whoever made it."""

    def __init__(self, store: Store, job_id: str) -> None:
        self._store = store
        self._job_id = job_id
        self.last: JobBudget | None = None
        self.run: int | None = None

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
        self.last = await self._store.reserve_call(call, amount, run=self.run)
        crashpoints.reach("reserved")

    async def settle(self, call: CallRecord) -> None:
        crashpoints.reach("answered")
        self.last = await self._store.settle_call(call)
        crashpoints.reach("recorded")

    async def close_interrupted(self, calls: list[CallRecord]) -> None:
        self.last = await self._store.close_interrupted(self._job_id, calls, run=self.run)


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
        # The fencing token held for each job run here: (the run's attempt, the token).
        self._tokens: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None

    async def get(self, job_id: str, deadline: float, attempt: int | None = None) -> JobRun:
        """The job's run here; with the run's `attempt`, its ledger holds the run's token."""
        run = self._runs.get(job_id)
        if run is None:
            async with self._lock:
                run = self._runs.get(job_id)
                if run is None:
                    run = await self._build(job_id, deadline)
                    self._runs[job_id] = run
                    if self._watcher is None or self._watcher.done():
                        self._watcher = asyncio.get_running_loop().create_task(self._watch())
        run.control.deadline = deadline
        if attempt is not None:
            run.ledger.run = await self.token(job_id, attempt)
        return run

    async def token(self, job_id: str, attempt: int) -> int:
        """The fencing token this process holds for the job's run `attempt`, claimed at the
        first write of that run here (one claim however many of its steps ask at once).
        StaleRun when a later attempt of the job has run here, or started anywhere."""
        held = self._tokens.get(job_id)
        if held is None or held[0] < attempt:
            async with self._lock:
                held = self._tokens.get(job_id)
                if held is None or held[0] < attempt:
                    owner = f"{socket.gethostname()}:{os.getpid()}"
                    token = await self._deps.store.claim_run(job_id, attempt, owner=owner)
                    held = self._tokens[job_id] = (attempt, token)
        if held[0] > attempt:
            raise StaleRun(job_id, f"run {attempt} is over: run {held[0]} has started")
        return held[1]

    def cancel(self, job_id: str) -> None:
        run = self._runs.get(job_id)
        if run is not None:
            run.control.cancel()

    def is_cancelled(self, job_id: str) -> bool:
        run = self._runs.get(job_id)
        return run is not None and run.control.cancelled()

    def drop(self, job_id: str) -> None:
        """The job's run ended here: forget it (a next run claims the job again)."""
        self._runs.pop(job_id, None)
        self._tokens.pop(job_id, None)

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


def attempt_of(workflow: str | None, job_id: str) -> int | None:
    """The run (attempt) of the job that `workflow` belongs to: 0 for the job's own id and its
    tasks' (`job:task`), N for `job.rN` and its tasks'; None for no workflow of the job (a
    step called outside one, as a reject's end of the job)."""
    if workflow is None or not workflow.startswith(job_id):
        return None
    rest = workflow[len(job_id) :].split(":", 1)[0]
    if not rest:
        return 0
    if rest.startswith(".r") and rest[2:].isdigit():
        return int(rest[2:])
    return None


def now() -> float:
    return time.time()
