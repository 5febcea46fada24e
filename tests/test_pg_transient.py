"""PostgreSQL's errors that pass when tried again are transient, as SQLite's busy lock is.

PostgreSQL ends one transaction of a deadlock (40P01) or of a serialization conflict (40001),
and refuses a connection while every slot of the server is taken (53300, "sorry, too many
clients already": the slots are shared with every process on the server). Through asyncpg
they reach SQLAlchemy as the plain DBAPIError, which a durable step did not retry: the job
ended as a SYSTEM_FAILURE. Every error here is raised by the real server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from store_fixtures import PG_ADMIN_DSN, run_outside_test_loop, server_database

from orchestrator.store import is_transient
from orchestrator.store._engine import RETRYABLE_SQLSTATES, async_url, create_engine

__all__ = ["server_database"]  # a fixture, used by name

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(server_database: str) -> AsyncIterator[AsyncEngine]:
    """The store's own engine (asyncpg) on a scratch database."""
    made = create_engine(async_url(server_database))
    yield made
    await made.dispose()


async def failure_of(engine: AsyncEngine, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as raised:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    return raised.value


async def test_a_deadlock_is_transient(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("create table pair (id int primary key, n int)"))
        await conn.execute(text("insert into pair values (1, 0), (2, 0)"))
    holding = {1: asyncio.Event(), 2: asyncio.Event()}

    async def lock_both(first: int, second: int) -> BaseException | None:
        """Lock row `first`, and once the other transaction holds its own, row `second`."""
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"update pair set n = n + 1 where id = {first}"))
                holding[first].set()
                await holding[second].wait()
                await conn.execute(text(f"update pair set n = n + 1 where id = {second}"))
        except DBAPIError as e:
            return e
        return None

    outcomes = await asyncio.gather(lock_both(1, 2), lock_both(2, 1))

    failed = [e for e in outcomes if e is not None]
    assert len(failed) == 1  # PostgreSQL ended one of the two; the other committed
    assert getattr(failed[0], "orig", None) is not None
    assert failed[0].orig.sqlstate == "40P01"  # type: ignore[union-attr]
    assert is_transient(failed[0])


@pytest.fixture
def role_without_slots() -> Iterator[str]:
    """A login role allowed no connection: connecting as it fails as a full server does."""
    name = f"orch_full_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_outside_test_loop(admin(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 0"))
    yield name
    run_outside_test_loop(admin(f"DROP ROLE IF EXISTS {name}"))


async def test_a_connection_refused_for_want_of_slots_is_transient(
    server_database: str, role_without_slots: str
) -> None:
    url = server_database.replace("postgres@", f"{role_without_slots}@")
    refused = create_engine(async_url(url))
    try:
        with pytest.raises(DBAPIError) as raised:
            async with refused.connect():
                pass
    finally:
        await refused.dispose()

    assert raised.value.orig.sqlstate == "53300"  # type: ignore[union-attr]
    assert is_transient(raised.value)


@pytest.mark.parametrize("code", sorted(RETRYABLE_SQLSTATES))
async def test_every_retryable_sqlstate_raised_by_the_server_is_transient(
    engine: AsyncEngine, code: str
) -> None:
    error = await failure_of(
        engine, f"do $$ begin raise exception 'x' using errcode = '{code}'; end $$"
    )
    assert is_transient(error)


async def test_errors_a_retry_cannot_cure_are_not_transient(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("create table once (id int primary key)"))
        await conn.execute(text("insert into once values (1)"))
    assert not is_transient(await failure_of(engine, "insert into once values (1)"))
    assert not is_transient(await failure_of(engine, "select * from no_such_table"))
    assert not is_transient(await failure_of(engine, "select 1 / 0"))
