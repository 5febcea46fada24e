"""Workers sharing one job queue: heartbeats, and recovery of the jobs of a dead worker.

Every worker (`orchestrator serve` or `orchestrator worker`) beats in the store while it
lives. DBOS recovers a worker's unfinished workflows only when a process with the same
executor id starts again; a worker that never comes back would leave its jobs waiting
forever. So each worker also watches the others: one not seen for `worker_dead_after_s`
is claimed (exactly one survivor wins the claim) and its unfinished workflows are handed to
the claimant, the job workflows with their tasks, queued again for it alone
(runtime/recovery.py). Recorded calls are replayed, so the takeover repays nothing but the
calls that were in flight when the worker died; its first write makes it the jobs' owner
(store/_fence.py), so a worker only presumed dead (stalled, or cut off from the database
longer than the dead-after time) has its next write refused and stops.

Unless ORCH_WORKER_JOBS fixes it, the most jobs one worker takes at once is its fair share,
recomputed at every heartbeat: the jobs queued or running over the live workers, plus one, so
a job never waits while a worker has room (`fair_share`). Without it the first worker to look
at the queue would take every job queued at that moment, and a second worker would sit idle.
The limit lives in the queue's row (DBOS reads it before each look), the same for every worker.

A CLI process (`run`, `resume`, `approve`) beats too, under its own id (`cli_executor_id`),
while it runs its one job, and takes nothing from the queue: killed, it stops beating and a
worker takes its job over like a dead worker's; stopped by the user, it removes its row, and
its job waits for a resume from anywhere (`owner_alive` tells a resume the run is orphaned).

A process that wakes to find its row claimed (it stalled past the dead-after time: a frozen
VM, a long pause) was declared dead, and its work now runs elsewhere: it exits at once, before
its workflows go on, rather than run them in two places (`on_declared_dead`). Fencing refuses
its writes meanwhile; a supervisor restarts it under its id, with nothing left to recover.

Heartbeats compare wall clocks of different machines: keep them in sync (NTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable

from dbos import Queue

from orchestrator.config import Settings
from orchestrator.errors import InvalidInput
from orchestrator.runtime.events import EventLog
from orchestrator.runtime.recovery import requeue_for
from orchestrator.runtime.workflows import job_of_workflow
from orchestrator.store import Store, WorkerBeat

log = logging.getLogger(__name__)

CLI_PREFIX = "cli-"


def cli_executor_id(job_id: str) -> str:
    """The executor id of a CLI process running `job_id`: one per job, so that the process
    recovers that job's workflows, and only those, when it starts again."""
    return f"{CLI_PREFIX}{job_id}"


def is_cli(worker_id: str) -> bool:
    """Whether `worker_id` is a CLI process's (it runs one job, and no queued ones)."""
    return worker_id.startswith(CLI_PREFIX)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


# The exit status of a process that found itself declared dead (EX_SOFTWARE).
DECLARED_DEAD_EXIT = 70


def exit_declared_dead(worker_id: str) -> None:
    """Leave at once: no graceful stop, whose writes would be a dead worker's."""
    log.critical(
        "worker %s: another worker declared it dead (silent past ORCH_WORKER_DEAD_AFTER_S) "
        "and took its work over; exiting so that nothing runs in two places",
        worker_id,
    )
    logging.shutdown()
    os._exit(DECLARED_DEAD_EXIT)


