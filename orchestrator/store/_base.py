"""What every part of the Store shares: the engine, dialect-specific inserts, row locks, and
the append of a job's events inside any write transaction (an outbox: the state a step
writes and the events that describe it commit together, or not at all)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal

from sqlalchemy import Integer, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orchestrator.errors import JobNotFound
from orchestrator.events import JobEvent, StoredEvent
from orchestrator.store.tables import events as event_table
from orchestrator.store.tables import jobs

EVENTS_CHANNEL = "orch_events"

_MONEY_QUANTUM = Decimal(1).scaleb(-10)  # the scale of Numeric(20, 10)

# Built once, run with parameters: every LLM call appends events, and building a statement
# afresh costs SQLAlchemy about as much CPU as SQLite takes to run it.
_BUMP_EVENT_IDS = (
    update(jobs)
    .where(jobs.c.job_id == bindparam("b_job"))
    .values(last_event_id=jobs.c.last_event_id + bindparam("b_count", type_=Integer))
    .returning(jobs.c.last_event_id)
)
_INSERT_EVENTS = insert(event_table)


def to_money(value: float | Decimal) -> Decimal:
    """A float amount as the exact decimal the column stores (its shortest repr, 10 places)."""
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(_MONEY_QUANTUM)


def to_units(value: float | Decimal) -> int:
    """An amount in whole units of 1e-10 USD (the ledger's integer columns), exactly."""
    return int(to_money(value).scaleb(10))


def from_units(units: int) -> Decimal:
    """Units of 1e-10 USD as the exact dollar amount (10 places, as `to_money`)."""
    return Decimal(int(units)).scaleb(-10).quantize(_MONEY_QUANTUM)


class StoreBase:
    """Holds the single AsyncEngine of a Store; the resource mixins build on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite has one write lock per file. Writers of this process queue here, holding no
        # pooled connection, instead of inside SQLite's busy handler: that handler polls
        # with sleeps of up to 100 ms, so under load the lock sat idle between writers and
        # waiting writers held every connection (readers then timed out on the pool).
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # Told (job id, last event id) after each commit that stored events: the runtime's
        # in-process wake-ups (other processes hear of them by NOTIFY on PostgreSQL).
        self.on_events: list[Callable[[str, int], None]] = []

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (committed on success): `async with self._write() as conn`."""
        async with self._write_lock or contextlib.nullcontext(), self._engine.begin() as conn:
            yield conn

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that supports ON CONFLICT on both dialects."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def _lock_job(self, conn: AsyncConnection, job_id: str) -> None:
        """Serialise writers of one job for the rest of the transaction.

        A no-op UPDATE takes the row lock on PostgreSQL and the database write lock on
        SQLite (where SELECT ... FOR UPDATE would take nothing). Raises JobNotFound.
        """
        locked = await conn.execute(
            update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(updated_at=jobs.c.updated_at)
            .returning(jobs.c.job_id)
        )
        if locked.first() is None:
            raise JobNotFound(job_id)

    async def _require_job(self, conn: AsyncConnection, job_id: str) -> None:
        found = await conn.execute(select(jobs.c.job_id).where(jobs.c.job_id == job_id))
        if found.first() is None:
            raise JobNotFound(job_id)

    async def _append_events(
        self,
        conn: AsyncConnection,
        job_id: str,
        events: Sequence[JobEvent],
        *,
        step_key: str | None = None,
    ) -> list[StoredEvent]:
        """Store events in the transaction of `conn` with the job's next consecutive ids
        (the first of them under `step_key`, when given: see `EventsRepo.append_events_once`).

        The id counter lives in `jobs.last_event_id` and moves forward with an UPDATE ...
        RETURNING: on PostgreSQL the row lock holds other writers of the job until the
        commit, on SQLite the database write lock does, so ids become visible in order.
        Call `_announce` with the result once the transaction has committed.
        """
        if not events:
            return []
        count = len(events)
        bump = {"b_job": job_id, "b_count": count}
        last = (await conn.execute(_BUMP_EVENT_IDS, bump)).scalar_one_or_none()
        if last is None:
            raise JobNotFound(job_id)
        first = last - count + 1
        now = time.time()  # events without their own `ts` (task, done) get the time stored
        rows = [
            {
                "job_id": job_id,
                "id": first + offset,
                "ts": _stamp(event, now),
                "type": event.type,
                "data": event.model_dump_json(),
                "step_key": step_key if offset == 0 else None,
            }
            for offset, event in enumerate(events)
        ]
        await conn.execute(_INSERT_EVENTS, rows)
        if self.dialect == "postgresql":  # delivered at commit, to every listening process
            await conn.execute(select(func.pg_notify(EVENTS_CHANNEL, f"{job_id}:{last}")))
        return [
            StoredEvent(job_id=job_id, id=first + offset, event=event)
            for offset, event in enumerate(events)
        ]

    def _announce(self, stored: Sequence[StoredEvent]) -> None:
        if stored:
            for listener in self.on_events:
                listener(stored[-1].job_id, stored[-1].id)


def _stamp(event: JobEvent, now: float) -> float:
    ts = getattr(event, "ts", None)
    return now if ts is None else float(ts)
