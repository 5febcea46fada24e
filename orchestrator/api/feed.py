"""Reads of a job's stored events, shared by the subscribers that ask for the same page.

When a job stores events, every subscriber of it wakes at once and asks the store for the
events after the same last id. Here the first of them runs the query and the others await its
result, so 200 subscribers cost one query per wake-up, not 200; each event's JSON is encoded
once for all of them. Nothing is served from memory beyond the life of one query: a
subscriber that asks later (another position, a reconnect) reads the store itself.
Each event is encoded as an SSE message once, whoever it is sent to.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sse_starlette import ServerSentEvent

from orchestrator.store import Store

__all__ = ["EventPage", "SharedReads", "StreamItem"]


@dataclass(frozen=True, slots=True)
class StreamItem:
    id: int
    type: str
    wire: bytes  # the whole SSE message: `id:` and `data:` (the event's JSON)


EventPage = tuple[StreamItem, ...]


class SharedReads:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._inflight: dict[tuple[str, int, int], asyncio.Task[EventPage]] = {}

    async def read(self, job_id: str, *, after: int, limit: int) -> EventPage:
        """Events of the job with id > `after`, oldest first, at most `limit` of them."""
        key = (job_id, after, limit)
        query = self._inflight.get(key)
        if query is None:
            query = asyncio.create_task(self._query(job_id, after, limit))
            self._inflight[key] = query
            query.add_done_callback(lambda _: self._inflight.pop(key, None))
        # shield: a subscriber that leaves must not cancel the query the others await.
        return await asyncio.shield(query)

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
