"""Reads of a job's stored events, shared by the subscribers that ask for the same page.

When a job stores events, every subscriber of it wakes at once and asks the store for the
events after the same last id. Here the first of them runs the query and the others await its
result, so 200 subscribers cost one query per wake-up, not 200, and each event is encoded as
an SSE message once for all of them. Nothing is served from memory beyond the life of one
query: a subscriber that asks later (another position, a reconnect) reads the store itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from sse_starlette import ServerSentEvent

from orchestrator.events import StoredEvent

__all__ = ["EventPage", "EventReader", "SharedReads", "StreamItem"]


@dataclass(frozen=True, slots=True)
class StreamItem:
    id: int
    type: str
    wire: bytes  # the whole SSE message: `id:` and `data:` (the event's JSON)


EventPage = tuple[StreamItem, ...]


class EventReader(Protocol):
    """What SharedReads needs of the store."""

    async def read_events(
        self, job_id: str, *, after: int = 0, limit: int = 1000
    ) -> list[StoredEvent]: ...


class SharedReads:
    def __init__(self, store: EventReader) -> None:
        self._store = store
        self._inflight: dict[tuple[str, int, int], asyncio.Task[EventPage]] = {}

    async def read(self, job_id: str, *, after: int, limit: int) -> EventPage:
        """Events of the job with id > `after`, oldest first, at most `limit` of them."""
        key = (job_id, after, limit)
        query = self._inflight.get(key)
        if query is None:
            query = asyncio.create_task(self._query(job_id, after, limit))
            self._inflight[key] = query
            query.add_done_callback(lambda done: self._settled(key, done))
        # shield: a subscriber that leaves must not cancel the query the others await.
        return await asyncio.shield(query)

    def _settled(self, key: tuple[str, int, int], query: asyncio.Task[EventPage]) -> None:
        self._inflight.pop(key, None)
        if not query.cancelled():
            query.exception()  # retrieved here too: every reader may have gone already

    async def _query(self, job_id: str, after: int, limit: int) -> EventPage:
        stored = await self._store.read_events(job_id, after=after, limit=limit)
        return tuple(
            StreamItem(
                e.id,
                e.event.type,
                ServerSentEvent(data=e.event.model_dump_json(), id=str(e.id)).encode(),
            )
            for e in stored
        )
