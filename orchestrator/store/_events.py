"""Job events with per-job ids that increase by one, with no gap, whoever writes them.

The id counter lives in `jobs.last_event_id`. Appending moves it forward with an
UPDATE ... RETURNING in the same transaction as the inserts: on PostgreSQL the row lock
holds other writers of the job until the commit, on SQLite the database write lock does.
So ids become visible in order too: a reader that saw id N never later finds a new N-1.

On PostgreSQL each append also sends `NOTIFY orch_events, 'JOB:LAST_ID'`, so processes
that follow the job (another server, a worker's API) wake without polling.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from orchestrator.errors import JobNotFound
from orchestrator.events import JobEvent, StoredEvent, job_event_adapter
from orchestrator.store._base import EVENTS_CHANNEL, StoreBase
from orchestrator.store.tables import events as event_table
from orchestrator.store.tables import jobs

__all__ = ["EVENTS_CHANNEL", "EventsRepo"]


class EventsRepo(StoreBase):
    async def append_events(self, job_id: str, events: Sequence[JobEvent]) -> list[StoredEvent]:
        """Store events in one transaction with the job's next consecutive ids."""
        if not events:
            return []
        async with self._write() as conn:
            stored = await self._append_events(conn, job_id, events)
        self._announce(stored)
        return stored

    async def append_events_once(
        self, job_id: str, step_key: str, events: Sequence[JobEvent]
    ) -> list[StoredEvent]:
        """Store events as `append_events` does, unless events under `step_key` are stored
        already (the step that tells them ran before and crashed before DBOS recorded it):
        then store nothing and return []."""
        if not events:
            return []
        try:
            async with self._write() as conn:
                stored = await self._append_events(conn, job_id, events, step_key=step_key)
        except IntegrityError:
            # The unique index on (job_id, step_key) refused them (the transaction rolled
            # back, id counter included): told already. Asked only then, not before each
            # append, so the usual append is two statements.
            told = select(event_table.c.id).where(
                event_table.c.job_id == job_id, event_table.c.step_key == step_key
            )
            async with self._engine.connect() as conn:
                if (await conn.execute(told.limit(1))).first() is not None:
                    return []
            raise
        self._announce(stored)
        return stored

    async def read_events(
        self, job_id: str, *, after: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events with id > `after`, oldest first, at most `limit` of them."""
        query = (
            select(event_table.c.id, event_table.c.data)
            .where(event_table.c.job_id == job_id, event_table.c.id > after)
            .order_by(event_table.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            StoredEvent(job_id=job_id, id=row.id, event=job_event_adapter.validate_json(row.data))
            for row in rows
        ]

    async def last_event_id(self, job_id: str) -> int:
        query = select(jobs.c.last_event_id).where(jobs.c.job_id == job_id)
        async with self._engine.connect() as conn:
            last = (await conn.execute(query)).scalar_one_or_none()
        if last is None:
            raise JobNotFound(job_id)
        return int(last)