def fair_share(open_jobs: int, alive: int) -> int | None:
    """The most jobs one of `alive` workers takes at once, with `open_jobs` queued or running:
    its share, plus one so that a new job finds room at once; no limit while it is alone."""
    if alive <= 1:
        return None
    return -(-open_jobs // alive) + 1


async def ensure_worker_id_free(store: Store, worker_id: str, *, dead_after_s: float) -> None:
    """Refuse an id another live worker holds: two workers under one id would both
    recover, and re-run, each other's jobs."""
    host, pid, now = socket.gethostname(), os.getpid(), time.time()
    for other in await store.list_workers():
        if other.worker_id != worker_id or other.pid == pid:
            continue
        # On this host the process table says; elsewhere only a recent heartbeat does.
        local = other.host == host
        if not (_is_running(other.pid) if local else now - other.seen_at < dead_after_s):
            continue
        if is_cli(worker_id):
            raise InvalidInput(
                f"job {worker_id.removeprefix(CLI_PREFIX)} is being run by process "
                f"{other.pid} on {other.host}; wait for it, or stop it first"
            )
        raise InvalidInput(
            f"worker id {worker_id!r} is in use by process {other.pid} on "
            f"{other.host}; give each worker its own id (--worker-id or "
            "ORCH_EXECUTOR_ID)"
        )


async def owner_alive(store: Store, executor_id: str, *, dead_after_s: float) -> bool:
    """Whether the process recorded as `executor_id` still beats: a run recorded under a
    process that does not (a CLI killed, or stopped by its user) runs nowhere."""
    cutoff = time.time() - dead_after_s
    workers = await store.list_workers()
    return any(w.worker_id == executor_id and w.seen_at >= cutoff for w in workers)


async def check_worker_id(settings: Settings, worker_id: str) -> None:
    """Raise InvalidInput when a live worker holds `worker_id`, or it is a CLI's (before
    starting anything)."""
    if is_cli(worker_id):
        raise InvalidInput(
            f"worker id {worker_id!r}: ids starting with {CLI_PREFIX!r} are the CLI's own"
        )
    store = await Store.open(settings.store_url)
    try:
        await ensure_worker_id_free(store, worker_id, dead_after_s=settings.worker_dead_after_s)
    finally:
        await store.close()


class WorkerWatch:
    """This process's heartbeat and, for a worker (`takes_work`), its watch over the others
    and its share of the job queue."""

    def __init__(
        self,
        store: Store,
        events: EventLog,
        settings: Settings,
        worker_id: str,
        *,
        takes_work: bool = True,
        on_declared_dead: Callable[[str], None] = exit_declared_dead,
    ):
        self._store = store
        self._on_declared_dead = on_declared_dead
        self._events = events
        self._settings = settings
        self.worker_id = worker_id
        self.takes_work = takes_work
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._task: asyncio.Task[None] | None = None
        self._queue: Queue | None = None

    async def check_id_free(self) -> None:
        if self.takes_work and is_cli(self.worker_id):
            raise InvalidInput(
                f"worker id {self.worker_id!r}: ids starting with {CLI_PREFIX!r} are the CLI's own"
            )
        await ensure_worker_id_free(
            self._store, self.worker_id, dead_after_s=self._settings.worker_dead_after_s
        )

    async def start(self, queue: Queue | None = None) -> None:
        """Beat, and keep beating; with the job `queue`, keep its per-worker limit fair."""
        self._queue = queue
        await self.beat()
        await self.share_work()
        self._task = asyncio.create_task(self._run(), name=f"worker-watch-{self.worker_id}")

    async def worker_jobs(self) -> int | None:
        """The most jobs a worker takes at once: ORCH_WORKER_JOBS, else its fair share."""
        if self._settings.worker_jobs is not None:
            return self._settings.worker_jobs
        cutoff = time.time() - self._settings.worker_dead_after_s
        others = await self._store.list_workers()
        alive = 1 + sum(
            w.worker_id != self.worker_id and not is_cli(w.worker_id) and w.seen_at >= cutoff
            for w in others
        )
        return fair_share(await self._store.count_open_jobs(), alive)

    async def share_work(self) -> None:
        """Set the job queue's per-worker limit (when ORCH_WORKER_JOBS leaves it to us)."""
        if self._queue is None or self._settings.worker_jobs is not None:
            return
        # Set at every beat, not only on a change: a worker that starts registers the queue
        # with no limit, and every worker computes the same share from the same rows.
        await self._queue.set_worker_concurrency_async(await self.worker_jobs())

    async def stop(self, *, forget: bool = False) -> None:
        """Stop beating. The row stays unless `forget`: if this process does not come back,
        the workers take over its unfinished work once it looks dead."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if forget:
            await self._store.forget_worker(self.worker_id)

    async def beat(self) -> None:
        await self._store.beat(self.worker_id, host=self._host, pid=self._pid, now=time.time())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.worker_heartbeat_s)
            try:
                if not await self._store.beat_again(self.worker_id, now=time.time()):
                    self._on_declared_dead(self.worker_id)
                    return
                if self.takes_work:
                    await self.take_over_dead()
                    await self.share_work()
            except Exception:  # a store hiccup must not end the watch
                log.exception("worker %s: heartbeat failed; retrying", self.worker_id)

    async def take_over_dead(self) -> list[str]:
        """Claim every worker that stopped beating and recover its jobs; returns their ids."""
        cutoff = time.time() - self._settings.worker_dead_after_s
        taken = []
        for other in await self._store.list_workers():
            if other.worker_id == self.worker_id or other.seen_at >= cutoff:
                continue
            if await self._store.claim_dead_worker(other):
                await self._recover(other)
                taken.append(other.worker_id)
        return taken

    async def _recover(self, dead: WorkerBeat) -> None:
        silent = time.time() - dead.seen_at
        taken = await asyncio.to_thread(requeue_for, dead.worker_id, self.worker_id)
        log.warning(
            "worker %s: worker %s silent for %.0f s; its %d unfinished workflow(s) continue here",
            self.worker_id,
            dead.worker_id,
            silent,
            len(taken),
        )
        for job_id in {j for w in taken if (j := job_of_workflow(w)) is not None}:
            self._events.log(
                job_id,
                f"worker {dead.worker_id} stopped responding {silent:.0f} s ago; "
                "the job continues on another worker without repaying recorded calls",
                "WARNING",
            )
            await self._events.flush(job_id)
