"""What every part of the Store shares: the engine, dialect-specific inserts, row locks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orchestrator.errors import JobNotFound
from orchestrator.store.tables import jobs

_MONEY_QUANTUM = Decimal(1).scaleb(-10)  # the scale of Numeric(20, 10)


def to_money(value: float | Decimal) -> Decimal:
    """A float amount as the exact decimal the column stores (its shortest repr, 10 places)."""
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(_MONEY_QUANTUM)


class StoreBase:
    """Holds the single AsyncEngine of a Store; the resource mixins build on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite has one write lock per file. Writers of this process queue here, holding no
        # pooled connection, instead of inside SQLite's busy handler: that handler polls
        # with sleeps of up to 100 ms, so under load the lock sat idle between writers and
        # waiting writers held every connection (readers then timed out on the pool).
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

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
