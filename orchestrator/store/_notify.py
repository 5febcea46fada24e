"""Wake-ups across processes on PostgreSQL: LISTEN to the store's event notifications.

Every process that stores events of a job sends `NOTIFY orch_events, 'JOB:LAST_ID'` in the
same transaction (see `_events`). Here one connection per process listens and hands each
notification to a callback (the runtime's event bus), so a stream served by one process
follows a job run by another as promptly as its own. Notifications are only wake-ups: the events
themselves are always read from the store, so a lost notification costs at most one poll
interval, and a dropped connection is opened again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from orchestrator.store._engine import APPLICATION_NAME
from orchestrator.store._events import EVENTS_CHANNEL

log = logging.getLogger(__name__)

RECONNECT_S = 1.0


def parse_notice(payload: str) -> tuple[str, int] | None:
    job_id, _, last = payload.rpartition(":")
    try:
        return (job_id, int(last)) if job_id else None
    except ValueError:
        return None


class EventListener:
    """Keeps one LISTEN connection open while running; `dsn` is a plain postgresql:// URL."""

    def __init__(self, dsn: str, on_event: Callable[[str, int], None]) -> None:
        self._dsn = dsn
        self._on_event = on_event
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Return once listening, so no notification after this call is missed."""
        self._task = asyncio.create_task(self._run(), name="event-listener")
        waiting = asyncio.create_task(self._listening.wait())
        await asyncio.wait({waiting, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._task.done():
            self._task.result()  # raises why it could not listen

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        notice = parse_notice(payload)
        if notice is not None:
            self._on_event(*notice)

    async def _run(self) -> None:
        first = True
        while True:
            try:
                conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": APPLICATION_NAME}
                )
            except (OSError, asyncpg.PostgresError):
                if first:
                    raise
                log.warning("event listener: cannot reconnect; retrying", exc_info=True)
                await asyncio.sleep(RECONNECT_S)
                continue
            first = False
            try:
                await self._listen(conn)
                log.warning("event listener: connection lost; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _listen(self, conn: asyncpg.Connection) -> None:
        """Hand over notifications until the connection drops."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(EVENTS_CHANNEL, self._on_notice)
        self._listening.set()
        await lost.wait()
