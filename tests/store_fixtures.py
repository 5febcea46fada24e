"""Fixtures of the store tests: a fresh database per test, on a SQLite file and on PostgreSQL;
and builders of the records they store.

PostgreSQL: one scratch database `orch_test_<random>` per test run (dropped at the end), its
`public` schema emptied after each test, so the shared `test` database is never touched.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from orchestrator.domain import CallOutcome, CallRecord, JobSpec, Role, TaskState, TaskType
from orchestrator.store import Store

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def run_outside_test_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Run set-up work on a private loop (asyncio.run would reset the global loop)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coro)
    finally:
        loop.close()


async def _admin(sql: str, dsn: str = PG_ADMIN_DSN) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """Name of a scratch database that lives for the whole test run."""
    name = f"orch_test_{uuid.uuid4().hex[:12]}"
    run_outside_test_loop(_admin(f"CREATE DATABASE {name}"))
    yield name
    run_outside_test_loop(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def server_database() -> Iterator[str]:
    """A scratch PostgreSQL database for one test's server processes: the store's tables and
    DBOS's schema both live in it (psycopg URL)."""
    name = f"orch_srv_{uuid.uuid4().hex[:10]}"
    run_outside_test_loop(_admin(f"CREATE DATABASE {name}"))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    run_outside_test_loop(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (the SQLite file sits in a directory that does not exist yet)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'orchestrator.db'}"
        return
    name = request.getfixturevalue("pg_database")
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    run_outside_test_loop(_admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public", dsn))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    try:
        yield opened
    finally:
        await opened.close()


# --- records to store in tests ---------------------------------------------------------------

T0 = 1_700_000_000.0


def spec(description: str = "Build a CLI", **kw: object) -> JobSpec:
    return JobSpec.model_validate({"project_description": description, **kw})


def plan(job_id: str, n: int = 3) -> list[TaskState]:
    # Ids in non-alphabetical order, so "plan order" differs from "sorted by id".
    return [
        TaskState(
            job_id=job_id,
            task_id=f"t{n - i}",
            type=TaskType.CODE_GENERATION,
            prompt=f"step {i}",
            dependencies=[f"t{n - i + 1}"] if i else [],
            acceptance_threshold=0.85,
        )
        for i in range(n)
    ]


def call(job_id: str, **kw: object) -> CallRecord:
    values: dict[str, object] = {
        "job_id": job_id,
        "task_id": "t1",
        "iteration": 1,
        "role": Role.GENERATE,
        "model": "gpt-4o",
        "provider": "openai",
        "request_hash": "h1",
        "outcome": CallOutcome.OK,
        "cost_usd": 0.1,
        "response_text": "first",
        "created_at": T0,
    }
    return CallRecord.model_validate({**values, **kw})


async def new_job(store: Store, job_id: str = "job00001", budget_usd: float = 8.0) -> str:
    await store.create_job(job_id=job_id, spec=spec(budget_usd=budget_usd), simulated=True, now=T0)
    return job_id
