"""Job events: stored first, then announced.

`EventLog.emit` queues an event for its job; a flush writes every queued event of that job
in one transaction (ids assigned by the store, gap-free per job) and then wakes whoever
waits on the `EventBus`. Bursts from concurrent tasks of one job coalesce into one write.
Events that describe a state change (a status, a task's progress, `done`) do not go
through the queue: the store writes them in the transaction of the change (an outbox,
see the steps), built by `line` and friends, and wakes the bus after the commit.
Log lines also go to Python logging with the job id attached, never through a handler
that could mix jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from orchestrator.events import JobEvent, LogEvent, LogLevel, StoredEvent

logger = logging.getLogger("orchestrator.job")

_LEVELS: dict[LogLevel, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}


class EventStore(Protocol):
    async def append_events(self, job_id: str, events: list[JobEvent]) -> list[StoredEvent]: ...

    async def append_events_once(
        self, job_id: str, step_key: str, events: list[JobEvent]
    ) -> list[StoredEvent]: ...


class EventBus:
    """In-process wake-ups: 'job X has events up to id N'."""

    def __init__(self) -> None:
        self._waiters: dict[str, asyncio.Event] = {}
        self._last: dict[str, int] = {}

    def publish(self, job_id: str, last_id: int) -> None:
        self._last[job_id] = max(last_id, self._last.get(job_id, 0))
        waiter = self._waiters.pop(job_id, None)
        if waiter is not None:
            waiter.set()

    async def wait(self, job_id: str, after: int, within: float) -> None:
        """Return when the job has an event id above `after`, or after `within` seconds."""
        if self._last.get(job_id, 0) > after:
            return
        waiter = self._waiters.get(job_id)
        if waiter is None:
            waiter = self._waiters[job_id] = asyncio.Event()
        # asyncio.timeout, not wait_for: no extra task per waiter (hundreds share a wake-up).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await waiter.wait()


class EventLog:
    def __init__(self, store: EventStore, bus: EventBus) -> None:
        self._store = store
        self.bus = bus
        self._pending: dict[str, list[JobEvent]] = defaultdict(list)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._scheduled: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Told of every event as it is emitted (before it is stored); they must not block.
        self.observers: list[Callable[[str, JobEvent], None]] = []

    def emit(self, job_id: str, event: JobEvent) -> None:
        self._pending[job_id].append(event)
        for observe in self.observers:
            observe(job_id, event)
        if job_id not in self._scheduled:
            self._scheduled.add(job_id)
            task = asyncio.get_running_loop().create_task(self._background_flush(job_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def log(self, job_id: str, msg: str, level: LogLevel = "INFO") -> None:
        self.emit(job_id, self.line(job_id, msg, level))

    @staticmethod
    def line(job_id: str, msg: str, level: LogLevel = "INFO") -> LogEvent:
        """A log line for the job, to be stored with the change it tells of (also written
        to Python logging)."""
        logger.log(_LEVELS[level], "[%s] %s", job_id, msg, extra={"job_id": job_id})
        return LogEvent(level=level, msg=msg, ts=time.time())

    async def flush(self, job_id: str) -> None:
        """Write every event queued for the job so far; returns once they are stored."""
        async with self._locks[job_id]:
            batch = self._pending.pop(job_id, [])
            if not batch:
                return
            try:
                stored = await self._store.append_events(job_id, batch)
            except BaseException:
                self._pending[job_id][:0] = batch  # keep them for the next flush
                raise
        self.bus.publish(job_id, stored[-1].id)

    async def store_once(self, job_id: str, step_key: str | None, events: list[JobEvent]) -> None:
        """Store `events` after those queued, unless the step `step_key` stored them already
        (it ran again after a crash): told once, however often the step runs. Without a key
        (outside a durable step) they are simply stored."""
        for event in events:
            for observe in self.observers:
                observe(job_id, event)
        if step_key is None:
            self._pending[job_id].extend(events)
            await self.flush(job_id)
            return
        await self.flush(job_id)
        async with self._locks[job_id]:
            stored = await self._store.append_events_once(job_id, step_key, events)
        if stored:
            self.bus.publish(job_id, stored[-1].id)

    async def flush_all(self) -> None:
        for job_id in list(self._pending):
            await self.flush(job_id)

    async def _background_flush(self, job_id: str) -> None:
        self._scheduled.discard(job_id)
        try:
            await self.flush(job_id)
        except Exception:  # a failed background write is retried by the next flush
            logger.exception("could not store events of job %s", job_id)

    def forget(self, job_id: str) -> None:
        self._locks.pop(job_id, None)
