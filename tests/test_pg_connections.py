"""A process's PostgreSQL connections: at most what its settings allow, and that allowance lets
four workers and a server share a stock PostgreSQL (max_connections 100).

A process opens DBOS's pool (ORCH_DBOS_POOL_SIZE), the store's (ORCH_STORE_POOL_SIZE kept,
ORCH_STORE_MAX_OVERFLOW more for a burst) and one listening connection for each. A real worker
runs a dozen simulated jobs at once (latency 0, three tasks at a time each: its pools are
asked for more than they hold) while pg_stat_activity is read on its database.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from api_fixtures import ORCHESTRATOR, QUICK, server_env, start_process
from sqlalchemy.pool import QueuePool
from store_fixtures import server_database

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, JobStatus
from orchestrator.errors import InvalidInput
from orchestrator.events import JobEvent, LogEvent, StatusEvent
from orchestrator.runtime.service import new_job_id
from orchestrator.store import Store
from orchestrator.store._engine import async_url, create_engine

__all__ = ["server_database"]  # a fixture, used by name

# A stock PostgreSQL: 100 connections, 3 of them kept for superusers; a few more are left for
# an operator's psql or a CLI command.
STOCK_MAX_CONNECTIONS = 100
SUPERUSER_RESERVED = 3
LEFT_FOR_OTHERS = 5
PROCESSES = 5  # four workers and a server
# What each of them may hold.
SHARE = (STOCK_MAX_CONNECTIONS - SUPERUSER_RESERVED - LEFT_FOR_OTHERS) // PROCESSES
JOBS = 12
DEADLINE_S = 600
# This test's own connections (its sampler, the store it writes the jobs with): not counted.
OURS = "pg-connections-test"


def most_connections(settings: Settings) -> int:
    """The most PostgreSQL connections one process opens: both pools, DBOS's notification
    listener and the store's event listener."""
    dbos = settings.dbos_pool_size + 1
    return dbos + settings.store_pool_size + settings.store_max_overflow + 1


def default_settings() -> Settings:
    """The settings a process has with no ORCH_ variable (this environment's are ignored)."""
    return Settings.model_construct()


def test_four_workers_and_a_server_fit_in_a_stock_postgresql() -> None:
    budget = most_connections(default_settings())
    assert budget <= SHARE, f"{PROCESSES} processes of {budget} connections"


@dataclass
class Peak:
    most: int = 0  # the most backends connected at once (this test's own aside)
    by_name: Counter[str] = field(default_factory=Counter)  # ... by application_name


@contextmanager
def peak_backends(dsn: str) -> Iterator[Peak]:
    """While in the block, reads pg_stat_activity of the database again and again."""
    peak, stop = Peak(), threading.Event()
    with psycopg.connect(dsn, autocommit=True, application_name=OURS) as conn:

        def sample() -> None:
            while not stop.wait(0.02):
                rows = conn.execute(
                    "select application_name from pg_stat_activity "
                    "where datname = current_database() and application_name <> %s",
                    (OURS,),
                ).fetchall()
                peak.most = max(peak.most, len(rows))
                for name, count in Counter(name or "(unnamed)" for (name,) in rows).items():
                    peak.by_name[name] = max(peak.by_name[name], count)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield peak
        finally:
            stop.set()
            sampler.join()


async def write_jobs(store_url: str, count: int) -> None:
    """Job rows and their first events, as `Runtime.submit` writes them, without starting
    their runs: the worker's look for runs never started takes them (every heartbeat)."""
    store = await Store.open(store_url)
    try:
        for i in range(count):
            now = time.time()

            def announce(now: float = now) -> list[JobEvent]:
                return [
                    StatusEvent(status=JobStatus.PENDING, ts=now),
                    LogEvent(level="INFO", msg="job created", ts=now),
                ]

            spec = JobSpec(project_description=f"{QUICK} (#{i})", budget_usd=1.0)
            await store.create_job(
                job_id=new_job_id(), spec=spec, simulated=True, now=now, announce=announce
            )
    finally:
        await store.close()


def wait_finished(dsn: str, count: int) -> Counter[str]:
    """The jobs' final statuses, once every one has one."""
    deadline = time.monotonic() + DEADLINE_S
    with psycopg.connect(dsn, autocommit=True, application_name=OURS) as conn:
        while True:
            rows = conn.execute("select final_status from jobs").fetchall()
            finals = Counter(str(status) for (status,) in rows if status is not None)
            if finals.total() >= count:
                return finals
            assert time.monotonic() < deadline, f"jobs unfinished after {DEADLINE_S} s: {finals}"
            time.sleep(0.25)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_busy_worker_stays_within_its_connection_budget(
    server_database: str, tmp_path: Path
) -> None:
    budget = most_connections(default_settings())
    store_url = server_database.replace("postgresql://", "postgresql+asyncpg://")
    env = server_env(
        tmp_path,
        ORCH_DATABASE_URL=store_url,
        ORCH_SIM_LATENCY_SCALE="0",
        ORCH_WORKER_HEARTBEAT_S="1",
    )
    proc, output, _ = start_process(
        [ORCHESTRATOR, "worker", "--worker-id", "w1"], env, tmp_path, re.compile("worker w1 ready")
    )
    try:
        with peak_backends(server_database) as peak:
            asyncio.run(write_jobs(f"{store_url}?application_name={OURS}", JOBS))
            finals = wait_finished(server_database, JOBS)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert finals == Counter({"SUCCESS": JOBS}), "".join(output[-40:])
    seen = f"{peak.most} backends at once: {dict(peak.by_name)}"
    assert peak.most <= budget, f"{seen}; the settings allow {budget}"
    assert peak.most <= SHARE, f"{seen}; {PROCESSES} such processes do not fit"
    # A real load: the store was asked for more connections than it keeps (its event
    # listener's session is named "orchestrator" too).
    assert peak.by_name["orchestrator"] > default_settings().store_pool_size + 1, peak.by_name


def test_the_store_pool_is_sized_by_the_settings() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/unused",
        store_pool_size=3,
        store_max_overflow=2,
    )
    engine = create_engine(async_url(settings.store_url))
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow) == (3, 2)
    assert "pool_size" not in engine.url.query  # not handed to asyncpg as an argument


def test_a_pool_size_that_is_not_a_size_is_refused() -> None:
    with pytest.raises(InvalidInput, match="pool_size"):
        create_engine(async_url("postgresql+asyncpg://postgres@127.0.0.1:5432/x?pool_size=0"))
